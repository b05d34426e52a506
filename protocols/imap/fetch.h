// The FETCH engine (RFC 3501 6.4.5 and 7.4.2; BINARY from RFC 3516; MODSEQ
// from RFC 7162): parsing the data items a client asked for, and rendering
// the untagged "* <seq> FETCH (...)" response of one message.
//
// Pure: inputs are parsed IMAP values, the storage records and a ReadView for
// the message bytes and the stored MIME structure; outputs are pieces of the
// response. The session (command_fetch.cpp) chooses the messages, sets \Seen
// when the spec asks for it (see FetchSetsSeen), and writes the pieces with
// backpressure.
//
// Large literal contents (BODY[], BODY[1], RFC822, ...) are not copied: they
// come back as a BlobRange piece that names the blob and a byte range, and the
// session copies the bytes when the socket has room, reading them through a
// fresh ReadView (a blob is immutable and refcounted, so a range stays valid
// as long as the message is not expunged; if it is gone by then the session
// writes the same number of bytes some other way or closes the connection).
//
// Structure: ENVELOPE, BODY, BODYSTRUCTURE and the part offsets come from the
// stored structure (ReadView::Structure); when it is missing or does not
// decode, the blob is parsed instead (never fails).
//
// Thread-safety: pure functions; a ReadView is used on its owner thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocols/imap/value.h"
#include "storage/store.h"
#include "storage/types.h"

