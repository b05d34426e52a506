// Store: the one mailbox store that POP3, IMAP, LMTP/SMTP and the CLI share.
//
// Reads: Store::Read() opens a short read-only LMDB transaction (a ReadView)
// on the calling thread; use it for one command and let it go. Values it
// returns as string_view (blobs, structures) are valid only while the view
// lives. Never keep a view across an idle period or a wait for the client.
//
// Writes: every mutation is submitted to the writer thread, which applies all
// mutations queued at that moment in one write transaction (each in its own
// nested transaction, so a failed mutation fails alone), commits with fsync,
// and only then posts each completion to the owner thread through
// StoreOptions::post. A completion therefore means "durably committed".
// After posting the completions, the store publishes the touched mailboxes on
// the change bus (also on the owner thread).
//
// Threads: the owner thread (the libuv loop in the server; the main thread in
// the CLI and in tests) calls every method; completions run on it. The store
// owns the writer thread and a small pool for password verification.
//
// Multi-process: another process (the CLI) may open the same directory. Its
// commits are picked up by PollExternalChanges(), which the server calls from
// a periodic timer.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/fair_queue.h"
#include "storage/spill_file.h"
#include "storage/types.h"

namespace pillarbox::storage {

// What the store keeps about a message besides its bytes, computed once when
// the message is first stored. Called on the writer thread.
struct AnalyzedMessage {
  std::string structure;  // opaque to the store; protocols/mime serializes it
  std::string subject;    // decoded, for the journal
  // Opaque to the store; protocols/mime/sort_keys.h encodes it (IMAP SORT
  // and THREAD). Empty: not kept (the reader computes the keys itself).
  std::string sort_keys;
};
using MessageAnalyzer = std::function<AnalyzedMessage(std::string_view bytes)>;

// Runs a closure on the owner thread. Must be callable from any thread.
using PostFn = std::function<void(std::function<void()>)>;

// Matches mailboxes for retention: name ("Trash") or special use ("\\Trash").
struct RetentionRule {
  std::string mailbox;
  std::int64_t days = 0;
};
// Days after which messages of `mailbox` expire: its own setting, else the
// first rule that names it (INBOX in any case, other names exactly) or its
// special use; 0: kept forever. The sweep and POP3's EXPIRE both use it.
std::int64_t RetentionDays(const MailboxRecord& mailbox, const std::vector<RetentionRule>& rules);

struct StoreOptions {
  std::string dir;                           // created if missing
  std::size_t initial_map_size = 64u << 20;  // grows on MDB_MAP_FULL
  PostFn post;                               // REQUIRED
  MessageAnalyzer analyzer;                  // empty: structure not computed
  std::uint64_t default_quota_bytes = 0;     // 0: unlimited
  std::uint64_t default_quota_messages = 0;
  int journal_max_age_days = 90;
  std::uint64_t journal_max_events_per_user = 100000;
  // Password-hashing threads; 0: one per core, at least 2.
  int auth_threads = 0;
  // Password checks one client address may have queued or running (see
  // storage/fair_queue.h).
  std::size_t auth_jobs_per_client = kMaxAuthJobsPerClient;
  // Verifies a password against a stored hash; empty: VerifyPassword. For
  // tests (counting, blocking).
  std::function<bool(std::string_view password, std::string_view hash)> verify_password;
  bool create_default_mailboxes = true;  // Sent Drafts Trash Junk Archive
  // [dev] auto_create_users: Authenticate of an unknown user creates it with
  // the password given (hashed on the password threads).
  bool create_users_on_login = false;
  // [dev] deterministic: every mailbox gets UIDVALIDITY 1, and an Append
  // without an internal date takes it from `message_date` when that finds
  // one (the Date header).
  bool deterministic = false;
  struct MessageDate {
    UnixTime utc = 0;
    std::int32_t tz_minutes = 0;
  };
  std::function<std::optional<MessageDate>(std::string_view bytes)> message_date;
};

// The longest LiveSession::client_id a store keeps (a client's name and
// version; RFC 2971 allows 1024-byte values, which no display needs).
constexpr std::size_t kMaxLiveClientIdBytes = 160;

template <typename T>
using Callback = std::function<void(Result<T>)>;
using StatusCallback = std::function<void(Status)>;

// A short read-only transaction. Not copyable; movable. Owner thread only.
class ReadView {
 public:
  virtual ~ReadView() = default;

