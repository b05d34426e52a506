// The SMTP/LMTP session: command parsing, the transaction state machine,
// DATA/BDAT reading, recipient routing and delivery through the store.
//
// Flow control: input is buffered in in_ and handled by Pump(). While the
// session waits for the store or for a delayed AUTH answer (busy_), Pump()
// stops, so replies always go out in command order (RFC 2920) no matter how
// many commands a client pipelines; the rest of the buffer is handled when
// the wait ends. Buffered input beyond kMaxBufferedInput pauses the socket.
//
// Memory: a message body is kept in memory up to kSpillThreshold; beyond
// that it goes to an anonymous spill file under <data_dir>/tmp in chunks of
// about kSpillThreshold, and the store reads it back at commit
// (AppendRequest::spill). So a client that sends a large DATA without the
// final dot holds about 1 MiB of memory, not the message. The buffered
// input and the in-memory body count against the process memory budget
// ([limits] max_memory); when it is used up, MAIL, DATA and BDAT get
// 452 4.3.1.
#include <algorithm>
#include <charconv>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include "common/log.h"
#include "common/memory_budget.h"
#include "common/strings.h"
#include "protocols/command_table.h"
#include "protocols/faults.h"
#include "protocols/sasl/sasl.h"
#include "protocols/smtp/address.h"
#include "protocols/smtp/data_decoder.h"
#include "protocols/smtp/routing.h"
#include "protocols/smtp/smtp_session.h"
#include "protocols/smtp/trace.h"
#include "services/delivery.h"

namespace pillarbox::smtp {
namespace {

using protocols::ConnectionInfo;
using protocols::SessionContext;
using protocols::SessionOutput;

// RFC 4954 4: an AUTH command line or SASL response may be up to 12288
// octets, longer than the 1000-octet command line of RFC 5321.
constexpr std::size_t kMaxAuthLineLength = 12288;
// Input held while the session waits for the store before the socket is
// paused: enough for a full pipelined envelope of many recipients.
constexpr std::size_t kMaxBufferedInput = 64 * 1024;
// NOOP, RSET, VRFY and HELP without a delivery in between (Postfix's
// smtpd_junk_command_limit): a client looping on them is closed.
constexpr int kMaxJunkCommands = 100;
// A message body beyond this goes to a spill file, written in chunks of
// this size. Writing 1 MiB to a file on the loop thread is a page-cache
// copy (no fsync, and the file is never synced: it is scratch), a fraction
// of a millisecond, once per MiB received: cheaper than handing each chunk
// to a worker, and the loop already spends more copying those bytes in.
constexpr std::size_t kSpillThreshold = 1u << 20;
constexpr const char* kShortOfMemory = "452 4.3.1 Server is short of memory, try again later";

std::string UpperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiUpper(c);
  return out;
}

bool ParseDecimal(std::string_view s, std::uint64_t* value) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto r = std::from_chars(s.data(), s.data() + s.size(), *value);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// crypt(3) is slow by design; the hash for auto-created users is computed
// once per process and password (off the loop, by Store::HashPasswordAsync),
// not per recipient. Lookups and updates only: nothing here hashes.
std::mutex auto_create_mu;
std::string auto_create_password;  // under auto_create_mu
std::string auto_create_hash;      // under auto_create_mu

std::optional<std::string> CachedAutoCreateHash(const std::string& password) {
  // No password: the store keeps an empty hash, which VerifyPassword never
  // accepts (it refuses "!" and other non-hashes at CreateUser).
  if (password.empty()) return std::string();
  std::lock_guard<std::mutex> lock(auto_create_mu);
  if (!auto_create_hash.empty() && auto_create_password == password) return auto_create_hash;
  return std::nullopt;
}

void RememberAutoCreateHash(const std::string& password, const std::string& hash) {
  std::lock_guard<std::mutex> lock(auto_create_mu);
  auto_create_password = password;
  auto_create_hash = hash;
}

class SmtpSession final : public protocols::Session {
 public:
  SmtpSession(SessionContext& ctx, ConnectionInfo& info, SessionOutput& out, bool lmtp,
              SessionOptions options)
      : ctx_(ctx),
        info_(info),
        out_(out),
        cfg_(*ctx.config),
        lmtp_(lmtp),
        options_(std::move(options)),
        rng_(std::random_device{}()) {
    id_ = ctx_.registry->Add(this);
    if (!options_.now) {
      options_.now = [] {
        return static_cast<storage::UnixTime>(
            std::chrono::duration_cast<std::chrono::seconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count());
      };
    }
  }

  ~SmtpSession() override { ctx_.registry->Remove(id_); }

  void Start() override {
    Reply("220 " + ctx_.hostname + (lmtp_ ? " LMTP" : " ESMTP") + " Pillarbox ready");
  }

  void OnInput(std::string_view data) override {
    if (mode_ == Mode::kClosed) return;
    if (mode_ == Mode::kTlsWait) return;  // plaintext after STARTTLS is dropped
    in_.append(data);
    Pump();
  }

  void OnDrained() override {
    if (output_blocked_) {
      output_blocked_ = false;
      Pump();
    }
  }

  void OnTlsEstablished() override {
    if (mode_ == Mode::kClosed) return;
    // RFC 3207 4.2: forget everything learned before the handshake.
    in_.clear();
    pos_ = 0;
    discarding_line_ = false;
    greeted_ = false;
    esmtp_ = false;
    helo_.clear();
    authenticated_ = false;
    auth_user_.clear();
    sasl_.reset();
    ResetTransaction();
    mode_ = Mode::kCommand;
  }

  void OnIdleTimeout() override {
    if (mode_ == Mode::kClosed) return;
    Reply("421 4.4.2 " + ctx_.hostname + " Timeout exceeded, closing connection");
    Close();
  }

  void OnShutdown() override {
    if (mode_ == Mode::kClosed) return;
    Reply("421 4.3.2 " + ctx_.hostname + " Service shutting down, closing connection");
    Close();
  }

  void OnClosed() override {
    mode_ = Mode::kClosed;
    ctx_.registry->Remove(id_);
  }

