// The POP3 server session: RFC 1939 (AUTHORIZATION, TRANSACTION, UPDATE),
// RFC 2449 (CAPA, response codes, PIPELINING, EXPIRE, LOGIN-DELAY), RFC 2595
// (STLS), RFC 3206 (AUTH and SYS response codes) and RFC 5034 (AUTH with SASL
// PLAIN and LOGIN).
//
// At login the session snapshots INBOX (without messages hidden from POP3)
// and numbers it 1..n; DELE marks in memory and QUIT applies the user's
// delete mode through Store::Pop3Commit, answering only after the commit is
// durable. A connection that ends without QUIT applies nothing.
//
// Threads: owner (loop) thread only. Lifetimes: `ctx` (store, config,
// registry, throttle) and `info` must outlive the session; `out` is owned by
// the connection that owns the session. Store completions and timers capture
// the session id and find the session through ctx.registry, so a completion
// that arrives after the session is gone is dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "protocols/command_table.h"
#include "protocols/faults.h"
#include "protocols/pop3/pop3_format.h"
#include "protocols/sasl/sasl.h"
#include "protocols/session.h"
#include "storage/store.h"

namespace pillarbox::pop3 {

// RFC 2449 4: command lines are at most 255 octets; like Dovecot we accept
// more from clients that overshoot, up to this, and refuse longer lines.
inline constexpr std::size_t kMaxCommandLine = 1024;
// A SASL response line (base64 of user, password and authzid of up to 255
// octets each fits with room to spare).
inline constexpr std::size_t kMaxSaslLine = 4096;
// Input buffered while a command waits (pipelining); above it the
// connection stops reading until the backlog is worked off.
inline constexpr std::size_t kMaxBufferedInput = 64 * 1024;
// Bad commands tolerated before login (then the connection is closed);
// after login config.limits.max_bad_commands applies.
inline constexpr int kMaxBadCommandsPreauth = 3;
// Bytes of a message read through one short read view per step of RETR/TOP.
inline constexpr std::size_t kStreamChunk = 64 * 1024;
// Lines of a LIST/UIDL listing produced per step.
inline constexpr std::size_t kListingChunkLines = 2048;

std::unique_ptr<protocols::Session> MakeSession(protocols::SessionContext& ctx,
                                                protocols::ConnectionInfo& info,
                                                protocols::SessionOutput& out);

class Pop3Session : public protocols::Session {
 public:
  Pop3Session(protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
              protocols::SessionOutput& out);
  ~Pop3Session() override;
  Pop3Session(const Pop3Session&) = delete;
  Pop3Session& operator=(const Pop3Session&) = delete;

  void Start() override;
  void OnInput(std::string_view data) override;
  void OnDrained() override;
  void OnTlsEstablished() override;
  void OnIdleTimeout() override;
  void OnShutdown() override;
  void OnClosed() override;
  std::chrono::seconds IdleTimeout() const override;
  bool Authenticated() const override { return user_record_.id != 0; }
  void OnLoginTimeout() override;
  std::uint64_t id() const override { return id_; }

  // True while a command waits for the store, a timer, TLS or the client's
  // socket, or store work submitted by the session is still outstanding.
  bool HasPendingWork() const;
  // True while the session waits for a store completion (not for a timer,
  // TLS or the client): what a test runs the store's completions for.
  bool WaitingForStore() const;

 private:
  enum class State { kAuthorization, kTransaction, kUpdate, kDone };
  // What stops the session from taking the next command.
  enum class Wait { kNone, kStore, kTimer, kTls, kQuit, kStream, kDrain };

  struct Message {
    storage::Uid uid = 0;
    std::uint64_t guid = 0;
    std::uint64_t size = 0;
    storage::BlobId blob;
    bool deleted = false;
    std::string uidl;  // storage::MessageUidl at login
  };

  // A multi-line response produced step by step as output drains.
  struct Stream {
    enum class Kind { kMessage, kList, kUidl };
    Kind kind = Kind::kMessage;
    std::size_t index = 0;                   // kMessage: the message; listings: next entry
    std::optional<std::uint64_t> top_lines;  // TOP: body lines wanted
    bool started = false;                    // the +OK line is out
    std::uint64_t offset = 0;                // next octet of the message
    std::uint64_t end = 0;                   // octets of the message to send
    DotStuffer stuffer;
  };

  // The command table (protocols/command_table.h): keyword, the states it
  // is allowed in (kInAuthorization, kInTransaction), no flags, handler.
  using CommandDef = protocols::CommandDef<Pop3Session, const CommandLine&>;
  static constexpr unsigned kInAuthorization = 1u << 0;
  static constexpr unsigned kInTransaction = 1u << 1;
  static constexpr unsigned kAnyState = kInAuthorization | kInTransaction;
  static const CommandDef kCommands[];

