// The SEARCH engine (RFC 3501 6.4.4): parsing search keys into a program
// and evaluating it against one message.
//
// Pure: the session walks the messages of its view and evaluates each with
// a SearchRun; the engine touches the message bytes only for keys that need
// them (header, address, BODY, TEXT, SENT*), and flag/size/date/set
// searches never read a blob.
//
// Cost: strings are found with a linear-time matcher (never message size
// times string length). BODY and TEXT decode and scan the body in pieces, so
// one large message is evaluated over several calls with a work budget
// each, and the session yields to the loop between them. The work of one
// command is capped (kMaxSearchWorkBytes): past it the command fails with
// NO [LIMIT], as Dovecot does for searches that are too costly.
//
// Semantics (where RFC 3501 leaves room, as Dovecot):
// - Strings match as substrings, case-insensitively: ASCII and the simple
//   Unicode case folding of Latin, Greek and Cyrillic letters, on UTF-8.
// - Header keys (FROM TO CC BCC SUBJECT HEADER) match the unfolded field
//   value after RFC 2047 decoding and charset conversion to UTF-8; every
//   occurrence of the field counts. HEADER name "" matches any message that
//   has the field. FROM TO CC BCC also match the addresses as ENVELOPE
//   reports them (comments and white space removed: "<a (x)@ (y) b.org>"
//   matches "a@b.org"), each written "name <local@domain>".
// - BODY matches the decoded text of the body parts (quoted-printable and
//   base64 undone, charset converted to UTF-8) of text/* parts and of parts
//   without a Content-Type, and the headers of embedded message/rfc822
//   parts. TEXT = the top-level header (decoded) or BODY.
// - BEFORE/ON/SINCE compare the calendar date of INTERNALDATE in its own
//   zone (the date the client sees in the INTERNALDATE string), so the
//   answer does not depend on the server's time zone.
// - SENTBEFORE/SENTON/SENTSINCE compare the calendar date of the Date:
//   header in its own zone; a message without a parsable Date: header uses
//   its INTERNALDATE instead (Dovecot does the same).
// - Sequence sets match per message; numbers past the end simply match
//   nothing ("*" is the last message).
// - NEW = RECENT UNSEEN; OLD = NOT RECENT.
// - "$" (RFC 5182), alone or as "UID $", is the saved search result: a
//   kUidSet key with saved_result set (see SearchKey).
// - SAVEDATESUPPORTED (RFC 8514) matches every message: every mailbox
//   keeps save dates.
//
// Thread-safety: pure functions; a ReadView is used on its owner thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocols/imap/sequence_set.h"
#include "protocols/imap/value.h"
#include "protocols/mime/message.h"
#include "storage/store.h"
#include "storage/types.h"

