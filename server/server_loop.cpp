#include "server/server_loop.h"

#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/log.h"
#include "common/memory_budget.h"
#include "common/metrics.h"
#include "config/capabilities.h"
#include "server/paths.h"
#include "server/store_options.h"
#include "server/transcript_book.h"
#include "server/uv_stream.h"
#include "services/settings.h"

namespace pillarbox::server {
namespace {

// Pending connections the kernel queues per listener.
constexpr int kListenBacklog = 511;
// The first retention sweep runs this soon after start (or at the
// configured interval when that is shorter).
constexpr std::chrono::seconds kFirstRetentionDelay{60};
// Output that may pile up for one connection before it is cut off.
constexpr std::size_t kMinOutputHardLimit = 128u * 1024 * 1024;
// Loop rounds the destructor runs for aborted connections to close: one
// round runs every pending close callback, so a few are plenty.
constexpr int kMaxTeardownRounds = 16;

std::string MachineHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

bool IsLoopback(const std::string& ip) { return ip.starts_with("127.") || ip == "::1"; }

// A unix socket path left behind by a server that is gone: connecting is
// refused. A live server answers, and then we must not take its path.
Status PrepareUnixPath(const std::string& path, const std::string& key) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return Status::Ok();
  if (!S_ISSOCK(st.st_mode)) {
    return Status::InvalidArgument(key + ": " + path + " exists and is not a socket");
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(key + ": socket: " + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (r == 0) {
    return Status::InUse(key + ": " + path + " is in use by a running server");
  }
  if (err != ECONNREFUSED && err != ENOENT) {
    return Status::IOError(key + ": " + path + ": " + std::strerror(err));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::IOError(key + ": cannot remove stale socket " + path + ": " +
                           std::strerror(errno));
  }
  LOG_INFO("{}: removed stale socket {}", key, path);
  return Status::Ok();
}

template <typename H>
void CloseHandle(H* h) {
  auto* handle = reinterpret_cast<uv_handle_t*>(h);
  if (handle->loop != nullptr && !uv_is_closing(handle)) uv_close(handle, nullptr);
}

}  // namespace

Server::Server(const config::Config& config, Factories factories)
    : config_(config),
      factories_(std::move(factories)),
      limiter_({config.limits.max_connections, config.limits.max_smtp_connections,
                config.limits.max_lmtp_connections, config.http.max_connections},
               config.limits.max_connections_per_ip) {}

Server::~Server() {
  if (!loop_ready_) return;
  // A server that was never run (a failed start) or stopped abnormally:
  // close what is open and let the loop free it. The connections' close
  // callbacks close their sessions, which use the store (unsubscribe,
  // release a POP3 login): they run before the store goes.
  for (auto& [id, e] : connections_) e.conn->Abort();
  for (int i = 0; i < kMaxTeardownRounds && !connections_.empty(); ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  if (!connections_.empty()) {
    LOG_ERROR("{} connections did not close at exit", connections_.size());
  }
  if (store_) {
    store_->Flush();
    DrainPosted();
    store_.reset();
  }
  CloseEverything();
  uv_run(&loop_, UV_RUN_DEFAULT);
  connections_.clear();
  DrainPosted();
  if (uv_loop_close(&loop_) != 0) LOG_ERROR("event loop: handles still open at exit");
}

Status Server::Start(std::unique_ptr<storage::Store> store) {
  hostname_ = config_.server.hostname.empty() ? MachineHostname() : config_.server.hostname;
  if (int r = uv_loop_init(&loop_); r != 0) {
    return Status::Internal(std::string("uv_loop_init: ") + uv_strerror(r));
  }
  loop_ready_ = true;
  ::signal(SIGPIPE, SIG_IGN);
  std::size_t budget =
      config_.limits.max_memory ? config_.limits.max_memory : AutomaticMemoryBudget();
  MemoryBudget::Global().set_limit(budget);
  LOG_INFO("memory budget for client data: {} MiB", budget >> 20);

  auto specs = ListenersFromConfig(config_);
  if (!specs.ok()) return specs.status();
  auto rules = services::RetentionRules(config_);
  if (!rules.ok()) return rules.status();
  retention_rules_ = std::move(*rules);
  for (const auto& spec : *specs) {
    if (!factories_.count(spec.protocol)) {
      return Status::Internal(spec.key + ": no session for protocol " + spec.protocol);
    }
  }

  // TLS: for implicit-TLS ports and STARTTLS on plain ones, when a listener
  // needs it (NeedsCertificate); otherwise nothing is generated.
  if (NeedsCertificate(config_, *specs)) {
    auto certs = tls::ResolveCertificate(config_.tls, GeneratedTlsDir(config_), hostname_);
    if (!certs.ok()) return certs.status();
    if (certs->generated) {
      LOG_INFO("generated a self-signed certificate for {}: {}", hostname_, certs->cert);
    }
    tls_ = std::make_unique<tls::ContextHolder>(certs->cert, certs->key, config_.tls.min_version);
    PB_RETURN_IF_ERROR(tls_->Reload());
    LOG_INFO("tls certificate {} sha256 {}", tls_->cert_file(), tls_->fingerprint());
  } else {
    LOG_INFO("no TLS listener and no [tls] cert: no certificate, no STARTTLS");
  }

  uv_async_init(&loop_, &async_, OnAsyncCb);
  async_.data = this;
  uv_idle_init(&loop_, &tick_);
  tick_.data = this;
  for (uv_timer_t* t : {&sweep_timer_, &poll_timer_, &retention_timer_, &grace_timer_}) {
    uv_timer_init(&loop_, t);
    t->data = this;
  }
  for (uv_signal_t* s : {&sig_term_, &sig_int_, &sig_hup_}) {
    uv_signal_init(&loop_, s);
    s->data = this;
  }
  handles_ready_ = true;
  timers_ = std::make_unique<Timers>(&loop_);

  for (const auto& spec : *specs) {
    auto l = std::make_unique<Listener>();
    l->server = this;
    l->spec = spec;
    Status s = BindListener(l.get());
    listeners_.push_back(std::move(l));
    if (!s.ok()) return s;
  }

  if (store) {
    store_ = std::move(store);
  } else {
    std::weak_ptr<PostQueue> weak = posted_;
    uv_async_t* async = &async_;
    storage::StoreOptions options =
        MakeStoreOptions(config_, [weak, async](std::function<void()> fn) {
          auto q = weak.lock();
          if (!q) return;
          std::lock_guard<std::mutex> lock(q->mu);
          if (q->closed) return;
          q->items.push_back(std::move(fn));
          // Coalesces: one callback drains everything queued (CONTRIBUTING.md,
          // threads and lifetimes).
          uv_async_send(async);
        });
    std::error_code ec;
    std::filesystem::create_directories(config_.server.data_dir, ec);
    auto opened = storage::Store::Open(std::move(options));
    if (!opened.ok()) {
      return Status(opened.status().code(), "cannot open the store in " + StoreDir(config_) + ": " +
                                                opened.status().message());
    }
    store_ = std::move(*opened);
  }
  registry_.set_base(store_->SessionIdBase());
  throttle_ = std::make_unique<protocols::AuthThrottle>(config_.auth);

  PB_RETURN_IF_ERROR(DropPrivileges());

  for (const auto& l : listeners_) {
    ListenAddress a = l->spec.address;
    if (a.kind == ListenAddress::Kind::kTcp) a.port = static_cast<std::uint16_t>(l->port);
    LOG_INFO("{} listening on {}{}", l->spec.protocol, a.ToString(),
             l->spec.implicit_tls ? " (TLS)" : "");
  }
  if (auto view = store_->Read(); view && view->ListUsers().empty()) {
    LOG_WARN("no users yet: add one with `pillarbox user add NAME` (it asks for the password)");
  }

  uv_signal_start(&sig_term_, OnSignalCb, SIGTERM);
  uv_signal_start(&sig_int_, OnSignalCb, SIGINT);
  uv_signal_start(&sig_hup_, OnSignalCb, SIGHUP);
  uv_timer_start(&sweep_timer_, OnSweepCb, kSweepInterval.count(), kSweepInterval.count());
  uv_timer_start(&poll_timer_, OnPollCb, kExternalPollInterval.count(),
                 kExternalPollInterval.count());
  auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(config_.retention.sweep_interval, std::chrono::seconds(1)));
  auto first = std::min<std::chrono::milliseconds>(interval, kFirstRetentionDelay);
  uv_timer_start(&retention_timer_, OnRetentionCb, first.count(), interval.count());
  return Status::Ok();
}

Status Server::BindListener(Listener* l) {
  const ListenAddress& a = l->spec.address;
  auto fail = [&](int r) {
    return Status::IOError(l->spec.key + ": cannot listen on " + a.ToString() + ": " +
                           uv_strerror(r));
  };
  if (a.kind == ListenAddress::Kind::kUnix) {
    PB_RETURN_IF_ERROR(PrepareUnixPath(a.path, l->spec.key));
    auto* pipe = new uv_pipe_t;
    uv_pipe_init(&loop_, pipe, 0);
    pipe->data = l;
    l->handle = reinterpret_cast<uv_handle_t*>(pipe);
    if (int r = uv_pipe_bind(pipe, a.path.c_str()); r != 0) return fail(r);
    // lmtp.socket_mode, auth.postfix_socket_mode, delivery.socketmap_socket_mode;
    // the directory's permissions decide too. Before listen, so that no
    // client connects through a wider mode.
    if (::chmod(a.path.c_str(), l->spec.unix_mode) != 0) {
      return Status::IOError(l->spec.key + ": chmod " + a.path + ": " + std::strerror(errno));
    }
    if (int r = uv_listen(reinterpret_cast<uv_stream_t*>(pipe), kListenBacklog, OnConnectionCb);
        r != 0) {
      return fail(r);
    }
    return Status::Ok();
  }
  auto* tcp = new uv_tcp_t;
  uv_tcp_init(&loop_, tcp);
  tcp->data = l;
  l->handle = reinterpret_cast<uv_handle_t*>(tcp);
  sockaddr_storage addr{};
  int r = a.ipv6 ? uv_ip6_addr(a.host.c_str(), a.port, reinterpret_cast<sockaddr_in6*>(&addr))
                 : uv_ip4_addr(a.host.c_str(), a.port, reinterpret_cast<sockaddr_in*>(&addr));
  if (r != 0) return fail(r);
  // [::] binds IPv6 only, so that 0.0.0.0 may be listed beside it.
  r = uv_tcp_bind(tcp, reinterpret_cast<sockaddr*>(&addr), a.ipv6 ? UV_TCP_IPV6ONLY : 0);
  if (r != 0) return fail(r);
  r = uv_listen(reinterpret_cast<uv_stream_t*>(tcp), kListenBacklog, OnConnectionCb);
  if (r != 0) return fail(r);
  sockaddr_storage bound{};
  int len = sizeof bound;
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
    l->port = bound.ss_family == AF_INET6
                  ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                  : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  return Status::Ok();
}

std::vector<std::string> Server::BoundAddresses() const {
  std::vector<std::string> out;
  for (const auto& l : listeners_) {
    ListenAddress a = l->spec.address;
    if (a.kind == ListenAddress::Kind::kTcp) a.port = static_cast<std::uint16_t>(l->port);
    out.push_back(l->spec.protocol + (l->spec.implicit_tls ? "s " : " ") + a.ToString());
  }
  return out;
}

int Server::BoundPort(std::size_t listener_index) const {
  return listener_index < listeners_.size() ? listeners_[listener_index]->port : 0;
}

std::string Server::PortsJson() const {
  std::string out = "{";
  std::vector<std::string> seen;
  for (const auto& l : listeners_) {
    if (l->spec.address.kind != ListenAddress::Kind::kTcp) continue;
    std::string key = l->spec.protocol + (l->spec.implicit_tls ? "s" : "");
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    if (out.size() > 1) out += ',';
    out += '"' + key + "\":" + std::to_string(l->port);
  }
  return out + "}";
}

void Server::OnConnectionCb(uv_stream_t* server, int status) noexcept {
  auto* l = static_cast<Listener*>(server->data);
  if (status != 0) {
    LOG_WARN("{}: accept: {}", l->spec.key, uv_strerror(status));
    return;
  }
  try {
    l->server->Accept(l);
  } catch (const std::exception& e) {
    LOG_ERROR("{}: accepting a connection: {}", l->spec.key, e.what());
  }
}

void Server::Accept(Listener* l) {
  bool unix_socket = l->spec.address.kind == ListenAddress::Kind::kUnix;
  auto io = std::make_unique<UvStream>(&loop_,
                                       unix_socket ? UvStream::Kind::kPipe : UvStream::Kind::kTcp);
  if (int r = uv_accept(reinterpret_cast<uv_stream_t*>(l->handle), io->stream()); r != 0) {
    LOG_WARN("{}: accept: {}", l->spec.key, uv_strerror(r));
    return;  // ~UvStream closes the handle
  }
  protocols::ConnectionInfo info;
  info.unix_socket = unix_socket;
  if (l->spec.protocol == "imap") {
    info.listener_capabilities =
        config::ListenerOverride(config_.imap.listener_profiles, l->spec.text);
  } else if (l->spec.protocol == "pop3") {
    info.listener_capabilities =
        config::ListenerOverride(config_.pop3.listener_capabilities, l->spec.text);
  }
  if (unix_socket) {
    info.loopback = true;
  } else {
    auto* tcp = reinterpret_cast<uv_tcp_t*>(io->stream());
    uv_tcp_nodelay(tcp, 1);
    uv_tcp_keepalive(tcp, 1, 300);
    sockaddr_storage peer{};
    int len = sizeof peer;
    if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
      char name[INET6_ADDRSTRLEN] = {};
      if (peer.ss_family == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&peer);
        uv_ip6_name(in6, name, sizeof name);
        info.peer_port = ntohs(in6->sin6_port);
      } else {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&peer);
        uv_ip4_name(in4, name, sizeof name);
        info.peer_port = ntohs(in4->sin_port);
      }
      info.peer_ip = name;
      // An IPv4 client on a dual-stack socket counts as its IPv4 address.
      if (info.peer_ip.starts_with("::ffff:") && info.peer_ip.find('.') != std::string::npos) {
        info.peer_ip = info.peer_ip.substr(7);
      }
    }
    info.loopback = IsLoopback(info.peer_ip);
  }

  std::uint64_t id = ++next_connection_id_;
  ConnectionOptions options;
  options.protocol = l->spec.protocol;
  options.implicit_tls = l->spec.implicit_tls;
  options.tls_context = tls_ ? tls_->current() : nullptr;
  options.output_high_water = config_.limits.output_high_water;
  options.output_low_water = config_.limits.output_low_water;
  options.output_hard_limit =
      std::max(kMinOutputHardLimit, 2 * config_.limits.max_message_size + (1u << 20));
  options.handshake_timeout = config_.tls.handshake_timeout;
  options.login_timeout = config_.limits.login_timeout;
  options.transcripts = config_.log.transcripts;
  options.record_transcript = TranscriptBook::Global().enabled();

  Entry entry;
  entry.protocol = l->spec.protocol;
  entry.family = FamilyOf(l->spec.protocol);
  // LMTP is the MTA's trusted intake: its own budget, no per-address limit.
  entry.ip = entry.family == Family::kLmtp ? std::string() : info.peer_ip;
  auto verdict = stopping_                            ? ConnectionLimiter::Verdict::kTooManyTotal
                 : MemoryBudget::Global().Exhausted() ? ConnectionLimiter::Verdict::kShortOfMemory
                                                      : limiter_.TryAcquire(entry.ip, entry.family);
  // Full: the newcomer takes the place of the oldest client that has not
  // logged in (Dovecot's login processes do the same), so that idle or
  // trickling connections cannot lock everybody out.
  if (verdict == ConnectionLimiter::Verdict::kTooManyTotal && !stopping_ &&
      DropOldestUnauthenticated(entry.family, l->spec.key)) {
    verdict = limiter_.TryAcquire(entry.ip, entry.family);
  }
  entry.counted = verdict == ConnectionLimiter::Verdict::kAccept;
  entry.conn = std::make_unique<Connection>(id, std::move(options), info, this);
  Connection* conn = entry.conn.get();
  io->Bind(conn);
  conn->AttachIo(std::move(io));
  connections_.emplace(id, std::move(entry));

  if (verdict != ConnectionLimiter::Verdict::kAccept) {
    LOG_INFO("{}: refusing {}: {} connections of its kind, {} from its address", l->spec.key,
             unix_socket ? "unix" : info.peer_ip, limiter_.total(FamilyOf(l->spec.protocol)),
             limiter_.from(info.peer_ip));
    metrics::Count("connections_refused_total", metrics::Label("protocol", l->spec.protocol),
                   "Connections refused over a limit, by protocol");
    conn->Refuse(RefusalLine(l->spec.protocol, verdict));
    return;
  }
  metrics::Count("connections_total", metrics::Label("protocol", l->spec.protocol),
                 "Connections accepted, by protocol");
  LOG_DEBUG("{} #{}: connection from {}:{}", l->spec.protocol, id,
            unix_socket ? "unix" : info.peer_ip, info.peer_port);
  protocols::SessionContext ctx;
  ctx.store = store_.get();
  ctx.config = &config_;
  ctx.registry = &registry_;
  ctx.throttle = throttle_.get();
  ctx.sort_cache = &sort_cache_;
  ctx.hostname = hostname_;
  // Timers die with the connection (Timers::CancelOwner in OnConnectionClosed).
  ctx.timer = [this, id](std::chrono::milliseconds delay, std::function<void()> fn) {
    if (timers_) timers_->Add(id, delay, std::move(fn));
  };
  try {
    conn->Start(factories_.at(l->spec.protocol), ctx);
  } catch (const std::exception& e) {
    LOG_ERROR("{} #{}: starting the session: {}", l->spec.protocol, id, e.what());
    conn->Abort();
  }
}

