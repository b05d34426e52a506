// The server side of Dovecot's authentication protocol (version 1), as
// Postfix speaks it with `smtpd_sasl_type = dovecot`: Postfix's smtpd
// relays its clients' SMTP AUTH to this session, which checks the password
// against the store. Listened on at [auth] postfix_socket.
//
//   S: VERSION 1 2 / MECH PLAIN plaintext / MECH LOGIN plaintext /
//      SPID pid / CUID n / COOKIE hex / DONE
//   C: VERSION 1 x / CPID pid
//   C: AUTH id mech service=smtp [rip=..] [secured] [resp=base64]
//   S: CONT id base64      C: CONT id base64      (LOGIN, or no resp=)
//   S: OK id user=name  |  FAIL id [temp] [reason=...]
//
// Lines end with LF; fields are separated by TAB; values use Dovecot's
// \001 escapes. Requests are answered by id, possibly out of order.
// Passwords are verified by Store::Authenticate (off the loop, in the fair
// queue of the end client's address, rip=); failures are logged as the
// other protocols log them (proto=postfix-sasl) and their answer is held
// back by the AuthThrottle. [auth] plaintext applies to the end client:
// `secured` (TLS between it and Postfix) or a loopback rip.
//
// A line that breaks the protocol (no VERSION first, an unknown command, a
// request id reused while pending, CONT for no exchange, a line over
// kMaxLineLength) closes the connection, as Dovecot does; a bad request
// gets FAIL.
//
// Threads: owner (loop) thread only. Lifetimes: as every session
// (protocols/session.h); store completions find it by id in ctx.registry.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "protocols/session.h"

namespace pillarbox::postfix {

// Dovecot documents that lines are expected to fit into 16384 bytes; a
// PLAIN response of three 255-octet fields is about 1 KB of base64.
inline constexpr std::size_t kMaxAuthLineLength = 16384;
// Requests of one connection that may wait for a password check or a CONT.
// Postfix has one at a time per smtpd process; more gets FAIL temp.
inline constexpr std::size_t kMaxPendingRequests = 16;
// Postfix keeps the connection for the life of an smtpd process (minutes).
inline constexpr std::chrono::seconds kAuthIdleTimeout{60 * 60};

struct AuthSessionOptions {
  std::uint64_t server_pid = 0;         // SPID; 0: this process's id
  std::function<std::string()> cookie;  // COOKIE; default: 32 random hex digits
};

std::unique_ptr<protocols::Session> MakeAuthSession(protocols::SessionContext& ctx,
                                                    protocols::ConnectionInfo& info,
                                                    protocols::SessionOutput& out,
                                                    AuthSessionOptions options = {});

// Dovecot's tab-escaping: \001 -> \0011, TAB -> \001t, LF -> \001n,
// CR -> \001r, NUL -> \0010; and back (an unknown escape is the character
// itself, a trailing \001 is dropped).
std::string AuthEscape(std::string_view value);
std::string AuthUnescape(std::string_view value);

}  // namespace pillarbox::postfix
