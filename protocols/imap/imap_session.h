// The IMAP4rev1 session (RFC 3501) with IDLE, UIDPLUS, MOVE, NAMESPACE, ID,
// ENABLE, UNSELECT, CHILDREN, SPECIAL-USE, LIST-EXTENDED basics, LITERAL+,
// SASL-IR, CONDSTORE and QRESYNC: a pure state machine between a connection
// (bytes in, bytes out through SessionOutput) and the Store.
//
// Commands run one at a time, in order. A command that waits for the store
// (a mutation, a password check) or for the socket to drain (a large FETCH)
// leaves the session "busy": later input stays buffered in the parser (input
// is paused when too much piles up) until the command finishes.
//
// The selected mailbox is seen through the session's own view: the UID list
// as the client knows it (sequence number i is uids[i-1]). Changes committed
// by anyone (this session, other sessions, POP3, LMTP, the CLI) arrive on the
// change bus and are read from the store's change log; they reach the client
// as untagged EXPUNGE / EXISTS / RECENT / FETCH FLAGS only where RFC 3501
// allows (EXPUNGE never during FETCH, STORE or SEARCH by sequence number),
// and immediately while IDLE. With QRESYNC enabled, expunges are reported as
// "* VANISHED <uids>"; with CONDSTORE on, flag updates carry UID and MODSEQ.
//
// Threads: owner thread only. Lifetimes: the SessionContext (store, config,
// registry, throttle, timer) and the ConnectionInfo and SessionOutput must
// outlive the session. Store completions and timers capture the session id
// and look it up in ctx.registry, so they are dropped once the session is
// gone.
#pragma once

#include <bit>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/capabilities.h"
#include "protocols/command_table.h"
#include "protocols/faults.h"
#include "protocols/imap/parser.h"
#include "protocols/imap/value.h"
#include "protocols/sasl/sasl.h"
#include "protocols/session.h"
#include "storage/store.h"

namespace pillarbox::imap {

std::unique_ptr<protocols::Session> MakeSession(protocols::SessionContext& ctx,
                                                protocols::ConnectionInfo& info,
                                                protocols::SessionOutput& out);

// IDLE keepalive interval ("* OK Still here"), below common NAT timeouts.
inline constexpr std::chrono::milliseconds kIdleKeepalive{2 * 60 * 1000};
// Bad commands allowed before login (after login: config.limits.max_bad_commands).
inline constexpr int kMaxBadCommandsPreauth = 3;
// Before login, a refused non-synchronizing literal larger than this ends
// the connection instead of being read and dropped.
inline constexpr std::uint64_t kMaxSkippedLiteralPreauth = 1u << 20;
// Input buffered while a command runs before the connection stops reading.
inline constexpr std::size_t kMaxBufferedInput = 1u << 20;
// Bytes of a blob written per Write() while streaming a FETCH literal.
inline constexpr std::size_t kFetchChunkBytes = 64 * 1024;
// Mailbox names: UTF-8 bytes and hierarchy levels (Dovecot: 255 per level).
inline constexpr std::size_t kMaxMailboxNameBytes = 1024;
inline constexpr std::size_t kMaxMailboxLevels = 32;

enum class State { kNotAuthenticated, kAuthenticated, kSelected, kLogout };

// Bits for CommandDef::states.
inline constexpr unsigned kStateNotAuth = 1u << 0;
inline constexpr unsigned kStateAuth = 1u << 1;
inline constexpr unsigned kStateSelected = 1u << 2;
inline constexpr unsigned kStateAny = kStateNotAuth | kStateAuth | kStateSelected;

// Bits for CommandDef::flags.
// Valid after "UID".
inline constexpr unsigned kCmdUid = 1u << 0;
// Uses message sequence numbers: no EXPUNGE may be sent while it runs nor
// with its response (RFC 3501 7.4.1), unless given as a UID command.
inline constexpr unsigned kCmdUsesSeqs = 1u << 1;
// The UID form comes from UIDPLUS (UID EXPUNGE, RFC 4315).
inline constexpr unsigned kCmdUidPlus = 1u << 2;
// The command belongs to extension `ext` (a config::kImap* bit): with the
// extension turned off (a capability profile) it is an unknown command.
// Kept as the bit's index + 1 above kCmdExtShift, since the bits themselves
// (up to 1ull << 63) would not fit shifted.
constexpr unsigned kCmdNeeds(std::uint64_t ext) {
  return static_cast<unsigned>(std::countr_zero(ext) + 1) << 8;
}
inline constexpr unsigned kCmdExtShift = 8;
// The config::kImap* bit of a command's flags, 0 when none.
constexpr std::uint64_t CmdExtension(std::uint64_t flags) {
  std::uint64_t index = flags >> kCmdExtShift;
  return index == 0 ? 0u : std::uint64_t{1} << (index - 1);
}

class ImapSession;
struct NotifyState;  // notify.h
struct SearchUpdates;  // search_context.h
// One entry of the command table (commands.cpp; protocols/command_table.h).
using CommandDef = protocols::CommandDef<ImapSession, Command&>;
using CommandHandler = CommandDef::Handler;

// The command table lookup. nullptr when unknown.
const CommandDef* FindCommand(std::string_view upper_name);

// The selected mailbox as this session sees it.
struct SelectedMailbox {
  storage::MailboxId id = 0;
  std::string name;  // UTF-8
  bool read_only = false;
  std::uint32_t uidvalidity = 0;
  std::vector<storage::Uid> uids;  // announced view, ascending
  std::set<storage::Uid> recent;   // \Recent for this session (subset of uids + pending_new)
  storage::ModSeq modseq = 0;      // change log read up to here
  // Every change up to here has reached the client (no expunge held back):
  // the HIGHESTMODSEQ it may be told (RFC 7162 3.2: never above a delayed
  // expunge).
  storage::ModSeq announced_modseq = 0;
  bool highestmodseq_sent = false;         // "OK [HIGHESTMODSEQ]" sent for this mailbox
  storage::Uid max_uid_seen = 0;           // largest UID known (announced or pending)
  std::set<storage::Uid> pending_expunge;  // gone from the store, still in `uids`
  std::vector<storage::Uid> pending_new;   // in the store, not yet announced
  std::set<storage::Uid> flags_dirty;      // flag changes not yet announced
  // Flag changes this session already reported (uid -> modseq of the record
  // it showed), so the change bus does not echo them.
  std::unordered_map<storage::Uid, storage::ModSeq> reported;
  std::set<std::string> keywords;  // known keywords (as first seen)
  // SEARCHRES "$" (RFC 5182): the UIDs saved by the last SEARCH RETURN
  // (SAVE), ascending. Empty until then; a new SELECT/EXAMINE, CLOSE or
  // UNSELECT drops it with the rest of this struct. Expunged UIDs simply
  // no longer resolve to a message.
  std::vector<storage::Uid> saved_search;
  // CONTEXT=SEARCH/SORT (RFC 5267): the live results asked with RETURN
  // (UPDATE), kept up to date by SyncMailbox; null until the first.
  std::shared_ptr<SearchUpdates> search_updates;
  std::uint64_t subscription = 0;
  bool changes_pending = false;

