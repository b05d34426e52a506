#include "protocols/pop3/pop3_session.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <utility>

#include "common/log.h"
#include "common/strings.h"
#include "config/capabilities.h"
#include "protocols/faults.h"
#include "services/settings.h"
#include "storage/uidl.h"

namespace pillarbox::pop3 {
namespace {

using storage::JournalKind;

// The configured mode as the store applies it.
storage::Pop3DeleteMode StoreDeleteMode(config::Pop3DeleteMode mode) {
  switch (mode) {
    case config::Pop3DeleteMode::kExpunge:
      return storage::Pop3DeleteMode::kExpunge;
    case config::Pop3DeleteMode::kHide:
      return storage::Pop3DeleteMode::kHide;
    case config::Pop3DeleteMode::kMove:
      return storage::Pop3DeleteMode::kMove;
    case config::Pop3DeleteMode::kDeny:
      break;
  }
  return storage::Pop3DeleteMode::kDeny;
}

storage::UnixTime Now() { return static_cast<storage::UnixTime>(std::time(nullptr)); }

// Last successful POP3 login per user, for LOGIN-DELAY (RFC 2449 6.8).
// Owner thread only, like the sessions that use it. Keyed by the store as
// well, so that independent stores in one process (tests) do not meet.
using LoginKey = std::pair<const storage::Store*, storage::UserId>;
std::map<LoginKey, std::chrono::steady_clock::time_point>& LastLogins() {
  static std::map<LoginKey, std::chrono::steady_clock::time_point> logins;
  return logins;
}

constexpr std::string_view kAuthFailed = "-ERR [AUTH] Authentication failed.";

}  // namespace

// The command table: keyword, the states it is valid in, flags (the
// capability it belongs to, config::kPop3*: unknown when turned off), handler.
using protocols::Method;
const Pop3Session::CommandDef Pop3Session::kCommands[] = {
    {"CAPA", kAnyState, 0, Method<&Pop3Session::CmdCapa>::Run},
    {"QUIT", kAnyState, 0, Method<&Pop3Session::CmdQuit>::Run},
    {"USER", kInAuthorization, config::kPop3User, Method<&Pop3Session::CmdUser>::Run},
    {"PASS", kInAuthorization, config::kPop3User, Method<&Pop3Session::CmdPass>::Run},
    {"AUTH", kInAuthorization, config::kPop3Sasl, Method<&Pop3Session::CmdAuth>::Run},
    {"STLS", kInAuthorization, config::kPop3Stls, Method<&Pop3Session::CmdStls>::Run},
    {"STAT", kInTransaction, 0, Method<&Pop3Session::CmdStat>::Run},
    {"LIST", kInTransaction, 0, Method<&Pop3Session::CmdList>::Run},
    {"RETR", kInTransaction, 0, Method<&Pop3Session::CmdRetr>::Run},
    {"TOP", kInTransaction, config::kPop3Top, Method<&Pop3Session::CmdTop>::Run},
    {"DELE", kInTransaction, 0, Method<&Pop3Session::CmdDele>::Run},
    {"NOOP", kInTransaction, 0, Method<&Pop3Session::CmdNoop>::Run},
    {"RSET", kInTransaction, 0, Method<&Pop3Session::CmdRset>::Run},
    {"UIDL", kInTransaction, config::kPop3Uidl, Method<&Pop3Session::CmdUidl>::Run},
};

std::unique_ptr<protocols::Session> MakeSession(protocols::SessionContext& ctx,
                                                protocols::ConnectionInfo& info,
                                                protocols::SessionOutput& out) {
  return std::make_unique<Pop3Session>(ctx, info, out);
}

Pop3Session::Pop3Session(protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
                         protocols::SessionOutput& out)
    : ctx_(ctx), info_(info), out_(out), config_(*ctx.config) {
  id_ = ctx_.registry->Add(this);
  config::Pop3Config pop3 = config_.pop3;
  config::ApplyListenerOverride(&pop3, info_.listener_capabilities);
  disabled_ = config::Pop3Disabled(pop3);
}

Pop3Session::~Pop3Session() {
  OnClosed();
  ctx_.registry->Remove(id_);
}

// --- lifecycle ---------------------------------------------------------------

void Pop3Session::Start() {
  // No APOP: the greeting carries no timestamp (RFC 1939 7).
  Reply("+OK Pillarbox ready.");
}

void Pop3Session::OnInput(std::string_view data) {
  if (state_ == State::kDone) return;
  input_.append(data);
  Pump();
}

void Pop3Session::OnDrained() {
  if (state_ == State::kDone) return;
  if (wait_ == Wait::kDrain) {
    Resume();
  } else if (wait_ == Wait::kStream) {
    if (ContinueStream()) Resume();
  }
}

void Pop3Session::OnTlsEstablished() {
  if (state_ == State::kDone) return;
  // RFC 2595 4: forget everything learned before TLS; the connection has
  // discarded any plaintext sent after STLS, and so do we.
  input_.clear();
  discarding_ = false;
  user_.clear();
  sasl_.reset();
  if (wait_ == Wait::kTls) Resume();
}

void Pop3Session::OnIdleTimeout() {
  if (state_ == State::kDone || state_ == State::kUpdate) return;
  // RFC 1939 3: an autologout timer ends the session without UPDATE.
  Reply("-ERR Disconnected for inactivity.");
  Terminate();
}

void Pop3Session::OnLoginTimeout() {
  if (state_ == State::kDone) return;
  Reply("-ERR Disconnected: no login in time.");
  Terminate();
}

void Pop3Session::OnUserDeleted() {
  if (state_ == State::kDone) return;
  LOG_INFO("pop3 {}: user {} was deleted: disconnecting", id_, LogSafe(user_record_.name));
  // Nothing is left to apply, nor to journal as aborted.
  for (Message& m : messages_) m.deleted = false;
  // A message being sent cannot take a status line in its middle: then the
  // connection just closes.
  if (!stream_) Reply("-ERR [SYS/PERM] Account deleted.");
  Terminate();
}

bool Pop3Session::UserGone() const {
  if (user_record_.id == 0) return false;
  auto u = ctx_.store->Read()->GetUser(user_record_.id);
  return !u.ok() && u.status().code() == Code::kNotFound;
}

void Pop3Session::OnShutdown() {
  if (state_ == State::kDone) return;
  // A QUIT that is being committed answers when the commit completes.
  if (state_ == State::kUpdate) return;
  Reply("-ERR [SYS/TEMP] Server shutting down.");
  Terminate();
}

void Pop3Session::OnClosed() {
  // A QUIT whose commit is under way will be applied: its deletes are not
  // aborted even though nobody is left to hear the answer.
  if (state_ == State::kUpdate && wait_ == Wait::kStore) committed_ = true;
  state_ = State::kDone;
  stream_.reset();
  sasl_.reset();
  ReleaseLogin();
}

std::chrono::seconds Pop3Session::IdleTimeout() const { return config_.pop3.idle_timeout; }

bool Pop3Session::HasPendingWork() const {
  if (state_ == State::kDone) return false;
  return (wait_ != Wait::kNone && wait_ != Wait::kDrain) || pending_mutations_ > 0;
}

bool Pop3Session::WaitingForStore() const {
  if (state_ == State::kDone) return false;
  return wait_ == Wait::kStore || wait_ == Wait::kQuit || pending_mutations_ > 0;
}

// --- input -------------------------------------------------------------------

Pop3Session::LineResult Pop3Session::NextLine(std::string& line) {
  if (discarding_) {
    std::size_t nl = input_.find('\n');
    if (nl == std::string::npos) {
      input_.clear();
      return LineResult::kNone;
    }
    input_.erase(0, nl + 1);
    discarding_ = false;
  }
  const std::size_t limit = sasl_ ? kMaxSaslLine : kMaxCommandLine;
  std::size_t nl = input_.find('\n');
  if (nl == std::string::npos) {
    // limit octets plus a CR can still become a valid line.
    if (input_.size() > limit + 1) {
      input_.clear();
      discarding_ = true;
      return LineResult::kTooLong;
    }
    return LineResult::kNone;
  }
  std::size_t len = nl;
  if (len > 0 && input_[len - 1] == '\r') --len;
  if (len > limit) {
    input_.erase(0, nl + 1);
    return LineResult::kTooLong;
  }
  line.assign(input_, 0, len);
  input_.erase(0, nl + 1);
  return LineResult::kLine;
}

void Pop3Session::Pump() {
  if (pumping_) return;
  pumping_ = true;
  std::string line;
  while (state_ != State::kDone && wait_ == Wait::kNone) {
    // Pipelined commands wait while the client is not reading our answers.
    if (out_.QueuedBytes() >= config_.limits.output_high_water) {
      wait_ = Wait::kDrain;
      break;
    }
    LineResult r = NextLine(line);
    if (r == LineResult::kNone) break;
    if (r == LineResult::kTooLong) {
      if (sasl_) {
        sasl_.reset();
        Reply("-ERR Authentication response too long.");
        continue;
      }
      BadCommand("-ERR Line too long.");
      continue;
    }
    Dispatch(line);
  }
  pumping_ = false;
  UpdateInputFlow();
}

void Pop3Session::UpdateInputFlow() {
  if (state_ == State::kDone) return;
  bool want_pause = input_.size() > kMaxBufferedInput;
  if (want_pause && !input_paused_) {
    input_paused_ = true;
    out_.PauseInput();
  } else if (!want_pause && input_paused_) {
    input_paused_ = false;
    out_.ResumeInput();
  }
}

void Pop3Session::Resume() {
  wait_ = Wait::kNone;
  Pump();
}

void Pop3Session::Dispatch(std::string_view line) {
  // Transcripts ([log] transcripts) are written by the connection, which
  // also redacts PASS and SASL lines.
  if (sasl_) {
    HandleSaslStep(sasl_->Continue(line));
    return;
  }
  CommandLine cmd = SplitCommand(line);
  const CommandDef* def = protocols::FindCommand(kCommands, cmd.name);
  // A command of a capability turned off (pop3.capabilities) is unknown.
  if (def != nullptr && (def->flags & disabled_) != 0) def = nullptr;
  protocols::CountCommand("pop3", def);
  if (def != nullptr && !FaultRegistry().empty() && InjectFault(*def, cmd)) return;
  if (def != nullptr) {
    unsigned bit = state_ == State::kAuthorization ? kInAuthorization : kInTransaction;
    if ((def->states & bit) == 0) {
      BadCommand(state_ == State::kAuthorization ? "-ERR Not logged in."
                                                 : "-ERR Already logged in.");
      return;
    }
    def->run(*this, cmd);
    return;
  }
  if (cmd.name.empty()) {
    BadCommand("-ERR Unknown command.");
    return;
  }
  std::string reply = "-ERR Unknown command: ";
  // Echo only a printable, bounded keyword.
  for (char c : cmd.name.substr(0, 16))
    reply += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  BadCommand(reply);
}

// --- commands: any state ----------------------------------------------------

std::string Pop3Session::ExpireCapability() const {
  // What the retention sweep applies to INBOX: its own setting (known after
  // login), else the configured rule (RFC 2449 6.7).
  storage::MailboxRecord inbox;
  inbox.name = "INBOX";
  inbox.expire_after_days = inbox_expire_days_;
  auto rules = services::RetentionRules(config_);
  std::int64_t days = rules.ok() ? storage::RetentionDays(inbox, *rules) : 0;
  return days > 0 ? "EXPIRE " + std::to_string(days) : std::string("EXPIRE NEVER");
}

void Pop3Session::CmdCapa(const CommandLine&) {
  auto on = [this](unsigned bit) { return (disabled_ & bit) == 0; };
  std::string r = "+OK Capability list follows\r\nCAPA\r\n";
  if (on(config::kPop3Top)) r += "TOP\r\n";
  if (on(config::kPop3Uidl)) r += "UIDL\r\n";
  if (on(config::kPop3RespCodes)) r += "RESP-CODES\r\n";
  if (on(config::kPop3AuthRespCode)) r += "AUTH-RESP-CODE\r\n";
  if (on(config::kPop3Pipelining)) r += "PIPELINING\r\n";
  if (state_ == State::kAuthorization) {
    if (PlaintextAllowed()) {
      if (on(config::kPop3User)) r += "USER\r\n";
      if (on(config::kPop3Sasl)) r += "SASL PLAIN LOGIN\r\n";
    }
    if (info_.tls_available && !info_.tls_active && on(config::kPop3Stls)) r += "STLS\r\n";
  }
  if (on(config::kPop3Expire)) r += ExpireCapability() + "\r\n";
  if (config_.pop3.login_delay.count() > 0 && on(config::kPop3LoginDelay)) {
    r += "LOGIN-DELAY " + std::to_string(config_.pop3.login_delay.count()) + "\r\n";
  }
  r += "IMPLEMENTATION Pillarbox\r\n.\r\n";
  Emit(std::move(r));
}

void Pop3Session::CmdQuit(const CommandLine&) {
  if (state_ == State::kAuthorization) {
    Reply("+OK Logging out.");
    Terminate();
    return;
  }
  // RFC 1939 6: QUIT in TRANSACTION enters UPDATE. RETR marks and DELE
  // journal entries go first, so that +OK means all of it is durable.
  state_ = State::kUpdate;
  wait_ = Wait::kQuit;
  MaybeCommit();
}

// --- commands: AUTHORIZATION -----------------------------------------------

bool Pop3Session::PlaintextAllowed() const {
  return protocols::PlaintextAllowed(config_.auth, info_);
}

std::string Pop3Session::PlaintextRefusal() const {
  if (config_.auth.plaintext == config::Plaintext::kNever) {
    return "-ERR [AUTH] Plaintext authentication is disabled.";
  }
  return "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";
}

void Pop3Session::CmdUser(const CommandLine& cmd) {
  if (!PlaintextAllowed()) {
    Reply(PlaintextRefusal());
    return;
  }
  if (cmd.args.empty()) {
    BadCommand("-ERR No username given.");
    return;
  }
  if (cmd.args.size() > 1) {
    BadCommand("-ERR Usage: USER <name>");
    return;
  }
  if (cmd.args[0].size() > sasl::kMaxFieldOctets) {
    BadCommand("-ERR Username too long.");
    return;
  }
  user_ = std::string(cmd.args[0]);
  Reply("+OK");
}

void Pop3Session::CmdPass(const CommandLine& cmd) {
  if (!PlaintextAllowed()) {
    Reply(PlaintextRefusal());
    return;
  }
  if (user_.empty()) {
    BadCommand("-ERR No username given.");
    return;
  }
  // The password is the rest of the line: it may contain spaces.
  if (cmd.rest.empty()) {
    BadCommand("-ERR No password given.");
    return;
  }
  std::string user = std::exchange(user_, std::string());
  BeginLogin(std::move(user), std::string(cmd.rest));
}

void Pop3Session::CmdAuth(const CommandLine& cmd) {
  if (cmd.args.empty()) {
    // Pre-RFC 5034 clients (RFC 1734 era, Outlook) list mechanisms with a
    // bare AUTH; answer like Dovecot with the mechanisms on offer.
    std::string r = "+OK\r\n";
    if (PlaintextAllowed()) r += "PLAIN\r\nLOGIN\r\n";
    r += ".\r\n";
    Emit(std::move(r));
    return;
  }
  if (cmd.args.size() > 2) {
    BadCommand("-ERR Usage: AUTH <mechanism> [initial-response]");
    return;
  }
  auto mechanism = sasl::ParseMechanism(cmd.args[0]);
  if (!mechanism) {
    Reply("-ERR Unsupported authentication mechanism.");
    return;
  }
  if (!PlaintextAllowed()) {
    Reply(PlaintextRefusal());
    return;
  }
  user_.clear();
  sasl_.emplace(*mechanism);
  std::optional<std::string_view> initial;
  if (cmd.args.size() == 2) initial = cmd.args[1];
  HandleSaslStep(sasl_->Start(initial));
}

void Pop3Session::HandleSaslStep(const sasl::SaslExchange::Step& step) {
  using Kind = sasl::SaslExchange::Step::Kind;
  switch (step.kind) {
    case Kind::kChallenge:
      Emit("+ " + step.challenge + "\r\n");
      return;
    case Kind::kCancelled:
      sasl_.reset();
      Reply("-ERR Authentication cancelled.");
      return;
    case Kind::kFailed:
      sasl_.reset();
      Reply("-ERR " + step.error);
      return;
    case Kind::kDone:
      break;
  }
  sasl_.reset();
  if (!sasl::AuthorizationAllowed(step.credentials)) {
    // No proxy authorization: treat it as a failed login (delay included).
    FailLogin(step.credentials.authcid, std::string(kAuthFailed), "authorization identity refused");
    return;
  }
  BeginLogin(step.credentials.authcid, step.credentials.password);
}

void Pop3Session::CmdStls(const CommandLine& cmd) {
  if (!cmd.args.empty()) {
    BadCommand("-ERR Usage: STLS");
    return;
  }
  if (info_.tls_active) {
    Reply("-ERR TLS is already active.");
    return;
  }
  if (!info_.tls_available) {
    Reply("-ERR TLS support isn't enabled.");
    return;
  }
  Reply("+OK Begin TLS negotiation now.");
  // Anything pipelined after STLS was sent in plaintext: drop it
  // (RFC 2595 4; a command injection otherwise).
  input_.clear();
  discarding_ = false;
  wait_ = Wait::kTls;
  out_.StartTls();
}

void Pop3Session::BeginLogin(std::string user, std::string password) {
  if (ctx_.throttle && ctx_.throttle->LockedOut(info_.peer_ip, user)) {
    FailLogin(user, "-ERR [AUTH] Too many failed logins, try again later.", "locked out");
    return;
  }
  wait_ = Wait::kStore;
  ctx_.store->Authenticate(protocols::LoginUserName(user, config_.delivery), std::move(password),
                           info_.peer_ip,
                           Bind([user](Pop3Session& s, Result<storage::UserRecord> r) {
                             s.OnAuthenticated(user, std::move(r));
                           }));
}

void Pop3Session::OnAuthenticated(const std::string& user, Result<storage::UserRecord> result) {
  if (state_ == State::kDone) return;
  if (!result.ok()) {
    if (result.status().code() == Code::kNoPermission) {
      FailLogin(user, std::string(kAuthFailed), result.status().message());
      return;
    }
    Reply("-ERR [SYS/TEMP] " + InternalError("authentication", result.status()));
    Resume();
    return;
  }
  if (ctx_.throttle) ctx_.throttle->OnSuccess(info_.peer_ip, user);
  CompleteLogin(std::move(result.value()));
  Resume();
}

void Pop3Session::FailLogin(const std::string& user, std::string reply, std::string_view reason) {
  // The fail2ban line (contrib/fail2ban/pillarbox.conf).
  LOG_INFO("login failed: proto=pop3 session={} rip={} user={} reason=\"{}\"", id_, info_.peer_ip,
           LogField(user), reason);
  std::chrono::milliseconds delay{0};
  if (ctx_.throttle) delay = ctx_.throttle->OnFailure(info_.peer_ip, user);
  if (delay.count() <= 0 || !ctx_.timer) {
    Reply(reply);
    Resume();
    return;
  }
  // The answer waits, and so does every command pipelined behind it.
  wait_ = Wait::kTimer;
  ctx_.timer(delay, Bind([reply = std::move(reply)](Pop3Session& s) {
               if (s.state_ == State::kDone) return;
               s.Reply(reply);
               s.Resume();
             }));
}

void Pop3Session::CompleteLogin(storage::UserRecord user) {
  const auto login_delay = config_.pop3.login_delay;
  const LoginKey key{ctx_.store, user.id};
  const auto now = std::chrono::steady_clock::now();
  if (login_delay.count() > 0) {
    auto it = LastLogins().find(key);
    if (it != LastLogins().end() && now - it->second < login_delay) {
      Reply("-ERR [LOGIN-DELAY] Minimum time between logins has not passed yet.");
      return;
    }
  }
  if (config_.pop3.lock_session) {
    if (!ctx_.store->TryLockPop3(user.id, id_)) {
      Reply("-ERR [IN-USE] Mailbox is locked by another POP3 session.");
      return;
    }
    holds_lock_ = true;
  }

  // Snapshot INBOX (RFC 1939 4: the maildrop as of login).
  {
    auto view = ctx_.store->Read();
    if (!view->GetUser(user.id).ok()) {
      // Deleted while the password was being verified.
      if (holds_lock_) {
        ctx_.store->UnlockPop3(user.id, id_);
        holds_lock_ = false;
      }
      Reply(std::string(kAuthFailed));
      return;
    }
    auto inbox = view->FindMailbox(user.id, "INBOX");
    if (!inbox.ok()) {
      std::string err = InternalError("opening INBOX", inbox.status());
      if (holds_lock_) {
        ctx_.store->UnlockPop3(user.id, id_);
        holds_lock_ = false;
      }
      Reply("-ERR [SYS/TEMP] " + err);
      return;
    }
    inbox_ = inbox->id;
    inbox_expire_days_ = inbox->expire_after_days;
    std::vector<storage::MessageRecord> records = view->ListMessages(inbox_);
    messages_.clear();
    messages_.reserve(records.size());
    live_size_ = 0;
    for (const storage::MessageRecord& m : records) {
      if (m.pop3.hidden) continue;
      messages_.push_back(Message{m.uid, m.guid, m.size, m.blob, false, storage::MessageUidl(m)});
      live_size_ += m.size;
    }
    live_count_ = messages_.size();
  }

  // The user's settings, resolved once (config::UserConfig): every key that
  // may be set per user is read from user_config_ from here on.
  std::vector<std::string> problems;
  user_config_ = config::UserConfig(config_, user.settings, &problems);
  // The listener's removals apply unless the user has their own.
  config::Pop3Config pop3 = user_config_->pop3;
  if (user.settings.count("pop3.capabilities") == 0) {
    config::ApplyListenerOverride(&pop3, info_.listener_capabilities);
  }
  disabled_ = config::Pop3Disabled(pop3);
  for (const std::string& p : problems) {
    LOG_WARN("pop3 {}: user {}: stored setting ignored, the configured value applies: {}", id_,
             LogSafe(user.name), LogSafe(p));
  }

  storage::ReadView::LiveSession live;
  live.id = id_;
  live.pid = static_cast<std::uint64_t>(getpid());
  live.protocol = "pop3";
  live.peer = info_.peer_ip.find(':') != std::string::npos
                  ? "[" + info_.peer_ip + "]:" + std::to_string(info_.peer_port)
                  : info_.peer_ip + ":" + std::to_string(info_.peer_port);
  live.user = user.id;
  live.mailbox = "INBOX";
  live.holds_pop3_lock = holds_lock_;
  live.since = Now();
  ctx_.store->RegisterLiveSession(std::move(live));
  registered_live_ = true;

  if (login_delay.count() > 0) LastLogins()[key] = now;
  LOG_INFO("pop3 {}: {} logged in from {} ({} messages)", id_, LogSafe(user.name), info_.peer_ip,
           messages_.size());
  user_record_ = std::move(user);
  state_ = State::kTransaction;
  bad_commands_ = 0;
  user_watch_ = ctx_.store->WatchUser(
      user_record_.id, Bind([](Pop3Session& s, storage::UserId) { s.OnUserDeleted(); }));
  Reply("+OK Logged in.");
}

// --- commands: TRANSACTION ---------------------------------------------------

Pop3Session::Message* Pop3Session::Lookup(std::string_view arg, bool allow_deleted) {
  auto n = ParseNumber(arg);
  if (!n) {
    std::string reply = "-ERR Invalid message number: ";
    for (char c : arg.substr(0, 16)) reply += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
    Reply(reply);
    return nullptr;
  }
  if (*n == 0 || *n > messages_.size()) {
    Reply("-ERR There's no message " + std::to_string(*n) + ".");
    return nullptr;
  }
  Message& m = messages_[*n - 1];
  if (m.deleted && !allow_deleted) {
    Reply("-ERR Message " + std::to_string(*n) + " is deleted.");
    return nullptr;
  }
  return &m;
}

void Pop3Session::CmdStat(const CommandLine& cmd) {
  if (!cmd.args.empty()) {
    BadCommand("-ERR Usage: STAT");
    return;
  }
  Reply("+OK " + std::to_string(live_count_) + " " + std::to_string(live_size_));
}

void Pop3Session::CmdList(const CommandLine& cmd) {
  if (cmd.args.size() > 1) {
    BadCommand("-ERR Usage: LIST [message]");
    return;
  }
  if (cmd.args.size() == 1) {
    Message* m = Lookup(cmd.args[0]);
    if (m == nullptr) return;
    Reply("+OK " + std::to_string(m - messages_.data() + 1) + " " + std::to_string(m->size));
    return;
  }
  Stream s;
  s.kind = Stream::Kind::kList;
  StartStream(std::move(s));
}

void Pop3Session::CmdUidl(const CommandLine& cmd) {
  if (cmd.args.size() > 1) {
    BadCommand("-ERR Usage: UIDL [message]");
    return;
  }
  if (cmd.args.size() == 1) {
    Message* m = Lookup(cmd.args[0]);
    if (m == nullptr) return;
    Reply("+OK " + std::to_string(m - messages_.data() + 1) + " " + m->uidl);
    return;
  }
  Stream s;
  s.kind = Stream::Kind::kUidl;
  StartStream(std::move(s));
}

void Pop3Session::CmdRetr(const CommandLine& cmd) {
  if (cmd.args.size() != 1) {
    BadCommand("-ERR Usage: RETR <message>");
    return;
  }
  Message* m = Lookup(cmd.args[0]);
  if (m == nullptr) return;
  Stream s;
  s.kind = Stream::Kind::kMessage;
  s.index = static_cast<std::size_t>(m - messages_.data());
  StartStream(std::move(s));
}

void Pop3Session::CmdTop(const CommandLine& cmd) {
  if (cmd.args.size() != 2) {
    BadCommand("-ERR Usage: TOP <message> <lines>");
    return;
  }
  auto lines = ParseNumber(cmd.args[1]);
  if (!lines) {
    Reply("-ERR Invalid number of lines.");
    return;
  }
  Message* m = Lookup(cmd.args[0]);
  if (m == nullptr) return;
  Stream s;
  s.kind = Stream::Kind::kMessage;
  s.index = static_cast<std::size_t>(m - messages_.data());
  s.top_lines = *lines;
  StartStream(std::move(s));
}

void Pop3Session::CmdDele(const CommandLine& cmd) {
  if (cmd.args.size() != 1) {
    BadCommand("-ERR Usage: DELE <message>");
    return;
  }
  Message* m = Lookup(cmd.args[0], /*allow_deleted=*/true);
  if (m == nullptr) return;
  if (UserSettings().pop3.delete_mode.mode == config::Pop3DeleteMode::kDeny) {
    // Journaled, so that `pillarbox journal` shows why the client's
    // "delete after download" leaves the message in place.
    JournalMessageEvent(*m, JournalKind::kPop3DeleteRefused, "delete mode deny", "journal DELE");
    Reply("-ERR [SYS/PERM] Deleting messages is disabled on this server.");
    return;
  }
  if (m->deleted) {
    Reply("-ERR Message " + std::to_string(m - messages_.data() + 1) + " is already deleted.");
    return;
  }
  m->deleted = true;
  live_count_--;
  live_size_ -= m->size;
  JournalMessageEvent(*m, JournalKind::kPop3DeletePending,
                      config::FormatPop3DeleteMode(UserSettings().pop3.delete_mode),
                      "journal DELE");
  Reply("+OK Marked to be deleted.");
}

void Pop3Session::JournalMessageEvent(const Message& m, storage::JournalKind kind,
                                      std::string detail, std::string what) {
  storage::JournalEvent event;
  event.time = Now();
  event.kind = kind;
  event.origin = MakeOrigin();
  event.mailbox = "INBOX";
  event.uid = m.uid;
  event.guid = m.guid;
  event.detail = std::move(detail);
  storage::UserId user = user_record_.id;
  SubmitTracked(
      [this, user, event = std::move(event)](storage::StatusCallback done) mutable {
        ctx_.store->RecordJournal(user, std::move(event), std::move(done));
      },
      std::move(what));
}

void Pop3Session::CmdNoop(const CommandLine& cmd) {
  if (!cmd.args.empty()) {
    BadCommand("-ERR Usage: NOOP");
    return;
  }
  Reply("+OK");
}

void Pop3Session::CmdRset(const CommandLine& cmd) {
  if (!cmd.args.empty()) {
    BadCommand("-ERR Usage: RSET");
    return;
  }
  JournalDeletes(JournalKind::kPop3DeleteAborted);
  live_count_ = messages_.size();
  live_size_ = 0;
  for (Message& m : messages_) {
    m.deleted = false;
    live_size_ += m.size;
  }
  Reply("+OK");
}

// --- streaming ---------------------------------------------------------------

void Pop3Session::StartStream(Stream stream) {
  stream_.emplace(std::move(stream));
  if (ContinueStream()) return;
  if (state_ != State::kDone) wait_ = Wait::kStream;
}

bool Pop3Session::ContinueStream() {
  if (!stream_) return true;
  const std::size_t high_water = config_.limits.output_high_water;
  Stream& s = *stream_;
  if (s.kind == Stream::Kind::kMessage) {
    bool done = ContinueMessage(s);
    if (done) stream_.reset();
    return done || state_ == State::kDone;
  }
  // LIST / UIDL: "+OK", one line per message not deleted, ".".
  while (out_.QueuedBytes() < high_water || !s.started) {
    std::string chunk;
    if (!s.started) {
      chunk = s.kind == Stream::Kind::kList
                  ? "+OK " + std::to_string(live_count_) + " messages:\r\n"
                  : std::string("+OK\r\n");
      s.started = true;
    }
    std::size_t lines = 0;
    for (; s.index < messages_.size() && lines < kListingChunkLines; ++s.index) {
      const Message& m = messages_[s.index];
      if (m.deleted) continue;
      chunk += std::to_string(s.index + 1);
      chunk += ' ';
      chunk += s.kind == Stream::Kind::kList ? std::to_string(m.size) : m.uidl;
      chunk += "\r\n";
      ++lines;
    }
    bool done = s.index >= messages_.size();
    if (done) chunk += ".\r\n";
    Emit(std::move(chunk));
    if (done) {
      stream_.reset();
      return true;
    }
  }
  return false;
}

bool Pop3Session::ContinueMessage(Stream& s) {
  const std::size_t high_water = config_.limits.output_high_water;
  Message& m = messages_[s.index];
  while (!s.started || out_.QueuedBytes() < high_water) {
    // A fresh short read transaction per step: never held while the client
    // is slow to read (CONTRIBUTING.md: one short read view per command).
    std::string chunk;
    bool whole = true;  // this response carries every byte of the message
    {
      auto view = ctx_.store->Read();
      auto blob = view->Blob(m.blob);
      if (!blob.ok()) {
        if (!s.started && blob.status().code() == Code::kNotFound) {
          Reply("-ERR Message was removed by another session.");
          return true;
        }
        std::string err = InternalError("reading a message", blob.status());
        if (!s.started) {
          Reply("-ERR [SYS/TEMP] " + err);
          return true;
        }
        // Part of the message is out: the response cannot be completed.
        Terminate();
        return true;
      }
      std::string_view bytes = *blob;
      if (!s.started) {
        s.end = s.top_lines ? TopExtent(bytes, *s.top_lines) : bytes.size();
        chunk =
            s.top_lines ? std::string("+OK\r\n") : "+OK " + std::to_string(m.size) + " octets\r\n";
        s.started = true;
      }
      if (s.end > bytes.size()) s.end = bytes.size();  // changed under us: stay in bounds
      whole = s.end == bytes.size();
      std::uint64_t n = std::min<std::uint64_t>(kStreamChunk, s.end - s.offset);
      s.stuffer.Append(bytes.substr(s.offset, n), chunk);
      s.offset += n;
    }
    bool done = s.offset >= s.end;
    if (done) s.stuffer.Finish(chunk);
    Emit(std::move(chunk));
    if (done) {
      // A TOP with more lines than the body has is a download in disguise
      // (fetchmail --keep fetches so): journaled like RETR, but it does not
      // set \Seen, since TOP never does (RFC 1939 7).
      const bool top_whole = s.top_lines && *s.top_lines > 0 && whole;
      if (!s.top_lines || top_whole) {
        storage::MailboxId mailbox = inbox_;
        storage::Uid uid = m.uid;
        bool seen = !s.top_lines && UserSettings().pop3.mark_seen_on_retr;
        storage::Origin origin = MakeOrigin();
        std::string detail = top_whole ? "TOP returned the whole message" : "";
        SubmitTracked(
            [this, mailbox, uid, seen, origin, detail](storage::StatusCallback cb) {
              ctx_.store->MarkPop3Retrieved(mailbox, uid, seen, origin, detail, std::move(cb));
            },
            "mark retrieved");
      }
      return true;
    }
  }
  return false;
}

// --- store work --------------------------------------------------------------

void Pop3Session::SubmitTracked(const std::function<void(storage::StatusCallback)>& submit,
                                std::string what) {
  ++pending_mutations_;
  submit(protocols::BindSession<Pop3Session>(
      ctx_.registry, id_,
      [what](Pop3Session& s, Status status) { s.OnTrackedDone(std::move(status), what); },
      [id = id_, what](const Status& status) {
        if (!status.ok()) LOG_WARN("pop3 {}: {} failed: {}", id, what, LogSafe(status.ToString()));
      }));
}

void Pop3Session::OnTrackedDone(Status status, const std::string& what) {
  --pending_mutations_;
  if (!status.ok()) {
    // The client already has its answer (the message, "+OK Marked"); the
    // bookkeeping failed. Log it; it does not change what QUIT applies.
    LOG_WARN("pop3 {}: {} failed: {}", id_, what, LogSafe(status.ToString()));
  }
  if (wait_ == Wait::kQuit) MaybeCommit();
}

void Pop3Session::JournalDeletes(storage::JournalKind kind) {
  if (user_record_.id == 0) return;
  for (const Message& m : messages_) {
    if (!m.deleted) continue;
    storage::JournalEvent event;
    event.time = Now();
    event.kind = kind;
    event.origin = MakeOrigin();
    event.mailbox = "INBOX";
    event.uid = m.uid;
    event.guid = m.guid;
    if (state_ == State::kDone) {
      // The session is going away: nobody waits for this.
      std::uint64_t id = id_;
      ctx_.store->RecordJournal(user_record_.id, std::move(event), [id](Status st) {
        if (!st.ok()) {
          LOG_WARN("pop3 {}: journal of aborted deletes failed: {}", id, LogSafe(st.ToString()));
        }
      });
      continue;
    }
    storage::UserId user = user_record_.id;
    SubmitTracked(
        [this, user, event = std::move(event)](storage::StatusCallback done) mutable {
          ctx_.store->RecordJournal(user, std::move(event), std::move(done));
        },
        "journal RSET");
  }
}

void Pop3Session::MaybeCommit() {
  if (pending_mutations_ > 0) return;
  std::vector<storage::Uid> uids;
  for (const Message& m : messages_) {
    if (m.deleted) uids.push_back(m.uid);
  }
  if (uids.empty()) {
    committed_ = true;
    ReleaseLogin();
    Reply("+OK Logging out.");
    Terminate();
    return;
  }
  storage::Pop3CommitRequest req;
  req.user = user_record_.id;
  req.mailbox = inbox_;
  req.uids = std::move(uids);
  req.delete_mode = StoreDeleteMode(UserSettings().pop3.delete_mode.mode);
  req.move_target = UserSettings().pop3.delete_mode.move_target;
  req.origin = MakeOrigin();
  wait_ = Wait::kStore;
  ctx_.store->Pop3Commit(
      std::move(req),
      protocols::BindSession<Pop3Session>(
          ctx_.registry, id_,
          [](Pop3Session& s, Result<storage::Pop3CommitResult> r) { s.OnCommitted(std::move(r)); },
          [id = id_](const Result<storage::Pop3CommitResult>& r) {
            if (!r.ok()) {
              LOG_ERROR("pop3 {}: QUIT commit failed: {}", id, LogSafe(r.status().ToString()));
            }
          }));
}

void Pop3Session::OnCommitted(Result<storage::Pop3CommitResult> result) {
  if (state_ == State::kDone) return;
  if (!result.ok()) {
    if (UserGone()) {
      // Deleted before the poll told us (pillarbox user del).
      OnUserDeleted();
      return;
    }
    // Nothing was applied (the commit is one transaction): the deletes are
    // aborted, which ReleaseLogin journals.
    std::string err = InternalError("applying deletions", result.status());
    ReleaseLogin();
    Reply("-ERR [SYS/TEMP] " + err);
    Terminate();
    return;
  }
  committed_ = true;
  ReleaseLogin();
  Reply("+OK Logging out, messages deleted.");
  Terminate();
}

// --- output and teardown -------------------------------------------------------

protocols::FaultRegistry& Pop3Session::FaultRegistry() {
  return protocols::FaultRegistry::Global();
}

bool Pop3Session::InjectFault(const CommandDef& def, const CommandLine& cmd) {
  auto rule = FaultRegistry().Match("pop3", def.name, user_, "INBOX");
  if (!rule) return false;
  LOG_INFO("pop3 {}: fault injected on {}: {}", id_, def.name, rule->action);
  out_.Note("fault: " + std::string(def.name) + " " + rule->action +
            (rule->reply.empty() ? std::string() : " " + rule->reply));
  if (rule->action == "reply") {
    Reply(rule->reply.starts_with("-ERR") || rule->reply.starts_with("+OK")
              ? rule->reply
              : "-ERR " + rule->reply);
  } else if (rule->action == "disconnect" && rule->after_bytes > 0) {
    cutoff_.Arm(static_cast<std::uint64_t>(rule->after_bytes));
    def.run(*this, cmd);
  } else if (rule->action == "disconnect") {
    Terminate();
  } else if (rule->action == "delay" && ctx_.timer) {
    // Input waits meanwhile: the command runs when the timer fires.
    wait_ = Wait::kTimer;
    CommandLine copy = cmd;
    const CommandDef* d = &def;
    ctx_.timer(std::chrono::milliseconds(rule->delay_ms),
               protocols::BindSession<Pop3Session>(ctx_.registry, id_, [copy, d](Pop3Session& s) {
                 if (s.state_ == State::kDone) return;
                 s.wait_ = Wait::kNone;
                 d->run(s, copy);
                 if (s.wait_ == Wait::kNone) s.Pump();
               }));
  } else {
    return false;
  }
  return true;
}

void Pop3Session::Emit(std::string bytes) {
  if (cutoff_.cut()) return;
  if (cutoff_.Clip(bytes)) {  // a disconnect fault: the response stops here
    out_.Write(std::move(bytes));
    Terminate();
    return;
  }
  out_.Write(std::move(bytes));
}

void Pop3Session::Reply(std::string_view line) {
  std::string bytes;
  bytes.reserve(line.size() + 2);
  bytes.append(line);
  bytes.append("\r\n");
  Emit(std::move(bytes));
}

int Pop3Session::BadCommandLimit() const {
  int limit = config_.limits.max_bad_commands;
  if (state_ == State::kAuthorization) limit = std::min(limit, kMaxBadCommandsPreauth);
  return std::max(limit, 1);
}

void Pop3Session::BadCommand(std::string_view reply) {
  if (++bad_commands_ >= BadCommandLimit()) {
    Reply("-ERR Too many bad commands, closing connection.");
    Terminate();
    return;
  }
  Reply(reply);
}

std::string Pop3Session::InternalError(std::string_view what, const Status& status) {
  LOG_ERROR("pop3 {}: {} failed: {}", id_, what, LogSafe(status.ToString()));
  return "Internal error, see server log (session " + std::to_string(id_) + ").";
}

storage::Origin Pop3Session::MakeOrigin() const {
  storage::Origin o;
  o.protocol = "pop3";
  o.session = id_;
  o.peer = info_.peer_ip;
  return o;
}

void Pop3Session::ReleaseLogin() {
  // Deletes that QUIT did not apply are journalled as aborted.
  if (!committed_ && user_record_.id != 0) {
    bool any =
        std::any_of(messages_.begin(), messages_.end(), [](const Message& m) { return m.deleted; });
    if (any) {
      State saved = state_;
      state_ = State::kDone;  // fire-and-forget: nothing waits for these
      JournalDeletes(JournalKind::kPop3DeleteAborted);
      state_ = saved;
      for (Message& m : messages_) m.deleted = false;
    }
  }
  if (holds_lock_) {
    ctx_.store->UnlockPop3(user_record_.id, id_);
    holds_lock_ = false;
  }
  if (user_watch_ != 0) {
    ctx_.store->Unsubscribe(user_watch_);
    user_watch_ = 0;
  }
  if (registered_live_) {
    ctx_.store->UnregisterLiveSession(id_);
    registered_live_ = false;
  }
}

void Pop3Session::Terminate() {
  ReleaseLogin();
  state_ = State::kDone;
  stream_.reset();
  sasl_.reset();
  input_.clear();
  out_.Close();
}

}  // namespace pillarbox::pop3
