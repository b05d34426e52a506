#include "protocols/imap/imap_format.h"

#include <algorithm>
#include <cstdio>

#include "common/strings.h"

namespace pillarbox::imap {
namespace {

constexpr const char* kMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Strings longer than this go out as literals even when they could be quoted
// (long quoted strings are where naive clients break first).
constexpr std::size_t kMaxQuotedLength = 4096;

struct SystemFlagName {
  std::uint32_t bit;
  std::string_view name;  // without the backslash
};
// Dovecot's output order.
constexpr SystemFlagName kSystemFlags[] = {
    {storage::kFlagAnswered, "Answered"}, {storage::kFlagFlagged, "Flagged"},
    {storage::kFlagDeleted, "Deleted"},   {storage::kFlagSeen, "Seen"},
    {storage::kFlagDraft, "Draft"},
};

bool IsAtomChar(unsigned char c) {
  if (c <= 0x1f || c >= 0x7f) return false;
  switch (c) {
    case '(':
    case ')':
    case '{':
    case ' ':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']':
      return false;
    default:
      return true;
  }
}

bool ParseDigits(std::string_view s, std::size_t& pos, std::size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool ParseMonth(std::string_view s, std::size_t& pos, unsigned& month) {
  if (pos + 3 > s.size()) return false;
  for (unsigned m = 0; m < 12; ++m) {
    if (EqualsIgnoreAsciiCase(s.substr(pos, 3), kMonths[m])) {
      month = m + 1;
      pos += 3;
      return true;
    }
  }
  return false;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int y, unsigned m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// "d-Mon-yyyy" with a 1- or 2-digit day (an optional leading space is
// handled by the caller). Advances pos.
bool ParseDate(std::string_view s, std::size_t& pos, int& year, unsigned& month, unsigned& day) {
  unsigned d = 0;
  std::size_t start = pos;
  while (pos < s.size() && pos - start < 2 && s[pos] >= '0' && s[pos] <= '9') {
    d = d * 10 + static_cast<unsigned>(s[pos] - '0');
    ++pos;
  }
  if (pos == start) return false;
  if (pos >= s.size() || s[pos] != '-') return false;
  ++pos;
  unsigned m = 0;
  if (!ParseMonth(s, pos, m)) return false;
  if (pos >= s.size() || s[pos] != '-') return false;
  ++pos;
  unsigned y = 0;
  if (!ParseDigits(s, pos, 4, y)) return false;
  if (d < 1 || d > DaysInMonth(static_cast<int>(y), m)) return false;
  year = static_cast<int>(y);
  month = m;
  day = d;
  return true;
}

}  // namespace

std::string FormatFlagNames(const storage::Flags& flags, bool recent) {
  std::string out;
  for (const SystemFlagName& f : kSystemFlags) {
    if (flags.system & f.bit) {
      if (!out.empty()) out += ' ';
      out += '\\';
      out += f.name;
    }
  }
  if (recent) {
    if (!out.empty()) out += ' ';
    out += "\\Recent";
  }
  for (const std::string& k : flags.keywords) {
    if (!out.empty()) out += ' ';
    out += k;
  }
  return out;
}

std::string FormatFlags(const storage::Flags& flags, bool recent) {
  std::string out = "(";
  out += FormatFlagNames(flags, recent);
  out += ')';
  return out;
}

std::string FlagsFetchLine(std::uint32_t seq, const storage::MessageRecord& record, bool recent,
                           bool condstore) {
  std::string out = "* " + std::to_string(seq) + " FETCH (";
  if (condstore) out += "UID " + std::to_string(record.uid) + " ";
  out += "FLAGS " + FormatFlags(record.flags, recent);
  if (condstore) out += " MODSEQ (" + std::to_string(record.modseq) + ")";
  return out + ")\r\n";
}

bool IsValidKeyword(std::string_view keyword) {
  return !keyword.empty() && keyword.size() <= kMaxKeywordLength && IsAtom(keyword);
}

void NormalizeKeywords(std::vector<std::string>& keywords) {
  // Stable, so that the first spelling of a keyword is the one kept.
  std::stable_sort(
      keywords.begin(), keywords.end(),
      [](const std::string& a, const std::string& b) { return CompareIgnoreAsciiCase(a, b) < 0; });
  keywords.erase(std::unique(keywords.begin(), keywords.end(),
                             [](const std::string& a, const std::string& b) {
                               return EqualsIgnoreAsciiCase(a, b);
                             }),
                 keywords.end());
}

Result<storage::Flags> ParseFlagList(const Value& value) {
  std::vector<const Value*> items;
  if (value.IsList()) {
    for (const Value& v : value.items) items.push_back(&v);
  } else {
    items.push_back(&value);
  }
  storage::Flags flags;
  for (const Value* v : items) {
    if (!v->IsAtom()) return Status::InvalidArgument("Invalid flag list");
    const std::string& t = v->text;
    if (!t.empty() && t[0] == '\\') {
      std::string_view name = std::string_view(t).substr(1);
      bool found = false;
      for (const SystemFlagName& f : kSystemFlags) {
        if (EqualsIgnoreAsciiCase(name, f.name)) {
          flags.system |= f.bit;
          found = true;
          break;
        }
      }
      if (!found) return Status::InvalidArgument("Invalid system flag " + t);
      continue;
    }
    if (!IsValidKeyword(t)) return Status::InvalidArgument("Invalid keyword");
    flags.keywords.push_back(t);
  }
  NormalizeKeywords(flags.keywords);
  if (flags.keywords.size() > kMaxKeywordsPerList) {
    return Status::InvalidArgument("Too many keywords");
  }
  return flags;
}

std::string FormatInternalDate(storage::UnixTime time, std::int32_t tz_minutes) {
  std::int64_t local = time + static_cast<std::int64_t>(tz_minutes) * 60;
  std::int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  std::int64_t secs = local - days * 86400;
  int y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  char sign = tz_minutes < 0 ? '-' : '+';
  int tz = tz_minutes < 0 ? -tz_minutes : tz_minutes;
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%02u-%s-%04d %02d:%02d:%02d %c%02d%02d\"", d, kMonths[m - 1], y,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60), sign, tz / 60, tz % 60);
  return buf;
}

Result<DateTime> ParseDateTime(std::string_view s) {
  std::size_t pos = 0;
  if (!s.empty() && s[0] == ' ') pos = 1;
  int y = 0;
  unsigned mo = 0, d = 0, hh = 0, mm = 0, ss = 0, zh = 0, zm = 0;
  auto bad = [] { return Status::InvalidArgument("Invalid date-time"); };
  if (!ParseDate(s, pos, y, mo, d)) return bad();
  if (pos >= s.size() || s[pos] != ' ') return bad();
  ++pos;
  if (!ParseDigits(s, pos, 2, hh) || pos >= s.size() || s[pos++] != ':') return bad();
  if (!ParseDigits(s, pos, 2, mm) || pos >= s.size() || s[pos++] != ':') return bad();
  if (!ParseDigits(s, pos, 2, ss)) return bad();
  if (pos >= s.size() || s[pos++] != ' ') return bad();
  if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) return bad();
  bool negative = s[pos++] == '-';
  if (!ParseDigits(s, pos, 2, zh) || !ParseDigits(s, pos, 2, zm)) return bad();
  if (pos != s.size()) return bad();
  // Leap seconds (:60) are accepted and folded into the next minute.
  if (hh > 23 || mm > 59 || ss > 60 || zm > 59) return bad();
  std::int32_t tz = static_cast<std::int32_t>(zh * 60 + zm) * (negative ? -1 : 1);
  std::int64_t local = DaysFromCivil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss;
  return DateTime{local - static_cast<std::int64_t>(tz) * 60, tz};
}

Result<std::int64_t> ParseSearchDate(std::string_view s) {
  std::size_t pos = 0;
  int y = 0;
  unsigned m = 0, d = 0;
  if (!ParseDate(s, pos, y, m, d) || pos != s.size()) {
    return Status::InvalidArgument("Invalid search date");
  }
  return DaysFromCivil(y, m, d);
}

bool IsAtom(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsAtomChar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void AppendQuoted(std::string& out, std::string_view s) {
  bool literal = s.size() > kMaxQuotedLength;
  for (std::size_t i = 0; !literal && i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) literal = true;
  }
  if (literal) {
    out += '{';
    out += std::to_string(s.size());
    out += "}\r\n";
    out.append(s);
    return;
  }
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

std::string QuoteString(std::string_view s) {
  std::string out;
  AppendQuoted(out, s);
  return out;
}

void AppendNString(std::string& out, const std::optional<std::string>& s) {
  if (!s) {
    out += "NIL";
    return;
  }
  AppendQuoted(out, *s);
}

std::string FormatAString(std::string_view s) {
  if (IsAtom(s) && !EqualsIgnoreAsciiCase(s, "NIL")) return std::string(s);
  return QuoteString(s);
}

}  // namespace pillarbox::imap