bool Server::DropOldestUnauthenticated(Family family, const std::string& listener_key) {
  // Connection ids grow with time: the smallest is the oldest.
  std::uint64_t oldest = 0;
  Entry* victim = nullptr;
  for (auto& [id, e] : connections_) {
    if (!e.counted || e.family != family || e.conn->closing() || e.conn->authenticated()) continue;
    if (victim == nullptr || id < oldest) {
      oldest = id;
      victim = &e;
    }
  }
  if (victim == nullptr) return false;
  Connection* conn = victim->conn.get();
  auto age =
      std::chrono::duration_cast<std::chrono::seconds>(Connection::Clock::now() - conn->created());
  LOG_INFO("{}: full: dropping {} #{} from {} (not logged in after {} s) for a new client",
           listener_key, victim->protocol, oldest,
           conn->info().unix_socket ? "unix" : conn->info().peer_ip, age.count());
  limiter_.Release(victim->ip, victim->family);
  victim->counted = false;
  if (conn->session() != nullptr && !conn->handshaking()) {
    conn->Write(RefusalLine(victim->protocol, ConnectionLimiter::Verdict::kTooManyTotal));
    conn->Close();
  } else {
    conn->Abort();
  }
  return true;
}

void Server::ScheduleTick(Connection* conn) {
  if (!scheduled_set_.insert(conn->id()).second) return;
  scheduled_.push_back(conn->id());
  if (handles_ready_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&tick_))) {
    uv_idle_start(&tick_, OnTickCb);
  }
}

