#include "server/limits.h"

namespace pillarbox::server {

ConnectionLimiter::Verdict ConnectionLimiter::TryAcquire(const std::string& ip) {
  if (max_total_ > 0 && total_ >= static_cast<std::size_t>(max_total_)) {
    return Verdict::kTooManyTotal;
  }
  if (!ip.empty()) {
    std::size_t& n = per_ip_[ip];
    if (max_per_ip_ > 0 && n >= static_cast<std::size_t>(max_per_ip_)) {
      if (n == 0) per_ip_.erase(ip);
      return Verdict::kTooManyFromIp;
    }
    ++n;
  }
  ++total_;
  return Verdict::kAccept;
}

void ConnectionLimiter::Release(const std::string& ip) {
  if (total_ > 0) --total_;
  if (ip.empty()) return;
  auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return;
  if (--it->second == 0) per_ip_.erase(it);
}

std::size_t ConnectionLimiter::from(const std::string& ip) const {
  auto it = per_ip_.find(ip);
  return it == per_ip_.end() ? 0 : it->second;
}

std::string RefusalLine(std::string_view protocol, ConnectionLimiter::Verdict verdict) {
  std::string_view what = verdict == ConnectionLimiter::Verdict::kTooManyFromIp
                              ? "Too many connections from your address"
                              : "Too many connections";
  std::string line;
  if (verdict == ConnectionLimiter::Verdict::kShortOfMemory) {
    what = "Server is short of memory, try again later";
    if (protocol == "imap") {
      line = "* BYE [UNAVAILABLE] ";
    } else if (protocol == "pop3") {
      line = "-ERR [SYS/TEMP] ";
    } else {
      line = "421 4.3.2 ";  // RFC 3463: system not accepting network messages
    }
  } else if (protocol == "imap") {
    line = "* BYE ";
  } else if (protocol == "pop3") {
    line = "-ERR [SYS/TEMP] ";  // RFC 3206
  } else {
    line = "421 4.7.0 ";  // RFC 5321 / RFC 3463; the same for LMTP
  }
  line += what;
  line += "\r\n";
  return line;
}

}  // namespace pillarbox::server
