#include "protocols/mime/header.h"

#include <cstring>

#include "common/strings.h"

namespace pillarbox::mime {

namespace {

// Offset just past the line that starts at `pos` (after its LF, or `limit`).
std::size_t LineEnd(std::string_view text, std::size_t pos, std::size_t limit) {
  const void* nl = std::memchr(text.data() + pos, '\n', limit - pos);
  if (nl == nullptr) return limit;
  return static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) + 1;
}

bool IsBlankLine(std::string_view text, std::size_t pos, std::size_t line_end) {
  std::size_t len = line_end - pos;
  if (len == 0) return false;  // end of text, not a line
  if (text[line_end - 1] != '\n') return false;
  return len == 1 || (len == 2 && text[pos] == '\r');
}

// Length of the line break at the end of [pos, end): 2 for CRLF, 1 for LF, 0.
std::size_t BreakLength(std::string_view text, std::size_t pos, std::size_t end) {
  if (end > pos && text[end - 1] == '\n') {
    return (end - 1 > pos && text[end - 2] == '\r') ? 2 : 1;
  }
  return 0;
}

}  // namespace

HeaderBlock ParseHeader(std::string_view text, std::size_t start, std::size_t limit,
                        std::size_t max_bytes, std::size_t max_fields) {
  HeaderBlock block;
  if (limit > text.size()) limit = text.size();
  std::size_t pos = start;
  bool in_field = false;  // the last field in block.fields may still continue
  while (pos < limit) {
    std::size_t line_end = LineEnd(text, pos, limit);
    if (IsBlankLine(text, pos, line_end)) {
      block.end = line_end;
      return block;
    }
    char first = text[pos];
    if ((first == ' ' || first == '\t') && in_field) {
      // Continuation of the previous field.
      HeaderField& f = block.fields.back();
      f.size = line_end - f.offset;
      std::size_t value_start = static_cast<std::size_t>(f.raw_value.data() - text.data());
      f.raw_value =
          text.substr(value_start, line_end - BreakLength(text, pos, line_end) - value_start);
    } else if (pos - start >= max_bytes || block.fields.size() >= max_fields) {
      block.truncated = true;
      in_field = false;
    } else {
      HeaderField f;
      f.offset = pos;
      f.size = line_end - pos;
      std::size_t content_end = line_end - BreakLength(text, pos, line_end);
      std::string_view line = text.substr(pos, content_end - pos);
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        f.name = line;
        f.raw_value = text.substr(content_end, 0);
        f.has_colon = false;
      } else {
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
          name.remove_suffix(1);
        }
        f.name = name;
        f.raw_value = line.substr(colon + 1);
      }
      block.fields.push_back(f);
      in_field = true;
    }
    pos = line_end;
  }
  block.end = limit;
  return block;
}

std::string Unfold(std::string_view raw_value) {
  std::size_t i = 0;
  while (i < raw_value.size() && (raw_value[i] == ' ' || raw_value[i] == '\t' ||
                                  raw_value[i] == '\r' || raw_value[i] == '\n')) {
    ++i;
  }
  std::string_view rest = raw_value.substr(i);
  std::size_t brk = rest.find_first_of("\r\n");
  if (brk == std::string_view::npos) return std::string(rest);  // not folded
  std::string out(rest.substr(0, brk));
  out.reserve(rest.size());
  for (std::size_t k = brk; k < rest.size(); ++k) {
    char c = rest[k];
    if (c == '\n') continue;
    if (c == '\r' && k + 1 < rest.size() && rest[k + 1] == '\n') continue;
    out.push_back(c);
  }
  return out;
}

const HeaderField* FindField(const std::vector<HeaderField>& fields, std::string_view name,
                             bool last) {
  const HeaderField* found = nullptr;
  for (const HeaderField& f : fields) {
    if (f.has_colon && EqualsIgnoreAsciiCase(f.name, name)) {
      found = &f;
      if (!last) break;
    }
  }
  return found;
}

}  // namespace pillarbox::mime