  std::chrono::seconds IdleTimeout() const override { return kIdleTimeout; }
  // LMTP is trusted intake; an SMTP client has [limits] login_timeout to
  // reach MAIL FROM (or AUTH) once.
  bool Authenticated() const override { return lmtp_ || past_login_; }
  std::uint64_t id() const override { return id_; }

 private:
  enum class Mode { kCommand, kData, kBdat, kAuth, kTlsWait, kClosed };

  struct Recipient {
    std::string address;  // as the client wrote it, for replies and headers
    storage::UserId user = 0;
    std::string mailbox = "INBOX";
    int same_as = -1;  // an earlier recipient with the same user and mailbox
  };

  struct Transaction {
    bool active = false;  // MAIL accepted
    Address from;
    std::uint64_t declared_size = 0;  // SIZE=, 0: not given
    std::vector<Recipient> rcpts;
    bool bdat = false;          // BDAT used: DATA is no longer allowed
    std::string body;           // in memory: all of it, or what follows `spill`
    std::size_t body_size = 0;  // including bytes dropped over the limit
    // The body so far, once it passed kSpillThreshold.
    std::shared_ptr<storage::SpillFile> spill;
    bool spill_failed = false;  // the rest is dropped; the message gets 451
  };

  // One message being committed.
  struct Delivery {
    std::uint64_t seq = 0;
    std::vector<std::optional<services::Outcome>> results;  // per recipient
    std::size_t next_reply = 0;                             // LMTP: replies sent so far
    std::string id;
  };

  // --- output ---------------------------------------------------------------

  void Reply(std::string line) {
    if (mode_ == Mode::kClosed) return;
    line += "\r\n";
    out_.Write(std::move(line));
  }

  void Close() {
    if (mode_ == Mode::kClosed) return;
    mode_ = Mode::kClosed;
    out_.Close();
  }

  // A 500/501/503 answer; too many of them end the session.
  void BadCommand(std::string line) {
    Reply(std::move(line));
    if (++bad_commands_ >= cfg_.limits.max_bad_commands) {
      Reply("421 4.7.0 " + ctx_.hostname + " Too many errors, closing connection");
      Close();
    }
  }

  void JunkCommand() {
    if (++junk_commands_ > kMaxJunkCommands) {
      Reply("421 4.7.0 " + ctx_.hostname + " Too many commands, closing connection");
      Close();
    }
  }

  // --- input --------------------------------------------------------------------

  void Pump() {
    if (pumping_) return;
    pumping_ = true;
    while (mode_ != Mode::kClosed && !busy_) {
      if (out_.QueuedBytes() > cfg_.limits.output_high_water) {
        // A client that pipelines without reading its replies waits for them.
        output_blocked_ = true;
        break;
      }
      if (!Step()) break;
    }
    if (pos_ > 0 && (pos_ == in_.size() || pos_ > 4096)) {
      in_.erase(0, pos_);
      pos_ = 0;
    }
    charge_.Set(in_.size() + txn_.body.size());
    bool want_pause = (busy_ || output_blocked_) && in_.size() - pos_ > kMaxBufferedInput;
    if (want_pause != input_paused_ && mode_ != Mode::kClosed) {
      input_paused_ = want_pause;
      if (want_pause) {
        out_.PauseInput();
      } else {
        out_.ResumeInput();
      }
    }
    pumping_ = false;
  }

  // Handles one unit of input. Returns false when more input is needed.
  bool Step() {
    std::string_view avail(in_.data() + pos_, in_.size() - pos_);
    switch (mode_) {
      case Mode::kCommand:
      case Mode::kAuth:
        return StepLine(avail);
      case Mode::kData: {
        bool done = false;
        std::size_t used = decoder_->Feed(avail, &txn_.body, &done);
        pos_ += used;
        MaybeSpill();
        if (!done) return false;
        mode_ = Mode::kCommand;
        EndData();
        return true;
      }
      case Mode::kBdat: {
        std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(bdat_remaining_, avail.size()));
        if (bdat_error_.empty()) {
          std::size_t limit = cfg_.limits.max_message_size;
          if (txn_.body_size < limit) {
            txn_.body.append(avail.data(), std::min(take, limit - txn_.body_size));
          }
          txn_.body_size += take;
          MaybeSpill();
        }
        pos_ += take;
        bdat_remaining_ -= take;
        if (bdat_remaining_ > 0) return false;
        mode_ = Mode::kCommand;
        EndBdatChunk();
        return true;
      }
      case Mode::kTlsWait:
        in_.clear();
        pos_ = 0;
        return false;
      case Mode::kClosed:
        return false;
    }
    return false;
  }

  bool StepLine(std::string_view avail) {
    std::size_t limit =
        mode_ == Mode::kAuth ? kMaxAuthLineLength : cfg_.limits.smtp_max_line_length;
    auto lf = avail.find('\n');
    if (discarding_line_) {
      if (lf == std::string_view::npos) {
        pos_ += avail.size();
        return false;
      }
      pos_ += lf + 1;
      discarding_line_ = false;
      LineTooLong();
      return true;
    }
    if (lf == std::string_view::npos) {
      if (avail.size() > limit) {
        // Over the limit without an end in sight: drop it as it comes.
        discarding_line_ = true;
        pos_ += avail.size();
      }
      return false;
    }
    pos_ += lf + 1;
    if (lf + 1 > limit) {
      LineTooLong();
      return true;
    }
    std::string_view line = avail.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string copy(line);  // handlers may append to in_
    if (mode_ == Mode::kAuth) {
      AuthContinue(copy);
    } else {
      Dispatch(copy);
    }
    return true;
  }

  void LineTooLong() {
    if (mode_ == Mode::kAuth) {
      mode_ = Mode::kCommand;
      sasl_.reset();
    }
    BadCommand("500 5.5.2 Line too long");
  }

  // --- commands -------------------------------------------------------------

  // The command table (protocols/command_table.h): keyword, the flavours
  // it is allowed in, flags, handler.
  using CommandDef = protocols::CommandDef<SmtpSession, std::string_view>;
  static constexpr unsigned kSmtp = 1u << 0;
  static constexpr unsigned kLmtp = 1u << 1;
  static constexpr unsigned kBoth = kSmtp | kLmtp;
  // A greeting: in the other flavour the reply names the right one.
  static constexpr unsigned kCmdGreeting = 1u << 0;
  // The entry of `verb` in the table (after the class), or nullptr.
  static const CommandDef* FindCommand(std::string_view verb);