  virtual Result<UserRecord> FindUser(std::string_view name) = 0;  // case-insensitive
  virtual Result<UserRecord> GetUser(UserId id) = 0;
  virtual std::vector<UserRecord> ListUsers() = 0;

  // INBOX is matched case-insensitively; other names exactly.
  virtual Result<MailboxRecord> FindMailbox(UserId user, std::string_view name) = 0;
  virtual Result<MailboxRecord> GetMailbox(MailboxId id) = 0;
  virtual std::vector<MailboxRecord> ListMailboxes(UserId user) = 0;  // sorted by name
  virtual std::vector<std::string> ListSubscriptions(UserId user) = 0;

  virtual std::vector<MessageRecord> ListMessages(MailboxId mailbox) = 0;  // ascending UID
  // A page of `mailbox` newest first (descending UID): the messages with a
  // UID below `below` (0: every UID, i.e. from UIDNEXT down), passing over
  // the first `skip` of them and returning the next `limit` at most. Walks
  // skip + limit records and decodes only the ones returned, so a page
  // costs its size (plus the skip), not the mailbox's. Expunged UIDs leave
  // no hole in the count: `skip` counts messages, not UIDs.
  virtual std::vector<MessageRecord> ListMessagesNewestFirst(MailboxId mailbox, Uid below,
                                                             std::size_t skip,
                                                             std::size_t limit) = 0;
  virtual Result<MessageRecord> GetMessage(MailboxId mailbox, Uid uid) = 0;
  // Raw RFC 5322 bytes (CRLF line endings). Valid while this view lives.
  virtual Result<std::string_view> Blob(const BlobId& blob) = 0;
  // The analyzer's structure bytes. Valid while this view lives.
  virtual Result<std::string_view> Structure(const BlobId& blob) = 0;
  // The analyzer's sort keys. NotFound for blobs stored without them (by a
  // build before they existed). Valid while this view lives.
  virtual Result<std::string_view> SortKeys(const BlobId& blob) = 0;
  // Changes with modseq > after, ascending. Expunges are kept for good, so a
  // session can always catch up from any modseq it has seen.
  virtual std::vector<Change> ChangesSince(MailboxId mailbox, ModSeq after) = 0;

  // Newest last. since: UnixTime lower bound (inclusive).
  virtual std::vector<JournalEvent> Journal(UserId user, UnixTime since,
                                            std::size_t max_events) = 0;