void Server::OnTickCb(uv_idle_t* handle) noexcept {
  auto* self = static_cast<Server*>(handle->data);
  std::vector<std::uint64_t> ids = std::move(self->scheduled_);
  self->scheduled_.clear();
  self->scheduled_set_.clear();
  for (std::uint64_t id : ids) {
    auto it = self->connections_.find(id);
    if (it == self->connections_.end()) continue;
    try {
      it->second.conn->OnTick();
    } catch (const std::exception& e) {
      LOG_ERROR("connection #{}: {}", id, e.what());
      it->second.conn->Abort();
    }
  }
  if (self->scheduled_.empty()) uv_idle_stop(handle);
}

void Server::OnConnectionClosed(Connection* conn) {
  std::uint64_t id = conn->id();
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  if (it->second.counted) limiter_.Release(it->second.ip, it->second.family);
  if (timers_) timers_->CancelOwner(id);
  scheduled_set_.erase(id);
  connections_.erase(it);  // destroys conn and its session
  if (stopping_ && connections_.empty()) FinishStop();
}

void Server::Sweep() {
  ReturnFreedMemory();
  auto now = Connection::Clock::now();
  std::vector<Connection*> conns;
  conns.reserve(connections_.size());
  for (auto& [id, e] : connections_) conns.push_back(e.conn.get());
  // Sweep only starts closes; nothing is destroyed before the loop's close
  // phase, so the pointers stay valid.
  for (Connection* c : conns) {
    try {
      c->Sweep(now);
    } catch (const std::exception& e) {
      LOG_ERROR("connection #{}: {}", c->id(), e.what());
      c->Abort();
    }
  }
}

