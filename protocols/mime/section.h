// BODY[section] addressing (RFC 3501 section 6.4.5) over a parsed structure:
// which bytes of the raw message a section names, or, for
// HEADER.FIELDS[.NOT], the filtered header. Part numbers are resolved the
// way Dovecot does (lib-imap-storage/imap-msgpart.c):
//  - in a multipart, n is its n-th body part;
//  - a non-multipart has only part 1 (itself); a path may continue past it
//    only when it is message/rfc822;
//  - after a message/rfc822 part, further numbers address the parts of the
//    embedded message ("2.1" is the first part of the message in part 2, or
//    its body when that message is not multipart);
//  - n.MIME is part n's own MIME header; n.HEADER, n.TEXT and
//    n.HEADER.FIELDS[.NOT] need part n to be message/rfc822 and address the
//    embedded message; [n] alone is part n's body; [] the whole message.
// A part that does not exist is reported as not found (FETCH answers with
// an empty string, as Dovecot does).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/mime/message.h"

namespace pillarbox::mime {

struct SectionSpec {
  enum class Text : std::uint8_t {
    kNone,             // [] or [1.2]: the whole message / the part's body
    kHeader,           // HEADER
    kHeaderFields,     // HEADER.FIELDS (list)
    kHeaderFieldsNot,  // HEADER.FIELDS.NOT (list)
    kText,             // TEXT
    kMime,             // MIME (only after a part number)
  };
  std::vector<std::uint32_t> part;  // "1.2.3" -> {1, 2, 3}; empty: the message
  Text text = Text::kNone;
  std::vector<std::string> fields;  // header field names, as given
  bool operator==(const SectionSpec&) const = default;
};

// Parses what stands between "[" and "]": "", "1.2", "HEADER", "TEXT",
// "1.MIME", "HEADER.FIELDS (From To)", "2.HEADER.FIELDS.NOT (\"X-A\" B)".
// Keywords are case-insensitive; field names may be atoms or quoted
// strings. nullopt on a syntax error (the caller answers BAD).
std::optional<SectionSpec> ParseSectionSpec(std::string_view text);

// The part that a part number path names (the rules above), or nullptr.
// An empty path names the root.
const Part* FindPart(const Part& root, const std::vector<std::uint32_t>& path);

struct SectionContent {
  bool found = false;        // false: no such part (content empty)
  bool synthesized = false;  // true: `bytes` holds the content
  std::uint64_t offset = 0;  // else: raw[offset, offset + size)
  std::uint64_t size = 0;
  std::string bytes;

  // The content's bytes. REQUIRES: `raw` is the message resolved against.
  std::string_view View(std::string_view raw) const {
    return synthesized ? std::string_view(bytes) : Slice(raw, offset, size);
  }
};

// Resolves `spec` against the structure `root` of the message `raw`.
SectionContent ResolveSection(std::string_view raw, const Part& root, const SectionSpec& spec);

// The header fields of `header` (a whole header block, as in
// BODY[HEADER]) whose names are (include=true) or are not (include=false)
// in `names` (case-insensitive), each as written, followed by the empty
// line (RFC 3501: the subset is followed by the blank line).
std::string FilterHeaderFields(std::string_view header, const std::vector<std::string>& names,
                               bool include);

// IMAP literals cannot carry NUL (RFC 3501 4.3; only BINARY's literal8 can):
// like Dovecot, FETCH BODY[...] sends each NUL byte as 0x80. Replaces them in
// place in a chunk about to be sent.
inline void ReplaceNulsForLiteral(char* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\0') data[i] = static_cast<char>(0x80);
  }
}

}  // namespace pillarbox::mime
