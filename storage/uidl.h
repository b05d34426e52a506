// The POP3 unique-id (UIDL) of a message: its store-wide GUID as 16 lowercase
// hex digits. Shared by the POP3 session and the admin CLI so both always
// show the same id. The GUID survives restarts and MOVE, so a client's
// "leave messages on server" list stays valid (RFC 1939 7: 1..70 characters
// in 0x21..0x7E).
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/types.h"

namespace pillarbox::storage {

std::string FormatUidl(std::uint64_t guid);

// The UIDL POP3 shows for `message`: its imported pop3_uidl when it has one,
// else FormatUidl(guid).
std::string MessageUidl(const MessageRecord& message);

// True when `uidl` is a valid POP3 unique-id: 1..70 characters in 0x21..0x7E
// (RFC 1939 7).
bool IsValidUidl(std::string_view uidl);

}  // namespace pillarbox::storage
