// Maintenance of a store on disk, without a Store object: the consistency
// report (`pillarbox verify`), hot backups into one file and their restore
// (`pillarbox backup`, `pillarbox restore`). The backup file's layout is in
// storage/lmdb/FORMAT.md ("Backup file").
//
// `dir` is always the store's directory (StoreOptions::dir), the one that
// holds data.mdb and lock.mdb.
//
// Threads: any thread; each call opens what it needs and closes it before
// it returns. VerifyStore and BackupStore only read (one read-only LMDB
// transaction each), so they run while a server uses the store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace pillarbox::storage {

// Every broken invariant of FORMAT.md found in one snapshot, one line each.
struct ConsistencyReport {
  // A badly broken store can have a problem per message; the report keeps
  // the first ones and counts the rest, so it stays readable.
  static constexpr std::size_t kMaxListedProblems = 1000;

  std::vector<std::string> problems;
  std::uint64_t problems_not_listed = 0;  // beyond kMaxListedProblems
  // What is worth knowing but not wrong: a store made by an older build (an
  // earlier format version, a database it did not have yet), checked as
  // such; the server brings it up to date when it next opens it.
  std::vector<std::string> notes;

  // What the snapshot holds.
  std::uint64_t users = 0;
  std::uint64_t mailboxes = 0;
  std::uint64_t messages = 0;
  std::uint64_t blobs = 0;
  std::uint64_t blob_bytes = 0;

  bool ok() const { return problems.empty(); }
  std::uint64_t problem_count() const { return problems.size() + problems_not_listed; }
  void Add(std::string problem);
};

// Opens the store in `dir` read-only and checks every invariant in one read
// transaction (Store::CheckConsistency checks the same). NotFound when
// `dir` holds no store; other errors when it cannot be read at all.
Result<ConsistencyReport> VerifyStore(const std::string& dir);

// What a backup file holds, from its header and trailer.
struct BackupInfo {
  std::uint32_t store_format_version = 0;
  std::int64_t created = 0;       // Unix time
  std::uint64_t store_bytes = 0;  // the compacted data.mdb
  std::uint64_t file_bytes = 0;   // the whole backup file
  std::string sha256;             // hex, of everything before the checksum
};

// Writes a consistent, compacted copy of the store in `dir` (one LMDB read
// transaction: mdb_env_copyfd2 with MDB_CP_COMPACT) to `file`: first to a
// temporary file next to it, fsynced, then renamed over `file` and the
// directory fsynced, so `file` is either the old one or a whole new backup.
// Runs while a server uses the store.
Result<BackupInfo> BackupStore(const std::string& dir, const std::string& file);

// Reads `file` whole and checks its layout and checksum.
Result<BackupInfo> CheckBackupFile(const std::string& file);

// Puts the store of backup `file` into `dir` (created if missing): copied to
// a temporary file while its checksum is computed, and renamed to data.mdb
// only when the checksum matches. Refuses (InUse) while any process has the
// store in `dir` open (a server, a CLI command), Exists when `dir` already
// holds a store with users or messages and !replace (an empty one, as
// `init` makes, is replaced), Corruption when the checksum or layout is
// wrong, Unsupported when the backup's format is newer than this build's.
// While it runs it holds the lock LMDB's openers take, so a process that
// opens the store meanwhile waits for it.
Result<BackupInfo> RestoreStore(const std::string& file, const std::string& dir, bool replace);

// The pid of a process that has the store in `dir` open, 0 when none (LMDB
// keeps a shared lock on lock.mdb for as long as an environment is open).
Result<std::uint64_t> StoreOpenedBy(const std::string& dir);

}  // namespace pillarbox::storage
