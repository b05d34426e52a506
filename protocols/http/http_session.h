// The HTTP/1.1 session behind the API and the web console: a pure state
// machine like the other protocols (bytes in, bytes out through
// SessionOutput, no libuv or OpenSSL). Requests are parsed by Debian's
// http_parser (a callback parser that keeps no buffer of its own, so it
// fits a session fed in arbitrary pieces); routing and answering are the
// Handler's.
//
// One request at a time: while a request waits for its answer (a store
// commit, a password hash), later pipelined bytes stay buffered and the
// parser is paused. A response body is written in pieces while the output
// is below the high-water mark and continued from OnDrained(), so a large
// raw message never sits in the output queue whole. A Server-Sent Events
// stream (StartStream) keeps the connection until either side closes it.
//
// Limits: request line and headers kMaxHeaderBytes (431), body
// kMaxBodyBytes (413), the connection's login deadline until the first
// request is complete (a request that trickles in is cut), kIdleTimeout
// between requests.
//
// Threads: owner (loop) thread only. Lifetimes: the SessionContext, the
// ConnectionInfo and the SessionOutput must outlive the session; work that
// comes back later captures the session id (Bind) and is dropped once the
// session is gone.
#pragma once

#include <http_parser.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/memory_budget.h"
#include "protocols/session.h"

namespace pillarbox::http {

// Request line and header fields together. Browsers send about 1-2 KiB; a
// long cookie or token still fits many times.
inline constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
// Request bodies are small JSON documents (a user, a setting).
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;
// Input buffered beyond the request being answered (pipelining) before the
// connection stops reading.
inline constexpr std::size_t kMaxBufferedInput = 256 * 1024;
// Between requests on a kept-alive connection.
inline constexpr std::chrono::seconds kIdleTimeout{60};
// An event stream is quiet between events; its keepalive comments are
// output, not input, so the idle sweep must not cut it.
inline constexpr std::chrono::seconds kStreamIdleTimeout{24 * 3600};
// Bytes of a response body written per Write().
inline constexpr std::size_t kBodyChunkBytes = 64 * 1024;

struct Request {
  std::string method;  // "GET", "POST", ... (HEAD is answered as GET without body)
  std::string target;  // as sent: "/api/v1/users?x=1"
  std::string path;    // target before '?', not decoded
  std::map<std::string, std::string> query;  // decoded ('+' is a space); last one wins
  // Names in lower case, values as sent, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = true;

  // The first header named `name` (lower case), or nullptr.
  const std::string* Header(std::string_view name) const;
  // The query parameter, or `fallback` when absent.
  std::string Query(std::string_view name, std::string fallback = {}) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields
  std::string body;
};

// "OK", "Not Found", ...
std::string_view StatusText(int status);
// {"error": "<message>"} with `status`.
Response JsonError(int status, std::string_view message);
// Percent-decodes `s`; `plus_is_space` for query strings. A malformed escape
// is kept as written.
std::string PercentDecode(std::string_view s, bool plus_is_space = false);

class HttpSession;
// Answers a request: now or later (through HttpSession::Bind), exactly once
// with Respond(), or with StartStream().
using Handler = std::function<void(HttpSession& session, Request& request)>;

class HttpSession : public protocols::Session {
 public:
  HttpSession(protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
              protocols::SessionOutput& out, Handler handler);
  ~HttpSession() override;

  // protocols::Session
  void Start() override {}
  void OnInput(std::string_view data) override;
  void OnDrained() override;
  void OnIdleTimeout() override;
  void OnShutdown() override;
  void OnClosed() override;
  std::chrono::seconds IdleTimeout() const override;
  bool Authenticated() const override { return requests_ > 0; }
  void OnLoginTimeout() override;
  std::uint64_t id() const override { return id_; }

  // ---- for handlers --------------------------------------------------------
  protocols::SessionContext& ctx() { return ctx_; }
  storage::Store& store() { return *ctx_.store; }
  const config::Config& config() const { return *ctx_.config; }
  const protocols::ConnectionInfo& info() const { return info_; }

  // Answers the current request. Ignored when there is none (or after the
  // connection closed).
  void Respond(Response response);
  // Answers the current request with `head` (no body, no length) and keeps
  // the connection for Push() until either side closes it. Later input is
  // discarded.
  void StartStream(Response head);
  // Writes to the stream. False when it is closed.
  bool Push(std::string bytes);
  std::size_t QueuedBytes() const { return out_.QueuedBytes(); }
  bool streaming() const { return streaming_; }
  // Closes the connection after what is queued.
  void Close();
  // The body limit of a request, decided from its line and headers (default
  // kMaxBodyBytes for every request).
  void SetBodyLimit(std::function<std::size_t(const Request&)> fn) {
    body_limit_fn_ = std::move(fn);
  }
  // Runs once when the connection is gone (stream cleanup).
  void SetOnClose(std::function<void()> fn) { on_close_ = std::move(fn); }

  // Runs `fn(session, args...)` later if this session still exists and is
  // open (store completions, timers).
  template <typename Fn>
  auto Bind(Fn fn) {
    std::uint64_t id = id_;
    protocols::SessionRegistry* registry = ctx_.registry;
    return [id, registry, fn = std::move(fn)](auto&&... args) mutable {
      auto* s = static_cast<HttpSession*>(registry->Find(id));
      if (s == nullptr || s->closed_) return;
      fn(*s, std::forward<decltype(args)>(args)...);
    };
  }

 private:
  static int OnMessageBegin(http_parser* p);
  static int OnUrl(http_parser* p, const char* at, std::size_t n);
  static int OnHeaderField(http_parser* p, const char* at, std::size_t n);
  static int OnHeaderValue(http_parser* p, const char* at, std::size_t n);
  static int OnHeadersComplete(http_parser* p);
  static int OnBody(http_parser* p, const char* at, std::size_t n);
  static int OnMessageComplete(http_parser* p);
  static const http_parser_settings kSettings;

  bool CountHeaderBytes(std::size_t n);
  void Parse();
  void Dispatch();
  // A request that cannot be parsed or is over a limit: answer and close.
  void Fail(int status, std::string_view message);
  void WriteBody();
  void FinishResponse();
  // The bytes this session holds (unparsed input, the request body, the
  // response body) counted against [limits] max_memory.
  void UpdateCharge();

  protocols::SessionContext& ctx_;
  protocols::ConnectionInfo& info_;
  protocols::SessionOutput& out_;
  Handler handler_;
  std::uint64_t id_ = 0;

  http_parser parser_{};
  std::string in_;
  std::size_t in_pos_ = 0;
  bool parsing_ = false;  // inside Parse (re-entrancy guard)
  bool paused_input_ = false;

  // The request being read or answered.
  Request request_;
  std::size_t header_bytes_ = 0;
  std::function<std::size_t(const Request&)> body_limit_fn_;
  std::size_t body_limit_ = kMaxBodyBytes;  // of the request being read
  bool last_was_value_ = false;
  int error_status_ = 0;  // set by a callback that stopped the parser
  std::string error_message_;
  bool busy_ = false;  // a request waits for its answer
  bool head_ = false;  // the request is HEAD
  std::uint64_t requests_ = 0;

  // The response body being written: body_[body_pos_, end).
  std::string body_;
  std::size_t body_pos_ = 0;
  bool writing_body_ = false;
  bool close_after_ = false;

  MemoryCharge charge_;

  bool streaming_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool shutting_down_ = false;
  std::function<void()> on_close_;
};

}  // namespace pillarbox::http
