#include "protocols/smtp/data_decoder.h"

#include <gtest/gtest.h>

namespace pillarbox::smtp {
namespace {

struct Decoded {
  std::string body;
  bool done = false;
  std::size_t consumed = 0;  // bytes of input used up to the terminator
  bool overflow = false;
  std::size_t size = 0;
};

Decoded DecodeChunks(const std::vector<std::string_view>& chunks, std::size_t limit = 1 << 20) {
  DotDecoder d(limit);
  Decoded out;
  for (auto c : chunks) {
    if (out.done) break;
    bool done = false;
    std::size_t used = d.Feed(c, &out.body, &done);
    out.consumed += used;
    if (done)
      out.done = true;
    else
      EXPECT_EQ(used, c.size());
  }
  out.overflow = d.overflow();
  out.size = d.size();
  return out;
}

// Whole, byte by byte, and split at every point: the same result.
void ExpectDecodes(std::string_view input, std::string_view body) {
  const std::size_t consumed = input.size();
  auto whole = DecodeChunks({input});
  EXPECT_TRUE(whole.done) << input;
  EXPECT_EQ(whole.body, body) << input;
  EXPECT_EQ(whole.consumed, consumed);
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  auto one = DecodeChunks(bytes);
  EXPECT_TRUE(one.done);
  EXPECT_EQ(one.body, body);
  EXPECT_EQ(one.consumed, consumed);
  for (std::size_t split = 0; split <= input.size(); ++split) {
    auto two = DecodeChunks({input.substr(0, split), input.substr(split)});
    EXPECT_TRUE(two.done) << split;
    EXPECT_EQ(two.body, body) << split;
    EXPECT_EQ(two.consumed, consumed) << split;
  }
}

TEST(DotDecoder, SimpleMessage) {
  ExpectDecodes("Subject: x\r\n\r\nhello\r\n.\r\n", "Subject: x\r\n\r\nhello\r\n");
}

TEST(DotDecoder, EmptyMessage) { ExpectDecodes(".\r\n", ""); }

TEST(DotDecoder, StuffedLines) {
  // ".." is one dot, "..." two, a stuffed line with text loses one dot.
  ExpectDecodes("a\r\n..\r\n...\r\n..text\r\n.\r\n", "a\r\n.\r\n..\r\n.text\r\n");
}

TEST(DotDecoder, DotFollowedByCrWithoutLf) { ExpectDecodes("a\r\n.\rb\r\n.\r\n", "a\r\n\rb\r\n"); }

TEST(DotDecoder, DotsInsideLinesStay) { ExpectDecodes("a.b\r\nx.\r\n.\r\n", "a.b\r\nx.\r\n"); }

TEST(DotDecoder, BareLfDoesNotStartALine) {
  // "<LF>.<CRLF>" is content (SMTP smuggling), and so is "<CR>.<CR><LF>".
  ExpectDecodes("a\n.\r\nb\r.\r\nc\r\n.\r\n", "a\n.\r\nb\r.\r\nc\r\n");
}

TEST(DotDecoder, MessageWithoutFinalNewlineBeforeDotIsNotEnded) {
  auto r = DecodeChunks({"abc.\r\n"});
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.body, "abc.\r\n");
}

TEST(DotDecoder, StopsRightAfterTerminator) {
  auto r = DecodeChunks({"x\r\n.\r\nQUIT\r\n"});
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.consumed, 6u);
  EXPECT_EQ(r.body, "x\r\n");
}

TEST(DotDecoder, TerminatorSplitAcrossChunks) {
  auto r = DecodeChunks({"body\r", "\n.", "\r", "\n"});
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.body, "body\r\n");
}

TEST(DotDecoder, LimitCountsButDropsBytes) {
  auto r = DecodeChunks({"0123456789\r\n", "abcdef\r\n.\r\n"}, 10);
  EXPECT_TRUE(r.done);
  EXPECT_TRUE(r.overflow);
  EXPECT_EQ(r.body, "0123456789");
  EXPECT_EQ(r.size, 20u);
  auto exact = DecodeChunks({"12345678\r\n.\r\n"}, 10);
  EXPECT_FALSE(exact.overflow);
  EXPECT_EQ(exact.size, 10u);
}

TEST(DotDecoder, LongLinesAreKept) {
  std::string line(5000, 'x');
  auto r = DecodeChunks({line + "\r\n.\r\n"});
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.body, line + "\r\n");
}

}  // namespace
}  // namespace pillarbox::smtp
