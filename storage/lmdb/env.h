// What every opening of the store's LMDB environment shares: the limits
// set before mdb_env_open and the one list of named databases. Used by
// LmdbStore (the server and the CLI) and by the read-only openings of
// maintenance.cpp (verify, backup), so that whoever opens the environment
// first sizes the lock file the same way.
#pragma once

#include <lmdb.h>

#include "common/status.h"
#include "storage/lmdb/txn.h"

namespace pillarbox::storage::lmdb {

// Readers: one per live read view; views are short, sessions many. LMDB
// sizes the lock file's reader table when the first process opens the
// environment, so every opener must ask for the same number.
constexpr unsigned kMaxReaders = 1024;
constexpr unsigned kMaxDbs = 32;  // named databases, with room for new ones

// Opens every named database of Dbis in `txn`; `create` makes missing ones
// (a write transaction). NotFound names the database that is missing.
Status OpenDbis(MDB_txn* txn, bool create, Dbis* dbis);

}  // namespace pillarbox::storage::lmdb
