// `pillarbox faults [list|set FILE|add RULE|clear]`: the fault rules of a
// running server (README.md "Misbehaving on purpose"). Rules live in the
// server's memory, so this command is a small client of its HTTP API
// (GET/PUT/DELETE /api/v1/faults) on the [http] listener, with the token of
// [http] token_file; --url and --token name another server (an --ephemeral
// one, say).
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "server/cli_internal.h"
#include "server/http_api.h"
#include "server/listen_address.h"

namespace pillarbox::server::cli {
namespace {

using Json = nlohmann::ordered_json;

// Every step of the exchange is bounded by this.
constexpr int kTimeoutMs = 10000;
// Larger answers are not fault lists.
constexpr std::size_t kMaxResponseBytes = 4u << 20;

struct Target {
  std::string host;
  std::string port;
  std::string token;
};

struct HttpReply {
  int status = 0;
  std::string body;
};

// "http://127.0.0.1:8025" (a path after it is ignored).
Result<Target> ParseUrl(const std::string& url) {
  std::string rest = url;
  if (rest.starts_with("https://")) {
    return Status::InvalidArgument(
        "--url: https is not supported by this command; use the plain [http] listen address");
  }
  if (rest.starts_with("http://")) rest = rest.substr(7);
  rest = rest.substr(0, rest.find('/'));
  Target t;
  if (rest.starts_with("[")) {
    std::size_t close = rest.find(']');
    if (close == std::string::npos) return Status::InvalidArgument("--url: bad address " + url);
    t.host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.starts_with(":")) return Status::InvalidArgument("--url: no port in " + url);
    t.port = rest.substr(1);
  } else {
    std::size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("--url: no port in " + url);
    t.host = rest.substr(0, colon);
    t.port = rest.substr(colon + 1);
  }
  if (t.host.empty() || t.port.empty()) return Status::InvalidArgument("--url: bad address " + url);
  return t;
}

// Where this config's server answers HTTP: its first plain [http] listener;
// a wildcard address is reached on loopback.
Result<Target> TargetOf(const config::Config& config, const FaultsArgs& args) {
  Target t;
  if (!args.url.empty()) {
    auto parsed = ParseUrl(args.url);
    if (!parsed.ok()) return parsed.status();
    t = *parsed;
  } else {
    if (config.http.listen.empty()) {
      return Status::InvalidArgument(
          "the server has no [http] listen address; fault rules are set through the HTTP API "
          "(or give --url)");
    }
    auto addr = ParseListenAddress(config.http.listen.front());
    if (!addr.ok()) return addr.status();
    if (addr->kind != ListenAddress::Kind::kTcp) {
      return Status::InvalidArgument("http.listen is not a TCP address; give --url");
    }
    t.host = addr->host;
    if (t.host == "0.0.0.0") t.host = "127.0.0.1";
    if (t.host == "::") t.host = "::1";
    t.port = std::to_string(addr->port);
  }
  if (!args.token.empty()) {
    t.token = args.token;
  } else if (config.http.auth == "token") {
    std::string path = config.http.token_file.empty() ? AbsoluteDataDir(config) + "/http-token"
                                                      : config.http.token_file;
    std::ifstream in(path);
    if (!in) {
      return Status::NotFound("cannot read the HTTP API token " + path +
                              " (has the server started once?); or give --token");
    }
    std::getline(in, t.token);
    while (!t.token.empty() && (t.token.back() == '\r' || t.token.back() == ' ')) {
      t.token.pop_back();
    }
  }
  return t;
}

// Waits until `fd` is ready for `events`; false on timeout or error.
bool Await(int fd, short events) {
  pollfd p{fd, events, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, kTimeoutMs);
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

// One HTTP/1.1 request with "Connection: close"; the answer is read to EOF.
Result<HttpReply> Exchange(const Target& t, const std::string& method, const std::string& body) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(t.host.c_str(), t.port.c_str(), &hints, &res); rc != 0) {
    return Status::InvalidArgument("cannot resolve " + t.host + ": " + ::gai_strerror(rc));
  }
  int fd = -1;
  int err = 0;
  for (addrinfo* a = res; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) {
    return Status::IOError("cannot connect to the server's HTTP API at " + t.host + ":" + t.port +
                           ": " + std::strerror(err) + " (is it running?)");
  }
  std::string request = method + " /api/v1/faults HTTP/1.1\r\nHost: " + t.host +
                        "\r\nConnection: close\r\nContent-Type: application/json\r\n";
  if (!t.token.empty()) request += "Authorization: Bearer " + t.token + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::size_t sent = 0;
  while (sent < request.size()) {
    if (!Await(fd, POLLOUT)) break;
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buf[16384];
  while (sent == request.size() && answer.size() < kMaxResponseBytes && Await(fd, POLLIN)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (sent != request.size() || answer.empty()) {
    return Status::IOError("no answer from the server's HTTP API at " + t.host + ":" + t.port);
  }
  HttpReply reply;
  if (answer.size() < 12 || !answer.starts_with("HTTP/1.")) {
    return Status::IOError("not an HTTP answer from " + t.host + ":" + t.port);
  }
  reply.status = std::atoi(answer.c_str() + 9);
  std::size_t head_end = answer.find("\r\n\r\n");
  if (head_end != std::string::npos) reply.body = answer.substr(head_end + 4);
  // A chunked body (not sent by Pillarbox, but by a proxy in between).
  if (answer.substr(0, head_end).find("chunked") != std::string::npos) {
    std::string joined;
    std::size_t pos = 0;
    while (pos < reply.body.size()) {
      std::size_t eol = reply.body.find("\r\n", pos);
      if (eol == std::string::npos) break;
      std::size_t len = std::strtoul(reply.body.c_str() + pos, nullptr, 16);
      if (len == 0) break;
      joined += reply.body.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    reply.body = std::move(joined);
  }
  return reply;
}

// The error text of an API answer ({"error": "..."}), or the body.
std::string ErrorText(const HttpReply& r) {
  Json j = Json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    return j["error"].get<std::string>();
  }
  return "HTTP " + std::to_string(r.status) + " " + r.body;
}

Result<std::string> ReadInput(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
    text << in.rdbuf();
  }
  return text.str();
}

}  // namespace

