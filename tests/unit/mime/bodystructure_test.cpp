// BODY, BODYSTRUCTURE and ENVELOPE of the fixture corpus, byte for byte.
// The expected strings were derived by hand from RFC 3501 7.4.2 and the way
// Dovecot writes these responses (see protocols/mime/imap_render.h); the
// sizes and line counts were counted by hand from the fixtures (CRLF form).
#include <gtest/gtest.h>

#include "mime_test_util.h"
#include "protocols/mime/imap_render.h"
#include "protocols/mime/message.h"
#include "protocols/mime/structure_codec.h"

namespace pillarbox::mime {
namespace {

using testing::Crlf;
using testing::Fixture;

struct Expected {
  const char* fixture;
  const char* bodystructure;
  const char* body;
  const char* envelope;
};

const Expected kCorpus[] = {
    {"nested.eml",
     R"x((("text" "x-custom" ("charset" "us-ascii" "q" "a\"b") "<c1@example.org>" "first part" "7bit" 7 1 "Zm9vYmFy" ("inline" ("size" "5")) ("en" "de") "http://example.org/a.txt")("message" "rfc822" NIL NIL NIL "7bit" 350 ("Wed, 4 Mar 2026 11:00:00 +0000" "inner" ((NIL NIL "dave" "example.com")) ((NIL NIL "dave" "example.com")) ((NIL NIL "dave" "example.com")) ((NIL NIL "erin" "example.com")) NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 11 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) "alternative" ("boundary" "in") NIL NIL NIL) 21 NIL NIL NIL NIL) "mixed" ("boundary" "outer b") NIL NIL NIL))x",
     R"x((("text" "x-custom" ("charset" "us-ascii" "q" "a\"b") "<c1@example.org>" "first part" "7bit" 7 1)("message" "rfc822" NIL NIL NIL "7bit" 350 ("Wed, 4 Mar 2026 11:00:00 +0000" "inner" ((NIL NIL "dave" "example.com")) ((NIL NIL "dave" "example.com")) ((NIL NIL "dave" "example.com")) ((NIL NIL "erin" "example.com")) NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 11 1)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1) "alternative") 21) "mixed"))x",
     R"x(("Tue, 3 Mar 2026 10:00:00 +0100" "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from Alice" (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) ((NIL NIL "bob" "example.com")("Carol, C." NIL "carol" "example.net")) NIL NIL NIL "<m1@example.org>"))x"},
    {"plain.eml",
     R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 42 2 NIL NIL NIL NIL))x",
     R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 42 2))x",
     R"x(("Fri, 13 Feb 2026 12:30:00 -0500 (EST)" "Lunch?" (("Doe, John" NIL "john.doe" "example.com")) (("Doe, John" NIL "john.doe" "example.com")) (("Doe, John" NIL "john.doe" "example.com")) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ((NIL NIL "Team" NIL)(NIL NIL "ann" "example.org")("Bob \"B\" Smith" NIL "bob" "example.org")(NIL NIL NIL NIL)("Carl C" NIL "carl" "example.org")) NIL "<0999@mail.example.com>" "<1234@mail.example.com>"))x"},
    {"attachment.eml",
     R"x(((("text" "plain" ("charset" "UTF-8" "format" "flowed") NIL NIL "quoted-printable" 78 3 NIL NIL NIL NIL)("text" "html" ("charset" "UTF-8") NIL NIL "7bit" 40 1 NIL NIL NIL NIL) "alternative" ("boundary" "------------alt02") NIL NIL NIL)("application" "pdf" ("name*" "UTF-8''Rechnung%20M%C3%A4rz%202026.pdf") NIL NIL "base64" 74 NIL ("attachment" ("filename*" "UTF-8''Rechnung%20M%C3%A4rz%202026.pdf")) NIL NIL) "mixed" ("boundary" "------------mixed01") NIL NIL NIL))x",
     R"x(((("text" "plain" ("charset" "UTF-8" "format" "flowed") NIL NIL "quoted-printable" 78 3)("text" "html" ("charset" "UTF-8") NIL NIL "7bit" 40 1) "alternative")("application" "pdf" ("name*" "UTF-8''Rechnung%20M%C3%A4rz%202026.pdf") NIL NIL "base64" 74) "mixed"))x",
     R"x(("Mon, 2 Mar 2026 08:15:00 +0100" "=?UTF-8?Q?Rechnung_f=C3=BCr?= =?UTF-8?Q?_M=C3=A4rz?=" (("=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?=" NIL "joerg" "example.de")) (("=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?=" NIL "joerg" "example.de")) (("=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?=" NIL "joerg" "example.de")) (("=?ISO-8859-1?Q?Ren=E9?=" NIL "rene" "example.fr")) NIL NIL NIL "<inv-2026-03@example.de>"))x"},
    {"missing_final_boundary.eml",
     R"x((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 22 1 NIL NIL NIL NIL) "mixed" ("boundary" "XYZ") NIL NIL NIL))x",
     R"x((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 22 1) "mixed"))x",
     R"x((NIL "truncated" ((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com")) NIL NIL NIL NIL NIL))x"},
    {"digest.eml",
     R"x((("message" "rfc822" NIL NIL NIL "7bit" 47 (NIL "one" ((NIL NIL "one" "example.com")) ((NIL NIL "one" "example.com")) ((NIL NIL "one" "example.com")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0 NIL NIL NIL NIL) "digest" ("boundary" "d") NIL NIL NIL))x",
     R"x((("message" "rfc822" NIL NIL NIL "7bit" 47 (NIL "one" ((NIL NIL "one" "example.com")) ((NIL NIL "one" "example.com")) ((NIL NIL "one" "example.com")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 0) 3)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0) "digest"))x",
     R"x((NIL "Digest" ((NIL NIL "list" "example.com")) ((NIL NIL "list" "example.com")) ((NIL NIL "list" "example.com")) NIL NIL NIL NIL NIL))x"},
    {"headers_only.eml",
     R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL))x",
     R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0))x",
     R"x((NIL "only a header" ((NIL NIL "x" "example.com")) ((NIL NIL "x" "example.com")) ((NIL NIL "x" "example.com")) NIL NIL NIL NIL NIL))x"},
    {"no_final_newline.eml",
     R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL))x",
     R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0))x",
     R"x((NIL "no newline at the end" ((NIL NIL "x" "example.com")) ((NIL NIL "x" "example.com")) ((NIL NIL "x" "example.com")) NIL NIL NIL NIL NIL))x"},
    {"no_delimiters.eml",
     R"x((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "related" ("boundary" "never-used") NIL NIL NIL))x",
     R"x((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "related"))x",
     R"x((NIL NIL ((NIL NIL "x" "example.com")) ((NIL NIL "x" "example.com")) ((NIL NIL "x" "example.com")) NIL NIL NIL NIL NIL))x"},
    {"outlook_latin1.eml",
     R"x(("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 45 2 NIL NIL ("de-AT") NIL))x", R"x(("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 45 2))x", R"x(("Thu, 19 Feb 2026 14:00:00 +0100" "=?Windows-1252?Q?Besprechung_=96_Termin?=" (("M=?iso-8859-1?Q?=FC?=ller, Hans" NIL "hans" "example.at")) (("M=?iso-8859-1?Q?=FC?=ller, Hans" NIL "hans" "example.at")) (("M=?iso-8859-1?Q?=FC?=ller, Hans" NIL "hans" "example.at")) ((NIL NIL "team" "example.at")) NIL NIL NIL NIL))x"},
    {"long_folded.eml",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL)",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1)",
     "(\"Sat, 7 Mar 2026 09:05:00 +0000\" "
     "\"=?utf-8?q?A_very_long_subject_that_was_folded_by_the_?= "
     "=?utf-8?q?sending_client_=E2=80=94_twice?= and then some plain words\" ((\"Mailing List\" "
     "NIL \"list\" \"lists.example.org\")) ((\"Mailing List\" NIL \"list\" \"lists.example.org\")) "
     "((\"Mailing List\" NIL \"list\" \"lists.example.org\")) ((\"First Person\" NIL \"first\" "
     "\"example.org\")(\"Second Person\" NIL \"second\" \"example.org\")(\"Third\" NIL \"third\" "
     "\"example.org\")) NIL NIL NIL \"<folded-id@example.org>\")"},
    {"forwarded.eml",
     "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 24 0 NIL NIL NIL "
     "NIL)(\"message\" \"rfc822\" (\"name\" \"orig.eml\") NIL NIL \"7bit\" 405 (\"Sun, 1 Mar 2026 "
     "20:00:00 +0100\" {5}\r\nCaf\xC3"
     "\xA9"
     " (({4}\r\nZo\xC3"
     "\xAB"
     " NIL \"zoe\" \"example.net\")) (({4}\r\nZo\xC3"
     "\xAB"
     " NIL \"zoe\" \"example.net\")) (({4}\r\nZo\xC3"
     "\xAB"
     " NIL \"zoe\" \"example.net\")) NIL NIL NIL NIL NIL) ((\"text\" \"html\" (\"charset\" "
     "\"utf-8\") NIL NIL \"7bit\" 22 0 NIL NIL NIL NIL)(\"image\" \"png\" NIL \"<logo@x>\" NIL "
     "\"base64\" 12 NIL (\"inline\" (\"filename\" \"logo.png\")) NIL NIL) \"related\" "
     "(\"boundary\" \"rel\" \"type\" \"text/html\") NIL NIL NIL) 18 NIL (\"attachment\" "
     "(\"filename\" \"orig.eml\")) NIL NIL) \"mixed\" (\"boundary\" \"fw\") NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 24 0)(\"message\" \"rfc822\" "
     "(\"name\" \"orig.eml\") NIL NIL \"7bit\" 405 (\"Sun, 1 Mar 2026 20:00:00 +0100\" "
     "{5}\r\nCaf\xC3"
     "\xA9"
     " (({4}\r\nZo\xC3"
     "\xAB"
     " NIL \"zoe\" \"example.net\")) (({4}\r\nZo\xC3"
     "\xAB"
     " NIL \"zoe\" \"example.net\")) (({4}\r\nZo\xC3"
     "\xAB"
     " NIL \"zoe\" \"example.net\")) NIL NIL NIL NIL NIL) ((\"text\" \"html\" (\"charset\" "
     "\"utf-8\") NIL NIL \"7bit\" 22 0)(\"image\" \"png\" NIL \"<logo@x>\" NIL \"base64\" 12) "
     "\"related\") 18) \"mixed\")",
     "(NIL {10}\r\nFwd: Caf\xC3"
     "\xA9"
     " ((NIL NIL \"fwd\" \"example.com\")) ((NIL NIL \"fwd\" \"example.com\")) ((NIL NIL \"fwd\" "
     "\"example.com\")) ((NIL NIL \"me\" \"example.com\")) NIL NIL NIL NIL)"},
};

