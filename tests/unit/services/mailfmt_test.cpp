// The readers and writers of other programs' mail formats (services/mailfmt.h):
// Maildir names, dovecot-uidlist and dovecot-keywords, POP3 UIDL formats,
// mbox From lines, status headers and the streaming mbox parser (whole, and
// split at every point).
#include "services/mailfmt.h"

#include <gtest/gtest.h>

namespace pillarbox::services::mailfmt {
namespace {

TEST(MaildirNameTest, InfoFlagsAndKeywords) {
  MaildirName n = ParseMaildirName("1700000000.M1P2.host,S=12,W=14:2,FPRSTac");
  EXPECT_EQ(n.base, "1700000000.M1P2.host,S=12,W=14");
  EXPECT_TRUE(n.has_info);
  EXPECT_EQ(n.system, storage::kFlagFlagged | storage::kFlagAnswered | storage::kFlagSeen |
                          storage::kFlagDeleted);
  EXPECT_TRUE(n.passed);
  EXPECT_EQ(n.keyword_letters, "ac");
  EXPECT_EQ(n.size, 12u);
  EXPECT_EQ(n.vsize, 14u);
}

TEST(MaildirNameTest, NoInfoOtherSeparatorsAndDraft) {
  MaildirName n = ParseMaildirName("1700000000.M1P2.host");
  EXPECT_EQ(n.base, "1700000000.M1P2.host");
  EXPECT_FALSE(n.has_info);
  EXPECT_EQ(n.system, 0u);
  EXPECT_FALSE(n.size);
  n = ParseMaildirName("x.host!2,D");
  EXPECT_EQ(n.base, "x.host");
  EXPECT_EQ(n.system, storage::kFlagDraft);
  n = ParseMaildirName("x.host:2,");
  EXPECT_TRUE(n.has_info);
  EXPECT_EQ(n.system, 0u);
  // A host name with a comma that is no size field.
  n = ParseMaildirName("x.a,b,S=x:2,S");
  EXPECT_FALSE(n.size);
  EXPECT_EQ(n.system, storage::kFlagSeen);
}

TEST(MaildirNameTest, FormatInfoIsSorted) {
  EXPECT_EQ(FormatMaildirInfo(storage::kFlagSeen | storage::kFlagDraft | storage::kFlagDeleted,
                              true, "ca"),
            "2,DPSTac");
  EXPECT_EQ(FormatMaildirInfo(0, false, ""), "2,");
  MaildirName n = ParseMaildirName("b:" + FormatMaildirInfo(storage::kFlagAnswered, false, "zb"));
  EXPECT_EQ(n.system, storage::kFlagAnswered);
  EXPECT_EQ(n.keyword_letters, "bz");
}

TEST(DovecotKeywordsTest, Lines) {
  auto k = ParseDovecotKeywords("0 $Label1\n1 Work stuff\nbad\n27 Toolarge\n3 Last");
  ASSERT_EQ(k.size(), 3u);
  EXPECT_EQ(k[0], "$Label1");
  EXPECT_EQ(k[1], "Work stuff");
  EXPECT_EQ(k[3], "Last");
}

TEST(DovecotUidlistTest, Version3WithFields) {
  auto u = ParseDovecotUidlist(
      "3 V1275660208 N25 G3085f01b7f11094c501100008c4a11c1\n"
      "1 :1655390418.M1P7.host,S=3734\n"
      "4 W3800 P0000abcd G00aa :1655390419.M2P7.host,S=100,W=103:2,S\n"
      "bad line\n"
      "7 :name with space\n");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->version, 3);
  EXPECT_EQ(u->uidvalidity, 1275660208u);
  EXPECT_EQ(u->uidnext, 25u);
  EXPECT_EQ(u->guid, "3085f01b7f11094c501100008c4a11c1");
  ASSERT_EQ(u->records.size(), 3u);
  EXPECT_EQ(u->records[0].uid, 1u);
  EXPECT_EQ(u->records[0].file_base, "1655390418.M1P7.host,S=3734");
  EXPECT_TRUE(u->records[0].fields.empty());
  EXPECT_EQ(u->records[1].uid, 4u);
  EXPECT_EQ(u->records[1].file_base, "1655390419.M2P7.host,S=100,W=103");
  EXPECT_EQ(u->records[1].fields.at('P'), "0000abcd");
  EXPECT_EQ(u->records[1].fields.at('W'), "3800");
  EXPECT_EQ(u->records[1].fields.at('G'), "00aa");
  EXPECT_EQ(u->records[2].file_base, "name with space");
  ASSERT_EQ(u->bad_lines.size(), 1u);
  EXPECT_EQ(u->bad_lines[0], "bad line");
}

TEST(DovecotUidlistTest, Version1AndBadHeaders) {
  auto u = ParseDovecotUidlist("1 1000 5\n2 a.host\r\n3 b.host:2,S\n");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uidvalidity, 1000u);
  EXPECT_EQ(u->uidnext, 5u);
  ASSERT_EQ(u->records.size(), 2u);
  EXPECT_EQ(u->records[0].file_base, "a.host");
  EXPECT_EQ(u->records[1].file_base, "b.host");
  EXPECT_FALSE(ParseDovecotUidlist(""));
  EXPECT_FALSE(ParseDovecotUidlist("9 V1 N2\n"));
  EXPECT_FALSE(ParseDovecotUidlist("1 x y\n"));
  // A header only: an empty mailbox.
  auto empty = ParseDovecotUidlist("3 V7 N1");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->records.empty());
  EXPECT_EQ(empty->uidvalidity, 7u);
}

