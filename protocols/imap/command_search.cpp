// SEARCH and UID SEARCH (RFC 3501 6.4.4) through the SEARCH engine. The
// messages are evaluated in batches of SearchProgram::BatchSize(), each with
// a fresh read view, so no read transaction lives long. A message expunged
// elsewhere but still in this session's view matches nothing.
#include "protocols/imap/commands.h"
#include "protocols/imap/search.h"

namespace pillarbox::imap {

void CmdSearch(ImapSession& s, Command& cmd) {
  auto program = ParseSearch(cmd.args, 0);
  if (!program.ok()) {
    if (program.status().code() == Code::kNotFound) {
      return s.Finish(cmd,
                      "NO [BADCHARSET (" + SupportedSearchCharsets() + ")] Unsupported charset.");
    }
    return s.FinishBad(cmd, program.status().message());
  }
  SelectedMailbox* sel = s.selected();
  const std::size_t count = sel->uids.size();
  const std::size_t batch = std::max<std::size_t>(1, program->BatchSize());
  std::string out = "* SEARCH";
  SearchContext ctx;
  ctx.max_seq = static_cast<std::uint32_t>(count);
  ctx.max_uid = count ? sel->uids.back() : 0;
  for (std::size_t start = 0; start < count; start += batch) {
    auto view = s.store().Read();
    ctx.view = view.get();
    std::size_t end = std::min(count, start + batch);
    for (std::size_t i = start; i < end; ++i) {
      storage::Uid uid = sel->uids[i];
      auto rec = view->GetMessage(sel->id, uid);
      if (!rec.ok()) continue;
      ctx.seq = static_cast<std::uint32_t>(i + 1);
      ctx.record = &*rec;
      ctx.recent = sel->IsRecent(uid);
      if (Matches(*program, ctx)) {
        out += ' ';
        out += std::to_string(cmd.uid ? uid : ctx.seq);
      }
    }
  }
  out += "\r\n";
  s.Write(std::move(out));
  s.Finish(cmd, "OK Search completed.");
}

}  // namespace pillarbox::imap
