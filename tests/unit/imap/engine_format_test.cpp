#include <gtest/gtest.h>

#include <set>

#include "protocols/imap/imap_format.h"

namespace pillarbox::imap {
namespace {

Value Atom(const char* s) { return Value::Atom(s); }

TEST(EngineFormat, FormatsFlagsInDovecotOrder) {
  storage::Flags f;
  EXPECT_EQ(FormatFlags(f, false), "()");
  EXPECT_EQ(FormatFlags(f, true), "(\\Recent)");
  f.system = storage::kFlagSeen | storage::kFlagAnswered | storage::kFlagDraft |
             storage::kFlagDeleted | storage::kFlagFlagged;
  f.keywords = {"$Forwarded", "work"};
  EXPECT_EQ(FormatFlags(f, true),
            "(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\Recent $Forwarded work)");
  EXPECT_EQ(FormatFlagNames(f, false),
            "\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded work");
}

TEST(EngineFormat, ParsesFlagLists) {
  auto f = ParseFlagList(
      Value::List({Atom("\\seen"), Atom("\\FLAGGED"), Atom("Work"), Atom("$Label1"), Atom("work"),
                   Atom("\\Answered"), Atom("\\deleted"), Atom("\\Draft")}));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->system, storage::kFlagSeen | storage::kFlagFlagged | storage::kFlagAnswered |
                           storage::kFlagDeleted | storage::kFlagDraft);
  EXPECT_EQ(f->keywords, (std::vector<std::string>{"$Label1", "Work"}));

  auto single = ParseFlagList(Atom("\\Seen"));
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->system, storage::kFlagSeen);
  auto empty = ParseFlagList(Value::List({}));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, storage::Flags{});
}

TEST(EngineFormat, RejectsBadFlags) {
  auto recent = ParseFlagList(Value::List({Atom("\\Recent")}));
  ASSERT_FALSE(recent.ok());
  EXPECT_EQ(recent.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(recent.status().message(), "Invalid system flag \\Recent");
  EXPECT_FALSE(ParseFlagList(Value::List({Atom("\\Unknown")})).ok());
  EXPECT_FALSE(ParseFlagList(Value::List({Atom("\\")})).ok());
  EXPECT_FALSE(ParseFlagList(Value::List({Value::String("quoted")})).ok());
  EXPECT_FALSE(ParseFlagList(Value::List({Value::List({})})).ok());
  EXPECT_FALSE(ParseFlagList(Value::List({Atom("a]b")})).ok());
  EXPECT_FALSE(ParseFlagList(Value::List({Atom("a%")})).ok());
  EXPECT_FALSE(ParseFlagList(Value::List({Atom("caf\xc3\xa9")})).ok());
  EXPECT_FALSE(
      ParseFlagList(Value::List({Atom(std::string(kMaxKeywordLength + 1, 'k').c_str())})).ok());
  EXPECT_TRUE(ParseFlagList(Value::List({Atom(std::string(kMaxKeywordLength, 'k').c_str())})).ok());
  std::vector<Value> many;
  for (std::size_t i = 0; i <= kMaxKeywordsPerList; ++i)
    many.push_back(Value::Atom("k" + std::to_string(i)));
  EXPECT_FALSE(ParseFlagList(Value::List(many)).ok());
  many.pop_back();
  EXPECT_TRUE(ParseFlagList(Value::List(many)).ok());
}

TEST(EngineFormat, FormatsInternalDate) {
  // 1996-07-17 09:44:25 UTC shown in -0700.
  EXPECT_EQ(FormatInternalDate(837596665, -7 * 60), "\"17-Jul-1996 02:44:25 -0700\"");
  EXPECT_EQ(FormatInternalDate(0, 0), "\"01-Jan-1970 00:00:00 +0000\"");
  EXPECT_EQ(FormatInternalDate(0, 330), "\"01-Jan-1970 05:30:00 +0530\"");
  EXPECT_EQ(FormatInternalDate(0, -1), "\"31-Dec-1969 23:59:00 -0001\"");
  EXPECT_EQ(FormatInternalDate(951782400, 0), "\"29-Feb-2000 00:00:00 +0000\"");
}

TEST(EngineFormat, ParsesAppendDateTime) {
  auto d = ParseDateTime("17-Jul-1996 02:44:25 -0700");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->time, 837596665);
  EXPECT_EQ(d->tz_minutes, -420);
  auto spaced = ParseDateTime(" 7-jul-1996 02:44:25 +0000");
  ASSERT_TRUE(spaced.ok());
  EXPECT_EQ(spaced->time, 837596665 - 7 * 3600 - 10 * 86400);
  auto one = ParseDateTime("7-JUL-1996 02:44:25 +0000");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->time, spaced->time);
  auto plus = ParseDateTime("01-Jan-1970 05:30:00 +0530");
  ASSERT_TRUE(plus.ok());
  EXPECT_EQ(plus->time, 0);
  EXPECT_EQ(plus->tz_minutes, 330);
  // Round trip.
  EXPECT_EQ(FormatInternalDate(d->time, d->tz_minutes), "\"17-Jul-1996 02:44:25 -0700\"");
}

