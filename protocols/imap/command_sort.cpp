// SORT and UID SORT (RFC 5256, RFC 5957, RFC 5267 ESORT's RETURN), THREAD
// and UID THREAD (RFC 5256).
//
// First the search keys select the messages, in slices with fresh short
// read views and yields between them, exactly as SEARCH does
// (command_search.cpp); then one read view reads the sort keys of the
// matching messages (kept by the store per blob, see mime/sort_keys.h) and
// the result is computed and written at once. A message expunged elsewhere
// but still in this session's view matches nothing. SORT RETURN (UPDATE)
// (CONTEXT=SORT, RFC 5267) keeps the sorted result up to date afterwards
// (search_context.h).
#include <algorithm>
#include <charconv>
#include <deque>

#include "protocols/imap/commands.h"
#include "protocols/imap/search.h"
#include "protocols/imap/search_context.h"
#include "protocols/imap/sort.h"
#include "protocols/imap/sort_cache.h"

namespace pillarbox::imap {
namespace {

struct SortJob {
  Command h;
  bool thread = false;
  std::vector<SortCriterion> criteria;  // SORT
  ThreadAlgorithm algorithm{};          // THREAD
  std::optional<EsortReturn> esort;     // SORT RETURN (...)
  SearchProgram program;
  std::unique_ptr<SearchRun> run;  // over `program`
  std::size_t next = 0;            // index into the view
  std::vector<SortInput> matched;
  bool waiting_timer = false;  // a zero-delay timer will call Step
  bool done = false;
};

void Complete(ImapSession& s, const std::shared_ptr<SortJob>& job) {
  job->done = true;
  std::string out;
  {
    auto view = s.store().Read();
    std::deque<std::string> arena;
    SortLoad load;  // keeps the keys `items` point to
    std::vector<SortItem> items;
    const SelectedMailbox* sel = s.selected();
    if (s.ctx().sort_cache != nullptr && sel != nullptr) {
      // Ranks for the string keys it compares (THREAD=REFERENCES hashes subjects).
      std::vector<SortKey> ranked;
      if (!job->thread) {
        for (const SortCriterion& c : job->criteria) ranked.push_back(c.key);
      } else if (job->algorithm == ThreadAlgorithm::kOrderedSubject) {
        ranked.push_back(SortKey::kSubject);
      }
      load = s.ctx().sort_cache->Load(*view, sel->id, sel->uidvalidity, sel->uids.size(),
                                      job->matched, ranked);
      items = std::move(load.items);
    } else {
      items = LoadSortItems(*view, job->matched, &arena);
    }
    if (job->thread) {
      out = "* THREAD";
      std::string threads = Thread(items, job->algorithm, job->h.uid);
      if (!threads.empty()) out += " " + threads;
      out += "\r\n";
    } else {
      std::vector<std::uint32_t> order = SortOrder(items, job->criteria);
      if (job->esort) {
        std::vector<std::uint32_t> numbers;
        numbers.reserve(order.size());
        for (std::uint32_t i : order) numbers.push_back(job->h.uid ? items[i].uid : items[i].seq);
        out = RenderEsort(job->h.tag, job->h.uid, *job->esort, numbers);
        if (job->esort->update) {
          std::vector<storage::Uid> sorted;
          sorted.reserve(order.size());
          for (std::uint32_t i : order) sorted.push_back(items[i].uid);
          if (!AddUpdateContext(*s.selected(), job->h.tag, job->h.uid, job->program, job->criteria,
                                std::move(sorted))) {
            out = NoUpdateResponse(job->h.tag) + out;  // the other options are still answered
          }
        }
      } else {
        out = "* SORT";
        out.reserve(order.size() * 7 + 16);
        for (std::uint32_t i : order) {
          char buf[16] = {' '};
          out.append(buf, std::to_chars(buf + 1, buf + sizeof buf,
                                        job->h.uid ? items[i].uid : items[i].seq)
                              .ptr);
        }
        out += "\r\n";
      }
    }
  }
  s.Write(std::move(out));
  s.Finish(job->h, job->thread ? "OK Thread completed." : "OK Sort completed.");
}

void Step(ImapSession& s, const std::shared_ptr<SortJob>& job) {
  if (job->done || job->waiting_timer) return;
  SelectedMailbox* sel = s.selected();
  const std::size_t count = sel->uids.size();
  const std::size_t batch = std::max<std::size_t>(1, job->program.BatchSize());
  while (job->next < count) {
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
          job->matched.push_back(SortInput{ctx.seq, uid, rec->internal_date, rec->size, rec->blob});
        }
        ++job->next;
      }
    }
    if (limit) {
      job->done = true;
      return s.Finish(job->h,
                      "NO [LIMIT] Search too costly: use fewer or shorter search "
                      "strings, or narrow it with other keys.");
    }
    if (job->next < count && s.ctx().timer) {
      job->waiting_timer = true;
      s.ctx().timer(std::chrono::milliseconds(0), s.Bind([job](ImapSession& s2) {
        job->waiting_timer = false;
        Step(s2, job);
      }));
      return;
    }
  }
  Complete(s, job);
}