  struct LiveSession {
    std::uint64_t id = 0;
    std::uint64_t pid = 0;
    std::string protocol;
    std::string peer;
    UserId user = 0;
    std::string mailbox;
    bool holds_pop3_lock = false;
    UnixTime since = 0;
    // What the client said it is (IMAP ID: "name version"), made safe to
    // show (LogSafe: no control bytes, well-formed UTF-8); "" when it said
    // nothing. RegisterLiveSession keeps kMaxLiveClientIdBytes of it.
    std::string client_id;
  };
  // Sessions of `user` (0: of every user) in every process that uses this
  // store; rows of processes that are gone are left out.
  virtual std::vector<LiveSession> LiveSessions(UserId user) = 0;
};

struct AppendRequest {
  UserId user = 0;
  std::string mailbox = "INBOX";             // UTF-8 name
  bool create_mailbox = false;               // create when missing (else NotFound)
  std::shared_ptr<const std::string> bytes;  // normalized to CRLF by the store
  // Stores `bytes` exactly as given, without normalizing line endings (an
  // IMAP APPEND with a binary literal8, RFC 3516: the content may hold NUL
  // and lone CR/LF bytes that are data).
  bool keep_bytes = false;
  // A message received into a file (LMTP/SMTP DATA over a threshold): the
  // message is `bytes` (the trace headers; may be null) followed by the
  // file's content, read back on the writer thread when it is committed.
  std::shared_ptr<const SpillFile> spill;
  Flags flags;
  std::optional<UnixTime> internal_date;  // default: now
  std::int32_t internal_date_tz = 0;
  Origin origin;
  std::string envelope_from;  // for the journal
  bool enforce_quota = true;
  // Import (`pillarbox import`): the UID the message had at its source.
  // REQUIRES: at least the mailbox's UIDNEXT (UIDs ascend; kExists
  // otherwise); UIDNEXT becomes uid + 1. nullopt: the next UID.
  std::optional<Uid> uid;
  // Import: the POP3 UIDL the message had at its source (IsValidUidl in
  // storage/uidl.h); empty: the one made from its guid.
  std::string pop3_uidl;
};

struct AppendResult {
  MailboxId mailbox = 0;
  std::uint32_t uidvalidity = 0;
  Uid uid = 0;
  std::uint64_t guid = 0;
  std::uint64_t size = 0;
};

enum class FlagOp { kAdd, kRemove, kReplace };

struct StoreFlagsRequest {
  MailboxId mailbox = 0;
  std::vector<Uid> uids;  // ascending; missing (expunged) UIDs are skipped
  FlagOp op = FlagOp::kAdd;
  Flags flags;
  std::optional<ModSeq> unchanged_since;  // CONDSTORE
  Origin origin;
};

struct StoreFlagsResult {
  std::vector<MessageRecord> changed;  // records after the change
  std::vector<Uid> modified;           // failed UNCHANGEDSINCE
  ModSeq highest_modseq = 0;
};

struct CopyRequest {
  MailboxId from = 0;
  std::vector<Uid> uids;  // ascending; missing ones are skipped
  MailboxId to = 0;
  bool move = false;  // expunge from the source in the same transaction
  Origin origin;
};

struct CopyResult {
  std::uint32_t dest_uidvalidity = 0;
  std::vector<Uid> source_uids;  // those actually copied, ascending
  std::vector<Uid> dest_uids;    // same order
};

struct ExpungeRequest {
  MailboxId mailbox = 0;
  std::optional<std::vector<Uid>> uids;  // restrict to these (UID EXPUNGE)
  bool require_deleted = true;           // only messages flagged \Deleted
  Origin origin;
  JournalKind journal_kind = JournalKind::kExpunged;
};

struct Pop3CommitRequest {
  UserId user = 0;
  MailboxId mailbox = 0;  // the INBOX snapshotted at login
  std::vector<Uid> uids;  // DELE'd messages
  Pop3DeleteMode delete_mode = Pop3DeleteMode::kExpunge;
  std::string move_target;  // for move mode (created if missing)
  Origin origin;
};

// The status messages of a failed Authenticate (for the log only).
inline constexpr std::string_view kAuthUnknownUser = "unknown user";
inline constexpr std::string_view kAuthWrongPassword = "wrong password";

struct Pop3CommitResult {
  std::vector<Uid> applied;  // messages that still existed and were handled
};

// Session ids per opening of the store (see Store::SessionIdBase): decimal,
// so that an id stays readable in logs and the journal.
constexpr std::uint64_t kSessionIdsPerOpening = 1'000'000'000;

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(StoreOptions options);
  virtual ~Store() = default;  // drains the writer, joins threads, closes env

  virtual std::unique_ptr<ReadView> Read() = 0;

  // The first of this opening's session ids, minus one: N * kSessionIdsPerOpening
  // where N counts the openings of the store (kept in it). Session N's k-th
  // id is base + k, so "3000000017" reads as opening 3, session 17, and no
  // two processes or restarts share an id.
  virtual std::uint64_t SessionIdBase() const = 0;

