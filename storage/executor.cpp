// ManualExecutor, FairQueue and NormalizeLineEndings.
#include <arpa/inet.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "storage/fair_queue.h"
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

bool FairQueue::Push(const std::string& client, std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return false;
    Client& c = clients_[client];
    if (c.jobs.size() + c.running >= per_client_) return false;
    if (c.jobs.empty()) turn_.push_back(client);
    c.jobs.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

bool FairQueue::RunOne() {
  std::function<void()> job;
  std::string client;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stop_ || !turn_.empty(); });
    if (turn_.empty()) return false;
    // The client with the fewest checks running, then the one served least
    // recently: a newcomer goes before a client that was just served.
    auto rank = [&](const std::string& name) {
      const Client& c = clients_[name];
      return std::pair(c.running, c.last_served);
    };
    auto next = turn_.begin();
    for (auto it = std::next(turn_.begin()); it != turn_.end(); ++it) {
      if (rank(*it) < rank(*next)) next = it;
    }
    client = std::move(*next);
    turn_.erase(next);
    Client& c = clients_[client];
    c.last_served = ++served_;
    job = std::move(c.jobs.front());
    c.jobs.pop_front();
    ++c.running;
    // Its next job waits behind every other client's.
    if (!c.jobs.empty()) turn_.push_back(client);
  }
  job();
  {
    std::lock_guard lock(mu_);
    auto it = clients_.find(client);
    if (--it->second.running == 0 && it->second.jobs.empty()) clients_.erase(it);
  }
  return true;
}

void FairQueue::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

std::string AuthClientKey(std::string_view address) {
  std::string a(address);
  unsigned char v6[16];
  if (a.find(':') == std::string::npos || inet_pton(AF_INET6, a.c_str(), v6) != 1) return a;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(v6, v6 + 12, kMapped)) {
    char v4[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, v6 + 12, v4, sizeof v4) != nullptr ? std::string(v4) : a;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  for (int i = 0; i < 8; ++i) {
    key += kHex[v6[i] >> 4];
    key += kHex[v6[i] & 15];
    if (i % 2 == 1) key += ':';
  }
  return key + ":/64";
}

std::string NormalizeLineEndings(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 32 + 2);
  bool after_cr = false;
  AppendNormalized(bytes, &after_cr, &out);
  return out;
}

void AppendNormalized(std::string_view piece, bool* after_cr, std::string* out) {
  const std::size_t n = piece.size();
  if (n == 0) return;
  std::size_t i = 0;
  // The LF of a CRLF whose CR ended the previous piece (already written).
  if (*after_cr && n > 0 && piece[0] == '\n') i = 1;
  *after_cr = false;
  while (i < n) {
    std::size_t j = piece.find_first_of("\r\n", i);
    if (j == std::string_view::npos) {
      out->append(piece.substr(i));
      return;
    }
    out->append(piece.substr(i, j - i));
    out->append("\r\n");
    if (piece[j] == '\r') {
      if (j + 1 == n) {
        *after_cr = true;
      } else if (piece[j + 1] == '\n') {
        ++j;
      }
    }
    i = j + 1;
  }
}

bool IsNormalized(std::string_view bytes) {
  const std::size_t n = bytes.size();
  for (std::size_t i = bytes.find_first_of("\r\n"); i != std::string_view::npos;
       i = bytes.find_first_of("\r\n", i + 1)) {
    if (bytes[i] == '\n') return false;  // an LF not after a CR (those are skipped)
    if (i + 1 >= n || bytes[i + 1] != '\n') return false;
    ++i;
  }
  return true;
}

}  // namespace pillarbox::storage
