#include "protocols/postfix/dovecot_auth.h"

#include <unistd.h>

#include <charconv>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "common/log.h"
#include "common/strings.h"
#include "protocols/login_name.h"
#include "protocols/sasl/sasl.h"

namespace pillarbox::postfix {
namespace {

using protocols::ConnectionInfo;
using protocols::SessionContext;
using protocols::SessionOutput;

// The protocol version we speak: 1.2 (the minor version is informative).
constexpr const char* kVersionLine = "VERSION\t1\t2\n";
constexpr const char* kProto = "postfix-sasl";

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t tab = line.find('\t');
    out.push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) return out;
    line.remove_prefix(tab + 1);
  }
}

// A request id: decimal, 1 to 4294967295 (Dovecot's unsigned int).
std::optional<std::uint32_t> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 0xffffffffu) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(v);
}

bool IsLoopbackAddress(std::string_view ip) { return ip.starts_with("127.") || ip == "::1"; }

std::string RandomCookie() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) out += kHex[rd() & 15];
  return out;
}

class AuthSession final : public protocols::Session {
 public:
  AuthSession(SessionContext& ctx, SessionOutput& out, AuthSessionOptions options)
      : ctx_(ctx), out_(out), cfg_(*ctx.config), options_(std::move(options)) {
    id_ = ctx_.registry->Add(this);
  }
  ~AuthSession() override { ctx_.registry->Remove(id_); }

  void Start() override {
    std::string pid = std::to_string(options_.server_pid ? options_.server_pid
                                                         : static_cast<std::uint64_t>(::getpid()));
    std::string cookie = options_.cookie ? options_.cookie() : RandomCookie();
    out_.Write(std::string(kVersionLine) + "MECH\tPLAIN\tplaintext\n" + "MECH\tLOGIN\tplaintext\n" +
               "SPID\t" + pid + "\n" + "CUID\t" + std::to_string(id_) + "\n" + "COOKIE\t" + cookie +
               "\n" + "DONE\n");
  }

  void OnInput(std::string_view data) override {
    if (closed_) return;
    in_.append(data);
    std::size_t pos = 0;
    while (!closed_) {
      std::size_t lf = in_.find('\n', pos);
      if (lf == std::string::npos) break;
      std::string_view line(in_.data() + pos, lf - pos);
      pos = lf + 1;
      if (line.size() > kMaxAuthLineLength) return Broken("line too long");
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      HandleLine(line);
    }
    if (closed_) return;
    in_.erase(0, pos);
    if (in_.size() > kMaxAuthLineLength) Broken("line too long");
  }

  void OnIdleTimeout() override { Close(); }
  void OnShutdown() override { Close(); }
  void OnClosed() override {
    closed_ = true;
    requests_.clear();
  }
  std::chrono::seconds IdleTimeout() const override { return kAuthIdleTimeout; }
  // The local MTA, trusted like LMTP: no login deadline.
  bool Authenticated() const override { return true; }
  std::uint64_t id() const override { return id_; }

 private:
  struct Request {
    std::optional<sasl::SaslExchange> exchange;  // set while waiting for CONT
    std::string rip;
    std::string user;  // as the client gave it, once known
  };

  void Close() {
    if (closed_) return;
    closed_ = true;
    requests_.clear();
    out_.Close();
  }

  // The client broke the protocol: log and disconnect (Dovecot does the same).
  void Broken(std::string_view why) {
    LOG_WARN("{} #{}: closing: {}", kProto, id_, why);
    Close();
  }

  void Send(std::string line) {
    line += '\n';
    out_.Write(std::move(line));
  }

  void Fail(std::uint32_t rid, std::string_view reason, bool temp = false,
            const std::string& user = {}) {
    std::string line = "FAIL\t" + std::to_string(rid);
    if (!user.empty()) line += "\tuser=" + AuthEscape(user);
    if (temp) line += "\ttemp";
    if (!reason.empty()) line += "\treason=" + AuthEscape(reason);
    Send(std::move(line));
  }

  void HandleLine(std::string_view line) {
    auto fields = SplitTabs(line);
    std::string_view cmd = fields[0];
    if (!got_version_) {
      if (cmd != "VERSION" || fields.size() < 3) return Broken("expected VERSION first");
      if (fields[1] != "1") return Broken("unsupported protocol major version");
      got_version_ = true;
      return;
    }
    if (cmd == "CPID") {
      if (fields.size() < 2) return Broken("CPID without a pid");
      return;  // informative only
    }
    if (cmd == "AUTH") return Auth(fields);
    if (cmd == "CONT") return Cont(fields);
    Broken("unknown command");
  }

