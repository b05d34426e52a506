// Shared pieces of the session fuzz targets: a store opened once per
// process, a Store wrapper that knows when every submitted operation has
// completed, an output sink that checks the SessionOutput contract, and a
// driver that feeds a session its input in fuzzer-chosen pieces, running
// store completions, timers, drains and STARTTLS between the pieces.
//
// Threads: everything here runs on the fuzzer's thread, which plays the
// loop thread; the store's writer and password threads post their
// completions to a ManualExecutor that only this thread runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/session.h"
#include "storage/store.h"
#include "tests/support/test_support.h"

namespace pillarbox::fuzz {

// Aborts (a finding for libFuzzer) with `what` on stderr unless `ok`.
void Check(bool ok, const char* what);

// Aborts unless every CR in `out` starts a CRLF and every LF ends one: a
// bare CR or LF in a reply would let client text forge protocol lines.
void CheckCrlfOnly(std::string_view out);

// Forwards every call to a real store and counts the operations whose
// completion has not run yet, so that a driver knows when a session waits
// for nothing. Also notes whether anything was written.
class CountingStore : public storage::Store {
 public:
  explicit CountingStore(std::unique_ptr<storage::Store> inner) : inner_(std::move(inner)) {}

  std::size_t pending() const { return pending_; }
  bool mutated() const { return mutated_; }
  void clear_mutated() { mutated_ = false; }
  storage::Store& inner() { return *inner_; }

  std::unique_ptr<storage::ReadView> Read() override { return inner_->Read(); }
  void CreateUser(std::string name, std::string hash,
                  storage::Callback<storage::UserRecord> done) override;
  void SetPassword(std::string name, std::string hash, storage::StatusCallback done) override;
  void DeleteUser(std::string name, storage::StatusCallback done) override;
  void SetUserSetting(std::string name, std::string key, std::string value,
                      storage::StatusCallback done) override;
  void SetQuota(std::string name, std::uint64_t bytes, std::uint64_t messages,
                storage::StatusCallback done) override;
  void Authenticate(std::string name, std::string password, std::string client,
                    storage::Callback<storage::UserRecord> done) override;
  void HashPasswordAsync(std::string password, storage::Callback<std::string> done) override;
  void CreateMailbox(storage::UserId user, std::string name, storage::SpecialUse use,
                     storage::Callback<storage::MailboxRecord> done) override;
  void DeleteMailbox(storage::UserId user, std::string name, storage::Origin origin,
                     storage::StatusCallback done) override;
  void RenameMailbox(storage::UserId user, std::string from, std::string to, storage::Origin origin,
                     storage::StatusCallback done) override;
  void SetSubscribed(storage::UserId user, std::string name, bool subscribed,
                     storage::StatusCallback done) override;
  void SetMailboxRetention(storage::UserId user, std::string name, std::int64_t days,
                           storage::StatusCallback done) override;
  void SetMailboxUidState(storage::UserId user, std::string name, std::uint32_t uidvalidity,
                          storage::Uid uidnext, storage::ModSeq min_highest_modseq,
                          storage::StatusCallback done) override;
  void Append(storage::AppendRequest request,
              storage::Callback<storage::AppendResult> done) override;
  void AppendMany(std::vector<storage::AppendRequest> requests,
                  storage::Callback<std::vector<storage::AppendResult>> done) override;
  void StoreFlags(storage::StoreFlagsRequest request,
                  storage::Callback<storage::StoreFlagsResult> done) override;
  void Copy(storage::CopyRequest request, storage::Callback<storage::CopyResult> done) override;
  void Expunge(storage::ExpungeRequest request,
               storage::Callback<std::vector<storage::Uid>> done) override;
  void MarkPop3Retrieved(storage::MailboxId mailbox, storage::Uid uid, bool set_seen,
                         storage::Origin origin, std::string detail,
                         storage::StatusCallback done) override;
  void UnhidePop3(storage::UserId user, std::optional<std::vector<storage::Uid>> uids,
                  storage::Origin origin,
                  storage::Callback<std::vector<storage::Uid>> done) override;
  void Pop3Commit(storage::Pop3CommitRequest request,
                  storage::Callback<storage::Pop3CommitResult> done) override;
  void RecordJournal(storage::UserId user, storage::JournalEvent event,
                     storage::StatusCallback done) override;
  void SweepRetention(std::vector<storage::RetentionRule> rules, storage::UnixTime now,
                      storage::StatusCallback done) override;
  void RegisterLiveSession(storage::ReadView::LiveSession session) override {
    inner_->RegisterLiveSession(std::move(session));
  }
  void UnregisterLiveSession(std::uint64_t id) override { inner_->UnregisterLiveSession(id); }
  storage::Uid ClaimRecent(storage::MailboxId mailbox, storage::Uid uidnext) override {
    return inner_->ClaimRecent(mailbox, uidnext);
  }
  bool TryLockPop3(storage::UserId user, std::uint64_t session) override {
    return inner_->TryLockPop3(user, session);
  }
  void UnlockPop3(storage::UserId user, std::uint64_t session) override {
    inner_->UnlockPop3(user, session);
  }
  std::uint64_t Subscribe(storage::MailboxId mailbox, Listener listener) override {
    return inner_->Subscribe(mailbox, std::move(listener));
  }
  void Unsubscribe(std::uint64_t subscription) override { inner_->Unsubscribe(subscription); }
  std::uint64_t WatchUser(storage::UserId user, UserListener listener) override {
    return inner_->WatchUser(user, std::move(listener));
  }
  std::uint64_t SubscribeUser(storage::UserId user, Listener listener) override {
    return inner_->SubscribeUser(user, std::move(listener));
  }
  std::uint64_t SessionIdBase() const override { return inner_->SessionIdBase(); }
  void PollExternalChanges() override { inner_->PollExternalChanges(); }
  void Flush() override { inner_->Flush(); }
  Status CheckConsistency() override { return inner_->CheckConsistency(); }

