// Reading and writing the mail formats of other programs, for `pillarbox
// import` and `pillarbox export`: Maildir file names and their `:2,` info,
// Dovecot's dovecot-uidlist and dovecot-keywords files and its POP3 UIDL
// format, and mbox (mboxrd/mboxo) with its Status/X-Status/X-Keywords
// headers and "From " line dates.
//
// Pure: no store, no files (callers read and write them), no locale.
//
// Thread-safety: pure functions; an MboxParser is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/types.h"

namespace pillarbox::services::mailfmt {

// --- Maildir -------------------------------------------------------------------

// A Maildir file name split: "1700000000.M1P2.host,S=12,W=13:2,FRSab".
struct MaildirName {
  std::string base;                   // before the info separator: "1700000000.M1P2.host,S=12,W=13"
  bool has_info = false;              // ":2," (or "!2," / ";2,") present
  std::uint32_t system = 0;           // storage::SystemFlag bits from D F R S T
  bool passed = false;                // P: forwarded ($Forwarded)
  std::string keyword_letters;        // 'a'..'z', indexes into dovecot-keywords
  std::optional<std::uint64_t> size;  // ,S=
  std::optional<std::uint64_t> vsize;  // ,W= (size with CRLF line endings)
};
MaildirName ParseMaildirName(std::string_view file_name);
// The info "2,DFPRSTab..." for these flags; `letters` the keyword letters
// (sorted by the callee).
std::string FormatMaildirInfo(std::uint32_t system, bool passed, std::string letters);

// dovecot-keywords: "0 $Label1\n1 Work\n" -> {0: "$Label1", 1: "Work"}.
// Malformed lines are skipped.
std::map<int, std::string> ParseDovecotKeywords(std::string_view text);

// dovecot-uidlist, versions 1 and 3.
struct UidlistRecord {
  storage::Uid uid = 0;
  std::string file_base;               // the file name without its info
  std::map<char, std::string> fields;  // v3 extension fields: 'P' POP3 UIDL, 'G' guid, 'W'...
};
struct Uidlist {
  int version = 0;
  std::uint32_t uidvalidity = 0;
  storage::Uid uidnext = 0;
  std::string guid;                    // mailbox GUID (hex), when given
  std::vector<UidlistRecord> records;  // file order (ascending UIDs)
  std::vector<std::string> bad_lines;  // could not be read; reported
};
// nullopt when the header is not a known version.
std::optional<Uidlist> ParseDovecotUidlist(std::string_view text);

// Dovecot's pop3_uidl_format ("%08Xu%08Xv", the default): %u UID, %v
// UIDVALIDITY, %f file base name, %g message GUID, %% a '%'; a width with
// an optional 0, and X (or x) for hex, lowercase as Dovecot writes it. Empty with *error set for
// variables it cannot compute (%m: an MD5 of the headers).
struct UidlVars {
  storage::Uid uid = 0;
  std::uint32_t uidvalidity = 0;
  std::string file_base;
  std::string guid;
};
std::string FormatPop3Uidl(std::string_view format, const UidlVars& vars, std::string* error);
inline constexpr std::string_view kDovecotDefaultUidlFormat = "%08Xu%08Xv";

// --- names -----------------------------------------------------------------------

// Special use a folder's name suggests ("Sent Items" -> kSent), by the names
// mail programs give them; kNone for others.
storage::SpecialUse SpecialUseByName(std::string_view name);

// --- mbox --------------------------------------------------------------------------

// The date of a "From sender Thu Nov 26 10:00:00 2026" line (also with a
// zone "+0100" or "UTC" before or after the year, and without seconds), as
// UTC seconds (a zone offset is applied). nullopt when it has none.
std::optional<storage::UnixTime> ParseFromLineDate(std::string_view line);
// "From sender Thu Nov 26 10:00:00 2026" (UTC, asctime layout).
std::string FormatFromLine(std::string_view sender, storage::UnixTime time);
// True for a line that starts a message: "From " then a sender and a time.
bool IsFromLine(std::string_view line);

// What an mbox message's status headers (Status:, X-Status:, X-Keywords:,
// and X-UID:, X-IMAPbase:, X-UIDL: as Dovecot and qpopper write them) say.
// They are taken out of the message, which is then as it was delivered.
struct MboxMeta {
  storage::Flags flags;
  std::optional<storage::Uid> uid;     // X-UID
  std::uint32_t base_uidvalidity = 0;  // X-IMAPbase
  storage::Uid base_uidnext = 0;       // X-IMAPbase (its "last UID" + 1)
  std::string uidl;                    // X-UIDL
};
// Removes those headers from the header section of `message` (LF or CRLF
// lines) and returns what they said.
MboxMeta TakeMboxMeta(std::string* message);
// The header lines to add for `meta` (LF line endings): Status, X-Status,
// X-Keywords, X-UID, X-UIDL, and X-IMAPbase when base_uidvalidity is set.
std::string FormatMboxMeta(const MboxMeta& meta);

// One message of an mbox as the parser hands it out.
struct MboxMessage {
  std::string from_line;                  // without line ending
  std::string envelope_from;              // "" for MAILER-DAEMON or none
  std::optional<storage::UnixTime> date;  // from the From line
  std::string bytes;           // ">From " unquoted (mboxrd), the separating empty line removed
  std::uint64_t offset = 0;    // byte offset of its From line in the file
  std::uint64_t raw_size = 0;  // bytes it takes in the file
  bool too_big = false;        // over the limit: `bytes` is empty
};

// A streaming mbox reader: bytes in any pieces, whole messages out. Holds
// at most one message (up to `max_message_bytes`; a larger one is reported
// too_big without its bytes) and one line.
//
// A message starts at a From line (IsFromLine) at the start of the input or
// after an empty line; the empty line before it ends the previous message
// and is not part of it. Lines ">From ", ">>From "... lose one '>'.
// Bytes before the first From line are reported once by `garbage`.
class MboxParser {
 public:
  using Sink = std::function<void(MboxMessage&&)>;
  MboxParser(std::uint64_t max_message_bytes, Sink sink)
      : max_(max_message_bytes), sink_(std::move(sink)) {}
  void Feed(std::string_view data);
  void Finish();
  std::uint64_t garbage() const { return garbage_; }

 private:
  void Line(std::string_view line);  // with its "\n" (missing only at the end)
  void Emit();

  std::uint64_t max_;
  Sink sink_;
  std::string partial_;
  std::uint64_t pos_ = 0;  // offset of the next byte to parse
  bool in_message_ = false;
  bool previous_blank_ = false;
  bool mid_line_ = false;       // the next bytes continue a line passed on in pieces
  bool pending_blank_ = false;  // a held empty line (may end the message)
  std::string pending_blank_bytes_;
  MboxMessage current_;
  std::uint64_t garbage_ = 0;
};

// The body of an mbox entry for `message` (CRLF or LF): LF line endings,
// lines matching ">*From " quoted with one more '>' (mboxrd), ending with a
// line ending; the caller adds the From line and the empty line after.
std::string EscapeMboxrd(std::string_view message);

// CRLF -> LF (for files on disk: Maildir, .eml, mbox).
std::string ToLf(std::string_view crlf);

}  // namespace pillarbox::services::mailfmt
