// STATUS (RFC 3501 6.3.10): MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN;
// DELETED (RFC 9051 6.3.11); MAILBOXID (RFC 8474 4).
// RECENT: for the mailbox this session has selected, its own \Recent
// messages; for others, the messages no session has claimed yet (peeked with
// an empty claim, Store::ClaimRecent(mailbox, 0)).
#include <algorithm>

#include "protocols/imap/commands.h"
#include "protocols/imap/object_id.h"

namespace pillarbox::imap {

void CmdStatus(ImapSession& s, Command& cmd) {
  if (cmd.args.size() != 2 || !cmd.args[1].IsList() || cmd.args[1].items.empty()) {
    return s.FinishBad(cmd, "Expected mailbox name and status items");
  }
  enum Item { kMessages, kRecent, kUidNext, kUidValidity, kUnseen, kDeleted, kMailboxId };
  std::vector<Item> items;
  for (const Value& v : cmd.args[1].items) {
    if (v.AtomIs("MESSAGES")) {
      items.push_back(kMessages);
    } else if (v.AtomIs("RECENT")) {
      items.push_back(kRecent);
    } else if (v.AtomIs("UIDNEXT")) {
      items.push_back(kUidNext);
    } else if (v.AtomIs("UIDVALIDITY")) {
      items.push_back(kUidValidity);
    } else if (v.AtomIs("UNSEEN")) {
      items.push_back(kUnseen);
    } else if (v.AtomIs("DELETED") && (s.disabled_extensions() & config::kImapRev2) == 0) {
      items.push_back(kDeleted);
    } else if (v.AtomIs("MAILBOXID") && (s.disabled_extensions() & config::kImapObjectId) == 0) {
      items.push_back(kMailboxId);
    } else {
      return s.FinishBad(cmd, "Invalid status item");
    }
  }
  std::string error;
  auto name = s.DecodeMailboxName(cmd.args[0], false, &error);
  if (!name) return s.Finish(cmd, "NO [CANNOT] " + error);
  auto view = s.store().Read();
  auto mb = view->FindMailbox(s.user().id, *name);
  if (!mb.ok()) return s.FinishError(cmd, mb.status(), *name);
  std::uint32_t recent = 0;
  SelectedMailbox* sel = s.selected();
  bool want_recent = std::find(items.begin(), items.end(), kRecent) != items.end();
  if (sel != nullptr && sel->id == mb->id) {
    recent = static_cast<std::uint32_t>(sel->recent.size());
  } else if (want_recent) {
    std::vector<storage::Uid> uids;
    for (const auto& m : view->ListMessages(mb->id)) uids.push_back(m.uid);
    view.reset();  // the peek may read the store itself
    storage::Uid first = s.store().ClaimRecent(mb->id, 0);
    recent =
        static_cast<std::uint32_t>(uids.end() - std::lower_bound(uids.begin(), uids.end(), first));
  }
  std::string out = "STATUS " + s.MailboxWire(mb->name) + " (";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ' ';
    switch (items[i]) {
      case kMessages:
        out += "MESSAGES " + std::to_string(mb->messages);
        break;
      case kRecent:
        out += "RECENT " + std::to_string(recent);
        break;
      case kUidNext:
        out += "UIDNEXT " + std::to_string(mb->uidnext);
        break;
      case kUidValidity:
        out += "UIDVALIDITY " + std::to_string(mb->uidvalidity);
        break;
      case kUnseen:
        out += "UNSEEN " + std::to_string(mb->unseen);
        break;
      case kDeleted:
        out += "DELETED " + std::to_string(mb->deleted);
        break;
      case kMailboxId:
        out += "MAILBOXID (" + MailboxObjectId(mb->id) + ")";
        break;
    }
  }
  view.reset();
  s.Untagged(out + ")");
  s.Finish(cmd, "OK Status completed.");
}

}  // namespace pillarbox::imap