TEST(Pop3UidlFormatTest, DovecotDefaultAndVariables) {
  std::string err;
  UidlVars v{0x1a, 0x5f5e1000, "base", "g"};
  // What Dovecot 2.3 answers to UIDL with its default format.
  EXPECT_EQ(FormatPop3Uidl(kDovecotDefaultUidlFormat, v, &err), "0000001a5f5e1000");
  EXPECT_EQ(FormatPop3Uidl("%u.%v", v, &err), "26.1600000000");
  EXPECT_EQ(FormatPop3Uidl("%f-%g-%%-%4u", v, &err), "base-g-%-  26");
  EXPECT_EQ(err, "");
  EXPECT_EQ(FormatPop3Uidl("%u-%x", v, &err), "");
  EXPECT_EQ(err, "pop3_uidl_format ends in the middle of a variable");
  err.clear();
  EXPECT_EQ(FormatPop3Uidl("%08xu", v, &err), "0000001a");
  EXPECT_EQ(FormatPop3Uidl("%m", v, &err), "");
  EXPECT_FALSE(err.empty());
  err.clear();
  EXPECT_EQ(FormatPop3Uidl("%08", v, &err), "");
  EXPECT_FALSE(err.empty());
}

TEST(SpecialUseByNameTest, Aliases) {
  EXPECT_EQ(SpecialUseByName("Sent Items"), storage::SpecialUse::kSent);
  EXPECT_EQ(SpecialUseByName("sent"), storage::SpecialUse::kSent);
  EXPECT_EQ(SpecialUseByName("[Gmail]/Spam"), storage::SpecialUse::kJunk);
  EXPECT_EQ(SpecialUseByName("Deleted Messages"), storage::SpecialUse::kTrash);
  EXPECT_EQ(SpecialUseByName("Work"), storage::SpecialUse::kNone);
}

