// Settings as the services see them: the retention rules the store enforces,
// and where a user's effective POP3 delete mode comes from (for `journal`,
// `views` and the HTTP API). A user's effective configuration itself is
// config::UserConfig, which sessions call at login.
//
// Threads: any (pure, apart from reading the process environment).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "storage/store.h"

namespace pillarbox::services {

// retention.expire_after as the store's rules (config::ParseExpireRules).
Result<std::vector<storage::RetentionRule>> RetentionRules(const config::Config& config);

// What a POP3 login of a user gets as delete mode, and from where.
struct DeleteModeInEffect {
  std::string mode;    // "hide", "move:Archive", ...
  std::string source;  // "user", "env", "config", "default"
  // "hide (user override: pillarbox user set)".
  std::string Describe() const;
};
// Resolved through config::UserConfig, as a login resolves it. The
// environment is this process's: the server's is the same under Docker and
// systemd units that share one environment file.
DeleteModeInEffect DeleteModeOf(const config::Config& config, const storage::UserRecord& user);

}  // namespace pillarbox::services
