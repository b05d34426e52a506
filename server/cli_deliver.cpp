// `pillarbox deliver --user NAME [--mailbox M] [--from ADDR]`: a local
// delivery agent. Reads one RFC 5322 message on stdin and stores it; exits 0
// only once the store has durably committed it. An mbox (a "From " line
// first) that holds several messages stores each as a message of its own,
// ">From " quoting undone (services::SplitMbox). The rules are those of
// services/delivery.h, which LMTP and SMTP share; this file maps them.
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
#include <vector>

#include "common/log.h"
#include "common/strings.h"
#include "server/cli_internal.h"
#include "services/delivery.h"
#include "services/users.h"

namespace pillarbox::server::cli {
namespace {

// The log lines of README.md "Logs" (stderr, at the configured log.level).
void LogRejected(std::string_view from, std::string_view user, std::string_view reason) {
  LOG_INFO("rejected: proto=cli from=<{}> user={} reason=\"{}\"", LogField(from), LogField(user),
           reason);
}

// The one mapping of delivery outcomes to the exit statuses an MTA
// understands (see the top of this file).
int ExitFor(const config::Config& config, services::Code code) {
  switch (code) {
    case services::Code::kOk:
      return kExitOk;
    case services::Code::kEmptyMessage:
    case services::Code::kTooBig:
    case services::Code::kBadInput:
      return kExitDataErr;
    case services::Code::kNoSuchUser:
      return kExitNoUser;
    case services::Code::kOverQuota:
      return config.delivery.over_quota_temporary ? kExitTempFail : kExitNoPerm;
    case services::Code::kBadMailbox:
    case services::Code::kExists:
      return kExitCantCreate;
    case services::Code::kTemporary:
      return kExitTempFail;
  }
  return kExitTempFail;
}

std::string_view RejectReason(services::Code code) {
  switch (code) {
    case services::Code::kTooBig:
      return "too big";
    case services::Code::kNoSuchUser:
      return "unknown user";
    case services::Code::kOverQuota:
      return "over quota";
    case services::Code::kEmptyMessage:
      return "empty message";
    default:
      return "temporary failure";
  }
}

}  // namespace

int Deliver(const config::Config& config, const DeliverArgs& args, std::FILE* in) {
  const std::uint64_t limit = config.limits.max_message_size;
  // Line-ending normalization can grow a message a little; the limit is about
  // what a client would see, so the raw input gets some room and each stored
  // message is checked by PrepareMessage.
  const std::uint64_t max_input = limit + limit / 2 + 1024;
  std::string input;
  char buf[65536];
  while (true) {
    std::size_t n = std::fread(buf, 1, sizeof buf, in);
    if (n > 0) {
      if (input.size() + n > max_input) {
        LogRejected(args.from, args.user, "too big");
        PrintError("deliver: input larger than limits.max_message_size (" + std::to_string(limit) +
                   " bytes); an mbox of several messages can be delivered one message at a "
                   "time (formail -s pillarbox deliver --user " +
                   args.user + " < MBOX)");
        return kExitDataErr;
      }
      input.append(buf, n);
    }
    if (n < sizeof buf) {
      if (std::ferror(in)) {
        PrintError("deliver: cannot read the message from stdin");
        return kExitIoErr;
      }
      break;
    }
  }

  // An mbox (a "From " envelope line first) may hold several messages: each
  // is stored as a message of its own.
  std::vector<services::IncomingMessage> incoming = services::SplitMbox(input);
  input.clear();
  input.shrink_to_fit();
  std::vector<std::shared_ptr<const std::string>> messages;
  std::vector<std::string> senders;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < incoming.size(); ++i) {
    std::string sender = incoming[i].envelope_from;
    if (!args.from.empty()) sender = args.from == "<>" ? "" : args.from;
    std::string normalized;
    services::Outcome o = services::PrepareMessage(incoming[i].bytes, limit, &normalized);
    if (!o.ok()) {
      if (o.code() == services::Code::kTooBig) LogRejected(sender, args.user, "too big");
      std::string which =
          incoming.size() > 1 ? " (message " + std::to_string(i + 1) + " of the mbox)" : "";
      PrintError(
          "deliver: " +
          (o.code() == services::Code::kEmptyMessage ? "empty message on stdin" : o.message()) +
          which);
      return ExitFor(config, o.code());
    }
    incoming[i].bytes.clear();
    total += normalized.size();
    messages.push_back(std::make_shared<const std::string>(std::move(normalized)));
    senders.push_back(std::move(sender));
  }

  auto admin = OpenStoreOrReport(config);
  if (!admin) return kExitTempFail;
  const std::string mailbox = args.mailbox.empty() ? "INBOX" : args.mailbox;
  storage::UserRecord user;
  if (services::Outcome o = services::FindUser(admin->store(), args.user, &user); !o.ok()) {
    if (o.code() == services::Code::kNoSuchUser) {
      LogRejected(senders.front(), args.user, "unknown user");
      PrintError("deliver: no such user: " + args.user + InDataDir(config));
    } else {
      PrintError("deliver: " + o.message());
    }
    return ExitFor(config, o.code());
  }
  const std::string what = "deliver to " + user.name + "/" + mailbox;
  // All or nothing where it can be known up front: an mbox that does not
  // fit the quota as a whole is refused before any of it is stored.
  if (services::Outcome o = services::CheckQuota(config, user, total, messages.size()); !o.ok()) {
    LogRejected(senders.front(), user.name, "over quota");
    PrintError(what + ": over quota");
    return ExitFor(config, o.code());
  }

  // Every message is submitted at once, so the writer commits them together
  // (one transaction and fsync) unless one fails on its own.
  std::vector<std::optional<std::pair<services::Outcome, services::Delivered>>> results(
      messages.size());
  const std::uint64_t session = admin->store().SessionIdBase() + 1;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    services::Delivery d;
    d.user = user.id;
    d.mailbox = mailbox;
    d.create_mailbox = !args.mailbox.empty();
    d.bytes = messages[i];
    d.origin.protocol = "cli";
    d.origin.session = session;
    d.envelope_from = senders[i];
    services::Deliver(admin->store(), std::move(d),
                      [&results, i](services::Outcome o, services::Delivered r) {
                        results[i].emplace(std::move(o), std::move(r));
                      });
  }
  messages.clear();
  admin->WaitUntil([&results] {
    for (const auto& r : results) {
      if (!r) return false;
    }
    return true;
  });

  int rc = kExitOk;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& [o, r] = *results[i];
    if (o.ok()) {
      LOG_INFO("delivered: proto=cli from=<{}> user={} size={} mailbox={} uid={}",
               LogField(senders[i]), LogField(user.name), r.result.size, LogField(r.mailbox),
               r.result.uid);
      continue;
    }
    std::string which =
        results.size() > 1 ? " (message " + std::to_string(i + 1) + " of the mbox)" : "";
    if (o.code() != services::Code::kBadMailbox && o.code() != services::Code::kTemporary) {
      LogRejected(senders[i], user.name, RejectReason(o.code()));
    }
    switch (o.code()) {
      case services::Code::kNoSuchUser:
        // The user was deleted between the lookup and the commit.
        PrintError(what + ": no such user" + InDataDir(config) + which);
        break;
      case services::Code::kOverQuota:
        PrintError(what + ": over quota" + which);
        break;
      default:
        PrintError(what + ": " + o.message() + which);
    }
    if (rc == kExitOk) rc = ExitFor(config, o.code());
  }
  return rc;
}

}  // namespace pillarbox::server::cli
