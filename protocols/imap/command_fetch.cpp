// FETCH and UID FETCH (RFC 3501 6.4.5) through the FETCH engine.
//
// The response is produced as the socket drains: messages are rendered one
// at a time while the output queue is below config.limits.output_high_water,
// and large literals (BlobRange pieces) are copied kFetchChunkBytes at a time.
// Each continuation (OnDrained) opens its own short read view; none is held
// while waiting for the client (Dovecot: cmd_fetch_continue).
//
// A non-PEEK body fetch sets \Seen first (one StoreFlags, durable before any
// byte of the response), and those messages' FETCH responses include FLAGS
// (with CONDSTORE on, UID and MODSEQ too: RFC 7162 3.1).
//
// Modifiers (RFC 7162 3.1.4, 3.2.6): (CHANGEDSINCE n) keeps the messages
// whose modseq is above n and adds MODSEQ; UID FETCH's (CHANGEDSINCE n
// VANISHED), with QRESYNC enabled, first reports the UIDs of the set
// expunged since n in "* VANISHED (EARLIER)".
#include <algorithm>
#include <deque>

#include "common/log.h"
#include "protocols/imap/commands.h"
#include "protocols/imap/fetch.h"
#include "protocols/imap/sequence_set.h"

namespace pillarbox::imap {
namespace {

struct FetchJob {
  Command h;
  FetchSpec spec;
  std::vector<storage::Uid> uids;  // ascending
  std::size_t next = 0;
  std::set<storage::Uid> force_flags;
  std::deque<FetchPiece> pieces;
  std::uint64_t range_done = 0;  // bytes of pieces.front() already written
  bool missing = false;          // some message was expunged meanwhile
  std::optional<storage::ModSeq> changed_since;
};

void Step(ImapSession& s, const std::shared_ptr<FetchJob>& job) {
  SelectedMailbox* sel = s.selected();
  std::unique_ptr<storage::ReadView> view;
  auto open = [&]() -> storage::ReadView* {
    if (!view) view = s.store().Read();
    return view.get();
  };
  for (;;) {
    if (s.OverHighWater()) return;  // OnDrained() calls again
    if (!job->pieces.empty()) {
      FetchPiece& p = job->pieces.front();
      if (!p.range) {
        s.Write(std::move(p.bytes));
        job->pieces.pop_front();
        continue;
      }
      auto blob = open()->Blob(p.range->blob);
      if (!blob.ok() || blob->size() < p.range->offset + p.range->length) {
        // The literal's size is already on the wire; the only honest way
        // out is to drop the connection.
        LOG_ERROR("imap session {}: message bytes vanished during FETCH", s.id());
        s.Close();
        return;
      }
      std::uint64_t left = p.range->length - job->range_done;
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, kFetchChunkBytes));
      s.Write(std::string(blob->substr(p.range->offset + job->range_done, n)));
      job->range_done += n;
      if (job->range_done == p.range->length) {
        job->range_done = 0;
        job->pieces.pop_front();
      }
      continue;
    }
    if (job->next >= job->uids.size()) {
      view.reset();
      if (job->missing) {
        return s.Finish(job->h,
                        "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.");
      }
      return s.Finish(job->h, "OK Fetch completed.");
    }
    storage::Uid uid = job->uids[job->next++];
    std::uint32_t seq = sel->SeqOf(uid);
    auto rec = open()->GetMessage(sel->id, uid);
    if (rec.ok() && job->changed_since && rec->modseq <= *job->changed_since) continue;
    if (seq == 0 || !rec.ok()) {
      // Expunged elsewhere, not yet announced. By UID it is simply gone (as
      // a UID that never existed); by sequence number the client asked for
      // it, so the answer says so (RFC 5530 EXPUNGEISSUED).
      if (!job->h.uid) job->missing = true;
      continue;
    }
    // A keyword another session just added reaches this FETCH before the
    // change log does: name it in FLAGS first (RFC 3501 7.2.6).
    s.LearnKeywords(rec->flags);
    FetchMessage m;
    m.seq = seq;
    m.record = &*rec;
    m.recent = sel->IsRecent(uid);
    FetchRenderOptions opts;
    opts.force_uid = job->h.uid;
    opts.force_flags = job->force_flags.count(uid) != 0;
    opts.force_modseq = job->changed_since.has_value() || (opts.force_flags && s.condstore());
    if (opts.force_flags && s.condstore()) opts.force_uid = true;
    auto pieces = RenderFetch(job->spec, m, open(), opts);
    if (!pieces.ok()) {
      view.reset();
      if (pieces.status().code() == Code::kUnsupported) {
        return s.Finish(job->h, "NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding.");
      }
      return s.FinishError(job->h, pieces.status());
    }
    // The client now knows these flags: the change log need not repeat them.
    if (opts.force_flags || job->spec.has_flags) s.MarkReported(*rec);
    for (auto& p : *pieces) job->pieces.push_back(std::move(p));
  }
}