namespace pillarbox::imap {

// Literal contents at least this long are returned as BlobRange pieces;
// shorter ones are copied into the response bytes (a copy is cheaper than a
// second read for small parts).
inline constexpr std::size_t kFetchInlineBytes = 16 * 1024;
// Header field names in one HEADER.FIELDS list (Dovecot has no limit; this
// only keeps a hostile request from costing much).
inline constexpr std::size_t kMaxFetchHeaderFields = 1000;
// Nesting of a section part number ("1.2.3...").
inline constexpr std::size_t kMaxSectionDepth = 64;

// A BODY[...] / BINARY[...] section.
struct FetchSection {
  enum class Text : std::uint8_t {
    kNone,             // BODY[] or BODY[1.2]: the whole message/part
    kHeader,           // HEADER
    kHeaderFields,     // HEADER.FIELDS (...)
    kHeaderFieldsNot,  // HEADER.FIELDS.NOT (...)
    kText,             // TEXT
    kMime,             // MIME (only after a part number)
  };
  std::vector<std::uint32_t> part;  // "1.2" -> {1, 2}; empty: the message
  Text text = Text::kNone;
  std::vector<std::string> fields;  // HEADER.FIELDS names as the client wrote them
  // <origin.count>: partial fetch. count is nullopt for none.
  std::optional<std::uint64_t> partial_origin;
  std::optional<std::uint64_t> partial_count;
  bool operator==(const FetchSection&) const = default;
};

struct FetchItem {
  enum class Kind : std::uint8_t {
    kFlags,
    kInternalDate,
    kRfc822,        // = BODY[] (sets \Seen), labelled RFC822
    kRfc822Header,  // = BODY.PEEK[HEADER], labelled RFC822.HEADER
    kRfc822Size,
    kRfc822Text,  // = BODY[TEXT] (sets \Seen), labelled RFC822.TEXT
    kEnvelope,
    kBody,  // non-extensible BODYSTRUCTURE
    kBodyStructure,
    kUid,
    kModSeq,       // RFC 7162: "MODSEQ (n)"
    kBodySection,  // BODY[...] and BODY.PEEK[...]
    kBinary,       // BINARY[...] and BINARY.PEEK[...] (RFC 3516)
    kBinarySize,   // BINARY.SIZE[...]
    kSaveDate,     // RFC 8514: when the message entered its mailbox
    kEmailId,      // RFC 8474: "EMAILID (id)"
    kThreadId,     // RFC 8474: THREADID, the thread's first Message-ID hashed (object_id.h)
  };
  Kind kind = Kind::kFlags;
  bool peek = false;     // BODY.PEEK / BINARY.PEEK
  FetchSection section;  // kBodySection, kBinary, kBinarySize
  bool operator==(const FetchItem&) const = default;
};

struct FetchSpec {
  std::vector<FetchItem> items;  // in the order requested, duplicates dropped
  bool sets_seen = false;        // a non-PEEK BODY[]/BINARY[]/RFC822/RFC822.TEXT
  bool needs_blob = false;       // some item reads the message bytes
  bool needs_structure = false;  // some item needs the MIME structure
  bool has_uid = false;          // UID was requested
  bool has_flags = false;        // FLAGS was requested
  bool has_modseq = false;       // MODSEQ was requested
};

// Parses the FETCH data item argument: a macro (ALL, FAST, FULL), a single
// item atom, or a parenthesized list of item atoms (macros are not allowed
// inside a list). Section specs arrive as one atom ("BODY[HEADER.FIELDS (A
// B)]<0.10>", see value.h). Items are upper-case-insensitive. Errors:
// kInvalidArgument with a short reason for the tagged BAD ("Invalid fetch
// item FOO", "Invalid section", ...).
Result<FetchSpec> ParseFetchItems(const Value& items);

// The same over a command's arguments: args[start] is the item argument;
// nothing may follow it (CHANGEDSINCE modifiers are the caller's business:
// it passes start and strips them first).
Result<FetchSpec> ParseFetchItems(const std::vector<Value>& args, std::size_t start);

// True when fetching `spec` must set \Seen on a message with `flags`
// (in a mailbox opened read-write; the caller checks that).
bool FetchSetsSeen(const FetchSpec& spec, const storage::Flags& flags);

// A range of a blob's bytes to send as they are.
struct BlobRange {
  storage::BlobId blob;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool operator==(const BlobRange&) const = default;
};

// One piece of a FETCH response: either bytes or a blob range.
struct FetchPiece {
  std::string bytes;               // used when !range
  std::optional<BlobRange> range;  // the bytes of a literal, streamed later
  std::uint64_t size() const { return range ? range->length : bytes.size(); }
};

// One message as the session sees it.
struct FetchMessage {
  std::uint32_t seq = 0;
  const storage::MessageRecord* record = nullptr;  // REQUIRED
  bool recent = false;                             // \Recent for this session
};

struct FetchRenderOptions {
  // UID FETCH: "UID n" is included (first) even when not requested.
  bool force_uid = false;
  // FLAGS is included (last) even when not requested: the caller just set
  // \Seen because of this fetch (RFC 3501 6.4.5: the flags are returned).
  bool force_flags = false;
  // MODSEQ is included (CONDSTORE enabled and CHANGEDSINCE, or after STORE).
  bool force_modseq = false;
  // Literal contents at least this long become BlobRange pieces. SIZE_MAX:
  // always copy (tests, small responses).
  std::size_t inline_limit = kFetchInlineBytes;
};

// Renders "* <seq> FETCH (<items>)\r\n" for one message. Adjacent byte
// pieces are merged, so a flag-only fetch is a single piece. `view` may be
// null only when !spec.needs_blob && !spec.needs_structure.
// Items follow the request order; a part that does not exist gives an empty
// string (BINARY.SIZE 0), as Dovecot answers; BINARY of a part with an unknown transfer encoding
// fails with kUnsupported (the caller answers "NO [UNKNOWN-CTE] ..."). A missing blob fails with
// kNotFound/kCorruption from the store.
Result<std::vector<FetchPiece>> RenderFetch(const FetchSpec& spec, const FetchMessage& message,
                                            storage::ReadView* view,
                                            const FetchRenderOptions& options = {});

// Concatenates pieces into one string, reading ranges through `view`.
// For tests and small responses.
Result<std::string> FlattenPieces(const std::vector<FetchPiece>& pieces, storage::ReadView* view);

}  // namespace pillarbox::imap
