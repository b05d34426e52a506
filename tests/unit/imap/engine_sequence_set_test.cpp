#include <gtest/gtest.h>

#include "protocols/imap/sequence_set.h"

namespace pillarbox::imap {
namespace {

std::vector<SeqRange> R(std::string_view text, std::uint32_t largest) {
  auto set = SequenceSet::Parse(text);
  EXPECT_TRUE(set.ok()) << text;
  if (!set.ok()) return {};
  return set->Resolve(largest);
}

TEST(EngineSequenceSet, ParsesSingleNumbersAndRanges) {
  EXPECT_EQ(R("1", 10), (std::vector<SeqRange>{{1, 1}}));
  EXPECT_EQ(R("1:4", 10), (std::vector<SeqRange>{{1, 4}}));
  EXPECT_EQ(R("1:4,7,9:10", 10), (std::vector<SeqRange>{{1, 4}, {7, 7}, {9, 10}}));
  EXPECT_EQ(R("4294967295", 10), (std::vector<SeqRange>{{4294967295u, 4294967295u}}));
}

TEST(EngineSequenceSet, StarIsTheLargest) {
  EXPECT_EQ(R("*", 10), (std::vector<SeqRange>{{10, 10}}));
  EXPECT_EQ(R("1:*", 10), (std::vector<SeqRange>{{1, 10}}));
  EXPECT_EQ(R("*:3", 10), (std::vector<SeqRange>{{3, 10}}));
  EXPECT_EQ(R("*:*", 7), (std::vector<SeqRange>{{7, 7}}));
}

TEST(EngineSequenceSet, ReversedRangesAreOrdered) {
  EXPECT_EQ(R("4:2", 10), (std::vector<SeqRange>{{2, 4}}));
  EXPECT_EQ(R("10:1", 10), (std::vector<SeqRange>{{1, 10}}));
}

TEST(EngineSequenceSet, SortsAndMergesOverlapsAndNeighbours) {
  EXPECT_EQ(R("7,1:3,4,2", 10), (std::vector<SeqRange>{{1, 4}, {7, 7}}));
  EXPECT_EQ(R("5:9,1:6", 10), (std::vector<SeqRange>{{1, 9}}));
  EXPECT_EQ(R("1,1,1", 10), (std::vector<SeqRange>{{1, 1}}));
  EXPECT_EQ(R("4294967295,1:4294967294", 10), (std::vector<SeqRange>{{1, 4294967295u}}));
}

TEST(EngineSequenceSet, UidRangeWithStarIncludesLargestEvenWhenAbove) {
  // RFC 3501 6.4.8: "N:*" with N > largest UID still matches the largest.
  auto set = SequenceSet::Parse("50:*");
  ASSERT_TRUE(set.ok());
  std::vector<std::uint32_t> uids = {3, 7, 20};
  EXPECT_EQ(SelectByUid(*set, uids), (std::vector<std::uint32_t>{2}));
  EXPECT_TRUE(set->Contains(20, 20));
  EXPECT_FALSE(set->Contains(19, 20));
}

TEST(EngineSequenceSet, UidSelectionIgnoresMissingUids) {
  auto set = SequenceSet::Parse("1:5,8,19:25,100");
  ASSERT_TRUE(set.ok());
  std::vector<std::uint32_t> uids = {3, 7, 8, 20, 30};
  EXPECT_EQ(SelectByUid(*set, uids), (std::vector<std::uint32_t>{0, 2, 3}));
  EXPECT_TRUE(SelectByUid(*set, {}).empty());
  auto star = SequenceSet::Parse("*");
  ASSERT_TRUE(star.ok());
  EXPECT_EQ(SelectByUid(*star, uids), (std::vector<std::uint32_t>{4}));
}

TEST(EngineSequenceSet, SequenceSelectionValidatesNumbers) {
  auto ok = SequenceSet::Parse("2:*,1");
  ASSERT_TRUE(ok.ok());
  auto sel = SelectBySequence(*ok, 3);
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(*sel, (std::vector<std::uint32_t>{0, 1, 2}));

  // n:* works for n <= count; a number past the end fails.
  auto last = SequenceSet::Parse("3:*");
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(SelectBySequence(*last, 3).ok());
  EXPECT_FALSE(SelectBySequence(*last, 2).ok());
  auto four = SequenceSet::Parse("4");
  ASSERT_TRUE(four.ok());
  EXPECT_EQ(SelectBySequence(*four, 3).status().code(), Code::kInvalidArgument);
  // The empty mailbox: every set is invalid, "*" included.
  auto star = SequenceSet::Parse("1:*");
  ASSERT_TRUE(star.ok());
  EXPECT_FALSE(SelectBySequence(*star, 0).ok());
}

TEST(EngineSequenceSet, RejectsGarbage) {
  for (const char* bad :
       {"",    "0",          "1:0",          "0:5", ",",  "1,", ",1", "1::2", "1:",   ":1",   "a",
        "1 2", "4294967296", "1:4294967296", "**",  "*1", "1*", "$",  "-1",   "1,,2", "1:2:3"}) {
    EXPECT_FALSE(SequenceSet::Parse(bad).ok()) << bad;
  }
}

TEST(EngineSequenceSet, ContainsResolvesStarLate) {
  auto set = SequenceSet::Parse("2,5:*");
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->HasStar());
  EXPECT_FALSE(set->Contains(1, 10));
  EXPECT_TRUE(set->Contains(2, 10));
  EXPECT_FALSE(set->Contains(4, 10));
  EXPECT_TRUE(set->Contains(7, 10));
  EXPECT_FALSE(set->Contains(11, 10));
  // With 3 messages "5:*" is 3:5.
  EXPECT_TRUE(set->Contains(3, 3));
  EXPECT_EQ(set->ToString(10), "2,5:10");
  EXPECT_EQ(set->ToString(3), "2:5");
}

TEST(EngineSequenceSet, FormatsCompactSets) {
  EXPECT_EQ(FormatSequenceSet({}), "");
  EXPECT_EQ(FormatSequenceSet({1}), "1");
  EXPECT_EQ(FormatSequenceSet({1, 2, 3, 5, 7, 8}), "1:3,5,7:8");
  EXPECT_EQ(FormatSequenceSet({4, 4, 5}), "4:5");
  EXPECT_EQ(FormatSequenceSet({4294967294u, 4294967295u}), "4294967294:4294967295");
}

}  // namespace
}  // namespace pillarbox::imap
