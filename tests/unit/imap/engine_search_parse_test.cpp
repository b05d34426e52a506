#include <gtest/gtest.h>

#include "protocols/imap/imap_format.h"
#include "protocols/imap/search.h"

namespace pillarbox::imap {
namespace {

using K = SearchKey::Kind;

std::vector<Value> Args(std::initializer_list<const char*> atoms) {
  std::vector<Value> v;
  for (const char* a : atoms) v.push_back(Value::Atom(a));
  return v;
}

SearchProgram Ok(const std::vector<Value>& args, std::size_t start = 0) {
  auto r = ParseSearch(args, start);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : SearchProgram{};
}

TEST(EngineSearchParse, FlagKeys) {
  SearchProgram p =
      Ok(Args({"ANSWERED", "deleted", "DRAFT", "FLAGGED", "SEEN", "UNANSWERED", "UNDELETED",
               "UNDRAFT", "UNFLAGGED", "UNSEEN", "RECENT", "NEW", "OLD", "ALL"}));
  ASSERT_EQ(p.root.kind, K::kAnd);
  ASSERT_EQ(p.root.children.size(), 14u);
  EXPECT_EQ(p.root.children[0].kind, K::kFlag);
  EXPECT_EQ(p.root.children[0].flag, storage::kFlagAnswered);
  EXPECT_EQ(p.root.children[1].flag, storage::kFlagDeleted);
  EXPECT_EQ(p.root.children[9].kind, K::kNoFlag);
  EXPECT_EQ(p.root.children[9].flag, storage::kFlagSeen);
  EXPECT_EQ(p.root.children[10].kind, K::kRecent);
  EXPECT_EQ(p.root.children[11].kind, K::kNew);
  EXPECT_EQ(p.root.children[12].kind, K::kOld);
  EXPECT_EQ(p.root.children[13].kind, K::kAll);
  EXPECT_FALSE(p.needs_blob);
  EXPECT_EQ(p.cost, SearchCost::kCheap);
}

TEST(EngineSearchParse, ArgumentsOfEveryKind) {
  std::vector<Value> args =
      Args({"LARGER", "100", "SMALLER", "2000", "BEFORE", "1-Feb-1994", "ON", "02-Feb-1994",
            "SINCE", "3-Feb-1994", "KEYWORD", "$Work", "UNKEYWORD", "x", "UID", "1:*", "2,4:6"});
  SearchProgram p = Ok(args);
  ASSERT_EQ(p.root.children.size(), 9u);
  EXPECT_EQ(p.root.children[0].kind, K::kLarger);
  EXPECT_EQ(p.root.children[0].number, 100u);
  EXPECT_EQ(p.root.children[1].number, 2000u);
  EXPECT_EQ(p.root.children[2].kind, K::kBefore);
  EXPECT_EQ(p.root.children[2].days, DaysFromCivil(1994, 2, 1));
  EXPECT_EQ(p.root.children[3].days, DaysFromCivil(1994, 2, 2));
  EXPECT_EQ(p.root.children[4].kind, K::kSince);
  EXPECT_EQ(p.root.children[5].kind, K::kKeyword);
  EXPECT_EQ(p.root.children[5].text, "$Work");
  EXPECT_EQ(p.root.children[6].kind, K::kUnkeyword);
  EXPECT_EQ(p.root.children[7].kind, K::kUidSet);
  EXPECT_EQ(p.root.children[8].kind, K::kSequenceSet);
  EXPECT_FALSE(p.needs_blob);
}

TEST(EngineSearchParse, StringKeysNeedTheMessage) {
  std::vector<Value> args = {Value::Atom("FROM"),    Value::String("Alice"),
                             Value::Atom("TO"),      Value::Atom("bob"),
                             Value::Atom("CC"),      Value::String("c"),
                             Value::Atom("BCC"),     Value::String("d"),
                             Value::Atom("SUBJECT"), Value::String("Hello World"),
                             Value::Atom("HEADER"),  Value::String("X-Spam"),
                             Value::String("")};
  SearchProgram p = Ok(args);
  ASSERT_EQ(p.root.children.size(), 6u);
  EXPECT_EQ(p.root.children[0].kind, K::kHeader);
  EXPECT_EQ(p.root.children[0].text, "FROM");
  EXPECT_EQ(p.root.children[0].value, "alice");  // folded
  EXPECT_EQ(p.root.children[4].value, "hello world");
  EXPECT_EQ(p.root.children[5].text, "X-Spam");
  EXPECT_EQ(p.root.children[5].value, "");
  EXPECT_TRUE(p.needs_blob);
  EXPECT_EQ(p.cost, SearchCost::kHeaders);

  SearchProgram b = Ok({Value::Atom("BODY"), Value::String("x")});
  EXPECT_EQ(b.cost, SearchCost::kBody);
  SearchProgram t = Ok({Value::Atom("TEXT"), Value::String("x")});
  EXPECT_EQ(t.root.children[0].kind, K::kText);
  EXPECT_EQ(t.cost, SearchCost::kBody);
  EXPECT_GT(Ok(Args({"ALL"})).BatchSize(), t.BatchSize());

  SearchProgram sent =
      Ok(Args({"SENTBEFORE", "1-Jan-2000", "SENTON", "1-Jan-2000", "SENTSINCE", "1-Jan-2000"}));
  EXPECT_EQ(sent.root.children[0].kind, K::kSentBefore);
  EXPECT_EQ(sent.root.children[1].kind, K::kSentOn);
  EXPECT_EQ(sent.root.children[2].kind, K::kSentSince);
  EXPECT_TRUE(sent.needs_blob);
}

TEST(EngineSearchParse, NestedOrNotAndLists) {
  // OR (SEEN FLAGGED) NOT OR DELETED 3:5
  std::vector<Value> args = {
      Value::Atom("OR"),      Value::List({Value::Atom("SEEN"), Value::Atom("FLAGGED")}),
      Value::Atom("NOT"),     Value::Atom("OR"),
      Value::Atom("DELETED"), Value::Atom("3:5")};
  SearchProgram p = Ok(args);
  ASSERT_EQ(p.root.children.size(), 1u);
  const SearchKey& orr = p.root.children[0];
  ASSERT_EQ(orr.kind, K::kOr);
  EXPECT_EQ(orr.children[0].kind, K::kAnd);
  EXPECT_EQ(orr.children[0].children.size(), 2u);
  ASSERT_EQ(orr.children[1].kind, K::kNot);
  ASSERT_EQ(orr.children[1].children[0].kind, K::kOr);
  EXPECT_EQ(orr.children[1].children[0].children[1].kind, K::kSequenceSet);
}

TEST(EngineSearchParse, Charset) {
  std::vector<Value> args = {Value::Atom("CHARSET"), Value::Atom("utf-8"), Value::Atom("SUBJECT"),
                             Value::String("\xC3\x84rger")};
  SearchProgram p = Ok(args);
  EXPECT_EQ(p.charset, "utf-8");
  EXPECT_EQ(p.root.children[0].value, "\xC3\xA4rger");  // Ä folded to ä

  SearchProgram ascii = Ok({Value::Atom("CHARSET"), Value::String("US-ASCII"), Value::Atom("ALL")});
  EXPECT_EQ(ascii.root.children.size(), 1u);

  // ISO-8859-1 search strings are converted to UTF-8.
  SearchProgram latin = Ok({Value::Atom("CHARSET"), Value::Atom("ISO-8859-1"), Value::Atom("BODY"),
                            Value::String("\xC4rger")});
  EXPECT_EQ(latin.root.children[0].value, "\xC3\xA4rger");

  auto bad = ParseSearch(
      {Value::Atom("CHARSET"), Value::Atom("X-NO-SUCH-CHARSET"), Value::Atom("ALL")}, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
  EXPECT_EQ(SupportedSearchCharsets(), "UTF-8 US-ASCII");

  auto missing = ParseSearch({Value::Atom("CHARSET")}, 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  // CHARSET and nothing to search: BAD.
  EXPECT_FALSE(ParseSearch({Value::Atom("CHARSET"), Value::Atom("UTF-8")}, 0).ok());
}

TEST(EngineSearchParse, StartsAtTheGivenArgument) {
  std::vector<Value> args = {Value::Atom("RETURN"), Value::List({}), Value::Atom("SEEN")};
  SearchProgram p = Ok(args, 2);
  ASSERT_EQ(p.root.children.size(), 1u);
  EXPECT_EQ(p.root.children[0].kind, K::kFlag);
}

TEST(EngineSearchParse, KeywordForms) {
  SearchProgram p = Ok(Args({"KEYWORD", "\\Seen", "UNKEYWORD", "\\flagged"}));
  EXPECT_EQ(p.root.children[0].kind, K::kFlag);
  EXPECT_EQ(p.root.children[0].flag, storage::kFlagSeen);
  EXPECT_EQ(p.root.children[1].kind, K::kNoFlag);
  EXPECT_FALSE(ParseSearch(Args({"KEYWORD", "\\Recent"}), 0).ok());
  EXPECT_FALSE(ParseSearch({Value::Atom("KEYWORD"), Value::String("a b")}, 0).ok());
}

TEST(EngineSearchParse, ModSeq) {
  SearchProgram p = Ok(Args({"MODSEQ", "620162338"}));
  EXPECT_EQ(p.root.children[0].kind, K::kModSeq);
  EXPECT_EQ(p.root.children[0].number, 620162338u);
  SearchProgram q = Ok({Value::Atom("MODSEQ"), Value::String("/flags/\\draft"), Value::Atom("all"),
                        Value::Atom("5")});
  EXPECT_EQ(q.root.children[0].number, 5u);
  EXPECT_FALSE(ParseSearch({Value::Atom("MODSEQ"), Value::String("/flags/x"), Value::Atom("bad"),
                            Value::Atom("5")},
                           0)
                   .ok());
}

TEST(EngineSearchParse, RejectsGarbage) {
  std::vector<std::vector<Value>> bad = {
      {},
      Args({"FOO"}),
      Args({"LARGER"}),
      Args({"LARGER", "x"}),
      Args({"LARGER", "-1"}),
      Args({"SMALLER", "99999999999999999999"}),
      Args({"BEFORE", "2020-01-01"}),
      Args({"ON"}),
      Args({"OR", "SEEN"}),
      Args({"NOT"}),
      Args({"UID"}),
      Args({"UID", "x"}),
      Args({"1:x"}),
      Args({"0"}),
      Args({"HEADER", "X-A"}),
      Args({"FROM"}),
      Args({"KEYWORD"}),
      {Value::List({})},
      {Value::String("SEEN")},
      {Value::Atom("SUBJECT"), Value::List({})},
      {Value::Atom("UID"), Value::String("1")},
  };
  for (const auto& args : bad) {
    auto r = ParseSearch(args, 0);
    EXPECT_FALSE(r.ok()) << (args.empty() ? "<empty>" : args[0].text);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    }
  }
}

TEST(EngineSearchParse, DepthLimit) {
  Value v = Value::Atom("SEEN");
  for (int i = 0; i < kMaxSearchDepth; ++i) v = Value::List({v});
  EXPECT_FALSE(ParseSearch({v}, 0).ok());
  Value ok = Value::Atom("SEEN");
  for (int i = 0; i < kMaxSearchDepth - 2; ++i) ok = Value::List({ok});
  EXPECT_TRUE(ParseSearch({ok}, 0).ok());

  std::vector<Value> nots;
  for (int i = 0; i < kMaxSearchDepth + 1; ++i) nots.push_back(Value::Atom("NOT"));
  nots.push_back(Value::Atom("SEEN"));
  EXPECT_FALSE(ParseSearch(nots, 0).ok());
}

TEST(EngineSearchParse, KeyCountLimit) {
  std::vector<Value> many;
  for (std::size_t i = 0; i <= kMaxSearchKeys; ++i) many.push_back(Value::Atom("SEEN"));
  EXPECT_FALSE(ParseSearch(many, 0).ok());
  many.pop_back();
  EXPECT_TRUE(ParseSearch(many, 0).ok());
}

TEST(EngineSearchParse, FoldsLatinGreekCyrillic) {
  EXPECT_EQ(SearchFold("ABC xyz"), "abc xyz");
  EXPECT_EQ(SearchFold("\xC3\x89T\xC3\x89"), "\xC3\xA9t\xC3\xA9");  // ÉTÉ -> été
  EXPECT_EQ(SearchFold("\xC5\x81\xC3\x93"
                       "D\xC5\xB9"),
            "\xC5\x82\xC3\xB3"
            "d\xC5\xBA");  // ŁÓDŹ
  EXPECT_EQ(SearchFold("\xCE\xA3\xCE\x9F\xCE\xA6\xCE\x9F\xCE\xA3"),
            "\xCF\x83\xCE\xBF\xCF\x86\xCE\xBF\xCF\x83");  // ΣΟΦΟΣ
  EXPECT_EQ(SearchFold("\xCF\x82"), "\xCF\x83");          // final sigma
  EXPECT_EQ(SearchFold("\xD0\x9F\xD0\xA0\xD0\x98\xD0\x92\xD0\x95\xD0\xA2"),
            "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");  // ПРИВЕТ
  EXPECT_EQ(SearchFold("\xD0\x81"), "\xD1\x91");                  // Ё
  EXPECT_EQ(SearchFold("\xE2\x82\xAC"), "\xE2\x82\xAC");          // € unchanged
  EXPECT_EQ(SearchFold("a\xFF\xC3"), "a\xFF\xC3");                // invalid bytes kept
}

}  // namespace
}  // namespace pillarbox::imap
