// SUBSCRIBE and UNSUBSCRIBE (RFC 3501 6.3.6, 6.3.7). Subscribing to a name
// that does not exist is allowed (RFC 3501: the server MAY refuse; Dovecot
// accepts).
#include "protocols/imap/commands.h"

namespace pillarbox::imap {
namespace {

void Run(ImapSession& s, Command& cmd, bool subscribe) {
  if (cmd.args.size() != 1) return s.FinishBad(cmd, "Expected one mailbox name");
  std::string error;
  auto name = s.DecodeMailboxName(cmd.args[0], false, &error);
  if (!name) return s.Finish(cmd, "NO [CANNOT] " + error);
  Command h = cmd;
  std::string n = *name;
  s.store().SetSubscribed(
      s.user().id, *name, subscribe, s.Bind([h, n, subscribe](ImapSession& s2, Status st) {
        if (!st.ok()) return s2.FinishError(h, st, n);
        s2.Finish(h, subscribe ? "OK Subscribe completed." : "OK Unsubscribe completed.");
      }));
}

}  // namespace

void CmdSubscribe(ImapSession& s, Command& cmd) { Run(s, cmd, true); }
void CmdUnsubscribe(ImapSession& s, Command& cmd) { Run(s, cmd, false); }

}  // namespace pillarbox::imap
