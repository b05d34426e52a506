#include <cctype>

#include "storage/store.h"

namespace pillarbox::storage {
namespace {

// RFC 5321 4.5.3.1.1: a local part is at most 64 octets; a name with a
// domain is kept within the same bound so that it fits every table column.
constexpr std::size_t kMaxUserNameChars = 64;

bool Alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

}  // namespace

Status ValidateUserName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid user name \"" + std::string(name) + "\": " + why);
  };
  if (name.empty()) return bad("empty");
  if (name.size() > kMaxUserNameChars) {
    return bad("longer than " + std::to_string(kMaxUserNameChars) + " characters");
  }
  std::size_t at = name.find('@');
  std::string_view local = name.substr(0, at);
  std::string_view domain = at == std::string_view::npos ? "" : name.substr(at + 1);
  for (char c : local) {
    if (c == '+') return bad("'+' is the subaddress separator (alice+tag@ reaches alice)");
    if (!Alnum(c) && c != '.' && c != '_' && c != '-') {
      return bad("use letters, digits, '.', '_' and '-' (and one '@' before a domain)");
    }
  }
  auto edges_ok = [](std::string_view s) {
    return !s.empty() && s.front() != '.' && s.front() != '-' && s.back() != '.' && s.back() != '-';
  };
  if (!edges_ok(local)) return bad("must start and end with a letter, digit or '_'");
  if (local.find("..") != std::string_view::npos) return bad("two dots in a row");
  if (at != std::string_view::npos) {
    for (char c : domain) {
      if (!Alnum(c) && c != '.' && c != '-') {
        return bad("the domain after '@' takes letters, digits, '.' and '-'");
      }
    }
    if (!edges_ok(domain) || domain.find("..") != std::string_view::npos) {
      return bad("the domain after '@' is not a domain name");
    }
  }
  return Status::Ok();
}

}  // namespace pillarbox::storage
