#include "services/reset.h"

#include <memory>
#include <string>
#include <vector>

namespace pillarbox::services {

namespace {

struct ResetState {
  storage::Store* store = nullptr;
  ResetOptions options;
  std::vector<storage::UserRecord> users;
  std::size_t next = 0;
  ResetResult result;
  Done<ResetResult> done;
};

void Step(std::shared_ptr<ResetState> st);

void Fail(const std::shared_ptr<ResetState>& st, const std::string& what, const Status& s) {
  st->done({Code::kTemporary, what + ": " + s.ToString()}, st->result);
}

// Quota and settings of a user created again, one commit each.
void Restore(std::shared_ptr<ResetState> st, const storage::UserRecord& user,
             std::vector<std::pair<std::string, std::string>> settings) {
  if (!settings.empty()) {
    auto [key, value] = settings.back();
    settings.pop_back();
    st->store->SetUserSetting(user.name, key, value,
                              [st, user, settings = std::move(settings)](Status s) mutable {
                                if (!s.ok())
                                  return Fail(st, "restoring a setting of " + user.name, s);
                                Restore(std::move(st), user, std::move(settings));
                              });
    return;
  }
  ++st->result.users_kept;
  Step(std::move(st));
}

// One user at a time: few users on a test server, and the order of
// completions stays simple.
void Step(std::shared_ptr<ResetState> st) {
  if (st->next == st->users.size()) return st->done(Outcome::Ok(), st->result);
  storage::UserRecord user = st->users[st->next++];
  st->store->DeleteUser(user.name, [st, user](Status s) mutable {
    if (!s.ok() && s.code() != pillarbox::Code::kNotFound)
      return Fail(st, "deleting " + user.name, s);
    ++st->result.users_deleted;
    if (!st->options.keep_users) return Step(std::move(st));
    std::string hash = user.password_hash;
    st->store->CreateUser(user.name, hash, [st, user](Result<storage::UserRecord> r) mutable {
      if (!r.ok()) return Fail(st, "creating " + user.name + " again", r.status());
      std::vector<std::pair<std::string, std::string>> settings(user.settings.begin(),
                                                                user.settings.end());
      if (user.quota_bytes == 0 && user.quota_messages == 0) {
        return Restore(std::move(st), user, std::move(settings));
      }
      st->store->SetQuota(user.name, user.quota_bytes, user.quota_messages,
                          [st, user, settings = std::move(settings)](Status s) mutable {
                            if (!s.ok()) return Fail(st, "restoring the quota of " + user.name, s);
                            Restore(std::move(st), user, std::move(settings));
                          });
    });
  });
}

}  // namespace

void Reset(storage::Store& store, ResetOptions options, Done<ResetResult> done) {
  auto st = std::make_shared<ResetState>();
  st->store = &store;
  st->options = options;
  st->done = std::move(done);
  {
    auto view = store.Read();
    st->users = view->ListUsers();
  }
  Step(std::move(st));
}

}  // namespace pillarbox::services
