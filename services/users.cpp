#include "services/users.h"

#include <algorithm>
#include <charconv>

namespace pillarbox::services {
namespace {

Outcome BadInput(const Status& s) { return {Code::kBadInput, s.message()}; }

// Parses a whole decimal number (no sign, no spaces).
template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && p == text.data() + text.size();
}

// Checks `key`/`value` (empty value: removal) and canonicalises the value.
Outcome CheckSetting(std::string_view key, std::string_view value, std::string* canonical) {
  if (value.empty()) {
    auto keys = config::UserSettingKeys();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      // Not a per-user key: let the validator say why (unknown, or global).
      Status s = config::ValidateUserSetting(key, "-");
      return BadInput(s.ok() ? Status::InvalidArgument(std::string(key) + ": unknown key") : s);
    }
    canonical->clear();
    return Outcome::Ok();
  }
  auto c = config::CanonicalUserSetting(key, value);
  if (!c.ok()) return BadInput(c.status());
  *canonical = std::move(*c);
  return Outcome::Ok();
}

}  // namespace

Outcome CheckNewUserName(std::string_view name) {
  Status s = storage::ValidateUserName(name);
  return s.ok() ? Outcome::Ok() : BadInput(s);
}

Outcome CheckImportedHash(std::string_view hash) {
  Status s = storage::ValidatePasswordHash(hash);
  return s.ok() ? Outcome::Ok() : BadInput(s);
}

Outcome HashNewPassword(std::string_view password, std::string* hash) {
  if (password.empty()) return {Code::kBadInput, "empty password"};
  if (password.size() > kMaxPasswordBytes) return {Code::kBadInput, "password too long"};
  auto h = storage::HashPassword(password);
  if (!h.ok()) return {Code::kTemporary, h.status().ToString()};
  *hash = std::move(*h);
  return Outcome::Ok();
}

Outcome FindUser(storage::Store& store, std::string_view name, storage::UserRecord* user) {
  auto found = store.Read()->FindUser(name);
  if (!found.ok()) {
    if (found.status().code() == pillarbox::Code::kNotFound) {
      return {Code::kNoSuchUser, "no such user: " + std::string(name)};
    }
    return Outcome::FromStore(found.status());
  }
  *user = std::move(*found);
  return Outcome::Ok();
}

void AddUser(storage::Store& store, std::string name, std::string hash,
             Done<storage::UserRecord> done) {
  if (Outcome o = CheckNewUserName(name); !o.ok()) return done(std::move(o), {});
  store.CreateUser(std::move(name), std::move(hash),
                   [done = std::move(done)](Result<storage::UserRecord> r) {
                     if (!r.ok()) {
                       if (r.status().code() == pillarbox::Code::kExists) {
                         return done({Code::kExists, "the user already exists"}, {});
                       }
                       return done(Outcome::FromStore(r.status()), {});
                     }
                     done(Outcome::Ok(), std::move(*r));
                   });
}

namespace {
storage::StatusCallback ToOutcome(OutcomeDone done) {
  return [done = std::move(done)](Status s) {
    if (s.code() == pillarbox::Code::kNotFound) return done({Code::kNoSuchUser, "no such user"});
    done(Outcome::FromStore(s));
  };
}
}  // namespace

void SetPassword(storage::Store& store, std::string name, std::string hash, OutcomeDone done) {
  store.SetPassword(std::move(name), std::move(hash), ToOutcome(std::move(done)));
}

void DeleteUser(storage::Store& store, std::string name, OutcomeDone done) {
  store.DeleteUser(std::move(name), ToOutcome(std::move(done)));
}

std::vector<UserSummary> ListUsers(storage::Store& store, const config::Config& config) {
  const storage::QuotaLimits defaults{config.quota.storage_bytes, config.quota.messages};
  std::vector<UserSummary> out;
  for (auto& u : store.Read()->ListUsers()) {
    UserSummary s;
    s.quota = storage::EffectiveQuota(u, defaults);
    s.default_quota_bytes = u.quota_bytes == 0;
    s.default_quota_messages = u.quota_messages == 0;
    s.record = std::move(u);
    out.push_back(std::move(s));
  }
  return out;
}

