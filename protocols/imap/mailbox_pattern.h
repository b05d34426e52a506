// LIST/LSUB mailbox patterns (RFC 3501 6.3.8): "*" matches any run of
// characters, "%" any run without the hierarchy delimiter "/"; everything
// else matches itself, byte for byte (names and patterns are UTF-8).
//
// The matcher runs the pattern as a set of states over the name, 64 states
// per machine word: the cost is O(name bytes * pattern bytes / 64) whatever
// the pattern, so a hostile pattern cannot make it backtrack. Runs of
// wildcards are collapsed first ("**", "*%", "%*" -> "*"; "%%" -> "%"), and
// a name shorter than the pattern's literal bytes is rejected at once.
//
// Thread-safety: a compiled pattern is immutable and may be shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pillarbox::imap {

// Longest LIST/LSUB pattern accepted, reference included, in bytes: twice
// the longest mailbox name (every name byte a literal with a wildcard
// beside it) is already more than any pattern that can match needs.
inline constexpr std::size_t kMaxListPatternBytes = 2048;

class MailboxPattern {
 public:
  explicit MailboxPattern(std::string_view pattern);

  // True when the pattern matches all of `name`. `steps`, when given, is
  // increased by the machine words processed (for tests of the bound).
  bool Matches(std::string_view name, std::uint64_t* steps = nullptr) const;

  // The pattern after collapsing runs of wildcards.
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::size_t literal_bytes_ = 0;
  bool has_wildcard_ = false;
  std::size_t words_ = 0;  // per state set: (pattern_.size() + 1) bits
  // literal_[c * words_ + w]: states i with pattern_[i] == c.
  std::vector<std::uint64_t> literal_;
  std::vector<std::uint64_t> star_;     // states i with pattern_[i] == '*'
  std::vector<std::uint64_t> percent_;  // states i with pattern_[i] == '%'
};

}  // namespace pillarbox::imap