 private:
  // Wraps `done` so that pending_ counts it until it runs.
  template <typename Fn>
  Fn Track(Fn done, bool mutation);

  std::unique_ptr<storage::Store> inner_;
  std::size_t pending_ = 0;
  bool mutated_ = false;
};

// A store in a fresh directory that is unlinked as soon as the store is
// open (LMDB keeps its files open), so that nothing is left behind however
// the fuzzer ends. On tmpfs when /dev/shm is writable: commits fsync.
class FuzzStore {
 public:
  FuzzStore();
  CountingStore& store() { return *store_; }
  storage::ManualExecutor& executor() { return executor_; }

  // Runs completions until every submitted operation has completed.
  void Wait();
  // Synchronous helpers for set-up; abort on error. Hashes are {PLAIN} so
  // that logins stay cheap.
  storage::UserRecord AddUser(const std::string& name, const std::string& password);
  // Creates the users in one group commit (name, password pairs).
  std::vector<storage::UserRecord> AddUsers(
      const std::vector<std::pair<std::string, std::string>>& users);
  // Appends the messages to INBOX in one group commit, in this order.
  void Deliver(storage::UserId user, const std::vector<std::string>& messages);
  void SetQuota(const std::string& name, std::uint64_t bytes);
  // Deletes every user (and so every message).
  void DeleteAllUsers();
  // Aborts unless the stored invariants hold.
  void CheckConsistency();

 private:
  storage::ManualExecutor executor_;
  std::unique_ptr<CountingStore> store_;
};

// A SessionOutput that keeps what was written and checks the contract:
// nothing is written after Session::OnClosed(). With `slow` set, written bytes stay
// queued until the driver drains them (exercising backpressure).
class FuzzOutput : public protocols::SessionOutput {
 public:
  void Write(std::string bytes) override;
  std::size_t QueuedBytes() const override { return queued_; }
  void StartTls() override { tls_requested_ = true; }
  void Close() override { closed_ = true; }
  void PauseInput() override { paused_ = true; }
  void ResumeInput() override { paused_ = false; }

  bool slow = false;
  // Everything written (capped; the checks look at whole lines only).
  std::string written;

 private:
  friend class SessionDriver;
  std::size_t queued_ = 0;
  bool tls_requested_ = false;
  bool closed_ = false;
  bool paused_ = false;
  bool session_closed_ = false;  // Session::OnClosed() has run
};

// How a run ends.
enum class Ending { kDrop, kIdleTimeout, kShutdown };

// Drives one session over one input.
class SessionDriver {
 public:
  SessionDriver(FuzzStore& store, pillarbox::testing::FakeTimers& timers, FuzzOutput& out,
                protocols::ConnectionInfo& info)
      : store_(store), timers_(timers), out_(out), info_(info) {}

  // Starts `session`, feeds `input` in pieces whose sizes follow `split_seed`,
  // settling after each piece, ends the connection as `ending` says and
  // settles again. The session must not be touched afterwards.
  void Run(protocols::Session& session, std::string_view input, std::uint8_t split_seed,
           Ending ending);

 private:
  // Runs completions, fires timers, drains slow output and finishes STARTTLS
  // until the session waits for nothing outside the client.
  void Settle(protocols::Session& session);

  FuzzStore& store_;
  pillarbox::testing::FakeTimers& timers_;
  FuzzOutput& out_;
  protocols::ConnectionInfo& info_;
};

}  // namespace pillarbox::fuzz
