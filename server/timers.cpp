#include "server/timers.h"

#include <vector>

#include "common/log.h"

namespace pillarbox::server {

void Timers::Add(std::uint64_t owner, std::chrono::milliseconds delay, std::function<void()> fn) {
  auto* t = new Timer{{}, this, owner, std::move(fn)};
  uv_timer_init(loop_, &t->handle);
  t->handle.data = t;
  timers_.emplace(t, owner);
  // At least 1 ms: libuv before 1.45 runs a zero-delay timer started inside
  // a timer callback in the same pass, so a command that yields with
  // delay 0 would never let the loop poll sockets in between.
  uv_timer_start(&t->handle, OnFire,
                 static_cast<std::uint64_t>(std::max<std::int64_t>(1, delay.count())), 0);
}

void Timers::Release(Timer* t) {
  timers_.erase(t);
  uv_timer_stop(&t->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&t->handle), OnClose);
}

void Timers::OnFire(uv_timer_t* handle) noexcept {
  auto* t = static_cast<Timer*>(handle->data);
  std::function<void()> fn = std::move(t->fn);
  t->self->Release(t);
  try {
    if (fn) fn();
  } catch (const std::exception& e) {
    LOG_ERROR("timer callback: {}", e.what());
  }
}

void Timers::OnClose(uv_handle_t* handle) noexcept { delete static_cast<Timer*>(handle->data); }

void Timers::CancelOwner(std::uint64_t owner) {
  std::vector<Timer*> doomed;
  for (auto& [t, o] : timers_) {
    if (o == owner) doomed.push_back(t);
  }
  for (Timer* t : doomed) Release(t);
}

void Timers::CancelAll() {
  std::vector<Timer*> doomed;
  for (auto& [t, o] : timers_) doomed.push_back(t);
  for (Timer* t : doomed) Release(t);
}

}  // namespace pillarbox::server