  void Auth(const std::vector<std::string_view>& fields) {
    if (fields.size() < 3) return Broken("AUTH without id and mechanism");
    auto rid = ParseId(fields[1]);
    if (!rid) return Broken("AUTH with a bad id");
    if (requests_.count(*rid)) return Broken("AUTH with an id already in use");
    if (requests_.size() >= kMaxPendingRequests) {
      return Fail(*rid, "Too many pending authentication requests", /*temp=*/true);
    }
    bool secured = false;
    std::optional<std::string> service;
    std::optional<std::string> resp;
    Request req;
    for (std::size_t i = 3; i < fields.size(); ++i) {
      std::string_view f = fields[i];
      std::size_t eq = f.find('=');
      std::string_view name = f.substr(0, eq);
      std::string value = eq == std::string_view::npos ? "" : AuthUnescape(f.substr(eq + 1));
      if (name == "secured") {
        secured = true;
      } else if (name == "service") {
        service = std::move(value);
      } else if (name == "resp") {
        resp = std::move(value);
      } else if (name == "rip") {
        req.rip = std::move(value);
      }
      // lip, nologin, valid-client-cert, session, ...: not needed here.
    }
    if (!service || service->empty()) return Fail(*rid, "Missing service");
    auto mech = sasl::ParseMechanism(fields[2]);
    if (!mech) return Fail(*rid, "Unsupported authentication mechanism");
    // [auth] plaintext, for the end client: TLS between it and Postfix, or
    // a loopback address.
    ConnectionInfo client;
    client.peer_ip = req.rip;
    client.loopback = IsLoopbackAddress(req.rip);
    client.tls_active = secured;
    if (!protocols::PlaintextAllowed(cfg_.auth, client)) {
      return Fail(*rid, "Plaintext authentication disallowed on non-secure connections");
    }
    req.exchange.emplace(*mech);
    std::optional<std::string_view> initial;
    // Dovecot's resp= is raw base64 where "" is an empty response; the
    // exchange takes SMTP's form, where "=" stands for it.
    if (resp) initial = resp->empty() ? std::string_view("=") : std::string_view(*resp);
    auto step = req.exchange->Start(initial);
    auto [it, inserted] = requests_.emplace(*rid, std::move(req));
    Step(it->first, std::move(step));
  }

  void Cont(const std::vector<std::string_view>& fields) {
    if (fields.size() < 2) return Broken("CONT without id");
    auto rid = ParseId(fields[1]);
    if (!rid) return Broken("CONT with a bad id");
    auto it = requests_.find(*rid);
    if (it == requests_.end() || !it->second.exchange) {
      return Broken("CONT for no waiting request");
    }
    std::string data = fields.size() > 2 ? AuthUnescape(fields[2]) : std::string();
    Step(*rid, it->second.exchange->Continue(data));
  }

  void Step(std::uint32_t rid, sasl::SaslExchange::Step step) {
    using Kind = sasl::SaslExchange::Step::Kind;
    auto it = requests_.find(rid);
    switch (step.kind) {
      case Kind::kChallenge:
        return Send("CONT\t" + std::to_string(rid) + "\t" + step.challenge);
      case Kind::kCancelled:
        requests_.erase(it);
        return Fail(rid, "Authentication aborted by client");
      case Kind::kFailed:
        requests_.erase(it);
        return Fail(rid, step.error);
      case Kind::kDone:
        it->second.exchange.reset();
        return Verify(rid, std::move(step.credentials));
    }
  }

