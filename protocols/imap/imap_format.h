// Formatting and parsing of small IMAP data items (RFC 3501 section 9):
// flag lists, INTERNALDATE date-times, SEARCH dates, and the string forms
// (atom, quoted, literal, NIL) used in responses.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/civil_time.h"
#include "common/status.h"
#include "common/strings.h"
#include "protocols/imap/value.h"
#include "storage/types.h"

namespace pillarbox::imap {

// Keywords longer than this are refused (Dovecot limits keywords too; a
// keyword is stored with every message that carries it).
inline constexpr std::size_t kMaxKeywordLength = 128;
// Distinct keywords in one flag list.
inline constexpr std::size_t kMaxKeywordsPerList = 64;

// --- flags -----------------------------------------------------------------

// "(\Answered \Flagged \Deleted \Seen \Draft \Recent kw1 kw2)": system flags
// in Dovecot's order, \Recent when `recent`, then keywords as stored.
// No flags: "()".
std::string FormatFlags(const storage::Flags& flags, bool recent);

// "* <seq> FETCH (FLAGS (...))\r\n" telling a message's flags; with
// `condstore` (RFC 7162 3.1) "* <seq> FETCH (UID u FLAGS (...) MODSEQ (m))".
std::string FlagsFetchLine(std::uint32_t seq, const storage::MessageRecord& record, bool recent,
                           bool condstore);

// The flag names without parentheses, space separated (for FormatFlags and
// PERMANENTFLAGS lists).
std::string FormatFlagNames(const storage::Flags& flags, bool recent);

// Parses a STORE/APPEND flag list: a parenthesized list of flag atoms or a
// single flag atom (STORE allows "+FLAGS \Seen"). System flags are matched
// case-insensitively; \Recent and unknown backslash flags fail; keywords
// must be atoms without atom-specials (RFC 3501 "flag-keyword") and at most
// kMaxKeywordLength bytes. The keywords come back sorted and unique
// (case-insensitively; the first spelling wins), as storage::Flags requires.
// Failure: kInvalidArgument with a message fit for the tagged BAD
// ("Invalid system flag \Recent", "Invalid keyword").
Result<storage::Flags> ParseFlagList(const Value& value);

// Keyword normalization as storage::Flags requires (sort, dedupe
// case-insensitively).
void NormalizeKeywords(std::vector<std::string>& keywords);

// Whether `keywords` holds `keyword`: keywords compare case-insensitively
// (ASCII), as NormalizeKeywords dedupes them. The one "is it known" test.
template <typename Keywords>
bool HasKeyword(const Keywords& keywords, std::string_view keyword) {
  for (const auto& k : keywords) {
    if (EqualsIgnoreAsciiCase(k, keyword)) return true;
  }
  return false;
}

// How many of `added` are not in `known` (the keywords a change would add).
template <typename Known, typename Added>
std::size_t CountNewKeywords(const Known& known, const Added& added) {
  std::size_t n = 0;
  for (const auto& k : added) n += HasKeyword(known, k) ? 0 : 1;
  return n;
}

// True when `flag` (without backslash) is a valid keyword atom.
bool IsValidKeyword(std::string_view keyword);

// --- dates -----------------------------------------------------------------

// The RFC 3501 date-time, quotes included: "\"17-Jul-1996 02:44:25 -0700\"".
// `tz_minutes` is the zone offset east of UTC; the day is always two digits
// ("07-Jul-1996", one of date-day-fixed's forms, as Dovecot writes it).
std::string FormatInternalDate(storage::UnixTime time, std::int32_t tz_minutes);

struct DateTime {
  storage::UnixTime time = 0;  // UTC seconds
  std::int32_t tz_minutes = 0;
  bool operator==(const DateTime&) const = default;
};

// Parses APPEND's date-time (quotes already removed by the parser):
// "dd-Mon-yyyy hh:mm:ss +zzzz", the day one or two digits, possibly with a
// leading space; month names case-insensitive. Validates ranges (day within
// the month, hour < 24, zone minutes < 60). kInvalidArgument otherwise.
Result<DateTime> ParseDateTime(std::string_view text);

// Parses a SEARCH date ("1-Feb-1994", also quoted forms after the parser has
// unquoted them). Returns the civil date as days since 1970-01-01.
Result<std::int64_t> ParseSearchDate(std::string_view text);

// Days since 1970-01-01 of a civil date, and back (common/civil_time.h).
using pillarbox::CivilFromDays;
using pillarbox::DaysFromCivil;

// --- strings ---------------------------------------------------------------

// A quoted string ("a \"b\" \\c") when `s` is 7-bit without CR, LF or NUL
// and shorter than 4 KiB; otherwise a synchronizing literal "{n}\r\n" + s.
std::string QuoteString(std::string_view s);
// Appends QuoteString(s) to `out`.
void AppendQuoted(std::string& out, std::string_view s);
// NIL for nullopt, else QuoteString.
void AppendNString(std::string& out, const std::optional<std::string>& s);
// An astring: the bare atom when `s` is a non-empty atom (no atom-specials,
// not "NIL"), else QuoteString(s).
std::string FormatAString(std::string_view s);

// True when every byte of `s` is an ATOM-CHAR (RFC 3501) and s is not empty.
bool IsAtom(std::string_view s);

}  // namespace pillarbox::imap
