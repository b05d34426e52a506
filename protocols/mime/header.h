// RFC 5322 header blocks: splitting a header into fields (with the byte
// offsets of each field in the raw message) and unfolding field values.
//
// Tolerant by design: bare LF line endings, lines without a colon (kept as
// fields without a value, like Dovecot), NUL and 8-bit bytes are all
// accepted; nothing here fails.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pillarbox::mime {

struct HeaderField {
  std::string_view name;       // as written, trailing blanks removed
  std::string_view raw_value;  // after the colon up to the field's last line
                               // ending (excluded); folding kept
  std::size_t offset = 0;      // of the field in the text given to ParseHeader
  std::size_t size = 0;        // the whole field including its last line ending
  bool has_colon = true;       // false: a broken line kept as a field
};

// Where a header block ends. `end` is the offset just past the empty line
// that ends the header (or where the text ends, when there is none).
struct HeaderBlock {
  std::vector<HeaderField> fields;
  std::size_t end = 0;
  bool truncated = false;  // fields beyond kMaxHeaderBytes/kMaxHeaderFields dropped
};

// Splits the header that starts at `start` in `text` and ends at the first
// empty line, or at `limit`. Fields that start more than `max_bytes` after
// `start` or beyond `max_fields` are not returned (the header still ends
// where it ends).
HeaderBlock ParseHeader(std::string_view text, std::size_t start, std::size_t limit,
                        std::size_t max_bytes, std::size_t max_fields);

// The unfolded value: line breaks (CRLF or LF) inside the value removed,
// the whitespace after them kept, leading whitespace removed (RFC 5322
// 2.2.3). Trailing whitespace is kept, as Dovecot does.
std::string Unfold(std::string_view raw_value);

// The first (`last`=false) or last field called `name` (case-insensitive).
const HeaderField* FindField(const std::vector<HeaderField>& fields, std::string_view name,
                             bool last = false);

}  // namespace pillarbox::mime