  void Dispatch(const std::string& line) {
    auto space = line.find(' ');
    std::string verb = UpperAscii(std::string_view(line).substr(0, space));
    std::string_view args =
        space == std::string::npos ? std::string_view() : std::string_view(line).substr(space + 1);
    const CommandDef* def = FindCommand(verb);
    protocols::CountCommand(lmtp_ ? "lmtp" : "smtp", def);
    if (def != nullptr && (def->states & (lmtp_ ? kLmtp : kSmtp)) != 0) {
      if (!protocols::FaultRegistry::Global().empty() && InjectFault(*def, verb, args)) return;
      return def->run(*this, args);
    }
    if (def != nullptr && (def->flags & kCmdGreeting) != 0) {
      return BadCommand(lmtp_ ? "500 5.5.1 This is LMTP: use LHLO"
                              : "500 5.5.1 This is SMTP: use EHLO");
    }
    BadCommand("500 5.5.1 Command unrecognized");
  }

  // Runs `fn(session, args...)` later only if this session still exists
  // (store completions, timers): protocols::BindSession.
  template <typename Fn>
  auto Bind(Fn fn) {
    return protocols::BindSession<SmtpSession>(ctx_.registry, id_, std::move(fn));
  }

  // A fault rule for this command (README.md "Misbehaving on purpose"):
  // answers in place of the command, closes, or runs it after a delay. For
  // RCPT the rule's `user` is matched against the recipient's local part,
  // otherwise against the SMTP AUTH user. True when a rule fired.
  bool InjectFault(const CommandDef& def, const std::string& verb, std::string_view args) {
    std::string user = auth_user_;
    if (verb == "RCPT") {
      std::size_t open = args.find('<');
      std::size_t at = args.find('@', open == std::string_view::npos ? 0 : open);
      std::size_t end = args.find('>', open == std::string_view::npos ? 0 : open);
      if (open != std::string_view::npos) {
        std::size_t stop = std::min(at, end);
        if (stop != std::string_view::npos && stop > open)
          user = args.substr(open + 1, stop - open - 1);
      }
    }
    const char* protocol = lmtp_ ? "lmtp" : "smtp";
    auto rule = protocols::FaultRegistry::Global().Match(protocol, verb, user, "");
    if (!rule) return false;
    LOG_INFO("{} session {}: fault injected on {}: {}", protocol, id_, verb, rule->action);
    out_.Note("fault: " + verb + " " + rule->action +
              (rule->action == "reply" ? " " + rule->reply : std::string()));
    if (rule->action == "reply") {
      Reply(rule->reply);
    } else if (rule->action == "disconnect") {
      Close();
    } else if (rule->action == "delay" && ctx_.timer) {
      // Input waits meanwhile: the command runs when the timer fires.
      busy_ = true;
      auto copy = std::make_shared<std::string>(args);
      const CommandDef* d = &def;
      ctx_.timer(std::chrono::milliseconds(rule->delay_ms), Bind([copy, d](SmtpSession& s) {
                   if (s.mode_ == Mode::kClosed) return;
                   s.busy_ = false;
                   d->run(s, *copy);
                   s.Pump();
                 }));
    } else {
      return false;
    }
    return true;
  }

  void Ehlo(std::string_view args) { Hello(args, true); }
  void Helo(std::string_view args) { Hello(args, false); }

  void Noop(std::string_view) {
    Reply("250 2.0.0 Ok");
    JunkCommand();
  }

  void Quit(std::string_view) {
    Reply("221 2.0.0 " + ctx_.hostname + " Bye");
    Close();
  }

  void Help(std::string_view) {
    Reply(std::string("214 2.0.0 Commands: ") + (lmtp_ ? "LHLO" : "HELO EHLO") +
          " MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS" + (lmtp_ ? "" : " AUTH"));
    JunkCommand();
  }

