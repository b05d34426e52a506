#include "storage/lmdb/env.h"

#include <string>

namespace pillarbox::storage::lmdb {

Status OpenDbis(MDB_txn* txn, bool create, Dbis* dbis, std::vector<std::string>* absent) {
  struct Named {
    const char* name;
    MDB_dbi* dbi;
    bool optional = false;  // absent from stores made before it existed
  } named[] = {{"meta", &dbis->meta},
               {"users", &dbis->users},
               {"user_names", &dbis->user_names},
               {"mailboxes", &dbis->mailboxes},
               {"mailbox_meta", &dbis->mailbox_meta},
               {"subscriptions", &dbis->subscriptions},
               {"messages", &dbis->messages},
               {"blobs", &dbis->blobs},
               {"blob_refs", &dbis->blob_refs},
               {"structure", &dbis->structure},
               {"sort_keys", &dbis->sort_keys, true},
               {"changes", &dbis->changes},
               {"journal", &dbis->journal},
               {"journal_counts", &dbis->journal_counts},
               {"live_sessions", &dbis->live_sessions}};
  for (const auto& n : named) {
    int rc = mdb_dbi_open(txn, n.name, create ? MDB_CREATE : 0, n.dbi);
    if (rc == MDB_NOTFOUND && !create && n.optional) {
      *n.dbi = kAbsentDbi;
      if (absent != nullptr) absent->push_back(n.name);
      continue;
    }
    if (rc != MDB_SUCCESS) return MdbStatus(rc, std::string("opening database ") + n.name);
  }
  return Status::Ok();
}

}  // namespace pillarbox::storage::lmdb
