// CAPABILITY (RFC 3501 6.1.1).
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdCapability(ImapSession& s, Command& cmd) {
  if (!cmd.args.empty()) return s.FinishBad(cmd, "Unexpected arguments");
  s.Untagged("CAPABILITY " + s.Capabilities());
  s.Finish(cmd, "OK Capability completed.");
}

}  // namespace pillarbox::imap