  // 1-based sequence number of `uid` in the view, 0 when absent.
  std::uint32_t SeqOf(storage::Uid uid) const;
  bool IsRecent(storage::Uid uid) const { return recent.count(uid) != 0; }
};

class ImapSession : public protocols::Session {
 public:
  ImapSession(protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
              protocols::SessionOutput& out);
  ~ImapSession() override;

  // protocols::Session
  void Start() override;
  void OnInput(std::string_view data) override;
  void OnDrained() override;
  void OnTlsEstablished() override;
  void OnIdleTimeout() override;
  void OnShutdown() override;
  void OnClosed() override;
  std::chrono::seconds IdleTimeout() const override;
  bool Authenticated() const override { return logged_in_; }
  void OnLoginTimeout() override;
  std::uint64_t id() const override { return id_; }
  std::string ClientId() const override { return client_id_; }
  // What the client said in ID (RFC 2971): "name version".
  // Also stored with the live-session record, so that other processes on
  // the store (the CLI, the HTTP API of another server) see it.
  void set_client_id(std::string text);

  // ---- for command handlers (command_*.cpp) ------------------------------

  protocols::SessionContext& ctx() { return ctx_; }
  storage::Store& store() { return *ctx_.store; }
  // The configuration; after login the user's effective one
  // (config::UserConfig), so a key that may be set per user takes effect.
  const config::Config& config() const { return user_config_ ? *user_config_ : *ctx_.config; }
  protocols::ConnectionInfo& info() { return info_; }
  protocols::SessionOutput& out() { return out_; }
  State state() const { return state_; }
  const storage::UserRecord& user() const { return user_; }
  SelectedMailbox* selected() { return selected_ ? &*selected_ : nullptr; }

  // Writes raw bytes (an untagged line must end in CRLF).
  void Write(std::string bytes);
  void Untagged(std::string_view line) { Write("* " + std::string(line) + "\r\n"); }
  // Ends the current command: sends the untagged updates allowed now, then
  // "<tag> <response>", and goes on with buffered input. `response` starts
  // with OK, NO or BAD.
  void Finish(const Command& cmd, std::string response);
  // "BAD Error in IMAP command NAME: reason".
  void FinishBad(const Command& cmd, std::string_view reason);
  // The one mapping from a store Status to a tagged response. `what` fills
  // in messages such as "Mailbox doesn't exist: <what>".
  void FinishError(const Command& cmd, const Status& status, std::string_view what = {});
  // The text of FinishError without finishing (for the caller to decide).
  std::string ErrorResponse(const Status& status, std::string_view what);

