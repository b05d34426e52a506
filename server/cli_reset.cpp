// `pillarbox reset`: a test server back to empty (services::Reset).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "server/cli_internal.h"
#include "services/reset.h"

namespace pillarbox::server::cli {

int Reset(const config::Config& config, bool keep_users, bool yes) {
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  // A person at a terminal confirms; scripts (stdin not a terminal) and
  // --yes do not ask.
  if (!yes && isatty(STDIN_FILENO)) {
    std::size_t users = admin->Read()->ListUsers().size();
    std::printf(
        "This deletes all mail of the %zu users%s, and ends their open sessions. It cannot be "
        "undone.\nType \"reset\" to confirm: ",
        users, keep_users ? " (the accounts stay)" : " and the users themselves");
    std::fflush(stdout);
    char line[256];
    std::string answer = std::fgets(line, sizeof line, stdin) ? line : "";
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
    if (answer != "reset") {
      PrintError("reset: not confirmed; nothing was deleted");
      return kExitFailure;
    }
  }
  services::ResetOptions options;
  options.keep_users = keep_users;
  auto [o, result] =
      admin->Await<services::ResetResult>([&](services::Done<services::ResetResult> done) {
        services::Reset(admin->store(), options, std::move(done));
      });
  if (!o.ok()) {
    PrintError("reset: " + o.message() + InDataDir(config));
    return kExitTempFail;
  }
  if (keep_users) {
    std::printf("reset: %zu users kept with empty mailboxes\n", result.users_kept);
  } else {
    std::printf("reset: %zu users deleted\n", result.users_deleted);
  }
  return kExitOk;
}

}  // namespace pillarbox::server::cli
