#include "protocols/mime/binary_parts.h"

#include <algorithm>
#include <vector>

#include "common/base64.h"
#include "common/strings.h"
#include "protocols/mime/message.h"

namespace pillarbox::mime {
namespace {

// Replace raw[offset, offset + size) with `text`.
struct Edit {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::string text;
};

constexpr std::string_view kCteName = "content-transfer-encoding";
constexpr std::string_view kCteField = "Content-Transfer-Encoding: base64\r\n";

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A message header with MIME-Version or Content-Type (the parser's rule:
// mime/message.cpp).
bool IsMime(std::string_view header) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t lf = header.find('\n', pos);
    std::string_view line =
        header.substr(pos, lf == std::string_view::npos ? std::string_view::npos : lf - pos);
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name = AsciiFold(TrimRight(line.substr(0, colon)));
      if (name == "mime-version" || name == "content-type") return true;
    }
    if (lf == std::string_view::npos) break;
    pos = lf + 1;
  }
  return false;
}

bool IdentityEncoding(const std::optional<std::string>& cte) {
  if (!cte) return true;
  std::string c = AsciiFold(*cte);
  return c.empty() || c == "7bit" || c == "8bit" || c == "binary";
}

// The edit that sets the header block raw[offset, offset + size) to say
// base64: its Content-Transfer-Encoding field (with continuation lines)
// replaced, or one added before the empty line. False when the block has
// no empty line (the body cannot be told from the header).
bool HeaderEdits(std::string_view raw, std::uint64_t offset, std::uint64_t size,
                 std::vector<Edit>& edits) {
  std::string_view h = Slice(raw, offset, size);
  std::size_t blank;  // where the empty line starts
  if (h == "\r\n" || h == "\n") {
    blank = 0;
  } else if (h.ends_with("\r\n\r\n")) {
    blank = h.size() - 2;
  } else if (h.ends_with("\n\n")) {
    blank = h.size() - 1;
  } else {
    return false;
  }
  std::size_t pos = 0;
  bool replaced = false;
  while (pos < blank) {
    std::size_t end = pos;
    // A field: its first line and the continuation lines after it.
    for (;;) {
      std::size_t lf = h.find('\n', end);
      end = lf == std::string_view::npos ? blank : lf + 1;
      if (end >= blank || (h[end] != ' ' && h[end] != '\t')) break;
    }
    std::string_view field = h.substr(pos, end - pos);
    std::size_t colon = field.find(':');
    if (colon != std::string_view::npos &&
        AsciiFold(TrimRight(field.substr(0, colon))) == kCteName) {
      edits.push_back({offset + pos, end - pos, replaced ? "" : std::string(kCteField)});
      replaced = true;
    }
    pos = end;
  }
  if (!replaced) edits.push_back({offset + blank, 0, std::string(kCteField)});
  return true;
}

std::string Base64Lines(std::string_view data) {
  std::string flat = Base64Encode(data);
  std::string out;
  out.reserve(flat.size() + flat.size() / kBase64LineLength * 2 + 2);
  for (std::size_t i = 0; i < flat.size(); i += kBase64LineLength) {
    if (i > 0) out += "\r\n";
    out.append(flat, i, kBase64LineLength);
  }
  return out;
}

// `message`: `part` is a message (the top level or one embedded in a
// message/rfc822 part), not a body part of a multipart.
void Collect(std::string_view raw, const Part& part, bool message, std::vector<Edit>& edits) {
  if (part.IsMultipart() || part.IsMessageRfc822()) {
    for (const Part& child : part.children) {
      Collect(raw, child, part.IsMessageRfc822(), edits);
    }
    return;
  }
  // A message without MIME fields is not MIME (RFC 2045 4): a
  // Content-Transfer-Encoding would mean nothing in it.
  if (message && !IsMime(Slice(raw, part.header_offset, part.header_size))) return;
  if (part.truncated || !IdentityEncoding(part.encoding)) return;
  std::string_view body = Slice(raw, part.body_offset, part.body_size);
  if (body.find('\0') == std::string_view::npos) return;
  if (!HeaderEdits(raw, part.header_offset, part.header_size, edits)) return;
  std::string text = Base64Lines(body);
  edits.push_back({part.body_offset, body.size(), std::move(text)});
}

}  // namespace

std::optional<std::string> EncodeBinaryParts(std::string_view raw) {
  if (raw.find('\0') == std::string_view::npos) return std::nullopt;
  Part root = ParseMessage(raw);
  std::vector<Edit> edits;
  Collect(raw, root, true, edits);
  if (edits.empty()) return std::nullopt;
  std::stable_sort(edits.begin(), edits.end(),
                   [](const Edit& a, const Edit& b) { return a.offset < b.offset; });
  std::string out;
  std::uint64_t at = 0;
  for (const Edit& e : edits) {
    if (e.offset < at) continue;  // overlapping (cannot happen with a sane tree)
    out.append(raw.substr(at, e.offset - at));
    out += e.text;
    at = e.offset + e.size;
  }
  out.append(raw.substr(std::min<std::uint64_t>(at, raw.size())));
  return out;
}

}  // namespace pillarbox::mime
