#include "protocols/imap/commands.h"

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
    CommandDef{"COMPRESS", kAuthOrSelected, kCmdNeeds(config::kImapCompress), CmdCompress},
    CommandDef{"CHECK", kStateSelected, 0, CmdCheck},
    CommandDef{"CLOSE", kStateSelected, 0, CmdClose},
    CommandDef{"UNSELECT", kStateSelected, kCmdNeeds(config::kImapUnselect), CmdUnselect},
    CommandDef{"EXPUNGE", kStateSelected, kCmdUid | kCmdUidPlus, CmdExpunge},
    // RFC 3501 7.4.1: no EXPUNGE response during FETCH, STORE or SEARCH.
    CommandDef{"SEARCH", kStateSelected, kCmdUid | kCmdUsesSeqs, CmdSearch},
    CommandDef{"FETCH", kStateSelected, kCmdUid | kCmdUsesSeqs, CmdFetch},
    CommandDef{"STORE", kStateSelected, kCmdUid | kCmdUsesSeqs, CmdStore},
    CommandDef{"COPY", kStateSelected, kCmdUid, CmdCopy},
    CommandDef{"MOVE", kStateSelected, kCmdUid | kCmdNeeds(config::kImapMove), CmdMove},
};

}  // namespace

const CommandDef* FindCommand(std::string_view upper_name) {
  return protocols::FindCommand(kCommands, upper_name);
}

std::optional<std::vector<std::uint32_t>> SelectMessages(ImapSession& s, const Command& cmd,
                                                         const Value& arg) {
  SelectedMailbox* sel = s.selected();
  if (!arg.IsAtom()) {
    s.FinishBad(cmd, "Invalid messageset");
    return std::nullopt;
  }
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

}  // namespace pillarbox::imap
