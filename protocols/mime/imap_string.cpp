#include "protocols/mime/imap_string.h"

namespace pillarbox::mime {

namespace {

// Quoted strings grow by one byte per quoted-special; past this many a
// literal ("{n}\r\n") is as short, so one is used (Dovecot's threshold).
constexpr int kMaxQuotedEscapes = 4;

}  // namespace

void AppendImapString(std::string* out, std::string_view s) {
  bool literal = false;
  int escapes = 0;
  std::size_t nuls = 0;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      if (++escapes > kMaxQuotedEscapes) literal = true;
    } else if (c == '\r' || c == '\n' || u >= 0x80) {
      literal = true;
    } else if (c == '\0') {
      ++nuls;
    }
  }
  if (literal) {
    out->push_back('{');
    *out += std::to_string(s.size() - nuls);
    *out += "}\r\n";
    for (char c : s) {
      if (c != '\0') out->push_back(c);
    }
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    if (c != '\0') out->push_back(c);
  }
  out->push_back('"');
}

void AppendImapNString(std::string* out, const std::optional<std::string>& s) {
  if (!s) {
    *out += "NIL";
    return;
  }
  AppendImapString(out, *s);
}

void AppendImapNStringNoLf(std::string* out, const std::optional<std::string>& s) {
  if (!s) {
    *out += "NIL";
    return;
  }
  const std::string& v = *s;
  if (v.find_first_of("\r\n") == std::string::npos) {
    AppendImapString(out, v);
    return;
  }
  std::string clean;
  clean.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c != '\r' && c != '\n') {
      clean.push_back(c);
      continue;
    }
    char next = i + 1 < v.size() ? v[i + 1] : '\0';
    if (next != ' ' && next != '\t' && next != '\r' && next != '\n' && next != '\0') {
      clean.push_back(' ');
    }
  }
  AppendImapString(out, clean);
}

}  // namespace pillarbox::mime
