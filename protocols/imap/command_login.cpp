// LOGIN (RFC 3501 6.2.3). Refused where plaintext passwords are not allowed
// (LOGINDISABLED is advertised there); failures are answered after the
// throttle's delay.
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdLogin(ImapSession& s, Command& cmd) {
  if (cmd.args.size() != 2 || !cmd.args[0].IsAString() || !cmd.args[1].IsAString()) {
    return s.FinishBad(cmd, "Expected user name and password");
  }
  if (!s.PlaintextAllowed()) {
    return s.Finish(cmd,
                    "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
                    "(SSL/TLS) connections.");
  }
  s.CheckPassword(cmd, cmd.args[0].text, cmd.args[1].text);
}

}  // namespace pillarbox::imap
