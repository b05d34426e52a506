#include "services/delivery.h"

#include <cstdint>

#include "common/strings.h"
#include "services/mailfmt.h"

namespace pillarbox::services {

std::vector<IncomingMessage> SplitMbox(std::string_view input) {
  std::string_view first = input.substr(0, input.find('\n'));
  if (!mailfmt::IsFromLine(first)) return {IncomingMessage{"", std::string(input)}};
  // One reader of mbox for every path in: the importer's (mailfmt).
  std::vector<IncomingMessage> out;
  mailfmt::MboxParser parser(UINT64_MAX, [&](mailfmt::MboxMessage&& m) {
    out.push_back({std::move(m.envelope_from), std::move(m.bytes)});
  });
  parser.Feed(input);
  parser.Finish();
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
