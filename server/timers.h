// One-shot uv timers for sessions (protocols::TimerFn), each tied to an
// owner (a connection id; 0 for the server itself). When the owner goes
// away its timers are cancelled, so a timer never runs for a session that
// no longer exists.
//
// Threads: loop thread only. Every handle is freed in its close callback.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <unordered_map>

namespace pillarbox::server {

class Timers {
 public:
  explicit Timers(uv_loop_t* loop) : loop_(loop) {}
  ~Timers() { CancelAll(); }
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  void Add(std::uint64_t owner, std::chrono::milliseconds delay, std::function<void()> fn);
  void CancelOwner(std::uint64_t owner);
  void CancelAll();
  std::size_t pending() const { return timers_.size(); }

 private:
  struct Timer {
    uv_timer_t handle;
    Timers* self;
    std::uint64_t owner;
    std::function<void()> fn;
  };
  static void OnFire(uv_timer_t* handle) noexcept;
  static void OnClose(uv_handle_t* handle) noexcept;
  void Release(Timer* t);

  uv_loop_t* loop_;
  std::unordered_map<Timer*, std::uint64_t> timers_;
};

}  // namespace pillarbox::server
