// Base64 (RFC 4648 section 4, standard alphabet with "=" padding) for SASL
// exchanges and other small protocol payloads.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pillarbox {

// Encodes `data` with padding, no line breaks.
std::string Base64Encode(std::string_view data);

// Decodes strict base64: the standard alphabet, length a multiple of 4,
// padding only at the end, no whitespace, and the unused bits of the last
// group zero (RFC 4648 3.5 allows rejecting non-canonical input; SASL
// exchanges must be canonical). Returns nullopt on any violation. The empty
// string decodes to the empty string.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace pillarbox
