// The interface between a connection (server/) and a protocol session
// (protocols/pop3, imap, smtp). Sessions are pure state machines: bytes in,
// actions out through SessionOutput. No libuv or OpenSSL types appear here,
// so every session can be driven byte by byte in a unit test.
//
// Threads: everything here runs on the owner (loop) thread.
// Lifetimes: the connection owns the session and its SessionOutput; both the
// Store and the Config in SessionContext must outlive every session.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.h"
#include "protocols/login_name.h"
#include "storage/store.h"

namespace pillarbox::imap {
class SortKeyCache;
}  // namespace pillarbox::imap

namespace pillarbox::protocols {

// What a session asks of its connection.
class SessionOutput {
 public:
  virtual ~SessionOutput() = default;
  // Queues bytes for the client; the connection owns them until written.
  virtual void Write(std::string bytes) = 0;
  // Bytes queued and not yet written to the socket. Sessions that produce
  // large responses stop above the high-water mark and continue in
  // Session::OnDrained().
  virtual std::size_t QueuedBytes() const = 0;
  // Flushes what was written, then starts the TLS handshake; any plaintext
  // the client sent after the command is discarded. On success
  // Session::OnTlsEstablished() runs; on failure the connection closes.
  virtual void StartTls() = 0;
  // Graceful close: flush queued output, then shut down. Idempotent.
  virtual void Close() = 0;
  // Stop / resume delivering input (too many pipelined commands waiting).
  virtual void PauseInput() = 0;
  virtual void ResumeInput() = 0;
  // Something worth a line in the session's transcript that is not a
  // protocol line, such as a fault that fired ("fault: FETCH disconnect").
  virtual void Note(std::string_view text) { (void)text; }
  // Compresses the connection with raw DEFLATE both ways from now on (IMAP
  // COMPRESS=DEFLATE, RFC 4978): bytes written after this call are
  // compressed (inside TLS), and input the session has not been given yet
  // is inflated before it is. The session drops whatever input it buffered
  // past the command. Sets ConnectionInfo::compressed. False when the
  // connection cannot (already compressed, closing, not supported).
  virtual bool StartCompression() { return false; }
};

// Failed-login bookkeeping shared by all sessions of a process, keyed by
// client address and user name. Owner thread only.
class AuthThrottle {
 public:
  explicit AuthThrottle(const config::AuthConfig& config) : config_(config) {}
  // How long to hold the answer to a failed login (grows per failure).
  std::chrono::milliseconds OnFailure(const std::string& ip, const std::string& user);
  void OnSuccess(const std::string& ip, const std::string& user);
  // True while this ip+user is locked out after too many failures.
  bool LockedOut(const std::string& ip, const std::string& user) const;

 private:
  struct Entry {
    int failures = 0;
    std::chrono::steady_clock::time_point last;
  };
  const config::AuthConfig& config_;
  std::unordered_map<std::string, Entry> entries_;
};

// Runs a closure after a delay on the owner thread (the server: a uv timer;
// tests: a fake clock). Used for failed-login delays and IDLE keepalives.
using TimerFn = std::function<void(std::chrono::milliseconds, std::function<void()>)>;

// Sessions alive now, by id. Completions from the store capture a session id
// and look it up here; a stale id is dropped (CONTRIBUTING.md, threads and lifetimes 4).
class Session;
class SessionRegistry {
 public:
  // Ids start after `base` (Store::SessionIdBase()), unique across restarts
  // and processes sharing a store.
  void set_base(std::uint64_t base) { next_id_ = base; }
  std::uint64_t Add(Session* session) {
    std::uint64_t id = ++next_id_;
    sessions_[id] = session;
    return id;
  }
  void Remove(std::uint64_t id) { sessions_.erase(id); }
  Session* Find(std::uint64_t id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second;
  }
  std::size_t size() const { return sessions_.size(); }

