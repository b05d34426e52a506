// GET /api/v1/events: a Server-Sent Events stream of what the store
// committed — deliveries, flag changes, expunges, hides and moves, every
// other journal event, and sessions starting and ending — optionally for one
// user (?user=NAME).
//
// The stream reads the journal (which every commit path writes, the CLI's
// in another process too) and the live-session table in one short read
// view, and writes everything new in one piece. It reads when the store's
// change bus says that a mailbox of a user it shows changed (a commit in
// this process, or one of another process that the server's external-change
// poll found), coalesced over kEventCoalesce: under LMTP at full speed a
// browser gets a few large writes a second, not one per message. Commits
// that touch no mailbox are invisible to the bus: a pending or aborted POP3
// DELE (journal only), sessions starting and ending (the live-session
// table), a new user; for those the stream also reads every kEventPoll.
// A browser that does not read is not waited for: past kMaxEventBacklog of
// unsent output its connection is closed (EventSource reconnects and the
// console reloads what it shows).
//
// Threads: the loop thread. The stream's state lives in the closures of its
// timers and bus subscriptions; they end with the connection.
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"
#include "protocols/http/http_session.h"

namespace pillarbox::server {

// How long a stream waits after the change bus woke it before it reads, so
// that the commits of a burst go out in one write.
inline constexpr std::chrono::milliseconds kEventCoalesce{50};
// How often a stream reads what the change bus cannot report (see above):
// "within a second" for the console.
inline constexpr std::chrono::milliseconds kEventPoll{1000};
// Output a slow browser may leave unread before its stream is closed.
inline constexpr std::size_t kMaxEventBacklog = 1u << 20;
// Journal events read per user per read; more mean the stream fell behind:
// it says "overflow" and the console reloads.
inline constexpr std::size_t kMaxEventsPerTick = 5000;
// A comment line this often keeps proxies and NAT from closing a quiet stream.
inline constexpr std::chrono::seconds kEventKeepalive{15};

// Answers the current request of `session` with the stream. `user`: only
// that user's events (empty: everyone's).
void StartEventStream(http::HttpSession& session, const config::Config& config, std::string user);

}  // namespace pillarbox::server
