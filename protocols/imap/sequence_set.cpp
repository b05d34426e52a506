#include "protocols/imap/sequence_set.h"

#include <algorithm>

namespace pillarbox::imap {
namespace {

// Parses one nz-number or "*" at text[pos...]; advances pos.
bool ParseNumber(std::string_view text, std::size_t& pos, std::uint32_t& out) {
  if (pos < text.size() && text[pos] == '*') {
    ++pos;
    out = SequenceSet::kStar;
    return true;
  }
  std::uint64_t v = 0;
  std::size_t start = pos;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    v = v * 10 + static_cast<std::uint64_t>(text[pos] - '0');
    if (v > 0xffffffffull) return false;
    ++pos;
  }
  if (pos == start || v == 0) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

std::uint32_t ResolveStar(std::uint32_t n, std::uint32_t largest) {
  return n == SequenceSet::kStar ? largest : n;
}

}  // namespace

Result<SequenceSet> SequenceSet::Parse(std::string_view text) {
  SequenceSet set;
  std::size_t pos = 0;
  if (text.empty()) return Status::InvalidArgument("Invalid messageset");
  while (true) {
    SeqRange r;
    if (!ParseNumber(text, pos, r.lo)) return Status::InvalidArgument("Invalid messageset");
    r.hi = r.lo;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!ParseNumber(text, pos, r.hi)) return Status::InvalidArgument("Invalid messageset");
    }
    set.raw_.push_back(r);
    if (pos == text.size()) break;
    if (text[pos] != ',') return Status::InvalidArgument("Invalid messageset");
    ++pos;
  }
  return set;
}

SequenceSet SequenceSet::FromRanges(std::vector<SeqRange> ranges) {
  SequenceSet set;
  set.raw_ = std::move(ranges);
  return set;
}

SequenceSet SequenceSet::FromAscending(const std::vector<std::uint32_t>& ascending) {
  SequenceSet set;
  for (std::uint32_t n : ascending) {
    if (!set.raw_.empty() && n <= set.raw_.back().hi) continue;  // duplicate
    if (!set.raw_.empty() && n == set.raw_.back().hi + 1) {
      set.raw_.back().hi = n;
    } else {
      set.raw_.push_back({n, n});
    }
  }
  set.sorted_ = true;
  return set;
}

bool SequenceSet::HasStar() const {
  for (const SeqRange& r : raw_) {
    if (r.lo == kStar || r.hi == kStar) return true;
  }
  return false;
}

std::vector<SeqRange> SequenceSet::Resolve(std::uint32_t largest) const {
  std::vector<SeqRange> out;
  out.reserve(raw_.size());
  for (const SeqRange& r : raw_) {
    std::uint32_t a = ResolveStar(r.lo, largest);
    std::uint32_t b = ResolveStar(r.hi, largest);
    if (a > b) std::swap(a, b);
    out.push_back({a, b});
  }
  std::sort(out.begin(), out.end(),
            [](const SeqRange& x, const SeqRange& y) { return x.lo < y.lo; });
  std::vector<SeqRange> merged;
  for (const SeqRange& r : out) {
    // Merge overlapping and adjacent ranges (hi + 1 cannot overflow past
    // the last range check because hi == UINT32_MAX covers everything).
    if (!merged.empty() && (merged.back().hi == 0xffffffffu || r.lo <= merged.back().hi + 1)) {
      merged.back().hi = std::max(merged.back().hi, r.hi);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

bool SequenceSet::Contains(std::uint32_t n, std::uint32_t largest) const {
  if (sorted_) {
    // The first range ending at or after n.
    auto it = std::lower_bound(raw_.begin(), raw_.end(), n,
                               [](const SeqRange& r, std::uint32_t v) { return r.hi < v; });
    return it != raw_.end() && it->lo <= n;
  }
  for (const SeqRange& r : raw_) {
    std::uint32_t a = ResolveStar(r.lo, largest);
    std::uint32_t b = ResolveStar(r.hi, largest);
    if (a > b) std::swap(a, b);
    if (n >= a && n <= b) return true;
  }
  return false;
}

std::string SequenceSet::ToString(std::uint32_t largest) const {
  std::string out;
  for (const SeqRange& r : Resolve(largest)) {
    if (!out.empty()) out += ',';
    out += std::to_string(r.lo);
    if (r.hi != r.lo) {
      out += ':';
      out += std::to_string(r.hi);
    }
  }
  return out;
}

std::string FormatSequenceSet(const std::vector<std::uint32_t>& ascending) {
  std::string out;
  std::size_t i = 0;
  while (i < ascending.size()) {
    std::uint32_t lo = ascending[i];
    std::uint32_t hi = lo;
    ++i;
    while (i < ascending.size() && (ascending[i] == hi || ascending[i] == hi + 1)) {
      hi = ascending[i];
      ++i;
    }
    if (!out.empty()) out += ',';
    out += std::to_string(lo);
    if (hi != lo) {
      out += ':';
      out += std::to_string(hi);
    }
  }
  return out;
}

Result<std::vector<std::uint32_t>> SelectBySequence(const SequenceSet& set, std::size_t count) {
  if (count == 0) return Status::InvalidArgument("Invalid messageset");
  std::uint32_t largest = static_cast<std::uint32_t>(std::min<std::size_t>(count, 0xffffffffu));
  // Dovecot's rule: "n:*" works for n <= count; other numbers must exist.
  for (const SeqRange& r : set.raw()) {
    if ((r.lo != SequenceSet::kStar && r.lo > largest) ||
        (r.hi != SequenceSet::kStar && r.hi > largest)) {
      return Status::InvalidArgument("Invalid messageset");
    }
  }
  std::vector<std::uint32_t> out;
  for (const SeqRange& r : set.Resolve(largest)) {
    for (std::uint64_t n = r.lo; n <= r.hi; ++n) out.push_back(static_cast<std::uint32_t>(n - 1));
  }
  return out;
}

std::vector<std::uint32_t> SelectByUid(const SequenceSet& set,
                                       const std::vector<std::uint32_t>& uids) {
  std::vector<std::uint32_t> out;
  if (uids.empty()) return out;
  for (const SeqRange& r : set.Resolve(uids.back())) {
    auto it = std::lower_bound(uids.begin(), uids.end(), r.lo);
    for (; it != uids.end() && *it <= r.hi; ++it) {
      out.push_back(static_cast<std::uint32_t>(it - uids.begin()));
    }
  }
  return out;
}

}  // namespace pillarbox::imap
