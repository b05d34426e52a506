#include "common/strings.h"

#include <gtest/gtest.h>

namespace pillarbox {
namespace {

TEST(StringsTest, AsciiFoldKeepsNonAsciiBytes) {
  EXPECT_EQ(AsciiFold("HeLLo@Example.ORG"), "hello@example.org");
  EXPECT_EQ(AsciiFold("ÄÖÜ-Ab"), "ÄÖÜ-ab");
  EXPECT_EQ(AsciiFold(""), "");
  EXPECT_EQ(AsciiFold("[\\]^_`{|}~@"), "[\\]^_`{|}~@");
}

TEST(StringsTest, CaseInsensitiveComparisons) {
  EXPECT_TRUE(EqualsIgnoreAsciiCase("INBOX", "inbox"));
  EXPECT_TRUE(EqualsIgnoreAsciiCase("", ""));
  EXPECT_FALSE(EqualsIgnoreAsciiCase("inbox", "inbox2"));
  EXPECT_FALSE(EqualsIgnoreAsciiCase("é", "É"));
  EXPECT_TRUE(StartsWithIgnoreAsciiCase("INBOX/sub", "inbox/"));
  EXPECT_FALSE(StartsWithIgnoreAsciiCase("INB", "inbox"));
  EXPECT_EQ(CompareIgnoreAsciiCase("abc", "ABD"), -1);
  EXPECT_EQ(CompareIgnoreAsciiCase("ABC", "abc"), 0);
  EXPECT_EQ(CompareIgnoreAsciiCase("abcd", "ABC"), 1);
  EXPECT_EQ(CompareIgnoreAsciiCase("ab", "abc"), -1);
  EXPECT_EQ(CompareIgnoreAsciiCase("\xff", "a"), 1);  // unsigned bytes
}

TEST(StringsTest, BigEndianRoundTripsAndSortsBytewise) {
  std::string s;
  PutBigEndian64(s, 0x0102030405060708ull);
  PutBigEndian32(s, 0xA0B0C0D0u);
  PutBigEndian16(s, 0xBEEF);
  ASSERT_EQ(s.size(), 14u);
  EXPECT_EQ(s.substr(0, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(GetBigEndian64(s.data()), 0x0102030405060708ull);
  EXPECT_EQ(GetBigEndian32(s.data() + 8), 0xA0B0C0D0u);
  EXPECT_EQ(GetBigEndian16(s.data() + 12), 0xBEEF);
  std::string a, b;
  PutBigEndian64(a, 255);
  PutBigEndian64(b, 256);
  EXPECT_LT(a, b);
}

TEST(StringsTest, OrderedInt64SortsNegativesFirst) {
  std::vector<std::int64_t> values = {INT64_MIN, -1000, -1, 0, 1, 1000, INT64_MAX};
  std::string prev;
  for (auto v : values) {
    std::string k;
    PutOrderedInt64(k, v);
    EXPECT_EQ(GetOrderedInt64(k.data()), v);
    if (!prev.empty()) EXPECT_LT(prev, k) << v;
    prev = k;
  }
}

}  // namespace
}  // namespace pillarbox

namespace pillarbox {
namespace {

TEST(EscapeForLogTest, KeepsPlainTextAndUtf8) {
  EXPECT_EQ(EscapeForLog("alice@example.org"), "alice@example.org");
  EXPECT_EQ(EscapeForLog("j\xc3\xb6rg"), "j\xc3\xb6rg");
}

TEST(EscapeForLogTest, EscapesWhatCouldForgeAField) {
  EXPECT_EQ(EscapeForLog("a b"), "a\\x20b");
  EXPECT_EQ(EscapeForLog("x\" rip=1.2.3.4"), "x\\x22\\x20rip=1.2.3.4");
  EXPECT_EQ(EscapeForLog("a\r\nb\t\\\x7f"), "a\\x0d\\x0ab\\x09\\x5c\\x7f");
  EXPECT_EQ(EscapeForLog(std::string_view("\0", 1)), "\\x00");
}

TEST(EscapeForLogTest, CutsLongValues) {
  EXPECT_EQ(EscapeForLog("abcdef", 4), "abcd...");
  EXPECT_EQ(EscapeForLog("abcd", 4), "abcd");
  EXPECT_EQ(EscapeForLog(std::string(1000, 'x')).size(), 256u + 3);
}

}  // namespace
}  // namespace pillarbox
