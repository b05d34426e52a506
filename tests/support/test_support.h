// Helpers shared by unit tests: temporary directories, a store on a temp
// directory driven by a ManualExecutor, and a SessionOutput that records.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "protocols/session.h"
#include "storage/store.h"

namespace pillarbox::testing {

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A Store in a temp directory. Completions run only inside Run*/Wait*.
class StoreFixture {
 public:
  // `adjust` may change the options before the store opens.
  explicit StoreFixture(std::function<void(storage::StoreOptions&)> adjust = nullptr);
  ~StoreFixture();

  storage::Store& store() { return *store_; }
  const std::string& dir() const { return dir_.path(); }
  storage::ManualExecutor& executor() { return executor_; }
  // Runs completions until `done()` is true; fails the test after 10 s.
  void RunUntil(const std::function<bool()>& done);
  // Runs whatever is pending (including completions already posted).
  void RunPending();

  // Submits through `submit` and waits for its completion.
  template <typename T>
  Result<T> Wait(const std::function<void(storage::Callback<T>)>& submit) {
    std::optional<Result<T>> out;
    submit([&](Result<T> r) { out.emplace(std::move(r)); });
    RunUntil([&] { return out.has_value(); });
    return std::move(*out);
  }
  Status WaitStatus(const std::function<void(storage::StatusCallback)>& submit);

  // Convenience: create a user (fails the test on error).
  storage::UserRecord AddUser(const std::string& name, const std::string& password);
  // Convenience: store a message (fails the test on error).
  storage::AppendResult Deliver(storage::UserId user, const std::string& bytes,
                                const std::string& mailbox = "INBOX", storage::Flags flags = {});

  // Reopens the store on the same directory (restart).
  void Reopen();
  // Closes the store (after its pending work); the directory stays until
  // the fixture goes. Reopen() opens it again.
  void Close();

 private:
  void Open();
  TempDir dir_;
  storage::ManualExecutor executor_;
  std::function<void(storage::StoreOptions&)> adjust_;
  std::unique_ptr<storage::Store> store_;
};

// Records what a session writes; tests take the transcript from it.
class FakeOutput : public protocols::SessionOutput {
 public:
  void Write(std::string bytes) override { written_ += bytes; }
  std::size_t QueuedBytes() const override { return queued_; }
  void StartTls() override { tls_started_ = true; }
  void Close() override { closed_ = true; }
  void PauseInput() override { paused_ = true; }
  void ResumeInput() override { paused_ = false; }

  // Returns what was written since the last Take() and clears it.
  std::string Take() { return std::exchange(written_, std::string()); }
  const std::string& written() const { return written_; }
  bool closed() const { return closed_; }
  bool tls_started() const { return tls_started_; }
  bool paused() const { return paused_; }
  // Simulates a slow client (for backpressure tests).
  void set_queued(std::size_t n) { queued_ = n; }

 private:
  std::string written_;
  std::size_t queued_ = 0;
  bool tls_started_ = false;
  bool closed_ = false;
  bool paused_ = false;
};

// A TimerFn whose timers fire only when the test advances time.
class FakeTimers {
 public:
  protocols::TimerFn Fn();
  // Fires every timer due within `ms` from now (in order).
  void Advance(std::chrono::milliseconds ms);
  std::size_t pending() const { return timers_.size(); }

 private:
  struct Timer {
    std::chrono::milliseconds due;
    std::function<void()> fn;
  };
  std::chrono::milliseconds now_{0};
  std::vector<Timer> timers_;
};

}  // namespace pillarbox::testing
