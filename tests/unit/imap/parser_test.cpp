#include "protocols/imap/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pillarbox::imap {
namespace {

std::string Describe(const ParseEvent& ev) {
  switch (ev.kind) {
    case ParseEvent::Kind::kNeedMore:
      return "";
    case ParseEvent::Kind::kContinue:
      return "[+]";
    case ParseEvent::Kind::kError:
      return "[ERR " + (ev.tag.empty() ? std::string("*") : ev.tag) + " " + ev.response +
             (ev.fatal ? " FATAL]" : "]");
    case ParseEvent::Kind::kCommand: {
      std::string s = "[" + ev.command.tag + (ev.command.uid ? " UID " : " ") + ev.command.name;
      for (const Value& v : ev.command.args) {
        s += " ";
        if (v.IsNil()) s += "<NIL>";
        s += ToString(v);
      }
      return s + "]";
    }
  }
  return "?";
}

std::string Drain(Parser& p) {
  std::string out;
  for (;;) {
    ParseEvent ev = p.Next();
    if (ev.kind == ParseEvent::Kind::kNeedMore) return out;
    out += Describe(ev);
  }
}

// Feeds `input` in the chunks given by `cuts` (offsets) and returns every
// event described in order.
std::string FeedSplit(const std::string& input, const std::vector<std::size_t>& cuts,
                      const ParserLimits& limits) {
  Parser p(limits);
  std::string out;
  std::size_t prev = 0;
  for (std::size_t cut : cuts) {
    p.Feed(std::string_view(input).substr(prev, cut - prev));
    out += Drain(p);
    prev = cut;
  }
  p.Feed(std::string_view(input).substr(prev));
  out += Drain(p);
  return out;
}

// Feeds `input` `step` bytes at a time.
std::string FeedEvery(const std::string& input, std::size_t step, const ParserLimits& limits) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = step; i < input.size(); i += step) cuts.push_back(i);
  return FeedSplit(input, cuts, limits);
}

// Runs `input` whole, byte by byte, and split at every point (in two), and
// expects the same events every time.
void Check(const std::string& input, const std::string& expected,
           const ParserLimits& limits = ParserLimits{}) {
  EXPECT_EQ(FeedSplit(input, {}, limits), expected) << "whole";
  std::vector<std::size_t> bytes;
  for (std::size_t i = 1; i < input.size(); ++i) bytes.push_back(i);
  EXPECT_EQ(FeedSplit(input, bytes, limits), expected) << "byte by byte";
  for (std::size_t i = 1; i < input.size(); ++i) {
    ASSERT_EQ(FeedSplit(input, {i}, limits), expected) << "split at " << i;
  }
}

TEST(ImapParser, SimpleCommands) {
  Check("a1 NOOP\r\n", "[a1 NOOP]");
  Check("a1 noop\r\n", "[a1 NOOP]");
  Check("a1 LOGIN joe secret\r\n", "[a1 LOGIN joe secret]");
  Check("x LOGIN \"jo e\" \"se\\\"c\\\\ret\"\r\n", "[x LOGIN \"jo e\" \"se\\\"c\\\\ret\"]");
  Check("a SELECT NIL\r\n", "[a SELECT <NIL>NIL]");
}

TEST(ImapParser, BareLfAccepted) { Check("a NOOP\nb NOOP\n", "[a NOOP][b NOOP]"); }

TEST(ImapParser, Pipelined) {
  Check("a NOOP\r\nb CAPABILITY\r\nc LOGOUT\r\n", "[a NOOP][b CAPABILITY][c LOGOUT]");
}

TEST(ImapParser, EmptyLinesIgnored) { Check("\r\n\r\na NOOP\r\n", "[a NOOP]"); }

TEST(ImapParser, Lists) {
  Check("a STORE 1:* +FLAGS (\\Seen \\Deleted)\r\n", "[a STORE 1:* +FLAGS (\\Seen \\Deleted)]");
  Check("a FETCH 1 (FLAGS (X (Y)) ())\r\n", "[a FETCH 1 (FLAGS (X (Y)) ())]");
  Check("a LIST \"\" *\r\n", "[a LIST \"\" *]");
  Check("a LIST \"\" %/%\r\n", "[a LIST \"\" %/%]");
}

