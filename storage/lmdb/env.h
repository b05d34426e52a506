// What every opening of the store's LMDB environment shares: the limits
// set before mdb_env_open and the one list of named databases. Used by
// LmdbStore (the server and the CLI) and by the read-only openings of
// maintenance.cpp (verify, backup), so that whoever opens the environment
// first sizes the lock file the same way.
#pragma once

#include <lmdb.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "storage/lmdb/txn.h"

namespace pillarbox::storage::lmdb {

// Readers: one per live read view; views are short, sessions many. LMDB
// sizes the lock file's reader table when the first process opens the
// environment, so every opener must ask for the same number.
constexpr unsigned kMaxReaders = 1024;
constexpr unsigned kMaxDbs = 32;  // named databases, with room for new ones

// The MDB_dbi of a database that is absent from the store: any use of it
// fails (EINVAL) instead of reading another database.
constexpr MDB_dbi kAbsentDbi = ~MDB_dbi{0};

// Opens every named database of Dbis in `txn`; `create` makes missing ones
// (a write transaction). Without `create`, a database that stores made by
// an older build lack (sort_keys, added without a format version bump, see
// FORMAT.md) is left as kAbsentDbi and its name appended to `absent` (when
// given): such a store reads as if it were empty. Any other missing one is
// NotFound, naming it.
Status OpenDbis(MDB_txn* txn, bool create, Dbis* dbis, std::vector<std::string>* absent = nullptr);

}  // namespace pillarbox::storage::lmdb
