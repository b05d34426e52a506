// GET /api/v1/events: a Server-Sent Events stream of what the store
// committed — deliveries, flag changes, expunges, hides and moves, every
// other journal event, and sessions starting and ending — optionally for one
// user (?user=NAME).
//
// The stream reads the journal (which every commit path writes, the CLI's
// in another process too) and the live-session table in one short read
// view per tick (kEventTick), and writes everything new of a tick in one
// piece: under LMTP at full speed a browser gets a few large writes a
// second, not one per message. A browser that does not read is not
// waited for: past kMaxEventBacklog of unsent output its connection is
// closed (EventSource reconnects and the console reloads what it shows).
//
// Threads: the loop thread. The stream's state lives in its timer's closure
// and dies with the connection (timers are cancelled with it).
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"
#include "protocols/http/http_session.h"

namespace pillarbox::server {

// How often a stream looks for new events ("within a second" for the
// console, with room to spare).
inline constexpr std::chrono::milliseconds kEventTick{200};
// Output a slow browser may leave unread before its stream is closed.
inline constexpr std::size_t kMaxEventBacklog = 1u << 20;
// Journal events read per user per tick; more mean the stream fell behind:
// it says "overflow" and the console reloads.
inline constexpr std::size_t kMaxEventsPerTick = 5000;
// A comment line this often keeps proxies and NAT from closing a quiet stream.
inline constexpr std::chrono::seconds kEventKeepalive{15};

// Answers the current request of `session` with the stream. `user`: only
// that user's events (empty: everyone's).
void StartEventStream(http::HttpSession& session, const config::Config& config, std::string user);

}  // namespace pillarbox::server
