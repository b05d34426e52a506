// The Pillarbox server: one libuv loop that owns every listener, connection,
// session and timer, plus the Store (whose writer thread posts completions
// back to the loop).
//
// Threads: RunServer runs the loop on the calling thread and returns when the
// server has stopped.
#pragma once

#include "config/config.h"

namespace pillarbox::server {

// Runs the server until SIGTERM/SIGINT; returns the process exit status
// (0 after a clean shutdown, 1 on a runtime failure, 2 when the start fails:
// a listener cannot bind, the store cannot open, TLS cannot load, or
// privileges cannot be dropped). Logs the listening addresses; on a first run
// (no users) prints how to add one.
int RunServer(const config::Config& config);

}  // namespace pillarbox::server
