// NOTIFY (RFC 5465): NOTIFY SET [STATUS] <event-groups> and NOTIFY NONE.
// The work is in notify.cpp; a successful NOTIFY SET is also an implicit
// NOOP (the pending updates of the selected mailbox go out with it).
#include "protocols/imap/commands.h"
#include "protocols/imap/notify.h"

namespace pillarbox::imap {

void CmdNotify(ImapSession& s, Command& cmd) {
  if (cmd.args.empty() || !cmd.args[0].IsAtom()) return s.FinishBad(cmd, "Expected SET or NONE");
  if (cmd.args[0].AtomIs("NONE")) {
    if (cmd.args.size() != 1) return s.FinishBad(cmd, "Unexpected arguments");
    NotifyStop(s);
    return s.Finish(cmd, "OK NOTIFY completed.");
  }
  if (!cmd.args[0].AtomIs("SET")) return s.FinishBad(cmd, "Expected SET or NONE");
  std::string response;
  auto decode = [&s](const Value& v) -> std::optional<std::string> {
    std::string error;
    return s.DecodeMailboxName(v, false, &error);
  };
  auto spec = ParseNotifySet(cmd.args, decode, &response);
  if (!spec) {
    if (response.starts_with("BAD ")) return s.FinishBad(cmd, response.substr(4));
    return s.Finish(cmd, std::move(response));
  }
  NotifyStart(s, std::move(*spec));
  s.Finish(cmd, "OK NOTIFY completed.");
}

}  // namespace pillarbox::imap
