#include "protocols/imap/search_context.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>

#include "protocols/imap/esearch.h"
#include "protocols/imap/imap_format.h"
#include "protocols/imap/imap_session.h"

namespace pillarbox::imap {
namespace {

// Turns every message sequence set into the UIDs it names in `uids` (the
// view when the search ran), so that the program means the same messages
// after expunges renumber them.
void FreezeSequenceSets(SearchKey& key, const std::vector<storage::Uid>& uids) {
  if (key.kind == SearchKey::Kind::kSequenceSet) {
    const auto largest = static_cast<std::uint32_t>(uids.size());
    std::vector<std::uint32_t> named;
    if (largest != 0) {
      for (const SeqRange& r : key.set.Resolve(largest)) {
        if (r.lo == 0) continue;
        for (std::uint64_t n = r.lo; n <= r.hi && n <= largest; ++n) {
          named.push_back(uids[n - 1]);
        }
      }
    }
    std::sort(named.begin(), named.end());
    named.erase(std::unique(named.begin(), named.end()), named.end());
    key.kind = SearchKey::Kind::kUidSet;
    key.set = SequenceSet::FromAscending(named);
    return;
  }
  for (SearchKey& child : key.children) FreezeSequenceSets(child, uids);
}

std::string LineStart(const UpdateContext& c) {
  std::string out = "* ESEARCH (TAG ";
  AppendQuoted(out, c.tag);
  out += ')';
  if (c.uid) out += " UID";
  return out;
}

bool Member(const UpdateContext& c, storage::Uid uid) {
  return std::binary_search(c.members.begin(), c.members.end(), uid);
}

void EraseMembers(UpdateContext& c, const std::vector<storage::Uid>& gone_ascending) {
  std::vector<storage::Uid> kept;
  kept.reserve(c.members.size());
  std::set_difference(c.members.begin(), c.members.end(), gone_ascending.begin(),
                      gone_ascending.end(), std::back_inserter(kept));
  c.members = std::move(kept);
}

// A message that changed in this pass, with its record.
struct Candidate {
  storage::Uid uid = 0;
  std::uint32_t seq = 0;
  storage::MessageRecord record;
};

// Reads sort keys for one pass over the SORT contexts, each message once.
class SortKeyReader {
 public:
  SortKeyReader(storage::ReadView& view, const SelectedMailbox& sel) : view_(view), sel_(sel) {}
  const SortItem& Get(storage::Uid uid) {
    auto it = items_.find(uid);
    if (it != items_.end()) return it->second;
    SortInput in;
    in.seq = sel_.SeqOf(uid);
    in.uid = uid;
    // A message gone from the store meanwhile sorts with empty keys; the
    // pass that announces its expunge removes it.
    auto rec = view_.GetMessage(sel_.id, uid);
    if (rec.ok()) {
      in.internal_date = rec->internal_date;
      in.size = rec->size;
      in.blob = rec->blob;
    }
    std::vector<SortItem> loaded = LoadSortItems(view_, {in}, &arena_);
    return items_.emplace(uid, loaded.at(0)).first->second;
  }

