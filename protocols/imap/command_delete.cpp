// DELETE (RFC 3501 6.3.4). INBOX cannot be deleted. Children keep existing
// (the name becomes a \Noselect parent). Deleting the selected mailbox ends
// the session, as in Dovecot: its messages are gone.
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdDelete(ImapSession& s, Command& cmd) {
  if (cmd.args.size() != 1) return s.FinishBad(cmd, "Expected one mailbox name");
  std::string error;
  auto name = s.DecodeMailboxName(cmd.args[0], false, &error);
  if (!name) return s.Finish(cmd, "NO [CANNOT] " + error);
  if (*name == "INBOX") return s.Finish(cmd, "NO [CANNOT] INBOX can't be deleted.");
  {
    auto view = s.store().Read();
    auto mb = view->FindMailbox(s.user().id, *name);
    if (!mb.ok()) return s.FinishError(cmd, mb.status(), *name);
  }
  Command h = cmd;
  std::string n = *name;
  s.store().DeleteMailbox(s.user().id, *name, s.MakeOrigin(),
                          s.Bind([h, n](ImapSession& s2, Status st) {
                            if (!st.ok()) return s2.FinishError(h, st, n);
                            SelectedMailbox* sel = s2.selected();
                            if (sel != nullptr && sel->name == n) {
                              s2.CloseMailbox();
                              s2.Write(h.tag + " OK Delete completed.\r\n");
                              s2.Untagged("BYE Selected mailbox was deleted, have to disconnect.");
                              s2.Close();
                              return;
                            }
                            s2.Finish(h, "OK Delete completed.");
                          }));
}

}  // namespace pillarbox::imap