TEST(ImapParser, UidCommands) {
  Check("a UID FETCH 1:5 FLAGS\r\n", "[a UID FETCH 1:5 FLAGS]");
  Check("a uid store 2 -FLAGS.SILENT (\\Seen)\r\n", "[a UID STORE 2 -FLAGS.SILENT (\\Seen)]");
}

TEST(ImapParser, SectionSpecIsOneAtom) {
  Check("a FETCH 1 (BODY[HEADER.FIELDS (FROM TO)]<0.10> BODY.PEEK[1.2.MIME] BODY[])\r\n",
        "[a FETCH 1 (BODY[HEADER.FIELDS (FROM TO)]<0.10> BODY.PEEK[1.2.MIME] BODY[])]");
  Check("a FETCH 1 BODY[HEADER.FIELDS.NOT (X-A)]\r\n", "[a FETCH 1 BODY[HEADER.FIELDS.NOT (X-A)]]");
  Check("a SELECT [Gmail]/Sent\r\n", "[a SELECT [Gmail]/Sent]");
  Check("a SELECT foo[bar\r\n", "[a SELECT foo[bar]");
}

TEST(ImapParser, SynchronizingLiteral) {
  Check("a LOGIN {3}\r\njoe {6}\r\nsecret\r\n", "[+][+][a LOGIN {3}\r\njoe {6}\r\nsecret]");
  Check("a LOGIN {0}\r\n {1}\r\nx\r\n", "[+][+][a LOGIN {0}\r\n {1}\r\nx]");
}

TEST(ImapParser, LiteralContainingCrlfAndBraces) {
  Check("a APPEND INBOX {10}\r\nx\r\n{2}\r\nyz\r\nb NOOP\r\n",
        "[+][a APPEND INBOX {10}\r\nx\r\n{2}\r\nyz][b NOOP]");
}

TEST(ImapParser, NonSynchronizingLiteral) {
  Check("a LOGIN {3+}\r\njoe {6+}\r\nsecret\r\nb NOOP\r\n",
        "[a LOGIN {3}\r\njoe {6}\r\nsecret][b NOOP]");
}

TEST(ImapParser, BinaryLiteral) {
  std::string in = "a APPEND INBOX (\\Seen) ~{3}\r\n";
  in += std::string("a\0b", 3);
  in += "\r\n";
  ParserLimits limits;
  Parser p(limits);
  p.Feed(in);
  ParseEvent ev = p.Next();
  EXPECT_EQ(ev.kind, ParseEvent::Kind::kContinue);
  ev = p.Next();
  ASSERT_EQ(ev.kind, ParseEvent::Kind::kCommand);
  ASSERT_EQ(ev.command.args.size(), 3u);
  EXPECT_TRUE(ev.command.args[2].binary);
  EXPECT_EQ(ev.command.args[2].kind, Value::Kind::kLiteral);
  EXPECT_EQ(ev.command.args[2].text, std::string("a\0b", 3));
  Check(in, "[+][a APPEND INBOX (\\Seen) ~{3}\r\n" + std::string("a\0b", 3) + "]");
}

// MULTIAPPEND (RFC 3502) of a literal8 with NUL and CR/LF bytes, a
// non-synchronizing literal8 and a plain literal; and CATENATE's TEXT
// literal8 inside a list (RFC 4469 with RFC 3516).
TEST(ImapParser, BinaryLiteralsInMultiAppendAndCatenate) {
  const std::string nul("x\0\r\ny", 5);
  const std::string nuls(2, '\0');
  Check(
      "a APPEND INBOX (\\Seen) ~{5}\r\n" + nul + " ~{2+}\r\n" + nuls + " {3}\r\nabc\r\nb NOOP\r\n",
      "[+][+][a APPEND INBOX (\\Seen) ~{5}\r\n" + nul + " ~{2}\r\n" + nuls +
          " {3}\r\nabc][b NOOP]");
  Check("a APPEND INBOX CATENATE (TEXT ~{5+}\r\n" + nul + " URL \"/INBOX/;UID=1\")\r\n",
        "[a APPEND INBOX CATENATE (TEXT ~{5}\r\n" + nul + " URL \"/INBOX/;UID=1\")]");
  // "~" without a literal is an atom character: the marker must be "~{".
  Check("a X ~ {1+}\r\nz\r\n", "[a X ~ {1}\r\nz]");
}

