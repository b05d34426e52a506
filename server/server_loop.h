// Server: the libuv loop with its listeners, connections, periodic sweeps,
// signals and the store's completion queue. RunServer (server.cpp) builds
// one with the real protocol factories; tests build one with their own.
//
// Order of a stop (SIGTERM/SIGINT, or Stop()): listeners close; every
// session gets OnShutdown() (it says goodbye and closes); connections still
// open after [server] shutdown_grace are cut; the store is flushed and its
// last completions run; then every handle is closed and the loop runs until
// uv_loop_close() succeeds.
//
// Threads: everything runs on the thread that calls Run(), except Post(),
// which any thread may call.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "protocols/imap/sort_cache.h"
#include "protocols/session.h"
#include "server/connection.h"
#include "server/limits.h"
#include "server/listen_address.h"
#include "server/timers.h"
#include "server/tls/tls_context.h"
#include "storage/store.h"

namespace pillarbox::server {

// How often the sweep looks for idle connections and overdue handshakes.
constexpr std::chrono::milliseconds kSweepInterval{1000};
// Client memory freed since the last sweep above which the sweep returns
// free heap pages to the system (malloc_trim).
constexpr std::size_t kTrimAfterFreed = 4u << 20;
// How often commits of other processes (the CLI) are picked up.
constexpr std::chrono::milliseconds kExternalPollInterval{200};

class Server final : public ConnectionHost {
 public:
  using Factories = std::map<std::string, protocols::SessionFactory>;

  // `config` must outlive the server.
  Server(const config::Config& config, Factories factories);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads TLS, binds every listener, opens the store, drops privileges.
  // A failure names the config key and the reason; nothing keeps running.
  // `store` may be given (tests); otherwise it is opened from the config.
  Status Start(std::unique_ptr<storage::Store> store = nullptr);
  // Runs until stopped. Returns 0 after a clean stop.
  int Run();
  // Begins the stop sequence (as SIGTERM does). Loop thread only.
  void Stop();
  // Reloads certificates (as SIGHUP does).
  void ReloadTls();
  // Runs `fn` on the loop thread. Any thread.
  void Post(std::function<void()> fn);

  // Runs `work` on libuv's thread pool, then `done` on the loop thread (slow
  // work such as hashing a password for the HTTP API). Loop thread only.
  void Offload(std::function<void()> work, std::function<void()> done);
  // The store is open, every listener bound and the server not stopping
  // (GET /healthz).
  bool Healthy() const;

  // The bound addresses as "imap 127.0.0.1:1143" etc. (after Start).
  std::vector<std::string> BoundAddresses() const;
  // The port a TCP listener actually got (for port 0 in tests).
  int BoundPort(std::size_t listener_index) const;
  // {"imap":1143,"imaps":1993,...}: the port of the first TCP listener of
  // each protocol ("s" appended for implicit TLS), after Start.
  std::string PortsJson() const;
  uv_loop_t* loop() { return &loop_; }
  storage::Store* store() { return store_.get(); }
  std::size_t connection_count() const { return connections_.size(); }
  const ConnectionLimiter& limiter() const { return limiter_; }

  // ConnectionHost
  void ScheduleTick(Connection* conn) override;
  void OnConnectionClosed(Connection* conn) override;

 private:
  struct Listener {
    Server* server = nullptr;
    ListenerSpec spec;
    uv_handle_t* handle = nullptr;  // uv_tcp_t or uv_pipe_t; freed in close cb
    int port = 0;
  };
  struct Entry {
    std::unique_ptr<Connection> conn;
    std::string ip;  // as counted by the limiter ("" for LMTP and unix sockets)
    std::string protocol;
    Family family = Family::kImapPop3;
    bool counted = false;  // holds a ConnectionLimiter slot
  };

  Status BindListener(Listener* l);
  void Accept(Listener* l);
  // A full family makes room: its oldest connection that is not
  // Authenticated() says why and closes, and gives up its slot. False when
  // every connection of the family is logged in (or closing).
  bool DropOldestUnauthenticated(Family family, const std::string& listener_key);
  void Sweep();
  void ReturnFreedMemory();
  void RunRetention();
  void DrainPosted();
  void FinishStop();
  void CloseEverything();
  Status DropPrivileges();

  static void OnConnectionCb(uv_stream_t* server, int status) noexcept;
  static void OnTickCb(uv_idle_t* handle) noexcept;
  static void OnAsyncCb(uv_async_t* handle) noexcept;
  static void OnSignalCb(uv_signal_t* handle, int signum) noexcept;
  static void OnSweepCb(uv_timer_t* handle) noexcept;
  static void OnPollCb(uv_timer_t* handle) noexcept;
  static void OnRetentionCb(uv_timer_t* handle) noexcept;
  static void OnGraceCb(uv_timer_t* handle) noexcept;
  static void OnListenerClosed(uv_handle_t* handle) noexcept;

  const config::Config& config_;
  Factories factories_;
  uv_loop_t loop_{};
  bool loop_ready_ = false;
  std::string hostname_;

  // Completions from the store's threads.
  struct PostQueue {
    std::mutex mu;
    std::vector<std::function<void()>> items;
    bool closed = false;
  };
  std::shared_ptr<PostQueue> posted_ = std::make_shared<PostQueue>();
  uv_async_t async_{};

  std::unique_ptr<tls::ContextHolder> tls_;
  std::unique_ptr<storage::Store> store_;
  protocols::SessionRegistry registry_;
  std::unique_ptr<protocols::AuthThrottle> throttle_;
  imap::SortKeyCache sort_cache_;  // the IMAP sessions' (protocols/imap/sort_cache.h)
  std::unique_ptr<Timers> timers_;
  std::vector<storage::RetentionRule> retention_rules_;

  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<std::uint64_t, Entry> connections_;
  std::uint64_t next_connection_id_ = 0;
  ConnectionLimiter limiter_;

  uv_idle_t tick_{};
  std::vector<std::uint64_t> scheduled_;
  std::unordered_set<std::uint64_t> scheduled_set_;
  uv_timer_t sweep_timer_{};
  uv_timer_t poll_timer_{};
  uv_timer_t retention_timer_{};
  uv_timer_t grace_timer_{};
  uv_signal_t sig_term_{};
  uv_signal_t sig_int_{};
  uv_signal_t sig_hup_{};
  bool handles_ready_ = false;

  bool stopping_ = false;
  bool finished_ = false;
  int exit_status_ = 0;
};

}  // namespace pillarbox::server
