#include "services/mailfmt.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "common/civil_time.h"
#include "common/strings.h"

namespace pillarbox::services::mailfmt {
namespace {

template <typename T>
std::optional<T> Number(std::string_view s) {
  T v{};
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> Tokens(std::string_view s, std::string_view seps = " \t") {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    i = s.find_first_not_of(seps, i);
    if (i == std::string_view::npos) break;
    std::size_t j = s.find_first_of(seps, i);
    if (j == std::string_view::npos) j = s.size();
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string_view TrimLineEnd(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::string_view kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};

std::optional<int> Zone(std::string_view t) {
  if (t.size() == 5 && (t[0] == '+' || t[0] == '-')) {
    auto hhmm = Number<int>(t.substr(1));
    if (!hhmm) return std::nullopt;
    int minutes = (*hhmm / 100) * 60 + *hhmm % 100;
    return t[0] == '-' ? -minutes : minutes;
  }
  return std::nullopt;
}

}  // namespace

// --- Maildir -------------------------------------------------------------------

MaildirName ParseMaildirName(std::string_view name) {
  MaildirName out;
  std::size_t info = std::string_view::npos;
  for (std::string_view sep : {":2,", "!2,", ";2,"}) {
    info = name.rfind(sep);
    if (info != std::string_view::npos) break;
  }
  if (info != std::string_view::npos) {
    out.has_info = true;
    out.base = std::string(name.substr(0, info));
    for (char c : name.substr(info + 3)) {
      switch (c) {
        case 'D':
          out.system |= storage::kFlagDraft;
          break;
        case 'F':
          out.system |= storage::kFlagFlagged;
          break;
        case 'P':
          out.passed = true;
          break;
        case 'R':
          out.system |= storage::kFlagAnswered;
          break;
        case 'S':
          out.system |= storage::kFlagSeen;
          break;
        case 'T':
          out.system |= storage::kFlagDeleted;
          break;
        default:
          if (c >= 'a' && c <= 'z' && out.keyword_letters.find(c) == std::string::npos) {
            out.keyword_letters.push_back(c);
          }
      }
    }
  } else {
    std::size_t colon = name.find(':');
    out.base = std::string(name.substr(0, colon));
  }
  // ",S=123" and ",W=456" fields of the base name.
  std::string_view base = out.base;
  for (std::size_t i = base.find(','); i != std::string_view::npos; i = base.find(',', i + 1)) {
    std::string_view rest = base.substr(i + 1);
    if (rest.size() < 3 || rest[1] != '=') continue;
    std::size_t end = rest.find(',');
    auto v = Number<std::uint64_t>(rest.substr(2, end == std::string_view::npos ? end : end - 2));
    if (!v) continue;
    if (rest[0] == 'S') out.size = v;
    if (rest[0] == 'W') out.vsize = v;
  }
  return out;
}

std::string FormatMaildirInfo(std::uint32_t system, bool passed, std::string letters) {
  std::string out = "2,";
  if (system & storage::kFlagDraft) out += 'D';
  if (system & storage::kFlagFlagged) out += 'F';
  if (passed) out += 'P';
  if (system & storage::kFlagAnswered) out += 'R';
  if (system & storage::kFlagSeen) out += 'S';
  if (system & storage::kFlagDeleted) out += 'T';
  std::sort(letters.begin(), letters.end());
  letters.erase(std::unique(letters.begin(), letters.end()), letters.end());
  return out + letters;
}

std::map<int, std::string> ParseDovecotKeywords(std::string_view text) {
  std::map<int, std::string> out;
  for (std::string_view line : Tokens(text, "\n")) {
    line = TrimLineEnd(line);
    std::size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    auto idx = Number<int>(line.substr(0, space));
    std::string_view name = line.substr(space + 1);
    if (!idx || *idx < 0 || *idx >= 26 || name.empty()) continue;
    out[*idx] = std::string(name);
  }
  return out;
}

std::optional<Uidlist> ParseDovecotUidlist(std::string_view text) {
  Uidlist out;
  std::size_t eol = text.find('\n');
  std::string_view header = TrimLineEnd(text.substr(0, eol));
  text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
  auto head = Tokens(header);
  if (head.empty()) return std::nullopt;
  auto version = Number<int>(head[0]);
  if (!version) return std::nullopt;
  out.version = *version;
  if (out.version == 1) {
    if (head.size() < 3) return std::nullopt;
    auto v = Number<std::uint32_t>(head[1]);
    auto n = Number<std::uint32_t>(head[2]);
    if (!v || !n) return std::nullopt;
    out.uidvalidity = *v;
    out.uidnext = *n;
  } else if (out.version == 2 || out.version == 3) {
    for (std::size_t i = 1; i < head.size(); ++i) {
      std::string_view t = head[i];
      if (t.size() < 2) continue;
      if (t[0] == 'V') {
        if (auto v = Number<std::uint32_t>(t.substr(1))) out.uidvalidity = *v;
      } else if (t[0] == 'N') {
        if (auto v = Number<std::uint32_t>(t.substr(1))) out.uidnext = *v;
      } else if (t[0] == 'G') {
        out.guid = std::string(t.substr(1));
      }
    }
  } else {
    return std::nullopt;
  }
  while (!text.empty()) {
    eol = text.find('\n');
    std::string_view line = TrimLineEnd(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.empty()) continue;
    UidlistRecord rec;
    std::size_t space = line.find(' ');
    auto uid = Number<std::uint32_t>(line.substr(0, space));
    if (!uid || *uid == 0 || space == std::string_view::npos) {
      out.bad_lines.emplace_back(line);
      continue;
    }
    rec.uid = *uid;
    std::string_view rest = line.substr(space + 1);
    if (out.version == 1) {
      rec.file_base = std::string(rest);
    } else {
      // Fields up to " :", then the file name (which may hold spaces).
      std::size_t colon = rest.starts_with(':') ? 0 : rest.find(" :");
      std::string_view fields, file;
      if (colon == std::string_view::npos) {
        // No ':' marker: the last token is the file name.
        std::size_t last = rest.rfind(' ');
        fields = last == std::string_view::npos ? std::string_view() : rest.substr(0, last);
        file = last == std::string_view::npos ? rest : rest.substr(last + 1);
      } else {
        fields = rest.substr(0, colon);
        file = rest.substr(colon + (colon == 0 ? 1 : 2));
      }
      for (std::string_view f : Tokens(fields)) {
        if (f.size() >= 1) rec.fields[f[0]] = std::string(f.substr(1));
      }
      rec.file_base = std::string(file);
    }
    // Dovecot keeps base names; drop an info that slipped in.
    rec.file_base = ParseMaildirName(rec.file_base).base;
    if (rec.file_base.empty()) {
      out.bad_lines.emplace_back(line);
      continue;
    }
    out.records.push_back(std::move(rec));
  }
  return out;
}

std::string FormatPop3Uidl(std::string_view format, const UidlVars& vars, std::string* error) {
  std::string out;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    ++i;
    bool zero = false;
    if (i < format.size() && format[i] == '0') {
      zero = true;
      ++i;
    }
    int width = 0;
    while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
      width = width * 10 + (format[i] - '0');
      ++i;
    }
    char base = 'd';
    if (i < format.size() && (format[i] == 'x' || format[i] == 'X')) base = format[i++];
    if (i >= format.size()) {
      *error = "pop3_uidl_format ends in the middle of a variable";
      return "";
    }
    std::string value;
    auto number = [&](std::uint32_t n) {
      char buf[16];
      // Dovecot's X modifier writes lowercase hex (as does x here).
      std::snprintf(buf, sizeof buf, base == 'd' ? "%u" : "%x", n);
      return std::string(buf);
    };
    switch (format[i]) {
      case 'u':
        value = number(vars.uid);
        break;
      case 'v':
        value = number(vars.uidvalidity);
        break;
      case 'f':
        value = vars.file_base;
        break;
      case 'g':
        value = vars.guid;
        break;
      case '%':
        value = "%";
        break;
      default:
        *error = std::string("pop3_uidl_format variable %") + format[i] + " is not supported";
        return "";
    }
    if (static_cast<int>(value.size()) < width) {
      value.insert(0, static_cast<std::size_t>(width) - value.size(), zero ? '0' : ' ');
    }
    out += value;
  }
  return out;
}

// --- names ---------------------------------------------------------------------

storage::SpecialUse SpecialUseByName(std::string_view name) {
  std::size_t slash = name.rfind('/');
  if (slash != std::string_view::npos) name = name.substr(slash + 1);
  struct Alias {
    std::string_view name;
    storage::SpecialUse use;
  };
  static constexpr Alias kAliases[] = {
      {"Sent", storage::SpecialUse::kSent},
      {"Sent Items", storage::SpecialUse::kSent},
      {"Sent Messages", storage::SpecialUse::kSent},
      {"Sent Mail", storage::SpecialUse::kSent},
      {"Drafts", storage::SpecialUse::kDrafts},
      {"Draft", storage::SpecialUse::kDrafts},
      {"Trash", storage::SpecialUse::kTrash},
      {"Deleted Items", storage::SpecialUse::kTrash},
      {"Deleted Messages", storage::SpecialUse::kTrash},
      {"Bin", storage::SpecialUse::kTrash},
      {"Junk", storage::SpecialUse::kJunk},
      {"Spam", storage::SpecialUse::kJunk},
      {"Junk E-mail", storage::SpecialUse::kJunk},
      {"Junk Email", storage::SpecialUse::kJunk},
      {"Archive", storage::SpecialUse::kArchive},
      {"Archives", storage::SpecialUse::kArchive},
  };
  for (const auto& a : kAliases) {
    if (EqualsIgnoreAsciiCase(a.name, name)) return a.use;
  }
  return storage::SpecialUse::kNone;
}

// --- mbox ----------------------------------------------------------------------

std::optional<storage::UnixTime> ParseFromLineDate(std::string_view line) {
  line = TrimLineEnd(line);
  if (!line.starts_with("From ")) return std::nullopt;
  auto t = Tokens(line.substr(5));
  // t[0] is the sender; find the month, then day, time, year and zones.
  for (std::size_t i = 1; i + 2 < t.size(); ++i) {
    int month = -1;
    for (int m = 0; m < 12; ++m) {
      if (EqualsIgnoreAsciiCase(t[i], kMonths[m])) month = m;
    }
    if (month < 0) continue;
    auto day = Number<unsigned>(t[i + 1]);
    if (!day || *day < 1 || *day > 31) return std::nullopt;
    std::string_view time = t[i + 2];
    auto parts = Tokens(time, ":");
    if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
    auto hh = Number<int>(parts[0]);
    auto mm = Number<int>(parts[1]);
    auto ss = parts.size() == 3 ? Number<int>(parts[2]) : std::optional<int>(0);
    if (!hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
    std::optional<std::int64_t> year;
    int zone = 0;
    for (std::size_t k = i + 3; k < t.size() && k < i + 6; ++k) {
      if (auto z = Zone(t[k])) {
        zone = *z;
      } else if (auto y = Number<int>(t[k]); y && t[k].size() == 4) {
        year = *y;
        // A zone may follow the year.
        if (k + 1 < t.size()) {
          if (auto z = Zone(t[k + 1])) zone = *z;
        }
        break;
      }
    }
    if (!year) return std::nullopt;
    std::int64_t days = DaysFromCivil(*year, static_cast<unsigned>(month + 1), *day);
    return days * 86400 + *hh * 3600 + *mm * 60 + *ss - zone * 60;
  }
  return std::nullopt;
}

std::string FormatFromLine(std::string_view sender, storage::UnixTime time) {
  std::int64_t days = time >= 0 ? time / 86400 : (time - 86399) / 86400;
  std::int64_t secs = time - days * 86400;
  // civil_from_days
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  std::int64_t wd = ((days % 7) + 7) % 7;
  char buf[64];
  std::snprintf(buf, sizeof buf, " %s %s %2u %02d:%02d:%02d %lld", kDays[wd].data(),
                kMonths[m - 1].data(), d, static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60),
                static_cast<long long>(y));
  std::string out = "From ";
  out += sender.empty() ? std::string_view("MAILER-DAEMON") : sender;
  return out + buf;
}

bool IsFromLine(std::string_view line) {
  line = TrimLineEnd(line);
  if (!line.starts_with("From ")) return false;
  std::string_view rest = line.substr(5);
  std::size_t space = rest.find(' ');
  if (space == 0 || space == std::string_view::npos) return false;
  for (std::size_t i = space; i + 5 <= rest.size(); ++i) {
    auto digit = [&](std::size_t k) { return rest[i + k] >= '0' && rest[i + k] <= '9'; };
    if (digit(0) && digit(1) && rest[i + 2] == ':' && digit(3) && digit(4)) return true;
  }
  return false;
}

MboxMeta TakeMboxMeta(std::string* message) {
  MboxMeta meta;
  std::string& m = *message;
  std::string out;
  out.reserve(m.size());
  std::size_t pos = 0;
  bool dropping = false;
  bool in_header = true;
  while (pos < m.size()) {
    std::size_t eol = m.find('\n', pos);
    std::size_t next = eol == std::string::npos ? m.size() : eol + 1;
    std::string_view raw(m.data() + pos, next - pos);
    std::string_view line = TrimLineEnd(raw);
    if (!in_header) break;
    if (line.empty()) {
      in_header = false;
      break;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (!dropping) out.append(raw);
      pos = next;
      continue;
    }
    std::size_t colon = line.find(':');
    std::string_view name = colon == std::string_view::npos ? line : line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    dropping = true;
    if (EqualsIgnoreAsciiCase(name, "Status")) {
      if (value.find('R') != std::string_view::npos) meta.flags.system |= storage::kFlagSeen;
    } else if (EqualsIgnoreAsciiCase(name, "X-Status")) {
      for (char c : value) {
        if (c == 'A') meta.flags.system |= storage::kFlagAnswered;
        if (c == 'F') meta.flags.system |= storage::kFlagFlagged;
        if (c == 'T') meta.flags.system |= storage::kFlagDraft;
        if (c == 'D') meta.flags.system |= storage::kFlagDeleted;
      }
    } else if (EqualsIgnoreAsciiCase(name, "X-Keywords")) {
      for (std::string_view k : Tokens(value, " \t,")) meta.flags.keywords.emplace_back(k);
    } else if (EqualsIgnoreAsciiCase(name, "X-UID")) {
      auto t = Tokens(value);
      if (!t.empty()) {
        if (auto v = Number<std::uint32_t>(t[0]); v && *v > 0) meta.uid = *v;
      }
    } else if (EqualsIgnoreAsciiCase(name, "X-IMAPbase")) {
      auto t = Tokens(value);
      if (t.size() >= 2) {
        auto v = Number<std::uint32_t>(t[0]);
        auto last = Number<std::uint32_t>(t[1]);
        if (v && last) {
          meta.base_uidvalidity = *v;
          meta.base_uidnext = *last + 1;
        }
      }
    } else if (EqualsIgnoreAsciiCase(name, "X-UIDL")) {
      auto t = Tokens(value);
      if (!t.empty()) meta.uidl = std::string(t[0]);
    } else {
      dropping = false;
      out.append(raw);
    }
    pos = next;
  }
  out.append(m, pos, std::string::npos);
  m = std::move(out);
  return meta;
}

std::string FormatMboxMeta(const MboxMeta& meta) {
  std::string out;
  if (meta.base_uidvalidity != 0) {
    out += "X-IMAPbase: " + std::to_string(meta.base_uidvalidity) + " " +
           std::to_string(meta.base_uidnext > 0 ? meta.base_uidnext - 1 : 0) + "\n";
  }
  out += (meta.flags.system & storage::kFlagSeen) ? "Status: RO\n" : "Status: O\n";
  std::string x;
  if (meta.flags.system & storage::kFlagAnswered) x += 'A';
  if (meta.flags.system & storage::kFlagFlagged) x += 'F';
  if (meta.flags.system & storage::kFlagDraft) x += 'T';
  if (meta.flags.system & storage::kFlagDeleted) x += 'D';
  if (!x.empty()) out += "X-Status: " + x + "\n";
  if (!meta.flags.keywords.empty()) {
    out += "X-Keywords:";
    for (const auto& k : meta.flags.keywords) out += " " + k;
    out += "\n";
  }
  if (meta.uid) out += "X-UID: " + std::to_string(*meta.uid) + "\n";
  if (!meta.uidl.empty()) out += "X-UIDL: " + meta.uidl + "\n";
  return out;
}

// Lines without an end longer than this are passed on in pieces (no From
// line is that long), so one line never holds more than this in memory.
constexpr std::size_t kMaxHeldLineBytes = 1u << 20;

void MboxParser::Feed(std::string_view data) {
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(data);
      if (partial_.size() > kMaxHeldLineBytes) {
        // A piece of a very long line: part of the current message.
        if (pending_blank_) {
          current_.bytes += pending_blank_bytes_;
          pending_blank_ = false;
        }
        if (!in_message_) {
          garbage_ += partial_.size();
        } else {
          current_.raw_size += partial_.size();
          if (!current_.too_big && current_.bytes.size() + partial_.size() > max_) {
            current_.too_big = true;
            current_.bytes.clear();
            current_.bytes.shrink_to_fit();
          }
          if (!current_.too_big) current_.bytes += partial_;
        }
        pos_ += partial_.size();
        partial_.clear();
        previous_blank_ = false;
        mid_line_ = true;
      }
      return;
    }
    if (partial_.empty()) {
      Line(data.substr(0, nl + 1));
    } else {
      partial_.append(data.substr(0, nl + 1));
      Line(partial_);
      partial_.clear();
    }
    data.remove_prefix(nl + 1);
  }
}

