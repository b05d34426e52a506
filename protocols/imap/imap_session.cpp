#include "protocols/imap/imap_session.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <limits>

#include "common/log.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "protocols/command_table.h"
#include "protocols/faults.h"
#include "protocols/imap/commands.h"
#include "protocols/imap/imap_format.h"
#include "protocols/imap/mutf7.h"
#include "protocols/imap/notify.h"
#include "protocols/imap/object_id.h"
#include "protocols/imap/search_context.h"
#include "protocols/imap/sequence_set.h"

namespace pillarbox::imap {

std::unique_ptr<protocols::Session> MakeSession(protocols::SessionContext& ctx,
                                                protocols::ConnectionInfo& info,
                                                protocols::SessionOutput& out) {
  return std::make_unique<ImapSession>(ctx, info, out);
}

std::uint32_t SelectedMailbox::SeqOf(storage::Uid uid) const {
  auto it = std::lower_bound(uids.begin(), uids.end(), uid);
  if (it == uids.end() || *it != uid) return 0;
  return static_cast<std::uint32_t>(it - uids.begin()) + 1;
}

ImapSession::ImapSession(protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
                         protocols::SessionOutput& out)
    : ctx_(ctx), info_(info), out_(out) {
  id_ = ctx_.registry->Add(this);
  config::ImapConfig imap = ctx_.config->imap;
  config::ApplyListenerOverride(&imap, info_.listener_capabilities);
  disabled_ = config::ImapDisabled(imap);
  UpdateParserLimits();
}

ImapSession::~ImapSession() {
  OnClosed();
  ctx_.registry->Remove(id_);
}

void ImapSession::UpdateParserLimits() {
  const auto& limits = config().limits;
  ParserLimits l;
  if (state_ == State::kNotAuthenticated) {
    // Before login nothing large is legitimate: no APPEND, short names.
    l.max_line_length = limits.max_line_length_preauth;
    l.max_append_literal = limits.max_line_length_preauth;
    l.max_other_literals = limits.max_line_length_preauth;
    l.max_command_literals = limits.max_line_length_preauth;
    l.max_skipped_literal = kMaxSkippedLiteralPreauth;
  } else {
    l.max_line_length = limits.max_line_length;
    l.max_append_literal = limits.max_message_size;
    l.max_other_literals = limits.max_line_length;
    // One APPEND takes one message (and small literals beside it).
    l.max_command_literals = limits.max_message_size + limits.max_line_length;
  }
  l.literal_plus = (disabled_ & config::kImapLiteralPlus) == 0;
  parser_.set_limits(l);
}

// ---- Session interface ---------------------------------------------------

void ImapSession::Start() {
  Write("* OK [CAPABILITY " + Capabilities() + "] Pillarbox ready.\r\n");
}

void ImapSession::OnInput(std::string_view data) {
  if (closed_ || state_ == State::kLogout || tls_pending_) return;
  parser_.Feed(data);
  ProcessInput();
  if ((busy_ || OverHighWater()) && !input_paused_ && parser_.buffered() > kMaxBufferedInput) {
    input_paused_ = true;
    out_.PauseInput();
  }
}

void ImapSession::OnDrained() {
  if (closed_ || state_ == State::kLogout) return;
  if (continuation_ && !OverHighWater()) {
    auto fn = continuation_;
    fn(*this);
  }
  // Pipelined commands that waited for the client to read its answers.
  if (!busy_ && !OverHighWater()) ProcessInput();
  if (notify_) PushNotifications();
}

void ImapSession::OnTlsEstablished() {
  tls_pending_ = false;
  parser_.Reset();
}

void ImapSession::OnIdleTimeout() {
  if (closed_ || state_ == State::kLogout) return;
  Write("* BYE Autologout; idle for too long\r\n");
  Close();
}

void ImapSession::OnLoginTimeout() {
  if (closed_ || state_ == State::kLogout) return;
  Write("* BYE Login timed out.\r\n");
  Close();
}

void ImapSession::OnUserDeleted() {
  if (closed_ || state_ == State::kLogout) return;
  LOG_INFO("imap session {}: user {} was deleted: disconnecting", id_, LogSafe(user_.name));
  // A response being streamed (a FETCH literal) cannot take an untagged
  // line in its middle: then the connection just closes.
  if (!continuation_) Write("* BYE Account deleted.\r\n");
  Close();
}

void ImapSession::OnShutdown() {
  if (closed_ || state_ == State::kLogout) return;
  Write("* BYE Server shutting down.\r\n");
  Close();
}

void ImapSession::OnClosed() {
  if (closed_) return;
  closed_ = true;
  SetIdling(false);
  continuation_ = nullptr;
  line_handler_ = nullptr;
  NotifyStop(*this);
  if (user_watch_ != 0) {
    store().Unsubscribe(user_watch_);
    user_watch_ = 0;
  }
  if (selected_ && selected_->subscription != 0) {
    store().Unsubscribe(selected_->subscription);
    selected_->subscription = 0;
  }
  if (live_registered_) {
    store().UnregisterLiveSession(id_);
    live_registered_ = false;
  }
}

std::chrono::seconds ImapSession::IdleTimeout() const { return config().imap.idle_timeout; }

void ImapSession::Close() {
  state_ = State::kLogout;
  SetIdling(false);
  continuation_ = nullptr;
  out_.Close();
}

// ---- input and dispatch ----------------------------------------------------

void ImapSession::Write(std::string bytes) {
  if (closed_ || cutoff_.cut()) return;
  if (cutoff_.Clip(bytes)) {  // a disconnect fault: the response stops here
    out_.Write(std::move(bytes));
    Close();
    return;
  }
  out_.Write(std::move(bytes));
}

bool ImapSession::OverHighWater() const {
  return out_.QueuedBytes() > config().limits.output_high_water;
}

void ImapSession::ProcessInput() {
  if (in_process_) return;
  in_process_ = true;
  while (!closed_ && state_ != State::kLogout && !tls_pending_) {
    if (idling_ || line_handler_) {
      bool too_long = false;
      auto line = parser_.NextLine(&too_long);
      if (!line) break;
      if (idling_) {
        HandleIdleLine(std::move(*line), too_long);
      } else {
        auto handler = line_handler_;
        handler(*this, std::move(*line), too_long);
      }
      continue;
    }
    if (busy_) break;
    // A client that pipelines without reading its answers waits for them
    // (OnDrained goes on), so one burst of input cannot queue unbounded
    // output.
    if (OverHighWater()) break;
    ParseEvent ev = parser_.Next();
    if (ev.kind == ParseEvent::Kind::kNeedMore) break;
    switch (ev.kind) {
      case ParseEvent::Kind::kContinue:
        Write("+ OK\r\n");
        break;
      case ParseEvent::Kind::kError:
        OnParseError(ev);
        break;
      case ParseEvent::Kind::kCommand:
        Dispatch(std::move(ev.command));
        break;
      case ParseEvent::Kind::kNeedMore:
        break;
    }
  }
  in_process_ = false;
  if (input_paused_ && !busy_ && !closed_ && !OverHighWater() &&
      parser_.buffered() < kMaxBufferedInput) {
    input_paused_ = false;
    out_.ResumeInput();
  }
}

void ImapSession::OnParseError(ParseEvent& ev) {
  if (!ev.response.empty()) {
    Write((ev.tag.empty() ? std::string("*") : ev.tag) + " " + ev.response + "\r\n");
  }
  if (ev.fatal) {
    Write("* BYE Literal too large to skip, closing connection.\r\n");
    Close();
    return;
  }
  if (ev.response.starts_with("BAD")) CountBad();
}

void ImapSession::CountBad() {
  ++bad_commands_;
  int limit = state_ == State::kNotAuthenticated ? kMaxBadCommandsPreauth
                                                 : config().limits.max_bad_commands;
  if (bad_commands_ >= limit) {
    Write("* BYE Too many invalid IMAP commands.\r\n");
    Close();
  }
}

void ImapSession::Dispatch(Command cmd) {
  const CommandDef* def = FindCommand(cmd.name);
  protocols::CountCommand("imap", def);
  busy_ = true;
  current_uses_seqs_ = false;
  // A command of a turned-off extension is unknown, as on a server without it.
  const bool disabled = def != nullptr && (CmdExtension(def->flags) & disabled_) != 0;
  const bool uid_disabled = def != nullptr && cmd.uid && (def->flags & kCmdUidPlus) != 0 &&
                            (disabled_ & config::kImapUidPlus) != 0;
  if (def == nullptr || disabled || uid_disabled || (cmd.uid && (def->flags & kCmdUid) == 0)) {
    Finish(cmd, "BAD Error in IMAP command " + std::string(cmd.uid ? "UID " : "") + cmd.name +
                    ": Unknown command.");
    return;
  }
  unsigned bit = state_ == State::kNotAuthenticated ? kStateNotAuth
                 : state_ == State::kAuthenticated  ? kStateAuth
                                                    : kStateSelected;
  if ((def->states & bit) == 0) {
    std::string why;
    if (state_ == State::kNotAuthenticated) {
      why = "Not logged in.";
    } else if (def->states == kStateNotAuth) {
      why = "Already logged in.";
    } else {
      why = "No mailbox selected.";
    }
    Finish(cmd, "BAD " + why);
    return;
  }
  current_uses_seqs_ = (def->flags & kCmdUsesSeqs) != 0 && !cmd.uid;
  if (!protocols::FaultRegistry::Global().empty() && InjectFault(*def, cmd)) return;
  def->run(*this, cmd);
}

bool ImapSession::InjectFault(const CommandDef& def, Command& cmd) {
  auto rule = protocols::FaultRegistry::Global().Match(
      "imap", def.name, logged_in_ ? std::string_view(user_.name) : std::string_view(),
      selected_ ? std::string_view(selected_->name) : std::string_view());
  if (!rule) return false;
  LOG_INFO("imap session {}: fault injected on {}: {}", id_, def.name, rule->action);
  out_.Note("fault: " + std::string(def.name) + " " + rule->action +
            (rule->reply.empty() ? std::string() : " " + rule->reply));
  if (rule->action == "untagged") {
    // A surprise: "* <reply>" before the command's own response, or
    // delay_ms after the command started (during IDLE, say). "* BYE" closes.
    const bool bye = rule->reply.size() >= 3 && (rule->reply.compare(0, 3, "BYE") == 0 ||
                                                 rule->reply.compare(0, 3, "bye") == 0);
    auto surprise = [bye, line = "* " + rule->reply + "\r\n"](ImapSession& s) {
      s.Write(line);
      if (bye) s.Close();
    };
    if (rule->delay_ms > 0 && ctx_.timer) {
      ctx_.timer(std::chrono::milliseconds(rule->delay_ms), Bind(surprise));
      def.run(*this, cmd);
    } else {
      surprise(*this);
      if (!bye) def.run(*this, cmd);
    }
  } else if (rule->action == "reply") {
    Finish(cmd, rule->reply);
  } else if (rule->action == "bye") {
    Write("* BYE " + (rule->reply.empty() ? std::string("Fault injected.") : rule->reply) + "\r\n");
    Close();
  } else if (rule->action == "disconnect" && rule->after_bytes > 0) {
    // The command runs; the connection drops once that many bytes of its
    // response are out (mid literal, say).
    cutoff_.Arm(static_cast<std::uint64_t>(rule->after_bytes));
    def.run(*this, cmd);
  } else if (rule->action == "disconnect") {
    Close();
  } else if (rule->action == "delay" && ctx_.timer) {
    auto shared = std::make_shared<Command>(std::move(cmd));
    const CommandDef* d = &def;
    ctx_.timer(std::chrono::milliseconds(rule->delay_ms),
               Bind([shared, d](ImapSession& s) { d->run(s, *shared); }));
  } else {
    return false;
  }
  return true;
}

void ImapSession::Finish(const Command& cmd, std::string response) {
  if (closed_ || state_ == State::kLogout) {
    busy_ = false;
    return;
  }
  if (state_ == State::kSelected && selected_) SyncMailbox(!current_uses_seqs_);
  if (notify_) NotifyOnFinish(*this, cmd, response);
  Write(cmd.tag + " " + response + "\r\n");
  busy_ = false;
  continuation_ = nullptr;
  current_uses_seqs_ = false;
  if (response.starts_with("BAD")) CountBad();
  ProcessInput();
}

void ImapSession::FinishBad(const Command& cmd, std::string_view reason) {
  Finish(cmd, "BAD Error in IMAP command " + std::string(cmd.uid ? "UID " : "") + cmd.name + ": " +
                  std::string(reason));
}

std::string ImapSession::ErrorResponse(const Status& status, std::string_view what) {
  std::string w(what);
  switch (status.code()) {
    case Code::kNotFound:
      return w.empty() ? "NO [NONEXISTENT] Not found."
                       : "NO [NONEXISTENT] Mailbox doesn't exist: " + w;
    case Code::kExists:
      return w.empty() ? "NO [ALREADYEXISTS] Already exists."
                       : "NO [ALREADYEXISTS] Mailbox already exists: " + w;
    case Code::kNoPermission:
      return "NO [NOPERM] Permission denied.";
    case Code::kOverQuota:
      return "NO [OVERQUOTA] Quota exceeded (mailbox for user is full).";
    case Code::kExpunged:
      return "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.";
    case Code::kInUse:
      return "NO [INUSE] Mailbox is in use, try again later.";
    case Code::kLimit:
      return "NO [LIMIT] Limit exceeded.";
    case Code::kInvalidArgument:
      LOG_INFO("imap session {}: refused: {}", id_, LogSafe(status.ToString()));
      return "NO [CANNOT] Operation not possible.";
    default:
      LOG_ERROR("imap session {}: {}", id_, LogSafe(status.ToString()));
      return "NO [SERVERBUG] Internal error, see server log (session " + std::to_string(id_) + ")";
  }
}

void ImapSession::FinishError(const Command& cmd, const Status& status, std::string_view what) {
  // RFC 9208 4.3: show the quota that refused an APPEND, COPY, ...
  if (status.code() == Code::kOverQuota && logged_in_) {
    if (auto quota = QuotaResponse(*this)) Untagged(*quota);
  }
  Finish(cmd, ErrorResponse(status, what));
}

// ---- capabilities and login ------------------------------------------------

bool ImapSession::PlaintextAllowed() const {
  return protocols::PlaintextAllowed(config().auth, info_);
}

std::string ImapSession::Capabilities() const {
  std::string caps = "IMAP4rev1";
  // RFC 9051: the revision is advertised beside IMAP4rev1; a client turns
  // it on with ENABLE IMAP4rev2.
  if ((disabled_ & config::kImapRev2) == 0) caps += " IMAP4rev2";
  auto add = [&](std::string_view ext) {
    if ((config::ImapExtensionBit(ext) & disabled_) == 0) caps += " " + std::string(ext);
  };
  add("LITERAL+");
  if (state_ == State::kNotAuthenticated) {
    for (std::string_view ext : {"SASL-IR", "ID", "ENABLE", "IDLE"}) add(ext);
    if (info_.tls_available && !info_.tls_active) caps += " STARTTLS";
    caps += PlaintextAllowed() ? " AUTH=PLAIN AUTH=LOGIN" : " LOGINDISABLED";
  } else {
    for (std::string_view ext :
         {"ID", "ENABLE", "IDLE", "NAMESPACE", "UNSELECT", "CHILDREN", "UIDPLUS", "MOVE",
          "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE", "CREATE-SPECIAL-USE",
          "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "CONDSTORE", "QRESYNC", "ESEARCH"}) {
      add(ext);
    }
    // SEARCHRES and PARTIAL are RETURN options of ESEARCH (RFC 5182 2.1).
    if ((disabled_ & config::kImapEsearch) == 0) {
      add("SEARCHRES");
      add("PARTIAL");
      add("CONTEXT=SEARCH");  // RFC 5267: UPDATE and CONTEXT on SEARCH
    }
    for (std::string_view ext : {"MULTIAPPEND", "BINARY", "CATENATE"}) add(ext);
    for (std::string_view ext :
         {"SORT", "SORT=DISPLAY", "ESORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT"}) {
      add(ext);
    }
    // The same on SORT: only with SORT itself (RFC 5267 4.1).
    if ((disabled_ & (config::kImapSort | config::kImapEsearch)) == 0) add("CONTEXT=SORT");
    for (std::string_view ext :
         {"COMPRESS=DEFLATE", "UTF8=ACCEPT", "SAVEDATE", "OBJECTID", "NOTIFY"}) {
      add(ext);
    }
    // RFC 7889: the largest message APPEND takes (the parser's literal cap).
    if ((disabled_ & config::kImapAppendLimit) == 0) {
      caps += " APPENDLIMIT=" + std::to_string(config().limits.max_message_size);
    }
  }
  return caps;
}

void ImapSession::CheckPassword(const Command& cmd, std::string user, std::string password) {
  Command h = cmd.Header();
  if (ctx_.throttle && ctx_.throttle->LockedOut(info_.peer_ip, user)) {
    OnLoginFailed(h, user, "NO [AUTHENTICATIONFAILED] Authentication failed.", "locked out");
    return;
  }
  std::string name = protocols::LoginUserName(user, config().delivery);
  store().Authenticate(std::move(name), std::move(password), info_.peer_ip,
                       Bind([h, user](ImapSession& s, Result<storage::UserRecord> r) {
                         if (r.ok()) {
                           s.OnLoggedIn(h, std::move(*r));
                         } else if (r.status().code() == Code::kNoPermission ||
                                    r.status().code() == Code::kNotFound) {
                           s.OnLoginFailed(h, user,
                                           "NO [AUTHENTICATIONFAILED] Authentication failed.",
                                           r.status().message());
                         } else {
                           s.FinishError(h, r.status());
                         }
                       }));
}

void ImapSession::OnLoggedIn(const Command& cmd, storage::UserRecord user) {
  // Watch for the user's deletion, then check that it has not already
  // happened while the password was being verified.
  user_watch_ =
      store().WatchUser(user.id, Bind([](ImapSession& s, storage::UserId) { s.OnUserDeleted(); }));
  if (!store().Read()->GetUser(user.id).ok()) {
    store().Unsubscribe(user_watch_);
    user_watch_ = 0;
    OnLoginFailed(cmd, user.name, "NO [AUTHENTICATIONFAILED] Authentication failed.",
                  "user deleted");
    return;
  }
  if (ctx_.throttle) ctx_.throttle->OnSuccess(info_.peer_ip, user.name);
  LOG_INFO("imap session {}: {} logged in from {}", id_, LogSafe(user.name), info_.peer_ip);
  std::vector<std::string> problems;
  user_config_ = config::UserConfig(*ctx_.config, user.settings, &problems);
  for (const std::string& p : problems) {
    LOG_WARN("imap session {}: user {}: stored setting ignored, the configured value applies: {}",
             id_, LogSafe(user.name), LogSafe(p));
  }
  // The listener's profile applies unless the user has one of their own.
  config::ImapConfig imap = user_config_->imap;
  if (user.settings.count("imap.profile") == 0 && user.settings.count("imap.capabilities") == 0) {
    config::ApplyListenerOverride(&imap, info_.listener_capabilities);
  }
  disabled_ = config::ImapDisabled(imap);
  user_ = std::move(user);
  state_ = State::kAuthenticated;
  logged_in_ = true;
  bad_commands_ = 0;
  UpdateParserLimits();
  RegisterLive();
  Finish(cmd, "OK [CAPABILITY " + Capabilities() + "] Logged in");
}

void ImapSession::OnLoginFailed(const Command& cmd, const std::string& user, std::string response,
                                std::string_view reason) {
  // The fail2ban line (contrib/fail2ban/pillarbox.conf).
  LOG_INFO("login failed: proto=imap session={} rip={} user={} reason=\"{}\"", id_, info_.peer_ip,
           LogField(user), reason);
  std::chrono::milliseconds delay{0};
  if (ctx_.throttle) delay = ctx_.throttle->OnFailure(info_.peer_ip, user);
  if (delay.count() > 0 && ctx_.timer) {
    Command h = cmd.Header();
    ctx_.timer(delay, Bind([h, response](ImapSession& s) { s.Finish(h, response); }));
    return;
  }
  Finish(cmd, std::move(response));
}

void ImapSession::RegisterLive() {
  storage::ReadView::LiveSession live;
  live.id = id_;
  live.pid = static_cast<std::uint64_t>(getpid());
  live.protocol = "imap";
  live.peer = info_.peer_ip;
  live.user = user_.id;
  live.mailbox = selected_ ? selected_->name : std::string();
  live.since = static_cast<storage::UnixTime>(std::time(nullptr));
  live.client_id = client_id_;
  store().RegisterLiveSession(std::move(live));
  live_registered_ = true;
}

void ImapSession::set_client_id(std::string text) {
  client_id_ = std::move(text);
  if (live_registered_) RegisterLive();
}

storage::Origin ImapSession::MakeOrigin() const {
  storage::Origin o;
  o.protocol = "imap";
  o.session = id_;
  o.peer = info_.peer_ip;
  return o;
}

void ImapSession::BeginTls() {
  tls_pending_ = true;
  parser_.Reset();
  out_.StartTls();
}

void ImapSession::FinishAndCompress(const Command& cmd) {
  // Nothing after the command may be parsed as plaintext: hold the input
  // loop while the OK is written, then drop what the parser holds.
  bool was = in_process_;
  in_process_ = true;
  Finish(cmd, "OK DEFLATE active");
  parser_.Reset();
  if (!closed_ && !out_.StartCompression()) {
    LOG_WARN("imap session {}: compression could not start", id_);
    Close();
  }
  in_process_ = was;
  if (!was) ProcessInput();
}

// ---- mailbox names -----------------------------------------------------------

std::optional<std::string> ImapSession::DecodeMailboxName(const Value& v,
                                                          bool allow_trailing_delimiter,
                                                          std::string* error) {
  if (!v.IsAString() && !v.IsNil()) {
    *error = "Invalid mailbox name";
    return std::nullopt;
  }
  auto utf8 = MailboxFromWire(v.text);
  if (!utf8) {
    *error = utf8_accept() ? "Mailbox name is not valid UTF-8" : "Mailbox name is not valid mUTF-7";
    return std::nullopt;
  }
  std::string name = std::move(*utf8);
  if (allow_trailing_delimiter) {
    while (name.size() > 1 && name.back() == '/') name.pop_back();
  }
  if (name.empty() || name.size() > kMaxMailboxNameBytes) {
    *error = "Invalid mailbox name";
    return std::nullopt;
  }
  std::size_t levels = 1;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '/') {
      ++levels;
      if (i == 0 || i + 1 == name.size() || name[i + 1] == '/') {
        *error = "Invalid mailbox name";
        return std::nullopt;
      }
    }
  }
  if (levels > kMaxMailboxLevels) {
    *error = "Mailbox name has too many hierarchy levels";
    return std::nullopt;
  }
  // INBOX is case-insensitive, also as the first level of a longer name.
  if (StartsWithIgnoreAsciiCase(name, "INBOX") && (name.size() == 5 || name[5] == '/')) {
    for (int i = 0; i < 5; ++i) name[i] = AsciiUpper(name[i]);
  }
  return name;
}

