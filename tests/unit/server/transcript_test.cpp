#include "server/transcript.h"

#include <gtest/gtest.h>

#include <vector>

namespace pillarbox::server {
namespace {

std::vector<std::string> Lines(Transcript& t, std::string_view in) {
  std::vector<std::string> out;
  t.Input(in, [&](const std::string& l) { out.push_back(l); });
  return out;
}

TEST(TranscriptTest, ImapLoginPasswordIsRedacted) {
  Transcript t;
  EXPECT_EQ(t.RedactInput("a1 LOGIN alice s3cret"), "a1 LOGIN alice ***");
  EXPECT_EQ(t.RedactInput("a1 login \"alice\" \"s3 cret\""), "a1 login ***");
  EXPECT_EQ(t.RedactInput("a2 SELECT INBOX"), "a2 SELECT INBOX");
}

TEST(TranscriptTest, ControlBytesCannotForgeLogLines) {
  Transcript t;
  EXPECT_EQ(t.RedactInput(std::string_view("EHLO a\0b\rINFO forged", 20)),
            "EHLO a\\x00b\\x0dINFO forged");
  EXPECT_EQ(t.RedactInput("a1 LOGIN x\x1b[2J s3cret"), "a1 LOGIN x\\x1b[2J ***");
  EXPECT_EQ(t.RedactInput("AUTH PL\rAIN"), "AUTH PL\\x0dAIN");
  std::vector<std::string> out;
  t.Output("250 ok\r\n* BYE \x01\r\n", [&](const std::string& l) { out.push_back(l); });
  EXPECT_EQ(out, (std::vector<std::string>{"250 ok", "* BYE \\x01"}));
}

TEST(TranscriptTest, DovecotAuthRequestsAreRedacted) {
  Transcript t;
  EXPECT_EQ(t.RedactInput("AUTH\t7\tPLAIN\tservice=smtp\trip=192.0.2.1\tresp=AGFsaWNlAHNlY3JldA=="),
            "AUTH\\x097\\x09PLAIN ***");
  EXPECT_EQ(t.RedactInput("CONT\t7\tc2VjcmV0"), "CONT\\x097 ***");
  EXPECT_EQ(t.RedactInput("VERSION\t1\t2"), "VERSION\\x091\\x092");
}

TEST(TranscriptTest, ImapLoginWithLiteralsRedactsTheFollowingLines) {
  Transcript t;
  EXPECT_EQ(t.RedactInput("a1 LOGIN {5}"), "a1 LOGIN ***");
  EXPECT_EQ(t.RedactInput("alice {6+}"), "***");
  EXPECT_EQ(t.RedactInput("s3cret"), "***");
  EXPECT_EQ(t.RedactInput("a2 NOOP"), "a2 NOOP");
}

TEST(TranscriptTest, ImapAuthenticateExchange) {
  Transcript t;
  EXPECT_EQ(t.RedactInput("a1 AUTHENTICATE PLAIN"), "a1 AUTHENTICATE PLAIN");
  t.NoteOutput("+ ");
  EXPECT_EQ(t.RedactInput("AGFsaWNlAHNlY3JldA=="), "***");
  t.NoteOutput("a1 OK done");
  EXPECT_EQ(t.RedactInput("a2 LIST \"\" *"), "a2 LIST \"\" *");
  EXPECT_EQ(t.RedactInput("a3 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA=="),
            "a3 AUTHENTICATE PLAIN ***");
}

TEST(TranscriptTest, Pop3) {
  Transcript t;
  EXPECT_EQ(t.RedactInput("USER alice"), "USER alice");
  EXPECT_EQ(t.RedactInput("PASS s3cret with spaces"), "PASS ***");
  EXPECT_EQ(t.RedactInput("APOP alice c4c9334bac560ecc979e58001b3e22fb"), "APOP alice ***");
  EXPECT_EQ(t.RedactInput("AUTH LOGIN"), "AUTH LOGIN");
  t.NoteOutput("+ VXNlcm5hbWU6");
  EXPECT_EQ(t.RedactInput("YWxpY2U="), "***");
  t.NoteOutput("+ UGFzc3dvcmQ6");
  EXPECT_EQ(t.RedactInput("c2VjcmV0"), "***");
  t.NoteOutput("+OK logged in");
  EXPECT_EQ(t.RedactInput("STAT"), "STAT");
}

TEST(TranscriptTest, SmtpAuth) {
  Transcript t;
  EXPECT_EQ(t.RedactInput("AUTH PLAIN AGFsaWNlAHNlY3JldA=="), "AUTH PLAIN ***");
  t.NoteOutput("235 2.7.0 Authentication successful");
  EXPECT_EQ(t.RedactInput("AUTH LOGIN"), "AUTH LOGIN");
  t.NoteOutput("334 VXNlcm5hbWU6");
  EXPECT_EQ(t.RedactInput("YWxpY2U="), "***");
  t.NoteOutput("535 5.7.8 bad");
  EXPECT_EQ(t.RedactInput("MAIL FROM:<a@b>"), "MAIL FROM:<a@b>");
}

TEST(TranscriptTest, LinesAreSplitInAnyChunking) {
  std::string input = "a1 LOGIN alice pw\r\na2 NOOP\r\n";
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    Transcript t;
    auto a = Lines(t, input.substr(0, cut));
    auto b = Lines(t, input.substr(cut));
    a.insert(a.end(), b.begin(), b.end());
    ASSERT_EQ(a.size(), 2u) << cut;
    EXPECT_EQ(a[0], "a1 LOGIN alice ***");
    EXPECT_EQ(a[1], "a2 NOOP");
  }
}

TEST(TranscriptTest, LongLinesAreShortened) {
  Transcript t;
  auto lines = Lines(t, std::string(10000, 'x') + "\r\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(lines[0].size(), 600u);
  EXPECT_NE(lines[0].find("bytes)"), std::string::npos);
}

}  // namespace
}  // namespace pillarbox::server

