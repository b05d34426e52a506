// Where the server keeps its files under [server] data_dir. The CLI opens the
// same store, so both must use these functions.
//
//   <data_dir>/store/         the LMDB environment (storage::StoreOptions::dir)
//   <data_dir>/tls/cert.pem   generated self-signed certificate (no [tls] cert)
//   <data_dir>/tls/key.pem    its private key, mode 0600
//   <data_dir>/tmp/           LMTP/SMTP messages being received, beyond 1 MiB
//                             (anonymous files: nothing stays there; made by
//                             protocols/smtp, storage::SpillFile)
//   <data_dir>/pillarbox.lock held (flock) by the running server; its pid
#pragma once

#include <string>

#include "config/config.h"

namespace pillarbox::server {

inline std::string StoreDir(const config::Config& config) {
  return config.server.data_dir + "/store";
}

inline std::string LockFile(const std::string& data_dir) { return data_dir + "/pillarbox.lock"; }

inline std::string GeneratedTlsDir(const config::Config& config) {
  return config.server.data_dir + "/tls";
}

}  // namespace pillarbox::server