void MboxParser::Finish() {
  if (!partial_.empty()) {
    Line(partial_);
    partial_.clear();
  }
  if (in_message_) Emit();
  in_message_ = false;
}

void MboxParser::Line(std::string_view line) {
  const bool continuation = mid_line_;
  mid_line_ = false;
  const std::uint64_t start = pos_;
  pos_ += line.size();
  std::string_view content = TrimLineEnd(line);
  if (!continuation && (!in_message_ || previous_blank_) && IsFromLine(content)) {
    if (in_message_) Emit();
    current_ = MboxMessage{};
    current_.from_line = std::string(content);
    std::string_view sender = content.substr(5);
    sender = sender.substr(0, sender.find(' '));
    if (sender != "MAILER-DAEMON") current_.envelope_from = std::string(sender);
    current_.date = ParseFromLineDate(content);
    current_.offset = start;
    current_.raw_size = line.size();
    in_message_ = true;
    previous_blank_ = false;
    pending_blank_ = false;
    return;
  }
  if (!in_message_) {
    garbage_ += line.size();
    return;
  }
  current_.raw_size += line.size();
  auto append = [&](std::string_view piece) {
    if (current_.too_big) return;
    if (current_.bytes.size() + piece.size() > max_) {
      current_.too_big = true;
      current_.bytes.clear();
      current_.bytes.shrink_to_fit();
      return;
    }
    current_.bytes.append(piece);
  };
  if (pending_blank_) {
    append(pending_blank_bytes_);
    pending_blank_ = false;
  }
  if (content.empty() && !continuation) {
    // Held: an empty line before a From line belongs to the mbox.
    pending_blank_ = true;
    pending_blank_bytes_.assign(line);
    previous_blank_ = true;
    return;
  }
  previous_blank_ = false;
  if (!continuation) {
    std::size_t quotes = 0;
    while (quotes < content.size() && content[quotes] == '>') ++quotes;
    if (quotes > 0 && content.substr(quotes).starts_with("From ")) line.remove_prefix(1);
  }
  append(line);
}

void MboxParser::Emit() {
  // A held empty line at the end is the mbox's separator: dropped.
  pending_blank_ = false;
  previous_blank_ = false;
  sink_(std::move(current_));
  current_ = MboxMessage{};
}

std::string EscapeMboxrd(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 2);
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t eol = message.find('\n', pos);
    std::size_t next = eol == std::string_view::npos ? message.size() : eol + 1;
    std::string_view line = TrimLineEnd(message.substr(pos, next - pos));
    std::size_t quotes = 0;
    while (quotes < line.size() && line[quotes] == '>') ++quotes;
    if (line.substr(quotes).starts_with("From ")) out += '>';
    out.append(line);
    out += '\n';
    pos = next;
  }
  return out;
}

std::string ToLf(std::string_view crlf) {
  std::string out;
  out.reserve(crlf.size());
  for (std::size_t i = 0; i < crlf.size(); ++i) {
    if (crlf[i] == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n') continue;
    out += crlf[i];
  }
  return out;
}

}  // namespace pillarbox::services::mailfmt