namespace pillarbox::server {
namespace {

std::vector<std::string> OutLines(Transcript& t, std::string_view out) {
  std::vector<std::string> lines;
  t.Output(out, [&](const std::string& l) { lines.push_back(l); });
  return lines;
}

TEST(TranscriptTest, LargeImapLiteralsAreShownByTheirLength) {
  Transcript t;
  t.set_imap_literals(true);
  const std::string body(1000, 'x');
  const std::string response = "* 1 FETCH (BODY[] {1000}\r\n" + body + ")\r\na1 OK done\r\n";
  // Whatever way the bytes are split, the same lines come out.
  for (std::size_t cut = 0; cut <= response.size(); cut += 97) {
    Transcript split;
    split.set_imap_literals(true);
    auto lines = OutLines(split, std::string_view(response).substr(0, cut));
    auto rest = OutLines(split, std::string_view(response).substr(cut));
    lines.insert(lines.end(), rest.begin(), rest.end());
    EXPECT_EQ(lines, (std::vector<std::string>{"* 1 FETCH (BODY[] {1000}",
                                               "[1000 bytes of literal data]", ")", "a1 OK done"}))
        << "cut at " << cut;
  }
  // A small literal is shown as it is; client literals ({n+}) too.
  EXPECT_EQ(Lines(t, "a2 APPEND INBOX {5+}\r\nhello\r\n"),
            (std::vector<std::string>{"a2 APPEND INBOX {5+}", "hello"}));
  EXPECT_EQ(Lines(t, "a3 APPEND INBOX {300+}\r\n" + std::string(300, 'y') + "\r\na4 NOOP\r\n"),
            (std::vector<std::string>{"a3 APPEND INBOX {300+}", "[300 bytes of literal data]", "",
                                      "a4 NOOP"}));
}

TEST(TranscriptTest, LiteralsAreOnlyRecognizedForImap) {
  Transcript t;  // POP3, SMTP: "{300}" at a line's end means nothing
  EXPECT_EQ(OutLines(t, "+OK {300}\r\nnext\r\n"), (std::vector<std::string>{"+OK {300}", "next"}));
}

}  // namespace
}  // namespace pillarbox::server
