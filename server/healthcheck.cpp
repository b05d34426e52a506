#include "server/healthcheck.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "server/listen_address.h"
#include "server/tls/tls_context.h"

namespace pillarbox::server {
namespace {

// Each listener gets this long to connect, handshake and greet.
constexpr int kTimeoutSeconds = 5;
// A greeting line longer than this is not a greeting.
constexpr std::size_t kMaxGreeting = 1024;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Result<int> Connect(const ListenAddress& a, std::string* shown) {
  Fd s;
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (a.kind == ListenAddress::Kind::kUnix) {
    auto* un = reinterpret_cast<sockaddr_un*>(&addr);
    un->sun_family = AF_UNIX;
    std::strncpy(un->sun_path, a.path.c_str(), sizeof un->sun_path - 1);
    len = sizeof *un;
    *shown = a.ToString();
  } else {
    ListenAddress target = a;
    if (!a.ipv6 && a.host == "0.0.0.0") target.host = "127.0.0.1";
    if (a.ipv6 && a.host == "::") target.host = "::1";
    *shown = target.ToString();
    if (target.ipv6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(target.port);
      inet_pton(AF_INET6, target.host.c_str(), &in6->sin6_addr);
      len = sizeof *in6;
    } else {
      auto* in4 = reinterpret_cast<sockaddr_in*>(&addr);
      in4->sin_family = AF_INET;
      in4->sin_port = htons(target.port);
      inet_pton(AF_INET, target.host.c_str(), &in4->sin_addr);
      len = sizeof *in4;
    }
  }
  s.fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s.fd < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
  timeval tv{kTimeoutSeconds, 0};
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // bounds connect() too
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return Status::IOError(std::string("connect: ") + std::strerror(errno));
  }
  int fd = s.fd;
  s.fd = -1;
  return fd;
}

std::string_view ExpectedGreeting(const std::string& protocol) {
  if (protocol == "imap") return "* OK";
  if (protocol == "pop3") return "+OK";
  if (protocol == "http") return "HTTP/1.1 200";
  return "220";
}

// HTTP has no greeting: the check asks for /healthz (the store and every
// listener up) and reads the status line.
std::string_view Hello(const std::string& protocol) {
  if (protocol == "http")
    return "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  return "";
}

std::string_view Goodbye(const std::string& protocol) {
  if (protocol == "imap") return "h LOGOUT\r\n";
  if (protocol == "http") return "";
  return "QUIT\r\n";
}

// Reads one line through `read` (plain or TLS).
template <typename ReadFn>
Result<std::string> ReadLine(ReadFn&& read) {
  std::string line;
  char c;
  while (line.size() < kMaxGreeting) {
    int n = read(&c);
    if (n <= 0) {
      if (line.empty()) return Status::IOError("no greeting (connection closed or timed out)");
      break;
    }
    if (c == '\n') break;
    line += c;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::string> Check(const ListenerSpec& spec, SSL_CTX* client_ctx, std::string* shown) {
  auto fd = Connect(spec.address, shown);
  if (!fd.ok()) return fd.status();
  Fd owned{*fd};
  Result<std::string> line = Status::Internal("unreachable");
  if (spec.implicit_tls) {
    SSL* ssl = SSL_new(client_ctx);
    if (!ssl) return Status::Internal(tls::TakeOpenSslError());
    SSL_set_fd(ssl, owned.fd);
    if (SSL_connect(ssl) != 1) {
      std::string err = tls::TakeOpenSslError();
      SSL_free(ssl);
      return Status::IOError("TLS handshake: " + err);
    }
    if (std::string_view hello = Hello(spec.protocol); !hello.empty()) {
      SSL_write(ssl, hello.data(), static_cast<int>(hello.size()));
    }
    line = ReadLine([&](char* c) { return SSL_read(ssl, c, 1); });
    if (line.ok()) {
      std::string_view bye = Goodbye(spec.protocol);
      SSL_write(ssl, bye.data(), static_cast<int>(bye.size()));
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
  } else {
    if (std::string_view hello = Hello(spec.protocol); !hello.empty()) {
      ssize_t ignored = ::write(owned.fd, hello.data(), hello.size());
      (void)ignored;
    }
    line = ReadLine([&](char* c) { return static_cast<int>(::read(owned.fd, c, 1)); });
    if (line.ok()) {
      std::string_view bye = Goodbye(spec.protocol);
      ssize_t ignored = ::write(owned.fd, bye.data(), bye.size());
      (void)ignored;
    }
  }
  if (!line.ok()) return line.status();
  if (!line->starts_with(ExpectedGreeting(spec.protocol))) {
    return Status::IOError("unexpected greeting: " + *line);
  }
  return line;
}

}  // namespace

int RunHealthcheck(const config::Config& config) {
  auto specs = ListenersFromConfig(config);
  if (!specs.ok()) {
    std::printf("config: %s\n", specs.status().message().c_str());
    return 1;
  }
  if (specs->empty()) {
    std::printf("no listeners configured\n");
    return 1;
  }
  auto ctx = tls::MakeClientContext();
  if (!ctx.ok()) {
    std::printf("TLS: %s\n", ctx.status().message().c_str());
    return 1;
  }
  bool all_ok = true;
  for (const ListenerSpec& spec : *specs) {
    std::string shown;
    auto r = Check(spec, ctx->get(), &shown);
    const char* kind = spec.implicit_tls ? " (TLS)" : "";
    if (r.ok()) {
      std::printf("ok      %s %s%s: %s\n", spec.protocol.c_str(), shown.c_str(), kind, r->c_str());
    } else {
      all_ok = false;
      std::printf("FAILED  %s %s%s: %s\n", spec.protocol.c_str(), shown.c_str(), kind,
                  r.status().message().c_str());
    }
  }
  std::fflush(stdout);
  return all_ok ? 0 : 1;
}

}  // namespace pillarbox::server