namespace pillarbox::imap {

// Nesting of parentheses/NOT/OR in one program (stack depth of evaluation).
inline constexpr int kMaxSearchDepth = 100;
// Keys in one program.
inline constexpr std::size_t kMaxSearchKeys = 10000;
// Work one SEARCH command may do, in bytes: raw bytes decoded plus decoded
// bytes scanned once per search string. About ten seconds of one core; a
// plain BODY search over 2 GiB of text fits, a thousand strings over one
// large message do not.
inline constexpr std::uint64_t kMaxSearchWorkBytes = 2ull << 30;
// Work per slice before the session yields to the loop: a few milliseconds.
inline constexpr std::uint64_t kSearchSliceWorkBytes = 512u << 10;
// Raw body bytes decoded at a time by BODY/TEXT.
inline constexpr std::size_t kSearchChunkBytes = 64u << 10;
// Work counted for looking at one message, whatever the keys.
inline constexpr std::uint64_t kSearchMessageWork = 256;

struct SearchKey {
  enum class Kind : std::uint8_t {
    kAll,
    kAnd,          // children, all must match (the top level, "( ... )")
    kOr,           // two children
    kNot,          // one child
    kSequenceSet,  // set (message sequence numbers)
    kUidSet,       // UID set
    kFlag,         // flag (storage::SystemFlag bits) set
    kNoFlag,       // flag bit clear
    kKeyword,      // text: keyword present (case-insensitive)
    kUnkeyword,    // text: keyword absent
    kRecent,
    kNew,         // recent and not \Seen
    kOld,         // not recent
    kLarger,      // number: size > number
    kSmaller,     // number: size < number
    kBefore,      // days: internal date < days
    kOn,          // days: internal date == days
    kSince,       // days: internal date >= days
    kSentBefore,  // days, Date: header
    kSentOn,
    kSentSince,
    kHeader,  // text: field name (FROM, TO, ... or HEADER's); value
    kBody,    // value
    kText,    // value
    kModSeq,  // number: modseq >= number (RFC 7162)
    // RFC 8514: the date the message was saved in its mailbox (UTC), or
    // its INTERNALDATE where no save date is known.
    kSavedBefore,  // days
    kSavedOn,
    kSavedSince,
    kEmailId,   // text: RFC 8474 EMAILID equals
    kThreadId,  // text: RFC 8474 THREADID equals
  };
  Kind kind = Kind::kAll;
  std::uint32_t flag = 0;
  std::uint64_t number = 0;
  std::int64_t days = 0;
  std::string text;   // keyword or header field name
  std::string value;  // search string: UTF-8, case-folded for matching
  // FROM TO CC BCC: the field also matches through its parsed addresses
  // ("name <local@domain>", comments removed, as ENVELOPE shows them).
  bool address = false;
  SequenceSet set;
  // kUidSet written "$" (SEARCHRES, RFC 5182): the session's saved result,
  // which the command fills into `set` as UIDs before evaluating (until
  // then it matches nothing).
  bool saved_result = false;
  std::vector<SearchKey> children;
};

// How much one evaluation may cost, for the session to decide how many
// messages to evaluate before yielding to the loop.
enum class SearchCost : std::uint8_t {
  kCheap,    // flags, sizes, dates, sets: no blob access
  kHeaders,  // reads the header of each message
  kBody,     // decodes bodies
};

// A key that not every session may use: one of an extension a profile can
// turn off, or one IMAP4rev2 removed (RFC 9051 has no RECENT, NEW, OLD).
struct GatedSearchKey {
  std::string name;        // as the client wrote it
  unsigned extension = 0;  // config::kImap* bit, or 0
  bool imap4rev1_only = false;
};

struct SearchProgram {
  SearchKey root;       // kAnd of the top-level keys
  std::string charset;  // "UTF-8" when given or implied
  bool needs_blob = false;
  // A MODSEQ key is used: the response ends with "(MODSEQ n)" (RFC 7162
  // 3.1.5) and the command is CONDSTORE-enabling.
  bool has_modseq = false;
  std::vector<GatedSearchKey> gated;  // in the order written
  SearchCost cost = SearchCost::kCheap;
  // Messages to evaluate per slice before the session should yield.
  std::size_t BatchSize() const;
};

// Parses search keys from args[start..]: an optional "CHARSET <astring>"
// first, then one or more keys. Errors:
// - kInvalidArgument: syntax ("Unknown argument FOO", "Missing argument"),
//   for a tagged BAD;
// - kNotFound with message "BADCHARSET": an unsupported charset, for
//   "NO [BADCHARSET (UTF-8 US-ASCII)] ...". Supported: UTF-8, US-ASCII, and
//   any charset the MIME layer can convert to UTF-8 (search strings are
//   converted to UTF-8).
Result<SearchProgram> ParseSearch(const std::vector<Value>& args, std::size_t start);

// The first key of `program` a session may not use, as written, "" when
// there is none: a key of an extension in `disabled` (config::kImap* bits:
// MODSEQ for CONDSTORE; SAVEDBEFORE, SAVEDON, SAVEDSINCE, SAVEDATESUPPORTED
// for SAVEDATE; EMAILID, THREADID for OBJECTID), or RECENT, NEW, OLD in an
// IMAP4rev2 session. Such a key is refused like an unknown one (tagged BAD
// "Unknown argument KEY"), as on a server without it.
std::string RefusedSearchKey(const SearchProgram& program, unsigned disabled, bool imap4rev2);

// The charsets to list in a BADCHARSET response code: "UTF-8 US-ASCII".
std::string SupportedSearchCharsets();

// What the engine may know about the message under test.
struct SearchContext {
  std::uint32_t seq = 0;                           // 1-based, in the session's view
  const storage::MessageRecord* record = nullptr;  // REQUIRED
  bool recent = false;
  std::uint32_t max_seq = 0;          // messages in the view (for "*")
  storage::Uid max_uid = 0;           // largest UID in the view (for "*")
  storage::ReadView* view = nullptr;  // REQUIRED when program.needs_blob
};

// Evaluates the program for one message at once (no budget, no cap). A
// message whose blob cannot be read matches no text key (and so does not
// match a program that needs one, unless under NOT).
bool Matches(const SearchProgram& program, const SearchContext& context);

enum class SearchOutcome : std::uint8_t {
  kMatch,
  kNoMatch,
  kPending,  // budget spent inside this message: call again with it
  kLimit,    // the run's work cap is reached: the command must fail
};

// The evaluation of one program over the messages of a command, resumable
// inside a message. `program` must outlive the run. Owner thread only.
class SearchRun {
 public:
  explicit SearchRun(const SearchProgram& program, std::uint64_t work_limit = kMaxSearchWorkBytes);
  ~SearchRun();
  SearchRun(const SearchRun&) = delete;
  SearchRun& operator=(const SearchRun&) = delete;

