// RENAME (RFC 3501 6.3.5): renames the mailbox and its children; renaming
// INBOX moves its messages into a new mailbox and leaves INBOX empty (the
// store does both).
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdRename(ImapSession& s, Command& cmd) {
  if (cmd.args.size() != 2) return s.FinishBad(cmd, "Expected two mailbox names");
  std::string error;
  auto from = s.DecodeMailboxName(cmd.args[0], false, &error);
  if (!from) return s.Finish(cmd, "NO [CANNOT] " + error);
  auto to = s.DecodeMailboxName(cmd.args[1], true, &error);
  if (!to) return s.Finish(cmd, "NO [CANNOT] " + error);
  if (*to == "INBOX") return s.Finish(cmd, "NO [ALREADYEXISTS] Target mailbox already exists.");
  if (*from == *to) return s.Finish(cmd, "NO [ALREADYEXISTS] Target mailbox already exists.");
  if (to->size() > from->size() && to->compare(0, from->size(), *from) == 0 &&
      (*to)[from->size()] == '/' && *from != "INBOX") {
    return s.Finish(cmd, "NO [CANNOT] Can't rename mailbox under itself.");
  }
  {
    auto view = s.store().Read();
    auto src = view->FindMailbox(s.user().id, *from);
    if (!src.ok()) return s.FinishError(cmd, src.status(), *from);
    if (view->FindMailbox(s.user().id, *to).ok()) {
      return s.Finish(cmd, "NO [ALREADYEXISTS] Target mailbox already exists.");
    }
  }
  Command h = cmd;
  std::string f = *from;
  std::string t = *to;
  s.store().RenameMailbox(
      s.user().id, *from, *to, s.MakeOrigin(), s.Bind([h, f, t](ImapSession& s2, Status st) {
        if (!st.ok()) {
          return s2.FinishError(h, st, st.code() == Code::kExists ? t : f);
        }
        // The selected mailbox keeps its id; follow its name.
        SelectedMailbox* sel = s2.selected();
        if (sel != nullptr && f != "INBOX") {
          if (sel->name == f) {
            sel->name = t;
          } else if (sel->name.size() > f.size() && sel->name.compare(0, f.size(), f) == 0 &&
                     sel->name[f.size()] == '/') {
            sel->name = t + sel->name.substr(f.size());
          }
        }
        s2.Finish(h, "OK Rename completed.");
      }));
}

}  // namespace pillarbox::imap
