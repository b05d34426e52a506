// LmdbStore: environment, writer thread, read views, change bus, auth pool,
// owner-thread state and the consistency check. Mutations are in
// mutations.cpp.
#include "storage/lmdb/lmdb_store.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "common/log.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "storage/lmdb/consistency.h"
#include "storage/lmdb/env.h"

namespace pillarbox::storage {

using lmdb::LmdbStore;

BlobId BlobIdOf(std::string_view stored_bytes) { return lmdb::Sha256(stored_bytes); }

Result<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
  if (!options.post) return Status::InvalidArgument("StoreOptions::post is required");
  auto store = std::make_unique<LmdbStore>(std::move(options));
  Status s = store->Init();
  if (!s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace pillarbox::storage

namespace pillarbox::storage::lmdb {
namespace {

// How long the writer waits for this process's read views to end before it
// gives up growing the map (views are meant to live for one command).
constexpr auto kGrowWait = std::chrono::seconds(10);
// Threads that prepare appended messages for the writer: two, so that a
// large message being analyzed leaves one for everybody else's.
constexpr int kPrepareThreads = 2;
// The map never starts below this (LMDB needs a few pages per database).
constexpr std::size_t kMinMapSize = 1u << 20;

bool PidAlive(std::uint64_t pid) {
  if (pid == 0 || pid > static_cast<std::uint64_t>(INT32_MAX)) return false;
  if (kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno == EPERM;
}

// Read views open on this thread (AssertNoOpenView).
thread_local int tl_open_views = 0;

// A read-only transaction plus the shared hold on map_mu_.
class LmdbReadView final : public ReadView {
 public:
  LmdbReadView(std::shared_lock<std::shared_timed_mutex> lock, MDB_txn* txn, const Dbis* db)
      : lock_(std::move(lock)), ops_(txn, db) {
    ++tl_open_views;
  }
  ~LmdbReadView() override {
    // A read-only transaction does not free its cursors.
    if (sort_keys_cursor_ != nullptr) mdb_cursor_close(sort_keys_cursor_);
    if (ops_.txn() != nullptr) mdb_txn_abort(ops_.txn());
    --tl_open_views;
  }

  Result<UserRecord> FindUser(std::string_view name) override {
    if (!ok()) return Broken();
    auto id = ops_.FindUserId(name);
    if (!id.ok()) return id.status();
    return ops_.LoadUser(*id);
  }
  Result<UserRecord> GetUser(UserId id) override {
    if (!ok()) return Broken();
    return ops_.LoadUser(id);
  }
  std::vector<UserRecord> ListUsers() override {
    std::vector<UserRecord> out;
    if (!ok()) return out;
    (void)ops_.Scan(ops_.db().users, {}, [&](std::string_view k, std::string_view v) {
      UserRecord u;
      if (k.size() == 8 && DecodeUser(v, &u)) {
        u.id = GetBigEndian64(k.data());
        out.push_back(std::move(u));
      }
      return true;
    });
    return out;
  }

  Result<MailboxRecord> FindMailbox(UserId user, std::string_view name) override {
    if (!ok()) return Broken();
    auto norm = NormalizeMailboxName(name);
    if (!norm.ok()) return Status::NotFound("no such mailbox");
    auto id = ops_.FindMailboxId(user, *norm);
    if (!id.ok()) return id.status();
    return GetMailbox(*id);
  }
  Result<MailboxRecord> GetMailbox(MailboxId id) override {
    if (!ok()) return Broken();
    auto row = ops_.LoadMailbox(id);
    if (!row.ok()) return row.status();
    return std::move(row->rec);
  }
  std::vector<MailboxRecord> ListMailboxes(UserId user) override {
    std::vector<MailboxRecord> out;
    if (!ok()) return out;
    auto rows = ops_.UserMailboxes(user);
    if (!rows.ok()) return out;
    for (auto& r : *rows) out.push_back(std::move(r.rec));
    std::sort(out.begin(), out.end(),
              [](const MailboxRecord& a, const MailboxRecord& b) { return a.name < b.name; });
    return out;
  }
  std::vector<std::string> ListSubscriptions(UserId user) override {
    std::vector<std::string> out;
    if (!ok()) return out;
    (void)ops_.Scan(ops_.db().subscriptions, U64Key(user),
                    [&](std::string_view, std::string_view v) {
                      out.emplace_back(v);
                      return true;
                    });
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<MessageRecord> ListMessages(MailboxId mailbox) override {
    if (!ok()) return {};
    auto msgs = ops_.MailboxMessages(mailbox);
    if (!msgs.ok()) return {};
    return std::move(*msgs);
  }
  std::vector<MessageRecord> ListMessagesNewestFirst(MailboxId mailbox, Uid below, std::size_t skip,
                                                     std::size_t limit) override {
    if (!ok()) return {};
    auto msgs = ops_.MailboxMessagesNewestFirst(mailbox, below, skip, limit);
    if (!msgs.ok()) return {};
    return std::move(*msgs);
  }
  Result<MessageRecord> GetMessage(MailboxId mailbox, Uid uid) override {
    if (!ok()) return Broken();
    return ops_.LoadMessage(mailbox, uid);
  }
  Result<std::string_view> Blob(const BlobId& blob) override {
    if (!ok()) return Broken();
    auto v = ops_.Get(ops_.db().blobs, BlobKey(blob));
    if (!v.ok() && v.status().code() == Code::kNotFound) return Status::NotFound("no such blob");
    return v;
  }
  Result<std::string_view> Structure(const BlobId& blob) override {
    if (!ok()) return Broken();
    auto v = ops_.Get(ops_.db().structure, BlobKey(blob));
    if (!v.ok()) {
      if (v.status().code() == Code::kNotFound) return Status::NotFound("no structure");
      return v.status();
    }
    std::string_view subject, structure;
    if (!DecodeStructure(*v, &subject, &structure)) return Status::Corruption("bad structure");
    return structure;
  }
  Result<std::string_view> SortKeys(const BlobId& blob) override {
    if (!ok()) return Broken();
    // One cursor for the view: SORT looks keys up in blob order, and a
    // positioned cursor searches its current leaf page before descending
    // from the root again.
    if (sort_keys_cursor_ == nullptr) {
      int rc = mdb_cursor_open(ops_.txn(), ops_.db().sort_keys, &sort_keys_cursor_);
      if (rc != MDB_SUCCESS) {
        sort_keys_cursor_ = nullptr;
        return MdbStatus(rc, "cursor open");
      }
    }
    std::string_view key = BlobKey(blob);
    MDB_val k{key.size(), const_cast<char*>(key.data())}, v;
    int rc = mdb_cursor_get(sort_keys_cursor_, &k, &v, MDB_SET_KEY);
    if (rc == MDB_NOTFOUND) return Status::NotFound("no sort keys");
    if (rc != MDB_SUCCESS) return MdbStatus(rc, "get");
    return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
  }
  std::vector<Change> ChangesSince(MailboxId mailbox, ModSeq after) override {
    std::vector<Change> out;
    if (!ok()) return out;
    std::string start = ChangeKey(mailbox, after + 1);
    if (after == ~ModSeq{0}) return out;
    (void)ops_.Scan(
        ops_.db().changes, U64Key(mailbox),
        [&](std::string_view k, std::string_view v) {
          Change c;
          if (k.size() == 16 && DecodeChange(v, &c)) {
            c.modseq = GetBigEndian64(k.data() + 8);
            out.push_back(c);
          }
          return true;
        },
        start);
    return out;
  }

  std::vector<JournalEvent> Journal(UserId user, UnixTime since, std::size_t max_events) override {
    std::vector<JournalEvent> out;
    if (!ok() || max_events == 0) return out;
    // Newest first from the end, then reversed: bounded work for a bounded
    // answer.
    (void)ops_.ScanBackward(ops_.db().journal, U64Key(user),
                            [&](std::string_view k, std::string_view v) {
                              if (k.size() != 24) return true;
                              UnixTime t = GetOrderedInt64(k.data() + 8);
                              if (t < since) return false;
                              JournalEvent ev;
                              if (DecodeJournal(v, &ev)) {
                                ev.time = t;
                                ev.seq = GetBigEndian64(k.data() + 16);
                                out.push_back(std::move(ev));
                              }
                              return out.size() < max_events;
                            });
    std::reverse(out.begin(), out.end());
    return out;
  }

  std::vector<LiveSession> LiveSessions(UserId user) override {
    std::vector<LiveSession> out;
    if (!ok()) return out;
    (void)ops_.Scan(ops_.db().live_sessions, {}, [&](std::string_view k, std::string_view v) {
      LiveSession s;
      if (k.size() != 16 || !DecodeLiveSession(v, &s)) return true;
      s.pid = GetBigEndian64(k.data());
      s.id = GetBigEndian64(k.data() + 8);
      // Rows of a process that died without unregistering are stale.
      if (!PidAlive(s.pid)) return true;
      if (user == 0 || s.user == user) out.push_back(std::move(s));
      return true;
    });
    return out;
  }

  TxnOps& ops() { return ops_; }
  bool ok() const { return ops_.txn() != nullptr; }

 private:
  static Status Broken() { return Status::IOError("read transaction unavailable"); }
  std::shared_lock<std::shared_timed_mutex> lock_;
  TxnOps ops_;
  MDB_cursor* sort_keys_cursor_ = nullptr;  // opened by the first SortKeys()
};

}  // namespace

void ChangeBus::Publish(MailboxId mailbox) {
  auto it = by_mailbox.find(mailbox);
  if (it == by_mailbox.end()) return;
  // Listeners may subscribe or unsubscribe while we call them.
  std::vector<std::uint64_t> ids;
  for (const auto& [id, fn] : it->second) ids.push_back(id);
  for (std::uint64_t id : ids) {
    auto mit = by_mailbox.find(mailbox);
    if (mit == by_mailbox.end()) return;
    auto lit = mit->second.find(id);
    if (lit == mit->second.end()) continue;
    Store::Listener fn = lit->second;
    fn(mailbox);
  }
}

void ChangeBus::PublishUser(UserId user, MailboxId mailbox) {
  auto it = by_user.find(user);
  if (it == by_user.end()) return;
  // Listeners may subscribe or unsubscribe while we call them.
  std::vector<std::uint64_t> ids;
  for (const auto& [id, fn] : it->second) ids.push_back(id);
  for (std::uint64_t id : ids) {
    auto uit = by_user.find(user);
    if (uit == by_user.end()) return;
    auto lit = uit->second.find(id);
    if (lit == uit->second.end()) continue;
    Store::Listener fn = lit->second;
    fn(mailbox);
  }
}

void ChangeBus::PublishUserDeleted(UserId user) {
  auto it = user_watches.find(user);
  if (it == user_watches.end()) return;
  // Listeners may unsubscribe (or watch again) while we call them.
  std::map<std::uint64_t, Store::UserListener> listeners = std::move(it->second);
  user_watches.erase(it);
  for (const auto& [id, fn] : listeners) watch_user.erase(id);
  for (auto& [id, fn] : listeners) fn(user);
}

LmdbStore::LmdbStore(StoreOptions options) : options_(std::move(options)) {}

LmdbStore::~LmdbStore() {
  // Preparations first: each one still queued is finished and handed to the
  // writer, which then drains.
  {
    MutexLock lock(prep_mu_);
    prep_stop_ = true;
  }
  prep_cv_.notify_all();
  for (auto& t : prep_threads_) t.join();
  {
    MutexLock lock(queue_mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (auth_queue_) auth_queue_->Stop();
  for (auto& t : auth_threads_) t.join();
  if (env_ != nullptr) mdb_env_close(env_);
}

Status LmdbStore::Init() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) return Status::IOError("cannot create " + options_.dir + ": " + ec.message());
  int rc = mdb_env_create(&env_);
  if (rc != MDB_SUCCESS) return MdbStatus(rc, "mdb_env_create");
  mdb_env_set_maxdbs(env_, kMaxDbs);
  mdb_env_set_maxreaders(env_, kMaxReaders);
  std::size_t map = std::max(options_.initial_map_size, kMinMapSize);
  mdb_env_set_mapsize(env_, map);
  rc = mdb_env_open(env_, options_.dir.c_str(), MDB_NOTLS, 0600);
  if (rc != MDB_SUCCESS) {
    mdb_env_close(env_);
    env_ = nullptr;
    return MdbStatus(rc, "opening the store in " + options_.dir);
  }
  int dead = 0;
  mdb_reader_check(env_, &dead);

  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc == MDB_MAP_RESIZED) {
    mdb_env_set_mapsize(env_, 0);
    rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  }
  if (rc != MDB_SUCCESS) return MdbStatus(rc, "begin open transaction");
  if (Status s = OpenDbis(txn, /*create=*/true, &dbis_); !s.ok()) {
    mdb_txn_abort(txn);
    return s;
  }
  WriteOps ops(txn, &dbis_, &options_);
  Status s = [&]() -> Status {
    auto version = ops.Get(dbis_.meta, "format_version");
    if (version.ok()) {
      if (version->size() != 4) return Status::Corruption("bad format_version in the store");
      std::uint32_t v = GetBigEndian32(version->data());
      if (v > kFormatVersion) {
        return Status::Corruption("the store in " + options_.dir + " has format version " +
                                  std::to_string(v) + ", newer than this Pillarbox supports (" +
                                  std::to_string(kFormatVersion) +
                                  "); run a newer Pillarbox or restore a backup");
      }
      if (v < kOldestFormatVersion) {
        return Status::Corruption("the store in " + options_.dir + " has unknown format version " +
                                  std::to_string(v));
      }
      if (v < kFormatVersion) {
        // Version 1 -> 2 only added optional fields: the mark is all that
        // changes (older builds then refuse the store instead of misreading
        // a record with the new field).
        std::string mark;
        PutBigEndian32(mark, kFormatVersion);
        PB_RETURN_IF_ERROR(ops.Put(dbis_.meta, "format_version", mark));
      }
    } else if (version.status().code() == Code::kNotFound) {
      auto users = ops.Counter("next_user_id");
      if (!users.ok()) return users.status();
      if (*users != 0) return Status::Corruption("store has data but no format_version");
      std::string v;
      PutBigEndian32(v, kFormatVersion);
      PB_RETURN_IF_ERROR(ops.Put(dbis_.meta, "format_version", v));
    } else {
      return version.status();
    }
    // Live-session rows of processes that are gone (or of an earlier
    // process that had our pid) are stale.
    std::vector<std::string> stale;
    std::uint64_t self = static_cast<std::uint64_t>(getpid());
    PB_RETURN_IF_ERROR(ops.Scan(dbis_.live_sessions, {}, [&](std::string_view k, std::string_view) {
      std::uint64_t pid = k.size() == 16 ? GetBigEndian64(k.data()) : 0;
      if (pid == self || !PidAlive(pid)) stale.emplace_back(k);
      return true;
    }));
    for (const auto& k : stale) PB_RETURN_IF_ERROR(ops.Del(dbis_.live_sessions, k));
    // Each opening of the store gets its own block of session ids, so that
    // ids in the journal and logs are unique for the life of the store.
    auto opening = ops.NextCounter("store_openings");
    if (!opening.ok()) return opening.status();
    session_id_base_ = *opening * kSessionIdsPerOpening;
    return Status::Ok();
  }();
  if (!s.ok()) {
    mdb_txn_abort(txn);
    return s;
  }
  rc = mdb_txn_commit(txn);
  if (rc != MDB_SUCCESS) return MdbStatus(rc, "commit open transaction");

  MDB_envinfo info;
  mdb_env_info(env_, &info);
  own_txnid_ = info.me_last_txnid;
  polled_txnid_ = info.me_last_txnid;

  writer_ = std::thread([this] { WriterLoop(); });
  for (int i = 0; i < kPrepareThreads; ++i) prep_threads_.emplace_back([this] { PrepareLoop(); });
  int n = options_.auth_threads;
  if (n <= 0) n = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  auth_queue_ =
      std::make_unique<FairQueue>(std::max<std::size_t>(1, options_.auth_jobs_per_client));
  for (int i = 0; i < n; ++i) auth_threads_.emplace_back([this] { AuthLoop(); });
  return Status::Ok();
}

std::unique_ptr<ReadView> LmdbStore::Read() {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::shared_lock lock(map_mu_);
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc == MDB_SUCCESS) return std::make_unique<LmdbReadView>(std::move(lock), txn, &dbis_);
    if (rc != MDB_MAP_RESIZED) break;
    lock.unlock();
    // Non-blocking: this thread may itself hold another view.
    if (!AdoptMapSize(false).ok()) break;
  }
  LOG_ERROR("store: cannot open a read transaction in {}", options_.dir);
  return std::make_unique<LmdbReadView>(std::shared_lock<std::shared_timed_mutex>(), nullptr,
                                        &dbis_);
}

Status LmdbStore::AdoptMapSize(bool blocking) {
  // The writer may wait for this process's read views to end; a reader
  // must not wait long (its own thread may hold another view).
  std::unique_lock lock(map_mu_, std::defer_lock);
  auto wait = blocking ? std::chrono::duration_cast<std::chrono::milliseconds>(kGrowWait)
                       : std::chrono::milliseconds(100);
  if (!lock.try_lock_for(wait)) {
    return Status::InUse("read views active; cannot adopt the new map size now");
  }
  return MdbStatus(mdb_env_set_mapsize(env_, 0), "adopting the map size");
}

Status LmdbStore::GrowMap() {
  AssertNoOpenView("GrowMap");
  std::unique_lock lock(map_mu_, std::defer_lock);
  if (!lock.try_lock_for(kGrowWait)) {
    return Status::IOError("store map is full and read views did not end; cannot grow");
  }
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  std::size_t next = info.me_mapsize * 2;
  LOG_INFO("store: growing the map of {} to {} MiB", options_.dir, next >> 20);
  return MdbStatus(mdb_env_set_mapsize(env_, next), "growing the map");
}

// --- writer ------------------------------------------------------------------

void LmdbStore::Enqueue(Mutation m) {
  AssertOwnerThread();
  {
    MutexLock lock(queue_mu_);
    queue_.push_back(std::move(m));
    ++submitted_;
  }
  queue_cv_.notify_one();
}

void LmdbStore::EnqueuePrepared(std::uint64_t lane, Mutation m, std::function<void()> prepare) {
  AssertOwnerThread();
  auto pending = std::make_shared<Pending>();
  pending->m = std::move(m);
  {
    MutexLock lock(queue_mu_);
    lanes_[lane].push_back(pending);
    ++submitted_;  // Flush() waits for it from now on
  }
  auto job = [this, lane, pending, prepare = std::move(prepare)] {
    prepare();
    {
      MutexLock lock(queue_mu_);
      pending->ready = true;
      auto it = lanes_.find(lane);
      auto& q = it->second;
      // Only the ready front moves: a later mutation of the lane never
      // passes an earlier one still being prepared.
      while (!q.empty() && q.front()->ready) {
        queue_.push_back(std::move(q.front()->m));
        q.pop_front();
      }
      if (q.empty()) lanes_.erase(it);
    }
    queue_cv_.notify_one();
  };
  {
    MutexLock lock(prep_mu_);
    prep_jobs_.push_back(std::move(job));
  }
  prep_cv_.notify_one();
}

void LmdbStore::PrepareLoop() {
  for (;;) {
    std::function<void()> job;
    {
      MutexLock lock(prep_mu_);
      while (!prep_stop_ && prep_jobs_.empty()) lock.Wait(prep_cv_);
      if (prep_jobs_.empty()) return;  // stopped and drained
      job = std::move(prep_jobs_.front());
      prep_jobs_.pop_front();
    }
    job();
  }
}

void LmdbStore::SubmitStatus(std::function<Status(WriteOps&)> apply, StatusCallback done) {
  Mutation m;
  m.apply = std::move(apply);
  m.complete = [done = std::move(done)](Status s) {
    if (done) done(std::move(s));
  };
  Enqueue(std::move(m));
}

void LmdbStore::WriterLoop() {
  for (;;) {
    std::vector<Mutation> batch;
    {
      MutexLock lock(queue_mu_);
      while (!stop_ && queue_.empty()) lock.Wait(queue_cv_);
      if (queue_.empty()) return;  // stop_ and drained
      batch.swap(queue_);
    }
    const std::size_t count = batch.size();
    RunBatch(batch);
    // The mutations (and what they hold, such as a spill file) are released
    // before Flush() can return for them.
    batch.clear();
    {
      MutexLock lock(queue_mu_);
      finished_ += count;
    }
    flushed_cv_.notify_all();
  }
}

void LmdbStore::RunBatch(std::vector<Mutation>& batch) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<Status> results(batch.size());
  std::vector<std::pair<MailboxId, ModSeq>> published;
  // For SubscribeUser(): the user of each touched mailbox still there, and
  // the users whose mailbox list or subscriptions changed.
  std::vector<std::pair<UserId, MailboxId>> published_users;
  std::set<UserId> listed_users;
  Status batch_status;
  enum class Outcome { kDone, kGrow, kResized };
  for (int attempt = 0;; ++attempt) {
    published.clear();
    published_users.clear();
    listed_users.clear();
    batch_status = Status::Ok();
    Outcome outcome = [&]() -> Outcome {
      std::shared_lock lock(map_mu_);
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
      if (rc == MDB_MAP_RESIZED) return Outcome::kResized;
      if (rc != MDB_SUCCESS) {
        batch_status = MdbStatus(rc, "begin write transaction");
        return Outcome::kDone;
      }
      std::uint64_t id = mdb_txn_id(txn);
      std::set<MailboxId> touched;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        MDB_txn* child = nullptr;
        rc = mdb_txn_begin(env_, txn, 0, &child);
        if (rc != MDB_SUCCESS) {
          results[i] = MdbStatus(rc, "begin nested transaction");
          continue;
        }
        WriteOps ops(child, &dbis_, &options_);
        Status s = batch[i].apply(ops);
        if (ops.map_full()) {
          mdb_txn_abort(child);
          mdb_txn_abort(txn);
          return Outcome::kGrow;
        }
        if (s.ok()) {
          rc = mdb_txn_commit(child);
          if (rc == MDB_MAP_FULL) {
            mdb_txn_abort(txn);
            return Outcome::kGrow;
          }
          s = MdbStatus(rc, "commit nested transaction");
          if (s.ok()) {
            touched.insert(ops.touched().begin(), ops.touched().end());
            listed_users.insert(ops.touched_users().begin(), ops.touched_users().end());
          }
        } else {
          mdb_txn_abort(child);
        }
        results[i] = std::move(s);
      }
      // The highest modseq of each touched mailbox as committed, for the
      // change bus (external-change detection compares against it).
      TxnOps reader(txn, &dbis_);
      for (MailboxId mb : touched) {
        auto row = reader.LoadMailbox(mb);
        published.emplace_back(mb, row.ok() ? row->rec.highest_modseq : 0);
        if (row.ok()) published_users.emplace_back(row->rec.user, mb);
      }
      // A commit frees the transaction whether it succeeds or not.
      rc = mdb_txn_commit(txn);
      if (rc == MDB_MAP_FULL) return Outcome::kGrow;
      if (rc != MDB_SUCCESS) {
        batch_status = MdbStatus(rc, "commit");
        return Outcome::kDone;
      }
      std::uint64_t prev = own_txnid_.exchange(id);
      if (prev + 1 != id) external_seen_ = true;
      return Outcome::kDone;
    }();
    if (outcome == Outcome::kDone) break;
    Status s = outcome == Outcome::kGrow ? GrowMap() : AdoptMapSize(true);
    if (!s.ok() || attempt > 64) {
      batch_status = s.ok() ? Status::IOError("store map cannot grow") : s;
      break;
    }
  }
  if (batch_status.ok()) {
    // Group commit, seen from outside (GET /metrics).
    static auto& commits =
        Metrics::Global().Counter("store_commits_total", "", "Write transactions committed");
    static auto& latency = Metrics::Global().Hist(
        "store_commit_seconds", "", "Time from taking a batch to its durable commit",
        {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
    static auto& group =
        Metrics::Global().Hist("store_commit_group_size", "", "Mutations per write transaction",
                               {1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
    commits.fetch_add(1, std::memory_order_relaxed);
    latency.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    group.Observe(static_cast<double>(batch.size()));
  }
  if (!batch_status.ok()) {
    LOG_ERROR("store: a batch of {} mutations failed: {}", batch.size(), batch_status.ToString());
    for (auto& r : results) r = batch_status;
    published.clear();
    published_users.clear();
    listed_users.clear();
  }
  std::vector<std::function<void(Status)>> completions;
  completions.reserve(batch.size());
  for (auto& m : batch) completions.push_back(std::move(m.complete));
  // Completions first, then the change bus: a session sees its own result
  // before the notifications it caused.
  options_.post([completions = std::move(completions), results = std::move(results),
                 published = std::move(published), published_users = std::move(published_users),
                 listed_users = std::move(listed_users), bus = bus_]() mutable {
    for (std::size_t i = 0; i < completions.size(); ++i) {
      if (completions[i]) completions[i](std::move(results[i]));
    }
    for (const auto& [mb, modseq] : published) {
      if (bus->by_mailbox.count(mb)) bus->known[mb] = modseq;
      bus->Publish(mb);
    }
    if (bus->by_user.empty()) return;
    // One call per user and commit: the mailbox when it is the only one
    // touched, else 0 (a rename of a parent moves its children in one go).
    std::map<UserId, MailboxId> per_user;
    for (UserId user : listed_users) per_user[user] = 0;
    for (const auto& [user, mb] : published_users) {
      auto [it, added] = per_user.emplace(user, mb);
      if (!added && it->second != mb) it->second = 0;
    }
    for (const auto& [user, mb] : per_user) bus->PublishUser(user, mb);
  });
}

void LmdbStore::Flush() {
  AssertOwnerThread();
  // The writer may have to grow the map, which waits for this thread's
  // views: one held here would wait forever (CONTRIBUTING.md, rule 3).
  AssertNoOpenView("Flush");
  MutexLock lock(queue_mu_);
  std::uint64_t target = submitted_;
  while (finished_ < target) lock.Wait(flushed_cv_);
}

// --- auth --------------------------------------------------------------------

// Nice of the password-hashing threads above the process's own.
constexpr int kAuthThreadNice = 10;

void LmdbStore::AuthLoop() {
  // Below the loop thread: a login spray keeps these threads busy, and the
  // loop must still answer everyone else at once (Linux: nice is per thread).
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  if (errno == 0) {
    (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()),
                      std::min(19, nice + kAuthThreadNice));
  }
  // Ready before the first unknown user, so that it costs one hash too.
  (void)DummyPasswordHash();
  while (auth_queue_->RunOne()) {
  }
}

void LmdbStore::Authenticate(std::string name, std::string password, std::string client,
                             Callback<UserRecord> done) {
  std::optional<UserRecord> user;
  {
    auto view = Read();
    auto found = view->FindUser(name);
    if (found.ok()) user = std::move(*found);
  }
  auto shared_done = std::make_shared<Callback<UserRecord>>(std::move(done));
  if (!user && options_.create_users_on_login && !password.empty()) {
    // [dev] auto_create_users: the unknown user comes to be with this
    // password. Hashed on the password threads; created on the writer.
    auto job = [this, name = std::move(name), password = std::move(password), client,
                done = shared_done, post = options_.post]() mutable {
      auto hash = HashPassword(password);
      std::fill(password.begin(), password.end(), '\0');
      post([this, name = std::move(name), hash = std::move(hash), client = std::move(client),
            done = std::move(done)]() mutable {
        if (!hash.ok()) return (*done)(Status::NoPermission(std::string(kAuthUnknownUser)));
        CreateUser(name, std::move(*hash), [name, done](Result<UserRecord> created) {
          if (created.ok()) {
            LOG_WARN("store: created user {} at its first login (dev.auto_create_users)", name);
            return (*done)(std::move(created));
          }
          // Created by another login meanwhile: this one must
          // still prove the password; a client retries.
          (*done)(Status::NoPermission(std::string(kAuthUnknownUser)));
        });
      });
    };
    if (!auth_queue_->Push(AuthClientKey(client), std::move(job))) {
      options_.post([done = shared_done] {
        (*done)(Status::NoPermission("too many checks pending from this address"));
      });
    }
    return;
  }
  auto job = [user = std::move(user), password = std::move(password), done = shared_done,
              post = options_.post, verify = options_.verify_password]() mutable {
    auto check = [&](std::string_view hash) {
      return verify ? verify(password, hash) : VerifyPassword(password, hash);
    };
    bool ok = false;
    const bool known = user.has_value();
    if (user && IsSupportedHash(user->password_hash)) {
      ok = check(user->password_hash);
    } else {
      // Spend the same time on unknown users (and unusable hashes) as on
      // known ones.
      (void)check(DummyPasswordHash());
    }
    std::fill(password.begin(), password.end(), '\0');
    post([ok, known, user = std::move(user), done = std::move(done)]() mutable {
      if (ok) {
        (*done)(std::move(*user));
      } else {
        // One code either way; the message is for the log (store.h).
        (*done)(Status::NoPermission(std::string(known ? kAuthWrongPassword : kAuthUnknownUser)));
      }
    });
  };
  if (!auth_queue_->Push(AuthClientKey(client), std::move(job))) {
    // Too many checks pending from this client: fail without hashing.
    options_.post([done = shared_done] {
      (*done)(Status::NoPermission("too many checks pending from this address"));
    });
  }
}

void LmdbStore::HashPasswordAsync(std::string password, Callback<std::string> done) {
  auto shared_done = std::make_shared<Callback<std::string>>(std::move(done));
  auto job = [password = std::move(password), done = shared_done, post = options_.post]() mutable {
    auto hash = HashPassword(password);
    std::fill(password.begin(), password.end(), '\0');
    post([hash = std::move(hash), done = std::move(done)]() mutable { (*done)(std::move(hash)); });
  };
  // Queued as one more client of the pool, so that logins go on meanwhile.
  if (!auth_queue_->Push("(hash)", std::move(job))) {
    options_.post(
        [done = shared_done] { (*done)(Status::InUse("too many password hashings pending")); });
  }
}

// --- owner-thread state ------------------------------------------------------

void LmdbStore::AssertOwnerThread() {
#ifndef NDEBUG
  std::thread::id me = std::this_thread::get_id();
  std::thread::id expected{};
  if (!owner_.compare_exchange_strong(expected, me) && expected != me) {
    LOG_ERROR("store: an owner-thread method was called from another thread");
    std::fputs("store: an owner-thread method was called from another thread\n", stderr);
    std::abort();
  }
#endif
}

void LmdbStore::AssertNoOpenView(const char* where) {
#ifndef NDEBUG
  if (tl_open_views != 0) {
    LOG_ERROR("store: {} with {} read view(s) open on this thread", where, tl_open_views);
    std::fprintf(stderr, "store: %s with %d read view(s) open on this thread\n", where,
                 tl_open_views);
    std::abort();
  }
#else
  (void)where;
#endif
}

Uid LmdbStore::ClaimRecent(MailboxId mailbox, Uid uidnext) {
  AssertOwnerThread();
  AssertNoOpenView("ClaimRecent");
  auto it = recent_.find(mailbox);
  if (it == recent_.end()) {
    Uid first = 1;
    auto view = Read();
    auto* lv = static_cast<LmdbReadView*>(view.get());
    if (lv->ok()) {
      auto row = lv->ops().LoadMailbox(mailbox);
      if (row.ok()) first = std::max<Uid>(1, row->first_recent);
    }
    it = recent_.emplace(mailbox, first).first;
  }
  Uid result = it->second;
  if (uidnext > it->second) {
    it->second = uidnext;
    // Remember across restarts; nobody waits for it.
    SubmitStatus(
        [mailbox, uidnext](WriteOps& ops) -> Status {
          auto row = ops.LoadMailbox(mailbox);
          if (!row.ok()) return row.status();
          if (row->first_recent >= uidnext) return Status::Ok();
          row->first_recent = uidnext;
          return ops.SaveMailbox(*row);
        },
        nullptr);
  }
  return result;
}

bool LmdbStore::TryLockPop3(UserId user, std::uint64_t session) {
  AssertOwnerThread();
  auto [it, inserted] = pop3_locks_.emplace(user, session);
  return inserted || it->second == session;
}

void LmdbStore::UnlockPop3(UserId user, std::uint64_t session) {
  AssertOwnerThread();
  auto it = pop3_locks_.find(user);
  if (it != pop3_locks_.end() && it->second == session) pop3_locks_.erase(it);
}

std::uint64_t LmdbStore::Subscribe(MailboxId mailbox, Listener listener) {
  AssertOwnerThread();
  std::uint64_t id = bus_->next_id++;
  if (!bus_->known.count(mailbox)) {
    auto view = Read();
    auto mb = view->GetMailbox(mailbox);
    bus_->known[mailbox] = mb.ok() ? mb->highest_modseq : 0;
  }
  bus_->by_mailbox[mailbox].emplace(id, std::move(listener));
  bus_->by_id[id] = mailbox;
  return id;
}

std::uint64_t LmdbStore::WatchUser(UserId user, UserListener listener) {
  AssertOwnerThread();
  std::uint64_t id = bus_->next_id++;
  bus_->user_watches[user].emplace(id, std::move(listener));
  bus_->watch_user[id] = user;
  return id;
}

std::uint64_t LmdbStore::SubscribeUser(UserId user, Listener listener) {
  AssertOwnerThread();
  std::uint64_t id = bus_->next_id++;
  bus_->by_user[user].emplace(id, std::move(listener));
  bus_->user_sub[id] = user;
  return id;
}

void LmdbStore::Unsubscribe(std::uint64_t subscription) {
  AssertOwnerThread();
  if (auto u = bus_->user_sub.find(subscription); u != bus_->user_sub.end()) {
    auto uit = bus_->by_user.find(u->second);
    bus_->user_sub.erase(u);
    if (uit != bus_->by_user.end()) {
      uit->second.erase(subscription);
      if (uit->second.empty()) bus_->by_user.erase(uit);
    }
    return;
  }
  if (auto w = bus_->watch_user.find(subscription); w != bus_->watch_user.end()) {
    auto uit = bus_->user_watches.find(w->second);
    bus_->watch_user.erase(w);
    if (uit != bus_->user_watches.end()) {
      uit->second.erase(subscription);
      if (uit->second.empty()) bus_->user_watches.erase(uit);
    }
    return;
  }
  auto it = bus_->by_id.find(subscription);
  if (it == bus_->by_id.end()) return;
  MailboxId mb = it->second;
  bus_->by_id.erase(it);
  auto mit = bus_->by_mailbox.find(mb);
  if (mit == bus_->by_mailbox.end()) return;
  mit->second.erase(subscription);
  if (mit->second.empty()) {
    bus_->by_mailbox.erase(mit);
    bus_->known.erase(mb);
  }
}

void LmdbStore::PollExternalChanges() {
  AssertOwnerThread();
  std::vector<UserId> deleted;
  std::vector<MailboxId> changed;
  {
    // The txn id and the mailboxes come from one read transaction. The meta
    // page (mdb_env_info) may already name another process's commit while a
    // read transaction begun at that moment still gets the snapshot before
    // it (the committer publishes the id to readers only after its meta
    // write is synced); taking the id from the meta page and the changes from
    // a later snapshot could so mark a commit as seen that was never read.
    auto view = Read();
    auto* lv = static_cast<LmdbReadView*>(view.get());
    if (!lv->ok()) return;
    std::uint64_t last = mdb_txn_id(lv->ops().txn());
    bool external = external_seen_.exchange(false);
    std::uint64_t known = std::max(polled_txnid_, own_txnid_.load());
    if (!external && last == known) return;
    polled_txnid_ = last;
    if (bus_->by_mailbox.empty() && bus_->user_watches.empty() && bus_->by_user.empty()) return;
    // A user deleted by another process (`pillarbox user del`).
    for (const auto& [user, watchers] : bus_->user_watches) {
      auto u = view->GetUser(user);
      if (!u.ok() && u.status().code() == Code::kNotFound) deleted.push_back(user);
    }
    for (const auto& [mb, subs] : bus_->by_mailbox) {
      auto rec = view->GetMailbox(mb);
      ModSeq now = rec.ok() ? rec->highest_modseq : 0;
      auto& seen = bus_->known[mb];
      if (now != seen) {
        seen = now;
        changed.push_back(mb);
      }
    }
  }
  // Listeners read the store themselves: the view above is gone by now
  // (one read transaction per thread at a time).
  for (UserId user : deleted) bus_->PublishUserDeleted(user);
  for (MailboxId mb : changed) bus_->Publish(mb);
  // Which mailboxes another process changed is not known here: the users'
  // listeners look again at all of them.
  std::vector<UserId> users;
  for (const auto& [user, subs] : bus_->by_user) users.push_back(user);
  for (UserId user : users) bus_->PublishUser(user, 0);
}

void LmdbStore::RegisterLiveSession(ReadView::LiveSession session) {
  AssertOwnerThread();
  session.pid = static_cast<std::uint64_t>(getpid());
  if (session.client_id.size() > kMaxLiveClientIdBytes) {
    // Cut at a character boundary: the id is shown as UTF-8 text.
    std::size_t n = kMaxLiveClientIdBytes;
    while (n > 0 && (static_cast<unsigned char>(session.client_id[n]) & 0xc0) == 0x80) --n;
    session.client_id.resize(n);
  }
  SubmitStatus(
      [session = std::move(session)](WriteOps& ops) {
        return ops.Put(ops.db().live_sessions, LiveSessionKey(session.pid, session.id),
                       EncodeLiveSession(session));
      },
      nullptr);
}

void LmdbStore::UnregisterLiveSession(std::uint64_t id) {
  AssertOwnerThread();
  std::uint64_t pid = static_cast<std::uint64_t>(getpid());
  SubmitStatus(
      [pid, id](WriteOps& ops) { return ops.Del(ops.db().live_sessions, LiveSessionKey(pid, id)); },
      nullptr);
}

// --- consistency -------------------------------------------------------------

Status LmdbStore::CheckConsistency() {
  auto view_base = Read();
  auto* view = static_cast<LmdbReadView*>(view_base.get());
  if (!view->ok()) return Status::IOError("cannot open a read transaction");
  ConsistencyReport report;
  CheckInvariants(view->ops(), &report);
  if (report.ok()) return Status::Ok();
  std::string text = std::to_string(report.problem_count()) + " problem(s): ";
  for (std::size_t i = 0; i < report.problems.size(); ++i) {
    if (i > 0) text += "; ";
    text += report.problems[i];
  }
  return Status::Corruption(std::move(text));
}

}  // namespace pillarbox::storage::lmdb
