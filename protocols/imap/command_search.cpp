// SEARCH and UID SEARCH (RFC 3501 6.4.4) through the SEARCH engine.
//
// The messages are evaluated in slices of at most SearchProgram::BatchSize()
// messages and kSearchSliceWorkBytes of work, each with a fresh short read
// view; a slice may end inside one large message, whose evaluation resumes
// in the next. Between slices the command yields to the loop (a zero-delay
// timer) so that a body search over a large mailbox or one huge message
// does not stall other sessions, and it waits for the output to drain when
// the "* SEARCH" line has grown past the high-water mark. Past
// kMaxSearchWorkBytes the command ends with NO [LIMIT]. A message expunged
// elsewhere but still in this session's view matches nothing.
//
// With RETURN (...) (ESEARCH, RFC 4731) the matches are collected and
// answered by one "* ESEARCH" line at the end (esearch.h). RETURN (SAVE)
// (SEARCHRES, RFC 5182) keeps the matches' UIDs in the selected mailbox as
// "$": replaced on success, emptied when the search fails with NO, left as
// it was when the command is refused with BAD. "$" inside the search keys
// is read before the new result replaces it. RETURN (UPDATE) (CONTEXT=SEARCH,
// RFC 5267) keeps the result up to date afterwards (search_context.h).
#include <algorithm>

#include "protocols/imap/commands.h"
#include "protocols/imap/esearch.h"
#include "protocols/imap/search.h"
#include "protocols/imap/search_context.h"

