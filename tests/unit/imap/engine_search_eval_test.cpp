#include <gtest/gtest.h>

#include <set>

#include "protocols/imap/imap_format.h"
#include "protocols/imap/search.h"
#include "tests/support/test_support.h"

namespace pillarbox::imap {
namespace {

const std::string kOne =
    "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>\r\n"
    "To: team@example.org, Bob <bob@example.org>\r\n"
    "Cc: carol@example.net\r\n"
    "Subject: =?UTF-8?B?Q2Fmw6kgbWVldGluZw==?=\r\n"
    "Date: Tue, 01 Feb 1994 23:30:00 -0800\r\n"
    "X-Spam: yes\r\n"
    "\r\n"
    "Plain body about budgets.\r\n";

const std::string kTwo =
    "From: dora@example.com\r\n"
    "Subject: Report\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Gr=FC=DFe aus K=F6ln, =\r\n"
    "bis bald\r\n";

const std::string kThree =
    "From: ivan@example.ru\r\n"
    "Subject: photos\r\n"
    "Date: Sun, 6 Feb 1994 08:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "0J/RgNC40LLQtdGCLCDQvNC40YA=\r\n"  // "Привет, мир"
    "--b\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "c2VjcmV0d29yZA==\r\n"  // "secretword"
    "--b--\r\n";

class EngineSearchEval : public ::testing::Test {
 protected:
  void SetUp() override {
    user_ = fx_.AddUser("u", "pw");
    // 1994-02-02 10:00 UTC.
    Add(kOne, storage::kFlagSeen, {}, DaysFromCivil(1994, 2, 2) * 86400 + 36000, 0);
    // 1994-02-04 00:30 UTC = 1994-02-03 23:30 -0100.
    Add(kTwo, storage::kFlagFlagged | storage::kFlagAnswered, {"$Work"},
        DaysFromCivil(1994, 2, 4) * 86400 + 1800, -60);
    // 1994-02-06 09:00 UTC.
    Add(kThree, storage::kFlagDeleted | storage::kFlagDraft, {},
        DaysFromCivil(1994, 2, 6) * 86400 + 32400, 0);
    auto view = fx_.store().Read();
    auto mbox = view->FindMailbox(user_.id, "INBOX");
    ASSERT_TRUE(mbox.ok());
    messages_ = view->ListMessages(mbox->id);
    ASSERT_EQ(messages_.size(), 3u);
  }

  void Add(const std::string& bytes, std::uint32_t flags, std::vector<std::string> keywords,
           storage::UnixTime date, std::int32_t tz) {
    storage::AppendRequest req;
    req.user = user_.id;
    req.bytes = std::make_shared<const std::string>(bytes);
    req.flags.system = flags;
    req.flags.keywords = std::move(keywords);
    req.internal_date = date;
    req.internal_date_tz = tz;
    req.origin.protocol = "test";
    auto r = fx_.Wait<storage::AppendResult>(
        [&](storage::Callback<storage::AppendResult> cb) { fx_.store().Append(req, cb); });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // The sequence numbers that match; message 3 is \Recent.
  std::vector<std::uint32_t> Search(const std::vector<Value>& args, bool with_view = true) {
    auto program = ParseSearch(args, 0);
    EXPECT_TRUE(program.ok()) << program.status().ToString();
    if (!program.ok()) return {999};
    auto view = fx_.store().Read();
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < messages_.size(); ++i) {
      SearchContext ctx;
      ctx.seq = static_cast<std::uint32_t>(i + 1);
      ctx.record = &messages_[i];
      ctx.recent = i == 2;
      ctx.max_seq = static_cast<std::uint32_t>(messages_.size());
      ctx.max_uid = messages_.back().uid;
      ctx.view = with_view ? view.get() : nullptr;
      if (Matches(*program, ctx)) out.push_back(ctx.seq);
    }
    return out;
  }
  std::vector<std::uint32_t> Search(std::initializer_list<const char*> atoms) {
    std::vector<Value> v;
    for (const char* a : atoms) v.push_back(Value::Atom(a));
    return Search(v);
  }
  static Value A(const char* s) { return Value::Atom(s); }
  static Value S(const char* s) { return Value::String(s); }