 private:
  storage::ReadView& view_;
  const SelectedMailbox& sel_;
  std::deque<std::string> arena_;
  std::unordered_map<storage::Uid, SortItem> items_;
};

// Whether `a` sorts before `b` under `criteria` (ties: the lower UID
// first, as SortOrder breaks them by sequence number).
bool SortsBefore(const SortItem& a, const SortItem& b, const std::vector<SortCriterion>& criteria) {
  const bool a_lower = a.uid < b.uid;
  std::vector<SortItem> two = a_lower ? std::vector<SortItem>{a, b} : std::vector<SortItem>{b, a};
  std::vector<std::uint32_t> order = SortOrder(two, criteria);
  return (order.at(0) == 0) == a_lower;
}

// The updates of one SEARCH context (position 0, mailbox order).
void UpdateSearch(UpdateContext& c, const SelectedMailbox& sel, const SyncDelta& delta,
                  const std::vector<Candidate>& cands, const std::vector<bool>& match,
                  std::string* before, std::string* after) {
  std::vector<storage::Uid> gone;
  std::vector<std::uint32_t> gone_numbers;
  for (const auto& [uid, old_seq] : delta.expunged) {
    if (!Member(c, uid)) continue;
    gone.push_back(uid);
    gone_numbers.push_back(c.uid ? uid : old_seq);
  }
  if (!gone.empty()) {
    EraseMembers(c, gone);
    *before += LineStart(c) + " REMOVEFROM (0 " + FormatOrderedSet(gone_numbers) + ")\r\n";
  }
  std::vector<storage::Uid> removed;
  std::vector<storage::Uid> added;
  for (std::size_t i = 0; i < cands.size(); ++i) {
    const bool in = Member(c, cands[i].uid);
    if (in && !match[i]) removed.push_back(cands[i].uid);
    if (!in && match[i]) added.push_back(cands[i].uid);
  }
  if (removed.empty() && added.empty()) return;
  auto numbers = [&](const std::vector<storage::Uid>& uids) {
    std::vector<std::uint32_t> out;
    for (storage::Uid uid : uids) out.push_back(c.uid ? uid : sel.SeqOf(uid));
    return FormatOrderedSet(out);
  };
  std::string line = LineStart(c);
  if (!removed.empty()) {
    EraseMembers(c, removed);
    line += " REMOVEFROM (0 " + numbers(removed) + ")";
  }
  if (!added.empty()) {
    std::vector<storage::Uid> merged;
    merged.reserve(c.members.size() + added.size());
    std::merge(c.members.begin(), c.members.end(), added.begin(), added.end(),
               std::back_inserter(merged));
    c.members = std::move(merged);
    line += " ADDTO (0 " + numbers(added) + ")";
  }
  *after += line + "\r\n";
}

// Removes the marked entries of c.order (and c.members); returns the pairs.
std::string RemoveFromOrder(UpdateContext& c, const std::vector<bool>& marked,
                            const std::vector<std::uint32_t>& numbers) {
  std::string pairs = ContextPairs(numbers, marked, true);
  std::vector<storage::Uid> gone;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < c.order.size(); ++i) {
    if (marked[i]) {
      gone.push_back(c.order[i]);
    } else {
      c.order[kept++] = c.order[i];
    }
  }
  c.order.resize(kept);
  std::sort(gone.begin(), gone.end());
  EraseMembers(c, gone);
  return pairs;
}

// The updates of one SORT context (positions in its order).
void UpdateSort(UpdateContext& c, const SelectedMailbox& sel, const SyncDelta& delta,
                const std::vector<Candidate>& cands, const std::vector<bool>& match,
                SortKeyReader& keys, std::string* before, std::string* after) {
  // 1. Expunged results, numbered as before the pass.
  {
    std::unordered_map<storage::Uid, std::uint32_t> old_seq;
    for (const auto& [uid, seq] : delta.expunged) {
      if (Member(c, uid)) old_seq.emplace(uid, seq);
    }
    if (!old_seq.empty()) {
      std::vector<bool> marked(c.order.size(), false);
      std::vector<std::uint32_t> numbers(c.order.size(), 0);
      for (std::size_t i = 0; i < c.order.size(); ++i) {
        auto it = old_seq.find(c.order[i]);
        if (it != old_seq.end()) {
          marked[i] = true;
          numbers[i] = c.uid ? it->first : it->second;
        }
      }
      *before += LineStart(c) + " REMOVEFROM (" + RemoveFromOrder(c, marked, numbers) + ")\r\n";
    }
  }
  // 2. Results that stopped matching, then new matches placed in order.
  std::vector<storage::Uid> stop;
  std::vector<const Candidate*> start;
  for (std::size_t i = 0; i < cands.size(); ++i) {
    const bool in = Member(c, cands[i].uid);
    if (in && !match[i]) stop.push_back(cands[i].uid);
    if (!in && match[i]) start.push_back(&cands[i]);
  }
  if (stop.empty() && start.empty()) return;
  auto number = [&](storage::Uid uid) { return c.uid ? uid : sel.SeqOf(uid); };
  std::string line = LineStart(c);
  if (!stop.empty()) {
    std::vector<bool> marked(c.order.size(), false);
    std::vector<std::uint32_t> numbers(c.order.size(), 0);
    for (std::size_t i = 0; i < c.order.size(); ++i) {
      marked[i] = std::binary_search(stop.begin(), stop.end(), c.order[i]);
      if (marked[i]) numbers[i] = number(c.order[i]);
    }
    line += " REMOVEFROM (" + RemoveFromOrder(c, marked, numbers) + ")";
  }
  if (!start.empty()) {
    std::vector<bool> is_new(c.order.size(), false);
    for (const Candidate* cand : start) {
      const storage::Uid uid = cand->uid;
      const SortItem item = keys.Get(uid);
      std::size_t lo = 0;
      std::size_t hi = c.order.size();
      while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (SortsBefore(item, keys.Get(c.order[mid]), c.criteria)) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      c.order.insert(c.order.begin() + static_cast<std::ptrdiff_t>(lo), uid);
      is_new.insert(is_new.begin() + static_cast<std::ptrdiff_t>(lo), true);
      c.members.insert(std::lower_bound(c.members.begin(), c.members.end(), uid), uid);
    }
    std::vector<std::uint32_t> numbers(c.order.size(), 0);
    for (std::size_t i = 0; i < c.order.size(); ++i) {
      if (is_new[i]) numbers[i] = number(c.order[i]);
    }
    line += " ADDTO (" + ContextPairs(numbers, is_new, false) + ")";
  }
  *after += line + "\r\n";
}

}  // namespace

bool HasUpdateContexts(const SelectedMailbox& sel) {
  return sel.search_updates && !sel.search_updates->contexts.empty();
}

