#include "protocols/imap/commands.h"

#include <array>

#include "protocols/imap/sequence_set.h"

namespace pillarbox::imap {
namespace {

constexpr unsigned kAuthOrSelected = kStateAuth | kStateSelected;

// name, states, valid after UID, uses sequence numbers, handler
constexpr std::array kCommands = {
    CommandDef{"CAPABILITY", kStateAny, false, false, CmdCapability},
    CommandDef{"NOOP", kStateAny, false, false, CmdNoop},
    CommandDef{"LOGOUT", kStateAny, false, false, CmdLogout},
    CommandDef{"ID", kStateAny, false, false, CmdId},
    CommandDef{"STARTTLS", kStateNotAuth, false, false, CmdStartTls},
    CommandDef{"LOGIN", kStateNotAuth, false, false, CmdLogin},
    CommandDef{"AUTHENTICATE", kStateNotAuth, false, false, CmdAuthenticate},
    CommandDef{"ENABLE", kAuthOrSelected, false, false, CmdEnable},
    CommandDef{"SELECT", kAuthOrSelected, false, false, CmdSelect},
    CommandDef{"EXAMINE", kAuthOrSelected, false, false, CmdExamine},
    CommandDef{"CREATE", kAuthOrSelected, false, false, CmdCreate},
    CommandDef{"DELETE", kAuthOrSelected, false, false, CmdDelete},
    CommandDef{"RENAME", kAuthOrSelected, false, false, CmdRename},
    CommandDef{"SUBSCRIBE", kAuthOrSelected, false, false, CmdSubscribe},
    CommandDef{"UNSUBSCRIBE", kAuthOrSelected, false, false, CmdUnsubscribe},
    CommandDef{"LIST", kAuthOrSelected, false, false, CmdList},
    CommandDef{"LSUB", kAuthOrSelected, false, false, CmdLsub},
    CommandDef{"STATUS", kAuthOrSelected, false, false, CmdStatus},
    CommandDef{"APPEND", kAuthOrSelected, false, false, CmdAppend},
    CommandDef{"NAMESPACE", kAuthOrSelected, false, false, CmdNamespace},
    CommandDef{"IDLE", kAuthOrSelected, false, false, CmdIdle},
    CommandDef{"CHECK", kStateSelected, false, false, CmdCheck},
    CommandDef{"CLOSE", kStateSelected, false, false, CmdClose},
    CommandDef{"UNSELECT", kStateSelected, false, false, CmdUnselect},
    CommandDef{"EXPUNGE", kStateSelected, true, false, CmdExpunge},
    // RFC 3501 7.4.1: no EXPUNGE response during FETCH, STORE or SEARCH.
    CommandDef{"SEARCH", kStateSelected, true, true, CmdSearch},
    CommandDef{"FETCH", kStateSelected, true, true, CmdFetch},
    CommandDef{"STORE", kStateSelected, true, true, CmdStore},
    CommandDef{"COPY", kStateSelected, true, false, CmdCopy},
    CommandDef{"MOVE", kStateSelected, true, false, CmdMove},
};

}  // namespace

const CommandDef* FindCommand(std::string_view upper_name) {
  for (const auto& def : kCommands) {
    if (def.name == upper_name) return &def;
  }
  return nullptr;
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
