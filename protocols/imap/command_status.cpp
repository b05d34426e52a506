// STATUS (RFC 3501 6.3.10): MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN.
// RECENT is exact for the mailbox this session has selected; for others it
// is 0, since counting \Recent would need to claim it (Store::ClaimRecent).
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdStatus(ImapSession& s, Command& cmd) {
  if (cmd.args.size() != 2 || !cmd.args[1].IsList() || cmd.args[1].items.empty()) {
    return s.FinishBad(cmd, "Expected mailbox name and status items");
  }
  enum Item { kMessages, kRecent, kUidNext, kUidValidity, kUnseen };
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
  if (sel != nullptr && sel->id == mb->id) recent = static_cast<std::uint32_t>(sel->recent.size());
  std::string out = "STATUS " + ImapSession::EncodeMailboxName(mb->name) + " (";
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
    }
  }
  view.reset();
  s.Untagged(out + ")");
  s.Finish(cmd, "OK Status completed.");
}

}  // namespace pillarbox::imap
