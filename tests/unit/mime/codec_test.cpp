// The stored structure form: round trips and corrupt input.
#include <gtest/gtest.h>

#include "mime_test_util.h"
#include "protocols/mime/imap_render.h"
#include "protocols/mime/message.h"
#include "protocols/mime/structure_codec.h"

namespace pillarbox::mime {
namespace {

using testing::Crlf;
using testing::Fixture;

const char* const kFixtures[] = {
    "nested.eml",       "plain.eml",         "attachment.eml",     "digest.eml",
    "headers_only.eml", "no_delimiters.eml", "outlook_latin1.eml", "missing_final_boundary.eml"};

TEST(StructureCodecTest, RoundTripsEveryFixture) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    Part parsed = ParseMessage(Fixture(name));
    std::string bytes = SerializeStructure(parsed);
    Result<Part> back = DeserializeStructure(bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, parsed);
    EXPECT_EQ(SerializeStructure(*back), bytes);
  }
}

TEST(StructureCodecTest, RoundTripsEveryOptionalField) {
  Part p;
  p.header_offset = 1;
  p.header_size = 300;
  p.body_offset = 301;
  p.body_size = 1ull << 40;
  p.body_lines = 7;
  p.type = "text";
  p.subtype = "plain";
  p.params = {{"charset", "utf-8"}, {"", ""}};
  p.id = "";
  p.description = std::string("d\0e", 3);
  p.encoding = "base64";
  p.md5 = "m";
  p.disposition = "inline";
  p.disposition_params = {{"filename", "x"}};
  p.language = {"en", "de"};
  p.location = "loc";
  p.truncated = true;
  p.envelope = std::make_unique<Envelope>();
  p.envelope->date = "d";
  p.envelope->message_id = "<m>";
  Address a;
  a.name = "n";
  a.route = "@r";
  a.mailbox = "m";
  a.host = "h";
  p.envelope->from = {a};
  Address g;
  g.kind = Address::Kind::kGroupStart;
  g.mailbox = "g";
  Address e;
  e.kind = Address::Kind::kGroupEnd;
  p.envelope->bcc = {g, a, e};
  Result<Part> back = DeserializeStructure(SerializeStructure(p));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
}

TEST(StructureCodecTest, EveryTruncationIsRejected) {
  std::string bytes = SerializeStructure(ParseMessage(Fixture("nested.eml")));
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    Result<Part> r = DeserializeStructure(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), Code::kCorruption);
  }
}

TEST(StructureCodecTest, TrailingBytesAndUnknownVersionAreRejected) {
  std::string bytes = SerializeStructure(ParseMessage(Crlf("Subject: x\n\ny\n")));
  EXPECT_FALSE(DeserializeStructure(bytes + "x").ok());
  std::string v2 = bytes;
  v2[0] = 2;
  EXPECT_FALSE(DeserializeStructure(v2).ok());
  EXPECT_FALSE(DeserializeStructure("").ok());
}

TEST(StructureCodecTest, FlippedBytesNeverCrash) {
  // Every single-byte corruption either fails cleanly or yields a structure
  // that still renders (the renderers never trust offsets).
  std::string bytes = SerializeStructure(ParseMessage(Fixture("nested.eml")));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int v : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(v);
      Result<Part> r = DeserializeStructure(bad);
      if (r.ok()) {
        std::string bs = RenderBodyStructure(*r, true);
        EXPECT_FALSE(bs.empty());
      }
    }
  }
}

TEST(StructureCodecTest, HugeCountsAreRejectedWithoutAllocating) {
  // version, offsets 0 0 0 0, flags, flags2, type "", subtype "", then a
  // parameter count of 2^63.
  std::string bytes("\x01\x00\x00\x00\x00\x00\x00\x00\x00", 9);
  bytes += std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 9);
  EXPECT_FALSE(DeserializeStructure(bytes).ok());
}

Part Chain(int depth) {
  Part p;
  p.envelope = std::make_unique<Envelope>();
  for (int i = 0; i < depth; ++i) {
    Part outer;
    outer.type = "message";
    outer.subtype = "rfc822";
    outer.envelope = std::make_unique<Envelope>();
    outer.children.push_back(std::move(p));
    p = std::move(outer);
  }
  return p;
}

TEST(StructureCodecTest, DeepNestingIsRejected) {
  // The parser never nests deeper than kMaxNestingDepth (plus the leaf).
  EXPECT_TRUE(DeserializeStructure(SerializeStructure(Chain(kMaxNestingDepth))).ok());
  EXPECT_FALSE(DeserializeStructure(SerializeStructure(Chain(kMaxNestingDepth + 2))).ok());
}

TEST(StructureCodecTest, EmbeddedMessageWithoutEnvelopeIsRejected) {
  Part p = Chain(1);
  p.children[0].envelope.reset();
  EXPECT_FALSE(DeserializeStructure(SerializeStructure(p)).ok());
}

TEST(StructureCodecTest, NonMultipartWithSeveralChildrenIsRejected) {
  Part p = ParseMessage(Crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b\n\ny\n"));
  p.multipart = false;
  EXPECT_FALSE(DeserializeStructure(SerializeStructure(p)).ok());
}

}  // namespace
}  // namespace pillarbox::mime