class CorpusTest : public ::testing::TestWithParam<Expected> {};

TEST_P(CorpusTest, RendersExactly) {
  const Expected& e = GetParam();
  std::string raw = Fixture(e.fixture);
  ASSERT_FALSE(raw.empty()) << e.fixture;
  Part root = ParseMessage(raw);
  EXPECT_EQ(RenderBodyStructure(root, true), e.bodystructure);
  EXPECT_EQ(RenderBodyStructure(root, false), e.body);
  ASSERT_NE(root.envelope, nullptr);
  EXPECT_EQ(RenderEnvelope(*root.envelope), e.envelope);
}

TEST_P(CorpusTest, StoredFormRendersTheSame) {
  const Expected& e = GetParam();
  std::string raw = Fixture(e.fixture);
  Part parsed = ParseMessage(raw);
  Result<Part> back = DeserializeStructure(SerializeStructure(parsed));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, parsed);
  EXPECT_EQ(RenderBodyStructure(*back, true), e.bodystructure);
  EXPECT_EQ(RenderEnvelope(*back->envelope), e.envelope);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CorpusTest, ::testing::ValuesIn(kCorpus),
                         [](const ::testing::TestParamInfo<Expected>& info) {
                           std::string name = info.param.fixture;
                           name = name.substr(0, name.find('.'));
                           return name;
                         });

