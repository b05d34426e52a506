// Plain records the store hands out and takes in. No LMDB types here: these
// are copies, valid after the read transaction that produced them ends.
//
// Thread-safety: values.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pillarbox::storage {

using UserId = std::uint64_t;
using MailboxId = std::uint64_t;
using Uid = std::uint32_t;
using ModSeq = std::uint64_t;
// Seconds since the Unix epoch, UTC.
using UnixTime = std::int64_t;

// SHA-256 of the stored bytes.
struct BlobId {
  std::uint8_t bytes[32] = {};
  bool operator==(const BlobId&) const = default;
  std::string Hex() const;
};

// System flags as bits; keywords as strings (case preserved, compared
// case-insensitively as IMAP requires).
enum SystemFlag : std::uint32_t {
  kFlagSeen = 1u << 0,
  kFlagAnswered = 1u << 1,
  kFlagFlagged = 1u << 2,
  kFlagDeleted = 1u << 3,
  kFlagDraft = 1u << 4,
  // \Recent is not stored: it is per session (see Store::ClaimRecent).
};

struct Flags {
  std::uint32_t system = 0;
  std::vector<std::string> keywords;  // sorted, unique (case-insensitive)
  bool operator==(const Flags&) const = default;
};

enum class SpecialUse : std::uint8_t { kNone, kSent, kDrafts, kTrash, kJunk, kArchive };

// What a POP3 DELE does when the session commits at QUIT (the store applies
// it): the message leaves the server, is hidden from POP3 for good, moves to
// another mailbox, or DELE is refused.
enum class Pop3DeleteMode : std::uint8_t { kExpunge, kHide, kMove, kDeny };

// Per-user settings that override the configuration, "pop3.delete_mode" etc.
using UserSettings = std::map<std::string, std::string>;

struct UserRecord {
  UserId id = 0;
  std::string name;                  // as created (lookups are case-insensitive)
  std::string password_hash;         // crypt(3) string or {SCHEME}-prefixed
  std::uint64_t quota_bytes = 0;     // 0: use the configured default
  std::uint64_t quota_messages = 0;  // 0: use the configured default
  std::uint64_t used_bytes = 0;      // sum over the user's mailboxes
  std::uint64_t used_messages = 0;
  UserSettings settings;
  UnixTime created = 0;
};

struct MailboxRecord {
  MailboxId id = 0;
  UserId user = 0;
  std::string name;  // UTF-8, "/" separated; "INBOX" always spelled so
  SpecialUse special_use = SpecialUse::kNone;
  std::uint32_t uidvalidity = 0;
  Uid uidnext = 1;
  ModSeq highest_modseq = 1;
  std::uint32_t messages = 0;
  std::uint32_t unseen = 0;
  std::uint32_t deleted = 0;           // messages with \Deleted
  std::uint64_t size = 0;              // total octets
  std::int64_t expire_after_days = 0;  // retention; 0: keep forever
};

// How a message reached its place and what POP3 did to it.
struct Pop3State {
  bool hidden = false;     // hidden from POP3 for good (delete_mode=hide)
  UnixTime retrieved = 0;  // last RETR by POP3; 0: never
};

struct MessageRecord {
  Uid uid = 0;
  BlobId blob;
  Flags flags;
  UnixTime internal_date = 0;         // IMAP INTERNALDATE
  std::int32_t internal_date_tz = 0;  // its zone offset in minutes (for display)
  UnixTime saved = 0;                 // when it entered this mailbox (retention)
  std::uint64_t size = 0;             // octets, CRLF line endings as stored
  ModSeq modseq = 0;
  std::uint64_t guid = 0;  // per-store unique; survives MOVE; POP3 UIDL
  Pop3State pop3;
  // The POP3 UIDL kept from another server (pillarbox import); empty: the
  // one made from `guid` (storage/uidl.h MessageUidl). Survives MOVE.
  std::string pop3_uidl;
};

// One entry of the per-mailbox change log, ordered by modseq.
struct Change {
  enum class Kind : std::uint8_t { kNew, kFlags, kExpunge };
  ModSeq modseq = 0;
  Kind kind = Kind::kNew;
  Uid uid = 0;
};

// Who caused a mutation; recorded in the journal.
struct Origin {
  std::string protocol;  // "imap", "pop3", "lmtp", "smtp", "cli", "retention"
  std::uint64_t session = 0;
  std::string peer;  // client address, "" for local
};

enum class JournalKind : std::uint8_t {
  kDelivered,          // detail: how (lmtp/smtp/append/cli) and envelope sender
  kPop3Retrieved,      // RETR
  kPop3DeletePending,  // DELE (in memory until QUIT)
  kPop3Deleted,        // QUIT applied the delete; detail: the mode applied
  kPop3DeleteAborted,  // RSET or disconnect without QUIT
  kImapRead,           // \Seen set through IMAP (FETCH BODY[] or STORE)
  kFlagsChanged,
  kCopied,
  kMoved,
  kExpunged,
  kExpired,  // retention sweep
  // Appended after kExpired: the stored kind is this enum's value (FORMAT.md).
  kPop3Unhidden,       // `pillarbox user unhide`: visible to POP3 again
  kPop3DeleteRefused,  // DELE refused (delete mode deny); the message stays
};
// The last kind, for decoders that reject unknown values.
constexpr JournalKind kLastJournalKind = JournalKind::kPop3DeleteRefused;
// The special-use attribute's name (RFC 6154), "\\Sent"; "" for kNone.
std::string_view SpecialUseName(SpecialUse use);
std::string_view JournalKindName(JournalKind kind);

struct JournalEvent {
  UnixTime time = 0;
  std::uint64_t seq = 0;  // orders events within the same second
  JournalKind kind = JournalKind::kDelivered;
  Origin origin;
  std::string mailbox;  // name at the time
  Uid uid = 0;
  std::uint64_t guid = 0;
  std::string subject;  // decoded subject, truncated
  std::string detail;   // free text: mode applied, target mailbox, flags
};

}  // namespace pillarbox::storage
