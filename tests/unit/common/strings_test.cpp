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
    if (!prev.empty()) {
      EXPECT_LT(prev, k) << v;
    }
    prev = k;
  }
}

TEST(LogSafeTest, PrintableAsciiAndUtf8AreKept) {
  EXPECT_EQ(LogSafe("alice@example.org"), "alice@example.org");
  EXPECT_EQ(LogSafe("Entwürfe/日本語 😀"), "Entwürfe/日本語 😀");
  EXPECT_EQ(LogSafe(""), "");
  EXPECT_EQ(LogSafe("back\\slash"), "back\\slash");
}

TEST(LogSafeTest, ControlBytesAreEscaped) {
  EXPECT_EQ(LogSafe("x\nINFO admin logged in"), "x\\x0aINFO admin logged in");
  EXPECT_EQ(LogSafe("a\r\nb"), "a\\x0d\\x0ab");
  EXPECT_EQ(LogSafe(std::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(LogSafe("\t\x1b[31m\x7f"), "\\x09\\x1b[31m\\x7f");
}

TEST(LogSafeTest, MalformedUtf8IsEscaped) {
  EXPECT_EQ(LogSafe("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(LogSafe("caf\xe9"), "caf\\xe9");                       // Latin-1
  EXPECT_EQ(LogSafe("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(LogSafe("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(LogSafe("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(LogSafe("\xe6\x97"), "\\xe6\\x97");                    // truncated
  EXPECT_EQ(LogSafe("\xe6\x97"
                    "a"),
            "\\xe6\\x97a");
}

TEST(LogSafeTest, LongValuesAreCutAtACharacterBoundary) {
  EXPECT_EQ(LogSafe(std::string(300, 'a')), std::string(256, 'a') + "... (300 bytes)");
  EXPECT_EQ(LogSafe("abcdef", 6), "abcdef");
  EXPECT_EQ(LogSafe("abcdefg", 6), "abcdef... (7 bytes)");
  // "é" is two bytes: it is not cut in two.
  EXPECT_EQ(LogSafe("abcdeé", 6), "abcde... (7 bytes)");
  EXPECT_EQ(LogSafe("ab\ncd", 4), "ab\\x0ac... (5 bytes)");
}

}  // namespace
}  // namespace pillarbox

namespace pillarbox {
namespace {

TEST(LogFieldTest, KeepsPlainTextAndUtf8) {
  EXPECT_EQ(LogField("alice@example.org"), "alice@example.org");
  EXPECT_EQ(LogField("j\xc3\xb6rg"), "j\xc3\xb6rg");
}

TEST(LogFieldTest, EscapesWhatCouldForgeAField) {
  EXPECT_EQ(LogField("a b"), "a\\x20b");
  EXPECT_EQ(LogField("x\" rip=1.2.3.4"), "x\\x22\\x20rip=1.2.3.4");
  EXPECT_EQ(LogField("a\r\nb\t\\\x7f"), "a\\x0d\\x0ab\\x09\\x5c\\x7f");
  EXPECT_EQ(LogField(std::string_view("\0", 1)), "\\x00");
}

TEST(LogFieldTest, CutsLongValues) {
  EXPECT_EQ(LogField("abcdef", 4), "abcd... (6 bytes)");
  EXPECT_EQ(LogField("abcd", 4), "abcd");
  EXPECT_EQ(LogField(std::string(1000, 'x')), std::string(256, 'x') + "... (1000 bytes)");
}

TEST(QuotedStringTest, EscapesForJsonAndToml) {
  EXPECT_EQ(QuotedString("plain"), "\"plain\"");
  EXPECT_EQ(QuotedString("a\"b\\c\n\r\t"), "\"a\\\"b\\\\c\\n\\r\\t\"");
  EXPECT_EQ(QuotedString(std::string_view("\0\x1f\x7f", 3)), "\"\\u0000\\u001f\\u007f\"");
}

TEST(QuotedStringTest, KeepsUtf8AndReplacesBrokenBytes) {
  EXPECT_EQ(QuotedString("j\xc3\xb6rg"), "\"j\xc3\xb6rg\"");
  EXPECT_EQ(QuotedString("a\xff"
                         "b\xc3"),
            "\"a\xef\xbf\xbd"
            "b\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace pillarbox