TEST(ImapParser, LiteralInsideList) {
  Check("a FETCH 1 (FLAGS {3+}\r\nabc)\r\n", "[a FETCH 1 (FLAGS {3}\r\nabc)]");
  Check("a X ({1+}\r\na {1+}\r\nb)\r\n", "[a X ({1}\r\na {1}\r\nb)]");
}

TEST(ImapParser, QuotedBraceIsNotALiteral) {
  Check("a LOGIN joe \"{5}\"\r\n", "[a LOGIN joe \"{5}\"]");
}

TEST(ImapParser, SyntaxErrors) {
  Check("a LOGIN \"joe\r\nb NOOP\r\n",
        "[ERR a BAD Error in IMAP command LOGIN: Missing '\"']"
        "[b NOOP]");
  Check("a FETCH 1 (FLAGS\r\n", "[ERR a BAD Error in IMAP command FETCH: Missing ')']");
  Check("a X )\r\n", "[ERR a BAD Error in IMAP command X: Unexpected ')']");
  Check("a X \"\\n\"\r\n", "[ERR a BAD Error in IMAP command X: Invalid escape in quoted string]");
  Check("a\r\n", "[ERR a BAD Error in IMAP command: Missing command name]");
  Check("a*b NOOP\r\n", "[ERR * BAD Error in IMAP command: Invalid tag]");
  Check("+ NOOP\r\n", "[ERR * BAD Error in IMAP command: Invalid tag]");
  Check("a X {3}abc\r\n", "[ERR a BAD Error in IMAP command X: Literal must end the line]");
  Check("a X b{1+}\r\nc\r\n",
        "[ERR a BAD Error in IMAP command X: Expected a space between arguments]");
  Check("a X {1+}\r\nb{1+}\r\nc\r\n",
        "[ERR a BAD Error in IMAP command X: Expected a space between arguments]");
  Check("a UID\r\n", "[ERR a BAD Error in IMAP command UID: Missing UID command name]");
}

TEST(ImapParser, TrailingAndDoubleSpacesTolerated) {
  Check("a NOOP \r\n", "[a NOOP]");
  Check("a X  b\r\n", "[a X b]");
}

TEST(ImapParser, ListDepthLimit) {
  ParserLimits limits;
  limits.max_list_depth = 3;
  Check("a X (((b)))\r\n", "[a X (((b)))]", limits);
  Check("a X ((((b))))\r\nc NOOP\r\n",
        "[ERR a BAD Error in IMAP command X: Too deeply nested lists][c NOOP]", limits);
}

TEST(ImapParser, LineTooLong) {
  ParserLimits limits;
  limits.max_line_length = 20;
  Check("a X 0123456789012345\r\nb NOOP\r\n", "[a X 0123456789012345][b NOOP]", limits);
  // 21 bytes: refused before the line end arrives; the rest of the line is
  // dropped and the next command works.
  Check("a X 01234567890123456789012345\r\nb NOOP\r\n", "[ERR a BAD Command line too long][b NOOP]",
        limits);
  // No tag yet within the limit: untagged.
  Check("012345678901234567890123456789 X\r\nb NOOP\r\n",
        "[ERR * BAD Command line too long][b NOOP]", limits);
  // The limit counts all lines of a command, not literals.
  Check("a X {3+}\r\nabc 0123456789012\r\nb NOOP\r\n", "[ERR a BAD Command line too long][b NOOP]",
        limits);
}

TEST(ImapParser, SynchronizingLiteralTooLargeRefusedWithoutContinuation) {
  ParserLimits limits;
  limits.max_other_literals = 10;
  Check("a LOGIN {10}\r\n0123456789\r\n", "[+][a LOGIN {10}\r\n0123456789]", limits);
  Check("a LOGIN {11}\r\nb NOOP\r\n", "[ERR a NO [LIMIT] Literal too large][b NOOP]", limits);
  // All literals of a command together.
  Check("a LOGIN {5}\r\n01234 {6}\r\nb NOOP\r\n", "[+][ERR a NO [LIMIT] Literal too large][b NOOP]",
        limits);
}