  // Evaluates the message of `context`, spending about `budget` bytes of
  // work at most (at least one piece of text). After kPending, call again
  // with the same message (a fresh view is fine: blobs are immutable); a
  // different message abandons the pending one.
  SearchOutcome Evaluate(const SearchContext& context, std::uint64_t budget);
  // Drops the state of a pending message (e.g. it was expunged).
  void Abandon();

  std::uint64_t work() const { return work_; }

 private:
  struct Pending;
  const SearchProgram& program_;
  std::uint64_t work_limit_;
  std::uint64_t work_ = 0;
  std::unique_ptr<Pending> pending_;
};

// Finds a (folded) string in text that arrives in pieces, in time linear in
// the text whatever the string (Knuth-Morris-Pratt): a match may span
// pieces. Exposed for tests.
class StreamMatcher {
 public:
  explicit StreamMatcher(std::string needle);
  // Feeds the next piece; true once the needle has been seen.
  bool Feed(std::string_view text);
  bool found() const { return found_; }
  const std::string& needle() const { return needle_; }
  // Bytes compared so far (for tests of the linear bound).
  std::uint64_t steps() const { return steps_; }

 private:
  std::string needle_;
  std::vector<std::uint32_t> fail_;  // fail_[i]: longest proper border of needle_[0..i]
  std::size_t state_ = 0;            // bytes of the needle matched at the end of the text
  bool found_ = false;
  std::uint64_t steps_ = 0;
};

// True when `haystack` contains `needle` (both folded): linear time.
bool ContainsFolded(std::string_view haystack, std::string_view needle);

// The folded search text of a message's body (what BODY matches: the
// decoded text parts, each followed by "\n", folded), produced in pieces of
// about kSearchChunkBytes raw bytes. Exposed for tests. `root` and the raw
// message passed to Next() must be the same message each time.
class BodyTextStream {
 public:
  explicit BodyTextStream(const mime::Part& root);
  ~BodyTextStream();
  // Appends the next piece to *out; returns the raw bytes it consumed, 0
  // when the text is complete. `chunk` is the raw bytes to decode at most
  // (a little more at a quoted-printable line that cannot be cut).
  std::size_t Next(std::string_view raw, std::string* out, std::size_t chunk = kSearchChunkBytes);
  bool done() const { return part_ >= parts_.size(); }

 private:
  struct Decoder;
  std::vector<const mime::Part*> parts_;
  std::size_t part_ = 0;
  std::uint64_t offset_ = 0;  // into the current part's body
  std::unique_ptr<Decoder> decoder_;
};

// Case folding used for search strings (exposed for tests): UTF-8 in, folded
// UTF-8 out; invalid UTF-8 bytes are kept as they are.
std::string SearchFold(std::string_view utf8);

}  // namespace pillarbox::imap
