// Binary content in an appended message (IMAP APPEND with a literal8,
// RFC 3516): a body part that holds NUL bytes in an identity encoding
// (binary, 8bit, 7bit or none) cannot be sent in an IMAP literal as
// BODY[...] or over POP3. Such parts are re-encoded as base64 when the
// message is stored (RFC 3516 section 4.3 lets the server change the
// encoding; Dovecot converts them when fetched): BINARY[...] then decodes
// them back to the exact bytes given, and everything else sees a valid
// MIME message. The rest of the message is kept byte for byte.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pillarbox::mime {

// Base64 lines (RFC 2045 6.8) are at most this long.
inline constexpr std::size_t kBase64LineLength = 76;

// The message with every leaf part (at any depth, message/rfc822 parts
// included) whose body holds NUL in an identity encoding re-encoded as
// base64, its Content-Transfer-Encoding field set to base64. A message
// that is not MIME (no MIME-Version or Content-Type) is left as it is.
// nullopt when no part needed it.
std::optional<std::string> EncodeBinaryParts(std::string_view raw);

}  // namespace pillarbox::mime