 private:
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, Session*> sessions_;
};

// Wraps `fn` for anything that comes back later (a store completion, a
// timer, a watch): it runs as fn(session, args...) only while the session
// `id` is still registered, else `gone(args...)` runs (nothing by default).
// Nothing queued captures a raw session pointer (CONTRIBUTING.md, threads
// and lifetimes 4). S is the session's type: ids are unique across
// protocols, so the id names a session of that type.
template <typename S, typename Fn, typename Gone>
auto BindSession(SessionRegistry* registry, std::uint64_t id, Fn fn, Gone gone) {
  return [registry, id, fn = std::move(fn), gone = std::move(gone)](auto&&... args) mutable {
    auto* s = static_cast<S*>(registry->Find(id));
    if (s == nullptr) {
      gone(std::forward<decltype(args)>(args)...);
      return;
    }
    fn(*s, std::forward<decltype(args)>(args)...);
  };
}
template <typename S, typename Fn>
auto BindSession(SessionRegistry* registry, std::uint64_t id, Fn fn) {
  return BindSession<S>(registry, id, std::move(fn), [](auto&&...) {});
}

// Everything a session may use, owned elsewhere.
struct SessionContext {
  storage::Store* store = nullptr;
  const config::Config* config = nullptr;
  SessionRegistry* registry = nullptr;
  AuthThrottle* throttle = nullptr;
  // IMAP SORT/THREAD keys shared by the loop's sessions; null: none kept.
  imap::SortKeyCache* sort_cache = nullptr;
  TimerFn timer;
  std::string hostname = "localhost";
};

// Facts about one connection.
struct ConnectionInfo {
  std::string peer_ip;  // "127.0.0.1", "::1"
  std::uint16_t peer_port = 0;
  bool loopback = false;
  bool tls_active = false;     // implicit TLS, or after STARTTLS
  bool tls_available = false;  // a certificate is loaded (STARTTLS possible)
  bool unix_socket = false;    // LMTP over a unix socket
  bool compressed = false;     // SessionOutput::StartCompression() succeeded
  // The listener's capability override (imap.listener_profiles,
  // pop3.listener_capabilities): a profile name or removals; "" for none.
  std::string listener_capabilities;
};

// Whether a plaintext password (IMAP LOGIN, AUTHENTICATE PLAIN/LOGIN, POP3
// USER/PASS and AUTH, SMTP AUTH) may be sent on this connection under
// [auth] plaintext. A unix socket is as local as loopback. The one rule for
// every protocol.
bool PlaintextAllowed(const config::AuthConfig& auth, const ConnectionInfo& info);

class Session {
 public:
  virtual ~Session() = default;

  // The connection is ready: send the greeting.
  virtual void Start() = 0;
  // Bytes from the client, in any split. The session buffers what it needs.
  virtual void OnInput(std::string_view data) = 0;
  // Output fell below the low-water mark after Write()s.
  virtual void OnDrained() {}
  // STARTTLS finished; ConnectionInfo::tls_active is now true. Reset parsers.
  virtual void OnTlsEstablished() {}
  // The idle sweep found the session idle longer than IdleTimeout(): say
  // goodbye (e.g. "* BYE Autologout") and Close().
  virtual void OnIdleTimeout() = 0;
  // The server is stopping: say goodbye and Close().
  virtual void OnShutdown() = 0;
  // The connection is gone (either side). Release locks; abandon pending work.
  // No output is possible after this.
  virtual void OnClosed() = 0;
  virtual std::chrono::seconds IdleTimeout() const = 0;
  // True once the client is past its login phase: logged in (IMAP, POP3),
  // past MAIL FROM or AUTH (SMTP); always for LMTP, which is trusted intake.
  // Until then the connection closes it at [limits] login_timeout after
  // connecting, however many bytes it sends, and a full server drops the
  // oldest such connection to admit a new client.
  virtual bool Authenticated() const = 0;
  // The login deadline passed: say goodbye and Close(). The default is the
  // idle timeout's goodbye.
  virtual void OnLoginTimeout() { OnIdleTimeout(); }
  // For logs and the live-session table.
  virtual std::uint64_t id() const = 0;
  // What the client said about itself (IMAP ID: "name version"); empty when
  // it said nothing. For the HTTP API's session list.
  virtual std::string ClientId() const { return {}; }
};

// A protocol's factory, chosen by the listener.
using SessionFactory = std::function<std::unique_ptr<Session>(
    SessionContext& ctx, ConnectionInfo& info, SessionOutput& out)>;

}  // namespace pillarbox::protocols
