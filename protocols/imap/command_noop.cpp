// NOOP (RFC 3501 6.1.2): nothing but the pending mailbox updates, which
// Finish() sends.
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdNoop(ImapSession& s, Command& cmd) {
  if (!cmd.args.empty()) return s.FinishBad(cmd, "Unexpected arguments");
  s.Finish(cmd, "OK NOOP completed.");
}

}  // namespace pillarbox::imap
