// LIST/LSUB pattern matching: wildcards, the "%" delimiter rule, and a
// bound on the work of hostile patterns.
#include "protocols/imap/mailbox_pattern.h"

#include <gtest/gtest.h>

#include <string>

namespace pillarbox::imap {
namespace {

bool M(std::string_view pattern, std::string_view name) {
  return MailboxPattern(pattern).Matches(name);
}

TEST(MailboxPatternTest, Literals) {
  EXPECT_TRUE(M("INBOX", "INBOX"));
  EXPECT_FALSE(M("INBOX", "INBOX/a"));
  EXPECT_FALSE(M("INBOX", "INBO"));
  EXPECT_TRUE(M("", ""));
  EXPECT_FALSE(M("", "a"));
  EXPECT_TRUE(M("Ärger/ß", "Ärger/ß"));
}

TEST(MailboxPatternTest, Star) {
  EXPECT_TRUE(M("*", ""));
  EXPECT_TRUE(M("*", "a/b/c"));
  EXPECT_TRUE(M("a*", "a"));
  EXPECT_TRUE(M("a*", "a/b"));
  EXPECT_FALSE(M("a*", "ba"));
  EXPECT_TRUE(M("*c", "a/b/c"));
  EXPECT_TRUE(M("a*b*c", "a/xb/yc"));
  EXPECT_TRUE(M("a*b*c", "abc"));
  EXPECT_FALSE(M("a*b*c", "acb"));
  EXPECT_TRUE(M("*a*", "xxaxx"));
  EXPECT_FALSE(M("*a*", "xxxx"));
  EXPECT_TRUE(M("**", "x/y"));
}

TEST(MailboxPatternTest, PercentStopsAtTheDelimiter) {
  EXPECT_TRUE(M("%", "a"));
  EXPECT_TRUE(M("%", ""));
  EXPECT_FALSE(M("%", "a/b"));
  EXPECT_TRUE(M("a/%", "a/b"));
  EXPECT_FALSE(M("a/%", "a/b/c"));
  EXPECT_TRUE(M("%/%", "a/b"));
  EXPECT_FALSE(M("%/%", "a/b/c"));
  EXPECT_TRUE(M("%/%/%", "a/b/c"));
  EXPECT_TRUE(M("a%", "abc"));
  EXPECT_FALSE(M("a%", "ab/c"));
  EXPECT_TRUE(M("%b%", "abc"));
  EXPECT_FALSE(M("%b%", "a/bc"));
  EXPECT_TRUE(M("%a/%", "xa/y"));
  EXPECT_FALSE(M("%a/%", "a/a/x"));
  EXPECT_TRUE(M("%%", "ab"));
  EXPECT_FALSE(M("%%", "a/b"));
}

TEST(MailboxPatternTest, MixedWildcards) {
  // "*" may cross the delimiter where "%" cannot: "*" must take over.
  EXPECT_TRUE(M("*a%b", "x/ya/zab"));
  EXPECT_TRUE(M("*/%", "a/b/c"));
  EXPECT_FALSE(M("*/%", "abc"));
  EXPECT_TRUE(M("%*", "a/b"));  // collapses to "*"
  EXPECT_TRUE(M("*%", "a/b"));
  EXPECT_TRUE(M("a%*%c", "ab/bc"));
  EXPECT_FALSE(M("%/*x", "a/b/c"));
  EXPECT_TRUE(M("%/*c", "a/b/c"));
}

TEST(MailboxPatternTest, CollapsesWildcardRuns) {
  EXPECT_EQ(MailboxPattern("a**%%b%%c*%d%*e").pattern(), "a*b%c*d*e");
}

// Compares with a straightforward recursive matcher on every pattern over a
// small alphabet, against every name over it up to a length.
bool Reference(std::string_view p, std::string_view n) {
  if (p.empty()) return n.empty();
  if (p[0] == '*') {
    for (std::size_t k = 0; k <= n.size(); ++k) {
      if (Reference(p.substr(1), n.substr(k))) return true;
    }
    return false;
  }
  if (p[0] == '%') {
    for (std::size_t k = 0; k <= n.size(); ++k) {
      if (Reference(p.substr(1), n.substr(k))) return true;
      if (k < n.size() && n[k] == '/') return false;
    }
    return false;
  }
  return !n.empty() && n[0] == p[0] && Reference(p.substr(1), n.substr(1));
}

void AllStrings(const std::string& alphabet, std::size_t max, std::vector<std::string>& out,
                std::string prefix = "") {
  out.push_back(prefix);
  if (prefix.size() == max) return;
  for (char c : alphabet) AllStrings(alphabet, max, out, prefix + c);
}

TEST(MailboxPatternTest, AgreesWithReferenceOnSmallCases) {
  std::vector<std::string> patterns, names;
  AllStrings("a/*%", 4, patterns);
  AllStrings("ab/", 5, names);
  for (const auto& p : patterns) {
    MailboxPattern compiled(p);
    for (const auto& n : names) {
      ASSERT_EQ(compiled.Matches(n), Reference(p, n)) << "pattern " << p << " name " << n;
    }
  }
}

TEST(MailboxPatternTest, LongPatternsCrossWordBoundaries) {
  std::string name(300, 'a');
  name[150] = '/';
  std::string pattern = std::string(100, 'a') + "%" + std::string(40, 'a') + "/*" + "a";
  EXPECT_TRUE(M(pattern, name));
  EXPECT_FALSE(M(std::string(100, 'a') + "%" + std::string(60, 'a') + "/*", name));
  EXPECT_TRUE(M(std::string(149, 'a') + "%/" + std::string(149, 'a'), name));
  EXPECT_TRUE(M(std::string(150, 'a') + "%/" + "%" + std::string(149, 'a'), name));
}

// Hostile patterns finish in a bounded number of steps: at most one pass
// over the name per 64 pattern bytes (plus the headroom word).
TEST(MailboxPatternTest, HostilePatternsAreBounded) {
  std::string name(1000, 'a');
  std::string pattern;
  while (pattern.size() + 2 <= 1000) pattern += "*a";
  pattern.back() = 'b';
  for (const std::string& p : {pattern, std::string("%a%a%a%a%a%a%a%a%a%a%a%a%b")}) {
    MailboxPattern compiled(p);
    std::uint64_t steps = 0;
    EXPECT_FALSE(compiled.Matches(name, &steps));
    EXPECT_GT(steps, 0u);
    EXPECT_LE(steps, name.size() * ((p.size() + 1 + 63) / 64 + 1));
  }
  // More literal bytes than the name has: refused without a step.
  std::uint64_t steps = 0;
  EXPECT_FALSE(MailboxPattern(pattern).Matches(std::string(400, 'a'), &steps));
  EXPECT_EQ(steps, 0u);
}

}  // namespace
}  // namespace pillarbox::imap
