#include "server/transcript.h"

#include <cctype>
#include <vector>

#include "common/strings.h"

namespace pillarbox::server {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Splits off the next space-separated word (no quoting: enough to find a
// command name and the SASL mechanism).
std::string_view NextWord(std::string_view* rest) {
  std::size_t start = rest->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *rest = {};
    return {};
  }
  rest->remove_prefix(start);
  std::size_t end = rest->find(' ');
  std::string_view word = rest->substr(0, end);
  rest->remove_prefix(end == std::string_view::npos ? rest->size() : end);
  return word;
}

// An IMAP line that ends with a literal announcement {n} / {n+} / ~{n}.
bool EndsWithLiteral(std::string_view line) {
  if (line.empty() || line.back() != '}') return false;
  std::size_t open = line.rfind('{');
  if (open == std::string_view::npos) return false;
  std::string_view inner = line.substr(open + 1, line.size() - open - 2);
  if (!inner.empty() && inner.back() == '+') inner.remove_suffix(1);
  if (inner.empty()) return false;
  for (char c : inner) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::uint64_t Transcript::HiddenLiteral(std::string_view line) const {
  if (!imap_literals_ || !EndsWithLiteral(line)) return 0;
  std::string_view inner = line.substr(line.rfind('{') + 1);
  std::uint64_t n = 0;
  for (char c : inner) {
    if (c < '0' || c > '9') break;
    if (n > (UINT64_MAX - 9) / 10) return 0;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n > kMaxShownLiteral ? n : 0;
}

std::string Transcript::Shorten(std::string_view line) { return LogSafe(line, kMaxLoggedLine); }

std::string Transcript::RedactInput(std::string_view line) {
  if (in_login_literal_) {
    // The rest of an IMAP LOGIN sent with literals.
    in_login_literal_ = EndsWithLiteral(line);
    return "***";
  }
  if (in_sasl_) return "***";
  // Dovecot's auth protocol (Postfix SASL): TAB-separated; a request keeps
  // its id and mechanism, a continuation its id.
  if (line.starts_with("AUTH\t") || line.starts_with("CONT\t")) {
    std::size_t keep = line.find('\t', 5);
    if (keep != std::string_view::npos && line.starts_with("AUTH\t")) {
      keep = line.find('\t', keep + 1);
    }
    if (keep == std::string_view::npos) return Shorten(line);
    return LogSafe(line.substr(0, keep)) + " ***";
  }

  std::string_view rest = line;
  std::string_view first = NextWord(&rest);
  // POP3 and SMTP: the command comes first.
  if (IEquals(first, "PASS")) return LogSafe(first) + " ***";
  if (IEquals(first, "APOP")) {
    std::string_view user = NextWord(&rest);
    return LogSafe(first) + " " + LogSafe(user) + " ***";
  }
  if (IEquals(first, "AUTH")) {
    std::string_view mech = NextWord(&rest);
    in_sasl_ = true;
    std::string out = LogSafe(first) + " " + LogSafe(mech);
    if (!NextWord(&rest).empty()) out += " ***";
    return out;
  }
  // IMAP: a tag, then the command.
  std::string_view second = NextWord(&rest);
  if (IEquals(second, "LOGIN")) {
    std::string out = LogSafe(first) + " " + LogSafe(second);
    std::string_view user = NextWord(&rest);
    if (!user.empty() && user.front() != '"' && user.back() != '}') {
      out += " " + LogSafe(user);
    }
    out += " ***";
    in_login_literal_ = EndsWithLiteral(line);
    return out;
  }
  if (IEquals(second, "AUTHENTICATE")) {
    std::string_view mech = NextWord(&rest);
    in_sasl_ = true;
    std::string out = LogSafe(first) + " " + LogSafe(second) + " " + LogSafe(mech);
    if (!NextWord(&rest).empty()) out += " ***";
    return out;
  }
  return Shorten(line);
}

void Transcript::NoteOutput(std::string_view line) {
  if (!in_sasl_) return;
  bool continuation =
      line == "+" || line.starts_with("+ ") || line.starts_with("334 ") || line == "334";
  if (!continuation) in_sasl_ = false;
}

}  // namespace pillarbox::server
