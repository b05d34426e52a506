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
void CmdNotify(ImapSession& s, Command& cmd);
void CmdGetQuota(ImapSession& s, Command& cmd);
void CmdGetQuotaRoot(ImapSession& s, Command& cmd);
void CmdSetQuota(ImapSession& s, Command& cmd);
void CmdCompress(ImapSession& s, Command& cmd);
// Selected.
void CmdCheck(ImapSession& s, Command& cmd);
void CmdClose(ImapSession& s, Command& cmd);
void CmdUnselect(ImapSession& s, Command& cmd);
void CmdExpunge(ImapSession& s, Command& cmd);
void CmdSearch(ImapSession& s, Command& cmd);
void CmdSort(ImapSession& s, Command& cmd);
void CmdThread(ImapSession& s, Command& cmd);
void CmdFetch(ImapSession& s, Command& cmd);
void CmdStore(ImapSession& s, Command& cmd);
void CmdCopy(ImapSession& s, Command& cmd);
void CmdMove(ImapSession& s, Command& cmd);
void CmdCancelUpdate(ImapSession& s, Command& cmd);

// Shared by the message commands: the session's view indexes (0-based)
// selected by args[i] as a sequence set (or UID set for UID commands), or
// "$", the saved search result (SEARCHRES), for both.
// On failure the command has been finished with BAD and nullopt is returned.
std::optional<std::vector<std::uint32_t>> SelectMessages(ImapSession& s, const Command& cmd,
                                                         const Value& set);

// STATUS items (RFC 3501; SIZE: RFC 8438; DELETED: RFC 9051;
// DELETED-STORAGE: RFC 9208), shared by STATUS and LIST-STATUS (RFC 5819).
enum class StatusItem {
  kMessages,
  kRecent,
  kUidNext,
  kUidValidity,
  kUnseen,
  kSize,
  kDeleted,
  kDeletedStorage,
  kHighestModSeq,
  kAppendLimit,
  kMailboxId,
};
// Appends the items of a parenthesized STATUS item list to `items`; false
// when the list is empty or names an unknown (or turned off) item.
bool ParseStatusItems(const ImapSession& s, const Value& list, std::vector<StatusItem>* items);
// "STATUS <name> (<item> <value> ...)" for `mb` (without "* ").
// REQUIRES: the caller holds no read view (RECENT may read the store).
std::string StatusResponse(ImapSession& s, const storage::MailboxRecord& mb,
                           const std::vector<StatusItem>& items);

// The untagged "QUOTA" response (without "* ") for the user's one quota
// root (command_quota.cpp); nullopt when QUOTA is off or nothing is limited.
// REQUIRES: logged in; the caller holds no read view.
std::optional<std::string> QuotaResponse(ImapSession& s);

// SEARCHRES (RFC 5182): whether "$" and RETURN (SAVE) are on for the
// session (ESEARCH and SEARCHRES not removed by its capability profile).
bool SearchResAllowed(const ImapSession& s);
// The view indexes (0-based, ascending) of the saved "$" UIDs still in the
// view; "$" before any SAVE is empty (not an error).
std::vector<std::uint32_t> SelectSaved(const SelectedMailbox& sel);

// A mod-sequence value (RFC 7162 "mod-sequence-valzer": 0 to 2^63-1, digits
// only) from an atom; nullopt when it is not one.
std::optional<storage::ModSeq> ParseModSeq(const Value& v);

// COPY and MOVE share one implementation.
void CopyOrMove(ImapSession& s, Command& cmd, bool move);

}  // namespace pillarbox::imap
