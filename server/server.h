// The Pillarbox server: one libuv loop that owns every listener, connection,
// session and timer, plus the Store (whose writer thread posts completions
// back to the loop).
//
// Threads: RunServer runs the loop on the calling thread and returns when the
// server has stopped.
#pragma once

#include <string>

#include "common/status.h"
#include "config/config.h"
#include "server/server_loop.h"

namespace pillarbox::server {

// The exit status of a server that could not start.
constexpr int kExitStartFailed = 2;

// What `serve` checks before it binds anything, and `check-config` too:
// listen addresses, retention rules, and a configured TLS certificate and key
// (readable, PEM, matching). Errors are one sentence naming the key.
// The sessions of every protocol, as `serve` runs them.
Server::Factories ProtocolFactories();

Status CheckServeConfig(const config::Config& config);

// Takes the exclusive lock of `data_dir` (created when missing): flock on
// <data_dir>/pillarbox.lock, which then holds this process's pid. Returns the
// file descriptor that holds the lock; InUse naming the holder's pid when
// another server has it. Command-line tools do not take it.
Result<int> LockDataDir(const std::string& data_dir);

// Runs the server until SIGTERM/SIGINT; returns the process exit status
// (0 after a clean shutdown, 1 on a runtime failure, 2 when the start fails:
// another server holds the data directory, a listener cannot bind, the store
// cannot open, TLS cannot load, or privileges cannot be dropped). Logs the listening addresses; on
// a first run (no users) prints how to add one.
// `ports_file`, when not empty, receives Server::PortsJson() once every
// listener is bound (written to a temporary name, then renamed), so that a
// caller that asked for port 0 learns the real ports.
// `ready_file`, when not empty, receives ReadyJson() (the ports, the HTTP
// token, the data directory) the same way; `ready_stdout` prints it as one
// line on stdout (`serve --ephemeral`).
struct ServeOptions {
  std::string ports_file;
  std::string ready_file;
  bool ready_stdout = false;
};
int RunServer(const config::Config& config, const ServeOptions& options = {});

// Writes `contents` to `path` atomically (a temporary file, then rename).
Status WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace pillarbox::server