  // --- input ---------------------------------------------------------------
  enum class LineResult { kNone, kLine, kTooLong };
  LineResult NextLine(std::string& line);
  void Pump();
  void Dispatch(std::string_view line);
  void UpdateInputFlow();
  void Resume();  // the wait is over: take the next command
  // Runs `fn(session, args...)` later only if this session still exists
  // (store completions, timers, watches): protocols::BindSession.
  template <typename Fn>
  auto Bind(Fn fn) {
    return protocols::BindSession<Pop3Session>(ctx_.registry, id_, std::move(fn));
  }

  // --- commands ------------------------------------------------------------
  void CmdCapa(const CommandLine& cmd);
  void CmdQuit(const CommandLine& cmd);
  void CmdUser(const CommandLine& cmd);
  void CmdPass(const CommandLine& cmd);
  void CmdAuth(const CommandLine& cmd);
  void CmdStls(const CommandLine& cmd);
  void CmdStat(const CommandLine& cmd);
  void CmdList(const CommandLine& cmd);
  void CmdRetr(const CommandLine& cmd);
  void CmdTop(const CommandLine& cmd);
  void CmdDele(const CommandLine& cmd);
  void CmdNoop(const CommandLine& cmd);
  void CmdRset(const CommandLine& cmd);
  void CmdUidl(const CommandLine& cmd);

  // --- authentication -----------------------------------------------------
  bool PlaintextAllowed() const;
  std::string PlaintextRefusal() const;
  void HandleSaslStep(const sasl::SaslExchange::Step& step);
  void BeginLogin(std::string user, std::string password);
  void OnAuthenticated(const std::string& user, Result<storage::UserRecord> result);
  // `reason` goes to the log line only (README.md "Logs", fail2ban).
  void FailLogin(const std::string& user, std::string reply, std::string_view reason);
  void CompleteLogin(storage::UserRecord user);
  // The logged-in user was deleted (pillarbox user del): -ERR and close.
  void OnUserDeleted();
  // True when the logged-in user no longer exists in the store.
  bool UserGone() const;

  // --- transaction --------------------------------------------------------
  // The message numbered `number` (1-based), or nullptr after writing -ERR.
  Message* Lookup(std::string_view arg, bool allow_deleted = false);
  void StartStream(Stream stream);
  // Produces output until the stream ends or output is above high water.
  // Returns true when the stream is finished (or the session is closing).
  bool ContinueStream();
  bool ContinueMessage(Stream& s);
  void SubmitTracked(const std::function<void(storage::StatusCallback)>& submit, std::string what);
  void OnTrackedDone(Status status, const std::string& what);
  // Journals one event about message `m` (tracked: QUIT waits for it).
  void JournalMessageEvent(const Message& m, storage::JournalKind kind, std::string detail,
                           std::string what);
  void JournalDeletes(storage::JournalKind kind);
  void MaybeCommit();
  void OnCommitted(Result<storage::Pop3CommitResult> result);

  // --- output and teardown -------------------------------------------------
  void Reply(std::string_view line);  // appends CRLF
  // Every write to the client: cut short by a disconnect fault.
  void Emit(std::string bytes);
  // A fault rule (protocols/faults.h) for this command: true when it took
  // the command over.
  bool InjectFault(const CommandDef& def, const CommandLine& cmd);
  static protocols::FaultRegistry& FaultRegistry();
  void BadCommand(std::string_view reply);
  std::string InternalError(std::string_view what, const Status& status);
  void ReleaseLogin();
  void Terminate();  // close without UPDATE

  storage::Origin MakeOrigin() const;
  int BadCommandLimit() const;
  std::string ExpireCapability() const;

  protocols::SessionContext& ctx_;
  protocols::ConnectionInfo& info_;
  protocols::SessionOutput& out_;
  const config::Config& config_;
  std::uint64_t id_ = 0;

  State state_ = State::kAuthorization;
  Wait wait_ = Wait::kNone;
  bool pumping_ = false;
  bool input_paused_ = false;
  bool discarding_ = false;  // dropping the rest of an over-long line
  std::string input_;
  int bad_commands_ = 0;

  // AUTHORIZATION
  std::string user_;  // after USER
  std::optional<sasl::SaslExchange> sasl_;

  // TRANSACTION
  storage::UserRecord user_record_;
  storage::MailboxId inbox_ = 0;
  std::int64_t inbox_expire_days_ = 0;
  std::vector<Message> messages_;
  std::uint64_t live_count_ = 0;  // not deleted
  std::uint64_t live_size_ = 0;
  // The user's effective configuration (config::UserConfig), from login on.
  std::optional<config::Config> user_config_;
  // Capabilities turned off (config::kPop3* bits): global, then the user's.
  unsigned disabled_ = 0;
  protocols::OutputCutoff cutoff_;  // a disconnect fault with after_bytes
  const config::Config& UserSettings() const { return user_config_ ? *user_config_ : config_; }
  bool holds_lock_ = false;
  bool registered_live_ = false;
  std::uint64_t user_watch_ = 0;  // Store::WatchUser id, 0: none
  bool committed_ = false;        // UPDATE applied the deletions (or there were none)
  int pending_mutations_ = 0;
  std::optional<Stream> stream_;
};

}  // namespace pillarbox::pop3
