// APPEND (RFC 3501 6.3.11) with UIDPLUS's APPENDUID (RFC 4315). The literal
// size was checked by the parser before it was read. A missing mailbox gets
// [TRYCREATE]; new keywords count against config.limits.max_keywords.
#include "common/memory_budget.h"
#include "common/strings.h"
#include "protocols/imap/commands.h"
#include "protocols/imap/imap_format.h"

namespace pillarbox::imap {

void CmdAppend(ImapSession& s, Command& cmd) {
  auto& args = cmd.args;
  if (args.size() < 2 || args.size() > 5) {
    return s.FinishBad(cmd, "Expected mailbox, optional flags and date, and message literal");
  }
  std::size_t i = 1;
  storage::Flags flags;
  if (args[i].IsList()) {
    auto parsed = ParseFlagList(args[i]);
    if (!parsed.ok()) return s.FinishBad(cmd, parsed.status().message());
    flags = std::move(*parsed);
    ++i;
  }
  std::optional<DateTime> date;
  if (i < args.size() && args[i].kind == Value::Kind::kString) {
    auto parsed = ParseDateTime(args[i].text);
    if (!parsed.ok()) return s.FinishBad(cmd, "Invalid internal date");
    date = *parsed;
    ++i;
  }
  // RFC 6855 4: "UTF8 (~{n}...)" carries a message with UTF-8 headers,
  // once UTF8=ACCEPT is enabled; stored as it is.
  if (i + 2 == args.size() && args[i].AtomIs("UTF8")) {
    if (!s.utf8_accept()) return s.FinishBad(cmd, "UTF8 requires ENABLE UTF8=ACCEPT");
    if (!args[i + 1].IsList() || args[i + 1].items.size() != 1) {
      return s.FinishBad(cmd, "Expected UTF8 (literal)");
    }
    Value inner = std::move(args[i + 1].items[0]);
    args.pop_back();
    args[i] = std::move(inner);
  }
  if (i + 1 != args.size() || args[i].kind != Value::Kind::kLiteral) {
    return s.FinishBad(cmd, "Expected a message literal");
  }
  if (args[i].text.empty()) return s.Finish(cmd, "NO [CANNOT] Can't save a zero byte message.");
  std::string error;
  auto name = s.DecodeMailboxName(args[0], false, &error);
  if (!name) return s.Finish(cmd, "NO [CANNOT] " + error);
  {
    auto view = s.store().Read();
    auto mb = view->FindMailbox(s.user().id, *name);
    if (!mb.ok()) {
      if (mb.status().code() == Code::kNotFound) {
        return s.Finish(cmd, "NO [TRYCREATE] Mailbox doesn't exist: " + *name);
      }
      return s.FinishError(cmd, mb.status(), *name);
    }
    if (!flags.keywords.empty()) {
      // The mailbox's known keywords: those of its messages.
      std::vector<std::string> known;
      SelectedMailbox* sel = s.selected();
      if (sel != nullptr && sel->id == mb->id) {
        known.assign(sel->keywords.begin(), sel->keywords.end());
      } else {
        for (const auto& m : view->ListMessages(mb->id)) {
          known.insert(known.end(), m.flags.keywords.begin(), m.flags.keywords.end());
        }
        NormalizeKeywords(known);
      }
      std::size_t total = known.size() + CountNewKeywords(known, flags.keywords);
      if (total > static_cast<std::size_t>(s.config().limits.max_keywords)) {
        return s.Finish(cmd, "NO [LIMIT] Too many keywords in this mailbox.");
      }
    }
  }
  storage::AppendRequest req;
  req.user = s.user().id;
  req.mailbox = *name;
  req.bytes = std::make_shared<const std::string>(std::move(args[i].text));
  req.flags = std::move(flags);
  if (date) {
    req.internal_date = date->time;
    req.internal_date_tz = date->tz_minutes;
  }
  req.origin = s.MakeOrigin();
  req.envelope_from = s.user().name;
  Command h = cmd.Header();
  std::string n = *name;
  // The message stays in memory until the store has committed it.
  auto charge = std::make_shared<MemoryCharge>();
  charge->Set(req.bytes->size());
  s.store().Append(std::move(req),
                   s.Bind([h, n, charge](ImapSession& s2, Result<storage::AppendResult> r) {
                     if (!r.ok()) {
                       if (r.status().code() == Code::kNotFound) {
                         return s2.Finish(h, "NO [TRYCREATE] Mailbox doesn't exist: " + n);
                       }
                       return s2.FinishError(h, r.status(), n);
                     }
                     // A message appended to the selected mailbox shows up
                     // as EXISTS before the tagged answer.
                     SelectedMailbox* sel = s2.selected();
                     if (sel != nullptr && sel->id == r->mailbox) sel->changes_pending = true;
                     if (s2.disabled_extensions() & config::kImapUidPlus) {
                       return s2.Finish(h, "OK Append completed.");
                     }
                     s2.Finish(h, "OK [APPENDUID " + std::to_string(r->uidvalidity) + " " +
                                      std::to_string(r->uid) + "] Append completed.");
                   }));
}

}  // namespace pillarbox::imap
