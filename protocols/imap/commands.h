// The IMAP command handlers, one file each (command_<name>.cpp), listed in
// the table in commands.cpp with the states they are allowed in and whether
// they use message sequence numbers (Dovecot: src/imap/imap-commands.c).
//
// A handler runs with the session busy and must end the command exactly
// once, now or from a store completion, with ImapSession::Finish (or
// FinishBad / FinishError).
#pragma once

#include "protocols/imap/imap_session.h"

namespace pillarbox::imap {

// Any state.
void CmdCapability(ImapSession& s, Command& cmd);
void CmdNoop(ImapSession& s, Command& cmd);
void CmdLogout(ImapSession& s, Command& cmd);
void CmdId(ImapSession& s, Command& cmd);
// Not authenticated.
void CmdStartTls(ImapSession& s, Command& cmd);
void CmdLogin(ImapSession& s, Command& cmd);
void CmdAuthenticate(ImapSession& s, Command& cmd);
// Authenticated.
void CmdEnable(ImapSession& s, Command& cmd);
void CmdSelect(ImapSession& s, Command& cmd);
void CmdExamine(ImapSession& s, Command& cmd);
void CmdCreate(ImapSession& s, Command& cmd);
void CmdDelete(ImapSession& s, Command& cmd);
void CmdRename(ImapSession& s, Command& cmd);
void CmdSubscribe(ImapSession& s, Command& cmd);
void CmdUnsubscribe(ImapSession& s, Command& cmd);
void CmdList(ImapSession& s, Command& cmd);
void CmdLsub(ImapSession& s, Command& cmd);
void CmdStatus(ImapSession& s, Command& cmd);
void CmdAppend(ImapSession& s, Command& cmd);
void CmdNamespace(ImapSession& s, Command& cmd);
void CmdIdle(ImapSession& s, Command& cmd);
void CmdCompress(ImapSession& s, Command& cmd);
// Selected.
void CmdCheck(ImapSession& s, Command& cmd);
void CmdClose(ImapSession& s, Command& cmd);
void CmdUnselect(ImapSession& s, Command& cmd);
void CmdExpunge(ImapSession& s, Command& cmd);
void CmdSearch(ImapSession& s, Command& cmd);
void CmdFetch(ImapSession& s, Command& cmd);
void CmdStore(ImapSession& s, Command& cmd);
void CmdCopy(ImapSession& s, Command& cmd);
void CmdMove(ImapSession& s, Command& cmd);

// Shared by the message commands: the session's view indexes (0-based)
// selected by args[i] as a sequence set (or UID set for UID commands).
// On failure the command has been finished with BAD and nullopt is returned.
std::optional<std::vector<std::uint32_t>> SelectMessages(ImapSession& s, const Command& cmd,
                                                         const Value& set);

// COPY and MOVE share one implementation.
void CopyOrMove(ImapSession& s, Command& cmd, bool move);

}  // namespace pillarbox::imap