bool UpdateTagInUse(const SelectedMailbox& sel, std::string_view tag) {
  if (!sel.search_updates) return false;
  for (const UpdateContext& c : sel.search_updates->contexts) {
    if (c.tag == tag) return true;
  }
  return false;
}

bool AddUpdateContext(SelectedMailbox& sel, std::string tag, bool uid, SearchProgram program,
                      std::vector<storage::Uid> result) {
  if (!sel.search_updates) sel.search_updates = std::make_shared<SearchUpdates>();
  if (sel.search_updates->contexts.size() >= kMaxUpdateContexts) return false;
  UpdateContext c;
  c.tag = std::move(tag);
  c.uid = uid;
  c.program = std::move(program);
  FreezeSequenceSets(c.program.root, sel.uids);
  c.members = std::move(result);
  sel.search_updates->contexts.push_back(std::move(c));
  return true;
}

bool AddUpdateContext(SelectedMailbox& sel, std::string tag, bool uid, SearchProgram program,
                      std::vector<SortCriterion> criteria, std::vector<storage::Uid> sorted) {
  std::vector<storage::Uid> members = sorted;
  std::sort(members.begin(), members.end());
  if (!AddUpdateContext(sel, std::move(tag), uid, std::move(program), std::move(members))) {
    return false;
  }
  UpdateContext& c = sel.search_updates->contexts.back();
  c.sort = true;
  c.criteria = std::move(criteria);
  c.order = std::move(sorted);
  return true;
}

bool CancelUpdateContext(SelectedMailbox& sel, std::string_view tag) {
  if (!sel.search_updates) return false;
  auto& contexts = sel.search_updates->contexts;
  auto it = std::find_if(contexts.begin(), contexts.end(),
                         [&](const UpdateContext& c) { return c.tag == tag; });
  if (it == contexts.end()) return false;
  contexts.erase(it);
  return true;
}

std::string NoUpdateResponse(std::string_view tag) {
  std::string out = "* NO [NOUPDATE ";
  AppendQuoted(out, tag);
  out += "] Too many updating contexts, this one will not be updated.\r\n";
  return out;
}

std::string ContextPairs(const std::vector<std::uint32_t>& numbers, const std::vector<bool>& marked,
                         bool removal) {
  // Runs of consecutive marked positions: [begin, end).
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (std::size_t i = 0; i < marked.size();) {
    if (!marked[i]) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < marked.size() && marked[j]) ++j;
    runs.emplace_back(i, j);
    i = j;
  }
  if (removal) std::reverse(runs.begin(), runs.end());
  std::string out;
  for (const auto& [b, e] : runs) {
    if (!out.empty()) out += ' ';
    out += std::to_string(b + 1) + ' ';
    out += FormatOrderedSet(
        std::vector<std::uint32_t>(numbers.begin() + static_cast<std::ptrdiff_t>(b),
                                   numbers.begin() + static_cast<std::ptrdiff_t>(e)));
  }
  return out;
}

void ReportContextUpdates(ImapSession& s, const SyncDelta& delta, std::string* out) {
  SelectedMailbox* sel = s.selected();
  if (sel == nullptr || !HasUpdateContexts(*sel) || delta.empty()) return;
  // The messages to evaluate again: new ones and those whose flags
  // changed, still in the view and not about to be expunged.
  std::vector<storage::Uid> uids = delta.added;
  uids.insert(uids.end(), delta.flags_changed.begin(), delta.flags_changed.end());
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  auto view = s.store().Read();
  std::vector<Candidate> cands;
  for (storage::Uid uid : uids) {
    const std::uint32_t seq = sel->SeqOf(uid);
    if (seq == 0 || sel->pending_expunge.count(uid) != 0) continue;
    auto rec = view->GetMessage(sel->id, uid);
    if (!rec.ok()) continue;  // expunged meanwhile: a later pass removes it
    cands.push_back(Candidate{uid, seq, std::move(*rec)});
  }
  std::string before;
  std::string after;
  std::optional<SortKeyReader> keys;
  for (UpdateContext& c : sel->search_updates->contexts) {
    std::vector<bool> match(cands.size(), false);
    for (std::size_t i = 0; i < cands.size(); ++i) {
      SearchContext ctx;
      ctx.seq = cands[i].seq;
      ctx.record = &cands[i].record;
      ctx.recent = sel->IsRecent(cands[i].uid);
      ctx.max_seq = static_cast<std::uint32_t>(sel->uids.size());
      ctx.max_uid = sel->uids.empty() ? 0 : sel->uids.back();
      ctx.view = view.get();
      match[i] = Matches(c.program, ctx);
    }
    if (c.sort) {
      if (!keys) keys.emplace(*view, *sel);
      UpdateSort(c, *sel, delta, cands, match, *keys, &before, &after);
    } else {
      UpdateSearch(c, *sel, delta, cands, match, &before, &after);
    }
  }
  keys.reset();
  view.reset();
  if (!before.empty()) out->insert(0, before);
  *out += after;
}

}  // namespace pillarbox::imap