TEST(EngineFormat, RejectsBadDateTimes) {
  for (const char* bad :
       {"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jul-1996 02:44:25 0700",
        "32-Jul-1996 02:44:25 -0700", "29-Feb-1999 00:00:00 +0000", "00-Jan-2000 00:00:00 +0000",
        "17-Jux-1996 02:44:25 -0700", "17-Jul-96 02:44:25 -0700", "17-Jul-1996 24:00:00 -0700",
        "17-Jul-1996 02:60:00 -0700", "17-Jul-1996 02:44:25 -0760", "17-Jul-1996 2:44:25 -0700",
        "17-Jul-1996 02:44:25 -0700 ", "117-Jul-1996 02:44:25 -0700",
        "17 Jul 1996 02:44:25 -0700"}) {
    EXPECT_FALSE(ParseDateTime(bad).ok()) << bad;
  }
  EXPECT_TRUE(ParseDateTime("29-Feb-2000 00:00:00 +0000").ok());
}

TEST(EngineFormat, ParsesSearchDates) {
  auto d = ParseSearchDate("1-Feb-1994");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, DaysFromCivil(1994, 2, 1));
  auto d2 = ParseSearchDate("01-feb-1994");
  ASSERT_TRUE(d2.ok());
  EXPECT_EQ(*d2, *d);
  EXPECT_EQ(*ParseSearchDate("1-Jan-1970"), 0);
  for (const char* bad : {"", "1-Feb-94", "1-Febr-1994", "1 Feb 1994", "31-Apr-2020", "x-Feb-1994",
                          "1-Feb-1994 ", "001-Feb-1994"}) {
    EXPECT_FALSE(ParseSearchDate(bad).ok()) << bad;
  }
}

TEST(EngineFormat, CivilDaysRoundTrip) {
  for (std::int64_t days : {-719468ll, -1ll, 0ll, 1ll, 10956ll, 11016ll, 2932896ll}) {
    int y = 0;
    unsigned m = 0, d = 0;
    CivilFromDays(days, y, m, d);
    EXPECT_EQ(DaysFromCivil(y, m, d), days);
  }
  EXPECT_EQ(DaysFromCivil(2000, 3, 1) - DaysFromCivil(2000, 2, 28), 2);
}

TEST(EngineFormat, QuotesStrings) {
  EXPECT_EQ(QuoteString(""), "\"\"");
  EXPECT_EQ(QuoteString("hello world"), "\"hello world\"");
  EXPECT_EQ(QuoteString("a \"b\" \\c"), "\"a \\\"b\\\" \\\\c\"");
  EXPECT_EQ(QuoteString("line\r\nbreak"), "{11}\r\nline\r\nbreak");
  EXPECT_EQ(QuoteString("caf\xc3\xa9"), "{5}\r\ncaf\xc3\xa9");
  EXPECT_EQ(QuoteString(std::string("a\0b", 3)), std::string("{3}\r\na\0b", 8));
  EXPECT_EQ(QuoteString(std::string(4096, 'x')), "\"" + std::string(4096, 'x') + "\"");
  EXPECT_EQ(QuoteString(std::string(4097, 'x')), "{4097}\r\n" + std::string(4097, 'x'));
  std::string out = "x ";
  AppendNString(out, std::nullopt);
  out += ' ';
  AppendNString(out, std::string("v"));
  EXPECT_EQ(out, "x NIL \"v\"");
}

TEST(EngineFormat, FormatsAStrings) {
  EXPECT_EQ(FormatAString("INBOX"), "INBOX");
  EXPECT_EQ(FormatAString("a b"), "\"a b\"");
  EXPECT_EQ(FormatAString(""), "\"\"");
  EXPECT_EQ(FormatAString("NIL"), "\"NIL\"");
  EXPECT_EQ(FormatAString("nil"), "\"nil\"");
  EXPECT_EQ(FormatAString("a*"), "\"a*\"");
  EXPECT_TRUE(IsAtom("abc$-_.!"));
  EXPECT_FALSE(IsAtom("a(b"));
  EXPECT_FALSE(IsAtom("a{"));
  EXPECT_FALSE(IsAtom("a\x7f"));
}

TEST(KeywordsTest, KnownKeywordsCompareIgnoringAsciiCase) {
  std::set<std::string> known = {"$Forwarded", "Work"};
  EXPECT_TRUE(HasKeyword(known, "$forwarded"));
  EXPECT_TRUE(HasKeyword(known, "WORK"));
  EXPECT_FALSE(HasKeyword(known, "Home"));
  EXPECT_EQ(CountNewKeywords(known, std::vector<std::string>{"work", "Home", "$Junk"}), 2u);
  EXPECT_EQ(CountNewKeywords(known, std::vector<std::string>{}), 0u);
}

TEST(CommandTest, HeaderKeepsTagNameAndUidOnly) {
  Command cmd;
  cmd.tag = "a1";
  cmd.name = "FETCH";
  cmd.uid = true;
  cmd.args.push_back(Value::Atom("1:*"));
  Command h = cmd.Header();
  EXPECT_EQ(h.tag, "a1");
  EXPECT_EQ(h.name, "FETCH");
  EXPECT_TRUE(h.uid);
  EXPECT_TRUE(h.args.empty());
}

}  // namespace
}  // namespace pillarbox::imap
