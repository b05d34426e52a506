#include "protocols/mime/date.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/strings.h"

namespace pillarbox::mime {

namespace {

constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::string_view kWeekdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

struct ZoneName {
  std::string_view name;
  int minutes;
};
constexpr ZoneName kZones[] = {
    {"ut", 0},        {"utc", 0},       {"gmt", 0},       {"z", 0},         {"edt", -4 * 60},
    {"est", -5 * 60}, {"cdt", -5 * 60}, {"cst", -6 * 60}, {"mdt", -6 * 60}, {"mst", -7 * 60},
    {"pdt", -7 * 60}, {"pst", -8 * 60}, {"bst", 60},      {"cet", 60},      {"cest", 120},
    {"met", 60},      {"mest", 120},    {"eet", 120},     {"eest", 180},    {"wet", 0},
    {"west", 60},     {"jst", 9 * 60},  {"ist", 330},     {"msk", 180},
};

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool AllAlpha(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    char l = AsciiLower(c);
    if (l < 'a' || l > 'z') return false;
  }
  return true;
}

int Number(std::string_view s) {
  int v = 0;
  for (char c : s) {
    if (v > 100000) break;
    v = v * 10 + (c - '0');
  }
  return v;
}

// 1..12 for a month name or abbreviation, else 0.
int MonthOf(std::string_view s) {
  if (s.size() < 3) return 0;
  std::string l = AsciiFold(s);
  for (int i = 0; i < 12; ++i) {
    if (l.compare(0, 3, kMonths[i]) == 0) return i + 1;
  }
  return 0;
}

bool IsWeekday(std::string_view s) {
  if (s.size() < 3) return false;
  std::string l = AsciiFold(s);
  for (std::string_view d : kWeekdays) {
    if (l.compare(0, 3, d) == 0) return true;
  }
  return false;
}

// Splits on blanks and commas, dropping comments.
std::vector<std::string> Tokens(std::string_view v) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : v) {
    if (c == '(') {
      ++depth;
      continue;
    }
    if (c == ')' && depth > 0) {
      --depth;
      continue;
    }
    if (depth > 0) continue;
    if (c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    cur.push_back(c);
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool ParseTime(std::string_view s, int* h, int* m, int* sec) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ':') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() < 2 || parts.size() > 3) return false;
  for (std::string_view p : parts) {
    if (!AllDigits(p) || p.size() > 2) return false;
  }
  *h = Number(parts[0]);
  *m = Number(parts[1]);
  *sec = parts.size() == 3 ? Number(parts[2]) : 0;
  if (*h > 23 || *m > 59 || *sec > 60) return false;
  if (*sec == 60) *sec = 59;  // leap second
  return true;
}

}  // namespace

std::optional<ParsedDate> ParseRfc5322Date(std::string_view value) {
  std::vector<std::string> tokens = Tokens(value);
  int day = -1, month = 0, year = -1, hour = 0, minute = 0, second = 0;
  bool have_time = false, have_zone = false;
  int zone = 0;
  for (std::string& t : tokens) {
    std::string_view s = t;
    // "2-Jan-2006" (also seen in Date: headers).
    if (day < 0 && std::count(t.begin(), t.end(), '-') == 2 && AllDigits(s.substr(0, 1))) {
      std::size_t a = t.find('-');
      std::size_t b = t.find('-', a + 1);
      std::string_view d = s.substr(0, a), mo = s.substr(a + 1, b - a - 1), y = s.substr(b + 1);
      if (AllDigits(d) && MonthOf(mo) != 0 && AllDigits(y)) {
        day = Number(d);
        month = MonthOf(mo);
        year = Number(y);
        if (y.size() == 2) year += year < 50 ? 2000 : 1900;
        if (y.size() == 3) year += 1900;
        continue;
      }
    }
    if (!have_time && s.find(':') != std::string_view::npos) {
      // "10:00:00+0100" glued together happens too.
      std::size_t sign = s.find_first_of("+-");
      std::string_view time = s.substr(0, sign);
      if (!ParseTime(time, &hour, &minute, &second)) return std::nullopt;
      have_time = true;
      if (sign == std::string_view::npos) continue;
      s = s.substr(sign);
    }
    if ((s[0] == '+' || s[0] == '-') && s.size() == 5 && AllDigits(s.substr(1))) {
      if (!have_zone) {
        int hh = Number(s.substr(1, 2)), mm = Number(s.substr(3, 2));
        if (mm < 60) {
          zone = (hh * 60 + mm) * (s[0] == '-' ? -1 : 1);
          have_zone = true;
        }
      }
      continue;
    }
    if (AllAlpha(s)) {
      if (month == 0 && MonthOf(s) != 0) {
        int m = MonthOf(s);
        // Only accept a full word that starts like a month ("March").
        std::string l = AsciiFold(s);
        if (s.size() == 3 || l.find(std::string(kMonths[m - 1])) == 0) {
          month = m;
          continue;
        }
      }
      if (IsWeekday(s)) continue;
      if (!have_zone) {
        std::string l = AsciiFold(s);
        for (const ZoneName& z : kZones) {
          if (l == z.name) {
            zone = z.minutes;
            have_zone = true;
            break;
          }
        }
        // Military zones and unknown names: RFC 5322 4.3 says -0000.
        if (!have_zone) have_zone = true;
      }
      continue;
    }
    if (AllDigits(s)) {
      if (day < 0 && s.size() <= 2) {
        day = Number(s);
      } else if (year < 0) {
        year = Number(s);
        if (s.size() == 2) year += year < 50 ? 2000 : 1900;
        if (s.size() == 3) year += 1900;
      }
      continue;
    }
    // Anything else is ignored ("Mon." and other noise).
  }
  if (day < 1 || day > 31 || month == 0 || year < 1 || year > 9999) return std::nullopt;
  std::int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  ParsedDate out;
  out.zone_minutes = zone;
  out.utc = days * 86400 + hour * 3600 + minute * 60 + second - std::int64_t{zone} * 60;
  return out;
}

}  // namespace pillarbox::mime