  // --- users -------------------------------------------------------------
  // Creates the user with INBOX and (unless disabled) the special-use
  // mailboxes. hash: a crypt(3) string or {SCHEME}-prefixed hash.
  virtual void CreateUser(std::string name, std::string hash, Callback<UserRecord> done) = 0;
  virtual void SetPassword(std::string name, std::string hash, StatusCallback done) = 0;
  virtual void DeleteUser(std::string name, StatusCallback done) = 0;
  // Empty value removes the override.
  virtual void SetUserSetting(std::string name, std::string key, std::string value,
                              StatusCallback done) = 0;
  virtual void SetQuota(std::string name, std::uint64_t bytes, std::uint64_t messages,
                        StatusCallback done) = 0;
  // Verifies off the owner thread, on a pool that serves client addresses
  // (`client`, e.g. "192.0.2.7") in turn. Fails with kNoPermission on a bad
  // password or unknown user: the same code for both, so that no client
  // answer can tell them apart, and the same cost (an unknown user is
  // verified against a dummy hash of the default scheme). Only the status
  // message differs (kAuthUnknownUser, kAuthWrongPassword), for the server
  // log; never send it to a client. A client with too many checks pending
  // fails at once, without hashing (FairQueue).
  virtual void Authenticate(std::string name, std::string password, std::string client,
                            Callback<UserRecord> done) = 0;

  // Hashes `password` with HashPassword (yescrypt) on the password threads,
  // off the owner thread, and posts the crypt(3) string (SMTP's
  // auto-created users).
  virtual void HashPasswordAsync(std::string password, Callback<std::string> done) = 0;

  // --- mailboxes -----------------------------------------------------------
  virtual void CreateMailbox(UserId user, std::string name, SpecialUse use,
                             Callback<MailboxRecord> done) = 0;
  // Expunges its messages; children keep existing.
  virtual void DeleteMailbox(UserId user, std::string name, Origin origin, StatusCallback done) = 0;
  // Renames the mailbox and its children. Renaming INBOX moves its messages
  // into the new mailbox and leaves INBOX empty (RFC 3501 6.3.5).
  virtual void RenameMailbox(UserId user, std::string from, std::string to, Origin origin,
                             StatusCallback done) = 0;
  virtual void SetSubscribed(UserId user, std::string name, bool subscribed,
                             StatusCallback done) = 0;
  // Retention of one mailbox in days (0: keep forever; overrides the
  // configured RetentionRule for that mailbox).
  virtual void SetMailboxRetention(UserId user, std::string name, std::int64_t days,
                                   StatusCallback done) = 0;

  // Import: gives the mailbox the UIDVALIDITY and UIDNEXT it had at its
  // source. A different `uidvalidity` (0: keep) is taken only while the
  // mailbox holds no message (kInUse otherwise) and then starts the UID
  // space afresh at `uidnext`; with the same one, UIDNEXT only grows (to
  // `uidnext` when larger), so no UID is reused. HIGHESTMODSEQ grows to
  // `min_highest_modseq` when lower (never shrinks), so that what is stored
  // afterwards gets MODSEQs above any a client remembers from the source.
  virtual void SetMailboxUidState(UserId user, std::string name, std::uint32_t uidvalidity,
                                  Uid uidnext, ModSeq min_highest_modseq, StatusCallback done) = 0;

  // --- messages ------------------------------------------------------------
  virtual void Append(AppendRequest request, Callback<AppendResult> done) = 0;
  // Appends every request in one transaction, in this order: all are
  // stored or none (IMAP MULTIAPPEND, RFC 3502). Quota is checked against
  // the whole set. The results come in the order of the requests.
  // REQUIRES: !requests.empty(); no spill files.
  virtual void AppendMany(std::vector<AppendRequest> requests,
                          Callback<std::vector<AppendResult>> done) = 0;
  virtual void StoreFlags(StoreFlagsRequest request, Callback<StoreFlagsResult> done) = 0;
  virtual void Copy(CopyRequest request, Callback<CopyResult> done) = 0;
  virtual void Expunge(ExpungeRequest request, Callback<std::vector<Uid>> done) = 0;

