// ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and PARTIAL (RFC 9394)
// transcripts against a store in a temporary directory: the RFCs' own
// examples, input split at every byte, syntax errors, and "$" across
// FETCH/STORE/COPY/MOVE/SEARCH/UID EXPUNGE, expunges and mailbox changes.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "protocols/imap/imap_session.h"
#include "protocols/imap/search.h"
#include "tests/support/test_support.h"
#include "tests/unit/imap/session_fixture.h"

namespace pillarbox::imap {
namespace {

using pillarbox::testing::FakeOutput;
using pillarbox::testing::FakeTimers;
using pillarbox::testing::StoreFixture;

std::string Message(int i) {
  return "From: Person " + std::to_string(i) +
         " <p@example.com>\r\n"
         "Subject: Message " +
         std::to_string(i) + "\r\n\r\nBody " + std::to_string(i) + "\r\n";
}

using session_test::Client;

class EsearchSessionTest : public session_test::SessionFixture {
 protected:
  EsearchSessionTest() {
    config_.auth.failure_delay = std::chrono::milliseconds(0);
    config_.auth.max_failure_delay = std::chrono::milliseconds(0);
  }

  storage::Uid Deliver(int i, storage::Flags flags = {}, const std::string& mailbox = "INBOX") {
    auto r = fx_.Deliver(user_.id, Message(i), mailbox, std::move(flags));
    fx_.RunPending();
    return r.uid;
  }
  // Messages 1..n; those in `flagged` get \Flagged, those below `unseen_from`
  // get \Seen, those in `deleted` get \Deleted.
  void Fill(int n, std::set<int> flagged = {}, int unseen_from = 1, std::set<int> deleted = {}) {
    for (int i = 1; i <= n; ++i) {
      storage::Flags f;
      if (flagged.count(i)) f.system |= storage::kFlagFlagged;
      if (i < unseen_from) f.system |= storage::kFlagSeen;
      if (deleted.count(i)) f.system |= storage::kFlagDeleted;
      Deliver(i, f);
    }
  }
};

// ---- ESEARCH (RFC 4731) ------------------------------------------------------

TEST_F(EsearchSessionTest, CapabilityListsEsearchSearchResPartial) {
  auto c = LoggedIn();
  std::string r = Run(*c, "a CAPABILITY\r\n", "a");
  EXPECT_NE(r.find(" ESEARCH SEARCHRES PARTIAL"), std::string::npos) << r;
}

// RFC 4731 section 3.1: the examples, on a mailbox where 2, 10 and 11 are
// flagged, 1..3 seen, and 15 of 20 deleted.
TEST_F(EsearchSessionTest, Rfc4731Examples) {
  std::set<int> deleted;
  for (int i = 1; i <= 15; ++i) deleted.insert(i + 5);
  Fill(20, {2, 10, 11}, 4, deleted);
  auto c = Selected();
  EXPECT_EQ(
      Run(*c, "A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
          "A282"),
      "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\nA282 OK Search completed.\r\n");
  EXPECT_EQ(
      Run(*c, "A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n", "A283"),
      "* ESEARCH (TAG \"A283\") ALL 2,10:11\r\nA283 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "A284 SEARCH RETURN (MIN) UNSEEN\r\n", "A284"),
            "* ESEARCH (TAG \"A284\") MIN 4\r\nA284 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "A285 UID SEARCH RETURN (MIN MAX) 1:5000\r\n", "A285"),
            "* ESEARCH (TAG \"A285\") UID MIN 1 MAX 20\r\nA285 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "A286 SEARCH RETURN (COUNT) DELETED\r\n", "A286"),
            "* ESEARCH (TAG \"A286\") COUNT 15\r\nA286 OK Search completed.\r\n");
}

TEST_F(EsearchSessionTest, UidSearchAnswersInUids) {
  Fill(6);
  auto c = Selected();
  Run(*c, "a STORE 4 +FLAGS.SILENT (\\Deleted)\r\n", "a");
  Run(*c, "b EXPUNGE\r\n", "b");
  EXPECT_EQ(Run(*c, "c UID SEARCH RETURN (ALL) ALL\r\n", "c"),
            "* ESEARCH (TAG \"c\") UID ALL 1:3,5:6\r\nc OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "d SEARCH RETURN (ALL) ALL\r\n", "d"),
            "* ESEARCH (TAG \"d\") ALL 1:5\r\nd OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "e UID SEARCH RETURN (MAX COUNT MIN ALL) 2:*\r\n", "e"),
            "* ESEARCH (TAG \"e\") UID MIN 2 MAX 6 ALL 2:3,5:6 COUNT 4\r\ne OK Search "
            "completed.\r\n");
}

TEST_F(EsearchSessionTest, EmptyResults) {
  Fill(3);
  auto c = Selected();
  EXPECT_EQ(Run(*c, "a SEARCH RETURN () DELETED\r\n", "a"),
            "* ESEARCH (TAG \"a\")\r\na OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "b SEARCH RETURN (MIN MAX ALL COUNT) 1000\r\n", "b"),
            "* ESEARCH (TAG \"b\") COUNT 0\r\nb OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "c UID SEARCH RETURN (MIN) 1000\r\n", "c"),
            "* ESEARCH (TAG \"c\") UID\r\nc OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "d UID SEARCH RETURN (COUNT) 1000\r\n", "d"),
            "* ESEARCH (TAG \"d\") UID COUNT 0\r\nd OK Search completed.\r\n");
  // Plain SEARCH is unchanged.
  EXPECT_EQ(Run(*c, "e SEARCH ALL\r\n", "e"), "* SEARCH 1 2 3\r\ne OK Search completed.\r\n");
}

TEST_F(EsearchSessionTest, ReturnWithCharset) {
  Fill(3);
  auto c = Selected();
  EXPECT_EQ(Run(*c, "a SEARCH RETURN (COUNT) CHARSET UTF-8 SUBJECT \"message 2\"\r\n", "a"),
            "* ESEARCH (TAG \"a\") COUNT 1\r\na OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "b SEARCH RETURN (COUNT) CHARSET KOI8-X ALL\r\n", "b"),
            "b NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.\r\n");
}

TEST_F(EsearchSessionTest, BadSyntax) {
  config_.limits.max_bad_commands = 100;  // every line below is one
  Fill(2);
  auto c = Selected();
  const char* bad[] = {
      "SEARCH RETURN MIN ALL",
      "SEARCH RETURN",
      "SEARCH RETURN (FOO) ALL",
      "SEARCH RETURN (\"MIN\") ALL",
      "SEARCH RETURN (MIN)",
      "SEARCH RETURN (MIN) RETURN (MAX) ALL",
      "SEARCH ALL RETURN (MIN)",
      "SEARCH RETURN (PARTIAL 1) ALL",
      "SEARCH RETURN (PARTIAL 1:*) ALL",
      "SEARCH RETURN (PARTIAL *:1) ALL",
      "SEARCH RETURN (PARTIAL) ALL",
      "SEARCH RETURN (ALL PARTIAL 1:2) ALL",
      "SEARCH $,1",
      "SEARCH UID 1:$",
      "FETCH $,1 FLAGS",
      "FETCH 1,$ FLAGS",
      "UID FETCH $:2 FLAGS",
  };
  int n = 0;
  for (const char* cmd : bad) {
    std::string tag = "x" + std::to_string(n++);
    std::string r = Run(*c, tag + " " + cmd + "\r\n", tag);
    EXPECT_TRUE(r.starts_with(tag + " BAD ")) << cmd << " -> " << r;
  }
  // The session still works.
  EXPECT_EQ(Run(*c, "z SEARCH RETURN (COUNT) ALL\r\n", "z"),
            "* ESEARCH (TAG \"z\") COUNT 2\r\nz OK Search completed.\r\n");
}

TEST_F(EsearchSessionTest, SplitAtEveryByte) {
  Fill(5, {2, 4});
  auto c = Selected();
  const std::string input =
      "a UID SEARCH RETURN (MIN MAX COUNT SAVE) FLAGGED\r\nb FETCH $ (UID)\r\n";
  const std::string want =
      "* ESEARCH (TAG \"a\") UID MIN 2 MAX 4 COUNT 2\r\na OK Search completed.\r\n"
      "* 2 FETCH (UID 2)\r\n* 4 FETCH (UID 4)\r\nb OK Fetch completed.\r\n";
  for (std::size_t split = 0; split <= input.size(); ++split) {
    std::string got = Send(*c, input.substr(0, split));
    // Whole commands may already be answered by the first part.
    got += got.find("\r\nb OK") == std::string::npos ? Run(*c, input.substr(split), "b")
                                                     : Send(*c, input.substr(split));
    EXPECT_EQ(got, want) << split;
  }
}

// ---- SEARCHRES (RFC 5182) ----------------------------------------------------

// Examples 1 and 2: SAVE, then FETCH $ (also pipelined).
TEST_F(EsearchSessionTest, Rfc5182Examples1And2) {
  Fill(5, {2, 4});
  auto c = Selected();
  EXPECT_EQ(
      Run(*c, "A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n", "A282"),
      "A282 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "A283 FETCH $ (UID FLAGS)\r\n", "A283"),
            "* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))\r\n"
            "* 4 FETCH (UID 4 FLAGS (\\Flagged \\Recent))\r\n"
            "A283 OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c,
                "B282 SEARCH RETURN (SAVE) NOT FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n"
                "B283 FETCH $ (UID)\r\n",
                "B283"),
            "B282 OK Search completed.\r\n* 1 FETCH (UID 1)\r\n* 3 FETCH (UID 3)\r\n"
            "* 5 FETCH (UID 5)\r\nB283 OK Fetch completed.\r\n");
}

// Example 3: a saved sequence-number SEARCH used by UID SEARCH, as "UID $"
// and as "$".
TEST_F(EsearchSessionTest, Rfc5182Example3) {
  Fill(6);
  auto c = Selected();
  Run(*c, "a STORE 1 +FLAGS.SILENT (\\Deleted)\r\n", "a");
  Run(*c, "b EXPUNGE\r\n", "b");  // sequence numbers no longer equal UIDs
  EXPECT_EQ(
      Run(*c, "A300 SEARCH RETURN (SAVE) 2:4 SINCE 1-Jan-2004 NOT FROM \"Smith\"\r\n", "A300"),
      "A300 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "A301 UID SEARCH UID $ SMALLER 4096\r\n", "A301"),
            "* SEARCH 3 4 5\r\nA301 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "A302 UID SEARCH $ SMALLER 4096\r\n", "A302"),
            "* SEARCH 3 4 5\r\nA302 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "A303 SEARCH $\r\n", "A303"),
            "* SEARCH 2 3 4\r\nA303 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "A304 UID FETCH $ (FLAGS)\r\n", "A304"),
            "* 2 FETCH (UID 3 FLAGS (\\Recent))\r\n* 3 FETCH (UID 4 FLAGS (\\Recent))\r\n"
            "* 4 FETCH (UID 5 FLAGS (\\Recent))\r\nA304 OK Fetch completed.\r\n");
}

// Example 4: "$" combined with other numbers through OR, with a literal.
TEST_F(EsearchSessionTest, Rfc5182Example4) {
  Fill(6);
  auto c = Selected();
  Run(*c, "P282 SEARCH RETURN (SAVE) 5:6 SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n", "P282");
  EXPECT_EQ(Send(*c, "P283 SEARCH CHARSET UTF-8 (OR $ 1,3000:3021) TEXT {4}\r\n"), "+ OK\r\n");
  EXPECT_EQ(Run(*c, "Body\r\n", "P283"), "* SEARCH 1 5 6\r\nP283 OK Search completed.\r\n");
}

// Example 5: a SEARCH that fails with NO empties "$", even one that has SAVE
// in a later command; a BAD leaves it as it was.
TEST_F(EsearchSessionTest, Rfc5182Example5FailedSearchEmptiesResult) {
  Fill(3);
  auto c = Selected();
  Run(*c, "B282 SEARCH RETURN (SAVE) SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n", "B282");
  // BAD (syntax): "$" unchanged.
  EXPECT_TRUE(Run(*c, "B1 SEARCH RETURN (SAVE) FOO\r\n", "B1").starts_with("B1 BAD "));
  EXPECT_EQ(Run(*c, "B2 SEARCH $\r\n", "B2"), "* SEARCH 1 2 3\r\nB2 OK Search completed.\r\n");
  // NO without SAVE: unchanged.
  Run(*c, "B3 SEARCH CHARSET KOI8-X ALL\r\n", "B3");
  EXPECT_EQ(Run(*c, "B4 SEARCH $\r\n", "B4"), "* SEARCH 1 2 3\r\nB4 OK Search completed.\r\n");
  // NO with SAVE: emptied.
  EXPECT_EQ(Send(*c, "B283 SEARCH RETURN (SAVE) CHARSET KOI8-X (OR $ 1,3000:3021) TEXT {4}\r\n"),
            "+ OK\r\n");
  EXPECT_EQ(Run(*c, "XXXX\r\n", "B283"),
            "B283 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.\r\n");
  EXPECT_EQ(Run(*c, "B284 FETCH $ (UID)\r\n", "B284"), "B284 OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "B285 SEARCH $\r\n", "B285"), "* SEARCH\r\nB285 OK Search completed.\r\n");
}

TEST_F(EsearchSessionTest, SearchOverTheWorkLimitEmptiesResult) {
  // Enough work for a flag search over four messages, not for reading a
  // 200 kB body (checked between 64 kB pieces).
  config_.limits.max_search_work = 4 * kSearchMessageWork + 1000;
  Fill(3);
  fx_.Deliver(user_.id, "Subject: big\r\n\r\n" + std::string(200000, 'x') + "\r\n");
  auto c = Selected();
  EXPECT_EQ(Run(*c, "a SEARCH RETURN (SAVE COUNT) ALL\r\n", "a"),
            "* ESEARCH (TAG \"a\") COUNT 4\r\na OK Search completed.\r\n");
  std::string r = Run(*c, "b SEARCH RETURN (SAVE) BODY nothing\r\n", "b");
  EXPECT_TRUE(r.starts_with("b NO [LIMIT]")) << r;
  EXPECT_EQ(Run(*c, "c SEARCH $\r\n", "c"), "* SEARCH\r\nc OK Search completed.\r\n");
}

// Example 6: "$" before any SAVE, or empty, is a valid set that matches
// nothing.
TEST_F(EsearchSessionTest, Rfc5182Example6EmptyResultIsNotAnError) {
  Fill(2);
  auto c = Selected();
  Run(*c, "x CREATE \"Other Messages\"\r\n", "x");
  EXPECT_EQ(Run(*c, "a FETCH $ (UID)\r\n", "a"), "a OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "b UID SEARCH $\r\n", "b"), "* SEARCH\r\nb OK Search completed.\r\n");
  EXPECT_EQ(Run(*c,
                "E282 SEARCH RETURN (SAVE) SINCE 28-Oct-2006 NOT FROM \"Person\"\r\n"
                "E283 COPY $ \"Other Messages\"\r\n",
                "E283"),
            "E282 OK Search completed.\r\nE283 OK No messages found.\r\n");
  EXPECT_EQ(Run(*c, "c STORE $ +FLAGS (\\Seen)\r\n", "c"), "c OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "d UID EXPUNGE $\r\n", "d"), "d OK Expunge completed.\r\n");
}

// Example 7: SAVE pipelined with COPY $ and STORE $.
TEST_F(EsearchSessionTest, Rfc5182Example7CopyAndStore) {
  for (int i = 1; i <= 4; ++i) {
    storage::Flags f;
    if (i % 2 == 0) f.keywords.push_back("$Junk");
    Deliver(i, f);
  }
  auto c = LoggedIn();
  Run(*c, "a CREATE Junk\r\n", "a");
  Run(*c, "b SELECT INBOX\r\n", "b");
  std::string r = Run(*c,
                      "F282 SEARCH RETURN (SAVE) KEYWORD $Junk\r\n"
                      "F283 COPY $ \"Junk\"\r\n"
                      "F284 STORE $ +FLAGS.Silent (\\Deleted)\r\n",
                      "F284");
  EXPECT_NE(r.find("F282 OK Search completed.\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("F283 OK [COPYUID "), std::string::npos) << r;
  EXPECT_NE(r.find(" 2,4 1:2] Copy completed.\r\n"), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("F284 OK Store completed.\r\n")) << r;
  EXPECT_EQ(Run(*c, "c SEARCH RETURN () DELETED\r\n", "c"),
            "* ESEARCH (TAG \"c\") ALL 2,4\r\nc OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "d STATUS Junk (MESSAGES)\r\n", "d"),
            "* STATUS Junk (MESSAGES 2)\r\nd OK Status completed.\r\n");
  // UID EXPUNGE $ and MOVE $.
  EXPECT_EQ(Run(*c, "e UID EXPUNGE $\r\n", "e"),
            "* 2 EXPUNGE\r\n* 3 EXPUNGE\r\ne OK Expunge completed.\r\n");
  Run(*c, "f SEARCH RETURN (SAVE) ALL\r\n", "f");
  r = Run(*c, "g MOVE $ Junk\r\n", "g");
  EXPECT_TRUE(r.ends_with("* 1 EXPUNGE\r\n* 1 EXPUNGE\r\ng OK Move completed.\r\n")) << r;
}

// Examples 8 and 9: a SEARCH without SAVE leaves "$"; the last SAVE wins.
TEST_F(EsearchSessionTest, Rfc5182Examples8And9) {
  Fill(4, {1, 2});
  auto c = Selected();
  Run(*c, "G282 SEARCH RETURN (SAVE) FLAGGED\r\n", "G282");
  EXPECT_EQ(Run(*c, "G283 SEARCH RETURN (ALL) SINCE 28-Oct-2006 FROM \"Person\"\r\n", "G283"),
            "* ESEARCH (TAG \"G283\") ALL 1:4\r\nG283 OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "a SEARCH $\r\n", "a"), "* SEARCH 1 2\r\na OK Search completed.\r\n");
  Run(*c, "H282 SEARCH RETURN (SAVE) FLAGGED\r\nH283 SEARCH RETURN (SAVE) UNFLAGGED\r\n", "H283");
  EXPECT_EQ(Run(*c, "b SEARCH $\r\n", "b"), "* SEARCH 3 4\r\nb OK Search completed.\r\n");
}

// Example 10 (section 2.4): what SAVE keeps with MIN/MAX/ALL/COUNT.
TEST_F(EsearchSessionTest, Rfc5182Example10) {
  Fill(21, {2, 10, 11, 12, 13, 14, 15, 21});
  auto c = Selected();
  const std::string keys = " FLAGGED SINCE 12-Feb-2006 NOT FROM \"Smith\"\r\n";
  auto saved = [&]() { return Run(*c, "s SEARCH RETURN (ALL) $\r\n", "s"); };
  EXPECT_EQ(Run(*c, "C282 SEARCH RETURN (ALL)" + keys, "C282"),
            "* ESEARCH (TAG \"C282\") ALL 2,10:15,21\r\nC282 OK Search completed.\r\n");
  EXPECT_EQ(saved(), "* ESEARCH (TAG \"s\")\r\ns OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "C283 SEARCH RETURN (ALL SAVE)" + keys, "C283"),
            "* ESEARCH (TAG \"C283\") ALL 2,10:15,21\r\nC283 OK Search completed.\r\n");
  EXPECT_EQ(saved(), "* ESEARCH (TAG \"s\") ALL 2,10:15,21\r\ns OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "C284 SEARCH RETURN (SAVE MIN)" + keys, "C284"),
            "* ESEARCH (TAG \"C284\") MIN 2\r\nC284 OK Search completed.\r\n");
  EXPECT_EQ(saved(), "* ESEARCH (TAG \"s\") ALL 2\r\ns OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "C285 SEARCH RETURN (MAX SAVE MIN)" + keys, "C285"),
            "* ESEARCH (TAG \"C285\") MIN 2 MAX 21\r\nC285 OK Search completed.\r\n");
  EXPECT_EQ(saved(), "* ESEARCH (TAG \"s\") ALL 2,21\r\ns OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "C286 SEARCH RETURN (MAX SAVE MIN COUNT)" + keys, "C286"),
            "* ESEARCH (TAG \"C286\") MIN 2 MAX 21 COUNT 8\r\nC286 OK Search completed.\r\n");
  EXPECT_EQ(saved(), "* ESEARCH (TAG \"s\") ALL 2,10:15,21\r\ns OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "C287 SEARCH RETURN (ALL SAVE MIN)" + keys, "C287"),
            "* ESEARCH (TAG \"C287\") MIN 2 ALL 2,10:15,21\r\nC287 OK Search completed.\r\n");
  EXPECT_EQ(saved(), "* ESEARCH (TAG \"s\") ALL 2,10:15,21\r\ns OK Search completed.\r\n");
}

TEST_F(EsearchSessionTest, SavedResultHoldsUidsSoExpungedMessagesDropOut) {
  Fill(5);
  auto c = Selected();
  Run(*c, "a SEARCH RETURN (SAVE) 2:4\r\n", "a");
  Run(*c, "b STORE 3 +FLAGS.SILENT (\\Deleted)\r\n", "b");
  EXPECT_EQ(Run(*c, "c EXPUNGE\r\n", "c"), "* 3 EXPUNGE\r\nc OK Expunge completed.\r\n");
  // Messages 2 and 4 (now 2 and 3) remain; new messages are not added.
  Deliver(6);
  std::string r = Run(*c, "d FETCH $ (UID)\r\n", "d");
  EXPECT_EQ(r,
            "* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 4)\r\n* 5 EXISTS\r\n* 5 RECENT\r\n"
            "d OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "f UID SEARCH RETURN (ALL) $\r\n", "f"),
            "* ESEARCH (TAG \"f\") UID ALL 2,4\r\nf OK Search completed.\r\n");
  // "$" in a search is read before the new result replaces it.
  EXPECT_EQ(Run(*c, "g SEARCH RETURN (SAVE MAX) $\r\n", "g"),
            "* ESEARCH (TAG \"g\") MAX 3\r\ng OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "h UID SEARCH RETURN (ALL) $\r\n", "h"),
            "* ESEARCH (TAG \"h\") UID ALL 4\r\nh OK Search completed.\r\n");
}

TEST_F(EsearchSessionTest, SelectExamineCloseUnselectEmptyTheResult) {
  Fill(3);
  auto c = Selected();
  auto check_empty = [&](const std::string& tag) {
    EXPECT_EQ(Run(*c, tag + " SEARCH $\r\n", tag),
              "* SEARCH\r\n" + tag + " OK Search completed.\r\n");
  };
  Run(*c, "a SEARCH RETURN (SAVE) ALL\r\n", "a");
  Run(*c, "b SELECT INBOX\r\n", "b");
  check_empty("c");
  Run(*c, "d SEARCH RETURN (SAVE) ALL\r\n", "d");
  Run(*c, "e EXAMINE INBOX\r\n", "e");
  check_empty("f");
  Run(*c, "g SEARCH RETURN (SAVE) ALL\r\n", "g");
  Run(*c, "h UNSELECT\r\n", "h");
  Run(*c, "i SELECT INBOX\r\n", "i");
  check_empty("j");
  Run(*c, "k SEARCH RETURN (SAVE) ALL\r\n", "k");
  Run(*c, "l CLOSE\r\n", "l");
  Run(*c, "m SELECT INBOX\r\n", "m");
  check_empty("n");
  // A failed SELECT leaves no mailbox: "$" needs one.
  Run(*c, "o SEARCH RETURN (SAVE) ALL\r\n", "o");
  EXPECT_TRUE(Run(*c, "p SELECT Nope\r\n", "p").starts_with("p NO "));
  EXPECT_EQ(Run(*c, "q FETCH $ (UID)\r\n", "q"), "q BAD No mailbox selected.\r\n");
}

TEST_F(EsearchSessionTest, ProfileWithoutEsearchRefusesReturnAndDollar) {
  Status st = fx_.WaitStatus([&](storage::StatusCallback cb) {
    fx_.store().SetUserSetting("joe", "imap.capabilities", "-ESEARCH", cb);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  Fill(2);
  auto c = Selected();
  std::string r = Run(*c, "a CAPABILITY\r\n", "a");
  EXPECT_EQ(r.find("ESEARCH"), std::string::npos) << r;
  EXPECT_EQ(r.find("SEARCHRES"), std::string::npos) << r;
  EXPECT_TRUE(Run(*c, "b SEARCH RETURN (MIN) ALL\r\n", "b").starts_with("b BAD ")) << r;
  EXPECT_TRUE(Run(*c, "c FETCH $ (UID)\r\n", "c").starts_with("c BAD ")) << r;
  EXPECT_TRUE(Run(*c, "d SEARCH $\r\n", "d").starts_with("d BAD ")) << r;
}

TEST_F(EsearchSessionTest, ProfileWithoutSearchResRefusesSave) {
  Status st = fx_.WaitStatus([&](storage::StatusCallback cb) {
    fx_.store().SetUserSetting("joe", "imap.capabilities", "-SEARCHRES", cb);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  Fill(2);
  auto c = Selected();
  EXPECT_EQ(Run(*c, "a SEARCH RETURN (MIN) ALL\r\n", "a"),
            "* ESEARCH (TAG \"a\") MIN 1\r\na OK Search completed.\r\n");
  EXPECT_TRUE(Run(*c, "b SEARCH RETURN (SAVE) ALL\r\n", "b").starts_with("b BAD "));
  EXPECT_TRUE(Run(*c, "c FETCH $ (UID)\r\n", "c").starts_with("c BAD "));
}

// RFC 4731 section 3.2: with a MODSEQ criterion the response carries the
// MODSEQ item (the found message's for a single MIN or MAX, else the
// highest); none without matches or without the criterion.
TEST_F(EsearchSessionTest, ModSeqItemWithModSeqCriterion) {
  Fill(3);
  std::vector<storage::ModSeq> modseq;
  {
    auto view = fx_.store().Read();
    auto mb = view->FindMailbox(user_.id, "INBOX");
    ASSERT_TRUE(mb.ok());
    for (storage::Uid uid = 1; uid <= 3; ++uid)
      modseq.push_back(view->GetMessage(mb->id, uid)->modseq);
  }
  ASSERT_LT(modseq[0], modseq[2]);
  auto c = Selected();
  // MODSEQ turns CONDSTORE on (RFC 7162 3.1): HIGHESTMODSEQ is told first.
  EXPECT_EQ(Run(*c, "a SEARCH RETURN (MIN) MODSEQ 1\r\n", "a"),
            "* OK [HIGHESTMODSEQ " + std::to_string(modseq[2]) + "] Highest\r\n" +
                "* ESEARCH (TAG \"a\") MIN 1 MODSEQ " + std::to_string(modseq[0]) +
                "\r\na OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "b UID SEARCH RETURN (MAX) 1:2 MODSEQ 1\r\n", "b"),
            "* ESEARCH (TAG \"b\") UID MAX 2 MODSEQ " + std::to_string(modseq[1]) +
                "\r\nb OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "c SEARCH RETURN (COUNT) MODSEQ 1\r\n", "c"),
            "* ESEARCH (TAG \"c\") COUNT 3 MODSEQ " + std::to_string(modseq[2]) +
                "\r\nc OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "d SEARCH RETURN (COUNT) MODSEQ 999999\r\n", "d"),
            "* ESEARCH (TAG \"d\") COUNT 0\r\nd OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "e SEARCH RETURN (COUNT) ALL\r\n", "e"),
            "* ESEARCH (TAG \"e\") COUNT 3\r\ne OK Search completed.\r\n");
}

// ---- PARTIAL (RFC 9394) ------------------------------------------------------

TEST_F(EsearchSessionTest, PartialWindows) {
  Fill(6);
  auto c = Selected();
  Run(*c, "a STORE 3 +FLAGS.SILENT (\\Deleted)\r\n", "a");
  Run(*c, "b EXPUNGE\r\n", "b");  // UIDs 1 2 4 5 6 as 1..5
  EXPECT_EQ(Run(*c, "c SEARCH RETURN (PARTIAL 4:2) ALL\r\n", "c"),
            "* ESEARCH (TAG \"c\") PARTIAL (2:4 2:4)\r\nc OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "d UID SEARCH RETURN (PARTIAL 2:3 COUNT) ALL\r\n", "d"),
            "* ESEARCH (TAG \"d\") UID PARTIAL (2:3 2,4) COUNT 5\r\nd OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "e UID SEARCH RETURN (PARTIAL -1:-2) ALL\r\n", "e"),
            "* ESEARCH (TAG \"e\") UID PARTIAL (-1:-2 5:6)\r\ne OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "f SEARCH RETURN (PARTIAL 6:10) ALL\r\n", "f"),
            "* ESEARCH (TAG \"f\") PARTIAL (6:10 NIL)\r\nf OK Search completed.\r\n");
  // SAVE with PARTIAL alone keeps the window.
  Run(*c, "g UID SEARCH RETURN (SAVE PARTIAL -1:-100) 1:2\r\n", "g");
  EXPECT_EQ(Run(*c, "h UID SEARCH RETURN () $\r\n", "h"),
            "* ESEARCH (TAG \"h\") UID ALL 1:2\r\nh OK Search completed.\r\n");
}

}  // namespace
}  // namespace pillarbox::imap
