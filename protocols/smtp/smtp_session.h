// SMTP receive (RFC 5321) and LMTP (RFC 2033): one session class with a mode.
//
// Local delivery only: recipients map to Pillarbox users; nothing is ever
// relayed. Each accepted message is stored with one Store::Append per
// recipient sharing one byte buffer (one blob, N references), and the
// client hears 250 only after the durable commit: in LMTP one reply per
// accepted recipient, in RCPT order; in SMTP one reply for the message.
// protocols/smtp/README.md records the protocol choices.
//
// Threads: owner (loop) thread only. Lifetimes: ctx, info and out must
// outlive the session; store completions look the session up by id in
// ctx.registry and are dropped once it is gone.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "protocols/session.h"
#include "storage/types.h"

namespace pillarbox::smtp {

// RFC 5321 4.5.3.2.7: a server should wait at least 5 minutes for a command.
inline constexpr std::chrono::seconds kIdleTimeout{5 * 60};

// Hooks for tests; the defaults are the wall clock and random ids.
struct SessionOptions {
  std::function<storage::UnixTime()> now;  // for the Received date
  std::function<std::string()> make_id;    // transaction id in Received and replies
};

std::unique_ptr<protocols::Session> MakeSession(protocols::SessionContext& ctx,
                                                protocols::ConnectionInfo& info,
                                                protocols::SessionOutput& out, bool lmtp);

std::unique_ptr<protocols::Session> MakeSession(protocols::SessionContext& ctx,
                                                protocols::ConnectionInfo& info,
                                                protocols::SessionOutput& out, bool lmtp,
                                                SessionOptions options);

}  // namespace pillarbox::smtp
