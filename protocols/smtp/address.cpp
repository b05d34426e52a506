#include "protocols/smtp/address.h"

#include "common/strings.h"

namespace pillarbox::smtp {
namespace {

// RFC 5321 4.5.3.1.3: a path is at most 256 octets including the brackets.
constexpr std::size_t kMaxPathLength = 256;

bool IsAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  // UTF-8 (RFC 6531) bytes are let through as they are.
  if (static_cast<unsigned char>(c) >= 0x80) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
    case '.':
      return true;
    default:
      return false;
  }
}

bool IsDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || static_cast<unsigned char>(c) >= 0x80;
}

// Parses "local@domain" (no brackets). Quoted local parts keep their quotes
// in `text` and lose them in `local`.
Status ParseMailbox(std::string_view s, Address* out) {
  std::size_t i = 0;
  std::string local;
  if (!s.empty() && s[0] == '"') {
    i = 1;
    bool closed = false;
    while (i < s.size()) {
      char c = s[i];
      if (c == '\\') {
        if (i + 1 >= s.size()) return Status::InvalidArgument("bad quoted local part");
        char q = s[i + 1];
        if (static_cast<unsigned char>(q) < 32 || q == 127) {
          return Status::InvalidArgument("bad quoted local part");
        }
        local.push_back(q);
        i += 2;
        continue;
      }
      if (c == '"') {
        closed = true;
        ++i;
        break;
      }
      if (static_cast<unsigned char>(c) < 32 || c == 127) {
        return Status::InvalidArgument("bad quoted local part");
      }
      local.push_back(c);
      ++i;
    }
    if (!closed) return Status::InvalidArgument("unterminated quoted local part");
  } else {
    while (i < s.size() && s[i] != '@') {
      if (!IsAtext(s[i])) return Status::InvalidArgument("bad character in local part");
      local.push_back(s[i]);
      ++i;
    }
    if (local.empty() || local.front() == '.' || local.back() == '.' ||
        local.find("..") != std::string::npos) {
      return Status::InvalidArgument("bad local part");
    }
  }
  std::string domain;
  if (i < s.size()) {
    if (s[i] != '@') return Status::InvalidArgument("expected @ after local part");
    ++i;
    std::string_view d = s.substr(i);
    if (d.empty()) return Status::InvalidArgument("empty domain");
    if (d.front() == '[') {
      // Address literal: "[192.0.2.1]" or "[IPv6:...]".
      if (d.back() != ']' || d.size() < 3) return Status::InvalidArgument("bad address literal");
      for (char c : d.substr(1, d.size() - 2)) {
        if (static_cast<unsigned char>(c) <= 32 || c == '[' || c == ']' || c == '\\' || c == 127) {
          return Status::InvalidArgument("bad address literal");
        }
      }
    } else {
      for (char c : d) {
        if (!IsDomainChar(c)) return Status::InvalidArgument("bad character in domain");
      }
      if (d.front() == '.' || d.find("..") != std::string_view::npos) {
        return Status::InvalidArgument("bad domain");
      }
      if (d.back() == '.') d.remove_suffix(1);
      if (d.empty()) return Status::InvalidArgument("bad domain");
    }
    domain = std::string(d);
  } else if (local.empty()) {
    return Status::InvalidArgument("empty address");
  }
  out->text = std::string(s.substr(0, s.size()));
  if (!out->text.empty() && out->text.back() == '.' && !domain.empty()) out->text.pop_back();
  out->local = std::move(local);
  out->domain = std::move(domain);
  return Status::Ok();
}

// Skips a source route "@a,@b:" (RFC 5321 4.1.2: accepted and ignored).
Status SkipSourceRoute(std::string_view& s) {
  if (s.empty() || s[0] != '@') return Status::Ok();
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return Status::InvalidArgument("bad source route");
  std::string_view route = s.substr(0, colon);
  std::size_t start = 0;
  while (start <= route.size()) {
    auto comma = route.find(',', start);
    std::string_view hop = route.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (hop.size() < 2 || hop[0] != '@') return Status::InvalidArgument("bad source route");
    for (char c : hop.substr(1)) {
      if (!IsDomainChar(c)) return Status::InvalidArgument("bad source route");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  s.remove_prefix(colon + 1);
  return Status::Ok();
}

}  // namespace

Result<PathArgument> ParsePathArgument(std::string_view text, bool allow_null) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (text.empty()) return Status::InvalidArgument("missing address");
  PathArgument result;
  std::string_view path;
  std::string_view rest;
  if (text.front() == '<') {
    // Find the closing bracket, skipping quoted strings in the local part.
    std::size_t i = 1;
    bool quoted = false;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (quoted) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == '>') {
        break;
      }
    }
    if (i >= text.size()) return Status::InvalidArgument("missing '>'");
    path = text.substr(1, i - 1);
    rest = text.substr(i + 1);
    if (i + 1 > kMaxPathLength) return Status::InvalidArgument("path too long");
  } else {
    auto sp = text.find(' ');
    path = text.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : text.substr(sp);
    if (path.size() + 2 > kMaxPathLength) return Status::InvalidArgument("path too long");
  }
  if (!rest.empty() && rest.front() != ' ') return Status::InvalidArgument("garbage after address");
  if (path.empty()) {
    if (!allow_null) return Status::InvalidArgument("empty address");
    result.address.null = true;
  } else {
    PB_RETURN_IF_ERROR(SkipSourceRoute(path));
    PB_RETURN_IF_ERROR(ParseMailbox(path, &result.address));
  }
  // Parameters: esmtp-keyword ["=" esmtp-value], separated by spaces.
  std::size_t pos = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    if (pos >= rest.size()) break;
    auto end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view param = rest.substr(pos, end - pos);
    pos = end;
    auto eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (key.empty()) return Status::InvalidArgument("bad parameter");
    for (char c : key) {
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return Status::InvalidArgument("bad parameter");
    }
    if (eq != std::string_view::npos && value.empty())
      return Status::InvalidArgument("bad parameter");
    for (char c : value) {
      if (static_cast<unsigned char>(c) < 33 || c == '=' || c == 127) {
        return Status::InvalidArgument("bad parameter");
      }
    }
    std::string upper;
    for (char c : key) upper.push_back(AsciiUpper(c));
    result.parameters.emplace_back(std::move(upper), std::string(value));
  }
  return result;
}

bool DomainMatches(std::string_view domain, const std::vector<std::string>& domains) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  for (std::string_view d : domains) {
    if (!d.empty() && d.back() == '.') d.remove_suffix(1);
    if (EqualsIgnoreAsciiCase(domain, d)) return true;
  }
  return false;
}

bool SplitSubaddress(std::string_view local, std::string_view separators, std::string* user,
                     std::string* detail) {
  if (separators.empty()) return false;
  auto pos = local.find_first_of(separators);
  if (pos == std::string_view::npos || pos == 0) return false;
  *user = std::string(local.substr(0, pos));
  *detail = std::string(local.substr(pos + 1));
  return true;
}

}  // namespace pillarbox::smtp