std::string ImapSession::EncodeMailboxName(std::string_view utf8) {
  auto wire = Utf8ToMutf7(utf8);
  return FormatAString(wire ? *wire : std::string(utf8));
}

std::string ImapSession::MailboxWire(std::string_view utf8) const {
  if (!utf8_accept()) return EncodeMailboxName(utf8);
  // RFC 6855 3: UTF-8 in a quoted string (a literal only for what cannot
  // be quoted: CR, LF, NUL, or a very long name).
  bool quotable = utf8.size() <= 1024;
  bool atom = !utf8.empty() && !EqualsIgnoreAsciiCase(utf8, "NIL");
  for (unsigned char c : utf8) {
    if (c == 0 || c == '\r' || c == '\n') quotable = false;
    if (c < 0x21 || c == 0x7f || c >= 0x80 || c == '(' || c == ')' || c == '{' || c == '%' ||
        c == '*' || c == '"' || c == '\\' || c == ']') {
      atom = false;
    }
  }
  if (atom) return std::string(utf8);
  if (!quotable) return FormatAString(utf8);
  std::string out = "\"";
  for (char c : utf8) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::optional<std::string> ImapSession::MailboxFromWire(std::string_view wire) const {
  if (!utf8_accept()) return Mutf7ToUtf8(wire);
  // UTF-8 as it is; the check is the mUTF-7 encoder's, which refuses
  // invalid UTF-8.
  for (unsigned char c : wire) {
    if (c < 0x20 || c == 0x7f) return std::nullopt;
  }
  if (!Utf8ToMutf7(wire)) return std::nullopt;
  return std::string(wire);
}

// ---- the selected mailbox ------------------------------------------------------

std::string ImapSession::FlagsLine() const {
  std::string s = "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft";
  if (selected_) {
    for (const auto& k : selected_->keywords) s += " " + k;
  }
  return s + ")";
}

std::string ImapSession::PermanentFlagsLine() const {
  if (selected_ && selected_->read_only) return "OK [PERMANENTFLAGS ()] Read-only mailbox.";
  std::string s = "OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft";
  if (selected_) {
    for (const auto& k : selected_->keywords) s += " " + k;
  }
  return s + " \\*)] Flags permitted.";
}

bool ImapSession::AddKeywords(const storage::Flags& flags) {
  if (!selected_) return false;
  bool added = false;
  for (const auto& k : flags.keywords) {
    if (!HasKeyword(selected_->keywords, k)) {
      selected_->keywords.insert(k);
      added = true;
    }
  }
  return added;
}

void ImapSession::AnnounceKeywords() {
  Write("* " + FlagsLine() + "\r\n* " + PermanentFlagsLine() + "\r\n");
}

void ImapSession::LearnKeywords(const storage::Flags& flags) {
  if (AddKeywords(flags)) AnnounceKeywords();
}

Status ImapSession::OpenMailbox(const std::string& name, bool read_only,
                                const std::optional<QresyncParams>& qresync) {
  CloseMailbox();
  auto view = store().Read();
  auto mb = view->FindMailbox(user_.id, name);
  if (!mb.ok()) return mb.status();
  std::vector<storage::MessageRecord> messages = view->ListMessages(mb->id);
  SelectedMailbox sel;
  sel.id = mb->id;
  sel.name = mb->name;
  sel.read_only = read_only;
  sel.uidvalidity = mb->uidvalidity;
  sel.modseq = mb->highest_modseq;
  sel.announced_modseq = mb->highest_modseq;
  sel.max_uid_seen = mb->uidnext > 0 ? mb->uidnext - 1 : 0;
  sel.uids.reserve(messages.size());
  std::uint32_t first_unseen = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    sel.uids.push_back(m.uid);
    sel.max_uid_seen = std::max(sel.max_uid_seen, m.uid);
    if (first_unseen == 0 && (m.flags.system & storage::kFlagSeen) == 0) {
      first_unseen = static_cast<std::uint32_t>(i + 1);
    }
    for (const auto& k : m.flags.keywords) {
      if (!HasKeyword(sel.keywords, k)) sel.keywords.insert(k);
    }
  }
  // QRESYNC (RFC 7162 3.2.5): with the client's UIDVALIDITY still valid,
  // the UIDs (among those it knows) expunged since its modseq, and the
  // messages (among those) changed since.
  std::vector<storage::Uid> vanished;
  std::vector<std::pair<std::uint32_t, storage::MessageRecord>> changed;
  if (qresync && qresync->uidvalidity == mb->uidvalidity) {
    std::optional<SequenceSet> known;
    if (qresync->known_uids) {
      auto parsed = SequenceSet::Parse(*qresync->known_uids);
      if (parsed.ok()) known = std::move(*parsed);
    }
    auto is_known = [&](storage::Uid uid) {
      return !known || known->Contains(uid, sel.max_uid_seen);
    };
    for (const auto& c : view->ChangesSince(mb->id, qresync->modseq)) {
      if (c.kind == storage::Change::Kind::kExpunge && is_known(c.uid)) vanished.push_back(c.uid);
    }
    std::sort(vanished.begin(), vanished.end());
    for (std::size_t i = 0; i < messages.size(); ++i) {
      if (messages[i].modseq > qresync->modseq && is_known(messages[i].uid)) {
        changed.emplace_back(static_cast<std::uint32_t>(i + 1), std::move(messages[i]));
      }
    }
  }
  view.reset();
  {
    // EXAMINE claims nothing: with uidnext 0 the claimed range is empty and
    // the answer is just the first UID nobody has claimed yet.
    // IMAP4rev2 has no \Recent: such a session claims nothing, so that
    // IMAP4rev1 sessions still see their new messages as recent.
    storage::Uid first = store().ClaimRecent(sel.id, read_only || imap4rev2() ? 0 : mb->uidnext);
    if (imap4rev2()) first = std::numeric_limits<storage::Uid>::max();
    for (auto it = std::lower_bound(sel.uids.begin(), sel.uids.end(), first); it != sel.uids.end();
         ++it) {
      sel.recent.insert(*it);
    }
  }
  sel.subscription = store().Subscribe(
      sel.id, Bind([](ImapSession& s, storage::MailboxId) { s.OnMailboxChanged(); }));
  // The bus knows the mailbox from now on, but a commit by another process
  // between the read above and Subscribe() may already count as published:
  // read the change log once more when the command ends.
  sel.changes_pending = true;
  selected_ = std::move(sel);
  state_ = State::kSelected;

  std::string out;
  out += "* " + FlagsLine() + "\r\n";
  out += "* " + PermanentFlagsLine() + "\r\n";
  out += "* " + std::to_string(selected_->uids.size()) + " EXISTS\r\n";
  if (!imap4rev2()) {
    out += "* " + std::to_string(selected_->recent.size()) + " RECENT\r\n";
    if (first_unseen != 0) {
      out += "* OK [UNSEEN " + std::to_string(first_unseen) + "] First unseen.\r\n";
    }
  } else {
    // RFC 9051 6.3.2: the mailbox's LIST response (no UNSEEN code there).
    auto view2 = store().Read();
    bool children = false;
    for (const auto& other : view2->ListMailboxes(user_.id)) {
      if (other.name.size() > mb->name.size() && other.name.starts_with(mb->name) &&
          other.name[mb->name.size()] == '/') {
        children = true;
        break;
      }
    }
    std::string attrs = children ? "\\HasChildren" : "\\HasNoChildren";
    if (mb->special_use != storage::SpecialUse::kNone) {
      attrs += " " + std::string(storage::SpecialUseName(mb->special_use));
    }
    out += "* LIST (" + attrs + ") \"/\" " + MailboxWire(mb->name) + "\r\n";
  }
  out += "* OK [UIDVALIDITY " + std::to_string(selected_->uidvalidity) + "] UIDs valid\r\n";
  out += "* OK [UIDNEXT " + std::to_string(mb->uidnext) + "] Predicted next UID\r\n";
  if (condstore_) {
    out += "* OK [HIGHESTMODSEQ " + std::to_string(selected_->announced_modseq) + "] Highest\r\n";
    selected_->highestmodseq_sent = true;
  }
  if ((disabled_ & config::kImapObjectId) == 0) {
    out += "* OK [MAILBOXID (" + MailboxObjectId(mb->id) + ")] Ok\r\n";
  }
  if (!vanished.empty()) out += "* VANISHED (EARLIER) " + FormatSequenceSet(vanished) + "\r\n";
  for (const auto& [seq, rec] : changed) {
    out += "* " + std::to_string(seq) + " FETCH (UID " + std::to_string(rec.uid) + " FLAGS " +
           FormatFlags(rec.flags, selected_->IsRecent(rec.uid)) + " MODSEQ (" +
           std::to_string(rec.modseq) + "))\r\n";
  }
  Write(std::move(out));
  RegisterLive();
  return Status::Ok();
}

