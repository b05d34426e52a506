// The consistency check of FORMAT.md's invariants, shared by
// Store::CheckConsistency and storage::VerifyStore (pillarbox verify).
// Internal to storage/.
#pragma once

#include "storage/lmdb/txn.h"
#include "storage/maintenance.h"

namespace pillarbox::storage::lmdb {

// Reads every database in `ops`' transaction (read-only is enough) and adds
// one line to `report` per broken invariant; it never stops at the first.
// Also fills the report's counts.
void CheckInvariants(TxnOps& ops, ConsistencyReport* report);

}  // namespace pillarbox::storage::lmdb