  void Verify(std::uint32_t rid, sasl::Credentials creds) {
    Request& req = requests_.at(rid);
    req.user = creds.authcid;
    if (ctx_.throttle && ctx_.throttle->LockedOut(req.rip, req.user)) {
      LOG_INFO("login failed: proto={} session={} rip={} user={} reason=\"locked out\"", kProto,
               id_, req.rip, LogField(req.user));
      std::string user = req.user;
      requests_.erase(rid);
      return Fail(rid, "Too many failed authentication attempts, try again later",
                  /*temp=*/true, user);
    }
    if (!sasl::AuthorizationAllowed(creds)) {
      return Failed(rid, "authorization identity refused");
    }
    auto* registry = ctx_.registry;
    std::uint64_t sid = id_;
    // The fair queue serves end clients in turn; one without an address
    // shares the socket's turn.
    std::string client = req.rip.empty() ? std::string("unix") : req.rip;
    ctx_.store->Authenticate(protocols::LoginUserName(creds.authcid, cfg_.delivery),
                             std::move(creds.password), std::move(client),
                             [registry, sid, rid](Result<storage::UserRecord> r) {
                               auto* s = static_cast<AuthSession*>(registry->Find(sid));
                               if (s) s->OnAuthenticated(rid, std::move(r));
                             });
  }

  void OnAuthenticated(std::uint32_t rid, Result<storage::UserRecord> r) {
    if (closed_) return;
    auto it = requests_.find(rid);
    if (it == requests_.end()) return;
    if (!r.ok()) {
      if (r.status().code() != Code::kNoPermission) {
        // Not the client's fault (the hash pool is full, the store failed):
        // a temporary failure that does not count as a failed login.
        LOG_WARN("{} #{}: verifying {}: {}", kProto, id_, LogField(it->second.user),
                 r.status().ToString());
        std::string user = it->second.user;
        requests_.erase(it);
        return Fail(rid, "Temporary authentication failure", /*temp=*/true, user);
      }
      return Failed(rid, r.status().message());
    }
    if (ctx_.throttle) ctx_.throttle->OnSuccess(it->second.rip, it->second.user);
    requests_.erase(it);
    Send("OK\t" + std::to_string(rid) + "\tuser=" + AuthEscape(r->name));
  }

  // A wrong password, an unknown user or a refused authorization identity:
  // the fail2ban line (contrib/fail2ban/pillarbox.conf), then FAIL after the
  // throttle's delay. The reason is for the log only.
  void Failed(std::uint32_t rid, std::string_view reason) {
    Request& req = requests_.at(rid);
    LOG_INFO("login failed: proto={} session={} rip={} user={} reason=\"{}\"", kProto, id_, req.rip,
             LogField(req.user), reason);
    std::chrono::milliseconds delay{0};
    if (ctx_.throttle) delay = ctx_.throttle->OnFailure(req.rip, req.user);
    auto answer = [registry = ctx_.registry, sid = id_, rid] {
      auto* s = static_cast<AuthSession*>(registry->Find(sid));
      if (!s || s->closed_) return;
      auto it = s->requests_.find(rid);
      if (it == s->requests_.end()) return;
      std::string user = it->second.user;
      s->requests_.erase(it);
      s->Fail(rid, "", false, user);
    };
    if (ctx_.timer && delay.count() > 0) {
      ctx_.timer(delay, std::move(answer));
    } else {
      answer();
    }
  }

  SessionContext& ctx_;
  SessionOutput& out_;
  const config::Config& cfg_;
  AuthSessionOptions options_;
  std::uint64_t id_ = 0;
  std::string in_;
  bool got_version_ = false;
  bool closed_ = false;
  // Pending requests by id: waiting for CONT, for the password check, or
  // for a failure's delay.
  std::map<std::uint32_t, Request> requests_;
};

}  // namespace

std::string AuthEscape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\001':
        out += "\0011";
        break;
      case '\t':
        out += "\001t";
        break;
      case '\n':
        out += "\001n";
        break;
      case '\r':
        out += "\001r";
        break;
      case '\0':
        out += "\0010";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string AuthUnescape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c != '\001') {
      out += c;
      continue;
    }
    if (++i == value.size()) break;
    switch (value[i]) {
      case '0':
        out += '\0';
        break;
      case '1':
        out += '\001';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
      case 'l':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      default:
        out += value[i];
    }
  }
  return out;
}

std::unique_ptr<protocols::Session> MakeAuthSession(protocols::SessionContext& ctx,
                                                    protocols::ConnectionInfo& info,
                                                    protocols::SessionOutput& out,
                                                    AuthSessionOptions options) {
  // The connection (a unix socket) tells nothing: the end client's facts
  // come with each request.
  (void)info;
  return std::make_unique<AuthSession>(ctx, out, std::move(options));
}

}  // namespace pillarbox::postfix
