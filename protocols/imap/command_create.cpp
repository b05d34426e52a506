// CREATE (RFC 3501 6.3.3) with the USE parameter of CREATE-SPECIAL-USE
// (RFC 6154 3): "CREATE Sent (USE (\Sent))". A mailbox has at most one
// special use; \All, \Flagged, an unknown attribute or more than one get
// NO [USEATTR].
// A trailing "/" is dropped: "CREATE a/" creates "a".
#include "common/strings.h"
#include "protocols/imap/commands.h"
#include "protocols/imap/object_id.h"

namespace pillarbox::imap {
namespace {

std::optional<storage::SpecialUse> ParseUse(std::string_view flag) {
  if (EqualsIgnoreAsciiCase(flag, "\\Sent")) return storage::SpecialUse::kSent;
  if (EqualsIgnoreAsciiCase(flag, "\\Drafts")) return storage::SpecialUse::kDrafts;
  if (EqualsIgnoreAsciiCase(flag, "\\Trash")) return storage::SpecialUse::kTrash;
  if (EqualsIgnoreAsciiCase(flag, "\\Junk")) return storage::SpecialUse::kJunk;
  if (EqualsIgnoreAsciiCase(flag, "\\Archive")) return storage::SpecialUse::kArchive;
  return std::nullopt;
}

}  // namespace

void CmdCreate(ImapSession& s, Command& cmd) {
  if (cmd.args.empty() || cmd.args.size() > 2) return s.FinishBad(cmd, "Expected a mailbox name");
  storage::SpecialUse use = storage::SpecialUse::kNone;
  if (cmd.args.size() == 2) {
    const Value& opts = cmd.args[1];
    if ((s.disabled_extensions() & config::kImapCreateSpecialUse) != 0 || !opts.IsList() ||
        opts.items.size() != 2 || !opts.items[0].AtomIs("USE") || !opts.items[1].IsList()) {
      return s.FinishBad(cmd, "Invalid CREATE parameters");
    }
    const auto& attrs = opts.items[1].items;
    for (const Value& a : attrs) {
      if (!a.IsAtom() || !a.text.starts_with('\\')) {
        return s.FinishBad(cmd, "Invalid special-use attribute");
      }
    }
    if (attrs.size() > 1) {
      return s.Finish(cmd, "NO [USEATTR] A mailbox can have only one special use.");
    }
    if (attrs.size() == 1) {
      auto u = ParseUse(attrs[0].text);
      if (!u) return s.Finish(cmd, "NO [USEATTR] Unsupported special-use attribute.");
      use = *u;
    }
  }
  std::string error;
  auto name = s.DecodeMailboxName(cmd.args[0], true, &error);
  if (!name) return s.Finish(cmd, "NO [CANNOT] " + error);
  if (*name == "INBOX") return s.Finish(cmd, "NO [ALREADYEXISTS] Mailbox already exists: INBOX");
  Command h = cmd;
  std::string n = *name;
  s.store().CreateMailbox(
      s.user().id, *name, use, s.Bind([h, n](ImapSession& s2, Result<storage::MailboxRecord> r) {
        if (!r.ok()) return s2.FinishError(h, r.status(), n);
        if (s2.disabled_extensions() & config::kImapObjectId) {
          return s2.Finish(h, "OK Create completed.");
        }
        // RFC 8474 4.1
        s2.Finish(h, "OK [MAILBOXID (" + MailboxObjectId(r->id) + ")] Create completed.");
      }));
}

}  // namespace pillarbox::imap