TEST(FromLineTest, Dates) {
  // 2026-11-26 10:00:00 UTC.
  constexpr storage::UnixTime kT = 1795687200;
  EXPECT_EQ(ParseFromLineDate("From a@b Thu Nov 26 10:00:00 2026"), kT);
  EXPECT_EQ(ParseFromLineDate("From a@b  Thu Nov 26 10:00:00 2026\r\n"), kT);
  EXPECT_EQ(ParseFromLineDate("From a@b Thu Nov 26 11:00:00 +0100 2026"), kT);
  EXPECT_EQ(ParseFromLineDate("From a@b Thu Nov 26 05:00:00 2026 -0500"), kT);
  EXPECT_EQ(ParseFromLineDate("From a@b Thu Nov 26 10:00 2026"), kT);
  EXPECT_EQ(ParseFromLineDate("From MAILER-DAEMON Thu Nov 26 10:00:00 UTC 2026"), kT);
  EXPECT_EQ(ParseFromLineDate("From a@b Thu Feb  1 00:00:00 1996"), 823132800);
  EXPECT_FALSE(ParseFromLineDate("From a@b"));
  EXPECT_FALSE(ParseFromLineDate("From here on we talk"));
  EXPECT_FALSE(ParseFromLineDate("From a@b Thu Nov 32 10:00:00 2026"));
  EXPECT_EQ(FormatFromLine("a@b", kT), "From a@b Thu Nov 26 10:00:00 2026");
  EXPECT_EQ(FormatFromLine("", 823132800), "From MAILER-DAEMON Thu Feb  1 00:00:00 1996");
  EXPECT_EQ(FormatFromLine("x", 0), "From x Thu Jan  1 00:00:00 1970");
  for (storage::UnixTime t : {storage::UnixTime{0}, storage::UnixTime{1},
                              storage::UnixTime{951782400}, storage::UnixTime{4102444799}, kT}) {
    EXPECT_EQ(ParseFromLineDate(FormatFromLine("x", t)), t) << t;
  }
}

TEST(MboxMetaTest, TakesStatusHeadersAndKeepsTheRest) {
  std::string m =
      "Subject: hi\nStatus: RO\nX-Status: AF\nX-Keywords: $Label1, Work\n"
      "X-UID: 42\nX-IMAPbase: 1000 57 Junk\nX-UIDL: abc\n  folded-continuation\n"
      "To: x\n\nStatus: R body is kept\n";
  MboxMeta meta = TakeMboxMeta(&m);
  EXPECT_EQ(m, "Subject: hi\nTo: x\n\nStatus: R body is kept\n");
  EXPECT_EQ(meta.flags.system, storage::kFlagSeen | storage::kFlagAnswered | storage::kFlagFlagged);
  EXPECT_EQ(meta.flags.keywords, (std::vector<std::string>{"$Label1", "Work"}));
  EXPECT_EQ(meta.uid, 42u);
  EXPECT_EQ(meta.base_uidvalidity, 1000u);
  EXPECT_EQ(meta.base_uidnext, 58u);
  EXPECT_EQ(meta.uidl, "abc");
}

TEST(MboxMetaTest, FormatThenTakeRoundTrips) {
  MboxMeta meta;
  meta.flags.system = storage::kFlagDraft | storage::kFlagDeleted;
  meta.flags.keywords = {"a", "b"};
  meta.uid = 9;
  meta.uidl = "u1";
  meta.base_uidvalidity = 77;
  meta.base_uidnext = 10;
  std::string m = "From: x\n" + FormatMboxMeta(meta) + "\nbody\n";
  MboxMeta back = TakeMboxMeta(&m);
  EXPECT_EQ(m, "From: x\n\nbody\n");
  EXPECT_EQ(back.flags, meta.flags);
  EXPECT_EQ(back.uid, meta.uid);
  EXPECT_EQ(back.uidl, meta.uidl);
  EXPECT_EQ(back.base_uidvalidity, 77u);
  EXPECT_EQ(back.base_uidnext, 10u);
}

std::vector<MboxMessage> ParseAll(const std::vector<std::string_view>& pieces,
                                  std::uint64_t max = 1 << 20, std::uint64_t* garbage = nullptr) {
  std::vector<MboxMessage> out;
  MboxParser p(max, [&](MboxMessage&& m) { out.push_back(std::move(m)); });
  for (auto piece : pieces) p.Feed(piece);
  p.Finish();
  if (garbage) *garbage = p.garbage();
  return out;
}

