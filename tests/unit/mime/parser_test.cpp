// The MIME tree and byte offsets: exact offsets, malformed input, limits.
#include <gtest/gtest.h>

#include <string>

#include "mime_test_util.h"
#include "protocols/mime/imap_render.h"
#include "protocols/mime/message.h"
#include "protocols/mime/section.h"

namespace pillarbox::mime {
namespace {

using testing::Crlf;
using testing::Fixture;

struct Offsets {
  std::uint64_t header_offset, header_size, body_offset, body_size, body_lines;
};

void ExpectOffsets(const Part& p, const Offsets& o) {
  EXPECT_EQ(p.header_offset, o.header_offset);
  EXPECT_EQ(p.header_size, o.header_size);
  EXPECT_EQ(p.body_offset, o.body_offset);
  EXPECT_EQ(p.body_size, o.body_size);
  EXPECT_EQ(p.body_lines, o.body_lines);
}

// Every part lies inside its parent and children do not overlap.
void CheckNesting(const Part& p, std::size_t raw_size) {
  EXPECT_EQ(p.body_offset, p.header_offset + p.header_size);
  EXPECT_LE(p.body_offset + p.body_size, raw_size);
  std::uint64_t prev_end = p.body_offset;
  for (const Part& c : p.children) {
    EXPECT_GE(c.header_offset, prev_end);
    EXPECT_LE(c.body_offset + c.body_size, p.body_offset + p.body_size);
    prev_end = c.body_offset + c.body_size;
    CheckNesting(c, raw_size);
  }
}

TEST(ParserTest, NestedOffsets) {
  std::string raw = Fixture("nested.eml");
  ASSERT_EQ(raw.size(), 986u);
  Part root = ParseMessage(raw);
  // Root header: 8 fields, one folded, then the empty line (counted by hand).
  ExpectOffsets(root, {0, 286, 286, 700, 39});
  ASSERT_TRUE(root.IsMultipart());
  ASSERT_EQ(root.children.size(), 2u);
  // "preamble\r\n--outer b\r\n" = 21 bytes after the header.
  ExpectOffsets(root.children[0], {307, 252, 559, 7, 1});
  const Part& msg = root.children[1];
  ExpectOffsets(msg, {579, 32, 611, 350, 21});
  ASSERT_TRUE(msg.IsMessageRfc822());
  const Part& inner = msg.children[0];
  ExpectOffsets(inner, {611, 152, 763, 198, 15});
  ASSERT_NE(inner.envelope, nullptr);
  ASSERT_EQ(inner.children.size(), 2u);
  ExpectOffsets(inner.children[0], {785, 60, 845, 11, 1});
  ExpectOffsets(inner.children[1], {864, 61, 925, 10, 1});
  EXPECT_EQ(raw.substr(845, 11), "<p>hi</p>\r\n");
  EXPECT_EQ(raw.substr(925, 10), "hi there\r\n");
  CheckNesting(root, raw.size());
}

TEST(ParserTest, CorpusNestsProperly) {
  for (const char* name :
       {"plain.eml", "attachment.eml", "missing_final_boundary.eml", "digest.eml",
        "headers_only.eml", "no_final_newline.eml", "no_delimiters.eml", "outlook_latin1.eml",
        "long_folded.eml", "forwarded.eml"}) {
    SCOPED_TRACE(name);
    std::string raw = Fixture(name);
    CheckNesting(ParseMessage(raw), raw.size());
  }
}

TEST(ParserTest, BareLfIsTolerated) {
  std::string raw =
      "Content-Type: multipart/mixed; boundary=b\n\npre\n--b\nContent-Type: text/plain\n\n"
      "one\ntwo\n--b--\nepi\n";
  Part root = ParseMessage(raw);
  ExpectOffsets(root, {0, 43, 43, 52, 8});
  ASSERT_EQ(root.children.size(), 1u);
  // "one\ntwo" (the LF before the delimiter belongs to it).
  ExpectOffsets(root.children[0], {51, 26, 77, 7, 1});
  EXPECT_EQ(raw.substr(77, 7), "one\ntwo");
}

TEST(ParserTest, MixedLineEndings) {
  std::string raw = "Subject: x\r\nFrom: a@b\n\r\nbody\n";
  Part root = ParseMessage(raw);
  ExpectOffsets(root, {0, 24, 24, 5, 1});
  EXPECT_EQ(root.envelope->subject, "x");
}

TEST(ParserTest, NulAnd8BitBytesNeverFail) {
  std::string raw = Crlf("Subject: caf\xC3\xA9\nContent-Type: text/plain; charset=\xFF\n\n");
  raw += std::string("a\0b\xFF\xFE\r\n", 7);
  Part root = ParseMessage(raw);
  EXPECT_EQ(root.body_size, 7u);
  EXPECT_EQ(root.body_lines, 1u);
  EXPECT_EQ(*root.FindParam("charset"), "\xFF");
}

TEST(ParserTest, NulInsideBoundaryLineIsNoDelimiter) {
  std::string raw = Crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n");
  raw += std::string("--b\0\r\ny\r\n--b--\r\n", 15);
  Part root = ParseMessage(raw);
  ASSERT_EQ(root.children.size(), 1u);
  EXPECT_EQ(raw.substr(root.children[0].body_offset, root.children[0].body_size),
            std::string("x\r\n--b\0\r\ny", 10));
}

TEST(ParserTest, LeadingEmptyLineMeansNoHeader) {
  Part root = ParseMessage(Crlf("\nSubject: not a header\n"));
  ExpectOffsets(root, {0, 2, 2, 23, 1});
  EXPECT_FALSE(root.envelope->subject.has_value());
}

TEST(ParserTest, PreambleAndEpilogueAreNotParts) {
  std::string raw = Crlf(
      "Content-Type: multipart/mixed; boundary=q\n\n"
      "--q is not a delimiter (text follows)\n--q\n\na\n--q\n\nb\n--q--\n--q\nepilogue\n");
  Part root = ParseMessage(raw);
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(raw.substr(root.children[0].body_offset, root.children[0].body_size), "a");
  EXPECT_EQ(raw.substr(root.children[1].body_offset, root.children[1].body_size), "b");
  EXPECT_EQ(root.body_offset + root.body_size, raw.size());
}

TEST(ParserTest, TransportPaddingAfterDelimiter) {
  std::string raw = Crlf("Content-Type: multipart/mixed; boundary=q\n\n--q  \t\n\na\n--q--  \n");
  Part root = ParseMessage(raw);
  ASSERT_EQ(root.children.size(), 1u);
  EXPECT_EQ(raw.substr(root.children[0].body_offset, root.children[0].body_size), "a");
}

TEST(ParserTest, BoundaryThatIsAPrefixOfAnother) {
  // The inner boundary "ab" starts with the outer one "a": only exact
  // delimiter lines count.
  std::string raw = Crlf(
      "Content-Type: multipart/mixed; boundary=a\n\n--a\n"
      "Content-Type: multipart/alternative; boundary=ab\n\n--ab\n\nx\n--ab\n\ny\n--ab--\n"
      "--a\n\nz\n--a--\n");
  Part root = ParseMessage(raw);
  ASSERT_EQ(root.children.size(), 2u);
  ASSERT_EQ(root.children[0].children.size(), 2u);
  EXPECT_EQ(RenderBodyStructure(root, false),
            "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0)"
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) \"alternative\")"
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) \"mixed\")");
}

