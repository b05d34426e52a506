// Decoders for SEARCH, the journal and display: content transfer encodings
// (quoted-printable, base64), RFC 2047 encoded words, RFC 2231 parameter
// values, and charset conversion to UTF-8 (glibc iconv: UTF-8, US-ASCII,
// ISO-8859-*, Windows-125x, KOI8-*, ISO-2022-JP, GB2312, Big5, ... whatever
// the C library knows).
//
// All decoders are tolerant: malformed input yields the best text that can
// be recovered, never an error. Bytes that are not valid in their charset
// become U+FFFD. The output is always valid UTF-8.
//
// Thread-safety: pure functions (iconv descriptors are opened per call).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/mime/message.h"

namespace pillarbox::mime {

// The value of one hexadecimal digit (either case), or -1.
int HexValue(char c);
// The value of one character of the base64 alphabet (RFC 2045 6.8), or -1.
int Base64Value(unsigned char c);

// Quoted-printable (RFC 2045 6.7): soft line breaks removed, =XX decoded,
// whitespace at line ends dropped, malformed "=" sequences kept literally.
std::string DecodeQuotedPrintable(std::string_view in);

// Base64 (RFC 2045 6.8), tolerant: characters outside the alphabet are
// skipped, decoding stops at padding, a final partial group is decoded as
// far as it goes.
std::string DecodeBase64(std::string_view in);

// The body of a part with its Content-Transfer-Encoding undone
// (base64, quoted-printable; anything else as is).
std::string DecodeTransferEncoding(std::string_view body, const std::optional<std::string>& cte);

// `bytes` in `charset` converted to UTF-8. Unknown charsets are treated as
// UTF-8; invalid sequences become U+FFFD.
std::string ConvertToUtf8(std::string_view bytes, std::string_view charset);

// Replaces invalid UTF-8 sequences (and NUL) with U+FFFD.
std::string SanitizeUtf8(std::string_view bytes);

// A header field value (raw or unfolded) for people and SEARCH: unfolded,
// RFC 2047 encoded words decoded (whitespace between adjacent encoded words
// dropped; adjacent words in one charset joined before conversion, so a
// character split across words survives), other text taken as UTF-8.
std::string DecodeHeaderValue(std::string_view value);

// The value of parameter `name` for display: an RFC 2231 "name*" value
// (charset'language'%XX) decoded to UTF-8, else the plain value with any
// RFC 2047 encoded words decoded (a common violation). nullopt if absent.
std::optional<std::string> DecodedParam(const std::vector<Param>& params, std::string_view name);

// The text of one part for SEARCH BODY/TEXT: for text/* parts (and parts
// without Content-Type) the body with its transfer encoding undone and
// converted from its charset to UTF-8; empty for other parts.
// `raw` is the whole message the part was parsed from.
std::string PartSearchText(std::string_view raw, const Part& part);

// The decoded text of every text part of the message, embedded messages
// included, each followed by "\n".
std::string MessageSearchText(std::string_view raw, const Part& root);

// ConvertToUtf8 piece by piece, for text too large to convert at once: the
// concatenated outputs of Convert() equal ConvertToUtf8 of the concatenated
// inputs. A multi-byte character cut between two pieces is held back until
// the next one; `last` flushes. Holds an iconv descriptor for charsets other
// than UTF-8, US-ASCII and ISO-8859-1. Not copyable; one thread at a time.
class Utf8Converter {
 public:
  explicit Utf8Converter(std::string_view charset);
  ~Utf8Converter();
  Utf8Converter(const Utf8Converter&) = delete;
  Utf8Converter& operator=(const Utf8Converter&) = delete;

  std::string Convert(std::string_view bytes, bool last);

 private:
  enum class Mode { kUtf8, kLatin1, kIconv };
  Mode mode_ = Mode::kUtf8;
  void* cd_ = nullptr;  // iconv_t in kIconv mode
  std::string carry_;   // bytes of a character cut off at the end of a piece
};

// Every occurrence of header field `name` in the header of `part` (a
// message: the root or an embedded message), decoded with
// DecodeHeaderValue, in order.
std::vector<std::string> DecodedHeaderValues(std::string_view raw, const Part& part,
                                             std::string_view name);

}  // namespace pillarbox::mime
