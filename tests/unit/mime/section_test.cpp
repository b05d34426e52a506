// BODY[section] addressing: every section form against the fixture corpus.
#include "protocols/mime/section.h"

#include <gtest/gtest.h>

#include "mime_test_util.h"
#include "protocols/mime/message.h"

namespace pillarbox::mime {
namespace {

using testing::Crlf;
using testing::Fixture;
using Text = SectionSpec::Text;

class SectionTest : public ::testing::Test {
 protected:
  // Resolves `spec` (text between the brackets) against `raw_`.
  std::string Get(std::string_view spec) {
    std::optional<SectionSpec> s = ParseSectionSpec(spec);
    EXPECT_TRUE(s.has_value()) << spec;
    if (!s) return "<syntax>";
    SectionContent c = ResolveSection(raw_, root_, *s);
    if (!c.found) return "<none>";
    return std::string(c.View(raw_));
  }
  void Use(std::string raw) {
    raw_ = std::move(raw);
    root_ = ParseMessage(raw_);
  }
  std::string raw_;
  Part root_;
};

TEST(SectionSpecTest, Parses) {
  EXPECT_EQ(ParseSectionSpec(""), SectionSpec{});
  EXPECT_EQ(ParseSectionSpec("1.2.3"), (SectionSpec{{1, 2, 3}, Text::kNone, {}}));
  EXPECT_EQ(ParseSectionSpec("header"), (SectionSpec{{}, Text::kHeader, {}}));
  EXPECT_EQ(ParseSectionSpec("Text"), (SectionSpec{{}, Text::kText, {}}));
  EXPECT_EQ(ParseSectionSpec("4.MIME"), (SectionSpec{{4}, Text::kMime, {}}));
  EXPECT_EQ(ParseSectionSpec("2.HEADER"), (SectionSpec{{2}, Text::kHeader, {}}));
  EXPECT_EQ(ParseSectionSpec("HEADER.FIELDS (From \"To\" x-a)"),
            (SectionSpec{{}, Text::kHeaderFields, {"From", "To", "x-a"}}));
  EXPECT_EQ(ParseSectionSpec("1.header.fields.not (Subject)"),
            (SectionSpec{{1}, Text::kHeaderFieldsNot, {"Subject"}}));
}

TEST(SectionSpecTest, RejectsSyntaxErrors) {
  for (const char* bad :
       {"0", "1.", ".1", "1..2", "01", "MIME", "1.MIMEX", "HEADERS", "HEADER.FIELDS",
        "HEADER.FIELDS ()", "HEADER.FIELDS (a", "HEADER.FIELDS (a) x", "HEADER.FIELDS  (a)",
        "HEADER.FIELDS (a  b)", "1.2.TEXT.x", "TEXT ", "99999999999", "HEADER.FIELDS.NOTX (a)",
        "HEADER.FIELDS (\"a)"}) {
    EXPECT_FALSE(ParseSectionSpec(bad).has_value()) << bad;
  }
}

TEST_F(SectionTest, WholeMessageHeaderAndText) {
  Use(Fixture("nested.eml"));
  EXPECT_EQ(Get(""), raw_);
  EXPECT_EQ(Get("HEADER"), raw_.substr(0, 286));
  EXPECT_EQ(Get("TEXT"), raw_.substr(286));
  EXPECT_TRUE(Get("HEADER").ends_with(" b\"\r\n\r\n"));
}

TEST_F(SectionTest, PartsOfAMultipart) {
  Use(Fixture("nested.eml"));
  EXPECT_EQ(Get("1"), "hello\r\n");
  EXPECT_EQ(Get("1.MIME"), raw_.substr(307, 252));
  EXPECT_TRUE(Get("1.MIME").starts_with("Content-Type: text/x-custom;"));
  EXPECT_TRUE(Get("1.MIME").ends_with("a.txt\r\n\r\n"));
  // Dovecot: inside a non-multipart, "1" names the part itself.
  EXPECT_EQ(Get("1.1"), "hello\r\n");
  EXPECT_EQ(Get("1.2"), "<none>");
  EXPECT_EQ(Get("3"), "<none>");
  EXPECT_EQ(Get("1.1.1"), "<none>");
  // HEADER/TEXT need a message/rfc822 part.
  EXPECT_EQ(Get("1.HEADER"), "<none>");
  EXPECT_EQ(Get("1.TEXT"), "<none>");
  EXPECT_EQ(Get("1.HEADER.FIELDS (Content-ID)"), "<none>");
}

TEST_F(SectionTest, MessageRfc822Part) {
  Use(Fixture("nested.eml"));
  std::string embedded = raw_.substr(611, 350);
  EXPECT_EQ(Get("2"), embedded);
  EXPECT_EQ(Get("2.MIME"), "Content-Type: message/rfc822\r\n\r\n");
  EXPECT_EQ(Get("2.HEADER"), embedded.substr(0, 152));
  EXPECT_EQ(Get("2.TEXT"), embedded.substr(152));
  EXPECT_EQ(Get("2.1"), "<p>hi</p>\r\n");
  EXPECT_EQ(Get("2.2"), "hi there\r\n");
  EXPECT_EQ(Get("2.2.MIME"), "Content-Type: text/plain\r\nContent-Transfer-Encoding: ?bad\r\n\r\n");
  EXPECT_EQ(Get("2.3"), "<none>");
  EXPECT_EQ(Get("2.HEADER.FIELDS (SUBJECT to)"), "To: erin@example.com\r\nSubject: inner\r\n\r\n");
  EXPECT_EQ(Get("2.HEADER.FIELDS.NOT (From Date Content-Type)"),
            "To: erin@example.com\r\nSubject: inner\r\n\r\n");
}

TEST_F(SectionTest, HeaderFields) {
  Use(Fixture("nested.eml"));
  EXPECT_EQ(Get("HEADER.FIELDS (Content-Type)"),
            "Content-Type: multipart/mixed; boundary=\"outer\r\n b\"\r\n\r\n");
  EXPECT_EQ(Get("HEADER.FIELDS (X-Absent)"), "\r\n");
  std::string not_fields =
      Get("HEADER.FIELDS.NOT (From Date MIME-Version Subject To Content-Type)");
  EXPECT_EQ(not_fields, "Message-ID: <m1@example.org>\r\n\r\n");
}

TEST_F(SectionTest, HeaderFieldsKeepsEveryOccurrenceInOrder) {
  Use(Crlf("Received: a\nX: 1\nReceived: b\n  folded\nBroken line\n\nbody\n"));
  EXPECT_EQ(Get("HEADER.FIELDS (received)"), "Received: a\r\nReceived: b\r\n  folded\r\n\r\n");
  EXPECT_EQ(Get("HEADER.FIELDS.NOT (received)"), "X: 1\r\n\r\n");
}

TEST_F(SectionTest, HeaderWithoutEndGetsOne) {
  Use("Subject: x\r\nFrom: y");
  EXPECT_EQ(Get("HEADER.FIELDS (From)"), "From: y\r\n\r\n");
  EXPECT_EQ(Get("HEADER"), raw_);
  EXPECT_EQ(Get("TEXT"), "");
}

TEST_F(SectionTest, NonMultipartMessage) {
  Use(Fixture("plain.eml"));
  std::string body = "Let's meet at noon.\r\nBring the \"slides\".\r\n";
  EXPECT_EQ(Get("1"), body);
  EXPECT_EQ(Get("TEXT"), body);
  EXPECT_EQ(Get("1.MIME"), Get("HEADER"));
  EXPECT_EQ(Get("2"), "<none>");
  EXPECT_EQ(Get("1.1"), "<none>");
  EXPECT_EQ(Get("1.HEADER"), "<none>");
}

TEST_F(SectionTest, TopLevelMessageRfc822) {
  Use(Crlf("Content-Type: message/rfc822\n\nSubject: in\n\nbody\n"));
  EXPECT_EQ(Get("1"), "Subject: in\r\n\r\nbody\r\n");
  EXPECT_EQ(Get("1.HEADER"), "Subject: in\r\n\r\n");
  EXPECT_EQ(Get("1.TEXT"), "body\r\n");
  EXPECT_EQ(Get("1.1"), "body\r\n");
  EXPECT_EQ(Get("1.1.MIME"), "Subject: in\r\n\r\n");
  EXPECT_EQ(Get("1.2"), "<none>");
}

TEST_F(SectionTest, NestedMultipartInMultipart) {
  Use(Fixture("attachment.eml"));
  EXPECT_TRUE(Get("1").starts_with("--------------alt02\r\n"));
  EXPECT_TRUE(Get("1").ends_with("--------------alt02--\r\n"));
  EXPECT_TRUE(Get("1.1").starts_with("Hallo Ren=C3=A9,"));
  EXPECT_EQ(Get("1.2"), "<html><body><p>Hallo</p></body></html>\r\n");
  EXPECT_EQ(Get("2"),
            "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==\r\n");
  EXPECT_TRUE(Get("2.MIME").starts_with("Content-Type: application/pdf;\r\n name*0*="));
}

TEST_F(SectionTest, FindPartFollowsDovecot) {
  Use(Fixture("nested.eml"));
  EXPECT_EQ(FindPart(root_, {}), &root_);
  EXPECT_EQ(FindPart(root_, {2}), &root_.children[1]);
  EXPECT_EQ(FindPart(root_, {2, 1}), &root_.children[1].children[0].children[0]);
  EXPECT_EQ(FindPart(root_, {0}), nullptr);
  EXPECT_EQ(FindPart(root_, {2, 1, 1}), &root_.children[1].children[0].children[0]);
  EXPECT_EQ(FindPart(root_, {2, 1, 2}), nullptr);
}

TEST_F(SectionTest, MismatchedStructureNeverReadsOutOfBounds) {
  Use(Fixture("nested.eml"));
  Part root = root_;
  std::string shorter = raw_.substr(0, 300);
  SectionContent c = ResolveSection(shorter, root, *ParseSectionSpec("2.TEXT"));
  EXPECT_TRUE(c.found);
  EXPECT_EQ(c.View(shorter), "");
  c = ResolveSection(shorter, root, *ParseSectionSpec("HEADER.FIELDS (Subject)"));
  EXPECT_EQ(c.View(shorter), "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from Alice\r\n\r\n");
}

}  // namespace
}  // namespace pillarbox::mime

namespace pillarbox::mime {
namespace {

TEST(LiteralTest, NulsBecome0x80) {
  std::string s("a\0b\0", 4);
  ReplaceNulsForLiteral(s.data(), s.size());
  EXPECT_EQ(s,
            "a\x80"
            "b\x80");
}

}  // namespace
}  // namespace pillarbox::mime
