// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 section 4) transcripts against
// a store in a temporary directory: the RFC's examples of sections 4.2 to
// 4.4 (with this store's numbers), the ADDTO / REMOVEFROM updates that
// another session's deliveries, flag changes and expunges cause (at NOOP,
// in IDLE, after this session's own STORE), positions of SORT contexts,
// NOUPDATE past the limit, tag reuse and CANCELUPDATE.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "protocols/imap/imap_session.h"
#include "protocols/imap/search_context.h"
#include "protocols/imap/sort.h"
#include "tests/support/test_support.h"
#include "tests/unit/imap/session_fixture.h"

namespace pillarbox::imap {
namespace {

using pillarbox::testing::FakeOutput;
using pillarbox::testing::FakeTimers;
using pillarbox::testing::StoreFixture;

std::string Message(const std::string& subject) {
  return "From: Person <p@example.com>\r\nSubject: " + subject + "\r\n\r\nBody text\r\n";
}

using session_test::Client;

class ContextSessionTest : public session_test::SessionFixture {
 protected:
  ContextSessionTest() {
    config_.auth.failure_delay = std::chrono::milliseconds(0);
    config_.auth.max_failure_delay = std::chrono::milliseconds(0);
  }

  storage::Uid Deliver(const std::string& subject, storage::Flags flags = {}) {
    auto r = fx_.Deliver(user_.id, Message(subject), "INBOX", std::move(flags));
    fx_.RunPending();
    return r.uid;
  }
  static storage::Flags Flags(unsigned system, std::vector<std::string> keywords = {}) {
    storage::Flags f;
    f.system = system;
    f.keywords = std::move(keywords);
    return f;
  }
};

TEST_F(ContextSessionTest, CapabilityListsContextSearchAndSort) {
  auto c = Selected();
  std::string r = Run(*c, "a CAPABILITY\r\n", "a");
  EXPECT_NE(r.find(" PARTIAL CONTEXT=SEARCH "), std::string::npos) << r;
  EXPECT_NE(r.find(" CONTEXT=SORT "), std::string::npos) << r;
}

TEST_F(ContextSessionTest, CapabilityProfileWithoutSortHasNoContextSort) {
  Status st = fx_.WaitStatus([&](storage::StatusCallback cb) {
    fx_.store().SetUserSetting("joe", "imap.capabilities", "-SORT", cb);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto c = Selected();
  std::string r = Run(*c, "a CAPABILITY\r\n", "a");
  EXPECT_NE(r.find(" CONTEXT=SEARCH "), std::string::npos) << r;
  EXPECT_EQ(r.find("CONTEXT=SORT"), std::string::npos) << r;
}

TEST_F(ContextSessionTest, CapabilityProfileWithoutContextRefusesUpdate) {
  Status st = fx_.WaitStatus([&](storage::StatusCallback cb) {
    fx_.store().SetUserSetting("joe", "imap.capabilities", "-CONTEXT=SEARCH", cb);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto c = Selected();
  std::string r = Run(*c, "a CAPABILITY\r\n", "a");
  EXPECT_EQ(r.find("CONTEXT="), std::string::npos) << r;
  EXPECT_EQ(Run(*c, "b SEARCH RETURN (UPDATE) ALL\r\n", "b"),
            "b BAD Error in IMAP command SEARCH: Unknown SEARCH return option UPDATE\r\n");
  EXPECT_EQ(Run(*c, "c CANCELUPDATE \"b\"\r\n", "c"),
            "c BAD Error in IMAP command CANCELUPDATE: Unknown command.\r\n");
}

// RFC 5267 4.2: CONTEXT is a hint; the other options are answered as usual.
TEST_F(ContextSessionTest, Rfc5267ContextHintExample) {
  Deliver("one");
  Deliver("two", Flags(storage::kFlagDeleted));
  Deliver("three", Flags(0, {"$Junk"}));
  Deliver("four");
  auto c = Selected();
  EXPECT_EQ(Run(*c, "A01 SEARCH RETURN (CONTEXT COUNT) UNDELETED UNKEYWORD $Junk\r\n", "A01"),
            "* ESEARCH (TAG \"A01\") COUNT 2\r\nA01 OK Search completed.\r\n");
}

// RFC 5267 4.3 and 4.3.4: a UID search with UPDATE; messages that start
// matching are added, an expunged result is removed before the EXPUNGE.
TEST_F(ContextSessionTest, Rfc5267UidUpdateExample) {
  Deliver("one");
  const storage::Uid u2 = Deliver("two", Flags(storage::kFlagDeleted, {"$Junk"}));
  auto c = Selected();
  auto other = Selected();
  EXPECT_EQ(Run(*c, "B01 UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk\r\n", "B01"),
            "* ESEARCH (TAG \"B01\") UID COUNT 1\r\nB01 OK Search completed.\r\n");
  const storage::Uid u3 = Deliver("three", Flags(storage::kFlagDeleted, {"$Junk"}));
  const storage::Uid u4 = Deliver("four", Flags(storage::kFlagDeleted, {"$Junk"}));
  Deliver("five");
  EXPECT_EQ(Run(*c, "B02 NOOP\r\n", "B02"),
            "* 5 EXISTS\r\n* 5 RECENT\r\n* ESEARCH (TAG \"B01\") UID ADDTO (0 " +
                std::to_string(u3) + ":" + std::to_string(u4) + ")\r\nB02 OK NOOP completed.\r\n");
  Run(*other, "o1 NOOP\r\n", "o1");
  Run(*other, "o2 UID EXPUNGE " + std::to_string(u3) + "\r\n", "o2");
  EXPECT_EQ(Run(*c, "B03 NOOP\r\n", "B03"), "* ESEARCH (TAG \"B01\") UID REMOVEFROM (0 " +
                                                std::to_string(u3) +
                                                ")\r\n* 3 EXPUNGE\r\nB03 OK NOOP completed.\r\n");
  // RFC 5267 4.3.5: no more updates once cancelled.
  EXPECT_EQ(Run(*c, "B04 CANCELUPDATE \"B01\"\r\n", "B04"), "B04 OK Updates cancelled.\r\n");
  Run(*other, "o3 UID STORE " + std::to_string(u2) + " -FLAGS (\\Deleted)\r\n", "o3");
  std::string r = Run(*c, "B05 NOOP\r\n", "B05");
  EXPECT_NE(r.find("* 2 FETCH (FLAGS ("), std::string::npos) << r;
  EXPECT_EQ(r.find("ESEARCH"), std::string::npos) << r;
  EXPECT_EQ(Run(*c, "B06 CANCELUPDATE \"B01\"\r\n", "B06"), "B06 NO Unknown tag.\r\n");
}

// RFC 5267 4.3.1: past the limit the search is still answered, with an
// untagged NO [NOUPDATE]; the first contexts keep working.
TEST_F(ContextSessionTest, Rfc5267NoUpdateExample) {
  Deliver("one", Flags(0, {"$Junk"}));
  auto c = Selected();
  for (std::size_t i = 0; i < kMaxUpdateContexts; ++i) {
    const std::string tag = "A" + std::to_string(i);
    EXPECT_EQ(Run(*c, tag + " SEARCH RETURN (UPDATE) KEYWORD $Junk\r\n", tag),
              "* ESEARCH (TAG \"" + tag + "\")\r\n" + tag + " OK Search completed.\r\n");
  }
  EXPECT_EQ(Run(*c, "B02 UID SORT RETURN (UPDATE COUNT) (ARRIVAL) UTF-8 KEYWORD $Junk\r\n", "B02"),
            "* NO [NOUPDATE \"B02\"] Too many updating contexts, this one will not be "
            "updated.\r\n* ESEARCH (TAG \"B02\") UID COUNT 1\r\nB02 OK Sort completed.\r\n");
  EXPECT_EQ(Run(*c, "B03 SEARCH RETURN (UPDATE COUNT) ALL\r\n", "B03"),
            "* NO [NOUPDATE \"B03\"] Too many updating contexts, this one will not be "
            "updated.\r\n* ESEARCH (TAG \"B03\") COUNT 1\r\nB03 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "x CANCELUPDATE \"A0\" \"A1\"\r\n", "x"), "x OK Updates cancelled.\r\n");
  EXPECT_EQ(Run(*c, "B04 SEARCH RETURN (UPDATE COUNT) ALL\r\n", "B04"),
            "* ESEARCH (TAG \"B04\") COUNT 1\r\nB04 OK Search completed.\r\n");
}

// RFC 5267 4.3: UPDATE with a tag still in use is BAD.
TEST_F(ContextSessionTest, TagReuseIsBad) {
  Deliver("one");
  auto c = Selected();
  Run(*c, "B01 SEARCH RETURN (UPDATE) ALL\r\n", "B01");
  EXPECT_EQ(Run(*c, "B01 SEARCH RETURN (UPDATE) ALL\r\n", "B01"),
            "B01 BAD Error in IMAP command SEARCH: Tag reuse\r\n");
  EXPECT_EQ(Run(*c, "B01 SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL\r\n", "B01"),
            "B01 BAD Error in IMAP command SORT: Tag reuse\r\n");
  // Without UPDATE the tag is just a tag.
  EXPECT_EQ(Run(*c, "B01 SEARCH RETURN (COUNT) ALL\r\n", "B01"),
            "* ESEARCH (TAG \"B01\") COUNT 1\r\nB01 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "c CANCELUPDATE B01\r\n", "c"),
            "c BAD Error in IMAP command CANCELUPDATE: Tags must be quoted strings\r\n");
  EXPECT_EQ(Run(*c, "c CANCELUPDATE\r\n", "c"),
            "c BAD Error in IMAP command CANCELUPDATE: Missing tag\r\n");
}

// Sequence-number contexts: REMOVEFROM with the numbers before the
// EXPUNGE, ADDTO after EXISTS, flag changes both ways, and this session's
// own STORE reported before its tagged OK.
TEST_F(ContextSessionTest, SequenceContextFollowsFlagsDeliveriesAndExpunges) {
  for (int i = 1; i <= 5; ++i) Deliver("m" + std::to_string(i));
  auto c = Selected();
  auto other = Selected();
  EXPECT_EQ(Run(*c, "s SEARCH RETURN (UPDATE ALL) SEEN\r\n", "s"),
            "* ESEARCH (TAG \"s\")\r\ns OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "a STORE 1,2,4 +FLAGS.SILENT (\\Seen)\r\n", "a"),
            "* ESEARCH (TAG \"s\") ADDTO (0 1:2,4)\r\na OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "b STORE 1:2 -FLAGS.SILENT (\\Seen)\r\n", "b"),
            "* ESEARCH (TAG \"s\") REMOVEFROM (0 1:2)\r\nb OK Store completed.\r\n");
  Run(*other, "o1 NOOP\r\n", "o1");
  Run(*other, "o2 STORE 3:5 +FLAGS.SILENT (\\Deleted)\r\n", "o2");
  Run(*other, "o3 EXPUNGE\r\n", "o3");
  EXPECT_EQ(Run(*c, "c NOOP\r\n", "c"),
            "* ESEARCH (TAG \"s\") REMOVEFROM (0 4)\r\n* 3 EXPUNGE\r\n* 3 EXPUNGE\r\n"
            "* 3 EXPUNGE\r\nc OK NOOP completed.\r\n");
  Deliver("m6", Flags(storage::kFlagSeen));
  EXPECT_EQ(Run(*c, "d NOOP\r\n", "d"),
            "* 3 EXISTS\r\n* 3 RECENT\r\n* ESEARCH (TAG \"s\") ADDTO (0 3)\r\nd OK NOOP "
            "completed.\r\n");
  // A change that leaves the result as it is reports nothing.
  EXPECT_EQ(Run(*c, "e STORE 3 +FLAGS.SILENT (\\Flagged)\r\n", "e"), "e OK Store completed.\r\n");
}

// Message sequence numbers in the criteria name the messages they named
// when the search ran (expunges do not shift them).
TEST_F(ContextSessionTest, SequenceNumbersInCriteriaAreFrozen) {
  for (int i = 1; i <= 4; ++i) Deliver("m" + std::to_string(i));
  auto c = Selected();
  EXPECT_EQ(Run(*c, "s SEARCH RETURN (UPDATE ALL) 3:* SEEN\r\n", "s"),
            "* ESEARCH (TAG \"s\")\r\ns OK Search completed.\r\n");
  Run(*c, "a STORE 1 +FLAGS.SILENT (\\Deleted)\r\n", "a");
  EXPECT_EQ(Run(*c, "b EXPUNGE\r\n", "b"), "* 1 EXPUNGE\r\nb OK Expunge completed.\r\n");
  // Old 3 and 4 are now 2 and 3; the new message 4 was not named by "3:*".
  Deliver("m5", Flags(storage::kFlagSeen));
  EXPECT_EQ(Run(*c, "d STORE 1:3 +FLAGS.SILENT (\\Seen)\r\n", "d"),
            "* 4 EXISTS\r\n* 4 RECENT\r\n* ESEARCH (TAG \"s\") ADDTO (0 2:3)\r\nd OK Store "
            "completed.\r\n");
}

// IDLE: the updates arrive at once, as EXISTS and EXPUNGE do.
TEST_F(ContextSessionTest, IdleReceivesAddToAndRemoveFrom) {
  Deliver("one");
  auto c = Selected();
  auto other = Selected();
  Run(*c, "s UID SEARCH RETURN (UPDATE) FLAGGED\r\n", "s");
  EXPECT_EQ(Send(*c, "i IDLE\r\n"), "+ idling\r\n");
  Run(*other, "o1 STORE 1 +FLAGS.SILENT (\\Flagged)\r\n", "o1");
  EXPECT_EQ(c->out.Take(),
            "* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n* ESEARCH (TAG \"s\") UID ADDTO (0 1)\r\n");
  const storage::Uid u2 = Deliver("two", Flags(storage::kFlagFlagged));
  EXPECT_EQ(c->out.Take(), "* 2 EXISTS\r\n* 2 RECENT\r\n* ESEARCH (TAG \"s\") UID ADDTO (0 " +
                               std::to_string(u2) + ")\r\n");
  Run(*other, "o2 NOOP\r\n", "o2");
  Run(*other, "o3 STORE 1 -FLAGS.SILENT (\\Flagged)\r\n", "o3");
  EXPECT_EQ(c->out.Take(),
            "* 1 FETCH (FLAGS (\\Recent))\r\n* ESEARCH (TAG \"s\") UID REMOVEFROM (0 1)\r\n");
  EXPECT_EQ(Run(*c, "DONE\r\n", "i"), "i OK Idle completed.\r\n");
}

// RFC 5267 4.4 with 4.3: PARTIAL answers its window, UPDATE still reports
// every change of the whole result.
TEST_F(ContextSessionTest, PartialWithUpdate) {
  for (int i = 1; i <= 4; ++i) Deliver("m" + std::to_string(i));
  auto c = Selected();
  EXPECT_EQ(Run(*c, "s SEARCH RETURN (UPDATE PARTIAL 1:2) ALL\r\n", "s"),
            "* ESEARCH (TAG \"s\") PARTIAL (1:2 1:2)\r\ns OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "t SORT RETURN (PARTIAL -1:-2 UPDATE) (REVERSE SUBJECT) UTF-8 ALL\r\n", "t"),
            "* ESEARCH (TAG \"t\") PARTIAL (-1:-2 2,1)\r\nt OK Sort completed.\r\n");
  Deliver("m5");
  EXPECT_EQ(Run(*c, "n NOOP\r\n", "n"),
            "* 5 EXISTS\r\n* 5 RECENT\r\n* ESEARCH (TAG \"s\") ADDTO (0 5)\r\n"
            "* ESEARCH (TAG \"t\") ADDTO (1 5)\r\nn OK NOOP completed.\r\n");
  EXPECT_EQ(Run(*c, "b SORT RETURN (PARTIAL 1:2 ALL) (ARRIVAL) UTF-8 ALL\r\n", "b"),
            "b BAD Error in IMAP command SORT: PARTIAL conflicts with ALL\r\n");
}

// A SORT context reports positions in its order: new matches are placed by
// their sort keys, removals give the positions they had.
TEST_F(ContextSessionTest, SortContextPositions) {
  Deliver("bravo");    // 1
  Deliver("delta");    // 2
  Deliver("foxtrot");  // 3
  Deliver("hotel");    // 4
  auto c = Selected();
  auto other = Selected();
  EXPECT_EQ(Run(*c, "s SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNDELETED\r\n", "s"),
            "* ESEARCH (TAG \"s\") ALL 1:4\r\ns OK Sort completed.\r\n");
  Deliver("charlie");  // 5, sorts at position 2
  Deliver("alpha");    // 6, position 1
  Deliver("golf");     // 7, position 6 (after the two above)
  EXPECT_EQ(Run(*c, "a NOOP\r\n", "a"),
            "* 7 EXISTS\r\n* 7 RECENT\r\n* ESEARCH (TAG \"s\") ADDTO (1 6 3 5 6 7)\r\n"
            "a OK NOOP completed.\r\n");
  // Now: alpha(6) bravo(1) charlie(5) delta(2) foxtrot(3) golf(7) hotel(4).
  EXPECT_EQ(Run(*c, "b STORE 1,2,5 +FLAGS.SILENT (\\Deleted)\r\n", "b"),
            "* ESEARCH (TAG \"s\") REMOVEFROM (2 1,5,2)\r\nb OK Store completed.\r\n");
  // Now: alpha(6) foxtrot(3) golf(7) hotel(4); expunging 3 and 4 removes
  // positions 4 and 2, numbered as before the EXPUNGE.
  Run(*other, "o1 NOOP\r\n", "o1");
  Run(*other, "o2 STORE 3,4 +FLAGS.SILENT (\\Deleted)\r\n", "o2");
  Run(*other, "o3 UID EXPUNGE 3:4\r\n", "o3");
  EXPECT_EQ(Run(*c, "c NOOP\r\n", "c"),
            "* ESEARCH (TAG \"s\") REMOVEFROM (4 4 2 3)\r\n* 3 EXPUNGE\r\n* 3 EXPUNGE\r\n"
            "c OK NOOP completed.\r\n");
  // Undeleting brings messages back in their places.
  EXPECT_EQ(Run(*c, "d UID STORE 1,5 -FLAGS.SILENT (\\Deleted)\r\n", "d"),
            "* ESEARCH (TAG \"s\") ADDTO (2 1,3)\r\nd OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "e SORT RETURN (ALL) (SUBJECT) UTF-8 UNDELETED\r\n", "e"),
            "* ESEARCH (TAG \"e\") ALL 4,1,3,5\r\ne OK Sort completed.\r\n");
}

TEST_F(ContextSessionTest, UidSortContextReportsUids) {
  const storage::Uid u1 = Deliver("b");
  auto c = Selected();
  EXPECT_EQ(Run(*c, "s UID SORT RETURN (UPDATE) (REVERSE SUBJECT) UTF-8 ALL\r\n", "s"),
            "* ESEARCH (TAG \"s\") UID\r\ns OK Sort completed.\r\n");
  const storage::Uid u2 = Deliver("a");
  const storage::Uid u3 = Deliver("c");
  EXPECT_EQ(Run(*c, "a NOOP\r\n", "a"),
            "* 3 EXISTS\r\n* 3 RECENT\r\n* ESEARCH (TAG \"s\") UID ADDTO (1 " + std::to_string(u3) +
                " 3 " + std::to_string(u2) + ")\r\na OK NOOP completed.\r\n");
  (void)u1;
}

// The contexts end with the selected mailbox (RFC 5267 4.3).
TEST_F(ContextSessionTest, ContextsEndWithTheMailbox) {
  Deliver("one");
  auto c = Selected();
  Run(*c, "s SEARCH RETURN (UPDATE) ALL\r\n", "s");
  Run(*c, "r SELECT INBOX\r\n", "r");
  Deliver("two");
  EXPECT_EQ(Run(*c, "n NOOP\r\n", "n"), "* 2 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed.\r\n");
  EXPECT_EQ(Run(*c, "x CANCELUPDATE \"s\"\r\n", "x"), "x NO Unknown tag.\r\n");
}

TEST(ContextPairsTest, RunsOfPositions) {
  // Removal: last run first, positions before any removal.
  EXPECT_EQ(ContextPairs({5, 3, 4, 2, 1}, {true, false, true, true, false}, true), "3 4,2 1 5");
  // Addition: first run first, positions after all additions.
  EXPECT_EQ(ContextPairs({5, 3, 4, 2, 1}, {true, true, false, false, true}, false), "1 5,3 5 1");
  EXPECT_EQ(ContextPairs({7, 8, 9}, {true, true, true}, false), "1 7:9");
  EXPECT_EQ(ContextPairs({7, 8, 9}, {false, false, false}, true), "");
}

}  // namespace
}  // namespace pillarbox::imap

namespace pillarbox::imap {
namespace {

TEST(EsortContextTest, PartialUpdateAndContextOptions) {
  auto ret = ParseEsortReturn(Value::List(
      {Value::Atom("PARTIAL"), Value::Atom("2:4"), Value::Atom("UPDATE"), Value::Atom("CONTEXT")}));
  ASSERT_TRUE(ret.ok());
  EXPECT_TRUE(ret->update && ret->context && !ret->all);
  EXPECT_EQ(RenderEsort("t", false, *ret, {5, 3, 4, 2, 1}),
            "* ESEARCH (TAG \"t\") PARTIAL (2:4 3:4,2)\r\n");
  EXPECT_EQ(RenderEsort("t", true, *ret, {5}), "* ESEARCH (TAG \"t\") UID PARTIAL (2:4 NIL)\r\n");
  // Without CONTEXT=SORT (a capability profile) they are unknown.
  for (const char* opt : {"UPDATE", "CONTEXT"}) {
    EXPECT_FALSE(ParseEsortReturn(Value::List({Value::Atom(opt)}), false).ok()) << opt;
  }
  EXPECT_FALSE(
      ParseEsortReturn(Value::List({Value::Atom("PARTIAL"), Value::Atom("1:2")}), false).ok());
  for (auto list : {std::vector<Value>{Value::Atom("PARTIAL")},
                    std::vector<Value>{Value::Atom("PARTIAL"), Value::Atom("1:*")},
                    std::vector<Value>{Value::Atom("PARTIAL"), Value::Atom("1:2"),
                                       Value::Atom("PARTIAL"), Value::Atom("3:4")}}) {
    EXPECT_FALSE(ParseEsortReturn(Value::List(list)).ok());
  }
}

}  // namespace
}  // namespace pillarbox::imap
