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

namespace pillarbox::storage {

std::string FormatUidl(std::uint64_t guid);

}  // namespace pillarbox::storage
