#include "storage/store.h"

namespace pillarbox::storage {

QuotaLimits EffectiveQuota(const UserRecord& user, QuotaLimits defaults) {
  return {user.quota_bytes ? user.quota_bytes : defaults.bytes,
          user.quota_messages ? user.quota_messages : defaults.messages};
}

Status CheckQuota(const UserRecord& user, QuotaLimits defaults, std::uint64_t add_bytes,
                  std::uint64_t add_messages) {
  QuotaLimits q = EffectiveQuota(user, defaults);
  if (q.bytes && user.used_bytes + add_bytes > q.bytes) {
    return Status::OverQuota("quota exceeded (mailbox size limit)");
  }
  if (q.messages && user.used_messages + add_messages > q.messages) {
    return Status::OverQuota("quota exceeded (message count limit)");
  }
  return Status::Ok();
}

}  // namespace pillarbox::storage