  void Hello(std::string_view args, bool extended) {
    while (!args.empty() && args.back() == ' ') args.remove_suffix(1);
    if (args.empty()) {
      return BadCommand(std::string("501 5.5.4 Syntax: ") +
                        (lmtp_      ? "LHLO"
                         : extended ? "EHLO"
                                    : "HELO") +
                        " hostname");
    }
    auto sp = args.find(' ');
    helo_ = std::string(args.substr(0, sp));
    greeted_ = true;
    esmtp_ = extended;
    ResetTransaction();
    if (!extended) {
      Reply("250 " + ctx_.hostname);
      return;
    }
    std::vector<std::string> lines = {
        ctx_.hostname,         "PIPELINING", "SIZE " + std::to_string(cfg_.limits.max_message_size),
        "ENHANCEDSTATUSCODES", "8BITMIME",   "CHUNKING"};
    if (info_.tls_available && !info_.tls_active) lines.push_back("STARTTLS");
    if (!lmtp_ && !authenticated_ && PlaintextAllowed()) lines.push_back("AUTH PLAIN LOGIN");
    std::string reply;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      reply += (i + 1 < lines.size() ? "250-" : "250 ") + lines[i] + "\r\n";
    }
    out_.Write(std::move(reply));
  }

  bool RequireHello() {
    if (greeted_) return true;
    BadCommand(lmtp_ ? "503 5.5.1 Send LHLO first" : "503 5.5.1 Send HELO/EHLO first");
    return false;
  }

  void Mail(std::string_view args) {
    if (!RequireHello()) return;
    if (!StartsWithIgnoreAsciiCase(args, "FROM:")) {
      return BadCommand("501 5.5.4 Syntax: MAIL FROM:<address>");
    }
    if (txn_.active) return BadCommand("503 5.5.1 Sender already given");
    if (!lmtp_ && cfg_.smtp.auth_required && !authenticated_) {
      return Reply("530 5.7.0 Authentication required");
    }
    auto parsed = ParsePathArgument(args.substr(5), /*allow_null=*/true);
    if (!parsed.ok()) {
      return BadCommand("501 5.1.7 Bad sender address syntax (" + parsed.status().message() + ")");
    }
    std::uint64_t size = 0;
    for (const auto& [key, value] : parsed->parameters) {
      if (key == "SIZE") {
        if (!ParseDecimal(value, &size)) return BadCommand("501 5.5.4 Bad SIZE parameter");
      } else if (key == "BODY") {
        std::string v = UpperAscii(value);
        if (v != "7BIT" && v != "8BITMIME") {
          return Reply("555 5.5.4 Unsupported BODY type " + value);
        }
      } else if (key == "AUTH" && !lmtp_) {
        // RFC 4954 5: the original submitter; we deliver locally and keep none.
      } else {
        return Reply("555 5.5.4 Unsupported parameter " + key);
      }
    }
    if (size > cfg_.limits.max_message_size) {
      LogRejected(parsed->address.null ? "" : parsed->address.text, "", "too big");
      return Reply("552 5.3.4 Message size exceeds fixed maximum message size");
    }
    if (MemoryBudget::Global().Exhausted()) return Reply(kShortOfMemory);
    txn_ = Transaction();
    txn_.active = true;
    past_login_ = true;
    txn_.from = std::move(parsed->address);
    txn_.declared_size = size;
    Reply("250 2.1.0 Ok");
  }

  void Rcpt(std::string_view args) {
    if (!RequireHello()) return;
    if (!StartsWithIgnoreAsciiCase(args, "TO:")) {
      return BadCommand("501 5.5.4 Syntax: RCPT TO:<address>");
    }
    if (!txn_.active) return BadCommand("503 5.5.1 Need MAIL command first");
    auto parsed = ParsePathArgument(args.substr(3), /*allow_null=*/false);
    if (!parsed.ok()) {
      return BadCommand("501 5.1.3 Bad recipient address syntax (" + parsed.status().message() +
                        ")");
    }
    if (!parsed->parameters.empty()) {
      return Reply("555 5.5.4 Unsupported parameter " + parsed->parameters.front().first);
    }
    if (txn_.rcpts.size() >=
        static_cast<std::size_t>(std::max(cfg_.limits.smtp_max_recipients, 1))) {
      return Reply("452 4.5.3 Too many recipients");
    }
    Route(std::move(parsed->address));
  }

  // Where a recipient goes (RouteRecipient): accepts it into txn_, rejects
  // it, or (catch-all with auto-created users) creates the user first.
  void Route(Address addr) {
    const std::string shown = "<" + addr.text + ">";
    auto view = ctx_.store->Read();
    RouteDecision d = RouteRecipient(*view, cfg_, ctx_.hostname, lmtp_, addr);
    switch (d.kind) {
      case RouteDecision::Kind::kDeliver:
        return Accept(d.user, d.mailbox, std::move(addr));
      case RouteDecision::Kind::kCreate:
        return CreateAndAccept(d.create_name, std::move(addr));
      case RouteDecision::Kind::kCatchAllMissing:
        LOG_ERROR("smtp: catch-all user {} not found", cfg_.smtp.catch_all_user);
        return Reply("451 4.3.0 " + shown + " Catch-all mailbox unavailable");
      case RouteDecision::Kind::kNotLocal:
        if (lmtp_) {
          LogRejected(Sender(), addr.text, "domain not handled");
          return Reply("550 5.1.2 " + shown + " Domain not handled here");
        }
        LogRejected(Sender(), addr.text, "relay denied");
        if (!cfg_.delivery.domains.empty()) {
          // Name the setting, so that a missing domain is found quickly.
          return Reply("550 5.7.1 " + shown + ": domain " + addr.domain +
                       " is not one of [delivery] domains; relay access denied");
        }
        // Empty [delivery] domains: only the hostname and localhost are local.
        return Reply("550 5.7.1 " + shown + ": domain " + addr.domain +
                     " is not local (see [delivery] domains); relay access denied");
      case RouteDecision::Kind::kUnknownUser:
        break;
    }
    LogRejected(Sender(), addr.text, "unknown user");
    Reply("550 5.1.1 " + shown + " User unknown");
  }

  // A message of `adding` octets (at least one) would not fit.
  bool OverQuota(const storage::UserRecord& user, std::uint64_t adding) const {
    return !services::CheckQuota(cfg_, user, std::max<std::uint64_t>(adding, 1), 1).ok();
  }

  std::string QuotaCode() const {
    return cfg_.delivery.over_quota_temporary ? "452 4.2.2" : "552 5.2.2";
  }
  std::string QuotaReply(const std::string& shown) const {
    return QuotaCode() + " " + shown + " Mailbox full";
  }

  void Accept(const storage::UserRecord& user, const std::string& mailbox, Address addr) {
    const std::string shown = "<" + addr.text + ">";
    if (OverQuota(user, txn_.declared_size)) {
      LogRejected(Sender(), addr.text, "over quota");
      return Reply(QuotaReply(shown));
    }
    Recipient r;
    r.address = addr.text;
    r.user = user.id;
    r.mailbox = mailbox;
    for (std::size_t i = 0; i < txn_.rcpts.size(); ++i) {
      const auto& o = txn_.rcpts[i];
      if (o.same_as < 0 && o.user == r.user && o.mailbox == r.mailbox) {
        r.same_as = static_cast<int>(i);  // one copy per mailbox, one reply per RCPT
        break;
      }
    }
    txn_.rcpts.push_back(std::move(r));
    Reply("250 2.1.5 Ok");
  }

  void CreateAndAccept(const std::string& name, Address addr) {
    const std::string& password = cfg_.dev.auto_create_password;
    if (auto hash = CachedAutoCreateHash(password)) return CreateUser(name, *hash, std::move(addr));
    busy_ = true;
    auto shared = std::make_shared<Address>(std::move(addr));
    ctx_.store->HashPasswordAsync(
        password, Bind([name, password, shared](SmtpSession& s, Result<std::string> hash) {
          if (s.mode_ == Mode::kClosed) return;
          s.busy_ = false;
          if (!hash.ok()) {
            LOG_ERROR("smtp: hashing the auto-create password: {}", hash.status().ToString());
            s.Reply("451 4.3.0 <" + shared->text + "> Temporary failure");
            return s.Pump();
          }
          RememberAutoCreateHash(password, *hash);
          s.CreateUser(name, *hash, std::move(*shared));
        }));
  }

  void CreateUser(const std::string& name, const std::string& hash, Address addr) {
    busy_ = true;
    auto shared = std::make_shared<Address>(std::move(addr));
    ctx_.store->CreateUser(name, hash,
                           Bind([name, shared](SmtpSession& s, Result<storage::UserRecord> r) {
                             s.OnUserCreated(name, std::move(r), std::move(*shared));
                           }));
  }

  void OnUserCreated(const std::string& name, Result<storage::UserRecord> created, Address addr) {
    if (mode_ == Mode::kClosed) return;
    busy_ = false;
    const std::string shown = "<" + addr.text + ">";
    if (!created.ok() && created.status().code() != Code::kExists) {
      LOG_WARN("smtp: auto-creating user {}: {}", LogSafe(name),
               LogSafe(created.status().ToString()));
      if (created.status().code() == Code::kInvalidArgument) {
        Reply("550 5.1.3 " + shown + " Bad recipient address syntax");
      } else {
        Reply("451 4.3.0 " + shown + " Temporary failure");
      }
      return Pump();
    }
    auto view = ctx_.store->Read();
    auto user = view->FindUser(name);
    if (!user.ok()) {
      Reply("451 4.3.0 " + shown + " Temporary failure");
    } else {
      if (created.ok()) LOG_INFO("smtp: catch-all created user {}", LogSafe(user->name));
      Accept(*user, "INBOX", std::move(addr));
    }
    view.reset();
    Pump();
  }

  void Data(std::string_view args) {
    if (!RequireHello()) return;
    if (!args.empty()) return BadCommand("501 5.5.4 Syntax: DATA");
    if (!txn_.active) return BadCommand("503 5.5.1 Need MAIL command first");
    if (txn_.rcpts.empty()) return BadCommand("503 5.5.1 No valid recipients");
    if (txn_.bdat) return BadCommand("503 5.5.1 DATA not allowed after BDAT");
    if (MemoryBudget::Global().Exhausted()) return Reply(kShortOfMemory);
    Reply("354 End data with <CR><LF>.<CR><LF>");
    decoder_.emplace(cfg_.limits.max_message_size);
    txn_.body.clear();
    if (txn_.declared_size) {
      txn_.body.reserve(std::min<std::uint64_t>(
          {txn_.declared_size, cfg_.limits.max_message_size, kSpillThreshold}));
    }
    mode_ = Mode::kData;
  }

  void EndData() {
    txn_.body_size = decoder_->size();
    bool overflow = decoder_->overflow();
    decoder_.reset();
    if (overflow) return FailAll("552 5.3.4", "Message too big");
    Deliver();
  }

  // Moves the body to the spill file once it is large (see kSpillThreshold).
  void MaybeSpill() {
    if (txn_.body.size() < kSpillThreshold) return;
    if (!txn_.spill && !txn_.spill_failed) {
      auto file = storage::SpillFile::Create(cfg_.server.data_dir + "/tmp");
      if (file.ok()) {
        txn_.spill = std::move(*file);
      } else {
        LOG_ERROR("{}: {}", lmtp_ ? "lmtp" : "smtp", file.status().ToString());
        txn_.spill_failed = true;
      }
    }
    if (txn_.spill) {
      Status s = txn_.spill->Append(txn_.body);
      if (!s.ok()) {
        LOG_ERROR("{}: {}", lmtp_ ? "lmtp" : "smtp", s.ToString());
        txn_.spill.reset();
        txn_.spill_failed = true;
      }
    }
    // Kept: up to one chunk of buffer, reused for the next one.
    txn_.body.clear();
  }

  void Bdat(std::string_view args) {
    // "BDAT <size> [LAST]" (RFC 3030 2). Without a readable size the chunk
    // cannot be skipped, so that is a plain syntax error.
    auto sp = args.find(' ');
    std::uint64_t size = 0;
    if (!ParseDecimal(args.substr(0, sp), &size)) {
      return BadCommand("501 5.5.4 Syntax: BDAT size [LAST]");
    }
    bool last = false;
    if (sp != std::string_view::npos) {
      if (!EqualsIgnoreAsciiCase(args.substr(sp + 1), "LAST")) {
        return BadCommand("501 5.5.4 Syntax: BDAT size [LAST]");
      }
      last = true;
    }
    bdat_remaining_ = size;
    bdat_last_ = last;
    bdat_chunk_ = size;
    bdat_error_.clear();
    // The chunk is read in any case (RFC 3030 2: the server must consume it).
    if (!greeted_) {
      bdat_error_ = lmtp_ ? "503 5.5.1 Send LHLO first" : "503 5.5.1 Send HELO/EHLO first";
    } else if (!txn_.active) {
      bdat_error_ = "503 5.5.1 Need MAIL command first";
    } else if (txn_.rcpts.empty()) {
      bdat_error_ = "503 5.5.1 No valid recipients";
    } else if (!txn_.bdat && MemoryBudget::Global().Exhausted()) {
      bdat_error_ = kShortOfMemory;
    }
    if (bdat_error_.empty() && !txn_.bdat) {
      txn_.bdat = true;
      txn_.body.clear();
      txn_.body_size = 0;
    }
    mode_ = Mode::kBdat;
  }

  void EndBdatChunk() {
    if (!bdat_error_.empty()) {
      std::string error = std::exchange(bdat_error_, "");
      if (error == kShortOfMemory) return Reply(error);
      return BadCommand(error);
    }
    if (txn_.body_size > cfg_.limits.max_message_size) {
      if (bdat_last_) return FailAll("552 5.3.4", "Message too big");
      // The transaction is over; later chunks of it get 503.
      ResetTransaction();
      return Reply("552 5.3.4 Message too big");
    }
    if (!bdat_last_) return Reply("250 2.0.0 " + std::to_string(bdat_chunk_) + " octets received");
    Deliver();
  }

  void Rset(std::string_view args) {
    if (!args.empty()) return BadCommand("501 5.5.4 Syntax: RSET");
    ResetTransaction();
    Reply("250 2.0.0 Ok");
    JunkCommand();
  }

  void Vrfy(std::string_view args) {
    if (args.empty()) return BadCommand("501 5.5.4 Syntax: VRFY address");
    // RFC 5321 3.5.3: 252 when we will not say whether a user exists.
    Reply("252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
    JunkCommand();
  }

  void StartTls(std::string_view args) {
    if (!args.empty()) return BadCommand("501 5.5.4 Syntax: STARTTLS");
    if (info_.tls_active) return BadCommand("503 5.5.1 TLS already active");
    if (!info_.tls_available) return Reply("454 4.7.0 TLS not available");
    Reply("220 2.0.0 Ready to start TLS");
    // Anything pipelined after STARTTLS was sent in plaintext and must not
    // be taken as coming through TLS (CVE-2011-0411).
    in_.clear();
    pos_ = 0;
    mode_ = Mode::kTlsWait;
    out_.StartTls();
  }

  // --- AUTH (SMTP only, RFC 4954) -------------------------------------------------

  bool PlaintextAllowed() const { return protocols::PlaintextAllowed(cfg_.auth, info_); }

  void Auth(std::string_view args) {
    if (!greeted_ || !esmtp_) return BadCommand("503 5.5.1 Send EHLO first");
    if (authenticated_) return BadCommand("503 5.5.1 Already authenticated");
    if (txn_.active) return BadCommand("503 5.5.1 AUTH not allowed during a mail transaction");
    auto sp = args.find(' ');
    std::string_view mech_name = args.substr(0, sp);
    if (mech_name.empty()) return BadCommand("501 5.5.4 Syntax: AUTH mechanism [initial-response]");
    auto mech = sasl::ParseMechanism(mech_name);
    if (!mech) return Reply("504 5.5.4 Unrecognized authentication type");
    if (!PlaintextAllowed()) {
      return Reply("538 5.7.11 Encryption required for requested authentication mechanism");
    }
    std::optional<std::string_view> initial;
    if (sp != std::string_view::npos) initial = args.substr(sp + 1);
    sasl_.emplace(*mech);
    AuthStep(sasl_->Start(initial));
  }

  void AuthContinue(const std::string& line) { AuthStep(sasl_->Continue(line)); }

  void AuthStep(sasl::SaslExchange::Step step) {
    using Kind = sasl::SaslExchange::Step::Kind;
    switch (step.kind) {
      case Kind::kChallenge:
        mode_ = Mode::kAuth;
        return Reply("334 " + step.challenge);
      case Kind::kCancelled:
        mode_ = Mode::kCommand;
        sasl_.reset();
        return BadCommand("501 5.7.0 Authentication aborted");
      case Kind::kFailed:
        mode_ = Mode::kCommand;
        sasl_.reset();
        return BadCommand("501 5.5.2 " + step.error);
      case Kind::kDone:
        mode_ = Mode::kCommand;
        sasl_.reset();
        return Verify(std::move(step.credentials));
    }
  }

  void Verify(sasl::Credentials creds) {
    const std::string& user = creds.authcid;
    if (ctx_.throttle && ctx_.throttle->LockedOut(info_.peer_ip, user)) {
      LOG_INFO("login failed: proto=smtp session={} rip={} user={} reason=\"locked out\"", id_,
               info_.peer_ip, LogField(user));
      return Reply("454 4.7.0 Too many failed authentication attempts, try again later");
    }
    busy_ = true;
    if (!sasl::AuthorizationAllowed(creds)) {
      return AuthFailed(user, "authorization identity refused");
    }
    ctx_.store->Authenticate(protocols::LoginUserName(user, cfg_.delivery),
                             std::move(creds.password), info_.peer_ip,
                             Bind([user](SmtpSession& s, Result<storage::UserRecord> r) {
                               s.OnAuthenticated(user, std::move(r));
                             }));
  }

  void OnAuthenticated(const std::string& user, Result<storage::UserRecord> r) {
    if (mode_ == Mode::kClosed) return;
    if (!r.ok()) return AuthFailed(user, r.status().message());
    if (ctx_.throttle) ctx_.throttle->OnSuccess(info_.peer_ip, user);
    authenticated_ = true;
    past_login_ = true;
    auth_user_ = r->name;
    busy_ = false;
    Reply("235 2.7.0 Authentication successful");
    Pump();
  }

  // The answer to a failed attempt is held back (ctx.throttle decides for
  // how long) to slow down password guessing.
  void AuthFailed(const std::string& user, std::string_view reason) {
    // The fail2ban line (contrib/fail2ban/pillarbox.conf); the reason is for
    // the log only: the client gets the same 535 either way.
    LOG_INFO("login failed: proto=smtp session={} rip={} user={} reason=\"{}\"", id_, info_.peer_ip,
             LogField(user), reason);
    std::chrono::milliseconds delay{0};
    if (ctx_.throttle) delay = ctx_.throttle->OnFailure(info_.peer_ip, user);
    auto answer = Bind([](SmtpSession& s) {
      if (s.mode_ == Mode::kClosed) return;
      s.busy_ = false;
      s.Reply("535 5.7.8 Authentication credentials invalid");
      s.Pump();
    });
    if (ctx_.timer && delay.count() > 0) {
      ctx_.timer(delay, std::move(answer));
    } else {
      answer();
    }
  }

  // --- delivery -------------------------------------------------------------

  void ResetTransaction() {
    txn_ = Transaction();
    decoder_.reset();
  }

  // The same failure for the whole message: one reply in SMTP, one per
  // accepted recipient in LMTP (RFC 2033 4.2).
  void FailAll(const std::string& code, const std::string& text) {
    std::string reason = text == "Message too big" ? "too big"
                         : text == "Mailbox full"  ? "over quota"
                                                   : AsciiFold(text);
    for (const auto& r : txn_.rcpts) LogRejected(Sender(), r.address, reason);
    if (lmtp_) {
      for (const auto& r : txn_.rcpts) Reply(code + " <" + r.address + "> " + text);
    } else {
      Reply(code + " " + text);
    }
    ResetTransaction();
  }

  std::string NewId() {
    if (options_.make_id) return options_.make_id();
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::uint64_t v = rng_();
    std::string s;
    for (int i = 0; i < 12; ++i, v >>= 4) s.push_back(kHex[v & 15]);
    return s;
  }

  std::string PeerForHeader() const {
    if (info_.peer_ip.empty()) return "";
    if (info_.peer_ip.find(':') != std::string::npos) return "IPv6:" + info_.peer_ip;
    return info_.peer_ip;
  }

  void Deliver() {
    std::string id = NewId();
    // One set of trace headers for every recipient, so that all copies are
    // the same bytes and the store keeps one blob (see README.md: the
    // per-recipient Delivered-To and "for" appear only for one recipient).
    TraceFields f;
    f.return_path = txn_.from.null ? "" : txn_.from.text;
    bool single = txn_.rcpts.size() == 1;
    if (lmtp_ && single) f.delivered_to = txn_.rcpts[0].address;
    f.helo = helo_;
    f.peer_ip = PeerForHeader();
    f.hostname = ctx_.hostname;
    f.protocol = ProtocolKeyword(lmtp_, esmtp_, info_.tls_active, authenticated_);
    f.id = id;
    if (single) f.for_recipient = txn_.rcpts[0].address;
    f.time = options_.now();
    if (txn_.spill_failed) {
      return FailAll("451 4.3.0", "Temporary failure, try again later");
    }
    std::string bytes = FormatTraceHeaders(f);
    if (txn_.spill) {
      // The rest of the body joins the file; the store reads it all back.
      if (Status s = txn_.spill->Append(txn_.body); !s.ok()) {
        LOG_ERROR("{}: {}", lmtp_ ? "lmtp" : "smtp", s.ToString());
        return FailAll("451 4.3.0", "Temporary failure, try again later");
      }
    } else {
      bytes += txn_.body;
    }
    txn_.body.clear();
    txn_.body.shrink_to_fit();
    std::uint64_t message_size = bytes.size() + (txn_.spill ? txn_.spill->size() : 0);
    auto shared = std::make_shared<const std::string>(std::move(bytes));
    std::shared_ptr<const storage::SpillFile> spill = txn_.spill;

    if (!lmtp_) {
      // SMTP has one reply for all recipients: refuse the message up front
      // when any copy would not fit, so that a commit is all or nothing in
      // every case but a race or an I/O error (README.md).
      auto view = ctx_.store->Read();
      for (const auto& r : txn_.rcpts) {
        auto user = view->GetUser(r.user);
        if (!user.ok()) return FailAll("451 4.3.0", "Recipient vanished, try again later");
        if (OverQuota(*user, message_size)) {
          return FailAll(QuotaCode(), "Mailbox full");
        }
      }
    }

    // Not emplace(): clang (14) evaluates is_constructible<Delivery> where
    // the optional member is declared, while this class is incomplete and
    // Delivery's member initializers are not parsed yet, and keeps the
    // answer "not default-constructible".
    delivery_ = Delivery{};
    delivery_->seq = ++delivery_seq_;
    delivery_->results.resize(txn_.rcpts.size());
    delivery_->id = id;
    busy_ = true;
    for (std::size_t i = 0; i < txn_.rcpts.size(); ++i) {
      if (txn_.rcpts[i].same_as >= 0) continue;
      Submit(i, txn_.rcpts[i].mailbox, shared, spill);
    }
  }

  // Through services::Deliver, the path `pillarbox deliver` takes too.
  void Submit(std::size_t index, const std::string& mailbox,
              std::shared_ptr<const std::string> bytes,
              std::shared_ptr<const storage::SpillFile> spill) {
    services::Delivery d;
    d.user = txn_.rcpts[index].user;
    d.mailbox = mailbox;
    d.fallback_to_inbox = true;  // the detail mailbox was deleted since RCPT
    d.bytes = std::move(bytes);
    d.spill = std::move(spill);
    d.origin.protocol = lmtp_ ? "lmtp" : "smtp";
    d.origin.session = id_;
    d.origin.peer = info_.unix_socket && info_.peer_ip.empty() ? "unix" : info_.peer_ip;
    d.envelope_from = txn_.from.null ? "" : txn_.from.text;
    std::uint64_t seq = delivery_->seq;
    services::Deliver(
        *ctx_.store, std::move(d),
        Bind([seq, index](SmtpSession& s, services::Outcome o, services::Delivered r) {
          s.OnAppended(seq, index, std::move(o), r);
        }));
  }

  void OnAppended(std::uint64_t seq, std::size_t index, services::Outcome status,
                  const services::Delivered& r) {
    if (mode_ == Mode::kClosed || !delivery_ || delivery_->seq != seq) return;
    if (!status.ok()) {
      LOG_WARN("{}: delivery to <{}> failed: {}: {}", lmtp_ ? "lmtp" : "smtp",
               LogField(txn_.rcpts[index].address), services::CodeName(status.code()),
               LogSafe(status.message()));
    }
    // One line per recipient, also for those that share this copy.
    for (std::size_t j = index; j < txn_.rcpts.size(); ++j) {
      if (j != index && txn_.rcpts[j].same_as != static_cast<int>(index)) continue;
      if (status.ok()) {
        LOG_INFO("delivered: {} from=<{}> rcpt=<{}> size={} mailbox={} uid={} id={}", LogFields(),
                 LogField(Sender()), LogField(txn_.rcpts[j].address), r.result.size,
                 LogField(r.mailbox), r.result.uid, delivery_->id);
      } else {
        LogRejected(Sender(), txn_.rcpts[j].address, RejectReason(status));
      }
    }
    delivery_->results[index] = std::move(status);
    if (lmtp_) {
      // One reply per recipient, in RCPT order, each after its own commit.
      while (delivery_->next_reply < txn_.rcpts.size()) {
        const auto& result = ResultFor(delivery_->next_reply);
        if (!result) break;
        Reply(LmtpReply(txn_.rcpts[delivery_->next_reply], *result));
        delivery_->next_reply++;
      }
      if (delivery_->next_reply < txn_.rcpts.size()) return;
    } else {
      for (std::size_t i = 0; i < txn_.rcpts.size(); ++i) {
        if (!ResultFor(i)) return;
      }
      Reply(SmtpReply());
    }
    bool any_ok = false;
    for (std::size_t i = 0; i < txn_.rcpts.size(); ++i) any_ok |= ResultFor(i)->ok();
    if (any_ok) junk_commands_ = 0;
    delivery_.reset();
    ResetTransaction();
    busy_ = false;
    Pump();
  }

  // --- log lines (README.md "Logs"): one per delivery and per rejection ------

  std::string Sender() const { return txn_.from.null ? std::string() : txn_.from.text; }

  std::string LogFields() const {
    std::string rip = info_.unix_socket && info_.peer_ip.empty() ? "unix" : info_.peer_ip;
    return fmt::format("proto={} session={} rip={}", lmtp_ ? "lmtp" : "smtp", id_, rip);
  }

  static std::string RejectReason(const services::Outcome& s) {
    switch (s.code()) {
      case services::Code::kOverQuota:
        return "over quota";
      case services::Code::kNoSuchUser:
        return "unknown user";
      case services::Code::kTooBig:
        return "too big";
      case services::Code::kBadMailbox:
        return "mailbox unavailable";
      default:
        return "temporary failure";
    }
  }

  void LogRejected(std::string_view from, std::string_view rcpt, std::string_view reason) const {
    LOG_INFO("rejected: {} from=<{}> rcpt=<{}> reason=\"{}\"", LogFields(), LogField(from),
             LogField(rcpt), reason);
  }

  const std::optional<services::Outcome>& ResultFor(std::size_t i) const {
    int same = txn_.rcpts[i].same_as;
    return delivery_->results[same >= 0 ? static_cast<std::size_t>(same) : i];
  }

  // The one mapping of delivery outcomes to LMTP replies (SMTP's is below).
  std::string LmtpReply(const Recipient& r, const services::Outcome& s) const {
    const std::string shown = "<" + r.address + ">";
    switch (s.code()) {
      case services::Code::kOk:
        return "250 2.0.0 " + shown + " " + delivery_->id + " Delivered";
      case services::Code::kOverQuota:
        return QuotaReply(shown);
      case services::Code::kNoSuchUser:
        return "550 5.1.1 " + shown + " User unknown";
      case services::Code::kTooBig:
        return "552 5.3.4 " + shown + " Message too big";
      case services::Code::kBadMailbox:
        return "550 5.2.0 " + shown + " Mailbox unavailable";
      default:
        return "451 4.3.0 " + shown + " Temporary failure, try again later";
    }
  }

  // SMTP: 250 only when every copy is committed. A failure after the
  // up-front quota check (a race, an I/O error) gets 451 so the sender
  // retries; recipients whose copy did commit may then get it twice, which
  // RFC 5321 6.1 prefers to losing it.
  std::string SmtpReply() const {
    bool all_ok = true;
    bool all_quota = true;
    for (std::size_t i = 0; i < txn_.rcpts.size(); ++i) {
      const services::Outcome& s = *ResultFor(i);
      all_ok &= s.ok();
      all_quota &= s.code() == services::Code::kOverQuota;
    }
    if (all_ok) return "250 2.0.0 Ok: delivered as " + delivery_->id;
    if (all_quota) return QuotaCode() + " Mailbox full";
    return "451 4.3.0 Temporary failure, message not delivered to all recipients, try again later";
  }

  SessionContext& ctx_;
  ConnectionInfo& info_;
  SessionOutput& out_;
  const config::Config& cfg_;
  const bool lmtp_;
  SessionOptions options_;
  std::uint64_t id_ = 0;
  std::mt19937_64 rng_;

  Mode mode_ = Mode::kCommand;
  std::string in_;
  std::size_t pos_ = 0;
  bool discarding_line_ = false;
  bool busy_ = false;
  bool pumping_ = false;
  bool input_paused_ = false;
  bool output_blocked_ = false;
  MemoryCharge charge_;  // in_ and the in-memory body

  bool greeted_ = false;
  bool esmtp_ = false;
  std::string helo_;
  bool authenticated_ = false;
  std::string auth_user_;
  bool past_login_ = false;  // MAIL FROM or AUTH succeeded once (Authenticated())
  int bad_commands_ = 0;
  int junk_commands_ = 0;

  Transaction txn_;
  std::optional<DotDecoder> decoder_;
  std::uint64_t bdat_remaining_ = 0;
  std::uint64_t bdat_chunk_ = 0;
  bool bdat_last_ = false;
  std::string bdat_error_;
  std::optional<sasl::SaslExchange> sasl_;
  std::optional<Delivery> delivery_;
  std::uint64_t delivery_seq_ = 0;
};

