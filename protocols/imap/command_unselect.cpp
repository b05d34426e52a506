// UNSELECT (RFC 3691): leave the mailbox without expunging.
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdUnselect(ImapSession& s, Command& cmd) {
  if (!cmd.args.empty()) return s.FinishBad(cmd, "Unexpected arguments");
  s.CloseMailbox();
  s.Finish(cmd, "OK Unselect completed.");
}

}  // namespace pillarbox::imap
