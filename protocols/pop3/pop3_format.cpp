#include "protocols/pop3/pop3_format.h"

#include <cctype>
#include <cstring>

namespace pillarbox::pop3 {

CommandLine SplitCommand(std::string_view line) {
  CommandLine cmd;
  std::size_t sp = line.find(' ');
  std::string_view keyword = line.substr(0, sp);
  cmd.name.reserve(keyword.size());
  for (char c : keyword) cmd.name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (sp == std::string_view::npos) return cmd;
  cmd.rest = line.substr(sp + 1);
  std::size_t i = 0;
  while (i < cmd.rest.size()) {
    while (i < cmd.rest.size() && cmd.rest[i] == ' ') ++i;
    if (i >= cmd.rest.size()) break;
    std::size_t end = cmd.rest.find(' ', i);
    if (end == std::string_view::npos) end = cmd.rest.size();
    cmd.args.push_back(cmd.rest.substr(i, end - i));
    i = end;
  }
  return cmd;
}

std::optional<std::uint32_t> ParseNumber(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > 0xffffffffu) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

void DotStuffer::Append(std::string_view piece, std::string& out) {
  if (piece.empty()) return;
  out.reserve(out.size() + piece.size() + 64);
  const char* p = piece.data();
  const char* end = p + piece.size();
  while (p < end) {
    if (at_line_start_ && *p == '.') out += '.';
    const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    const char* stop = nl ? static_cast<const char*>(nl) + 1 : end;
    out.append(p, static_cast<std::size_t>(stop - p));
    at_line_start_ = nl != nullptr;
    p = stop;
  }
  any_ = true;
  last_ = piece.back();
}

void DotStuffer::Finish(std::string& out) {
  if (any_ && last_ != '\n') out += last_ == '\r' ? "\n" : "\r\n";
  out += ".\r\n";
}

std::size_t TopExtent(std::string_view message, std::uint64_t lines) {
  std::size_t body;
  if (message.starts_with("\r\n")) {
    body = 2;
  } else {
    std::size_t blank = message.find("\r\n\r\n");
    if (blank == std::string_view::npos) return message.size();
    body = blank + 4;
  }
  std::size_t pos = body;
  for (std::uint64_t i = 0; i < lines && pos < message.size(); ++i) {
    std::size_t nl = message.find('\n', pos);
    if (nl == std::string_view::npos) return message.size();
    pos = nl + 1;
  }
  return pos;
}

}  // namespace pillarbox::pop3