TEST(ImapParser, AppendLiteralLimit) {
  ParserLimits limits;
  limits.max_other_literals = 2;
  limits.max_append_literal = 5;
  Check("a APPEND INBOX {5}\r\n01234\r\n", "[+][a APPEND INBOX {5}\r\n01234]", limits);
  Check("a APPEND INBOX {6}\r\nb NOOP\r\n", "[ERR a NO [TOOBIG] Message too large][b NOOP]",
        limits);
  Check("a APPEND INBOX {99999999999999999999999}\r\nb NOOP\r\n",
        "[ERR a NO [TOOBIG] Message too large][b NOOP]", limits);
}

TEST(ImapParser, NonSynchronizingLiteralTooLargeIsReadAndDropped) {
  ParserLimits limits;
  limits.max_append_literal = 5;
  Check("a APPEND INBOX {8+}\r\n01234567\r\nb NOOP\r\n",
        "[ERR a NO [TOOBIG] Message too large][b NOOP]", limits);
  // More literals after the refused one are skipped too.
  Check("a APPEND INBOX {8+}\r\n0123\r\n67 {2+}\r\nxy\r\nb NOOP\r\n",
        "[ERR a NO [TOOBIG] Message too large][b NOOP]", limits);
  // A synchronizing literal in the skipped rest ends the command at once.
  Check("a APPEND INBOX {8+}\r\n01234567 {2}\r\nb NOOP\r\n",
        "[ERR a NO [TOOBIG] Message too large][b NOOP]", limits);
}

TEST(ImapParser, NextLineForRawLines) {
  Parser p;
  bool too_long = false;
  p.Feed("DON");
  EXPECT_FALSE(p.NextLine(&too_long).has_value());
  p.Feed("E\r\nb NOOP\r\n");
  auto line = p.NextLine(&too_long);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "DONE");
  EXPECT_EQ(Drain(p), "[b NOOP]");
}

TEST(ImapParser, NextLineTooLong) {
  ParserLimits limits;
  limits.max_line_length = 8;
  Parser p(limits);
  bool too_long = false;
  p.Feed("0123456789");
  auto line = p.NextLine(&too_long);
  ASSERT_TRUE(line.has_value());
  EXPECT_TRUE(too_long);
  p.Feed("abc\r\nb NOOP\r\n");
  EXPECT_EQ(Drain(p), "[b NOOP]");
}

TEST(ImapParser, ResetDropsPartialCommand) {
  Parser p;
  p.Feed("a LOGIN {5}\r\nab");
  EXPECT_EQ(Drain(p), "[+]");
  EXPECT_TRUE(p.InCommand());
  p.Reset();
  EXPECT_FALSE(p.InCommand());
  p.Feed("b NOOP\r\n");
  EXPECT_EQ(Drain(p), "[b NOOP]");
}

