// Connection limits: a budget per protocol family ([limits] max_connections
// for IMAP and POP3, max_smtp_connections, max_lmtp_connections), so that
// readers (or an attacker posing as many) cannot starve the MTA's intake;
// one per client address ([limits] max_connections_per_ip, across IMAP,
// POP3 and SMTP); and the refusal line each protocol sends when a new
// connection is over a limit. The server (server_loop.cpp) makes room in a
// full family by dropping its oldest connection that has not logged in.
//
// Threads: loop thread only.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pillarbox::server {

// Protocol families with a budget each.
enum class Family { kImapPop3 = 0, kSmtp = 1, kLmtp = 2, kHttp = 3 };
inline constexpr std::size_t kFamilies = 4;
// "imap", "pop3" -> kImapPop3; "smtp" -> kSmtp; "lmtp", and Postfix's
// "postfix-auth" and "socketmap" -> kLmtp; "http" -> kHttp.
Family FamilyOf(std::string_view protocol);

class ConnectionLimiter {
 public:
  // The same budget for every family.
  ConnectionLimiter(int max_total, int max_per_ip)
      : ConnectionLimiter({max_total, max_total, max_total, max_total}, max_per_ip) {}
  // Budgets indexed by Family.
  ConnectionLimiter(std::array<int, kFamilies> max_total, int max_per_ip)
      : max_total_(max_total), max_per_ip_(max_per_ip) {}

  // kShortOfMemory: the memory budget ([limits] max_memory) is used up; the
  // server decides this, not the limiter.
  enum class Verdict { kAccept, kTooManyTotal, kTooManyFromIp, kShortOfMemory };
  // Counts the connection when accepted. Clients with an empty ip (unix
  // sockets; LMTP, which the server does not count per address) are only
  // counted in their family's total. The address is checked first, so that
  // kTooManyTotal means a slot in the family would admit the client.
  // A limit <= 0 means unlimited.
  Verdict TryAcquire(const std::string& ip, Family family = Family::kImapPop3);
  // REQUIRES: a matching accepted TryAcquire.
  void Release(const std::string& ip, Family family = Family::kImapPop3);

  std::size_t total(Family family = Family::kImapPop3) const {
    return total_[static_cast<std::size_t>(family)];
  }
  std::size_t from(const std::string& ip) const;

 private:
  std::array<int, kFamilies> max_total_;
  int max_per_ip_;
  std::array<std::size_t, kFamilies> total_{};
  std::unordered_map<std::string, std::size_t> per_ip_;
};

// "* BYE Too many connections\r\n" (imap), "-ERR [SYS/TEMP] ...\r\n" (pop3),
// "421 4.7.0 ...\r\n" (smtp, lmtp); short of memory: "* BYE [UNAVAILABLE]",
// "-ERR [SYS/TEMP]", "421 4.3.2". "" (just disconnect) for postfix-auth and
// socketmap.
std::string RefusalLine(std::string_view protocol, ConnectionLimiter::Verdict verdict);

}  // namespace pillarbox::server
