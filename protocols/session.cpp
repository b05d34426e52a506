#include "protocols/session.h"

#include <algorithm>

#include "common/metrics.h"

namespace pillarbox::protocols {
namespace {

std::string Key(const std::string& ip, const std::string& user) {
  std::string key = ip;
  key += '\0';
  for (char c : user) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

}  // namespace

std::chrono::milliseconds AuthThrottle::OnFailure(const std::string& ip, const std::string& user) {
  metrics::Count("logins_total", "result=\"failed\"", "Logins (IMAP, POP3, SMTP AUTH) by result");
  auto now = std::chrono::steady_clock::now();
  // Forget entries that have been quiet for longer than the lockout, so the
  // table stays bounded by recent offenders.
  if (entries_.size() > 10000) {
    std::erase_if(entries_,
                  [&](const auto& kv) { return now - kv.second.last > config_.lockout_time; });
  }
  Entry& e = entries_[Key(ip, user)];
  if (now - e.last > config_.lockout_time) e.failures = 0;
  e.failures++;
  e.last = now;
  auto delay = config_.failure_delay;
  for (int i = 1; i < e.failures && delay < config_.max_failure_delay; ++i) delay *= 2;
  return std::min(delay, config_.max_failure_delay);
}

void AuthThrottle::OnSuccess(const std::string& ip, const std::string& user) {
  metrics::Count("logins_total", "result=\"ok\"", "Logins (IMAP, POP3, SMTP AUTH) by result");
  entries_.erase(Key(ip, user));
}

bool AuthThrottle::LockedOut(const std::string& ip, const std::string& user) const {
  auto it = entries_.find(Key(ip, user));
  if (it == entries_.end()) return false;
  if (std::chrono::steady_clock::now() - it->second.last > config_.lockout_time) return false;
  return it->second.failures >= config_.lockout_failures;
}

bool PlaintextAllowed(const config::AuthConfig& auth, const ConnectionInfo& info) {
  switch (auth.plaintext) {
    case config::Plaintext::kNever:
      return false;
    case config::Plaintext::kTls:
      return info.tls_active;
    case config::Plaintext::kTlsOrLoopback:
      return info.tls_active || info.loopback || info.unix_socket;
    case config::Plaintext::kAlways:
      return true;
  }
  return false;
}

}  // namespace pillarbox::protocols