constexpr std::string_view kMbox =
    "From alice@example.org Thu Nov 26 10:00:00 2026\n"
    "Subject: one\n"
    "\n"
    ">From the start\n"
    ">>From twice\n"
    "From here on unquoted (mboxo)\n"
    "\n"
    "\n"
    "From MAILER-DAEMON Thu Nov 26 10:00:01 2026\r\n"
    "Subject: two\r\n"
    "\r\n"
    "body\r\n"
    "\r\n"
    "From bob Thu Nov 26 10:00:02 2026\n"
    "Subject: three (no blank at the end)\n";

void ExpectThree(const std::vector<MboxMessage>& m) {
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].envelope_from, "alice@example.org");
  EXPECT_EQ(m[0].bytes,
            "Subject: one\n\nFrom the start\n>From twice\nFrom here on unquoted (mboxo)\n\n");
  EXPECT_EQ(m[0].date, 1795687200);
  EXPECT_EQ(m[0].offset, 0u);
  EXPECT_EQ(m[1].envelope_from, "");
  EXPECT_EQ(m[1].bytes, "Subject: two\r\n\r\nbody\r\n");
  EXPECT_EQ(m[1].offset, kMbox.find("From MAILER"));
  EXPECT_EQ(m[2].bytes, "Subject: three (no blank at the end)\n");
  EXPECT_EQ(m[2].date, 1795687202);
  std::uint64_t total = 0;
  for (const auto& x : m) total += x.raw_size;
  EXPECT_EQ(total, kMbox.size());
}

TEST(MboxParserTest, Whole) { ExpectThree(ParseAll({kMbox})); }

TEST(MboxParserTest, ByteByByte) {
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i < kMbox.size(); ++i) pieces.push_back(kMbox.substr(i, 1));
  ExpectThree(ParseAll(pieces));
}

TEST(MboxParserTest, SplitAtEveryPoint) {
  for (std::size_t i = 0; i <= kMbox.size(); ++i) {
    SCOPED_TRACE(i);
    ExpectThree(ParseAll({kMbox.substr(0, i), kMbox.substr(i)}));
  }
}

TEST(MboxParserTest, TooBigMessageIsReportedWithoutItsBytes) {
  std::string big = "From a Thu Nov 26 10:00:00 2026\n" + std::string(100, 'x') +
                    "\n\nFrom b Thu Nov 26 10:00:00 2026\nsmall\n";
  auto m = ParseAll({big}, 50);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(m[0].too_big);
  EXPECT_TRUE(m[0].bytes.empty());
  EXPECT_FALSE(m[1].too_big);
  EXPECT_EQ(m[1].bytes, "small\n");
}

TEST(MboxParserTest, GarbageBeforeTheFirstFromLineAndNoMbox) {
  std::uint64_t garbage = 0;
  auto m = ParseAll({"junk\nFrom a Thu Nov 26 10:00:00 2026\nx\n"}, 1 << 20, &garbage);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(garbage, 5u);
  m = ParseAll({"Subject: not an mbox\n\nbody\n"}, 1 << 20, &garbage);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(garbage, 27u);
}

TEST(MboxParserTest, LongLineIsPassedOnInPieces) {
  std::string line(3u << 20, 'y');
  std::string mbox = "From a Thu Nov 26 10:00:00 2026\n" + line + "\nFrom b\n";
  auto m = ParseAll({mbox.substr(0, 1000), mbox.substr(1000)}, 8u << 20);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].bytes, line + "\nFrom b\n");
}

TEST(EscapeMboxrdTest, QuotesAndLineEndings) {
  EXPECT_EQ(EscapeMboxrd("A: b\r\n\r\nFrom x\r\n>From y\r\nFromage\r\nlast"),
            "A: b\n\n>From x\n>>From y\nFromage\nlast\n");
  // Escaped then parsed gives the message back.
  std::string msg = "S: 1\n\nFrom a\n>From b\n>>From c\n";
  std::string mbox = FormatFromLine("x", 0) + "\n" + EscapeMboxrd(msg) + "\n";
  auto m = ParseAll({mbox});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].bytes, msg);
}

TEST(ToLfTest, OnlyCrlf) { EXPECT_EQ(ToLf("a\r\nb\rc\n\r\n"), "a\nb\rc\n\n"); }

}  // namespace
}  // namespace pillarbox::services::mailfmt
