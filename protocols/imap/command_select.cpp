// SELECT and EXAMINE (RFC 3501 6.3.1, 6.3.2). SELECT claims the \Recent
// messages for this session; EXAMINE opens read-only and claims nothing.
//
// Parameters (RFC 7162): (CONDSTORE) turns CONDSTORE on; (QRESYNC
// (uidvalidity modseq [known-uids [(known-seqs known-uids)]])) needs ENABLE
// QRESYNC first and adds VANISHED (EARLIER) and FETCH responses for what
// changed since modseq. The store keeps every expunge, so the answer is exact
// and the sequence match data is only checked for its syntax.
#include "protocols/imap/commands.h"
#include "protocols/imap/sequence_set.h"

namespace pillarbox::imap {
namespace {

// A UID or sequence set without "*" (RFC 7162 "known-uids" and the sets of
// "seq-match-data").
bool IsSetWithoutStar(const Value& v, std::size_t* count) {
  if (!v.IsAtom()) return false;
  auto set = SequenceSet::Parse(v.text);
  if (!set.ok() || set->HasStar()) return false;
  if (count != nullptr) {
    std::size_t n = 0;
    for (const SeqRange& r : set->raw()) n += (r.lo > r.hi ? r.lo - r.hi : r.hi - r.lo) + 1;
    *count = n;
  }
  return true;
}

// Parses the QRESYNC parameter's list; an error text on failure.
std::optional<ImapSession::QresyncParams> ParseQresync(const Value& v, std::string* error) {
  *error = "Invalid QRESYNC parameters";
  if (!v.IsList() || v.items.size() < 2 || v.items.size() > 4) return std::nullopt;
  ImapSession::QresyncParams q;
  auto uidvalidity = ParseModSeq(v.items[0]);
  auto modseq = ParseModSeq(v.items[1]);
  if (!uidvalidity || *uidvalidity == 0 || *uidvalidity > UINT32_MAX || !modseq || *modseq == 0) {
    return std::nullopt;
  }
  q.uidvalidity = static_cast<std::uint32_t>(*uidvalidity);
  q.modseq = *modseq;
  std::size_t next = 2;
  if (next < v.items.size() && !v.items[next].IsList()) {
    if (!IsSetWithoutStar(v.items[next], nullptr)) return std::nullopt;
    q.known_uids = v.items[next].text;
    ++next;
  }
  if (next < v.items.size()) {
    const Value& match = v.items[next];
    std::size_t seqs = 0, uids = 0;
    if (!match.IsList() || match.items.size() != 2 || !IsSetWithoutStar(match.items[0], &seqs) ||
        !IsSetWithoutStar(match.items[1], &uids)) {
      return std::nullopt;
    }
    if (seqs != uids) {
      *error = "QRESYNC sequence match data sets differ in size";
      return std::nullopt;
    }
    ++next;
  }
  if (next != v.items.size()) return std::nullopt;
  return q;
}

void Open(ImapSession& s, Command& cmd, bool read_only) {
  if (cmd.args.empty() || cmd.args.size() > 2) return s.FinishBad(cmd, "Expected one mailbox name");
  bool condstore = false;
  std::optional<ImapSession::QresyncParams> qresync;
  if (cmd.args.size() == 2) {
    const Value& params = cmd.args[1];
    if (!params.IsList()) return s.FinishBad(cmd, "Invalid SELECT parameters");
    const std::uint64_t disabled = s.disabled_extensions();
    for (std::size_t i = 0; i < params.items.size(); ++i) {
      const Value& p = params.items[i];
      if (p.AtomIs("CONDSTORE") && (disabled & config::kImapCondstore) == 0) {
        condstore = true;
      } else if (p.AtomIs("QRESYNC") && (disabled & config::kImapQresync) == 0) {
        if (!s.qresync()) return s.FinishBad(cmd, "QRESYNC not enabled");
        if (qresync || i + 1 >= params.items.size()) {
          return s.FinishBad(cmd, "Invalid QRESYNC parameters");
        }
        std::string error;
        qresync = ParseQresync(params.items[++i], &error);
        if (!qresync) return s.FinishBad(cmd, error);
      } else {
        return s.FinishBad(cmd, "Unknown SELECT parameter");
      }
    }
  }
  // RFC 7162 3.2.11 (QRESYNC) and RFC 9051 6.3.1 (IMAP4rev2): the client
  // hears that its mailbox closed before anything of the new one.
  if (s.selected() != nullptr && (s.qresync() || s.imap4rev2())) {
    s.Untagged("OK [CLOSED] Previous mailbox closed.");
  }
  std::string error;
  auto name = s.DecodeMailboxName(cmd.args[0], false, &error);
  if (!name) {
    s.CloseMailbox();
    return s.Finish(cmd, "NO [CANNOT] " + error);
  }
  // The previous mailbox goes first, so that turning CONDSTORE on says
  // nothing about it.
  s.CloseMailbox();
  if (condstore) s.EnableCondstore();
  Status st = s.OpenMailbox(*name, read_only, qresync);
  if (!st.ok()) return s.FinishError(cmd, st, *name);
  s.Finish(cmd,
           read_only ? "OK [READ-ONLY] Examine completed." : "OK [READ-WRITE] Select completed.");
}

}  // namespace

void CmdSelect(ImapSession& s, Command& cmd) { Open(s, cmd, false); }
void CmdExamine(ImapSession& s, Command& cmd) { Open(s, cmd, true); }

}  // namespace pillarbox::imap
