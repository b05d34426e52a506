// LMDB transaction helpers shared by read views and the writer: the one
// place where LMDB return codes become Status, record loading, cursor scans,
// and (WriteOps) the record-level mutations that keep every invariant of
// FORMAT.md (counts, modseqs, change rows, blob refcounts, quota usage).
//
// Thread-safety: a TxnOps is used by the thread that owns its transaction.
#pragma once

#include <lmdb.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/lmdb/codec.h"
#include "storage/store.h"

namespace pillarbox::storage::lmdb {

// Every named database; opened once at start-up.
struct Dbis {
  MDB_dbi meta = 0;
  MDB_dbi users = 0;
  MDB_dbi user_names = 0;
  MDB_dbi mailboxes = 0;
  MDB_dbi mailbox_meta = 0;
  MDB_dbi subscriptions = 0;
  MDB_dbi messages = 0;
  MDB_dbi blobs = 0;
  MDB_dbi blob_refs = 0;
  MDB_dbi structure = 0;
  MDB_dbi sort_keys = 0;
  MDB_dbi changes = 0;
  MDB_dbi journal = 0;
  MDB_dbi journal_counts = 0;
  MDB_dbi live_sessions = 0;
};

// The single mapping of LMDB return codes to Status.
Status MdbStatus(int rc, std::string_view what);

// Mailbox names: "/" separated UTF-8; INBOX (any case) as first component
// is spelled "INBOX".
constexpr std::size_t kMaxMailboxNameBytes = 1024;
constexpr int kMaxMailboxDepth = 32;
Result<std::string> NormalizeMailboxName(std::string_view name);

UnixTime Now();

class TxnOps {
 public:
  TxnOps(MDB_txn* txn, const Dbis* db) : txn_(txn), db_(db) {}
  virtual ~TxnOps() = default;

  MDB_txn* txn() const { return txn_; }
  const Dbis& db() const { return *db_; }

  // NotFound when absent. The view is valid while the transaction lives.
  Result<std::string_view> Get(MDB_dbi dbi, std::string_view key);
  // Calls fn for each key starting with `prefix`, from `start` (>= prefix;
  // empty: the prefix itself) in key order, until fn returns false.
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;
  Status Scan(MDB_dbi dbi, std::string_view prefix, const ScanFn& fn, std::string_view start = {});
  // Like Scan, but from the last key with the prefix backwards; with
  // `before` (> prefix), from the last key below it.
  Status ScanBackward(MDB_dbi dbi, std::string_view prefix, const ScanFn& fn,
                      std::string_view before = {});

  Result<UserRecord> LoadUser(UserId id);
  Result<UserId> FindUserId(std::string_view name);
  Result<MailboxRow> LoadMailbox(MailboxId id);
  // `name` must already be normalized.
  Result<MailboxId> FindMailboxId(UserId user, std::string_view name);
  // All mailboxes of a user, unsorted.
  Result<std::vector<MailboxRow>> UserMailboxes(UserId user);
  Result<MessageRecord> LoadMessage(MailboxId mailbox, Uid uid);
  Result<std::vector<MessageRecord>> MailboxMessages(MailboxId mailbox);
  // ReadView::ListMessagesNewestFirst.
  Result<std::vector<MessageRecord>> MailboxMessagesNewestFirst(MailboxId mailbox, Uid below,
                                                                std::size_t skip,
                                                                std::size_t limit);
  // The analyzer's subject of a blob, "" when unknown.
  std::string SubjectOf(const BlobId& blob);
  Result<std::uint64_t> Counter(std::string_view name);

 protected:
  // Maps rc and remembers MDB_MAP_FULL (see WriteOps).
  virtual Status Check(int rc, std::string_view what) { return MdbStatus(rc, what); }

  MDB_txn* txn_;
  const Dbis* db_;
};

// A nested write transaction for one mutation.
class WriteOps : public TxnOps {
 public:
  WriteOps(MDB_txn* txn, const Dbis* db, const StoreOptions* options)
      : TxnOps(txn, db), options_(options) {}