void Server::ReturnFreedMemory() {
  // glibc keeps freed heap memory for reuse: after a client that held
  // hundreds of megabytes (a pipelining burst, a large literal) is gone,
  // the process would stay that big. malloc_trim gives the free pages back;
  // it walks the heap, so it runs only when much was freed, at most once
  // per sweep (a second).
  MemoryBudget& budget = MemoryBudget::Global();
  std::size_t peak = budget.TakePeak();
  if (peak > budget.used() + kTrimAfterFreed) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
  }
}

void Server::OnSweepCb(uv_timer_t* handle) noexcept { static_cast<Server*>(handle->data)->Sweep(); }

void Server::OnPollCb(uv_timer_t* handle) noexcept {
  auto* self = static_cast<Server*>(handle->data);
  try {
    if (self->store_) self->store_->PollExternalChanges();
  } catch (const std::exception& e) {
    LOG_ERROR("polling the store: {}", e.what());
  }
}

void Server::RunRetention() {
  if (!store_) return;
  store_->SweepRetention(retention_rules_, static_cast<storage::UnixTime>(std::time(nullptr)),
                         [](Status s) {
                           if (!s.ok()) LOG_ERROR("retention sweep: {}", s.ToString());
                         });
}

void Server::OnRetentionCb(uv_timer_t* handle) noexcept {
  try {
    static_cast<Server*>(handle->data)->RunRetention();
  } catch (const std::exception& e) {
    LOG_ERROR("retention sweep: {}", e.what());
  }
}

