// Listener addresses as written in the config: "127.0.0.1:1143",
// "0.0.0.0:143", "[::1]:1143", "[::]:993", or "unix:/run/pillarbox/lmtp".
// And the list of listeners a config asks for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"

namespace pillarbox::server {

struct ListenAddress {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;  // numeric IPv4 or IPv6 (without brackets)
  std::uint16_t port = 0;
  bool ipv6 = false;
  std::string path;              // kUnix
  std::string ToString() const;  // as it would be written in the config
};

Result<ListenAddress> ParseListenAddress(std::string_view text);

struct ListenerSpec {
  std::string protocol;  // "imap" "pop3" "lmtp" "smtp" "http"
  bool implicit_tls = false;
  std::string key;  // "imap.tls_listen", for messages
  ListenAddress address;
};

// Every listener of the config, in a stable order: imap, pop3, lmtp, smtp, http;
// plain before implicit TLS. Errors name the key.
Result<std::vector<ListenerSpec>> ListenersFromConfig(const config::Config& config);

}  // namespace pillarbox::server
