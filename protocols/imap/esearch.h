// Extended SEARCH results: the RETURN options of SEARCH (RFC 4731 ESEARCH,
// RFC 5182 SAVE, RFC 9394 PARTIAL) and the "* ESEARCH" response that
// answers them.
//
// Shared by SEARCH / UID SEARCH (command_search.cpp), SORT's ESORT (RFC
// 5267: RETURN options on SORT, answered with ESEARCH) and IMAP4rev2 (RFC
// 9051, where SEARCH always answers ESEARCH: use a SearchReturn with
// esearch and all set when the client gave no RETURN).
//
// Thread-safety: pure functions on values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "protocols/imap/value.h"

namespace pillarbox::imap {

// PARTIAL (RFC 9394): a window of positions in the result, 1-based;
// negative positions count from the end (-1 is the last match). Both ends
// have the same sign; normalized so that |first| <= |last| ("4:2" is 2:4,
// "-5:-1" is -1:-5).
struct PartialRange {
  std::int64_t first = 1;
  std::int64_t last = 1;
  bool operator==(const PartialRange&) const = default;
  // "2:4" / "-1:-5".
  std::string ToString() const;
};

// What a SEARCH (or SORT) was asked to return.
struct SearchReturn {
  // Answer with ESEARCH instead of SEARCH: a RETURN list was given (even
  // "RETURN ()", which means ALL), or IMAP4rev2 is in use.
  bool esearch = false;
  bool min = false;
  bool max = false;
  bool all = false;
  bool count = false;
  bool save = false;  // SEARCHRES: remember the result as "$"
  std::optional<PartialRange> partial;
  // CONTEXT=SEARCH/SORT (RFC 5267 4.2, 4.3): keep the result up to date
  // (search_context.h); CONTEXT is a hint, accepted and ignored.
  bool update = false;
  bool context = false;

  // Whether the ESEARCH response has anything to carry: SAVE alone asks
  // for no untagged response at all (RFC 5182 section 1). UPDATE always
  // gets one, if empty, that names the context's tag (as Dovecot).
  bool WantsResponse() const { return min || max || all || count || partial.has_value() || update; }
};

// Which RETURN options the session may accept (its capability profile).
struct SearchReturnAllowed {
  bool esearch = true;  // RETURN itself, MIN MAX ALL COUNT
  bool save = true;     // SEARCHRES
  bool partial = true;  // PARTIAL
  bool context = true;  // UPDATE and CONTEXT (CONTEXT=SEARCH)
};

// Parses "RETURN (<option> ...)" at args[*pos] when args[*pos] is the atom
// RETURN, and advances *pos past it; otherwise returns a SearchReturn with
// esearch == false and leaves *pos. "RETURN ()" is ALL. Options are
// case-insensitive and may repeat. Errors are kInvalidArgument, for a
// tagged BAD: an unknown or disallowed option, a missing or malformed
// PARTIAL range ("1", "1:*", "0:3", "1:-3"), PARTIAL twice, PARTIAL with
// ALL (RFC 9394 section 3). UPDATE and CONTEXT when allowed.context.
Result<SearchReturn> ParseSearchReturn(const std::vector<Value>& args, std::size_t* pos,
                                       const SearchReturnAllowed& allowed = {});

// Parses a PARTIAL range ("1:100", "-1:-100", "4:2"). Exposed for tests.
Result<PartialRange> ParsePartialRange(std::string_view text);

// The positions (0-based indexes into a result of `size` matches) that
// `range` selects, as [begin, end); empty when it selects nothing.
std::pair<std::size_t, std::size_t> PartialWindow(const PartialRange& range, std::size_t size);

// Formats numbers in the given order as a sequence set: runs of consecutive
// ascending numbers become "a:b" ("1:3,7,5:6" for 1 2 3 7 5 6). For an
// ascending list this is the most compact form.
std::string FormatOrderedSet(const std::vector<std::uint32_t>& numbers);

// Renders the untagged ESEARCH response, CRLF included:
//   * ESEARCH (TAG "<tag>") [UID] [MIN n] [MAX n] [ALL set]
//             [PARTIAL (range set-or-NIL)] [COUNT n] [MODSEQ n]
// `result` holds the matches in result order (ascending for SEARCH, sort
// order for ESORT): message sequence numbers, or UIDs when `uid`. MIN is
// its first element and MAX its last (the lowest and highest for SEARCH;
// RFC 5267 defines ESORT's MIN/MAX as the first and last in sort order).
// An empty result carries no MIN, MAX or ALL, but COUNT 0 when asked (RFC
// 4731 section 3.1); PARTIAL then reads NIL. Items come in the order above
// whatever the order of the options in the command (Dovecot's order).
//
// `modseq`: the MODSEQ result item (RFC 4731 section 3.2), given by the
// caller when the search had a MODSEQ criterion; see EsearchModSeq().
std::string FormatEsearch(std::string_view tag, bool uid, const std::vector<std::uint32_t>& result,
                          const SearchReturn& ret,
                          std::optional<std::uint64_t> modseq = std::nullopt);

// The MODSEQ value of an ESEARCH response (RFC 4731 section 3.2) from the
// mod-sequences of the matches (parallel to `result` of FormatEsearch):
// with a single MIN or MAX (and no ALL, COUNT or PARTIAL), that message's;
// with MIN and MAX only, the higher of the two; otherwise the highest of
// all matches. nullopt when there are no matches (no MODSEQ item then).
std::optional<std::uint64_t> EsearchModSeq(const std::vector<std::uint64_t>& modseqs,
                                           const SearchReturn& ret);

// The matches that SAVE keeps as "$" (RFC 5182 section 2.4), as indexes
// into the result (ascending, unique): MIN and/or MAX alone save just those
// (and PARTIAL alone its window); with ALL or COUNT, or SAVE alone, the
// whole result.
std::vector<std::size_t> SavedIndexes(std::size_t size, const SearchReturn& ret);

}  // namespace pillarbox::imap
