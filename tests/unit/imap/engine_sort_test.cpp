// SORT order, THREAD (REFERENCES and ORDEREDSUBJECT) and ESORT rendering
// over hand-made keys (protocols/imap/sort.h).
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "protocols/imap/sort.h"

namespace pillarbox::imap {
namespace {

// A message for the tests: keys are kept in `store` so the views stay valid.
struct Msg {
  std::string subject;  // raw; base subject extracted and folded here
  std::string id;
  std::string refs;
  std::int64_t date = 0;  // sent date; 0: none (INTERNALDATE used)
  std::int64_t internal = 0;
};

class Items {
 public:
  explicit Items(const std::vector<Msg>& msgs) {
    std::uint32_t seq = 0;
    for (const Msg& m : msgs) {
      mime::SortKeys k;
      k.subject = mime::SortFold(mime::BaseSubject(m.subject, &k.reply));
      k.message_id = m.id;
      k.references = m.refs;
      k.has_date = m.date != 0;
      k.date = m.date;
      store_.push_back(mime::EncodeSortKeys(k));
      SortItem item;
      item.seq = ++seq;
      item.uid = seq * 10;
      item.internal_date = m.internal;
      item.keys = *mime::DecodeSortKeys(store_.back());
      items_.push_back(item);
    }
  }
  const std::vector<SortItem>& get() const { return items_; }

