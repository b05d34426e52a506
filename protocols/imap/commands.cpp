#include "protocols/imap/commands.h"

#include <algorithm>
#include <array>

#include "protocols/imap/sequence_set.h"

namespace pillarbox::imap {
namespace {

constexpr unsigned kAuthOrSelected = kStateAuth | kStateSelected;

// name, states, flags (valid after UID, uses sequence numbers, the extension
// it belongs to), handler
constexpr std::array kCommands = {
    CommandDef{"CAPABILITY", kStateAny, 0, CmdCapability},
    CommandDef{"NOOP", kStateAny, 0, CmdNoop},
    CommandDef{"LOGOUT", kStateAny, 0, CmdLogout},
    CommandDef{"ID", kStateAny, kCmdNeeds(config::kImapId), CmdId},
    CommandDef{"STARTTLS", kStateNotAuth, 0, CmdStartTls},
    CommandDef{"LOGIN", kStateNotAuth, 0, CmdLogin},
    CommandDef{"AUTHENTICATE", kStateNotAuth, 0, CmdAuthenticate},
    CommandDef{"ENABLE", kAuthOrSelected, kCmdNeeds(config::kImapEnable), CmdEnable},
    CommandDef{"SELECT", kAuthOrSelected, 0, CmdSelect},
    CommandDef{"EXAMINE", kAuthOrSelected, 0, CmdExamine},
    CommandDef{"CREATE", kAuthOrSelected, 0, CmdCreate},
    CommandDef{"DELETE", kAuthOrSelected, 0, CmdDelete},
    CommandDef{"RENAME", kAuthOrSelected, 0, CmdRename},
    CommandDef{"SUBSCRIBE", kAuthOrSelected, 0, CmdSubscribe},
    CommandDef{"UNSUBSCRIBE", kAuthOrSelected, 0, CmdUnsubscribe},
    CommandDef{"LIST", kAuthOrSelected, 0, CmdList},
    CommandDef{"LSUB", kAuthOrSelected, 0, CmdLsub},
    CommandDef{"STATUS", kAuthOrSelected, 0, CmdStatus},
    CommandDef{"APPEND", kAuthOrSelected, 0, CmdAppend},
    CommandDef{"NAMESPACE", kAuthOrSelected, kCmdNeeds(config::kImapNamespace), CmdNamespace},
    CommandDef{"IDLE", kAuthOrSelected, kCmdNeeds(config::kImapIdle), CmdIdle},
    CommandDef{"NOTIFY", kAuthOrSelected, kCmdNeeds(config::kImapNotify), CmdNotify},
    CommandDef{"GETQUOTA", kAuthOrSelected, kCmdNeeds(config::kImapQuota), CmdGetQuota},
    CommandDef{"GETQUOTAROOT", kAuthOrSelected, kCmdNeeds(config::kImapQuota), CmdGetQuotaRoot},
    CommandDef{"SETQUOTA", kAuthOrSelected, kCmdNeeds(config::kImapQuota), CmdSetQuota},
    CommandDef{"COMPRESS", kAuthOrSelected, kCmdNeeds(config::kImapCompress), CmdCompress},
    CommandDef{"CHECK", kStateSelected, 0, CmdCheck},
    CommandDef{"CLOSE", kStateSelected, 0, CmdClose},
    CommandDef{"UNSELECT", kStateSelected, kCmdNeeds(config::kImapUnselect), CmdUnselect},
    CommandDef{"EXPUNGE", kStateSelected, kCmdUid | kCmdUidPlus, CmdExpunge},
    // RFC 3501 7.4.1: no EXPUNGE response during FETCH, STORE or SEARCH.
    CommandDef{"SEARCH", kStateSelected, kCmdUid | kCmdUsesSeqs, CmdSearch},
    CommandDef{"SORT", kStateSelected, kCmdUid | kCmdUsesSeqs | kCmdNeeds(config::kImapSort),
               CmdSort},
    CommandDef{"THREAD", kStateSelected, kCmdUid | kCmdUsesSeqs | kCmdNeeds(config::kImapThread),
               CmdThread},
    CommandDef{"FETCH", kStateSelected, kCmdUid | kCmdUsesSeqs, CmdFetch},
    CommandDef{"STORE", kStateSelected, kCmdUid | kCmdUsesSeqs, CmdStore},
    CommandDef{"COPY", kStateSelected, kCmdUid, CmdCopy},
    CommandDef{"MOVE", kStateSelected, kCmdUid | kCmdNeeds(config::kImapMove), CmdMove},
    CommandDef{"CANCELUPDATE", kStateSelected, kCmdNeeds(config::kImapContext), CmdCancelUpdate},
};

}  // namespace

const CommandDef* FindCommand(std::string_view upper_name) {
  return protocols::FindCommand(kCommands, upper_name);
}

bool SearchResAllowed(const ImapSession& s) {
  return (s.disabled_extensions() & (config::kImapEsearch | config::kImapSearchRes)) == 0;
}

std::vector<std::uint32_t> SelectSaved(const SelectedMailbox& sel) {
  // Both lists ascending: one merge pass. UIDs gone from the view (expunged
  // and announced) drop out (RFC 5182 2.1).
  std::vector<std::uint32_t> out;
  auto it = sel.uids.begin();
  for (storage::Uid uid : sel.saved_search) {
    it = std::lower_bound(it, sel.uids.end(), uid);
    if (it == sel.uids.end()) break;
    if (*it == uid) out.push_back(static_cast<std::uint32_t>(it - sel.uids.begin()));
  }
  return out;
}

std::optional<std::vector<std::uint32_t>> SelectMessages(ImapSession& s, const Command& cmd,
                                                         const Value& arg) {
  SelectedMailbox* sel = s.selected();
  if (!arg.IsAtom()) {
    s.FinishBad(cmd, "Invalid messageset");
    return std::nullopt;
  }
  if (arg.text == "$" && SearchResAllowed(s)) return SelectSaved(*sel);
  auto set = SequenceSet::Parse(arg.text);
  if (!set.ok()) {
    s.FinishBad(cmd, "Invalid messageset");
    return std::nullopt;
  }
  if (cmd.uid) return SelectByUid(*set, sel->uids);
  auto picked = SelectBySequence(*set, sel->uids.size());
  if (!picked.ok()) {
    s.FinishBad(cmd, "Invalid messageset");
    return std::nullopt;
  }
  return std::move(*picked);
}

std::optional<storage::ModSeq> ParseModSeq(const Value& v) {
  if (v.kind != Value::Kind::kAtom || v.text.empty() || v.text.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v.text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (n > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return n;
}

}  // namespace pillarbox::imap
