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
      return "[ERR " + (ev.tag.empty() ? std::string("*") : ev.tag) + " " + ev.response + "]";
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

}  // namespace
}  // namespace pillarbox::imap
