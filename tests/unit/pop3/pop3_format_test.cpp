#include "protocols/pop3/pop3_format.h"

#include <gtest/gtest.h>

namespace pillarbox::pop3 {
namespace {

TEST(SplitCommand, KeywordIsUpperCasedAndArgumentsSplit) {
  auto c = SplitCommand("retr 1");
  EXPECT_EQ(c.name, "RETR");
  EXPECT_EQ(c.rest, "1");
  ASSERT_EQ(c.args.size(), 1u);
  EXPECT_EQ(c.args[0], "1");

  auto t = SplitCommand("Top  2   10");
  EXPECT_EQ(t.name, "TOP");
  ASSERT_EQ(t.args.size(), 2u);
  EXPECT_EQ(t.args[0], "2");
  EXPECT_EQ(t.args[1], "10");

  auto p = SplitCommand("PASS  pass word ");
  EXPECT_EQ(p.rest, " pass word ");

  auto n = SplitCommand("STAT");
  EXPECT_EQ(n.name, "STAT");
  EXPECT_TRUE(n.rest.empty());
  EXPECT_TRUE(n.args.empty());

  auto e = SplitCommand("");
  EXPECT_TRUE(e.name.empty());
  auto trailing = SplitCommand("NOOP ");
  EXPECT_EQ(trailing.name, "NOOP");
  EXPECT_TRUE(trailing.args.empty());
}

TEST(ParseNumber, AcceptsOnlyPlainDecimal) {
  EXPECT_EQ(ParseNumber("0"), 0u);
  EXPECT_EQ(ParseNumber("1"), 1u);
  EXPECT_EQ(ParseNumber("007"), 7u);
  EXPECT_EQ(ParseNumber("4294967295"), 4294967295u);
  EXPECT_FALSE(ParseNumber("4294967296").has_value());
  EXPECT_FALSE(ParseNumber("99999999999").has_value());
  EXPECT_FALSE(ParseNumber("").has_value());
  EXPECT_FALSE(ParseNumber("-1").has_value());
  EXPECT_FALSE(ParseNumber("+1").has_value());
  EXPECT_FALSE(ParseNumber("1a").has_value());
  EXPECT_FALSE(ParseNumber(" 1").has_value());
}

std::string StuffWhole(std::string_view m) {
  DotStuffer s;
  std::string out;
  s.Append(m, out);
  s.Finish(out);
  return out;
}

TEST(DotStuffer, EdgeCases) {
  EXPECT_EQ(StuffWhole(""), ".\r\n");
  EXPECT_EQ(StuffWhole("a\r\n"), "a\r\n.\r\n");
  EXPECT_EQ(StuffWhole("a"), "a\r\n.\r\n");  // no final CRLF
  EXPECT_EQ(StuffWhole("."), "..\r\n.\r\n");
  EXPECT_EQ(StuffWhole(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(StuffWhole("..\r\n"), "...\r\n.\r\n");
  EXPECT_EQ(StuffWhole("a.b\r\n.x\r\n"), "a.b\r\n..x\r\n.\r\n");
  EXPECT_EQ(StuffWhole("\r\n.\r\n\r\n"), "\r\n..\r\n\r\n.\r\n");
  EXPECT_EQ(StuffWhole("x\r\n."), "x\r\n..\r\n.\r\n");
}

TEST(DotStuffer, SameOutputAtEverySplit) {
  const std::string m = ".start\r\nmid.dle\r\n.\r\n..\r\n\r\n.end";
  const std::string whole = StuffWhole(m);
  for (std::size_t i = 0; i <= m.size(); ++i) {
    for (std::size_t j = i; j <= m.size(); ++j) {
      DotStuffer s;
      std::string out;
      s.Append(std::string_view(m).substr(0, i), out);
      s.Append(std::string_view(m).substr(i, j - i), out);
      s.Append(std::string_view(m).substr(j), out);
      s.Finish(out);
      ASSERT_EQ(out, whole) << i << " " << j;
    }
  }
  DotStuffer bytewise;
  std::string out;
  for (char c : m) bytewise.Append(std::string_view(&c, 1), out);
  bytewise.Finish(out);
  EXPECT_EQ(out, whole);
}

TEST(TopExtent, HeaderBlankLineAndLines) {
  const std::string m = "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
  EXPECT_EQ(m.substr(0, TopExtent(m, 0)), "A: 1\r\nB: 2\r\n\r\n");
  EXPECT_EQ(m.substr(0, TopExtent(m, 1)), "A: 1\r\nB: 2\r\n\r\nl1\r\n");
  EXPECT_EQ(m.substr(0, TopExtent(m, 3)), m);
  EXPECT_EQ(TopExtent(m, 100), m.size());
  // Header only: sent whole.
  EXPECT_EQ(TopExtent("A: 1\r\nB: 2\r\n", 0), 12u);
  // Empty header.
  EXPECT_EQ(TopExtent("\r\nbody\r\n", 0), 2u);
  EXPECT_EQ(TopExtent("\r\nbody\r\n", 1), 8u);
  // Last body line without CRLF.
  EXPECT_EQ(TopExtent("A: 1\r\n\r\nx", 5), 9u);
  EXPECT_EQ(TopExtent("", 0), 0u);
}

}  // namespace
}  // namespace pillarbox::pop3
