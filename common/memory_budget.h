// The process-wide memory budget ([limits] max_memory): bytes that clients
// make the server hold (buffered input, queued output, literals and message
// bodies in flight) are counted here, so that the server refuses new work
// with a temporary error instead of growing without bound.
//
// Owners (a connection, a parser, an SMTP session) hold a MemoryCharge and
// set it to what they hold now; before taking on something large they ask
// MemoryBudget::Global().Fits(n). The count is of these buffers only, not of
// the whole process (LMDB maps, code, the allocator's own overhead).
//
// Threads: the counter is atomic, so any thread may read or update it; the
// owners in practice are all on the loop thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace pillarbox {

class MemoryBudget {
 public:
  // The one budget of this process.
  static MemoryBudget& Global();

  // 0: unlimited (the default until the server sets the configured value).
  void set_limit(std::size_t bytes) { limit_.store(bytes, std::memory_order_relaxed); }
  std::size_t limit() const { return limit_.load(std::memory_order_relaxed); }
  std::size_t used() const { return used_.load(std::memory_order_relaxed); }

  // Whether `more` bytes can be taken on now without passing the limit.
  bool Fits(std::size_t more) const {
    std::size_t limit = this->limit();
    return limit == 0 || (used() <= limit && more <= limit - used());
  }
  // At or over the limit: new work is refused.
  bool Exhausted() const { return !Fits(1); }

  void Add(std::size_t n) {
    std::size_t now = used_.fetch_add(n, std::memory_order_relaxed) + n;
    std::size_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }
  void Sub(std::size_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }

  // The most used since the last call (or start); starts a new period.
  std::size_t TakePeak() { return peak_.exchange(used(), std::memory_order_relaxed); }

 private:
  std::atomic<std::size_t> limit_{0};
  std::atomic<std::size_t> used_{0};
  std::atomic<std::size_t> peak_{0};
};

// One owner's share of the budget; released when destroyed.
class MemoryCharge {
 public:
  MemoryCharge() = default;
  ~MemoryCharge() { Set(0); }
  MemoryCharge(const MemoryCharge&) = delete;
  MemoryCharge& operator=(const MemoryCharge&) = delete;

  // The owner holds `bytes` now.
  void Set(std::size_t bytes) {
    if (bytes > bytes_) {
      MemoryBudget::Global().Add(bytes - bytes_);
    } else if (bytes < bytes_) {
      MemoryBudget::Global().Sub(bytes_ - bytes);
    }
    bytes_ = bytes;
    if (bytes > peak_) peak_ = bytes;
  }
  std::size_t bytes() const { return bytes_; }
  // The most this owner held at once.
  std::size_t peak() const { return peak_; }

 private:
  std::size_t bytes_ = 0;
  std::size_t peak_ = 0;
};

// The budget when [limits] max_memory is 0: half of the memory this
// process may use (physical memory, or the cgroup limit when lower), at
// least 64 MiB.
std::size_t AutomaticMemoryBudget();

}  // namespace pillarbox
