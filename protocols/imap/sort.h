// SORT (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO) and THREAD (RFC 5256
// ORDEREDSUBJECT and REFERENCES) over messages whose keys are known: the
// pure part of the SORT and THREAD commands (command_sort.cpp finds the
// messages and their keys).
//
// Semantics (where RFC 5256 leaves room, as Dovecot):
// - Strings compare bytewise in their folded form (mime::SortFold, the
//   i;unicode-casemap comparison); a missing field sorts as "".
// - DATE and THREAD's "sent date" is the Date: header as UTC, or the
//   INTERNALDATE when it has none that parses.
// - Messages equal under every criterion keep sequence-number order
//   (REVERSE reverses a criterion, not this last tie-break).
// - REFERENCES: a link that would make a loop is not made; when a message's
//   own reference would, its old parent link is still broken. A Message-ID
//   seen again gets treated as if the message had none. Dummies at the top
//   with one child are replaced by it, deeper ones by their children.
//
// Cost: sorting is O(n log n) comparisons of keys kept in memory. THREAD
// builds its tree without recursion (a 100k-long reply chain is fine) and
// spends at most kMaxThreadLoopChecks steps checking for loops beyond the
// cheap cases; past that, links that would need a long check are not made.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "protocols/imap/esearch.h"
#include "protocols/imap/value.h"
#include "protocols/mime/sort_keys.h"
#include "storage/store.h"
#include "storage/types.h"

namespace pillarbox::imap {

// Ancestor steps one THREAD may spend on loop checks (plus 64 per message).
inline constexpr std::uint64_t kMaxThreadLoopChecks = 10'000'000;

enum class SortKey : std::uint8_t {
  kArrival,
  kCc,
  kDate,
  kFrom,
  kSize,
  kSubject,
  kTo,
  kDisplayFrom,
  kDisplayTo,
};

struct SortCriterion {
  SortKey key = SortKey::kArrival;
  bool reverse = false;
};

// Parses a sort-criteria list "(REVERSE DATE SUBJECT)". kInvalidArgument
// with a message for the BAD response.
Result<std::vector<SortCriterion>> ParseSortCriteria(const Value& list);

// One message to sort or thread. `keys` points into storage the caller
// keeps alive.
struct SortItem {
  std::uint32_t seq = 0;
  storage::Uid uid = 0;
  std::int64_t internal_date = 0;
  std::uint64_t size = 0;
  mime::SortKeysView keys;
  // The sent date with the INTERNALDATE fallback.
  std::int64_t SentDate() const { return keys.has_date ? keys.date : internal_date; }
};

// What SORT and THREAD know of a message before its keys are read.
struct SortInput {
  std::uint32_t seq = 0;
  storage::Uid uid = 0;
  std::int64_t internal_date = 0;
  std::uint64_t size = 0;
  storage::BlobId blob;
};

// The items of `inputs` with their keys from `view` (valid while the view
// lives). Keys of a blob stored without them (a store from before they
// were kept), or kept in a form this build does not read, are computed
// from the message and kept in `*arena`; a message that cannot be read at
// all sorts with empty keys.
std::vector<SortItem> LoadSortItems(storage::ReadView& view, const std::vector<SortInput>& inputs,
                                    std::deque<std::string>* arena);

// Indices into `items` in sort order. `items` in sequence order.
std::vector<std::uint32_t> SortOrder(const std::vector<SortItem>& items,
                                     const std::vector<SortCriterion>& criteria);

enum class ThreadAlgorithm : std::uint8_t { kOrderedSubject, kReferences };

// The thread list of RFC 5256 ("(1 2)(3 (4)(5))", without "* THREAD ")
// with sequence numbers, or UIDs when `uid`. `items` in sequence order.
std::string Thread(const std::vector<SortItem>& items, ThreadAlgorithm algorithm, bool uid);

// "* ESEARCH" for SORT RETURN (RFC 5267 section 3).
// NOTE for the merge with SEARCH's ESEARCH: this renders the ESORT forms
// only (MIN and MAX are the first and last in sort order, ALL keeps the sort
// order, joining ascending runs). One shared renderer can take its place.
struct EsortReturn {
  bool min = false, max = false, count = false, all = false;
  // CONTEXT=SORT (RFC 5267 4.2-4.4): a window of the sorted result (see
  // PartialRange in esearch.h), keeping the result up to date, the hint.
  std::optional<PartialRange> partial;
  bool update = false, context = false;
};
// Parses the RETURN option list; an empty list means ALL. PARTIAL, UPDATE
// and CONTEXT only when `allow_context` (PARTIAL not with ALL, once).
Result<EsortReturn> ParseEsortReturn(const Value& list, bool allow_context = true);
std::string RenderEsort(std::string_view tag, bool uid, const EsortReturn& ret,
                        const std::vector<std::uint32_t>& numbers);

}  // namespace pillarbox::imap
