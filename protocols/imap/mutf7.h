// Modified UTF-7 (RFC 3501 section 5.1.3): how IMAP mailbox names travel on
// the wire. The store keeps names in UTF-8; the IMAP session converts at the
// protocol boundary.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pillarbox::imap {

// Decodes a wire name into UTF-8. nullopt when `mutf7` is not valid modified
// UTF-7: 8-bit bytes or controls, an unterminated or malformed "&...-" run,
// printable ASCII encoded in base64, nonzero padding bits, or lone surrogates.
std::optional<std::string> Mutf7ToUtf8(std::string_view mutf7);

// Encodes a UTF-8 name for the wire. nullopt when `utf8` is not valid UTF-8.
std::optional<std::string> Utf8ToMutf7(std::string_view utf8);

}  // namespace pillarbox::imap
