#include "protocols/imap/mailbox_pattern.h"

#include <algorithm>

namespace pillarbox::imap {
namespace {

bool IsWildcard(char c) { return c == '*' || c == '%'; }

void SetBit(std::vector<std::uint64_t>& bits, std::size_t offset, std::size_t i) {
  bits[offset + i / 64] |= std::uint64_t{1} << (i % 64);
}

}  // namespace

MailboxPattern::MailboxPattern(std::string_view pattern) {
  for (char c : pattern) {
    if (IsWildcard(c) && !pattern_.empty() && IsWildcard(pattern_.back())) {
      if (c == '*') pattern_.back() = '*';
      continue;
    }
    pattern_.push_back(c);
  }
  for (char c : pattern_) {
    if (IsWildcard(c)) {
      has_wildcard_ = true;
    } else {
      ++literal_bytes_;
    }
  }
  if (!has_wildcard_) return;
  const std::size_t m = pattern_.size();
  words_ = (m + 1 + 63) / 64;
  literal_.assign(256 * words_, 0);
  star_.assign(words_, 0);
  percent_.assign(words_, 0);
  for (std::size_t i = 0; i < m; ++i) {
    char c = pattern_[i];
    if (c == '*') {
      SetBit(star_, 0, i);
    } else if (c == '%') {
      SetBit(percent_, 0, i);
    } else {
      SetBit(literal_, static_cast<unsigned char>(c) * words_, i);
    }
  }
}

bool MailboxPattern::Matches(std::string_view name, std::uint64_t* steps) const {
  if (!has_wildcard_) return name == pattern_;
  if (name.size() < literal_bytes_) return false;
  const std::size_t m = pattern_.size();
  // State i: the first i pattern bytes match the name bytes read so far.
  // Wildcards never follow each other, so one shift closes the set under
  // "a wildcard may match nothing".
  std::vector<std::uint64_t> cur(words_, 0), next(words_, 0);
  cur[0] = 1;
  if (star_[0] & 1 || percent_[0] & 1) cur[0] |= 2;
  std::size_t hi = 0;  // no state above word `hi` is set
  std::uint64_t work = 0;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    const std::uint64_t* lit = &literal_[c * words_];
    const bool crosses = ch != '/';
    // States move up by at most two per byte: one word of headroom.
    const std::size_t top = std::min(words_ - 1, hi + 1);
    std::uint64_t carry = 0;
    std::uint64_t any = 0;
    std::size_t new_hi = 0;
    for (std::size_t w = 0; w <= top; ++w) {
      const std::uint64_t d = cur[w];
      const std::uint64_t moved = d & lit[w];
      std::uint64_t n = (moved << 1) | carry;
      carry = moved >> 63;
      n |= d & star_[w];
      if (crosses) n |= d & percent_[w];
      next[w] = n;
    }
    // Closure: a state at a wildcard also enables the state after it.
    carry = 0;
    for (std::size_t w = 0; w <= top; ++w) {
      const std::uint64_t wild = next[w] & (star_[w] | percent_[w]);
      next[w] |= (wild << 1) | carry;
      carry = wild >> 63;
      any |= next[w];
      if (next[w] != 0) new_hi = w;
    }
    std::fill(next.begin() + static_cast<std::ptrdiff_t>(top) + 1, next.end(), 0);
    work += top + 1;
    std::swap(cur, next);
    hi = new_hi;
    if (any == 0) break;
  }
  if (steps != nullptr) *steps += work;
  return (cur[m / 64] >> (m % 64)) & 1;
}

}  // namespace pillarbox::imap
