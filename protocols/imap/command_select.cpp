// SELECT and EXAMINE (RFC 3501 6.3.1, 6.3.2). SELECT claims the \Recent
// messages for this session; EXAMINE opens read-only and claims nothing.
#include "protocols/imap/commands.h"

namespace pillarbox::imap {
namespace {

void Open(ImapSession& s, Command& cmd, bool read_only) {
  if (cmd.args.size() != 1) return s.FinishBad(cmd, "Expected one mailbox name");
  std::string error;
  auto name = s.DecodeMailboxName(cmd.args[0], false, &error);
  if (!name) {
    s.CloseMailbox();
    return s.Finish(cmd, "NO [CANNOT] " + error);
  }
  Status st = s.OpenMailbox(*name, read_only);
  if (!st.ok()) return s.FinishError(cmd, st, *name);
  s.Finish(cmd,
           read_only ? "OK [READ-ONLY] Examine completed." : "OK [READ-WRITE] Select completed.");
}

}  // namespace

void CmdSelect(ImapSession& s, Command& cmd) { Open(s, cmd, false); }
void CmdExamine(ImapSession& s, Command& cmd) { Open(s, cmd, true); }

}  // namespace pillarbox::imap
