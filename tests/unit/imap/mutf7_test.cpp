#include "protocols/imap/mutf7.h"

#include <gtest/gtest.h>

namespace pillarbox::imap {
namespace {

TEST(Mutf7, AsciiPassesThrough) {
  EXPECT_EQ(Mutf7ToUtf8("INBOX/Sent Items").value(), "INBOX/Sent Items");
  EXPECT_EQ(Utf8ToMutf7("INBOX/Sent Items").value(), "INBOX/Sent Items");
}

TEST(Mutf7, Ampersand) {
  EXPECT_EQ(Utf8ToMutf7("Tom & Jerry").value(), "Tom &- Jerry");
  EXPECT_EQ(Mutf7ToUtf8("Tom &- Jerry").value(), "Tom & Jerry");
}

TEST(Mutf7, Rfc3501Example) {
  // "~peter/mail/台北/日本語" from RFC 3501 5.1.3.
  std::string utf8 = "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";
  EXPECT_EQ(Utf8ToMutf7(utf8).value(), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  EXPECT_EQ(Mutf7ToUtf8("~peter/mail/&U,BTFw-/&ZeVnLIqe-").value(), utf8);
}

TEST(Mutf7, LatinAndAstral) {
  EXPECT_EQ(Utf8ToMutf7("Entw\xc3\xbcrfe").value(), "Entw&APw-rfe");
  EXPECT_EQ(Mutf7ToUtf8("Entw&APw-rfe").value(), "Entw\xc3\xbcrfe");
  std::string emoji = "\xf0\x9f\x93\xa7";  // U+1F4E7
  auto wire = Utf8ToMutf7(emoji);
  ASSERT_TRUE(wire.has_value());
  EXPECT_EQ(*wire, "&2D3c5w-");
  EXPECT_EQ(Mutf7ToUtf8(*wire).value(), emoji);
}

TEST(Mutf7, InvalidWireNames) {
  EXPECT_FALSE(Mutf7ToUtf8("caf\xc3\xa9").has_value());  // raw 8-bit
  EXPECT_FALSE(Mutf7ToUtf8("a&APw").has_value());        // unterminated
  EXPECT_FALSE(Mutf7ToUtf8("a&-&").has_value());
  EXPECT_FALSE(Mutf7ToUtf8("&AGE-").has_value());  // "a" encoded
  EXPECT_FALSE(Mutf7ToUtf8("&2D0-").has_value());  // lone high surrogate
  EXPECT_FALSE(Mutf7ToUtf8("&APx-").has_value());  // nonzero padding bits
  EXPECT_FALSE(Mutf7ToUtf8("&AP/-").has_value());  // '/' is not in the alphabet
  EXPECT_FALSE(Mutf7ToUtf8("tab\there").has_value());
}

TEST(Mutf7, InvalidUtf8) {
  EXPECT_FALSE(Utf8ToMutf7("\xc3").has_value());
  EXPECT_FALSE(Utf8ToMutf7("\xed\xa0\x80").has_value());  // surrogate
  EXPECT_FALSE(Utf8ToMutf7("\xc0\xaf").has_value());      // overlong
}

TEST(Mutf7, RoundTripsManyCodePoints) {
  for (std::uint32_t cp = 0x80; cp < 0x3000; cp += 7) {
    std::string s = "x";
    if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
    s += s.substr(1);  // two in a row
    auto wire = Utf8ToMutf7(s);
    ASSERT_TRUE(wire.has_value()) << cp;
    auto back = Mutf7ToUtf8(*wire);
    ASSERT_TRUE(back.has_value()) << cp << " " << *wire;
    EXPECT_EQ(*back, s);
  }
}

}  // namespace
}  // namespace pillarbox::imap
