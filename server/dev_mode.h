// Pillarbox as a test server for mail-client developers: `serve
// --ephemeral` (a throw-away data directory, every listener on a free
// loopback port, one JSON line once it listens) and the checks and warnings
// of the [dev] keys.
//
// Threads: the main thread, before and after the server runs.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "server/listen_address.h"

namespace pillarbox::server {

// dev.auto_create_users lets anyone who reaches a listener make accounts:
// refused on a TCP listener that is not loopback unless dev.allow_remote.
// The error names the key and the listener.
Status CheckDevConfig(const config::Config& config, const std::vector<ListenerSpec>& specs);

// Logs a warning for each [dev] key that is on.
void WarnDevMode(const config::Config& config);

// A fresh directory under $TMPDIR (else /tmp), mode 0700.
Result<std::string> MakeEphemeralDataDir();

// `config` made ephemeral: data in `data_dir`, every listener (IMAP, POP3,
// each plain and implicit TLS; LMTP; SMTP; HTTP) on 127.0.0.1 port 0, no
// unix sockets, the HTTP API with a token.
void MakeEphemeral(config::Config* config, const std::string& data_dir);

// The line `serve --ephemeral` prints and --ready-file receives:
// {"ports": {...}, "token": "...", "data_dir": "..."}.
std::string ReadyJson(const std::string& ports_json, const std::string& token,
                      const std::string& data_dir);

}  // namespace pillarbox::server
