// STATUS (RFC 3501 6.3.10): MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN, with
// SIZE (RFC 8438, STATUS=SIZE), DELETED (RFC 9051) and DELETED-STORAGE
// (RFC 9208, QUOTA), HIGHESTMODSEQ (RFC 7162 3.1.6; CONDSTORE-enabling) and
// APPENDLIMIT (RFC 7889) and MAILBOXID (RFC 8474 4).
// LIST-STATUS (command_list.cpp) uses the same items.
// RECENT: for the mailbox this session has selected, its own \Recent
// messages; for others, the messages no session has claimed yet (peeked with
// an empty claim, Store::ClaimRecent(mailbox, 0)).
#include <algorithm>

#include "protocols/imap/commands.h"
#include "protocols/imap/object_id.h"

namespace pillarbox::imap {

bool ParseStatusItems(const ImapSession& s, const Value& list, std::vector<StatusItem>* items) {
  if (!list.IsList() || list.items.empty()) return false;
  const std::uint64_t disabled = s.disabled_extensions();
  for (const Value& v : list.items) {
    if (v.AtomIs("MESSAGES")) {
      items->push_back(StatusItem::kMessages);
    } else if (v.AtomIs("RECENT") && !s.imap4rev2()) {  // RFC 9051 has no RECENT
      items->push_back(StatusItem::kRecent);
    } else if (v.AtomIs("UIDNEXT")) {
      items->push_back(StatusItem::kUidNext);
    } else if (v.AtomIs("UIDVALIDITY")) {
      items->push_back(StatusItem::kUidValidity);
    } else if (v.AtomIs("UNSEEN")) {
      items->push_back(StatusItem::kUnseen);
    } else if (v.AtomIs("SIZE") && (disabled & config::kImapStatusSize) == 0) {
      items->push_back(StatusItem::kSize);
    } else if (v.AtomIs("DELETED")) {
      items->push_back(StatusItem::kDeleted);
    } else if (v.AtomIs("DELETED-STORAGE") && (disabled & config::kImapQuota) == 0) {
      items->push_back(StatusItem::kDeletedStorage);
    } else if (v.AtomIs("HIGHESTMODSEQ") && (disabled & config::kImapCondstore) == 0) {
      items->push_back(StatusItem::kHighestModSeq);
    } else if (v.AtomIs("APPENDLIMIT") && (disabled & config::kImapAppendLimit) == 0) {
      items->push_back(StatusItem::kAppendLimit);  // RFC 7889: one limit for every mailbox
    } else if (v.AtomIs("MAILBOXID") && (disabled & config::kImapObjectId) == 0) {
      items->push_back(StatusItem::kMailboxId);
    } else {
      return false;
    }
  }
  return true;
}

std::string StatusResponse(ImapSession& s, const storage::MailboxRecord& mb,
                           const std::vector<StatusItem>& items) {
  auto wants = [&](StatusItem item) {
    return std::find(items.begin(), items.end(), item) != items.end();
  };
  std::uint32_t recent = 0;
  std::uint64_t deleted_storage = 0;
  SelectedMailbox* sel = s.selected();
  const bool own_recent = sel != nullptr && sel->id == mb.id;
  if (own_recent) recent = static_cast<std::uint32_t>(sel->recent.size());
  if ((wants(StatusItem::kRecent) && !own_recent) || wants(StatusItem::kDeletedStorage)) {
    std::vector<storage::Uid> uids;
    {
      auto view = s.store().Read();
      for (const auto& m : view->ListMessages(mb.id)) {
        uids.push_back(m.uid);
        if (m.flags.system & storage::kFlagDeleted) deleted_storage += m.size;
      }
    }  // the peek below may read the store itself
    if (wants(StatusItem::kRecent) && !own_recent) {
      storage::Uid first = s.store().ClaimRecent(mb.id, 0);
      recent = static_cast<std::uint32_t>(uids.end() -
                                          std::lower_bound(uids.begin(), uids.end(), first));
    }
  }
  std::string out = "STATUS " + s.MailboxWire(mb.name) + " (";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ' ';
    switch (items[i]) {
      case StatusItem::kMessages:
        out += "MESSAGES " + std::to_string(mb.messages);
        break;
      case StatusItem::kRecent:
        out += "RECENT " + std::to_string(recent);
        break;
      case StatusItem::kUidNext:
        out += "UIDNEXT " + std::to_string(mb.uidnext);
        break;
      case StatusItem::kUidValidity:
        out += "UIDVALIDITY " + std::to_string(mb.uidvalidity);
        break;
      case StatusItem::kUnseen:
        out += "UNSEEN " + std::to_string(mb.unseen);
        break;
      case StatusItem::kSize:
        out += "SIZE " + std::to_string(mb.size);
        break;
      case StatusItem::kDeleted:
        out += "DELETED " + std::to_string(mb.deleted);
        break;
      case StatusItem::kDeletedStorage:
        // RFC 9208 5.3: in the units of the STORAGE resource (KiB).
        out += "DELETED-STORAGE " + std::to_string((deleted_storage + 1023) / 1024);
        break;
      case StatusItem::kHighestModSeq:
        out += "HIGHESTMODSEQ " + std::to_string(mb.highest_modseq);
        break;
      case StatusItem::kMailboxId:
        out += "MAILBOXID (" + MailboxObjectId(mb.id) + ")";
        break;
      case StatusItem::kAppendLimit:
        out += "APPENDLIMIT " + std::to_string(s.config().limits.max_message_size);
        break;
    }
  }
  if (wants(StatusItem::kHighestModSeq)) s.EnableCondstore();  // RFC 7162 3.1
  return out + ")";
}

void CmdStatus(ImapSession& s, Command& cmd) {
  std::vector<StatusItem> items;
  if (cmd.args.size() != 2 || !cmd.args[1].IsList() || cmd.args[1].items.empty()) {
    return s.FinishBad(cmd, "Expected mailbox name and status items");
  }
  if (!ParseStatusItems(s, cmd.args[1], &items)) return s.FinishBad(cmd, "Invalid status item");
  std::string error;
  auto name = s.DecodeMailboxName(cmd.args[0], false, &error);
  if (!name) return s.Finish(cmd, "NO [CANNOT] " + error);
  Result<storage::MailboxRecord> mb = s.store().Read()->FindMailbox(s.user().id, *name);
  if (!mb.ok()) return s.FinishError(cmd, mb.status(), *name);
  s.Untagged(StatusResponse(s, *mb, items));
  s.Finish(cmd, "OK Status completed.");
}

}  // namespace pillarbox::imap
