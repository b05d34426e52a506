// The LMDB implementation of Store. Internal to storage/: others use
// storage/store.h.
//
// Threads:
// - owner thread: every public method; read views; the change bus, \Recent
//   and POP3-lock maps (no locking: owner only).
// - writer thread: the only write transactions (one per batch of queued
//   mutations, each mutation in a nested transaction).
// - preparation threads: make an appended message ready for the writer
//   (read its spill file, normalize line endings, SHA-256, run the
//   analyzer) before it enters the writer's queue (no LMDB access).
// - auth threads: password verification only (no LMDB access).
//
// Map growth: every transaction in this process holds map_mu_ shared for its
// life; growing the map (mdb_env_set_mapsize, which requires that no
// transaction of this process is active) holds it exclusively. See FORMAT.md.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "storage/fair_queue.h"
#include "storage/lmdb/txn.h"
#include "storage/store.h"

namespace pillarbox::storage::lmdb {

// One queued mutation. `apply` runs on the writer thread inside a nested
// transaction and may run more than once (the batch is retried after the
// map grows), so it must recompute its result from the transaction each
// time. `complete` runs on the owner thread with the final status.
struct Mutation {
  std::function<Status(WriteOps&)> apply;
  std::function<void(Status)> complete;  // may be empty
};

// A message made ready for the writer by a preparation thread; immutable
// once prepared. Recipients of one LMTP/SMTP transaction share one. It
// holds the request's bytes and spill file until the commit, so that their
// addresses (the key in LmdbStore::prepared_) are not reused meanwhile; when
// the bytes needed no normalizing, `bytes` is `source` (no copy).
struct PreparedMessage {
  std::shared_ptr<const std::string> source;  // the request's bytes
  std::shared_ptr<const SpillFile> spill;     // the request's spill file
  bool keep_bytes = false;                    // AppendRequest::keep_bytes
  std::once_flag once;
  Status status;
  std::shared_ptr<const std::string> bytes;  // normalized
  BlobId id;
  std::optional<AnalyzedMessage> analyzed;  // empty without an analyzer
};

// Owner-thread state that completions posted after the store is gone may
// still reach, hence shared.
struct ChangeBus {
  std::uint64_t next_id = 1;
  std::unordered_map<MailboxId, std::map<std::uint64_t, Store::Listener>> by_mailbox;
  std::unordered_map<std::uint64_t, MailboxId> by_id;
  // Last highest_modseq published per subscribed mailbox (external-change
  // detection compares against it).
  std::unordered_map<MailboxId, ModSeq> known;
  // WatchUser(): listeners per user, and the user of each watch id.
  std::unordered_map<UserId, std::map<std::uint64_t, Store::UserListener>> user_watches;
  std::unordered_map<std::uint64_t, UserId> watch_user;
  // SubscribeUser(): listeners per user, and the user of each id.
  std::unordered_map<UserId, std::map<std::uint64_t, Store::Listener>> by_user;
  std::unordered_map<std::uint64_t, UserId> user_sub;

  void Publish(MailboxId mailbox);
  // Calls (once) and forgets every watcher of `user`.
  void PublishUserDeleted(UserId user);
  // Calls the SubscribeUser() listeners of `user` with `mailbox` (0: the
  // mailbox list).
  void PublishUser(UserId user, MailboxId mailbox);
};

class LmdbStore final : public Store {
 public:
  explicit LmdbStore(StoreOptions options);
  ~LmdbStore() override;
  Status Init();

  std::unique_ptr<ReadView> Read() override;
  std::uint64_t SessionIdBase() const override { return session_id_base_; }

  void CreateUser(std::string name, std::string hash, Callback<UserRecord> done) override;
  void SetPassword(std::string name, std::string hash, StatusCallback done) override;
  void DeleteUser(std::string name, StatusCallback done) override;
  void SetUserSetting(std::string name, std::string key, std::string value,
                      StatusCallback done) override;
  void SetQuota(std::string name, std::uint64_t bytes, std::uint64_t messages,
                StatusCallback done) override;
  void Authenticate(std::string name, std::string password, std::string client,
                    Callback<UserRecord> done) override;
  void HashPasswordAsync(std::string password, Callback<std::string> done) override;

  void CreateMailbox(UserId user, std::string name, SpecialUse use,
                     Callback<MailboxRecord> done) override;
  void DeleteMailbox(UserId user, std::string name, Origin origin, StatusCallback done) override;
  void RenameMailbox(UserId user, std::string from, std::string to, Origin origin,
                     StatusCallback done) override;
  void SetSubscribed(UserId user, std::string name, bool subscribed, StatusCallback done) override;
  void SetMailboxRetention(UserId user, std::string name, std::int64_t days,
                           StatusCallback done) override;

  void SetMailboxUidState(UserId user, std::string name, std::uint32_t uidvalidity, Uid uidnext,
                          ModSeq min_highest_modseq, StatusCallback done) override;
  void Append(AppendRequest request, Callback<AppendResult> done) override;
  void AppendMany(std::vector<AppendRequest> requests,
                  Callback<std::vector<AppendResult>> done) override;
  void StoreFlags(StoreFlagsRequest request, Callback<StoreFlagsResult> done) override;
  void Copy(CopyRequest request, Callback<CopyResult> done) override;
  void Expunge(ExpungeRequest request, Callback<std::vector<Uid>> done) override;

  void MarkPop3Retrieved(MailboxId mailbox, Uid uid, bool set_seen, Origin origin,
                         std::string detail, StatusCallback done) override;
  void UnhidePop3(UserId user, std::optional<std::vector<Uid>> uids, Origin origin,
                  Callback<std::vector<Uid>> done) override;
  void Pop3Commit(Pop3CommitRequest request, Callback<Pop3CommitResult> done) override;

