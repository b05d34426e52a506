// COPY, MOVE and their UID forms (RFC 3501 6.4.7, RFC 6851, UIDPLUS RFC
// 4315): the store copies references to the same blobs. COPYUID goes in the
// tagged OK of COPY, and for MOVE in an untagged OK before the EXPUNGEs.
#include "protocols/imap/commands.h"
#include "protocols/imap/notify.h"
#include "protocols/imap/sequence_set.h"

namespace pillarbox::imap {

void CopyOrMove(ImapSession& s, Command& cmd, bool move) {
  if (cmd.args.size() != 2) return s.FinishBad(cmd, "Expected message set and mailbox");
  std::string error;
  auto name = s.DecodeMailboxName(cmd.args[1], false, &error);
  if (!name) return s.Finish(cmd, "NO [CANNOT] " + error);
  auto picked = SelectMessages(s, cmd, cmd.args[0]);
  if (!picked) return;
  SelectedMailbox* sel = s.selected();
  if (move && sel->read_only) return s.Finish(cmd, "NO [READ-ONLY] Mailbox is read-only.");
  storage::MailboxId to = 0;
  {
    auto view = s.store().Read();
    auto mb = view->FindMailbox(s.user().id, *name);
    if (!mb.ok()) {
      if (mb.status().code() == Code::kNotFound) {
        return s.Finish(cmd, "NO [TRYCREATE] Mailbox doesn't exist: " + *name);
      }
      return s.FinishError(cmd, mb.status(), *name);
    }
    to = mb->id;
  }
  if (picked->empty()) {
    return s.Finish(cmd, move ? "OK No messages found." : "OK No messages found.");
  }
  storage::CopyRequest req;
  req.from = sel->id;
  req.to = to;
  req.move = move;
  req.origin = s.MakeOrigin();
  req.uids.reserve(picked->size());
  for (std::uint32_t idx : *picked) req.uids.push_back(sel->uids[idx]);
  std::size_t asked = req.uids.size();
  Command h = cmd.Header();
  std::string n = *name;
  s.store().Copy(
      std::move(req), s.Bind([h, n, move, asked](ImapSession& s2, Result<storage::CopyResult> r) {
        if (!r.ok()) {
          if (r.status().code() == Code::kNotFound) {
            return s2.Finish(h, "NO [TRYCREATE] Mailbox doesn't exist: " + n);
          }
          return s2.FinishError(h, r.status(), n);
        }
        if (SelectedMailbox* sel2 = s2.selected()) sel2->changes_pending = true;
        NotifyOwnMessages(s2, n, r->dest_uids);
        std::string code;
        if (!r->source_uids.empty() && (s2.disabled_extensions() & config::kImapUidPlus) == 0) {
          code = "[COPYUID " + std::to_string(r->dest_uidvalidity) + " " +
                 FormatSequenceSet(r->source_uids) + " " + FormatSequenceSet(r->dest_uids) + "] ";
        }
        if (r->source_uids.size() < asked) {
          // Some messages were expunged meanwhile (RFC 5530).
          if (move && !code.empty()) s2.Untagged("OK " + code + "Moved UIDs.");
          return s2.Finish(h,
                           "NO [EXPUNGEISSUED] Some of the requested messages "
                           "no longer exist.");
        }
        if (move) {
          if (!code.empty()) s2.Untagged("OK " + code + "Moved UIDs.");
          return s2.Finish(h, "OK Move completed.");
        }
        s2.Finish(h, "OK " + code + "Copy completed.");
      }));
}

void CmdCopy(ImapSession& s, Command& cmd) { CopyOrMove(s, cmd, false); }
void CmdMove(ImapSession& s, Command& cmd) { CopyOrMove(s, cmd, true); }

}  // namespace pillarbox::imap