std::string UserSettingKeyList() {
  std::string keys;
  for (const auto& k : config::UserSettingKeys()) keys += (keys.empty() ? "" : ", ") + k;
  return keys;
}

Outcome ParseSetting(std::string_view text, SettingChange* change) {
  std::size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return {Code::kBadInput,
            "expected KEY=VALUE, e.g. pop3.delete_mode=hide (keys: " + UserSettingKeyList() + ")"};
  }
  change->key = std::string(text.substr(0, eq));
  return CheckSetting(change->key, text.substr(eq + 1), &change->value);
}

void SetUserSetting(storage::Store& store, std::string name, std::string key, std::string value,
                    Done<SettingChange> done) {
  SettingChange change;
  change.key = std::move(key);
  if (Outcome o = CheckSetting(change.key, value, &change.value); !o.ok()) {
    return done(std::move(o), {});
  }
  // The name as stored, for the answer (the lookup ignores case).
  change.user = name;
  if (auto u = store.Read()->FindUser(name); u.ok()) change.user = u->name;
  std::string k = change.key, v = change.value;
  store.SetUserSetting(std::move(name), std::move(k), std::move(v),
                       [done = std::move(done), change = std::move(change)](Status s) mutable {
                         if (s.code() == pillarbox::Code::kNotFound) {
                           return done({Code::kNoSuchUser, "no such user"}, {});
                         }
                         if (!s.ok()) return done(Outcome::FromStore(s), {});
                         done(Outcome::Ok(), std::move(change));
                       });
}

Outcome ParseQuota(std::string_view bytes, std::string_view messages, storage::QuotaLimits* quota) {
  auto b = config::ParseSize(bytes);
  if (!b.ok()) return {Code::kBadInput, "BYTES: " + b.status().message()};
  std::uint64_t m = 0;
  if (!ParseNumber(messages, &m)) return {Code::kBadInput, "MESSAGES: expected a number"};
  *quota = {*b, m};
  return Outcome::Ok();
}

void SetQuota(storage::Store& store, std::string name, storage::QuotaLimits quota,
              OutcomeDone done) {
  store.SetQuota(std::move(name), quota.bytes, quota.messages, ToOutcome(std::move(done)));
}

Outcome ParseUids(const std::vector<std::string>& texts, std::vector<storage::Uid>* uids) {
  uids->clear();
  for (const std::string& text : texts) {
    storage::Uid uid = 0;
    if (!ParseNumber(text, &uid) || uid == 0) return {Code::kBadInput, "not a UID: " + text};
    uids->push_back(uid);
  }
  return Outcome::Ok();
}

void Unhide(storage::Store& store, std::string name, std::optional<std::vector<storage::Uid>> uids,
            storage::Origin origin, Done<UnhideResult> done) {
  storage::UserRecord user;
  if (Outcome o = FindUser(store, name, &user); !o.ok()) return done(std::move(o), {});
  UnhideResult result;
  result.user = user.name;
  std::vector<storage::Uid> asked = uids ? *uids : std::vector<storage::Uid>{};
  store.UnhidePop3(
      user.id, std::move(uids), std::move(origin),
      [done = std::move(done), result = std::move(result),
       asked = std::move(asked)](Result<std::vector<storage::Uid>> r) mutable {
        if (!r.ok()) return done(Outcome::FromStore(r.status()), {});
        result.unhidden = std::move(*r);
        for (storage::Uid uid : asked) {
          if (!std::binary_search(result.unhidden.begin(), result.unhidden.end(), uid)) {
            result.not_found.push_back(uid);
          }
        }
        done(Outcome::Ok(), std::move(result));
      });
}

}  // namespace pillarbox::services
