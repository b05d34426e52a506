// IMAP sequence sets (RFC 3501 section 9, "sequence-set"): "1:4,7,*,10:*".
//
// A SequenceSet keeps the ranges as written, with "*" unresolved, because
// "*" means the largest message sequence number or UID at the moment the set
// is used (a set can outlive a change of mailbox size, e.g. in SEARCH).
// Resolving replaces "*", orders each range (4:2 is 2:4), sorts and merges.
//
// UID sets: a range "N:*" always includes the largest UID in use even when
// N is greater than it (RFC 3501 6.4.8) — ordering the range after resolving
// "*" gives exactly that. UIDs that do not exist are silently ignored.
// Message sequence sets: every number must exist; Dovecot answers BAD
// "Invalid messageset" otherwise, which SelectBySequence reports as
// kInvalidArgument.
//
// "$" (SEARCHRES, RFC 5182) is not a SequenceSet: it names the session's
// saved search result, so the callers (SelectMessages, the SEARCH parser)
// recognize it before parsing and build the set with FromAscending().
//
// Thread-safety: values; pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pillarbox::imap {

// An inclusive range of message numbers, lo <= hi.
struct SeqRange {
  std::uint32_t lo = 0;
  std::uint32_t hi = 0;
  bool operator==(const SeqRange&) const = default;
};

class SequenceSet {
 public:
  // In raw ranges, kStar stands for "*". Real numbers are >= 1.
  static constexpr std::uint32_t kStar = 0;

  // Parses an atom. Numbers are nz-number (1..4294967295, no leading zero
  // rule enforced beyond "0" being invalid). Fails with kInvalidArgument on
  // an empty set, "0", overflow, a trailing comma or any other character.
  static Result<SequenceSet> Parse(std::string_view text);

  // A set of single numbers/ranges already resolved (for callers building
  // sets from search results).
  static SequenceSet FromRanges(std::vector<SeqRange> ranges);
  // The set of the given numbers (ascending, duplicates allowed), as
  // merged ranges; Contains() on it is a binary search, so a large saved
  // result ("$") costs O(log ranges) per message.
  static SequenceSet FromAscending(const std::vector<std::uint32_t>& ascending);

  // The ranges as written: kStar for "*", not ordered, not merged.
  const std::vector<SeqRange>& raw() const { return raw_; }
  bool HasStar() const;

  // "*" replaced by `largest`, each range ordered, sorted ascending, merged.
  // With largest == 0 (empty mailbox) "*" resolves to 0 and a range "*"
  // alone resolves to {0,0}; callers handle the empty mailbox first.
  std::vector<SeqRange> Resolve(std::uint32_t largest) const;

  // Whether `n` is in the set when "*" is `largest`. O(number of ranges),
  // O(log ranges) for a set from FromAscending().
  bool Contains(std::uint32_t n, std::uint32_t largest) const;

  // The canonical text of the resolved set: "1:3,5,7:9".
  std::string ToString(std::uint32_t largest) const;

 private:
  std::vector<SeqRange> raw_;
  bool sorted_ = false;  // raw_ ascending, disjoint, no "*" (FromAscending)
};

// Formats ascending numbers (duplicates allowed) as a compact set: "1:3,5".
// Empty input gives "". Used for COPYUID/APPENDUID and ESEARCH.
std::string FormatSequenceSet(const std::vector<std::uint32_t>& ascending);

// Message indexes (0-based; index i is sequence number i+1), ascending and
// unique, selected by a message sequence set from a mailbox of `count`
// messages. kInvalidArgument ("Invalid messageset") when the mailbox is empty
// or a number other than "*" exceeds `count` (Dovecot's rule: "n:*" works for
// n <= count).
Result<std::vector<std::uint32_t>> SelectBySequence(const SequenceSet& set, std::size_t count);

// Message indexes (0-based), ascending and unique, of the UIDs in `uids`
// (ascending, one per message, index i is sequence number i+1) that the UID
// set selects. Never fails: UIDs not present are ignored. Cost:
// O(ranges * log(count) + selected).
std::vector<std::uint32_t> SelectByUid(const SequenceSet& set,
                                       const std::vector<std::uint32_t>& uids);

}  // namespace pillarbox::imap
