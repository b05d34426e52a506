#include "common/strings.h"
#include "storage/store.h"

namespace pillarbox::storage {
std::int64_t RetentionDays(const MailboxRecord& mailbox, const std::vector<RetentionRule>& rules) {
  if (mailbox.expire_after_days > 0) return mailbox.expire_after_days;
  for (const auto& rule : rules) {
    if (rule.days <= 0 || rule.mailbox.empty()) continue;
    bool match;
    if (rule.mailbox[0] == '\\') {
      match = mailbox.special_use != SpecialUse::kNone &&
              EqualsIgnoreAsciiCase(rule.mailbox, SpecialUseName(mailbox.special_use));
    } else if (mailbox.name == "INBOX") {
      match = EqualsIgnoreAsciiCase(rule.mailbox, "INBOX");  // INBOX has no case
    } else {
      match = rule.mailbox == mailbox.name;
    }
    if (match) return rule.days;
  }
  return 0;
}

}  // namespace pillarbox::storage
