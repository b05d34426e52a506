// IDLE (RFC 2177): "+ idling", then mailbox changes are pushed as they are
// committed, a keepalive every kIdleKeepalive, until the client sends DONE.
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdIdle(ImapSession& s, Command& cmd) {
  if (!cmd.args.empty()) return s.FinishBad(cmd, "Unexpected arguments");
  s.BeginIdle(cmd);
}

}  // namespace pillarbox::imap