  testing::StoreFixture fx_;
  storage::UserRecord user_;
  std::vector<storage::MessageRecord> messages_;
};

using V = std::vector<std::uint32_t>;

TEST_F(EngineSearchEval, Flags) {
  EXPECT_EQ(Search({"ALL"}), (V{1, 2, 3}));
  EXPECT_EQ(Search({"SEEN"}), (V{1}));
  EXPECT_EQ(Search({"UNSEEN"}), (V{2, 3}));
  EXPECT_EQ(Search({"FLAGGED"}), (V{2}));
  EXPECT_EQ(Search({"UNFLAGGED"}), (V{1, 3}));
  EXPECT_EQ(Search({"ANSWERED"}), (V{2}));
  EXPECT_EQ(Search({"UNANSWERED"}), (V{1, 3}));
  EXPECT_EQ(Search({"DELETED"}), (V{3}));
  EXPECT_EQ(Search({"UNDELETED"}), (V{1, 2}));
  EXPECT_EQ(Search({"DRAFT"}), (V{3}));
  EXPECT_EQ(Search({"UNDRAFT"}), (V{1, 2}));
  EXPECT_EQ(Search({"KEYWORD", "$work"}), (V{2}));
  EXPECT_EQ(Search({"UNKEYWORD", "$WORK"}), (V{1, 3}));
  EXPECT_EQ(Search({"KEYWORD", "other"}), (V{}));
  EXPECT_EQ(Search({"RECENT"}), (V{3}));
  EXPECT_EQ(Search({"NEW"}), (V{3}));
  EXPECT_EQ(Search({"OLD"}), (V{1, 2}));
  EXPECT_EQ(Search({"SEEN", "UNSEEN"}), (V{}));
}

TEST_F(EngineSearchEval, FlagSearchesNeedNoView) {
  EXPECT_EQ(
      Search({A("UNSEEN"), A("LARGER"), A("1"), A("2:*"), A("SINCE"), A("1-Jan-1990")}, false),
      (V{2, 3}));
}

TEST_F(EngineSearchEval, SequenceAndUidSets) {
  std::string u1 = std::to_string(messages_[0].uid);
  std::string u3 = std::to_string(messages_[2].uid);
  EXPECT_EQ(Search({"2:*"}), (V{2, 3}));
  EXPECT_EQ(Search({"*"}), (V{3}));
  EXPECT_EQ(Search({"3:1"}), (V{1, 2, 3}));
  EXPECT_EQ(Search({"1,3"}), (V{1, 3}));
  EXPECT_EQ(Search({"5"}), (V{}));
  EXPECT_EQ(Search({"UID", u1.c_str()}), (V{1}));
  EXPECT_EQ(Search({"UID", (u3 + ":*").c_str()}), (V{3}));
  EXPECT_EQ(Search({"UID", "4000000000:*"}), (V{3}));  // N:* always includes the last UID
  EXPECT_EQ(Search({"UID", "1:*", "NOT", "1"}), (V{2, 3}));
}

TEST_F(EngineSearchEval, OrNotNesting) {
  EXPECT_EQ(Search({"OR", "SEEN", "FLAGGED"}), (V{1, 2}));
  EXPECT_EQ(Search({"NOT", "OR", "SEEN", "FLAGGED"}), (V{3}));
  EXPECT_EQ(Search({"NOT", "NOT", "SEEN"}), (V{1}));
  EXPECT_EQ(Search({A("OR"), Value::List({A("SEEN"), A("FLAGGED")}),
                    Value::List({A("DELETED"), A("NOT"), A("DRAFT")})}),
            (V{}));
  EXPECT_EQ(Search({A("OR"), Value::List({A("UNSEEN"), A("ANSWERED")}),
                    Value::List({A("DELETED"), A("DRAFT")})}),
            (V{2, 3}));
  EXPECT_EQ(Search({A("OR"), A("OR"), A("1"), A("2"), A("NOT"), A("OR"), A("2"), A("3")}),
            (V{1, 2}));
  EXPECT_EQ(Search({A("UNSEEN"), Value::List({A("OR"), A("1"), A("3")})}), (V{3}));
}

TEST_F(EngineSearchEval, Sizes) {
  ASSERT_LT(kTwo.size(), kOne.size());
  ASSERT_LT(kOne.size(), kThree.size());
  std::string s1 = std::to_string(kOne.size());
  std::string s2 = std::to_string(kTwo.size());
  EXPECT_EQ(Search({"LARGER", s1.c_str()}), (V{3}));
  EXPECT_EQ(Search({"SMALLER", s1.c_str()}), (V{2}));
  EXPECT_EQ(Search({"NOT", "LARGER", s1.c_str(), "NOT", "SMALLER", s1.c_str()}), (V{1}));
  EXPECT_EQ(Search({"LARGER", s2.c_str()}), (V{1, 3}));
  EXPECT_EQ(Search({"LARGER", "0"}), (V{1, 2, 3}));
  EXPECT_EQ(Search({"SMALLER", "1"}), (V{}));
}

TEST_F(EngineSearchEval, InternalDatesInTheirOwnZone) {
  EXPECT_EQ(Search({"BEFORE", "3-Feb-1994"}), (V{1}));
  // Message 2 arrived on 1994-02-04 UTC but on the 3rd in its own zone.
  EXPECT_EQ(Search({"ON", "3-Feb-1994"}), (V{2}));
  EXPECT_EQ(Search({"ON", "4-Feb-1994"}), (V{}));
  EXPECT_EQ(Search({"SINCE", "3-Feb-1994"}), (V{2, 3}));
  EXPECT_EQ(Search({"SINCE", "7-Feb-1994"}), (V{}));
  EXPECT_EQ(Search({"SINCE", "2-Feb-1994", "BEFORE", "6-Feb-1994"}), (V{1, 2}));
}

TEST_F(EngineSearchEval, SentDatesFromTheDateHeader) {
  // Message 1's Date: is the 1st in -0800 (the 2nd in UTC).
  EXPECT_EQ(Search({"SENTON", "1-Feb-1994"}), (V{1}));
  EXPECT_EQ(Search({"SENTBEFORE", "2-Feb-1994"}), (V{1}));
  // Message 2 has no Date: its INTERNALDATE counts.
  EXPECT_EQ(Search({"SENTON", "3-Feb-1994"}), (V{2}));
  EXPECT_EQ(Search({"SENTSINCE", "5-Feb-1994"}), (V{3}));
  EXPECT_EQ(Search({"SENTSINCE", "1-Feb-1994"}), (V{1, 2, 3}));
}

TEST_F(EngineSearchEval, HeaderAndAddressFields) {
  EXPECT_EQ(Search({A("FROM"), S("andr\xC3\xA9")}), (V{1}));
  EXPECT_EQ(Search({A("FROM"), S("ANDR\xC3\x89")}), (V{1}));
  EXPECT_EQ(Search({A("FROM"), S("andre@EXAMPLE")}), (V{1}));
  EXPECT_EQ(Search({A("FROM"), S("example.")}), (V{1, 2, 3}));
  EXPECT_EQ(Search({A("TO"), S("bob")}), (V{1}));
  EXPECT_EQ(Search({A("TO"), S("team@")}), (V{1}));
  EXPECT_EQ(Search({A("CC"), S("carol")}), (V{1}));
  EXPECT_EQ(Search({A("BCC"), S("carol")}), (V{}));
  EXPECT_EQ(Search({A("SUBJECT"), S("caf\xC3\xA9")}), (V{1}));
  EXPECT_EQ(Search({A("SUBJECT"), S("CAF\xC3\x89 MEET")}), (V{1}));
  EXPECT_EQ(Search({A("SUBJECT"), S("Q2Fm")}), (V{}));  // never the encoded form
  EXPECT_EQ(Search({A("SUBJECT"), S("")}), (V{1, 2, 3}));
  EXPECT_EQ(Search({A("HEADER"), S("X-Spam"), S("")}), (V{1}));
  EXPECT_EQ(Search({A("HEADER"), S("x-spam"), S("YES")}), (V{1}));
  EXPECT_EQ(Search({A("HEADER"), S("X-Spam"), S("no")}), (V{}));
  EXPECT_EQ(Search({A("HEADER"), S("X-None"), S("")}), (V{}));
  EXPECT_EQ(Search({A("HEADER"), S("Content-Transfer-Encoding"), S("quoted")}), (V{2}));
}

TEST_F(EngineSearchEval, BodyAndTextOnDecodedContent) {
  EXPECT_EQ(Search({A("BODY"), S("budgets")}), (V{1}));
  // Quoted-printable ISO-8859-1, soft line break joined.
  EXPECT_EQ(Search({A("BODY"), S("gr\xC3\xBC\xC3\x9F"
                                 "e")}),
            (V{2}));
  EXPECT_EQ(Search({A("BODY"), S("K\xC3\x96LN, BIS")}), (V{2}));
  EXPECT_EQ(Search({A("BODY"), S("=FC")}), (V{}));
  // Base64 UTF-8 inside a multipart; ПРИВЕТ folds to привет.
  EXPECT_EQ(Search({A("BODY"), S("\xD0\x9F\xD0\xA0\xD0\x98\xD0\x92\xD0\x95\xD0\xA2")}), (V{3}));
  // Attachments are not text.
  EXPECT_EQ(Search({A("BODY"), S("secretword")}), (V{}));
  EXPECT_EQ(Search({A("BODY"), S("Report")}), (V{}));
  EXPECT_EQ(Search({A("TEXT"), S("report")}), (V{2}));
  EXPECT_EQ(Search({A("TEXT"), S("budgets")}), (V{1}));
  EXPECT_EQ(Search({A("TEXT"), S("andr\xC3\xA9")}), (V{1}));
  EXPECT_EQ(Search({A("BODY"), S("")}), (V{1, 2, 3}));
  EXPECT_EQ(Search({A("NOT"), A("BODY"), S("budgets")}), (V{2, 3}));
}

TEST_F(EngineSearchEval, CharsetConvertsSearchStrings) {
  EXPECT_EQ(Search({A("CHARSET"), A("ISO-8859-1"), A("BODY"), S("K\xF6ln")}), (V{2}));
  EXPECT_EQ(Search({A("CHARSET"), A("UTF-8"), A("BODY"), S("K\xC3\xB6ln")}), (V{2}));
  EXPECT_EQ(Search({A("CHARSET"), A("US-ASCII"), A("SUBJECT"), S("report")}), (V{2}));
}

TEST_F(EngineSearchEval, UnreadableBlobMatchesNoTextKey) {
  storage::MessageRecord ghost = messages_[0];
  ghost.blob.bytes[0] ^= 0xff;
  auto view = fx_.store().Read();
  auto program = ParseSearch({A("SUBJECT"), S("")}, 0);
  ASSERT_TRUE(program.ok());
  SearchContext ctx{1, &ghost, false, 1, ghost.uid, view.get()};
  EXPECT_FALSE(Matches(*program, ctx));
  auto negated = ParseSearch({A("NOT"), A("BODY"), S("x")}, 0);
  ASSERT_TRUE(negated.ok());
  EXPECT_TRUE(Matches(*negated, ctx));
}

}  // namespace
}  // namespace pillarbox::imap
