// EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315): removes \Deleted
// messages; the untagged EXPUNGE responses come from the change log (so they
// also carry expunges made elsewhere), before the tagged OK. With QRESYNC
// they are one VANISHED, and the tagged OK carries [HIGHESTMODSEQ] (RFC 7162
// 3.2.7, as Dovecot).
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdExpunge(ImapSession& s, Command& cmd) {
  SelectedMailbox* sel = s.selected();
  storage::ExpungeRequest req;
  if (cmd.uid) {
    if (cmd.args.size() != 1) return s.FinishBad(cmd, "Expected a UID set");
    auto picked = SelectMessages(s, cmd, cmd.args[0]);
    if (!picked) return;
    std::vector<storage::Uid> uids;
    uids.reserve(picked->size());
    for (std::uint32_t idx : *picked) uids.push_back(sel->uids[idx]);
    req.uids = std::move(uids);
  } else if (!cmd.args.empty()) {
    return s.FinishBad(cmd, "Unexpected arguments");
  }
  if (sel->read_only) return s.Finish(cmd, "NO [READ-ONLY] Mailbox is read-only.");
  if (req.uids && req.uids->empty()) return s.Finish(cmd, "OK Expunge completed.");
  req.mailbox = sel->id;
  req.require_deleted = true;
  req.origin = s.MakeOrigin();
  Command h = cmd.Header();
  s.store().Expunge(std::move(req),
                    s.Bind([h](ImapSession& s2, Result<std::vector<storage::Uid>> r) {
                      if (!r.ok()) return s2.FinishError(h, r.status());
                      if (SelectedMailbox* sel2 = s2.selected()) sel2->changes_pending = true;
                      if (s2.qresync()) return s2.FinishWithHighestModSeq(h, "Expunge completed.");
                      s2.Finish(h, "OK Expunge completed.");
                    }));
}

}  // namespace pillarbox::imap