TEST(ImapParser, LargeLiteralArrivesInPieces) {
  std::string body(100000, 'x');
  Parser p;
  p.Feed("a APPEND INBOX {100000}\r\n");
  EXPECT_EQ(Drain(p), "[+]");
  for (std::size_t i = 0; i < body.size(); i += 4096) {
    p.Feed(std::string_view(body).substr(i, 4096));
    ParseEvent ev = p.Next();
    EXPECT_EQ(ev.kind, ParseEvent::Kind::kNeedMore);
  }
  p.Feed("\r\n");
  ParseEvent ev = p.Next();
  ASSERT_EQ(ev.kind, ParseEvent::Kind::kCommand);
  EXPECT_EQ(ev.command.args[1].text, body);
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(ImapParser, LongLineTrickledByteByByte) {
  // Each byte must not rescan the whole line (that would be quadratic).
  ParserLimits limits;
  limits.max_line_length = 1u << 20;
  Parser p(limits);
  std::string arg(500000, 'x');
  std::string line = "a X " + arg + "\r\n";
  std::string out;
  for (char c : line) {
    p.Feed(std::string_view(&c, 1));
    out += Drain(p);
  }
  EXPECT_EQ(out, "[a X " + arg + "]");
}

// Regression: after a refused literal, the rest of the command's line was
// length-checked only while no line feed had arrived, so a literal
// announced at the end of an overlong rest was skipped when the line came
// in one read and taken as commands when a read ended before it.
TEST(ImapParser, RefusedLiteralRemainderIsSkippedTheSameHoweverSplit) {
  ParserLimits limits;
  limits.max_line_length = 512;
  limits.max_other_literals = 1024;
  std::string input =
      "\x06"
      "a X {1025+}\r\n" +
      std::string(1025, 'x') + " " + std::string(512, 'A') + " {1+}\r\nZ\r\n";
  const std::string expected = "[ERR * NO [LIMIT] Literal too large]";
  Check(input, expected, limits);
  for (std::size_t step : {2, 3, 5, 7, 64, 100, 1000}) {
    EXPECT_EQ(FeedEvery(input, step, limits), expected) << "step " << step;
  }
}

TEST(ImapParser, RefusedLiteralRemainderHidesNoCommand) {
  // The live reproducer: "c CREATE PWNED" is the content of a literal
  // announced by the refused command, never a command.
  ParserLimits limits;
  limits.max_line_length = 64 * 1024;
  limits.max_other_literals = 64 * 1024;
  std::string input = "a SEARCH TEXT {70000+}\r\n" + std::string(70000, 'x') + " " +
                      std::string(65600, 'A') + " {14+}\r\nc CREATE PWNED\r\nd NOOP\r\n";
  const std::string expected = "[ERR a NO [LIMIT] Literal too large][d NOOP]";
  EXPECT_EQ(FeedSplit(input, {}, limits), expected) << "whole";
  // A pause before " {14+}", then the rest.
  std::size_t pause = input.find(" {14+}");
  EXPECT_EQ(FeedSplit(input, {pause}, limits), expected);
  EXPECT_EQ(FeedSplit(input, {pause - 1000, pause}, limits), expected);
  for (std::size_t step : {1, 7, 4096, 65536}) {
    EXPECT_EQ(FeedEvery(input, step, limits), expected) << "step " << step;
  }
  for (std::size_t cut = 0; cut < input.size(); cut += 997) {
    ASSERT_EQ(FeedSplit(input, {cut}, limits), expected) << "split at " << cut;
  }
}

TEST(ImapParser, OverlongLineAnnouncingALiteralSkipsTheLiteral) {
  ParserLimits limits;
  limits.max_line_length = 20;
  Check("a X 01234567890123456789 {6+}\r\nb NOOP\r\nc NOOP\r\n",
        "[ERR a BAD Command line too long][c NOOP]", limits);
  // A '{' inside a quoted string announces nothing.
  Check("a X \"01234567890123456789 {6+}\"\r\nb NOOP\r\n",
        "[ERR a BAD Command line too long][b NOOP]", limits);
  Check("a X \"01234567890123456789\" {6+}\r\nb NOOP\r\nc NOOP\r\n",
        "[ERR a BAD Command line too long][c NOOP]", limits);
  // A synchronizing literal is not sent without "+": the command ends.
  Check("a X 01234567890123456789 {6}\r\nb NOOP\r\n", "[ERR a BAD Command line too long][b NOOP]",
        limits);
}

TEST(ImapParser, RefusedLiteralIsAnsweredAtOnce) {
  ParserLimits limits;
  limits.max_other_literals = 10;
  Parser p(limits);
  p.Feed("a LOGIN {100+}\r\n0123");
  // The answer does not wait for the 100 bytes to be skipped.
  EXPECT_EQ(Drain(p), "[ERR a NO [LIMIT] Literal too large]");
  p.Feed(std::string(96, 'x') + "\r\nb NOOP\r\n");
  EXPECT_EQ(Drain(p), "[b NOOP]");
}

// Regression: {18446744073709551615+} fits 64 bits, so it was skipped byte
// by byte and never answered; {99999999999999999999+} overflows and was
// answered, then its bytes were parsed as commands.
TEST(ImapParser, LiteralTooLargeToSkipIsFatal) {
  ParserLimits limits;
  Check("a LOGIN {18446744073709551615+}\r\nb NOOP\r\n",
        "[ERR a NO [LIMIT] Literal too large FATAL]", limits);
  Check("a LOGIN {99999999999999999999+}\r\nb NOOP\r\n",
        "[ERR a NO [LIMIT] Literal too large FATAL]", limits);
  Check("a APPEND INBOX {18446744073709551615+}\r\nb NOOP\r\n",
        "[ERR a NO [TOOBIG] Message too large FATAL]", limits);
  // Synchronizing: the client sends nothing without "+", nothing to skip.
  Check("a APPEND INBOX {18446744073709551615}\r\nb NOOP\r\n",
        "[ERR a NO [TOOBIG] Message too large][b NOOP]", limits);
  limits.max_other_literals = 10;
  limits.max_skipped_literal = 100;
  Check("a LOGIN {100+}\r\n" + std::string(100, 'x') + "\r\nb NOOP\r\n",
        "[ERR a NO [LIMIT] Literal too large][b NOOP]", limits);
  Check("a LOGIN {101+}\r\n" + std::string(101, 'x') + "\r\nb NOOP\r\n",
        "[ERR a NO [LIMIT] Literal too large FATAL]", limits);
  // Announced later in the skipped rest.
  Check("a LOGIN {11+}\r\n01234567890 {101+}\r\nb NOOP\r\n",
        "[ERR a NO [LIMIT] Literal too large][ERR *  FATAL]", limits);
}

// Regression: the cap on APPEND literals applied to each literal, so one
// command could hold any number of them.
TEST(ImapParser, AllLiteralsOfOneCommandAreCapped) {
  ParserLimits limits;  // before login, as the session sets them
  limits.max_line_length = 8192;
  limits.max_append_literal = 8192;
  limits.max_other_literals = 8192;
  limits.max_command_literals = 8192;
  std::string one(8192, 'm');
  Check("a APPEND x {8192+}\r\n" + one + "\r\n", "[a APPEND x {8192}\r\n" + one + "]", limits);
  std::string attack = "a APPEND x {8192+}\r\n";
  for (int i = 0; i < 20; ++i) attack += one + " {8192+}\r\n";
  attack += one + "\r\nb NOOP\r\n";
  const std::string expected = "[ERR a NO [LIMIT] Too much literal data in one command][b NOOP]";
  EXPECT_EQ(FeedSplit(attack, {}, limits), expected);
  EXPECT_EQ(FeedEvery(attack, 1, limits), expected);
  EXPECT_EQ(FeedEvery(attack, 1000, limits), expected);
  // Nothing of the refused command stays buffered.
  Parser p(limits);
  p.Feed(std::string_view(attack).substr(0, attack.size() - 8));  // before "b NOOP"
  EXPECT_EQ(Drain(p), "[ERR a NO [LIMIT] Too much literal data in one command]");
  EXPECT_LT(p.held(), 100u);

  // After login: one message, not twenty.
  limits.max_line_length = 512;
  limits.max_append_literal = 1000;
  limits.max_other_literals = 512;
  limits.max_command_literals = 1000 + 512;
  std::string msg(1000, 'm');
  std::string two = "a APPEND x {1000+}\r\n" + msg + " {1000+}\r\n" + msg + "\r\nb NOOP\r\n";
  EXPECT_EQ(FeedSplit(two, {}, limits),
            "[ERR a NO [LIMIT] Too much literal data in one command][b NOOP]");
  EXPECT_EQ(FeedEvery(two, 7, limits),
            "[ERR a NO [LIMIT] Too much literal data in one command][b NOOP]");
}

TEST(ImapParser, LiteralsCountAgainstTheMemoryBudget) {
  MemoryBudget& budget = MemoryBudget::Global();
  std::size_t before = budget.used();
  budget.set_limit(before + 10000);
  {
    Parser p;
    p.Feed("a APPEND x {5000}\r\n");
    EXPECT_EQ(Drain(p), "[+]");
    // The literal is reserved at its announced size.
    EXPECT_GE(budget.used(), before + 5000);
    Parser q;
    q.Feed("b APPEND x {6000}\r\nc NOOP\r\n");
    EXPECT_EQ(Drain(q),
              "[ERR b NO [UNAVAILABLE] Server is short of memory, try again later][c NOOP]");
    q.Feed("d APPEND x {6000+}\r\n" + std::string(6000, 'x') + "\r\ne NOOP\r\n");
    EXPECT_EQ(Drain(q),
              "[ERR d NO [UNAVAILABLE] Server is short of memory, try again later][e NOOP]");
  }
  EXPECT_EQ(budget.used(), before);
  budget.set_limit(0);
}

}  // namespace
}  // namespace pillarbox::imap
