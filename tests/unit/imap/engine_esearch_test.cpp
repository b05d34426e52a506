// ESEARCH rendering and RETURN option parsing (esearch.h), and the "$"
// search key (SEARCHRES) in the SEARCH parser.
#include <gtest/gtest.h>

#include "protocols/imap/esearch.h"
#include "protocols/imap/search.h"
#include "protocols/imap/sequence_set.h"

namespace pillarbox::imap {
namespace {

std::vector<Value> Args(std::vector<std::string> return_opts, bool with_return = true) {
  std::vector<Value> args;
  if (with_return) {
    args.push_back(Value::Atom("RETURN"));
    std::vector<Value> opts;
    for (auto& o : return_opts) opts.push_back(Value::Atom(o));
    args.push_back(Value::List(std::move(opts)));
  }
  args.push_back(Value::Atom("ALL"));
  return args;
}

Result<SearchReturn> Parse(std::vector<std::string> opts, const SearchReturnAllowed& allowed = {}) {
  auto args = Args(std::move(opts));
  std::size_t pos = 0;
  auto r = ParseSearchReturn(args, &pos, allowed);
  if (r.ok()) {
    EXPECT_EQ(pos, 2u);
  }
  return r;
}

TEST(EsearchParse, NoReturnLeavesThePosition) {
  auto args = Args({}, false);
  std::size_t pos = 0;
  auto r = ParseSearchReturn(args, &pos);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->esearch);
  EXPECT_EQ(pos, 0u);
}

TEST(EsearchParse, EmptyListIsAll) {
  auto r = Parse({});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->esearch);
  EXPECT_TRUE(r->all);
  EXPECT_FALSE(r->min || r->max || r->count || r->save);
}

