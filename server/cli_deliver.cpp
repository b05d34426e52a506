// `pillarbox deliver --user NAME [--mailbox M] [--from ADDR]`: a local
// delivery agent. Reads one RFC 5322 message on stdin and stores it; exits 0
// only once the store has durably committed it.
//
// Exit statuses are those an MTA (Postfix pipe/local, Exim, fetchmail's
// --mda) understands: 67 unknown user, 75 temporary failure (the MTA retries),
// 65 bad input (empty or too large), 73 the mailbox name is not usable,
// 74 reading stdin failed, 77 over quota (unless delivery.over_quota_temporary,
// then 75).
//
// --mailbox names the target; when it does not exist it is created (with its
// parents). Dovecot's LDA falls back to INBOX unless lda_mailbox_autocreate is
// set; creating it is what a user of an explicit --mailbox asks for.
#include <cstdio>
#include <memory>
#include <string>

#include "common/log.h"
#include "common/strings.h"
#include "server/cli_internal.h"

namespace pillarbox::server::cli {
namespace {

// An mbox "From " envelope line, as sendmail-style MTAs may prepend: its
// first word is the envelope sender.
std::string StripMboxFromLine(std::string& bytes) {
  if (!bytes.starts_with("From ")) return {};
  std::size_t eol = bytes.find('\n');
  std::string line = bytes.substr(5, eol == std::string::npos ? std::string::npos : eol - 5);
  bytes.erase(0, eol == std::string::npos ? bytes.size() : eol + 1);
  std::size_t space = line.find(' ');
  std::string sender = line.substr(0, space);
  if (!sender.empty() && sender.back() == '\r') sender.pop_back();
  return sender == "MAILER-DAEMON" ? std::string() : sender;
}

// The log lines of README.md "Logs" (stderr, at the configured log.level).
void LogRejected(std::string_view from, std::string_view user, std::string_view reason) {
  LOG_INFO("rejected: proto=cli from=<{}> user={} reason=\"{}\"", LogField(from),
           LogField(user), reason);
}

}  // namespace

int Deliver(const config::Config& config, const DeliverArgs& args, std::FILE* in) {
  const std::uint64_t limit = config.limits.max_message_size;
  auto bytes = std::make_shared<std::string>();
  char buf[65536];
  while (true) {
    std::size_t n = std::fread(buf, 1, sizeof buf, in);
    if (n > 0) {
      // Line-ending normalization can grow the message a little; the store
      // limit is about what a client would see, so check the raw size here
      // and the stored size below.
      if (bytes->size() + n > limit + limit / 2 + 1024) {
        LogRejected(args.from, args.user, "too big");
        PrintError("deliver: message larger than limits.max_message_size (" +
                   std::to_string(limit) + " bytes)");
        return kExitDataErr;
      }
      bytes->append(buf, n);
    }
    if (n < sizeof buf) {
      if (std::ferror(in)) {
        PrintError("deliver: cannot read the message from stdin");
        return kExitIoErr;
      }
      break;
    }
  }
  std::string envelope_from = StripMboxFromLine(*bytes);
  if (!args.from.empty()) envelope_from = args.from == "<>" ? "" : args.from;
  if (bytes->find_first_not_of("\r\n") == std::string::npos) {
    PrintError("deliver: empty message on stdin");
    return kExitDataErr;
  }
  std::string normalized = storage::NormalizeLineEndings(*bytes);
  if (normalized.size() > limit) {
    LogRejected(envelope_from, args.user, "too big");
    PrintError("deliver: message larger than limits.max_message_size (" + std::to_string(limit) +
               " bytes)");
    return kExitDataErr;
  }
  auto message = std::make_shared<const std::string>(std::move(normalized));
  bytes.reset();

  auto admin = OpenStoreOrReport(config);
  if (!admin) return kExitTempFail;
  storage::UserId user_id;
  std::string user_name;
  {
    auto view = admin->Read();
    auto user = view->FindUser(args.user);
    if (!user.ok()) {
      if (user.status().code() == Code::kNotFound) {
        LogRejected(envelope_from, args.user, "unknown user");
        PrintError("deliver: no such user: " + args.user + InDataDir(config));
        return kExitNoUser;
      }
      PrintError("deliver: " + user.status().message());
      return kExitTempFail;
    }
    user_id = user->id;
    user_name = user->name;
  }

  storage::AppendRequest request;
  request.user = user_id;
  request.mailbox = args.mailbox.empty() ? "INBOX" : args.mailbox;
  request.create_mailbox = !args.mailbox.empty();
  request.bytes = message;
  request.origin.protocol = "cli";
  request.origin.session = admin->store().SessionIdBase() + 1;
  request.envelope_from = envelope_from;
  auto result =
      admin->Wait<storage::AppendResult>([&](storage::Callback<storage::AppendResult> done) {
        admin->store().Append(std::move(request), std::move(done));
      });
  if (result.ok()) {
    LOG_INFO("delivered: proto=cli from=<{}> user={} size={} mailbox={} uid={}",
             LogField(envelope_from), LogField(user_name), result->size,
             LogField(args.mailbox.empty() ? "INBOX" : args.mailbox), result->uid);
    return kExitOk;
  }

  const Status& s = result.status();
  std::string what =
      "deliver to " + user_name + "/" + (args.mailbox.empty() ? "INBOX" : args.mailbox);
  switch (s.code()) {
    case Code::kNotFound:
      // The user was deleted between the lookup and the commit.
      LogRejected(envelope_from, user_name, "unknown user");
      PrintError(what + ": no such user" + InDataDir(config));
      return kExitNoUser;
    case Code::kOverQuota:
      LogRejected(envelope_from, user_name, "over quota");
      PrintError(what + ": over quota");
      return config.delivery.over_quota_temporary ? kExitTempFail : kExitNoPerm;
    case Code::kInvalidArgument:
    case Code::kNoPermission:
    case Code::kExists:
    case Code::kLimit:
      PrintError(what + ": " + s.message());
      return kExitCantCreate;
    default:
      PrintError(what + ": temporary failure: " + s.ToString());
      return kExitTempFail;
  }
}

}  // namespace pillarbox::server::cli
