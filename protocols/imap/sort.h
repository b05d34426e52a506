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
// Cost: sorting is O(n log n) comparisons of keys kept in memory, most of
// them on two numbers per message (the first criterion's value, or its
// first 16 bytes, or its rank when SortKeyCache gave ranks). THREAD
// builds its tree without recursion (a 100k-long reply chain is fine) and
// spends at most kMaxThreadLoopChecks steps checking for loops beyond the
// cheap cases; past that, links that would need a long check are not made.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
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

// Numbers that order like a message's folded strings among all messages
// ranked together (equal strings, equal ranks), so that a sort compares
// integers instead of strings. SortKeyCache computes them once per mailbox.
struct SortRanks {
  std::uint32_t subject = 0, from = 0, to = 0, cc = 0, display_from = 0, display_to = 0;
};
// Bits of SortItem::ranked: which of `ranks` are set.
inline constexpr std::uint16_t RankBit(SortKey key) {
  return static_cast<std::uint16_t>(1u << static_cast<unsigned>(key));
}

// One message to sort or thread. `keys` points into storage the caller
// keeps alive.
struct SortItem {
  std::uint32_t seq = 0;
  storage::Uid uid = 0;
  std::int64_t internal_date = 0;
  std::uint64_t size = 0;
  mime::SortKeysView keys;
  // Ranks of the string keys whose RankBit is in `ranked`; a key's ranks
  // are used only when every item compared has them (the same ranking).
  std::uint16_t ranked = 0;
  SortRanks ranks;
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

// Bytes [from, from + 8) of `s` as a number that orders like them (missing
// bytes count as 0, which sorts first as the end of a string does).
inline std::uint64_t StringPrefix(std::string_view s, std::size_t from) {
  std::uint64_t v = 0;
  for (std::size_t i = from; i < from + 8; ++i) {
    v = (v << 8) | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0u);
  }
  return v;
}

// The encoded keys of each blob (index for index), read from `view` in
// blob order (neighbouring lookups share the store's pages); each decodes
// with mime::DecodeSortKeys. Keys of a blob stored without them, or in a
// form this build does not read, are computed from the message and kept in
// `*arena`; "" for a message that cannot be read at all. Valid while
// `view` and `*arena` live. `decoded` (may be null) gets them decoded.
// `each` (may be empty) is called for each blob in the order they are read,
// with its index and keys (encoded, decoded), while the store's page that
// holds them is at hand.
using SortKeysFn =
    std::function<void(std::size_t index, std::string_view encoded, const mime::SortKeysView&)>;
std::vector<std::string_view> ReadEncodedSortKeys(
    storage::ReadView& view, const std::vector<const storage::BlobId*>& blobs,
    std::deque<std::string>* arena, std::vector<mime::SortKeysView>* decoded = nullptr,
    const SortKeysFn& each = {});

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