TEST(EsearchParse, OptionsAnyCaseAnyOrder) {
  auto r = Parse({"count", "Max", "MIN", "save", "ALL", "min"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->min && r->max && r->all && r->count && r->save);
}

TEST(EsearchParse, SaveAloneWantsNoResponse) {
  auto r = Parse({"SAVE"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->save);
  EXPECT_FALSE(r->all);
  EXPECT_FALSE(r->WantsResponse());
}

TEST(EsearchParse, Errors) {
  EXPECT_FALSE(Parse({"FOO"}).ok());
  EXPECT_FALSE(Parse({"PARTIAL"}).ok());
  EXPECT_FALSE(Parse({"PARTIAL", "1"}).ok());
  EXPECT_FALSE(Parse({"PARTIAL", "1:*"}).ok());
  EXPECT_FALSE(Parse({"PARTIAL", "*:1"}).ok());
  EXPECT_FALSE(Parse({"PARTIAL", "0:3"}).ok());
  EXPECT_FALSE(Parse({"PARTIAL", "1:-3"}).ok());
  EXPECT_FALSE(Parse({"PARTIAL", "1:4294967296"}).ok());
  EXPECT_FALSE(Parse({"PARTIAL", "1:2", "PARTIAL", "3:4"}).ok());
  EXPECT_FALSE(Parse({"ALL", "PARTIAL", "1:2"}).ok());
  // Not a list.
  std::vector<Value> args = {Value::Atom("RETURN"), Value::Atom("MIN"), Value::Atom("ALL")};
  std::size_t pos = 0;
  EXPECT_FALSE(ParseSearchReturn(args, &pos).ok());
  args = {Value::Atom("RETURN")};
  EXPECT_FALSE(ParseSearchReturn(args, &pos).ok());
  // A list item that is not an atom.
  args = {Value::Atom("RETURN"), Value::List({Value::String("MIN")})};
  EXPECT_FALSE(ParseSearchReturn(args, &pos).ok());
}

TEST(EsearchParse, DisallowedOptionsAreUnknown) {
  SearchReturnAllowed no_save;
  no_save.save = false;
  EXPECT_FALSE(Parse({"SAVE"}, no_save).ok());
  SearchReturnAllowed no_partial;
  no_partial.partial = false;
  EXPECT_FALSE(Parse({"PARTIAL", "1:2"}, no_partial).ok());
  // Without ESEARCH, RETURN is not recognized at all (the search parser
  // then rejects it as a key).
  SearchReturnAllowed none;
  none.esearch = false;
  auto args = Args({"MIN"});
  std::size_t pos = 0;
  auto r = ParseSearchReturn(args, &pos, none);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->esearch);
  EXPECT_EQ(pos, 0u);
}

TEST(EsearchParse, PartialRanges) {
  EXPECT_EQ(*ParsePartialRange("1:100"), (PartialRange{1, 100}));
  EXPECT_EQ(*ParsePartialRange("4:2"), (PartialRange{2, 4}));
  EXPECT_EQ(*ParsePartialRange("-1:-100"), (PartialRange{-1, -100}));
  EXPECT_EQ(*ParsePartialRange("-100:-1"), (PartialRange{-1, -100}));
  EXPECT_EQ(ParsePartialRange("4:2")->ToString(), "2:4");
  EXPECT_EQ(ParsePartialRange("-5:-1")->ToString(), "-1:-5");
  EXPECT_FALSE(ParsePartialRange("").ok());
  EXPECT_FALSE(ParsePartialRange(":").ok());
  EXPECT_FALSE(ParsePartialRange("-1:2").ok());
  EXPECT_FALSE(ParsePartialRange("01:2").ok());
  EXPECT_FALSE(ParsePartialRange("--1:-2").ok());
}

TEST(EsearchParse, PartialWindow) {
  using W = std::pair<std::size_t, std::size_t>;
  EXPECT_EQ(PartialWindow({1, 1}, 5), W(0, 1));
  EXPECT_EQ(PartialWindow({2, 4}, 5), W(1, 4));
  EXPECT_EQ(PartialWindow({1, 6}, 5), W(0, 5));
  EXPECT_EQ(PartialWindow({6, 6}, 5).first, PartialWindow({6, 6}, 5).second);
  EXPECT_EQ(PartialWindow({-1, -1}, 5), W(4, 5));
  EXPECT_EQ(PartialWindow({-1, -3}, 5), W(2, 5));
  EXPECT_EQ(PartialWindow({-2, -100}, 5), W(0, 4));
  EXPECT_EQ(PartialWindow({-6, -9}, 5).first, PartialWindow({-6, -9}, 5).second);
  EXPECT_EQ(PartialWindow({1, 4294967295}, 0).first, PartialWindow({1, 4294967295}, 0).second);
}

SearchReturn Ret(bool min, bool max, bool all, bool count) {
  SearchReturn r;
  r.esearch = true;
  r.min = min;
  r.max = max;
  r.all = all;
  r.count = count;
  return r;
}

// RFC 4731 section 3.1 examples.
TEST(EsearchFormat, Rfc4731Examples) {
  EXPECT_EQ(FormatEsearch("A282", false, {2, 10, 11}, Ret(true, false, false, true)),
            "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n");
  EXPECT_EQ(FormatEsearch("A283", false, {2, 10, 11}, Ret(false, false, true, false)),
            "* ESEARCH (TAG \"A283\") ALL 2,10:11\r\n");
  EXPECT_EQ(FormatEsearch("A284", false, {4, 5}, Ret(true, false, false, false)),
            "* ESEARCH (TAG \"A284\") MIN 4\r\n");
  EXPECT_EQ(FormatEsearch("A285", true, {7, 9, 3800}, Ret(true, true, false, false)),
            "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n");
  std::vector<std::uint32_t> fifteen;
  for (std::uint32_t i = 1; i <= 15; ++i) fifteen.push_back(i * 2);
  EXPECT_EQ(FormatEsearch("A286", false, fifteen, Ret(false, false, false, true)),
            "* ESEARCH (TAG \"A286\") COUNT 15\r\n");
}

// RFC 5182 section 2.4, example 10 (items in the order MIN MAX ALL COUNT).
TEST(EsearchFormat, Rfc5182Example10) {
  const std::vector<std::uint32_t> r = {2, 10, 11, 12, 13, 14, 15, 21};
  EXPECT_EQ(FormatEsearch("C283", false, r, Ret(false, false, true, false)),
            "* ESEARCH (TAG \"C283\") ALL 2,10:15,21\r\n");
  EXPECT_EQ(FormatEsearch("C285", false, r, Ret(true, true, false, false)),
            "* ESEARCH (TAG \"C285\") MIN 2 MAX 21\r\n");
  EXPECT_EQ(FormatEsearch("C286", false, r, Ret(true, true, false, true)),
            "* ESEARCH (TAG \"C286\") MIN 2 MAX 21 COUNT 8\r\n");
  EXPECT_EQ(FormatEsearch("C286", false, r, Ret(true, false, true, false)),
            "* ESEARCH (TAG \"C286\") MIN 2 ALL 2,10:15,21\r\n");
}

TEST(EsearchFormat, EmptyResultKeepsOnlyCount) {
  EXPECT_EQ(FormatEsearch("t", false, {}, Ret(true, true, true, false)),
            "* ESEARCH (TAG \"t\")\r\n");
  EXPECT_EQ(FormatEsearch("t", true, {}, Ret(true, true, true, false)),
            "* ESEARCH (TAG \"t\") UID\r\n");
  EXPECT_EQ(FormatEsearch("t", true, {}, Ret(true, true, true, true)),
            "* ESEARCH (TAG \"t\") UID COUNT 0\r\n");
}

TEST(EsearchFormat, PartialAndModSeq) {
  SearchReturn r = Ret(false, false, false, true);
  r.partial = PartialRange{2, 4};
  EXPECT_EQ(FormatEsearch("p", false, {1, 2, 4, 5}, r),
            "* ESEARCH (TAG \"p\") PARTIAL (2:4 2,4:5) COUNT 4\r\n");
  r.partial = PartialRange{-1, -2};
  EXPECT_EQ(FormatEsearch("p", true, {1, 2, 4, 5}, r, 917),
            "* ESEARCH (TAG \"p\") UID PARTIAL (-1:-2 4:5) COUNT 4 MODSEQ 917\r\n");
  r.partial = PartialRange{5, 10};
  EXPECT_EQ(FormatEsearch("p", false, {1, 2, 4, 5}, r),
            "* ESEARCH (TAG \"p\") PARTIAL (5:10 NIL) COUNT 4\r\n");
}

TEST(EsearchFormat, OrderedSetKeepsTheOrder) {
  EXPECT_EQ(FormatOrderedSet({}), "");
  EXPECT_EQ(FormatOrderedSet({1, 2, 3, 7, 5, 6}), "1:3,7,5:6");
  EXPECT_EQ(FormatOrderedSet({4294967294u, 4294967295u}), "4294967294:4294967295");
  EXPECT_EQ(FormatOrderedSet({9, 8, 7}), "9,8,7");
  // ESORT: MIN and MAX are the first and last in the given order.
  EXPECT_EQ(FormatEsearch("s", false, {9, 3, 5}, Ret(true, true, true, false)),
            "* ESEARCH (TAG \"s\") MIN 9 MAX 5 ALL 9,3,5\r\n");
}

TEST(EsearchModSeq, Rfc4731Section32) {
  const std::vector<std::uint64_t> m = {10, 30, 20};
  EXPECT_EQ(EsearchModSeq(m, Ret(true, false, false, false)), 10u);
  EXPECT_EQ(EsearchModSeq(m, Ret(false, true, false, false)), 20u);
  EXPECT_EQ(EsearchModSeq(m, Ret(true, true, false, false)), 20u);
  EXPECT_EQ(EsearchModSeq(m, Ret(true, true, true, false)), 30u);
  EXPECT_EQ(EsearchModSeq(m, Ret(false, false, false, true)), 30u);
  EXPECT_EQ(EsearchModSeq({}, Ret(false, false, false, true)), std::nullopt);
}

// RFC 5182 section 2.4 table.
TEST(EsearchSave, WhatSaveKeeps) {
  using V = std::vector<std::size_t>;
  SearchReturn save = Ret(false, false, false, false);
  save.save = true;
  EXPECT_EQ(SavedIndexes(3, save), V({0, 1, 2}));
  SearchReturn r = save;
  r.min = true;
  EXPECT_EQ(SavedIndexes(3, r), V({0}));
  r.max = true;
  EXPECT_EQ(SavedIndexes(3, r), V({0, 2}));
  EXPECT_EQ(SavedIndexes(1, r), V({0}));
  r.count = true;
  EXPECT_EQ(SavedIndexes(3, r), V({0, 1, 2}));
  r = save;
  r.max = true;
  r.all = true;
  EXPECT_EQ(SavedIndexes(3, r), V({0, 1, 2}));
  r = save;
  r.partial = PartialRange{-1, -2};
  EXPECT_EQ(SavedIndexes(5, r), V({3, 4}));
  EXPECT_EQ(SavedIndexes(0, r), V());
}

TEST(SearchResKey, DollarParsesAsSavedUidSet) {
  std::vector<Value> args = {Value::Atom("$"), Value::Atom("UID"), Value::Atom("$")};
  auto p = ParseSearch(args, 0);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->root.children.size(), 2u);
  for (const SearchKey& k : p->root.children) {
    EXPECT_EQ(k.kind, SearchKey::Kind::kUidSet);
    EXPECT_TRUE(k.saved_result);
  }
  // "$" cannot be combined with other numbers (RFC 5182 section 3).
  args = {Value::Atom("$,1")};
  EXPECT_FALSE(ParseSearch(args, 0).ok());
  args = {Value::Atom("UID"), Value::Atom("1,$")};
  EXPECT_FALSE(ParseSearch(args, 0).ok());
}

TEST(SequenceSetFromAscending, ContainsByBinarySearch) {
  auto set = SequenceSet::FromAscending({2, 3, 3, 4, 9, 11, 12, 4294967295u});
  EXPECT_EQ(set.raw(),
            (std::vector<SeqRange>{{2, 4}, {9, 9}, {11, 12}, {4294967295u, 4294967295u}}));
  for (std::uint32_t n : {2u, 3u, 4u, 9u, 11u, 12u, 4294967295u}) EXPECT_TRUE(set.Contains(n, 5));
  for (std::uint32_t n : {1u, 5u, 8u, 10u, 13u, 4294967294u}) EXPECT_FALSE(set.Contains(n, 5));
  EXPECT_FALSE(SequenceSet::FromAscending({}).Contains(1, 1));
  EXPECT_EQ(set.ToString(0), "2:4,9,11:12,4294967295");
}

}  // namespace
}  // namespace pillarbox::imap
