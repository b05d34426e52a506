// User operations: add, change the password, delete, list, per-user
// settings, quota, unhide. The rules (which names, which settings, how a
// value is spelled when stored) live here once; `pillarbox user ...` and the
// HTTP API are renderings of these results.
//
// Threads: the store's owner thread (the loop in the server, the main thread
// in the CLI). Asynchronous operations submit one mutation and call `done`
// on that thread after the durable commit; nothing here blocks, except the
// two password functions, which hash (see each).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "services/outcome.h"
#include "storage/store.h"

namespace pillarbox::services {

// The name a new user may take (storage::ValidateUserName).
Outcome CheckNewUserName(std::string_view name);
// An imported crypt(3) or {SCHEME} hash, probed by hashing once.
// Blocks for one hashing: not on the loop thread.
Outcome CheckImportedHash(std::string_view hash);
// The stored form of a new password (yescrypt). Empty or longer than
// kMaxPasswordBytes is bad input. Blocks for one hashing: not on the loop
// thread.
constexpr std::size_t kMaxPasswordBytes = 4096;  // yescrypt takes any; this bounds reading
Outcome HashNewPassword(std::string_view password, std::string* hash);

// The user named `name` (case-insensitive), in one short read.
Outcome FindUser(storage::Store& store, std::string_view name, storage::UserRecord* user);

// `hash` as from CheckImportedHash or HashNewPassword. kExists when taken.
void AddUser(storage::Store& store, std::string name, std::string hash,
             Done<storage::UserRecord> done);
void SetPassword(storage::Store& store, std::string name, std::string hash, OutcomeDone done);
// The user, their mailboxes and mail; their open sessions end themselves.
void DeleteUser(storage::Store& store, std::string name, OutcomeDone done);

// A user as an administrator sees them: the record and the quota in effect.
struct UserSummary {
  storage::UserRecord record;
  storage::QuotaLimits quota;          // in effect (0: unlimited)
  bool default_quota_bytes = true;     // no own limit: the configured one applies
  bool default_quota_messages = true;  // the same for the message count
};
std::vector<UserSummary> ListUsers(storage::Store& store, const config::Config& config);

// --- per-user settings ---------------------------------------------------------

struct SettingChange {
  std::string user;   // as stored
  std::string key;    // "pop3.delete_mode"
  std::string value;  // canonical ("yes" -> "true"); empty: the override is removed
  bool removed() const { return value.empty(); }
};
// "KEY=VALUE" into a checked change (user left empty): the key must be one
// that can be set per user, the value valid for it and then canonical. An
// empty VALUE removes the override.
Outcome ParseSetting(std::string_view text, SettingChange* change);
// Checks and canonicalises `key`/`value` (as ParseSetting), then stores it.
void SetUserSetting(storage::Store& store, std::string name, std::string key, std::string value,
                    Done<SettingChange> done);
// "pop3.delete_mode, pop3.mark_seen_on_retr": for usage messages.
std::string UserSettingKeyList();

// --- quota ---------------------------------------------------------------------

// "1G" / "500M" / "0" and a message count; 0 means the configured default.
Outcome ParseQuota(std::string_view bytes, std::string_view messages, storage::QuotaLimits* quota);
void SetQuota(storage::Store& store, std::string name, storage::QuotaLimits quota,
              OutcomeDone done);

// --- POP3 visibility -----------------------------------------------------------

// INBOX UIDs as typed ("17"); 0 or anything but digits is bad input.
Outcome ParseUids(const std::vector<std::string>& texts, std::vector<storage::Uid>* uids);
struct UnhideResult {
  std::string user;                     // as stored
  std::vector<storage::Uid> unhidden;   // ascending
  std::vector<storage::Uid> not_found;  // asked for, but not hidden or not in INBOX
};
// Makes messages POP3 hid (delete mode hide) visible to POP3 again: `uids`
// only, or every hidden one (nullopt). Journaled with `origin`.
void Unhide(storage::Store& store, std::string name, std::optional<std::vector<storage::Uid>> uids,
            storage::Origin origin, Done<UnhideResult> done);

}  // namespace pillarbox::services
