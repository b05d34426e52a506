#include "services/delivery.h"

#include "common/strings.h"

namespace pillarbox::services {
namespace {

// The line of `text` at `pos` without its line ending, and where the next
// line starts.
std::string_view LineAt(std::string_view text, std::size_t pos, std::size_t* next) {
  std::size_t eol = text.find('\n', pos);
  if (eol == std::string_view::npos) {
    *next = text.size();
    return text.substr(pos);
  }
  *next = eol + 1;
  std::string_view line = text.substr(pos, eol - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// "From sender Thu Nov 26 10:00:00 2026": a sender and a time "hh:mm".
// A body line "From here on..." after an empty line has no time, so an
// mboxo file that did not quote it is not cut there.
bool IsSeparator(std::string_view line) {
  if (!line.starts_with("From ")) return false;
  std::string_view rest = line.substr(5);
  std::size_t space = rest.find(' ');
  if (space == 0 || space == std::string_view::npos) return false;
  for (std::size_t i = space; i + 5 <= rest.size(); ++i) {
    auto digit = [&](std::size_t k) { return rest[i + k] >= '0' && rest[i + k] <= '9'; };
    if (digit(0) && digit(1) && rest[i + 2] == ':' && digit(3) && digit(4)) return true;
  }
  return false;
}

std::string SenderOf(std::string_view from_line) {
  std::string_view rest = from_line.substr(5);
  std::string sender(rest.substr(0, rest.find(' ')));
  return sender == "MAILER-DAEMON" ? std::string() : sender;
}

bool IsBlank(std::string_view line) { return line.empty(); }

}  // namespace

std::vector<IncomingMessage> SplitMbox(std::string_view input) {
  if (!input.starts_with("From ")) return {IncomingMessage{"", std::string(input)}};
  std::vector<IncomingMessage> out;
  std::size_t pos = 0;
  bool previous_blank = false;
  std::size_t blank_start = 0;  // where the empty line before `pos` starts
  while (pos < input.size()) {
    std::size_t next;
    std::string_view line = LineAt(input, pos, &next);
    bool first = out.empty();
    if (first || (previous_blank && IsSeparator(line))) {
      if (!first) out.back().bytes.resize(out.back().bytes.size() - (pos - blank_start));
      out.push_back({SenderOf(line), {}});
      previous_blank = false;
      pos = next;
      continue;
    }
    std::string_view raw = input.substr(pos, next - pos);
    std::size_t quotes = 0;
    while (quotes < line.size() && line[quotes] == '>') ++quotes;
    if (quotes > 0 && line.substr(quotes).starts_with("From ")) raw.remove_prefix(1);
    out.back().bytes.append(raw);
    if (IsBlank(line)) blank_start = pos;
    previous_blank = IsBlank(line);
    pos = next;
  }
  return out;
}

Outcome PrepareMessage(std::string_view bytes, std::uint64_t max_message_size,
                       std::string* normalized) {
  if (bytes.find_first_not_of("\r\n") == std::string_view::npos) {
    return {Code::kEmptyMessage, "empty message"};
  }
  *normalized = storage::NormalizeLineEndings(bytes);
  if (normalized->size() > max_message_size) {
    return {Code::kTooBig, "message larger than limits.max_message_size (" +
                               std::to_string(max_message_size) + " bytes)"};
  }
  return Outcome::Ok();
}

Outcome FindRecipient(storage::ReadView& view, const RecipientAddress& address,
                      Recipient* recipient) {
  std::vector<std::pair<std::string, bool>> candidates;  // name, with the detail cut off
  if (!address.domain.empty()) candidates.emplace_back(address.local + "@" + address.domain, false);
  candidates.emplace_back(address.local, false);
  if (!address.base.empty()) {
    if (!address.domain.empty()) candidates.emplace_back(address.base + "@" + address.domain, true);
    candidates.emplace_back(address.base, true);
  }
  for (const auto& [name, cut] : candidates) {
    auto user = view.FindUser(name);
    if (!user.ok()) continue;
    recipient->user = std::move(*user);
    recipient->mailbox = "INBOX";
    if (cut && !address.detail.empty() && !EqualsIgnoreAsciiCase(address.detail, "INBOX")) {
      for (const auto& mb : view.ListMailboxes(recipient->user.id)) {
        if (EqualsIgnoreAsciiCase(mb.name, address.detail)) {
          recipient->mailbox = mb.name;
          break;
        }
      }
    }
    return Outcome::Ok();
  }
  return {Code::kNoSuchUser, "no such user"};
}

Outcome CheckQuota(const config::Config& config, const storage::UserRecord& user,
                   std::uint64_t bytes, std::uint64_t messages) {
  Status s = storage::CheckQuota(user, {config.quota.storage_bytes, config.quota.messages}, bytes,
                                 messages);
  return s.ok() ? Outcome::Ok() : Outcome(Code::kOverQuota, s.message());
}

void Deliver(storage::Store& store, Delivery delivery, Done<Delivered> done) {
  storage::AppendRequest req;
  req.user = delivery.user;
  req.mailbox = delivery.mailbox;
  req.create_mailbox = delivery.create_mailbox;
  req.bytes = delivery.bytes;
  req.spill = delivery.spill;
  req.origin = delivery.origin;
  req.envelope_from = delivery.envelope_from;
  req.flags = delivery.flags;
  req.internal_date = delivery.internal_date;
  req.internal_date_tz = delivery.internal_date_tz;
  storage::Store* s = &store;
  store.Append(std::move(req), [s, delivery = std::move(delivery),
                                done = std::move(done)](Result<storage::AppendResult> r) mutable {
    if (r.ok()) return done(Outcome::Ok(), Delivered{*r, delivery.mailbox});
    const Status& st = r.status();
    switch (st.code()) {
      case pillarbox::Code::kNotFound:
        if (delivery.fallback_to_inbox && delivery.mailbox != "INBOX") {
          delivery.mailbox = "INBOX";
          delivery.fallback_to_inbox = false;
          return Deliver(*s, std::move(delivery), std::move(done));
        }
        // With the mailbox there (or created), only the user can be missing.
        return done({Code::kNoSuchUser, "no such user"}, {});
      case pillarbox::Code::kOverQuota:
        return done({Code::kOverQuota, st.message()}, {});
      case pillarbox::Code::kInvalidArgument:
      case pillarbox::Code::kNoPermission:
      case pillarbox::Code::kExists:
      case pillarbox::Code::kLimit:
        return done({Code::kBadMailbox, st.message()}, {});
      default:
        return done({Code::kTemporary, "temporary failure: " + st.ToString()}, {});
    }
  });
}

}  // namespace pillarbox::services