  // --- POP3 ----------------------------------------------------------------
  // RETR (or a TOP that returned the whole message): records the retrieval,
  // sets \Seen when asked, journals it with `detail` (plus "marked \Seen").
  virtual void MarkPop3Retrieved(MailboxId mailbox, Uid uid, bool set_seen, Origin origin,
                                 std::string detail, StatusCallback done) = 0;
  // Makes messages of the user's INBOX that POP3 hid (delete mode hide)
  // visible to POP3 again, journaling each as kPop3Unhidden. `uids`: those
  // only (missing or not hidden ones are skipped); nullopt: every hidden one.
  // Returns the UIDs it unhid, ascending.
  virtual void UnhidePop3(UserId user, std::optional<std::vector<Uid>> uids, Origin origin,
                          Callback<std::vector<Uid>> done) = 0;
  // QUIT in the UPDATE state: applies the delete mode to the DELE'd messages.
  virtual void Pop3Commit(Pop3CommitRequest request, Callback<Pop3CommitResult> done) = 0;

  // --- journal, retention, live sessions --------------------------------
  // Events that change no message (DELE pending, delete aborted).
  virtual void RecordJournal(UserId user, JournalEvent event, StatusCallback done) = 0;
  // Expunges messages older than their mailbox's rule; prunes the journal.
  virtual void SweepRetention(std::vector<RetentionRule> rules, UnixTime now,
                              StatusCallback done) = 0;
  // Live sessions, so that the CLI (another process) can show them. Not
  // durable in themselves: they ride along with the next commit.
  virtual void RegisterLiveSession(ReadView::LiveSession session) = 0;
  virtual void UnregisterLiveSession(std::uint64_t id) = 0;

  // --- owner-thread state --------------------------------------------------
  // \Recent: returns the first UID that is recent for the caller; every UID
  // in [result, uidnext) is recent for it and for no later caller.
  virtual Uid ClaimRecent(MailboxId mailbox, Uid uidnext) = 0;

  // The POP3 maildrop lock (one holder per user). False when held.
  virtual bool TryLockPop3(UserId user, std::uint64_t session) = 0;
  virtual void UnlockPop3(UserId user, std::uint64_t session) = 0;

  // Change bus: `listener` runs on the owner thread after a commit touched
  // `mailbox` (by this process or, via PollExternalChanges, another one).
  using Listener = std::function<void(MailboxId)>;
  virtual std::uint64_t Subscribe(MailboxId mailbox, Listener listener) = 0;
  // Ends a Subscribe() or a WatchUser(). Unknown ids are ignored.
  virtual void Unsubscribe(std::uint64_t subscription) = 0;
  // `listener` runs once on the owner thread after `user` was deleted (by
  // this process, or by another one: see PollExternalChanges), before the
  // change bus publishes the user's mailboxes. Sessions end themselves then.
  using UserListener = std::function<void(UserId)>;
  virtual std::uint64_t WatchUser(UserId user, UserListener listener) = 0;
  // Change bus for all of a user's mailboxes (IMAP NOTIFY): `listener` runs
  // on the owner thread once per commit that touched `user`'s mailboxes:
  // with the mailbox's id when only one mailbox's messages changed, else
  // with 0 (several mailboxes, the mailbox list or the subscriptions may
  // have changed: create, delete, rename, a commit of another process).
  // Ended by Unsubscribe().
  virtual std::uint64_t SubscribeUser(UserId user, Listener listener) = 0;
  // Detects commits made by other processes (cheap when there are none),
  // tells the watchers of users that no longer exist, and publishes the
  // mailboxes they touched.
  virtual void PollExternalChanges() = 0;

  // Blocks until every submitted mutation has committed and its completion
  // has been posted (not run). For shutdown, the CLI and tests.
  // REQUIRES: no ReadView of the calling thread is alive (the writer may need
  // to grow the map, which waits for this process's read transactions).
  virtual void Flush() = 0;

