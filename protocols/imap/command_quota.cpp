// QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT, SETQUOTA.
//
// One quota root per user, named "" (Dovecot's default is one "User quota"
// root): every mailbox of the user is under it. Its resources are STORAGE
// (in units of 1024 octets, rounded up, as RFC 9208 5.1 counts them) and
// MESSAGE, each listed only when limited (the user's own limit, else the
// configured default; storage::EffectiveQuota). A user without any limit has
// no quota root: GETQUOTAROOT names none and GETQUOTA "" answers NO.
// Limits are set by the administrator (`pillarbox user quota NAME BYTES
// MESSAGES`), so SETQUOTA answers NO and QUOTASET is not advertised.
#include "protocols/imap/commands.h"

namespace pillarbox::imap {
namespace {

std::uint64_t KiB(std::uint64_t bytes) { return bytes / 1024 + (bytes % 1024 != 0); }

// RFC 9208's number64: 1 to 19 digits (at most 2^63 - 1; the exact bound does
// not matter since the value is refused anyway).
bool IsNumber64(std::string_view s) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The one quota root.
constexpr std::string_view kRoot = "\"\"";

}  // namespace

std::optional<std::string> QuotaResponse(ImapSession& s) {
  if ((s.disabled_extensions() & config::kImapQuota) != 0) return std::nullopt;
  Result<storage::UserRecord> user = s.store().Read()->GetUser(s.user().id);
  if (!user.ok()) return std::nullopt;
  const config::Config& cfg = *s.ctx().config;  // the store's defaults
  storage::QuotaLimits q =
      storage::EffectiveQuota(*user, {cfg.quota.storage_bytes, cfg.quota.messages});
  std::string list;
  if (q.bytes != 0) {
    list += "STORAGE " + std::to_string(KiB(user->used_bytes)) + " " + std::to_string(KiB(q.bytes));
  }
  if (q.messages != 0) {
    if (!list.empty()) list += ' ';
    list += "MESSAGE " + std::to_string(user->used_messages) + " " + std::to_string(q.messages);
  }
  if (list.empty()) return std::nullopt;
  return "QUOTA " + std::string(kRoot) + " (" + list + ")";
}

void CmdGetQuota(ImapSession& s, Command& cmd) {
  if (cmd.args.size() != 1 || !cmd.args[0].IsAString()) {
    return s.FinishBad(cmd, "Expected a quota root");
  }
  auto quota = cmd.args[0].text.empty() ? QuotaResponse(s) : std::nullopt;
  if (!quota) return s.Finish(cmd, "NO [NONEXISTENT] No such quota root.");
  s.Untagged(*quota);
  s.Finish(cmd, "OK Getquota completed.");
}

void CmdGetQuotaRoot(ImapSession& s, Command& cmd) {
  if (cmd.args.size() != 1 || !cmd.args[0].IsAString()) {
    return s.FinishBad(cmd, "Expected a mailbox name");
  }
  std::string error;
  auto name = s.DecodeMailboxName(cmd.args[0], false, &error);
  if (!name) return s.Finish(cmd, "NO [CANNOT] " + error);
  Result<storage::MailboxRecord> mb = s.store().Read()->FindMailbox(s.user().id, *name);
  if (!mb.ok()) return s.FinishError(cmd, mb.status(), *name);
  auto quota = QuotaResponse(s);
  std::string root = "QUOTAROOT " + ImapSession::EncodeMailboxName(mb->name);
  if (quota) root += " " + std::string(kRoot);
  s.Untagged(root);
  if (quota) s.Untagged(*quota);
  s.Finish(cmd, "OK Getquotaroot completed.");
}

void CmdSetQuota(ImapSession& s, Command& cmd) {
  // setquota_list: "(" [setquota_resource *(SP setquota_resource)] ")",
  // each a resource name and a number.
  if (cmd.args.size() != 2 || !cmd.args[0].IsAString() || !cmd.args[1].IsList() ||
      cmd.args[1].items.size() % 2 != 0) {
    return s.FinishBad(cmd, "Expected a quota root and a list of resource limits");
  }
  const auto& items = cmd.args[1].items;
  for (std::size_t i = 0; i < items.size(); i += 2) {
    if (!items[i].IsAtom() || items[i].IsNil() || !items[i + 1].IsAtom() ||
        !IsNumber64(items[i + 1].text)) {
      return s.FinishBad(cmd, "Invalid resource limit");
    }
  }
  s.Finish(cmd, "NO [NOPERM] Quotas are set by the administrator.");
}

}  // namespace pillarbox::imap
