// Postfix's socketmap protocol (socketmap_table(5)), server side, for
// recipient validation: with `virtual_mailbox_maps =
// socketmap:unix:/path:name`, Postfix asks this session whether an address
// is deliverable before it accepts RCPT TO. Listened on at [delivery]
// socketmap_socket.
//
//   C: <len>:<name> <key>,          netstrings; any map name
//   S: <len>:OK <user>,             delivery over LMTP would accept the key
//   S: <len>:NOTFOUND ,             it would not
//   S: <len>:PERM <reason>,         the request is not "<name> <key>"
//
// The answer is smtp::RouteRecipient's in LMTP mode, the rule the LMTP
// listener applies when Postfix then delivers ([delivery] domains,
// users, subaddresses); smtp.catch_all, an SMTP-listener feature, does not
// apply to LMTP and so not here. A key without a local part ("@domain",
// Postfix's wildcard lookup) is NOTFOUND.
//
// A request whose netstring framing is broken or longer than
// kMaxSocketmapRequest closes the connection. Requests are answered in
// order; above the output high-water mark the session stops reading until
// the output drains.
//
// Threads: owner (loop) thread only; each lookup is one short read view.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "protocols/session.h"

namespace pillarbox::postfix {

// Postfix limits socketmap replies to 100000 bytes (socketmap_max_reply);
// requests, a map name and an address, get the same bound.
inline constexpr std::size_t kMaxSocketmapRequest = 100000;
// Postfix keeps a socketmap connection open while it is in use.
inline constexpr std::chrono::seconds kSocketmapIdleTimeout{60 * 60};

std::unique_ptr<protocols::Session> MakeSocketmapSession(protocols::SessionContext& ctx,
                                                         protocols::ConnectionInfo& info,
                                                         protocols::SessionOutput& out);

// "3:abc," for "abc".
std::string Netstring(std::string_view payload);

}  // namespace pillarbox::postfix
