// ENABLE (RFC 5161). No extension that needs enabling is offered yet, so the
// answer is an empty "* ENABLED"; CONDSTORE and QRESYNC will be recorded in
// ImapSession::enabled().
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdEnable(ImapSession& s, Command& cmd) {
  if (cmd.args.empty()) return s.FinishBad(cmd, "Missing capability names");
  std::string enabled;
  for (const Value& v : cmd.args) {
    if (!v.IsAtom()) return s.FinishBad(cmd, "Invalid capability name");
    // Unknown capabilities are ignored (RFC 5161 3.1).
  }
  s.Untagged("ENABLED" + enabled);
  s.Finish(cmd, "OK Enabled.");
}

}  // namespace pillarbox::imap
