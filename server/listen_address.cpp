#include "server/listen_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace pillarbox::server {

std::string ListenAddress::ToString() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  if (ipv6) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  ListenAddress a;
  if (text.starts_with("unix:")) {
    a.kind = ListenAddress::Kind::kUnix;
    a.path = std::string(text.substr(5));
    if (a.path.empty() || a.path.front() != '/') {
      return Status::InvalidArgument("expected unix:/absolute/path, got \"" + std::string(text) +
                                     "\"");
    }
    // sockaddr_un.sun_path is 108 bytes on Linux, including the NUL.
    if (a.path.size() > 107) return Status::InvalidArgument("unix socket path too long");
    return a;
  }
  std::string_view host, port;
  if (text.starts_with("[")) {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("expected [IPv6]:port, got \"" + std::string(text) + "\"");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    a.ipv6 = true;
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return Status::InvalidArgument("expected host:port, [IPv6]:port or unix:/path, got \"" +
                                     std::string(text) + "\"");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return Status::InvalidArgument("bad port in \"" + std::string(text) + "\"");
  }
  a.port = static_cast<std::uint16_t>(value);
  a.host = std::string(host);
  if (a.host == "localhost") a.host = "127.0.0.1";
  if (!a.ipv6 && a.host == "*") a.host = "0.0.0.0";
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(a.ipv6 ? AF_INET6 : AF_INET, a.host.c_str(), buf) != 1) {
    return Status::InvalidArgument("expected a numeric " + std::string(a.ipv6 ? "IPv6" : "IPv4") +
                                   " address in \"" + std::string(text) + "\"");
  }
  return a;
}

Result<std::vector<ListenerSpec>> ListenersFromConfig(const config::Config& config) {
  std::vector<ListenerSpec> out;
  auto lmtp_mode = config::ParseSocketMode(config.lmtp.socket_mode);
  if (!lmtp_mode.ok()) {
    return Status::InvalidArgument("lmtp.socket_mode: " + lmtp_mode.status().message());
  }
  auto add = [&](const char* protocol, bool tls, const char* key,
                 const std::vector<std::string>& list) -> Status {
    for (const std::string& text : list) {
      auto a = ParseListenAddress(text);
      if (!a.ok()) return Status::InvalidArgument(std::string(key) + ": " + a.status().message());
      if (a->kind == ListenAddress::Kind::kUnix && std::string_view(protocol) != "lmtp") {
        return Status::InvalidArgument(std::string(key) +
                                       ": unix sockets are only supported for lmtp.listen");
      }
      out.push_back(ListenerSpec{protocol, tls, key, std::move(*a), *lmtp_mode, text});
    }
    return Status::Ok();
  };
  // The sockets Postfix asks questions on: a path each, or "" for none.
  auto add_socket = [&](const char* protocol, const char* key, const std::string& value,
                        const char* mode_key, const std::string& mode_text) -> Status {
    auto path = config::ParseSocketPath(value);
    if (!path.ok())
      return Status::InvalidArgument(std::string(key) + ": " + path.status().message());
    if (path->empty()) return Status::Ok();
    auto mode = config::ParseSocketMode(mode_text);
    if (!mode.ok()) {
      return Status::InvalidArgument(std::string(mode_key) + ": " + mode.status().message());
    }
    ListenAddress a;
    a.kind = ListenAddress::Kind::kUnix;
    a.path = *path;
    out.push_back(ListenerSpec{protocol, false, key, std::move(a), *mode, value});
    return Status::Ok();
  };
  PB_RETURN_IF_ERROR(add("imap", false, "imap.listen", config.imap.listen));
  PB_RETURN_IF_ERROR(add("imap", true, "imap.tls_listen", config.imap.tls_listen));
  PB_RETURN_IF_ERROR(add("pop3", false, "pop3.listen", config.pop3.listen));
  PB_RETURN_IF_ERROR(add("pop3", true, "pop3.tls_listen", config.pop3.tls_listen));
  PB_RETURN_IF_ERROR(add("lmtp", false, "lmtp.listen", config.lmtp.listen));
  PB_RETURN_IF_ERROR(add("smtp", false, "smtp.listen", config.smtp.listen));
  PB_RETURN_IF_ERROR(add("smtp", true, "smtp.tls_listen", config.smtp.tls_listen));
  PB_RETURN_IF_ERROR(add("http", false, "http.listen", config.http.listen));
  PB_RETURN_IF_ERROR(add("http", true, "http.tls_listen", config.http.tls_listen));
  PB_RETURN_IF_ERROR(add_socket("postfix-auth", "auth.postfix_socket", config.auth.postfix_socket,
                                "auth.postfix_socket_mode", config.auth.postfix_socket_mode));
  PB_RETURN_IF_ERROR(add_socket("socketmap", "delivery.socketmap_socket",
                                config.delivery.socketmap_socket, "delivery.socketmap_socket_mode",
                                config.delivery.socketmap_socket_mode));
  return out;
}

bool NeedsCertificate(const config::Config& config, const std::vector<ListenerSpec>& specs) {
  if (!config.tls.cert.empty()) return true;
  for (const ListenerSpec& spec : specs) {
    if (spec.implicit_tls) return true;
    if (spec.protocol == "lmtp" || spec.address.kind != ListenAddress::Kind::kTcp) continue;
    const std::string& host = spec.address.host;
    if (!host.starts_with("127.") && host != "::1") return true;
  }
  return false;
}

}  // namespace pillarbox::server