void ImapSession::CloseMailbox() {
  if (selected_) {
    if (selected_->subscription != 0) store().Unsubscribe(selected_->subscription);
    selected_.reset();
    if (live_registered_) RegisterLive();
  }
  if (state_ == State::kSelected) state_ = State::kAuthenticated;
}

void ImapSession::EnableCondstore() {
  if (condstore_) return;
  condstore_ = true;
  // RFC 7162 3.1: a CONDSTORE-enabling command while a mailbox is selected
  // tells its HIGHESTMODSEQ once.
  if (selected_ && !selected_->highestmodseq_sent) {
    // Read the change log first, so that the value is current (and never
    // above an expunge held back).
    SyncMailbox(!current_uses_seqs_);
    selected_->highestmodseq_sent = true;
    Untagged("OK [HIGHESTMODSEQ " + std::to_string(selected_->announced_modseq) + "] Highest");
  }
}

void ImapSession::FinishWithHighestModSeq(const Command& cmd, std::string_view text) {
  if (!selected_ || state_ != State::kSelected) return Finish(cmd, "OK " + std::string(text));
  SyncMailbox(!current_uses_seqs_);
  Finish(cmd, "OK [HIGHESTMODSEQ " + std::to_string(selected_->announced_modseq) + "] " +
                  std::string(text));
}