TEST(ParserTest, OuterBoundaryEndsUnclosedInnerMultipart) {
  std::string raw = Crlf(
      "Content-Type: multipart/mixed; boundary=out\n\n--out\n"
      "Content-Type: multipart/alternative; boundary=in\n\n--in\n\nx\n"
      "--out\n\nsecond\n--out--\n");
  Part root = ParseMessage(raw);
  ASSERT_EQ(root.children.size(), 2u);
  ASSERT_EQ(root.children[0].children.size(), 1u);
  const Part& x = root.children[0].children[0];
  EXPECT_EQ(raw.substr(x.body_offset, x.body_size), "x");
  EXPECT_EQ(raw.substr(root.children[1].body_offset, root.children[1].body_size), "second");
}

TEST(ParserTest, DelimiterInsidePartHeader) {
  // A part whose header runs straight into the next delimiter.
  std::string raw = Crlf(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
      "text/html\n--b\n\ny\n--b--\n");
  Part root = ParseMessage(raw);
  ASSERT_EQ(root.children.size(), 2u);
  const Part& first = root.children[0];
  EXPECT_EQ(first.subtype, "html");
  EXPECT_EQ(raw.substr(first.header_offset, first.header_size), "Content-Type: text/html");
  EXPECT_EQ(first.body_size, 0u);
  EXPECT_EQ(raw.substr(root.children[1].body_offset, root.children[1].body_size), "y");
}

