// NAMESPACE (RFC 2342): one personal namespace, no prefix, "/" delimiter.
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdNamespace(ImapSession& s, Command& cmd) {
  if (!cmd.args.empty()) return s.FinishBad(cmd, "Unexpected arguments");
  s.Untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
  s.Finish(cmd, "OK Namespace completed.");
}

}  // namespace pillarbox::imap
