// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 section 4): searches and sorts
// whose result the server keeps up to date after the command (the UPDATE
// return option), telling the client of every change to it with an
// untagged "* ESEARCH (TAG "t") [UID] REMOVEFROM (...) ADDTO (...)".
//
// A context belongs to the selected mailbox (SelectedMailbox::
// search_updates) and ends with it, or with CANCELUPDATE. It keeps the
// search program, whose message sequence numbers are turned into the UIDs
// they named when the search ran (so that expunges do not shift what it
// matches; "*" is frozen the same way), and the result as UIDs: ascending
// for SEARCH, in sort order for SORT (with what is needed to read a
// message's sort keys are read from the store when needed).
//
// ImapSession::SyncMailbox calls ReportContextUpdates once per pass with
// what that pass announced. Only the messages named there are evaluated
// again, never the whole mailbox: a new message is evaluated once, a flag
// change re-evaluates that message, an expunge only removes. A SORT context
// places a new match by binary search over its result, reading the sort
// keys of O(log n) messages.
//
// On the wire: a SEARCH context reports position 0 and sets in mailbox
// order (RFC 5267 4.3.3 and 4.3.4 recommend it); a SORT context reports the
// positions in its order. Results that left the view by expunge are
// removed in a response that precedes the EXPUNGE (or VANISHED) responses,
// with the sequence numbers they had (4.3.4); the other changes follow the
// EXISTS and FETCH responses of the pass, so that new sequence numbers are
// valid (4.3.3).
//
// Threads: owner thread only (with the session).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/imap/search.h"
#include "protocols/imap/sort.h"
#include "storage/types.h"

namespace pillarbox::imap {

class ImapSession;
struct SelectedMailbox;

// Updating contexts one selected mailbox keeps at most; a further UPDATE
// gets "* NO [NOUPDATE "tag"]" (RFC 5267 4.3.1: at least one must be
// given). Each costs an evaluation per changed message and a few bytes per
// result, so a handful covers what clients do (one list view per mailbox).
inline constexpr std::size_t kMaxUpdateContexts = 8;

// One live result.
struct UpdateContext {
  std::string tag;  // of the searching command
  bool uid = false;
  bool sort = false;
  SearchProgram program;                // sequence sets frozen as UID sets
  std::vector<SortCriterion> criteria;  // SORT
  std::vector<storage::Uid> members;    // the result, ascending
  std::vector<storage::Uid> order;      // SORT: the result in sort order
};

// The contexts of the selected mailbox.
struct SearchUpdates {
  std::vector<UpdateContext> contexts;
};

// What one SyncMailbox pass announced.
struct SyncDelta {
  // Left the view in this pass (EXPUNGE/VANISHED), with the 1-based
  // sequence numbers they had before it; ascending.
  std::vector<std::pair<storage::Uid, std::uint32_t>> expunged;
  std::vector<storage::Uid> added;  // announced by EXISTS in this pass
  // Flags changed, by anyone (this session's own STORE too).
  std::vector<storage::Uid> flags_changed;
  bool empty() const { return expunged.empty() && added.empty() && flags_changed.empty(); }
};

bool HasUpdateContexts(const SelectedMailbox& sel);
// A context made by a command with this tag is active: RFC 5267 4.3 wants
// a BAD for a new UPDATE with the same tag.
bool UpdateTagInUse(const SelectedMailbox& sel, std::string_view tag);

// Adds a context for a search that just ran over `sel`'s view. `result`:
// the matching UIDs ascending (SEARCH), or in sort order (`sorted`, SORT). False when
// kMaxUpdateContexts are active.
bool AddUpdateContext(SelectedMailbox& sel, std::string tag, bool uid, SearchProgram program,
                      std::vector<storage::Uid> result);
bool AddUpdateContext(SelectedMailbox& sel, std::string tag, bool uid, SearchProgram program,
                      std::vector<SortCriterion> criteria, std::vector<storage::Uid> sorted);
// Ends the context of `tag`; false when there is none.
bool CancelUpdateContext(SelectedMailbox& sel, std::string_view tag);

// "* NO [NOUPDATE "tag"] ..." (RFC 5267 4.3.1), CRLF included.
std::string NoUpdateResponse(std::string_view tag);

// The hook of ImapSession::SyncMailbox: puts the updates of the contexts
// for `delta` into `*out` (the pass's responses, whose expunges come
// first): the removal of expunged results in front, the rest at the end.
// REQUIRES: the session holds no read view; `delta` already applied to the
// view (sel.uids).
void ReportContextUpdates(ImapSession& s, const SyncDelta& delta, std::string* out);

// Exposed for tests: the REMOVEFROM or ADDTO pairs of a SORT context for
// `marked` positions (0-based) of `numbers` (in result order; only the
// marked entries are read): runs of
// consecutive positions, each "<1-based position> <set>". Removals are
// listed from the last run back (so that every position is the one before
// any removal); additions from the first (positions after all additions).
std::string ContextPairs(const std::vector<std::uint32_t>& numbers, const std::vector<bool>& marked,
                         bool removal);

}  // namespace pillarbox::imap
