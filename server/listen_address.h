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
  std::string protocol;  // "imap" "pop3" "lmtp" "smtp" "http" "postfix-auth" "socketmap"
  bool implicit_tls = false;
  std::string key;  // "imap.tls_listen", for messages
  ListenAddress address;
  unsigned unix_mode = 0666;  // permissions of a unix socket (lmtp.socket_mode, ...)
  std::string text;           // the address as written in the config
};

// Every listener of the config, in a stable order: imap, pop3, lmtp, smtp,
// http, postfix-auth (auth.postfix_socket), socketmap (delivery.socketmap_socket);
// plain before implicit TLS. Errors name the key.
Result<std::vector<ListenerSpec>> ListenersFromConfig(const config::Config& config);

// Whether the server needs a certificate: for an implicit-TLS listener, for
// a configured [tls] cert, or for STARTTLS/STLS on a plain IMAP, POP3 or
// SMTP listener that clients reach from elsewhere (not loopback, not a unix
// socket), where it protects their logins. LMTP is the MTA's local intake.
// Without one the server offers no STARTTLS and generates nothing.
bool NeedsCertificate(const config::Config& config, const std::vector<ListenerSpec>& specs);

}  // namespace pillarbox::server