int Faults(const config::Config& config, const FaultsArgs& args) {
  auto target = TargetOf(config, args);
  if (!target.ok()) {
    PrintError("faults: " + target.status().message());
    return kExitUsage;
  }
  auto call = [&](const std::string& method, const std::string& body) -> int {
    auto reply = Exchange(*target, method, body);
    if (!reply.ok()) {
      PrintError("faults: " + reply.status().message());
      return kExitTempFail;
    }
    if (reply->status == 204) {
      std::printf("[]\n");
      return kExitOk;
    }
    if (reply->status != 200) {
      PrintError("faults: " + ErrorText(*reply));
      return reply->status == 400 ? kExitUsage : kExitFailure;
    }
    std::printf("%s\n", reply->body.c_str());
    return kExitOk;
  };
  if (args.action.empty() || args.action == "list") return call("GET", "");
  if (args.action == "clear") return call("DELETE", "");
  if (args.action == "set") {
    if (args.value.empty()) {
      PrintError("faults set: give a file of JSON rules, or - for standard input");
      return kExitUsage;
    }
    auto text = ReadInput(args.value);
    if (!text.ok()) {
      PrintError("faults set: " + text.status().message());
      return kExitUsage;
    }
    return call("PUT", *text);
  }
  if (args.action == "add") {
    Json rule = Json::parse(args.value, nullptr, false);
    if (!rule.is_object()) {
      PrintError(
          "faults add: give one rule as a JSON object, e.g. '{\"protocol\": \"imap\", "
          "\"command\": \"FETCH\", \"action\": \"disconnect\", \"after_bytes\": 100}'");
      return kExitUsage;
    }
    auto current = Exchange(*target, "GET", "");
    if (!current.ok()) {
      PrintError("faults: " + current.status().message());
      return kExitTempFail;
    }
    if (current->status != 200) {
      PrintError("faults: " + ErrorText(*current));
      return kExitFailure;
    }
    Json rules = Json::parse(current->body, nullptr, false);
    if (!rules.is_array()) rules = Json::array();
    rules.push_back(std::move(rule));
    return call("PUT", rules.dump());
  }
  PrintError("faults: unknown action " + args.action + " (list, set, add or clear)");
  return kExitUsage;
}

}  // namespace pillarbox::server::cli