const SmtpSession::CommandDef* SmtpSession::FindCommand(std::string_view verb) {
  using protocols::Method;
  static constexpr CommandDef kCommands[] = {
      {"LHLO", kLmtp, kCmdGreeting, Method<&SmtpSession::Ehlo>::Run},
      {"EHLO", kSmtp, kCmdGreeting, Method<&SmtpSession::Ehlo>::Run},
      {"HELO", kSmtp, kCmdGreeting, Method<&SmtpSession::Helo>::Run},
      {"MAIL", kBoth, 0, Method<&SmtpSession::Mail>::Run},
      {"RCPT", kBoth, 0, Method<&SmtpSession::Rcpt>::Run},
      {"DATA", kBoth, 0, Method<&SmtpSession::Data>::Run},
      {"BDAT", kBoth, 0, Method<&SmtpSession::Bdat>::Run},
      {"RSET", kBoth, 0, Method<&SmtpSession::Rset>::Run},
      {"NOOP", kBoth, 0, Method<&SmtpSession::Noop>::Run},
      {"QUIT", kBoth, 0, Method<&SmtpSession::Quit>::Run},
      {"VRFY", kBoth, 0, Method<&SmtpSession::Vrfy>::Run},
      {"HELP", kBoth, 0, Method<&SmtpSession::Help>::Run},
      {"STARTTLS", kBoth, 0, Method<&SmtpSession::StartTls>::Run},
      {"AUTH", kSmtp, 0, Method<&SmtpSession::Auth>::Run},
  };
  return protocols::FindCommand(kCommands, verb);
}

}  // namespace

std::unique_ptr<protocols::Session> MakeSession(SessionContext& ctx, ConnectionInfo& info,
                                                SessionOutput& out, bool lmtp) {
  return MakeSession(ctx, info, out, lmtp, SessionOptions());
}

std::unique_ptr<protocols::Session> MakeSession(SessionContext& ctx, ConnectionInfo& info,
                                                SessionOutput& out, bool lmtp,
                                                SessionOptions options) {
  return std::make_unique<SmtpSession>(ctx, info, out, lmtp, std::move(options));
}

}  // namespace pillarbox::smtp