void Start(ImapSession& s, const std::shared_ptr<FetchJob>& job) {
  s.SetContinuation([job](ImapSession& s2) { Step(s2, job); });
  Step(s, job);
}

}  // namespace

void CmdFetch(ImapSession& s, Command& cmd) {
  if (cmd.args.size() < 2) return s.FinishBad(cmd, "Expected message set and items");
  std::optional<storage::ModSeq> changed_since;
  bool vanished = false;
  if (cmd.args.size() == 3 && cmd.args[2].IsList()) {
    const Value mods = std::move(cmd.args[2]);
    cmd.args.pop_back();
    for (std::size_t i = 0; i < mods.items.size(); ++i) {
      const Value& m = mods.items[i];
      if (m.AtomIs("CHANGEDSINCE") && !changed_since && i + 1 < mods.items.size() &&
          (s.disabled_extensions() & config::kImapCondstore) == 0) {
        changed_since = ParseModSeq(mods.items[++i]);
        if (!changed_since) return s.FinishBad(cmd, "Invalid CHANGEDSINCE modseq");
      } else if (m.AtomIs("VANISHED") && !vanished) {
        vanished = true;
      } else {
        return s.FinishBad(cmd, "Invalid FETCH modifier");
      }
    }
    if (vanished && (!cmd.uid || !s.qresync())) {
      return s.FinishBad(cmd, "VANISHED needs UID FETCH with QRESYNC enabled");
    }
    if (vanished && !changed_since) return s.FinishBad(cmd, "VANISHED needs CHANGEDSINCE");
  }
  auto spec = ParseFetchItems(cmd.args, 1);
  if (!spec.ok()) return s.FinishBad(cmd, spec.status().message());
  if (s.disabled_extensions() & config::kImapBinary) {
    for (const FetchItem& item : spec->items) {
      if (item.kind == FetchItem::Kind::kBinary || item.kind == FetchItem::Kind::kBinarySize) {
        return s.FinishBad(cmd, "Invalid fetch item (no BINARY)");
      }
    }
  }
  // Items of a turned-off extension are unknown, as on a server without it.
  for (const FetchItem& item : spec->items) {
    using K = FetchItem::Kind;
    std::uint64_t ext = item.kind == K::kSaveDate ? config::kImapSaveDate
                        : item.kind == K::kEmailId || item.kind == K::kThreadId
                            ? config::kImapObjectId
                            : 0;
    if ((ext & s.disabled_extensions()) != 0) return s.FinishBad(cmd, "Invalid fetch item");
  }
  auto picked = SelectMessages(s, cmd, cmd.args[0]);
  if (!picked) return;
  SelectedMailbox* sel = s.selected();
  // RFC 7162 3.1: MODSEQ and CHANGEDSINCE are CONDSTORE-enabling.
  if (spec->has_modseq || changed_since) s.EnableCondstore();
  if (vanished) {
    auto set = SequenceSet::Parse(cmd.args[0].text);  // valid: SelectMessages took it
    std::vector<storage::Uid> gone;
    for (const auto& c : s.store().Read()->ChangesSince(sel->id, *changed_since)) {
      // UIDs still in the view are reported by the usual VANISHED.
      if (c.kind == storage::Change::Kind::kExpunge && set.ok() &&
          set->Contains(c.uid, sel->max_uid_seen) && sel->SeqOf(c.uid) == 0) {
        gone.push_back(c.uid);
      }
    }
    std::sort(gone.begin(), gone.end());
    if (!gone.empty()) s.Untagged("VANISHED (EARLIER) " + FormatSequenceSet(gone));
  }
  auto job = std::make_shared<FetchJob>();
  job->h = cmd.Header();
  job->spec = std::move(*spec);
  job->changed_since = changed_since;
  job->uids.reserve(picked->size());
  for (std::uint32_t idx : *picked) job->uids.push_back(sel->uids[idx]);

  if (!job->spec.sets_seen || sel->read_only || job->uids.empty()) return Start(s, job);

  // Set \Seen first, so that the response shows it and it is durable.
  storage::StoreFlagsRequest req;
  {
    auto view = s.store().Read();
    for (storage::Uid uid : job->uids) {
      auto rec = view->GetMessage(sel->id, uid);
      if (rec.ok() && FetchSetsSeen(job->spec, rec->flags)) req.uids.push_back(uid);
    }
  }
  if (req.uids.empty()) return Start(s, job);
  req.mailbox = sel->id;
  req.op = storage::FlagOp::kAdd;
  req.flags.system = storage::kFlagSeen;
  req.origin = s.MakeOrigin();
  s.store().StoreFlags(std::move(req),
                       s.Bind([job](ImapSession& s2, Result<storage::StoreFlagsResult> r) {
                         if (!r.ok()) return s2.FinishError(job->h, r.status());
                         for (const auto& rec : r->changed) {
                           job->force_flags.insert(rec.uid);
                           s2.MarkReported(rec);
                         }
                         Start(s2, job);
                       }));
}

}  // namespace pillarbox::imap