  void RecordJournal(UserId user, JournalEvent event, StatusCallback done) override;
  void SweepRetention(std::vector<RetentionRule> rules, UnixTime now, StatusCallback done) override;
  void RegisterLiveSession(ReadView::LiveSession session) override;
  void UnregisterLiveSession(std::uint64_t id) override;

  Uid ClaimRecent(MailboxId mailbox, Uid uidnext) override;
  bool TryLockPop3(UserId user, std::uint64_t session) override;
  void UnlockPop3(UserId user, std::uint64_t session) override;

  std::uint64_t Subscribe(MailboxId mailbox, Listener listener) override;
  void Unsubscribe(std::uint64_t subscription) override;
  std::uint64_t WatchUser(UserId user, UserListener listener) override;
  std::uint64_t SubscribeUser(UserId user, Listener listener) override;
  void PollExternalChanges() override;

  void Flush() override;
  Status CheckConsistency() override;

 private:
  template <typename T>
  static Mutation MakeMutation(std::function<Result<T>(WriteOps&)> apply, Callback<T> done);
  template <typename T>
  void Submit(std::function<Result<T>(WriteOps&)> apply, Callback<T> done) {
    Enqueue(MakeMutation<T>(std::move(apply), std::move(done)));
  }
  // Queues `m` for the writer once `prepare` has run on a preparation
  // thread, and after every earlier mutation submitted on `lane`.
  void EnqueuePrepared(std::uint64_t lane, Mutation m, std::function<void()> prepare);
  void PrepareLoop();
  // Fills `p` (once, whoever calls first).
  void Prepare(PreparedMessage& p);
  // The preparation of `request`'s bytes, shared with other recipients of
  // the same bytes; takes the bytes and spill file out of the request.
  std::shared_ptr<PreparedMessage> Prepared(AppendRequest& request);
  void SubmitStatus(std::function<Status(WriteOps&)> apply, StatusCallback done);
  void Enqueue(Mutation m);
  void WriterLoop();
  void RunBatch(std::vector<Mutation>& batch);
  // Doubles the map. REQUIRES: no transaction of the writer is active.
  Status GrowMap();
  // Adopts a map size grown by another process.
  Status AdoptMapSize(bool blocking);
  void AuthLoop();
  // Debug builds: the owner thread is the first one that calls an
  // owner-thread method (the loop thread); any other caller aborts.
  void AssertOwnerThread();
  // Debug builds: aborts when this thread holds a read view, where one
  // would deadlock the writer's map growth (Flush, ClaimRecent, GrowMap).
  static void AssertNoOpenView(const char* where);

  StoreOptions options_;
  MDB_env* env_ = nullptr;
  Dbis dbis_;
  std::shared_timed_mutex map_mu_;

  Mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::condition_variable flushed_cv_;
  std::vector<Mutation> queue_ GUARDED_BY(queue_mu_);
  std::uint64_t submitted_ GUARDED_BY(queue_mu_) = 0;
  std::uint64_t finished_ GUARDED_BY(queue_mu_) = 0;
  bool stop_ GUARDED_BY(queue_mu_) = false;
  std::thread writer_;

  // Mutations waiting for their preparation, per lane (an append's lane is
  // its session), in submission order; the ready front of a lane moves to
  // queue_.
  struct Pending {
    Mutation m;
    bool ready = false;
  };
  std::unordered_map<std::uint64_t, std::deque<std::shared_ptr<Pending>>> lanes_
      GUARDED_BY(queue_mu_);
  Mutex prep_mu_;
  std::condition_variable prep_cv_;
  std::deque<std::function<void()>> prep_jobs_ GUARDED_BY(prep_mu_);
  bool prep_stop_ GUARDED_BY(prep_mu_) = false;
  std::vector<std::thread> prep_threads_;
  // Owner thread: preparations still alive, by (bytes, spill file), so that
  // the recipients of one message share one.
  std::map<std::pair<const void*, const void*>, std::weak_ptr<PreparedMessage>> prepared_;

  std::unique_ptr<FairQueue> auth_queue_;
  std::vector<std::thread> auth_threads_;

  // External-change detection.
  std::uint64_t session_id_base_ = 0;  // set by Open
  std::atomic<std::uint64_t> own_txnid_{0};
  std::atomic<bool> external_seen_{false};
  std::uint64_t polled_txnid_ = 0;  // owner thread

  // The owner thread, once known (AssertOwnerThread).
  std::atomic<std::thread::id> owner_{};

  // Owner-thread state.
  std::shared_ptr<ChangeBus> bus_ = std::make_shared<ChangeBus>();
  std::unordered_map<MailboxId, Uid> recent_;
  std::unordered_map<UserId, std::uint64_t> pop3_locks_;
};

template <typename T>
inline Mutation LmdbStore::MakeMutation(std::function<Result<T>(WriteOps&)> apply,
                                        Callback<T> done) {
  auto out = std::make_shared<std::optional<Result<T>>>();
  Mutation m;
  m.apply = [out, apply = std::move(apply)](WriteOps& ops) -> Status {
    out->reset();
    auto r = apply(ops);
    Status s = r.status();
    out->emplace(std::move(r));
    return s;
  };
  m.complete = [out, done = std::move(done)](Status s) {
    if (!done) return;
    if (!s.ok() || !out->has_value()) {
      done(s.ok() ? Status::Internal("mutation produced no result") : s);
      return;
    }
    done(std::move(**out));
  };
  return m;
}

}  // namespace pillarbox::storage::lmdb
