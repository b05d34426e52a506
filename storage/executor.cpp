// ManualExecutor and NormalizeLineEndings.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "storage/store.h"

namespace pillarbox::storage {

struct ManualExecutor::State {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> queue;
};

std::shared_ptr<ManualExecutor::State> ManualExecutor::MakeState() {
  return std::make_shared<State>();
}

PostFn ManualExecutor::Poster() {
  std::weak_ptr<State> weak = state_;
  return [weak](std::function<void()> fn) {
    auto state = weak.lock();
    if (!state) return;
    {
      std::lock_guard lock(state->mu);
      state->queue.push_back(std::move(fn));
    }
    state->cv.notify_all();
  };
}

std::size_t ManualExecutor::RunPending() {
  std::size_t ran = 0;
  for (;;) {
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard lock(state_->mu);
      batch.swap(state_->queue);
    }
    if (batch.empty()) return ran;
    for (auto& fn : batch) {
      fn();
      ++ran;
    }
  }
}

std::size_t ManualExecutor::WaitAndRun(int timeout_ms) {
  {
    std::unique_lock lock(state_->mu);
    state_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return !state_->queue.empty(); });
  }
  return RunPending();
}

std::string NormalizeLineEndings(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 32 + 2);
  const std::size_t n = bytes.size();
  for (std::size_t i = 0; i < n; ++i) {
    char c = bytes[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < n && bytes[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace pillarbox::storage