  // Runs `fn` later on this session if it still exists (store completions).
  template <typename Fn>
  auto Bind(Fn fn) {
    return protocols::BindSession<ImapSession>(
        ctx_.registry, id_, [fn = std::move(fn)](ImapSession& s, auto&&... args) mutable {
          if (s.closed_) return;
          fn(s, std::forward<decltype(args)>(args)...);
        });
  }

  // Capabilities for the current state (no leading "CAPABILITY").
  std::string Capabilities() const;
  bool PlaintextAllowed() const;

  // Login succeeded (LOGIN or AUTHENTICATE).
  void OnLoggedIn(const Command& cmd, storage::UserRecord user);
  // Login failed: answers after the throttle's delay.
  // `reason` goes to the log line only (README.md "Logs", fail2ban).
  void OnLoginFailed(const Command& cmd, const std::string& user, std::string response,
                     std::string_view reason);
  // Starts verifying credentials; finishes `cmd` either way.
  void CheckPassword(const Command& cmd, std::string user, std::string password);

  // AUTHENTICATE: further client lines go to `handler` until it clears it.
  void SetLineHandler(std::function<void(ImapSession&, std::string line, bool too_long)> handler) {
    line_handler_ = std::move(handler);
  }
  // STARTTLS: ignore input until OnTlsEstablished().
  void BeginTls();
  // COMPRESS: "<tag> OK" uncompressed, then everything compressed; input
  // buffered past the command is dropped (the client must wait for the OK).
  void FinishAndCompress(const Command& cmd);

  // Opens `name` (SELECT/EXAMINE). Fills `selected_` and writes the
  // untagged responses. Status on failure (the session is then in the
  // authenticated state).
  // `qresync`: the SELECT's QRESYNC parameter, answered after the usual
  // responses with VANISHED (EARLIER) and FETCH (RFC 7162 3.2.5).
  struct QresyncParams {
    std::uint32_t uidvalidity = 0;
    storage::ModSeq modseq = 0;
    std::optional<std::string> known_uids;  // a UID set, validated by the caller
  };
  Status OpenMailbox(const std::string& name, bool read_only,
                     const std::optional<QresyncParams>& qresync = std::nullopt);
  // Leaves the selected mailbox (CLOSE, UNSELECT, failed SELECT).
  void CloseMailbox();

  // Reads the change log of the selected mailbox and writes the updates
  // allowed now. `allow_expunge`: EXPUNGE responses may be sent.
  void SyncMailbox(bool allow_expunge);
  // Records that this session showed `rec`'s flags (no echo from the bus).
  void MarkReported(const storage::MessageRecord& rec);
  // Adds keywords; writes "* FLAGS" and "* OK [PERMANENTFLAGS" when new.
  // RFC 3501 7.2.6: every response that shows a message's flags must come
  // after the FLAGS response naming its keywords.
  void LearnKeywords(const storage::Flags& flags);
  // Adds keywords without writing; true when one was new (then the caller
  // writes AnnounceKeywords() before showing them).
  bool AddKeywords(const storage::Flags& flags);
  void AnnounceKeywords();
  std::string FlagsLine() const;
  std::string PermanentFlagsLine() const;

  // A long command's continuation, run from OnDrained() when the output
  // queue is below the high-water mark, until the command calls Finish().
  void SetContinuation(std::function<void(ImapSession&)> fn) { continuation_ = std::move(fn); }
  bool OverHighWater() const;

  // IDLE.
  void BeginIdle(const Command& cmd);

  // NOTIFY (notify.h): the state of NOTIFY SET, nullptr without one.
  NotifyState* notify() { return notify_.get(); }
  void set_notify(std::unique_ptr<NotifyState> n);
  // Writes the notifications due now if no command runs (or IDLE does)
  // and the client reads its output.
  void PushNotifications();

  // Mailbox names: wire (modified UTF-7 astring) to UTF-8, validated.
  // `allow_trailing_delimiter`: CREATE "foo/".
  std::optional<std::string> DecodeMailboxName(const Value& v, bool allow_trailing_delimiter,
                                               std::string* error);
  // UTF-8 name to its wire form (an astring) in modified UTF-7.
  static std::string EncodeMailboxName(std::string_view utf8);
  // UTF-8 name to its wire form for this session: modified UTF-7, or
  // UTF-8 once UTF8=ACCEPT is enabled.
  std::string MailboxWire(std::string_view utf8) const;
  // A wire name (or LIST pattern) to UTF-8 for this session, not yet
  // validated as a mailbox name; nullopt when it is not valid mUTF-7
  // (or, with UTF8=ACCEPT, not valid UTF-8).
  std::optional<std::string> MailboxFromWire(std::string_view wire) const;

