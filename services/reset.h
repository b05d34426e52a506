// Reset: a test server back to empty in one step (POST /api/v1/reset,
// `pillarbox reset`). Every user is deleted, which ends their live sessions
// as `user del` does (IMAP BYE, POP3 -ERR: the store's WatchUser); with
// keep_users each is then created again with the same password hash, quota
// and settings, so that its mailboxes are new and empty (UIDs start at 1).
//
// Threads: the store's owner thread; the completion runs there after the
// last commit.
#pragma once

#include <cstddef>

#include "services/outcome.h"
#include "storage/store.h"

namespace pillarbox::services {

struct ResetOptions {
  bool keep_users = false;
};
struct ResetResult {
  std::size_t users_deleted = 0;
  std::size_t users_kept = 0;  // created again (keep_users)
};

// kTemporary when a store operation failed (the reset may be partial then;
// running it again finishes it).
void Reset(storage::Store& store, ResetOptions options, Done<ResetResult> done);

}  // namespace pillarbox::services
