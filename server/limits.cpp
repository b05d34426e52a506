#include "server/limits.h"

namespace pillarbox::server {

Family FamilyOf(std::string_view protocol) {
  if (protocol == "smtp") return Family::kSmtp;
  // Postfix's questions (SASL, socketmap) come from the same trusted MTA.
  if (protocol == "lmtp" || protocol == "postfix-auth" || protocol == "socketmap") {
    return Family::kLmtp;
  }
  if (protocol == "http") return Family::kHttp;
  return Family::kImapPop3;
}

ConnectionLimiter::Verdict ConnectionLimiter::TryAcquire(const std::string& ip, Family family) {
  auto f = static_cast<std::size_t>(family);
  std::size_t* n = nullptr;
  if (!ip.empty()) {
    n = &per_ip_[ip];
    if (max_per_ip_ > 0 && *n >= static_cast<std::size_t>(max_per_ip_))
      return Verdict::kTooManyFromIp;
  }
  if (max_total_[f] > 0 && total_[f] >= static_cast<std::size_t>(max_total_[f])) {
    if (n != nullptr && *n == 0) per_ip_.erase(ip);
    return Verdict::kTooManyTotal;
  }
  if (n != nullptr) ++*n;
  ++total_[f];
  return Verdict::kAccept;
}

void ConnectionLimiter::Release(const std::string& ip, Family family) {
  auto f = static_cast<std::size_t>(family);
  if (total_[f] > 0) --total_[f];
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
  // Postfix's lookup protocols have no greeting to refuse with: disconnect.
  if (protocol == "postfix-auth" || protocol == "socketmap") return "";
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
  } else if (protocol == "http") {
    // Written instead of a session: a whole response, then the close.
    std::string body = std::string("{\"error\":\"") + std::string(what) + "\"}";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
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