  storage::Origin MakeOrigin() const;
  void Close();
  // The live-session table entry (after login and on every SELECT).
  void RegisterLive();

  // ENABLE: extensions enabled by the client, upper case ("CONDSTORE").
  std::set<std::string>& enabled() { return enabled_; }
  // ENABLE IMAP4rev2 (RFC 9051): no \Recent and no RECENT responses,
  // [CLOSED], a LIST response in SELECT, STATUS DELETED; SEARCH answers
  // with ESEARCH (command_search.cpp checks this).
  bool imap4rev2() const { return enabled_.count("IMAP4REV2") != 0; }
  // ENABLE UTF8=ACCEPT (RFC 6855): mailbox names travel as UTF-8, not
  // modified UTF-7.
  bool utf8_accept() const { return enabled_.count("UTF8=ACCEPT") != 0; }

  // CONDSTORE (RFC 7162 3.1): on once ENABLE CONDSTORE/QRESYNC or another
  // CONDSTORE-enabling command ran; from then on FETCH responses about flag
  // changes carry UID and MODSEQ. QRESYNC: on after ENABLE QRESYNC;
  // expunges are then reported as VANISHED.
  bool condstore() const { return condstore_; }
  bool qresync() const { return enabled_.count("QRESYNC") != 0; }
  // Turns CONDSTORE on. The first time, with a mailbox selected whose
  // HIGHESTMODSEQ was not sent yet, writes "* OK [HIGHESTMODSEQ n]".
  void EnableCondstore();
  // "OK [HIGHESTMODSEQ n] <text>" after the updates allowed now were sent
  // (QRESYNC: the tagged answer of EXPUNGE).
  void FinishWithHighestModSeq(const Command& cmd, std::string_view text);

  // Extensions turned off by the capability profile (config::kImap* bits):
  // the global one before login, the user's from login on.
  std::uint64_t disabled_extensions() const { return disabled_; }

 private:
  void ProcessInput();
  void Dispatch(Command cmd);
  // A fault rule (protocols/faults.h) for this command: true when it took
  // the command over.
  bool InjectFault(const CommandDef& def, Command& cmd);
  void OnParseError(ParseEvent& ev);
  void CountBad();
  void HandleIdleLine(std::string line, bool too_long);
  void OnMailboxChanged();
  void ArmIdleKeepalive();
  // Enters or leaves IDLE (and counts it for GET /metrics).
  void SetIdling(bool on);
  void UpdateParserLimits();
  // The logged-in user was deleted (pillarbox user del): BYE and close.
  void OnUserDeleted();

  protocols::SessionContext& ctx_;
  protocols::ConnectionInfo& info_;
  protocols::SessionOutput& out_;
  std::uint64_t id_ = 0;
  std::string client_id_;  // from ID
  Parser parser_;
  State state_ = State::kNotAuthenticated;
  storage::UserRecord user_;
  std::optional<config::Config> user_config_;  // resolved at login
  std::optional<SelectedMailbox> selected_;
  std::set<std::string> enabled_;
  bool condstore_ = false;      // condstore()
  std::uint64_t disabled_ = 0;  // disabled_extensions()
  // A disconnect fault: bytes still to write before the connection drops
  // (0: none).
  protocols::OutputCutoff cutoff_;  // a disconnect fault with after_bytes

  bool busy_ = false;               // a command is running
  bool in_process_ = false;         // ProcessInput is on the stack
  bool closed_ = false;             // OnClosed ran or Close() was asked
  bool tls_pending_ = false;        // STARTTLS answered, handshake not done
  bool current_uses_seqs_ = false;  // the running command forbids EXPUNGE
  int bad_commands_ = 0;
  bool live_registered_ = false;
  bool logged_in_ = false;
  std::uint64_t user_watch_ = 0;  // Store::WatchUser id, 0: none
  bool input_paused_ = false;     // PauseInput() was called

  std::function<void(ImapSession&, std::string, bool)> line_handler_;
  std::function<void(ImapSession&)> continuation_;

  // IDLE
  bool idling_ = false;
  std::string idle_tag_;
  std::uint64_t idle_generation_ = 0;

  std::unique_ptr<NotifyState> notify_;  // NOTIFY SET
};

}  // namespace pillarbox::imap