void Server::Post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(posted_->mu);
  if (posted_->closed) return;
  posted_->items.push_back(std::move(fn));
  uv_async_send(&async_);
}

namespace {
struct OffloadRequest {
  uv_work_t req{};
  std::function<void()> work;
  std::function<void()> done;
};
}  // namespace

void Server::Offload(std::function<void()> work, std::function<void()> done) {
  auto* r = new OffloadRequest;
  r->req.data = r;
  r->work = std::move(work);
  r->done = std::move(done);
  int rc = uv_queue_work(
      &loop_, &r->req,
      [](uv_work_t* req) noexcept {
        auto* r = static_cast<OffloadRequest*>(req->data);
        try {
          r->work();
        } catch (const std::exception& e) {
          LOG_ERROR("offloaded work: {}", e.what());
        }
      },
      [](uv_work_t* req, int) noexcept {
        std::unique_ptr<OffloadRequest> r(static_cast<OffloadRequest*>(req->data));
        try {
          r->done();
        } catch (const std::exception& e) {
          LOG_ERROR("offloaded work completion: {}", e.what());
        }
      });
  if (rc != 0) {
    std::unique_ptr<OffloadRequest> owned(r);
    LOG_ERROR("uv_queue_work: {}", uv_strerror(rc));
  }
}

