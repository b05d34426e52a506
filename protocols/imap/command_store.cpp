// STORE and UID STORE (RFC 3501 6.4.6): FLAGS / +FLAGS / -FLAGS, .SILENT.
// After the durable commit, each message of the set gets an untagged FETCH
// with its flags (unless .SILENT); with UID STORE the UID comes first.
//
// CONDSTORE (RFC 7162 3.1.3): STORE set (UNCHANGEDSINCE n) ... stores only
// into messages whose modseq is at most n; the others are named in the
// tagged "OK [MODIFIED set]" (sequence numbers, or UIDs for UID STORE).
// With CONDSTORE on, the FETCH responses carry UID and MODSEQ, and .SILENT
// still reports the new MODSEQ of the messages it changed.
#include <algorithm>

#include "common/strings.h"
#include "protocols/imap/commands.h"
#include "protocols/imap/imap_format.h"
#include "protocols/imap/search_context.h"
#include "protocols/imap/sequence_set.h"

namespace pillarbox::imap {

void CmdStore(ImapSession& s, Command& cmd) {
  std::optional<storage::ModSeq> unchanged_since;
  if (cmd.args.size() >= 2 && cmd.args[1].IsList()) {
    const Value& mods = cmd.args[1];
    if (mods.items.size() != 2 || !mods.items[0].AtomIs("UNCHANGEDSINCE") ||
        (s.disabled_extensions() & config::kImapCondstore) != 0) {
      return s.FinishBad(cmd, "Invalid STORE modifier");
    }
    unchanged_since = ParseModSeq(mods.items[1]);
    if (!unchanged_since) return s.FinishBad(cmd, "Invalid UNCHANGEDSINCE modseq");
    cmd.args.erase(cmd.args.begin() + 1);
  }
  if (cmd.args.size() < 3 || !cmd.args[1].IsAtom()) {
    return s.FinishBad(cmd, "Expected message set, item and flags");
  }
  std::string item = AsciiFold(cmd.args[1].text);
  storage::FlagOp op = storage::FlagOp::kReplace;
  if (!item.empty() && item[0] == '+') {
    op = storage::FlagOp::kAdd;
    item.erase(0, 1);
  } else if (!item.empty() && item[0] == '-') {
    op = storage::FlagOp::kRemove;
    item.erase(0, 1);
  }
  bool silent = false;
  if (item == "flags.silent") {
    silent = true;
  } else if (item != "flags") {
    return s.FinishBad(cmd, "Invalid STORE item " + cmd.args[1].text);
  }
  Value list;
  if (cmd.args.size() == 3) {
    list = cmd.args[2];
  } else {
    list = Value::List(std::vector<Value>(cmd.args.begin() + 2, cmd.args.end()));
  }
  auto flags = ParseFlagList(list);
  if (!flags.ok()) return s.FinishBad(cmd, flags.status().message());
  auto picked = SelectMessages(s, cmd, cmd.args[0]);
  if (!picked) return;
  SelectedMailbox* sel = s.selected();
  if (sel->read_only) return s.Finish(cmd, "NO [READ-ONLY] Mailbox is read-only.");
  if (op != storage::FlagOp::kRemove) {
    std::size_t total = sel->keywords.size() + CountNewKeywords(sel->keywords, flags->keywords);
    if (total > static_cast<std::size_t>(s.config().limits.max_keywords)) {
      return s.Finish(cmd, "NO [LIMIT] Too many keywords in this mailbox.");
    }
  }
  // RFC 7162 3.1: UNCHANGEDSINCE is CONDSTORE-enabling.
  if (unchanged_since) s.EnableCondstore();
  if (picked->empty()) return s.Finish(cmd, "OK Store completed.");
  storage::StoreFlagsRequest req;
  req.unchanged_since = unchanged_since;
  req.mailbox = sel->id;
  req.op = op;
  req.flags = *flags;
  req.origin = s.MakeOrigin();
  req.uids.reserve(picked->size());
  for (std::uint32_t idx : *picked) req.uids.push_back(sel->uids[idx]);
  std::vector<storage::Uid> uids = req.uids;
  Command h = cmd.Header();
  storage::Flags asked = *flags;
  s.store().StoreFlags(
      std::move(req), s.Bind([h, uids = std::move(uids), silent, op, asked](
                                 ImapSession& s2, Result<storage::StoreFlagsResult> r) {
        if (!r.ok()) return s2.FinishError(h, r.status());
        SelectedMailbox* sel2 = s2.selected();
        if (sel2 == nullptr) return s2.Finish(h, "OK Store completed.");
        // The change bus comes after this completion: read the change log
        // now, so that live results (RFC 5267) change before the OK.
        if (HasUpdateContexts(*sel2)) sel2->changes_pending = true;
        const bool condstore = s2.condstore();
        std::string done = "OK Store completed.";
        std::set<storage::Uid> failed(r->modified.begin(), r->modified.end());
        if (!failed.empty()) {
          std::vector<std::uint32_t> numbers;
          for (storage::Uid uid : r->modified) {
            std::uint32_t n = h.uid ? uid : sel2->SeqOf(uid);
            if (n != 0) numbers.push_back(n);
          }
          std::sort(numbers.begin(), numbers.end());
          if (!numbers.empty()) {
            done = "OK [MODIFIED " + FormatSequenceSet(numbers) + "] Conditional store failed.";
          }
        }
        // RFC 3501 7.2.6: the client hears of a new keyword (FLAGS and
        // PERMANENTFLAGS) before any FETCH that shows it.
        bool added = op != storage::FlagOp::kRemove && s2.AddKeywords(asked);
        if (silent) {
          std::string out;
          for (const auto& rec : r->changed) {
            added = s2.AddKeywords(rec.flags) || added;
            s2.MarkReported(rec);
            std::uint32_t seq = sel2->SeqOf(rec.uid);
            if (condstore && seq != 0) {
              out += "* " + std::to_string(seq) + " FETCH (UID " + std::to_string(rec.uid) +
                     " MODSEQ (" + std::to_string(rec.modseq) + "))\r\n";
            }
          }
          if (added) s2.AnnounceKeywords();
          if (!out.empty()) s2.Write(std::move(out));
          return s2.Finish(h, done);
        }
        // Messages expunged meanwhile (by another session, not yet announced
        // here) are skipped: the store succeeds for those that still exist
        // (RFC 2180 4.2, as Dovecot).
        std::vector<std::pair<std::uint32_t, storage::MessageRecord>> shown;
        {
          auto view = s2.store().Read();
          for (storage::Uid uid : uids) {
            if (failed.count(uid)) continue;
            std::uint32_t seq = sel2->SeqOf(uid);
            if (seq == 0) continue;
            auto rec = view->GetMessage(sel2->id, uid);
            if (!rec.ok()) continue;
            shown.emplace_back(seq, std::move(*rec));
          }
        }
        for (const auto& [seq, rec] : shown) added = s2.AddKeywords(rec.flags) || added;
        if (added) s2.AnnounceKeywords();
        std::string out;
        for (const auto& [seq, rec] : shown) {
          s2.MarkReported(rec);
          if (condstore) {
            out += FlagsFetchLine(seq, rec, sel2->IsRecent(rec.uid), true);
            continue;
          }
          out += "* " + std::to_string(seq) + " FETCH (";
          if (h.uid) out += "UID " + std::to_string(rec.uid) + " ";
          out += "FLAGS " + FormatFlags(rec.flags, sel2->IsRecent(rec.uid)) + ")\r\n";
        }
        s2.Write(std::move(out));
        s2.Finish(h, done);
      }));
}

}  // namespace pillarbox::imap
