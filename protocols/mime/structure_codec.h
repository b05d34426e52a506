// The compact byte form of a parsed message structure, stored once per blob
// (storage "structure" db) and read back by FETCH and SEARCH.
//
// Format (version 1): the byte 0x01, then the root part. A part is
//   varint header_offset, header_size, body_size, body_lines
//   u8 flags (1 multipart, 2 truncated, 4 envelope, 8 id, 16 description,
//             32 encoding, 64 md5, 128 disposition)
//   u8 flags2 (1 location)
//   str type, str subtype, params, [str id] [str description] [str encoding]
//   [str md5] [str disposition, params] languages [str location]
//   [envelope] varint child count, children
// where str is varint length + bytes, params is varint count + (str, str)
// pairs, languages is varint count + strs, and an envelope is u8 presence
// bits (1 date, 2 subject, 4 in-reply-to, 8 message-id), the present strs
// in that order, then six address lists (from sender reply-to to cc bcc),
// each varint count + (u8 kind, u8 presence bits name/route/mailbox/host,
// present strs). Varints are LEB128 (7 bits per byte, low first).
//
// Deserialization checks every length against the input and the nesting
// and part limits, and returns kCorruption for anything malformed.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "protocols/mime/message.h"

namespace pillarbox::mime {

std::string SerializeStructure(const Part& root);
Result<Part> DeserializeStructure(std::string_view bytes);

}  // namespace pillarbox::mime