namespace pillarbox::imap {
namespace {

// Bytes of the "* SEARCH" line buffered before they are written.
constexpr std::size_t kSearchWriteBytes = 64 * 1024;

struct SearchJob {
  Command h;
  SearchProgram program;
  SearchReturn ret;                // ret.esearch: answer with ESEARCH
  std::unique_ptr<SearchRun> run;  // over `program`
  std::size_t next = 0;            // index into the view
  std::string out = "* SEARCH";    // plain SEARCH only
  // ESEARCH: the matches (UIDs for UID SEARCH, else sequence numbers),
  // their UIDs when SAVE was asked, their mod-sequences for a MODSEQ item.
  std::vector<std::uint32_t> hits;
  std::vector<storage::Uid> hit_uids;
  std::vector<std::uint64_t> hit_modseqs;
  bool want_modseq = false;
  bool wrote = false;          // part of the "* SEARCH" line is out
  bool waiting_timer = false;  // a zero-delay timer will call Step
  bool done = false;
  storage::ModSeq max_modseq = 0;  // of the matches, for "(MODSEQ n)"
};

void Step(ImapSession& s, const std::shared_ptr<SearchJob>& job) {
  if (job->done || job->waiting_timer) return;
  SelectedMailbox* sel = s.selected();
  const std::size_t count = sel->uids.size();
  const std::size_t batch = std::max<std::size_t>(1, job->program.BatchSize());
  while (job->next < count) {
    if (s.OverHighWater()) return;  // OnDrained() calls again
    SearchContext ctx;
    ctx.max_seq = static_cast<std::uint32_t>(count);
    ctx.max_uid = sel->uids.back();
    bool limit = false;
    {
      auto view = s.store().Read();
      ctx.view = view.get();
      const std::size_t end = std::min(count, job->next + batch);
      const std::uint64_t slice_end = job->run->work() + kSearchSliceWorkBytes;
      while (job->next < end && job->run->work() < slice_end) {
        const std::size_t i = job->next;
        storage::Uid uid = sel->uids[i];
        auto rec = view->GetMessage(sel->id, uid);
        if (!rec.ok()) {
          job->run->Abandon();
          ++job->next;
          continue;
        }
        ctx.seq = static_cast<std::uint32_t>(i + 1);
        ctx.record = &*rec;
        ctx.recent = sel->IsRecent(uid);
        SearchOutcome outcome = job->run->Evaluate(ctx, slice_end - job->run->work());
        if (outcome == SearchOutcome::kPending) break;  // the same message next slice
        if (outcome == SearchOutcome::kLimit) {
          limit = true;
          break;
        }
        if (outcome == SearchOutcome::kMatch) {
          job->max_modseq = std::max(job->max_modseq, rec->modseq);
          if (job->ret.esearch) {
            job->hits.push_back(job->h.uid ? uid : ctx.seq);
            if (job->ret.save || job->ret.update) job->hit_uids.push_back(uid);
            if (job->want_modseq) job->hit_modseqs.push_back(rec->modseq);
          } else {
            job->out += ' ';
            job->out += std::to_string(job->h.uid ? uid : ctx.seq);
          }
        }
        ++job->next;
      }
    }
    if (limit) {
      // The partial result is dropped unless part of its line is out already
      // (then the line must end before the tagged answer).
      job->done = true;
      if (job->wrote) s.Write(std::move(job->out) + "\r\n");
      if (job->ret.save) sel->saved_search.clear();  // RFC 5182 2.1: NO empties "$"
      return s.Finish(job->h,
                      "NO [LIMIT] Search too costly: use fewer or shorter search "
                      "strings, or narrow it with other keys.");
    }
    if (job->out.size() >= kSearchWriteBytes) {
      s.Write(std::exchange(job->out, std::string()));
      job->wrote = true;
    }
    if (job->next < count && s.ctx().timer) {
      job->waiting_timer = true;
      s.ctx().timer(std::chrono::milliseconds(0), s.Bind([job](ImapSession& s2) {
        job->waiting_timer = false;
        // Above the mark, OnDrained() goes on instead.
        if (!s2.OverHighWater()) Step(s2, job);
      }));
      return;
    }
  }
  job->done = true;
  if (!job->ret.esearch) {
    // RFC 7162 3.1.5: with a MODSEQ key, the highest modseq of the matches.
    if (job->program.has_modseq && job->max_modseq != 0) {
      job->out += " (MODSEQ " + std::to_string(job->max_modseq) + ")";
    }
    job->out += "\r\n";
    s.Write(std::move(job->out));
    return s.Finish(job->h, "OK Search completed.");
  }
  if (job->ret.update &&
      !AddUpdateContext(*sel, job->h.tag, job->h.uid, job->program, job->hit_uids)) {
    s.Write(NoUpdateResponse(job->h.tag));  // the other options are still answered
  }
  if (job->ret.WantsResponse()) {
    std::optional<std::uint64_t> modseq;
    if (job->want_modseq) modseq = EsearchModSeq(job->hit_modseqs, job->ret);
    s.Write(FormatEsearch(job->h.tag, job->h.uid, job->hits, job->ret, modseq));
  }
  if (job->ret.save) {
    std::vector<storage::Uid> saved;
    for (std::size_t i : SavedIndexes(job->hit_uids.size(), job->ret)) {
      saved.push_back(job->hit_uids[i]);
    }
    sel->saved_search = std::move(saved);
  }
  s.Finish(job->h, "OK Search completed.");
}

bool HasModSeqKey(const SearchKey& key) {
  if (key.kind == SearchKey::Kind::kModSeq) return true;
  return std::any_of(key.children.begin(), key.children.end(), HasModSeqKey);
}

// Fills the "$" keys with the saved UIDs. False when the program has one
// and SEARCHRES is off for the session.
bool FillSavedResult(SearchKey& key, const ImapSession& s, const SelectedMailbox& sel) {
  if (key.saved_result) {
    if (!SearchResAllowed(s)) return false;
    key.set = SequenceSet::FromAscending(sel.saved_search);
  }
  for (SearchKey& child : key.children) {
    if (!FillSavedResult(child, s, sel)) return false;
  }
  return true;
}

}  // namespace

void CmdSearch(ImapSession& s, Command& cmd) {
  SelectedMailbox* sel = s.selected();
  const std::uint64_t disabled = s.disabled_extensions();
  SearchReturnAllowed allowed;
  allowed.esearch = (disabled & config::kImapEsearch) == 0;
  allowed.save = SearchResAllowed(s);
  allowed.partial = allowed.esearch && (disabled & config::kImapContext) == 0;
  allowed.context = allowed.partial;
  std::size_t pos = 0;
  auto ret = ParseSearchReturn(cmd.args, &pos, allowed);
  if (!ret.ok()) return s.FinishBad(cmd, ret.status().message());
  // RFC 5267 4.3: the tag names the context in every update.
  if (ret->update && UpdateTagInUse(*sel, cmd.tag)) return s.FinishBad(cmd, "Tag reuse");
  // IMAP4rev2 (RFC 9051 6.4.4): SEARCH always answers ESEARCH.
  if (!ret->esearch && s.imap4rev2()) {
    ret->esearch = true;
    ret->all = true;
  }
  auto program = ParseSearch(cmd.args, pos);
  if (!program.ok()) {
    if (program.status().code() == Code::kNotFound) {
      if (ret->save) sel->saved_search.clear();  // a NO empties "$" (RFC 5182 2.1)
      return s.Finish(cmd,
                      "NO [BADCHARSET (" + SupportedSearchCharsets() + ")] Unsupported charset.");
    }
    return s.FinishBad(cmd, program.status().message());
  }
  if (std::string key = RefusedSearchKey(*program, s.disabled_extensions(), s.imap4rev2());
      !key.empty()) {
    return s.FinishBad(cmd, "Unknown argument " + key);
  }
  if (!FillSavedResult(program->root, s, *sel)) return s.FinishBad(cmd, "Invalid messageset");
  if (program->has_modseq) {
    if ((s.disabled_extensions() & config::kImapCondstore) != 0) {
      return s.FinishBad(cmd, "Unknown argument MODSEQ");
    }
    s.EnableCondstore();  // RFC 7162 3.1
  }
  auto job = std::make_shared<SearchJob>();
  job->h = cmd.Header();
  job->program = std::move(*program);
  job->ret = *ret;
  job->want_modseq = job->ret.WantsResponse() && HasModSeqKey(job->program.root);
  job->run = std::make_unique<SearchRun>(job->program, s.config().limits.max_search_work);
  s.SetContinuation([job](ImapSession& s2) { Step(s2, job); });
  Step(s, job);
}

}  // namespace pillarbox::imap
