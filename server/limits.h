// Connection limits: in total and per client address ([limits]
// max_connections, max_connections_per_ip), and the refusal line each
// protocol sends when a new connection is over a limit.
//
// Threads: loop thread only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pillarbox::server {

class ConnectionLimiter {
 public:
  ConnectionLimiter(int max_total, int max_per_ip)
      : max_total_(max_total), max_per_ip_(max_per_ip) {}

  // kShortOfMemory: the memory budget ([limits] max_memory) is used up; the
  // server decides this, not the limiter.
  enum class Verdict { kAccept, kTooManyTotal, kTooManyFromIp, kShortOfMemory };
  // Counts the connection when accepted. Unix-socket clients (empty ip) are
  // only counted in the total. A limit <= 0 means unlimited.
  Verdict TryAcquire(const std::string& ip);
  // REQUIRES: a matching accepted TryAcquire.
  void Release(const std::string& ip);

  std::size_t total() const { return total_; }
  std::size_t from(const std::string& ip) const;

 private:
  int max_total_;
  int max_per_ip_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
};

// "* BYE Too many connections\r\n" (imap), "-ERR [SYS/TEMP] ...\r\n" (pop3),
// "421 4.7.0 ...\r\n" (smtp, lmtp); short of memory: "* BYE [UNAVAILABLE]",
// "-ERR [SYS/TEMP]", "421 4.3.2".
std::string RefusalLine(std::string_view protocol, ConnectionLimiter::Verdict verdict);

}  // namespace pillarbox::server