// --- Hand-written cases for single rules --------------------------------

std::string Bs(std::string_view lf_message) {
  return RenderBodyStructure(ParseMessage(Crlf(lf_message)), true);
}

TEST(BodyStructureTest, NoHeadersAtAllIsAllHeaderLikeDovecot) {
  // Lines without a colon still belong to the header until an empty line.
  EXPECT_EQ(Bs("just some text\nmore text\n"),
            R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, EmptyMessage) {
  Part root = ParseMessage("");
  EXPECT_EQ(RenderBodyStructure(root, true),
            R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL))x");
  EXPECT_EQ(RenderEnvelope(*root.envelope), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(BodyStructureTest, TypeCaseKeptAndDefaultCharsetAppended) {
  EXPECT_EQ(
      Bs("Content-Type: TEXT/Plain; Format=Flowed\n\nx\n"),
      R"x(("TEXT" "Plain" ("Format" "Flowed" "charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, NonTextWithoutParamsIsNil) {
  EXPECT_EQ(Bs("Content-Type: image/png\nContent-Transfer-Encoding: BASE64\n\niVBO\n"),
            R"x(("image" "png" NIL NIL NIL "BASE64" 6 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, BrokenContentTypeWithoutSubtype) {
  EXPECT_EQ(Bs("Content-Type: text\n\nx\n"),
            R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL))x");
  EXPECT_EQ(Bs("Content-Type: foo\n\nx\n"),
            R"x(("foo" "unknown" NIL NIL NIL "7bit" 3 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, UnparsableContentTypeFallsBackToDefault) {
  EXPECT_EQ(Bs("Content-Type: ;;;\n\nx\n"),
            R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, FirstContentTypeWins) {
  EXPECT_EQ(Bs("Content-Type: text/html\nContent-Type: image/gif\n\nx\n"),
            R"x(("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, CommentsInContentType) {
  EXPECT_EQ(Bs("Content-Type: text/plain (a comment); charset=\"utf-8\" (another)\n\nx\n"),
            R"x(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 3 1 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, Rfc2231ContinuationsWithoutCharset) {
  EXPECT_EQ(Bs("Content-Type: application/x-a; name*1=\"b c\"; name*0=a; z=1\n\nx\n"),
            R"x(("application" "x-a" ("z" "1" "name" "ab c") NIL NIL "7bit" 3 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, Rfc2231MixedSegmentsEscapePercent) {
  EXPECT_EQ(Bs("Content-Type: application/x-a; n*0=\"50%\"; n*1*=%41\n\nx\n"),
            R"x(("application" "x-a" ("n*" "''50%25%41") NIL NIL "7bit" 3 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, Rfc2231GapKeepsSegments) {
  EXPECT_EQ(Bs("Content-Type: application/x-a; n*0=a; n*2=c\n\nx\n"),
            R"x(("application" "x-a" ("n*0" "a" "n*2" "c") NIL NIL "7bit" 3 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, UnquotedEncodedWordParameter) {
  EXPECT_EQ(
      Bs("Content-Type: application/pdf; name==?utf-8?B?w6QucGRm?=\n\nx\n"),
      R"x(("application" "pdf" ("name" "=?utf-8?B?w6QucGRm?=") NIL NIL "7bit" 3 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, EightBitValuesBecomeLiterals) {
  std::string bs =
      Bs("Content-Type: text/plain; charset=utf-8\nContent-Description: caf\xC3\xA9\n\nx\n");
  EXPECT_EQ(
      bs,
      "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL {5}\r\ncaf\xC3\xA9 \"7bit\" 3 1 NIL NIL "
      "NIL NIL)");
}

TEST(BodyStructureTest, MultipartWithoutSubtypeAndDisposition) {
  EXPECT_EQ(
      Bs("Content-Type: multipart; boundary=b\nContent-Disposition: inline\n"
         "Content-Language: fr\nContent-Location: x\n\n--b\n\ny\n--b--\n"),
      R"x((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL) "x-unknown" ("boundary" "b") ("inline" NIL) ("fr") "x"))x");
}

TEST(BodyStructureTest, MultipartWithoutBoundaryIsALeaf) {
  EXPECT_EQ(Bs("Content-Type: multipart/mixed\n\n--b\n\ny\n--b--\n"),
            R"x(("multipart" "mixed" NIL NIL NIL "7bit" 17 NIL NIL NIL NIL))x");
}

TEST(BodyStructureTest, ContentFieldsWithoutMimeVersionOrContentTypeAreIgnored) {
  EXPECT_EQ(Bs("Content-Transfer-Encoding: base64\nContent-Disposition: inline\n\nx\n"),
            R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL))x");
  EXPECT_EQ(Bs("MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\nx\n"),
            R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "base64" 3 1 NIL NIL NIL NIL))x");
  EXPECT_EQ(Bs("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nx\n"),
            R"x(("text" "plain" ("charset" "us-ascii") NIL NIL "base64" 3 1 NIL NIL NIL NIL))x");
  // Body parts of a multipart are MIME entities whatever their header says.
  EXPECT_EQ(
      Bs("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-ID: <i>\n\nx\n--b--\n"),
      R"x((("text" "plain" ("charset" "us-ascii") "<i>" NIL "7bit" 1 0 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL))x");
}

TEST(EnvelopeTest, AddressForms) {
  Part root = ParseMessage(
      Crlf("From: user@host (Real Name), <@route1,@route2:r@h.example>, \"q\\\\uote\" <q@h>\n"
           "To: nodomain, @nolocal, <>\n"
           "Bcc: Broken <b@x\n"
           "Reply-To: \n"
           "Sender: s@[192.0.2.1]\n"
           "\n"));
  EXPECT_EQ(
      RenderEnvelope(*root.envelope),
      R"x((NIL NIL (("Real Name" NIL "user" "host")(NIL "@route1,@route2" "r" "h.example")("q\\uote" NIL "q" "h")) ((NIL NIL "s" "[192.0.2.1]")) (("Real Name" NIL "user" "host")(NIL "@route1,@route2" "r" "h.example")("q\\uote" NIL "q" "h")) ((NIL NIL "nodomain" "MISSING_DOMAIN")(NIL NIL "MISSING_MAILBOX" "nolocal")(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")) NIL (("Broken" NIL "b" "SYNTAX_ERROR")) NIL NIL))x");
}

TEST(EnvelopeTest, LastOccurrenceWinsLikeDovecot) {
  Part root = ParseMessage(Crlf("Subject: one\nSubject: two\n\n"));
  EXPECT_EQ(root.envelope->subject, "two");
}

TEST(EnvelopeTest, FoldedSubjectIsUnfolded) {
  Part root = ParseMessage(Crlf("Subject: a long\n  subject\n\tline\n\n"));
  EXPECT_EQ(root.envelope->subject, "a long  subject\tline");
}

TEST(EnvelopeTest, EightBitSubjectIsALiteral) {
  Part root = ParseMessage(Crlf("Subject: Gr\xC3\xBC\xC3\x9F\x65\n\n"));
  EXPECT_EQ(RenderEnvelope(*root.envelope),
            "(NIL {7}\r\nGr\xC3\xBC\xC3\x9F\x65 NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(EnvelopeTest, ManyQuotedSpecialsBecomeALiteral) {
  Part root = ParseMessage(Crlf("Subject: \"\"\"\"\"\n\n"));
  EXPECT_EQ(RenderEnvelope(*root.envelope),
            "(NIL {5}\r\n\"\"\"\"\" NIL NIL NIL NIL NIL NIL NIL NIL)");
  Part four = ParseMessage(Crlf("Subject: a\\\"\"\"\n\n"));
  EXPECT_EQ(RenderEnvelope(*four.envelope),
            "(NIL \"a\\\\\\\"\\\"\\\"\" NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(EnvelopeTest, NulBytesAreDropped) {
  std::string raw = Crlf("Subject: a");
  raw.push_back('\0');
  raw += Crlf("b\n\n");
  Part root = ParseMessage(raw);
  EXPECT_EQ(RenderEnvelope(*root.envelope), "(NIL \"ab\" NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(EnvelopeTest, EncodedWordsKeptRaw) {
  Part root = ParseMessage(Crlf("From: =?utf-8?q?J=C3=B6rg?= <j@x>\n\n"));
  EXPECT_EQ(
      RenderEnvelope(*root.envelope),
      R"x((NIL NIL (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x")) (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x")) (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x")) NIL NIL NIL NIL NIL))x");
}

}  // namespace
}  // namespace pillarbox::mime
