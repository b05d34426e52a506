// STARTTLS (RFC 3501 6.2.1): answer, then the connection flushes and starts
// the handshake; plaintext sent after the command is discarded (no command
// injection), and the session waits for OnTlsEstablished().
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdStartTls(ImapSession& s, Command& cmd) {
  if (!cmd.args.empty()) return s.FinishBad(cmd, "Unexpected arguments");
  if (s.info().tls_active) return s.Finish(cmd, "BAD TLS is already active.");
  if (!s.info().tls_available) return s.Finish(cmd, "BAD TLS support isn't enabled.");
  s.Finish(cmd, "OK Begin TLS negotiation now.");
  s.BeginTls();
}

}  // namespace pillarbox::imap