void ImapSession::OnMailboxChanged() {
  if (!selected_) return;
  selected_->changes_pending = true;
  if (idling_) {
    SyncMailbox(true);
  } else if (notify_) {
    PushNotifications();
  }
}

void ImapSession::set_notify(std::unique_ptr<NotifyState> n) { notify_ = std::move(n); }

void ImapSession::PushNotifications() {
  if (!notify_ || closed_ || state_ == State::kLogout || tls_pending_ || continuation_) return;
  if (busy_ && !idling_) return;  // Finish() sends them with the command's answer
  const bool selected_due = selected_ && selected_->changes_pending && notify_->PushSelected();
  if (!selected_due && !notify_->dirty_all && notify_->dirty.empty()) return;
  if (OverHighWater()) return NotifyDefer(*this);  // OnDrained() comes back
  if (selected_due) SyncMailbox(idling_ || !notify_->spec.selected_delayed);
  NotifyFlush(*this);
}

void ImapSession::MarkReported(const storage::MessageRecord& rec) {
  if (selected_) selected_->reported[rec.uid] = rec.modseq;
}

void ImapSession::SyncMailbox(bool allow_expunge) {
  if (!selected_) return;
  SelectedMailbox& sel = *selected_;
  bool expunges = allow_expunge && !sel.pending_expunge.empty();
  if (!sel.changes_pending && !expunges) return;

  SyncDelta delta;  // for the CONTEXT=SEARCH/SORT updates
  auto view = store().Read();
  if (sel.changes_pending) {
    sel.changes_pending = false;
    std::vector<storage::Change> changes = view->ChangesSince(sel.id, sel.modseq);
    for (const auto& c : changes) {
      sel.modseq = std::max(sel.modseq, c.modseq);
      switch (c.kind) {
        case storage::Change::Kind::kNew:
          if (c.uid > sel.max_uid_seen) {
            sel.pending_new.push_back(c.uid);
            sel.max_uid_seen = c.uid;
          }
          break;
        case storage::Change::Kind::kExpunge: {
          auto it = std::find(sel.pending_new.begin(), sel.pending_new.end(), c.uid);
          if (it != sel.pending_new.end()) {
            sel.pending_new.erase(it);
            sel.recent.erase(c.uid);
          } else if (sel.SeqOf(c.uid) != 0) {
            sel.pending_expunge.insert(c.uid);
          }
          sel.flags_dirty.erase(c.uid);
          break;
        }
        case storage::Change::Kind::kFlags: {
          delta.flags_changed.push_back(c.uid);
          auto rep = sel.reported.find(c.uid);
          if (rep != sel.reported.end() && c.modseq <= rep->second) break;
          if (sel.pending_expunge.count(c.uid)) break;
          if (sel.SeqOf(c.uid) != 0 || std::find(sel.pending_new.begin(), sel.pending_new.end(),
                                                 c.uid) != sel.pending_new.end()) {
            sel.flags_dirty.insert(c.uid);
          }
          break;
        }
      }
    }
    // Everything up to the head of the log has been read.
    sel.reported.clear();
  }

  std::string out;
  // 1. EXPUNGE, in ascending order; each one renumbers the messages after it.
  // With QRESYNC, one VANISHED with their UIDs instead (RFC 7162 3.2.10).
  if (allow_expunge && !sel.pending_expunge.empty()) {
    std::uint32_t removed = 0;
    std::vector<storage::Uid> kept;
    std::vector<storage::Uid> vanished;
    kept.reserve(sel.uids.size());
    for (std::size_t i = 0; i < sel.uids.size(); ++i) {
      storage::Uid uid = sel.uids[i];
      if (sel.pending_expunge.count(uid)) {
        delta.expunged.emplace_back(uid, static_cast<std::uint32_t>(i + 1));
        if (qresync()) {
          vanished.push_back(uid);
        } else {
          out += "* " + std::to_string(i + 1 - removed) + " EXPUNGE\r\n";
        }
        ++removed;
        sel.recent.erase(uid);
        sel.flags_dirty.erase(uid);
      } else {
        kept.push_back(uid);
      }
    }
    sel.uids = std::move(kept);
    sel.pending_expunge.clear();
    if (!vanished.empty()) out += "* VANISHED " + FormatSequenceSet(vanished) + "\r\n";
  }
  // 2. New keywords (FLAGS / PERMANENTFLAGS) before the messages using them.
  std::vector<storage::MessageRecord> new_records;
  if (!sel.pending_new.empty() || !sel.flags_dirty.empty()) {
    bool added = false;
    for (storage::Uid uid : sel.pending_new) {
      auto rec = view->GetMessage(sel.id, uid);
      if (rec.ok()) added = AddKeywords(rec->flags) || added;
    }
    for (storage::Uid uid : sel.flags_dirty) {
      auto rec = view->GetMessage(sel.id, uid);
      if (rec.ok()) added = AddKeywords(rec->flags) || added;
    }
    if (added) {
      out += "* " + FlagsLine() + "\r\n";
      out += "* " + PermanentFlagsLine() + "\r\n";
    }
  }
  // Read what is needed, then let the view go before claiming \Recent (the
  // claim may itself read the store).
  storage::Uid uidnext = 0;
  if (!sel.pending_new.empty()) {
    auto mb = view->GetMailbox(sel.id);
    uidnext = mb.ok() ? mb->uidnext : sel.pending_new.back() + 1;
  }
  std::vector<storage::MessageRecord> flag_updates;
  for (storage::Uid uid : sel.flags_dirty) {
    if (sel.pending_expunge.count(uid)) continue;
    auto rec = view->GetMessage(sel.id, uid);
    if (rec.ok()) flag_updates.push_back(std::move(*rec));
  }
  sel.flags_dirty.clear();
  view.reset();
  // 3. EXISTS and RECENT.
  std::vector<storage::Uid> announced_new;
  if (!sel.pending_new.empty()) {
    storage::Uid first = store().ClaimRecent(sel.id, sel.read_only || imap4rev2() ? 0 : uidnext);
    for (storage::Uid uid : sel.pending_new) {
      if (uid >= first && !imap4rev2()) sel.recent.insert(uid);
    }
    std::sort(sel.pending_new.begin(), sel.pending_new.end());
    for (storage::Uid uid : sel.pending_new) sel.uids.push_back(uid);
    if (notify_) announced_new = sel.pending_new;  // NOTIFY MessageNew fetch attributes
    delta.added = sel.pending_new;
    sel.pending_new.clear();
    out += "* " + std::to_string(sel.uids.size()) + " EXISTS\r\n";
    if (!imap4rev2()) out += "* " + std::to_string(sel.recent.size()) + " RECENT\r\n";
  }
  // 4. FETCH FLAGS for flag changes (with CONDSTORE: UID and MODSEQ too).
  bool fetched = false;
  for (const auto& rec : flag_updates) {
    std::uint32_t seq = sel.SeqOf(rec.uid);
    if (seq == 0) continue;
    std::string line = FlagsFetchLine(seq, rec, sel.IsRecent(rec.uid), condstore_);
    if (notify_) NotifyFlagsLine(*this, rec.uid, &line);
    out += line;
    fetched = true;
  }
  if (sel.pending_expunge.empty()) {
    sel.announced_modseq = sel.modseq;
  } else if (fetched && condstore_) {
    // Expunges are held back (a command using sequence numbers runs) while
    // newer modseqs were shown: the client must not take those as its
    // HIGHESTMODSEQ (RFC 7162 3.2).
    out += "* OK [HIGHESTMODSEQ " + std::to_string(sel.announced_modseq) + "] Highest\r\n";
  }
  ReportContextUpdates(*this, delta, &out);
  if (!out.empty()) Write(std::move(out));
  if (!announced_new.empty()) NotifyNewMessages(*this, announced_new);
}