TEST(ParserTest, EmptyParts) {
  std::string raw = Crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\n--b--\n");
  Part root = ParseMessage(raw);
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(root.children[0].header_size, 0u);
  EXPECT_EQ(root.children[0].body_size, 0u);
  EXPECT_EQ(root.children[1].header_size, 2u);
  EXPECT_EQ(root.children[1].body_size, 0u);
}

TEST(ParserTest, MessageRfc822WithItsOwnMultipart) {
  std::string raw = Crlf(
      "Content-Type: message/rfc822\n\nSubject: inner\n"
      "Content-Type: multipart/mixed; boundary=z\n\n--z\n\nA\n--z\n\nB\n--z--\n");
  Part root = ParseMessage(raw);
  ASSERT_TRUE(root.IsMessageRfc822());
  const Part& inner = root.children[0];
  EXPECT_EQ(inner.envelope->subject, "inner");
  ASSERT_EQ(inner.children.size(), 2u);
  EXPECT_EQ(
      RenderBodyStructure(root, false),
      "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 88 (NIL \"inner\" NIL NIL NIL NIL NIL NIL "
      "NIL NIL) ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0)"
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) \"mixed\") 10)");
}

TEST(ParserTest, EmbeddedMessageEndsAtEnclosingBoundary) {
  std::string raw = Crlf(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n"
      "Subject: s\n\nbody\n--b--\n");
  Part root = ParseMessage(raw);
  const Part& msg = root.children[0];
  ASSERT_TRUE(msg.IsMessageRfc822());
  EXPECT_EQ(raw.substr(msg.body_offset, msg.body_size), "Subject: s\r\n\r\nbody");
  EXPECT_EQ(msg.body_lines, 2u);
  const Part& inner = msg.children[0];
  EXPECT_EQ(raw.substr(inner.body_offset, inner.body_size), "body");
}

std::string DeepMessage(int levels) {
  std::string head, tail;
  for (int i = 0; i < levels; ++i) {
    head += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
            std::to_string(i) + "\n";
    tail = "\n--b" + std::to_string(i) + "--" + tail;
  }
  return Crlf(head + "\nleaf" + tail + "\n");
}

int Depth(const Part& p) {
  int d = 0;
  for (const Part& c : p.children) d = std::max(d, 1 + Depth(c));
  return d;
}

const Part* Deepest(const Part& p) {
  const Part* cur = &p;
  while (!cur->children.empty()) cur = &cur->children[0];
  return cur;
}

TEST(ParserTest, NestingUpToTheLimitIsParsed) {
  std::string raw = DeepMessage(kMaxNestingDepth);
  Part root = ParseMessage(raw);
  EXPECT_EQ(Depth(root), kMaxNestingDepth);
  const Part* leaf = Deepest(root);
  EXPECT_FALSE(leaf->truncated);
  EXPECT_EQ(raw.substr(leaf->body_offset, leaf->body_size), "leaf");
}

TEST(ParserTest, NestingBeyondTheLimitBecomesAnOpaqueLeaf) {
  std::string raw = DeepMessage(kMaxNestingDepth + 5);
  Part root = ParseMessage(raw);
  EXPECT_EQ(Depth(root), kMaxNestingDepth);
  const Part* leaf = Deepest(root);
  EXPECT_TRUE(leaf->truncated);
  EXPECT_FALSE(leaf->IsMultipart());
  EXPECT_EQ(leaf->type, "multipart");
  CheckNesting(root, raw.size());
  // Still renders: the opaque part as a basic body.
  std::string bs = RenderBodyStructure(root, true);
  EXPECT_NE(bs.find("(\"multipart\" \"mixed\" (\"boundary\" \"b50\") NIL NIL \"7bit\""),
            std::string::npos);
}

