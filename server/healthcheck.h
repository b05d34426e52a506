// `pillarbox healthcheck`: connects to every configured listener on loopback
// and checks that it answers with a greeting. Blocking sockets: this is a
// short-lived command, not part of the server loop.
#pragma once

#include "config/config.h"

namespace pillarbox::server {

// Connects to each configured listener (0.0.0.0 / :: are reached through
// 127.0.0.1 / ::1; unix sockets by path), does the TLS handshake first on
// implicit-TLS listeners, and reads the greeting ("* OK", "+OK", "220").
// Prints one line per listener on stdout. Returns 0 when all answered, 1
// otherwise.
int RunHealthcheck(const config::Config& config);

}  // namespace pillarbox::server