bool Server::Healthy() const {
  if (!store_ || stopping_) return false;
  for (const auto& l : listeners_) {
    if (l->handle == nullptr) return false;
  }
  return true;
}

void Server::DrainPosted() {
  // Completions may post more; take batches until the queue stays empty.
  for (;;) {
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard<std::mutex> lock(posted_->mu);
      batch.swap(posted_->items);
    }
    if (batch.empty()) return;
    for (auto& fn : batch) {
      try {
        fn();
      } catch (const std::exception& e) {
        LOG_ERROR("store completion: {}", e.what());
      }
    }
  }
}

void Server::OnAsyncCb(uv_async_t* handle) noexcept {
  static_cast<Server*>(handle->data)->DrainPosted();
}

void Server::OnSignalCb(uv_signal_t* handle, int signum) noexcept {
  auto* self = static_cast<Server*>(handle->data);
  try {
    if (signum == SIGHUP) {
      self->ReloadTls();
    } else {
      LOG_INFO("{}: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
      self->Stop();
    }
  } catch (const std::exception& e) {
    LOG_ERROR("signal handler: {}", e.what());
  }
}

void Server::ReloadTls() {
  if (!tls_) return;
  Status s = tls_->Reload();
  if (s.ok()) {
    LOG_INFO("TLS certificate reloaded from {}", tls_->cert_file());
    LOG_INFO("tls certificate {} sha256 {}", tls_->cert_file(), tls_->fingerprint());
  } else {
    LOG_ERROR("TLS reload failed, keeping the previous certificate: {}", s.ToString());
  }
}

void Server::OnListenerClosed(uv_handle_t* handle) noexcept {
  if (handle->type == UV_TCP) {
    delete reinterpret_cast<uv_tcp_t*>(handle);
  } else {
    delete reinterpret_cast<uv_pipe_t*>(handle);
  }
}

void Server::Stop() {
  if (finished_) return;
  if (stopping_) {
    // A second signal: no more grace.
    for (auto& [id, e] : connections_) e.conn->Abort();
    return;
  }
  stopping_ = true;
  for (auto& l : listeners_) {
    if (l->handle && !uv_is_closing(l->handle)) {
      uv_close(l->handle, OnListenerClosed);
      if (l->spec.address.kind == ListenAddress::Kind::kUnix)
        ::unlink(l->spec.address.path.c_str());
    }
    l->handle = nullptr;
  }
  std::vector<Connection*> conns;
  for (auto& [id, e] : connections_) conns.push_back(e.conn.get());
  for (Connection* c : conns) c->Shutdown();
  if (connections_.empty()) {
    FinishStop();
    return;
  }
  auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(config_.server.shutdown_grace);
  uv_timer_start(&grace_timer_, OnGraceCb, static_cast<std::uint64_t>(grace.count()), 0);
}

void Server::OnGraceCb(uv_timer_t* handle) noexcept {
  auto* self = static_cast<Server*>(handle->data);
  LOG_INFO("{} connections still open after the shutdown grace; closing them",
           self->connections_.size());
  for (auto& [id, e] : self->connections_) e.conn->Abort();
}

void Server::FinishStop() {
  if (finished_) return;
  finished_ = true;
  uv_timer_stop(&grace_timer_);
  if (store_) {
    store_->Flush();
    DrainPosted();
    store_.reset();  // joins the store's threads
    DrainPosted();
  }
  CloseEverything();
}

void Server::CloseEverything() {
  {
    std::lock_guard<std::mutex> lock(posted_->mu);
    posted_->closed = true;
  }
  for (auto& l : listeners_) {
    if (l->handle && !uv_is_closing(l->handle)) {
      uv_close(l->handle, OnListenerClosed);
      if (l->spec.address.kind == ListenAddress::Kind::kUnix)
        ::unlink(l->spec.address.path.c_str());
    } else if (l->handle == nullptr) {
      // already closed
    }
    l->handle = nullptr;
  }
  if (timers_) timers_->CancelAll();
  if (!handles_ready_) return;
  CloseHandle(&async_);
  CloseHandle(&tick_);
  CloseHandle(&sweep_timer_);
  CloseHandle(&poll_timer_);
  CloseHandle(&retention_timer_);
  CloseHandle(&grace_timer_);
  CloseHandle(&sig_term_);
  CloseHandle(&sig_int_);
  CloseHandle(&sig_hup_);
}

int Server::Run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  // Everything is closed; close callbacks have run.
  if (int r = uv_loop_close(&loop_); r != 0) {
    LOG_ERROR("event loop: handles still open after shutdown");
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) { LOG_ERROR("  open handle: {}", uv_handle_type_name(h->type)); },
        nullptr);
    exit_status_ = 1;
    return exit_status_;
  }
  loop_ready_ = false;
  LOG_INFO("stopped");
  return exit_status_;
}