 private:
  std::deque<std::string> store_;
  std::vector<SortItem> items_;
};

std::string Refs(const std::vector<Msg>& msgs) {
  Items items(msgs);
  return Thread(items.get(), ThreadAlgorithm::kReferences, false);
}

TEST(ThreadReferencesTest, ChainsAndSiblings) {
  EXPECT_EQ(Refs({{"", "1@b", ""}, {"", "2@b", "1@b"}, {"", "3@b", "1@b"}, {"", "4@b", "2@b"}}),
            "(1 (2 4)(3))");
}

TEST(ThreadReferencesTest, MissingParentsBecomeDummies) {
  // Two messages answer one that is not here: a dummy keeps them together.
  EXPECT_EQ(Refs({{"", "", "a@b"}, {"", "", "a@b"}}), "((1)(2))");
  // A dummy with one child at the top is replaced by it.
  EXPECT_EQ(Refs({{"", "x@b", "gone@b"}, {"", "y@b", ""}}), "(1)(2)");
  // Deeper dummies are replaced by their children.
  EXPECT_EQ(Refs({{"", "r@b", ""}, {"", "c1@b", "r@b gone@b"}, {"", "c2@b", "r@b gone@b"}}),
            "(1 (2)(3))");
}

TEST(ThreadReferencesTest, LoopsAreNotMade) {
  // 2 says a -> c -> 2; then c says 2 is its parent: that link would make a
  // loop; c's old link to a is still broken.
  EXPECT_EQ(
      Refs({{"", "a@b", "", 0, 300}, {"", "b@b", "a@b c@b", 0, 100}, {"", "c@b", "b@b", 0, 200}}),
      "(3 2)(1)");
  // A message that names itself.
  EXPECT_EQ(Refs({{"", "a@b", "a@b"}}), "(1)");
}

TEST(ThreadReferencesTest, DuplicateMessageIds) {
  EXPECT_EQ(Refs({{"", "a@b", ""}, {"", "a@b", ""}}), "(1)(2)");
  EXPECT_EQ(Refs({{"", "a@b", ""}, {"", "b@b", "a@b"}, {"", "c@b", "b@b"}, {"", "b@b", "a@b"}}),
            "(1 (2 3)(4))");
}

TEST(ThreadReferencesTest, SubjectMerging) {
  // A reply without references joins the thread of its subject.
  EXPECT_EQ(Refs({{"foo", "a@b", "", 0, 1}, {"Re: foo", "b@b", "c@b", 0, 2}}), "(1 2)");
  // Two non-replies with one subject go under a dummy.
  EXPECT_EQ(Refs({{"foo", "a@b", "", 0, 1}, {"foo", "b@b", "", 0, 2}}), "((1)(2))");
  // A reply before the original (by date) still goes under the original.
  EXPECT_EQ(Refs({{"Re: foo", "b@b", "", 0, 1}, {"foo", "a@b", "", 0, 2}}), "(2 1)");
  // Empty subjects are not merged.
  EXPECT_EQ(Refs({{"", "a@b", ""}, {"", "b@b", ""}}), "(1)(2)");
  // A dummy thread and a message of the same subject.
  EXPECT_EQ(
      Refs({{"Re: x", "", "gone@b", 0, 1}, {"Re: x", "", "gone@b", 0, 2}, {"x", "m@b", "", 0, 3}}),
      "((1)(2)(3))");
}

TEST(ThreadReferencesTest, SortsBySentDateThenSequence) {
  EXPECT_EQ(Refs({{"", "r@b", "", 50},
                  {"", "a@b", "r@b", 30},
                  {"", "b@b", "r@b", 20},
                  {"", "c@b", "r@b", 20},
                  {"", "z@b", "", 10}}),
            "(5)(1 (3)(4)(2))");
}

TEST(ThreadReferencesTest, LongChainWithoutRecursion) {
  std::vector<Msg> msgs;
  constexpr int kChain = 200000;
  for (int i = 0; i < kChain; ++i) {
    msgs.push_back({"", std::to_string(i) + "@b", i ? std::to_string(i - 1) + "@b" : ""});
  }
  std::string t = Refs(msgs);
  EXPECT_EQ(t.substr(0, 7), "(1 2 3 ");
  EXPECT_TRUE(t.ends_with(" 200000)"));
}

TEST(ThreadReferencesTest, UidsWhenAsked) {
  Items items({{"", "a@b", ""}, {"", "b@b", "a@b"}});
  EXPECT_EQ(Thread(items.get(), ThreadAlgorithm::kReferences, true), "(10 20)");
}

TEST(ThreadOrderedSubjectTest, GroupsBySubjectThenDate) {
  Items items({{"a", "", "", 10},
               {"b", "", "", 9},
               {"a", "", "", 8},
               {"b", "", "", 7},
               {"Re: a", "", "", 0, 30},
               {"b", "", "", 0, 29},
               {"", "", "", 0, 40},
               {"", "", "", 0, 41}});
  EXPECT_EQ(Thread(items.get(), ThreadAlgorithm::kOrderedSubject, false),
            "(4 (2)(6))(3 (1)(5))(7 8)");
}

std::vector<std::uint32_t> Seqs(const std::vector<SortItem>& items,
                                const std::vector<std::uint32_t>& order) {
  std::vector<std::uint32_t> out;
  for (auto i : order) out.push_back(items[i].seq);
  return out;
}

TEST(SortOrderTest, CriteriaReverseAndTies) {
  Items items(
      {{"b", "", "", 0, 3}, {"a", "", "", 0, 2}, {"Re: b", "", "", 0, 1}, {"c", "", "", 0, 2}});
  auto crit = ParseSortCriteria(
      Value::List({Value::Atom("subject"), Value::Atom("REVERSE"), Value::Atom("arrival")}));
  ASSERT_TRUE(crit.ok());
  EXPECT_EQ(Seqs(items.get(), SortOrder(items.get(), *crit)),
            (std::vector<std::uint32_t>{2, 1, 3, 4}));
  crit = ParseSortCriteria(Value::List({Value::Atom("REVERSE"), Value::Atom("SUBJECT")}));
  ASSERT_TRUE(crit.ok());
  // Ties keep sequence order even under REVERSE.
  EXPECT_EQ(Seqs(items.get(), SortOrder(items.get(), *crit)),
            (std::vector<std::uint32_t>{4, 1, 3, 2}));
  crit = ParseSortCriteria(Value::List({Value::Atom("DATE")}));
  ASSERT_TRUE(crit.ok());
  EXPECT_EQ(Seqs(items.get(), SortOrder(items.get(), *crit)),
            (std::vector<std::uint32_t>{3, 2, 4, 1}));
}

// Ranks stand in for the strings only when every item has them; the order
// is the same either way.
TEST(SortOrderTest, RanksOrderLikeTheStrings) {
  Items items({{"b", "", "", 0, 3},
               {"a", "", "", 0, 2},
               {"Re: b", "", "", 0, 1},
               {"c", "", "", 0, 2},
               {"subjects longer than sixteen bytes 2", "", "", 0, 1},
               {"subjects longer than sixteen bytes 1", "", "", 0, 1}});
  std::vector<SortItem> ranked = items.get();
  const std::uint32_t subject_ranks[] = {1, 0, 1, 2, 4, 3};
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    ranked[i].ranks.subject = subject_ranks[i];
    ranked[i].ranked = RankBit(SortKey::kSubject);
  }
  for (const char* reverse : {"", "REVERSE"}) {
    std::vector<Value> list;
    if (*reverse) list.push_back(Value::Atom(reverse));
    list.push_back(Value::Atom("SUBJECT"));
    list.push_back(Value::Atom("ARRIVAL"));
    auto crit = ParseSortCriteria(Value::List(std::move(list)));
    ASSERT_TRUE(crit.ok());
    EXPECT_EQ(SortOrder(ranked, *crit), SortOrder(items.get(), *crit)) << reverse;
  }
  auto crit = ParseSortCriteria(Value::List({Value::Atom("SUBJECT")}));
  EXPECT_EQ(Seqs(ranked, SortOrder(ranked, *crit)), (std::vector<std::uint32_t>{2, 1, 3, 4, 6, 5}));
  // One item without ranks: the strings decide (a wrong rank is ignored).
  ranked[1].ranked = 0;
  ranked[0].ranks.subject = 9;
  EXPECT_EQ(Seqs(ranked, SortOrder(ranked, *crit)), (std::vector<std::uint32_t>{2, 1, 3, 4, 6, 5}));
  EXPECT_EQ(Thread(ranked, ThreadAlgorithm::kOrderedSubject, false),
            Thread(items.get(), ThreadAlgorithm::kOrderedSubject, false));
}

TEST(SortOrderTest, BadCriteria) {
  EXPECT_FALSE(ParseSortCriteria(Value::List({})).ok());
  EXPECT_FALSE(ParseSortCriteria(Value::Atom("DATE")).ok());
  EXPECT_FALSE(ParseSortCriteria(Value::List({Value::Atom("BOGUS")})).ok());
  EXPECT_FALSE(ParseSortCriteria(Value::List({Value::Atom("REVERSE")})).ok());
  EXPECT_FALSE(ParseSortCriteria(Value::List({Value::Atom("REVERSE"), Value::Atom("REVERSE"),
                                              Value::Atom("DATE")}))
                   .ok());
  EXPECT_FALSE(ParseSortCriteria(Value::List({Value::String("DATE")})).ok());
}

TEST(EsortTest, Render) {
  auto all = ParseEsortReturn(Value::List({}));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(RenderEsort("A1", false, *all, {5, 3, 4, 2, 1}),
            "* ESEARCH (TAG \"A1\") ALL 5,3:4,2,1\r\n");
  auto every = ParseEsortReturn(Value::List(
      {Value::Atom("MIN"), Value::Atom("max"), Value::Atom("COUNT"), Value::Atom("ALL")}));
  ASSERT_TRUE(every.ok());
  EXPECT_EQ(RenderEsort("t", true, *every, {7, 8, 9, 2}),
            "* ESEARCH (TAG \"t\") UID MIN 7 MAX 2 COUNT 4 ALL 7:9,2\r\n");
  EXPECT_EQ(RenderEsort("t", false, *every, {}), "* ESEARCH (TAG \"t\") COUNT 0\r\n");
  EXPECT_FALSE(ParseEsortReturn(Value::List({Value::Atom("SAVE")})).ok());
  EXPECT_FALSE(ParseEsortReturn(Value::Atom("MIN")).ok());
}

}  // namespace
}  // namespace pillarbox::imap
