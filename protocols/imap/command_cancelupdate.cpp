// CANCELUPDATE (RFC 5267 4.3.5): ends the updating contexts named by the
// tags of their searching commands (quoted strings, one or more). Every tag
// must name an active context of the selected mailbox, or nothing is
// cancelled and the answer is NO.
#include "protocols/imap/commands.h"
#include "protocols/imap/search_context.h"

namespace pillarbox::imap {

void CmdCancelUpdate(ImapSession& s, Command& cmd) {
  if (cmd.args.empty()) return s.FinishBad(cmd, "Missing tag");
  SelectedMailbox* sel = s.selected();
  for (const Value& v : cmd.args) {
    if (!v.IsString()) return s.FinishBad(cmd, "Tags must be quoted strings");
    if (!UpdateTagInUse(*sel, v.text)) return s.Finish(cmd, "NO Unknown tag.");
  }
  for (const Value& v : cmd.args) CancelUpdateContext(*sel, v.text);
  s.Finish(cmd, "OK Updates cancelled.");
}

}  // namespace pillarbox::imap
