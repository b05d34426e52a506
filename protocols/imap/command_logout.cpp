// LOGOUT (RFC 3501 6.1.3).
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdLogout(ImapSession& s, Command& cmd) {
  if (!cmd.args.empty()) return s.FinishBad(cmd, "Unexpected arguments");
  s.Untagged("BYE Logging out");
  // No mailbox updates after BYE: leave the mailbox first.
  s.CloseMailbox();
  s.Write(cmd.tag + " OK Logout completed.\r\n");
  s.Close();
}

}  // namespace pillarbox::imap
