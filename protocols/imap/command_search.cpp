// SEARCH and UID SEARCH (RFC 3501 6.4.4) through the SEARCH engine.
//
// The messages are evaluated in slices of SearchProgram::BatchSize(), each
// with a fresh short read view. Between slices the command yields to the
// loop (a zero-delay timer) so that a body search over a large mailbox does
// not stall other sessions, and it waits for the output to drain when the
// "* SEARCH" line has grown past the high-water mark. A message expunged
// elsewhere but still in this session's view matches nothing.
#include <algorithm>

#include "protocols/imap/commands.h"
#include "protocols/imap/search.h"

namespace pillarbox::imap {
namespace {

// Bytes of the "* SEARCH" line buffered before they are written.
constexpr std::size_t kSearchWriteBytes = 64 * 1024;

struct SearchJob {
  Command h;
  SearchProgram program;
  std::size_t next = 0;  // index into the view
  std::string out = "* SEARCH";
  bool waiting_timer = false;  // a zero-delay timer will call Step
  bool done = false;
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
    {
      auto view = s.store().Read();
      ctx.view = view.get();
      std::size_t end = std::min(count, job->next + batch);
      for (std::size_t i = job->next; i < end; ++i) {
        storage::Uid uid = sel->uids[i];
        auto rec = view->GetMessage(sel->id, uid);
        if (!rec.ok()) continue;
        ctx.seq = static_cast<std::uint32_t>(i + 1);
        ctx.record = &*rec;
        ctx.recent = sel->IsRecent(uid);
        if (Matches(job->program, ctx)) {
          job->out += ' ';
          job->out += std::to_string(job->h.uid ? uid : ctx.seq);
        }
      }
      job->next = end;
    }
    if (job->out.size() >= kSearchWriteBytes) s.Write(std::exchange(job->out, std::string()));
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
  job->out += "\r\n";
  s.Write(std::move(job->out));
  s.Finish(job->h, "OK Search completed.");
}

}  // namespace

void CmdSearch(ImapSession& s, Command& cmd) {
  auto program = ParseSearch(cmd.args, 0);
  if (!program.ok()) {
    if (program.status().code() == Code::kNotFound) {
      return s.Finish(cmd,
                      "NO [BADCHARSET (" + SupportedSearchCharsets() + ")] Unsupported charset.");
    }
    return s.FinishBad(cmd, program.status().message());
  }
  auto job = std::make_shared<SearchJob>();
  job->h.tag = cmd.tag;
  job->h.name = cmd.name;
  job->h.uid = cmd.uid;
  job->program = std::move(*program);
  s.SetContinuation([job](ImapSession& s2) { Step(s2, job); });
  Step(s, job);
}

}  // namespace pillarbox::imap