Status Server::DropPrivileges() {
  const std::string& user = config_.server.user;
  if (::geteuid() != 0) {
    if (!user.empty()) LOG_DEBUG("not started as root; server.user ignored");
    return Status::Ok();
  }
  if (user.empty()) {
    LOG_WARN("running as root: set server.user to drop privileges after binding");
    return Status::Ok();
  }
  errno = 0;
  struct passwd* pw = ::getpwnam(user.c_str());
  if (!pw) return Status::InvalidArgument("server.user: no such user \"" + user + "\"");
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  if (!config_.server.group.empty()) {
    struct group* gr = ::getgrnam(config_.server.group.c_str());
    if (!gr) {
      return Status::InvalidArgument("server.group: no such group \"" + config_.server.group +
                                     "\"");
    }
    gid = gr->gr_gid;
  }
  // The data directory becomes the user's, so that the store, the lock
  // file and the generated certificate stay writable.
  std::error_code ec;
  const std::string& dir = config_.server.data_dir;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0 && (st.st_uid != uid || st.st_gid != gid)) {
    ::lchown(dir.c_str(), uid, gid);
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (::lchown(it->path().c_str(), uid, gid) != 0) {
        return Status::IOError("server.user: cannot chown " + it->path().string() + ": " +
                               std::strerror(errno));
      }
    }
  }
  if (::setgroups(1, &gid) != 0) {
    return Status::IOError(std::string("server.user: setgroups: ") + std::strerror(errno));
  }
  if (::setgid(gid) != 0) {
    return Status::IOError(std::string("server.group: setgid: ") + std::strerror(errno));
  }
  if (::setuid(uid) != 0) {
    return Status::IOError(std::string("server.user: setuid: ") + std::strerror(errno));
  }
  if (::setuid(0) == 0 || ::geteuid() == 0) {
    return Status::Internal("server.user: privileges could not be dropped");
  }
  LOG_INFO("running as user {} (uid {}, gid {})", user, uid, gid);
  return Status::Ok();
}

}  // namespace pillarbox::server