TEST(ParserTest, MessageRfc822NestingIsLimitedToo) {
  std::string raw;
  for (int i = 0; i < kMaxNestingDepth + 3; ++i) raw += "Content-Type: message/rfc822\n\n";
  raw += "end\n";
  Part root = ParseMessage(Crlf(raw));
  EXPECT_EQ(Depth(root), kMaxNestingDepth);
  EXPECT_TRUE(Deepest(root)->truncated);
}

TEST(ParserTest, PartCountLimit) {
  std::string raw = "Content-Type: multipart/mixed; boundary=p\n\n";
  for (std::size_t i = 0; i < kMaxParts + 10; ++i) raw += "--p\n\nx\n";
  raw += "--p--\n";
  Part root = ParseMessage(Crlf(raw));
  // The root counts as a part.
  EXPECT_EQ(root.children.size(), kMaxParts - 1);
  EXPECT_TRUE(root.truncated);
  EXPECT_TRUE(root.IsMultipart());
}

TEST(ParserTest, HeaderFieldLimitKeepsHeaderExtent) {
  std::string raw;
  for (std::size_t i = 0; i < kMaxHeaderFields + 5; ++i) raw += "X-Filler: x\n";
  raw += "Subject: too late\n\nbody\n";
  Part root = ParseMessage(Crlf(raw));
  EXPECT_FALSE(root.envelope->subject.has_value());
  EXPECT_EQ(root.header_size, (kMaxHeaderFields + 5) * 13 + 19 + 2);
  EXPECT_EQ(root.body_size, 6u);
}

TEST(ParserTest, HeaderByteLimit) {
  std::string big(kMaxHeaderBytes, 'a');
  std::string raw = Crlf("X-Big: " + big + "\nSubject: after\n\nbody\n");
  Part root = ParseMessage(raw);
  EXPECT_FALSE(root.envelope->subject.has_value());
  EXPECT_EQ(root.body_size, 6u);
  std::string raw2 = Crlf("Subject: before\nX-Big: " + big + "\n\nbody\n");
  EXPECT_EQ(ParseMessage(raw2).envelope->subject, "before");
}

TEST(ParserTest, ContentFieldsAreParsed) {
  Part root = ParseMessage(Crlf(
      "Content-Type: text/plain; charset=\"utf-8\"\nContent-ID:  <id@x>\n"
      "Content-Transfer-Encoding: Quoted-Printable (comment)\nContent-Disposition: attachment;\n"
      " filename=\"a b.txt\"\nContent-Language: en-US , de\nContent-MD5: abc=\n\n"));
  EXPECT_EQ(root.type, "text");
  EXPECT_EQ(root.subtype, "plain");
  EXPECT_EQ(root.id, "<id@x>");
  EXPECT_EQ(root.encoding, "Quoted-Printable");
  EXPECT_EQ(root.disposition, "attachment");
  ASSERT_EQ(root.disposition_params.size(), 1u);
  EXPECT_EQ(root.disposition_params[0], (Param{"filename", "a b.txt"}));
  EXPECT_EQ(root.language, (std::vector<std::string>{"en-US", "de"}));
  EXPECT_EQ(root.md5, "abc=");
}

TEST(ParserTest, InvalidTransferEncodingIsIgnored) {
  Part root = ParseMessage(Crlf("Content-Transfer-Encoding: base64 garbage\n\n"));
  EXPECT_FALSE(root.encoding.has_value());
}

TEST(ParserTest, ParsingIsDeterministicAndSplitIndependent) {
  // A parse of a prefix never reaches beyond it; the full parse is stable.
  std::string raw = Fixture("attachment.eml");
  Part once = ParseMessage(raw);
  EXPECT_EQ(ParseMessage(raw), once);
  for (std::size_t n = 0; n <= raw.size(); n += 7) {
    Part p = ParseMessage(std::string_view(raw).substr(0, n));
    CheckNesting(p, n);
  }
}

}  // namespace
}  // namespace pillarbox::mime