// ---- IDLE ------------------------------------------------------------------------

void ImapSession::SetIdling(bool on) {
  if (on == idling_) return;
  idling_ = on;
  static auto& gauge =
      Metrics::Global().Gauge("imap_idle_sessions", "", "IMAP sessions in IDLE now");
  gauge.fetch_add(on ? 1 : -1, std::memory_order_relaxed);
}

void ImapSession::BeginIdle(const Command& cmd) {
  SetIdling(true);
  idle_tag_ = cmd.tag;
  ++idle_generation_;
  Write("+ idling\r\n");
  if (selected_) SyncMailbox(true);
  if (notify_) NotifyFlush(*this);
  ArmIdleKeepalive();
}

void ImapSession::ArmIdleKeepalive() {
  if (!ctx_.timer) return;
  std::uint64_t gen = idle_generation_;
  ctx_.timer(kIdleKeepalive, Bind([gen](ImapSession& s) {
               if (!s.idling_ || s.idle_generation_ != gen) return;
               s.Write("* OK Still here\r\n");
               s.ArmIdleKeepalive();
             }));
}

void ImapSession::HandleIdleLine(std::string line, bool too_long) {
  SetIdling(false);
  ++idle_generation_;
  Command h;
  h.tag = idle_tag_;
  h.name = "IDLE";
  if (!too_long && EqualsIgnoreAsciiCase(line, "DONE")) {
    Finish(h, "OK Idle completed.");
  } else {
    Finish(h, "BAD Expected DONE.");
  }
}

}  // namespace pillarbox::imap