// Parses "charset search-key..." from args[start..] into job->program.
// False when it finished the command with an error.
bool ParseCharsetAndKeys(ImapSession& s, Command& cmd, std::size_t start, SortJob* job) {
  if (start >= cmd.args.size() || !cmd.args[start].IsAString()) {
    s.FinishBad(cmd, "Missing charset");
    return false;
  }
  if (start + 1 >= cmd.args.size()) {
    s.FinishBad(cmd, "Missing search keys");
    return false;
  }
  // The search engine reads the charset as SEARCH's "CHARSET <astring>".
  std::vector<Value> args;
  args.reserve(cmd.args.size() - start + 1);
  args.push_back(Value::Atom("CHARSET"));
  args.push_back(Value::String(cmd.args[start].text));
  for (std::size_t i = start + 1; i < cmd.args.size(); ++i) args.push_back(std::move(cmd.args[i]));
  auto program = ParseSearch(args, 0);
  if (!program.ok()) {
    if (program.status().code() == Code::kNotFound) {
      s.Finish(cmd, "NO [BADCHARSET (" + SupportedSearchCharsets() + ")] Unsupported charset.");
    } else {
      s.FinishBad(cmd, program.status().message());
    }
    return false;
  }
  if (std::string key = RefusedSearchKey(*program, s.disabled_extensions(), s.imap4rev2());
      !key.empty()) {
    s.FinishBad(cmd, "Unknown argument " + key);
    return false;
  }
  job->program = std::move(*program);
  return true;
}

void Start(ImapSession& s, const std::shared_ptr<SortJob>& job) {
  job->run = std::make_unique<SearchRun>(job->program, s.config().limits.max_search_work);
  s.SetContinuation([job](ImapSession& s2) { Step(s2, job); });
  Step(s, job);
}

}  // namespace

void CmdSort(ImapSession& s, Command& cmd) {
  auto job = std::make_shared<SortJob>();
  job->h = cmd.Header();
  std::size_t i = 0;
  if (!cmd.args.empty() && cmd.args[0].AtomIs("RETURN")) {
    if (cmd.args.size() < 2) return s.FinishBad(cmd, "Missing RETURN options");
    // CONTEXT=SORT (RFC 5267 4): PARTIAL, UPDATE and CONTEXT.
    const bool context =
        (s.disabled_extensions() & (config::kImapContext | config::kImapEsearch)) == 0;
    auto ret = ParseEsortReturn(cmd.args[1], context);
    if (!ret.ok()) return s.FinishBad(cmd, ret.status().message());
    if (ret->update && UpdateTagInUse(*s.selected(), cmd.tag)) {
      return s.FinishBad(cmd, "Tag reuse");
    }
    job->esort = *ret;
    i = 2;
  }
  if (i >= cmd.args.size()) return s.FinishBad(cmd, "Missing sort criteria");
  auto criteria = ParseSortCriteria(cmd.args[i]);
  if (!criteria.ok()) return s.FinishBad(cmd, criteria.status().message());
  job->criteria = std::move(*criteria);
  if (!ParseCharsetAndKeys(s, cmd, i + 1, job.get())) return;
  Start(s, job);
}

void CmdThread(ImapSession& s, Command& cmd) {
  auto job = std::make_shared<SortJob>();
  job->h = cmd.Header();
  job->thread = true;
  if (cmd.args.empty() || !cmd.args[0].IsAtom()) return s.FinishBad(cmd, "Missing algorithm");
  if (cmd.args[0].AtomIs("REFERENCES")) {
    job->algorithm = ThreadAlgorithm::kReferences;
  } else if (cmd.args[0].AtomIs("ORDEREDSUBJECT")) {
    job->algorithm = ThreadAlgorithm::kOrderedSubject;
  } else {
    return s.FinishBad(cmd, "Unknown thread algorithm " + cmd.args[0].text);
  }
  if (!ParseCharsetAndKeys(s, cmd, 1, job.get())) return;
  Start(s, job);
}

}  // namespace pillarbox::imap
