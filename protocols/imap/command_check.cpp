// CHECK (RFC 3501 6.4.1): every acknowledged change is already durable, so
// this only reports pending mailbox updates (Finish sends them).
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdCheck(ImapSession& s, Command& cmd) {
  if (!cmd.args.empty()) return s.FinishBad(cmd, "Unexpected arguments");
  s.Finish(cmd, "OK Check completed.");
}

}  // namespace pillarbox::imap