  bool map_full() const { return map_full_; }
  const std::set<MailboxId>& touched() const { return touched_; }
  void Touch(MailboxId id) { touched_.insert(id); }
  // The user's mailbox list or subscriptions changed (change bus).
  const std::set<UserId>& touched_users() const { return touched_users_; }
  void TouchUser(UserId id) { touched_users_.insert(id); }
  const StoreOptions& options() const { return *options_; }

  Status Put(MDB_dbi dbi, std::string_view key, std::string_view value);
  // Absent keys are fine.
  Status Del(MDB_dbi dbi, std::string_view key);
  // Deletes every key with the prefix.
  Status DelPrefix(MDB_dbi dbi, std::string_view prefix);
  // Increments and returns a meta counter (first value 1).
  Result<std::uint64_t> NextCounter(std::string_view name);
  // Time-based, strictly increasing within the store.
  Result<std::uint32_t> NextUidValidity();

  Status SaveUser(const UserRecord& u);
  Status SaveMailbox(const MailboxRow& m);
  Status SaveMessage(MailboxId mailbox, const MessageRecord& m);

  // Creates one mailbox. REQUIRES: name normalized. Exists when it does.
  Result<MailboxRow> CreateMailbox(UserId user, const std::string& name, SpecialUse use,
                                   bool subscribe);
  // Creates `name` and any missing parents (parents plain, unsubscribed).
  Result<MailboxRow> CreateMailboxWithParents(UserId user, const std::string& name, SpecialUse use,
                                              bool subscribe);

  // Stores the bytes (first reference: also the structure `analyzed`
  // holds, computed before the message was queued; null: none) or adds a
  // reference. Returns the subject.
  Result<std::string> AddBlob(const BlobId& id, std::string_view bytes,
                              const AnalyzedMessage* analyzed);
  Status IncBlobRef(const BlobId& id);
  // Drops a reference; the last one frees bytes and structure.
  Status DecBlobRef(const BlobId& id);

  // Assigns uid and modseq, writes the message and its change row, updates
  // the counts of `mb` and the usage of `user` (both saved by the caller).
  // `uid`: the UID to give it (import; REQUIRES: >= UIDNEXT, else kExists);
  // 0: the next one.
  Status AddMessage(MailboxRow& mb, UserRecord& user, MessageRecord& msg, Uid uid = 0);
  // Removes the message (expunge): change row, counts, usage. Does not
  // touch the blob reference.
  Status RemoveMessage(MailboxRow& mb, UserRecord& user, const MessageRecord& msg);
  // Sets new flags with a new modseq and change row; counts updated.
  Status ChangeFlags(MailboxRow& mb, MessageRecord& msg, const Flags& flags);

  // Appends a journal event (time: now when 0) and prunes by count.
  Status Journal(UserId user, JournalEvent ev);
  Status JournalMessage(UserId user, JournalKind kind, const Origin& origin,
                        const std::string& mailbox, const MessageRecord& msg, std::string detail);
  // Deletes events older than `cutoff`.
  Status PruneJournal(UserId user, UnixTime cutoff);

  // Removes a mailbox and everything in it (blob refs dropped). Returns the
  // number of messages it held.
  Result<std::uint32_t> DestroyMailbox(MailboxRow& mb, UserRecord& user);

  Status CheckQuota(const UserRecord& user, std::uint64_t add_bytes, std::uint64_t add_messages);

 protected:
  Status Check(int rc, std::string_view what) override {
    if (rc == MDB_MAP_FULL) map_full_ = true;
    return MdbStatus(rc, what);
  }

 private:
  const StoreOptions* options_;
  bool map_full_ = false;
  std::set<MailboxId> touched_;
  std::set<UserId> touched_users_;
};

// Sorted, unique (case-insensitive) keywords; system flags masked.
Flags NormalizeFlags(Flags flags);
// "+\Seen -\Flagged +$label" for the journal.
std::string DescribeFlagChange(const Flags& before, const Flags& after);

}  // namespace pillarbox::storage::lmdb