  // Verifies the stored invariants: counts equal a recount, refcounts equal
  // the references, no orphan blobs or structures, every UID below UIDNEXT,
  // every modseq at most HIGHESTMODSEQ, user usage equals its mailboxes'
  // sums, name index and mailbox rows agree, blobs hash to their ids. The
  // Corruption message lists every problem found (storage/maintenance.h
  // has the same check as a report, for `pillarbox verify`). For tests.
  // Reads one snapshot on the calling thread.
  virtual Status CheckConsistency() = 0;
};

// A user's quota: their own limit where set, else the configured default
// (StoreOptions::default_quota_*); 0 means unlimited. The one rule for the
// store's commit check, SMTP/LMTP's early refusal and what the CLI shows.
struct QuotaLimits {
  std::uint64_t bytes = 0;
  std::uint64_t messages = 0;
};
QuotaLimits EffectiveQuota(const UserRecord& user, QuotaLimits defaults);
// OverQuota when adding `add_messages` messages of `add_bytes` in total would
// exceed the user's effective quota.
Status CheckQuota(const UserRecord& user, QuotaLimits defaults, std::uint64_t add_bytes,
                  std::uint64_t add_messages);

// The id the store gives `stored_bytes` (CRLF line endings, as stored): the
// SHA-256 that MessageRecord::blob holds. For finding a message again
// (import reruns).
BlobId BlobIdOf(std::string_view stored_bytes);

// Normalizes bare LF (and bare CR) to CRLF. Used by every delivery path.
std::string NormalizeLineEndings(std::string_view bytes);
// The same, one piece at a time: appends `piece` normalized to `out`.
// `after_cr` carries a CR that ended the previous piece (start with false),
// so that a CRLF split across pieces stays one line ending.
void AppendNormalized(std::string_view piece, bool* after_cr, std::string* out);
// True when NormalizeLineEndings would return `bytes` unchanged.
bool IsNormalized(std::string_view bytes);

// Runs posted closures when asked; for the CLI and tests. Thread-safe.
class ManualExecutor {
 public:
  PostFn Poster();
  // Runs everything posted so far. Returns how many ran.
  std::size_t RunPending();
  // Waits up to `timeout_ms` for at least one closure, then runs all pending.
  std::size_t WaitAndRun(int timeout_ms);

 private:
  struct State;
  std::shared_ptr<State> state_ = MakeState();
  static std::shared_ptr<State> MakeState();
};

// Hash helpers (crypt(3) via libxcrypt; {SCHEME} prefixes as Dovecot).
// HashPassword uses yescrypt.
Result<std::string> HashPassword(std::string_view password);
bool VerifyPassword(std::string_view password, std::string_view stored_hash);
// True when `hash` is a form VerifyPassword understands, with parts of the
// right shape (cheap: no hashing).
bool IsSupportedHash(std::string_view hash);
// A hash of a random password in the default scheme (computed once), to
// verify against when the user is unknown.
const std::string& DummyPasswordHash();

// IsSupportedHash and a probe hashing (crypt(3) or libargon2 must accept the
// hash as a setting), so a truncated or garbled hash is refused before it is
// stored. The error says why. Costs one hashing: not for the loop thread.
Status ValidatePasswordHash(std::string_view hash);

// User names: 1 to 64 characters of letters, digits, '.', '_' and '-',
// optionally followed by one '@' and a domain (letters, digits, '.', '-'),
// not starting or ending with '.' or '-'. No '+' (the subaddress
// separator), spaces, '/', ',' or ':' (the container's user list uses them).
// The one rule: Store::CreateUser applies it, so every way a user comes to
// be (the CLI, SMTP's auto-created catch-all users, the HTTP API) gets the
// same answer; names stored before the rule existed still log in, as
// lookups do not check it.
Status ValidateUserName(std::string_view name);

}  // namespace pillarbox::storage
