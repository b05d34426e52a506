// CLOSE (RFC 3501 6.4.2): silently expunge \Deleted messages (read-write
// only), then leave the mailbox. No untagged EXPUNGE is sent.
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdClose(ImapSession& s, Command& cmd) {
  if (!cmd.args.empty()) return s.FinishBad(cmd, "Unexpected arguments");
  SelectedMailbox* sel = s.selected();
  if (sel->read_only) {
    s.CloseMailbox();
    return s.Finish(cmd, "OK Close completed.");
  }
  storage::ExpungeRequest req;
  req.mailbox = sel->id;
  req.require_deleted = true;
  req.origin = s.MakeOrigin();
  // Leave first, so that the expunges are not reported to this session.
  s.CloseMailbox();
  Command h = cmd;
  h.args.clear();
  s.store().Expunge(std::move(req),
                    s.Bind([h](ImapSession& s2, Result<std::vector<storage::Uid>> r) {
                      if (!r.ok()) return s2.FinishError(h, r.status());
                      s2.Finish(h, "OK Close completed.");
                    }));
}

}  // namespace pillarbox::imap
