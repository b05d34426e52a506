// FairQueue: the password-hashing work queue. Jobs carry a client key (the
// client's address); workers take the oldest job of the next client in
// turn (fewest checks running first, then least recently served), so one
// address with hundreds of logins in flight cannot starve the others: it
// gets its share of the hashing threads, not more. A client may have at most
// `per_client` jobs queued or running (Push() refuses more: the caller fails
// that login without hashing).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pillarbox::storage {

// Password checks one client address may have queued or running; more are
// refused (the normal failure, no hashing). Fairness, not this cap, is what
// keeps a spray from one address from slowing everybody else; the cap only
// bounds what one address can queue. It is high because a whole office
// behind one NAT address opens its mail clients at nine (each connection has
// at most one check in flight, and [limits] max_connections_per_ip also
// applies): refusing real logins there would be worse than queueing them.
inline constexpr std::size_t kMaxAuthJobsPerClient = 256;

class FairQueue {
 public:
  explicit FairQueue(std::size_t per_client = kMaxAuthJobsPerClient) : per_client_(per_client) {}

  // Queues `job` for `client`. False (job dropped) when the client already
  // has `per_client` jobs queued or running, or after Stop().
  bool Push(const std::string& client, std::function<void()> job);
  // Waits for a job and runs it. False once stopped and drained.
  bool RunOne();
  // Wakes every worker; queued jobs still run, then RunOne() returns false.
  void Stop();

 private:
  struct Client {
    std::deque<std::function<void()>> jobs;
    std::size_t running = 0;
    std::uint64_t last_served = 0;  // served_ when its last job started
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Client> clients_;  // with jobs queued or running
  std::deque<std::string> turn_;                     // clients with jobs queued, in turn
  std::uint64_t served_ = 0;
  bool stop_ = false;
  const std::size_t per_client_;
};

// The key a client address is counted under: an IPv6 address by its /64
// (one subscriber), anything else as it is.
std::string AuthClientKey(std::string_view address);

}  // namespace pillarbox::storage
