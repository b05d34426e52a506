// CONDSTORE and QRESYNC (RFC 7162) transcripts against a store in a
// temporary directory: HIGHESTMODSEQ, FETCH MODSEQ and CHANGEDSINCE, STORE
// UNCHANGEDSINCE and [MODIFIED], SEARCH MODSEQ, STATUS HIGHESTMODSEQ,
// SELECT (QRESYNC ...) with VANISHED (EARLIER), and VANISHED for expunges.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "protocols/imap/imap_format.h"
#include "protocols/imap/imap_session.h"
#include "tests/support/test_support.h"
#include "tests/unit/imap/session_fixture.h"

namespace pillarbox::imap {
namespace {

using pillarbox::testing::FakeOutput;
using pillarbox::testing::FakeTimers;
using pillarbox::testing::StoreFixture;

const char kMsg[] =
    "From: Alice <alice@example.com>\r\n"
    "Subject: Hello\r\n"
    "\r\n"
    "Hi.\r\n";

using session_test::Client;

class CondstoreTest : public session_test::SessionFixture {
 protected:
  // Logged in, INBOX selected, the SELECT transcript dropped.
  std::unique_ptr<Client> Selected(const std::string& enable = "") {
    auto c = LoggedIn();
    if (!enable.empty()) Run(*c, "E ENABLE " + enable + "\r\n", "E");
    std::string r = Run(*c, "S SELECT INBOX\r\n", "S");
    EXPECT_NE(r.find("S OK"), std::string::npos) << r;
    return c;
  }

  storage::MailboxRecord Inbox() { return Mailbox("INBOX"); }
  storage::ModSeq Highest() { return Inbox().highest_modseq; }
  storage::ModSeq ModSeqOf(storage::Uid uid) {
    auto m = fx_.store().Read()->GetMessage(Inbox().id, uid);
    EXPECT_TRUE(m.ok()) << uid;
    return m.ok() ? m->modseq : 0;
  }
  std::string M(storage::Uid uid) { return std::to_string(ModSeqOf(uid)); }
  void Deliver(int n) {
    for (int i = 0; i < n; ++i) fx_.Deliver(user_.id, kMsg);
    fx_.RunPending();
  }
  // The untagged part of a SELECT (or EXAMINE, `read_only`) of INBOX.
  std::string Select(std::size_t exists, std::size_t recent, std::size_t unseen, bool condstore,
                     bool read_only = false) {
    auto mb = Inbox();
    std::string r = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n";
    r += read_only ? "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n"
                   : "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
                     "\\*)] Flags permitted.\r\n";
    r += "* " + std::to_string(exists) + " EXISTS\r\n";
    r += "* " + std::to_string(recent) + " RECENT\r\n";
    if (unseen) r += "* OK [UNSEEN " + std::to_string(unseen) + "] First unseen.\r\n";
    r += "* OK [UIDVALIDITY " + std::to_string(mb.uidvalidity) + "] UIDs valid\r\n";
    r += "* OK [UIDNEXT " + std::to_string(mb.uidnext) + "] Predicted next UID\r\n";
    if (condstore) {
      r += "* OK [HIGHESTMODSEQ " + std::to_string(mb.highest_modseq) + "] Highest\r\n";
    }
    r += "* OK [MAILBOXID (F" + std::to_string(mb.id) + ")] Ok\r\n";  // OBJECTID
    return r;
  }
};

TEST_F(CondstoreTest, AdvertisedAndEnabled) {
  auto c = LoggedIn();
  std::string caps = Run(*c, "a CAPABILITY\r\n", "a");
  EXPECT_NE(caps.find(" CONDSTORE QRESYNC"), std::string::npos) << caps;
  EXPECT_EQ(Run(*c, "b ENABLE QRESYNC\r\n", "b"), "* ENABLED QRESYNC\r\nb OK Enabled.\r\n");
  EXPECT_EQ(Run(*c, "c ENABLE CONDSTORE QRESYNC\r\n", "c"),
            "* ENABLED CONDSTORE\r\nc OK Enabled.\r\n");
}

TEST_F(CondstoreTest, HighestModSeqOnlyOnceCondstoreIsOn) {
  Deliver(2);
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a SELECT INBOX\r\n", "a"),
            Select(2, 2, 1, false) + "a OK [READ-WRITE] Select completed.\r\n");
  EXPECT_EQ(Run(*c, "b EXAMINE INBOX (CONDSTORE)\r\n", "b"),
            Select(2, 0, 1, true, true) + "b OK [READ-ONLY] Examine completed.\r\n");
  // From now on every SELECT tells it.
  EXPECT_EQ(Run(*c, "c SELECT INBOX\r\n", "c"),
            Select(2, 0, 1, true) + "c OK [READ-WRITE] Select completed.\r\n");
  EXPECT_EQ(Run(*c, "d SELECT INBOX (FOO)\r\n", "d"),
            "d BAD Error in IMAP command SELECT: Unknown SELECT parameter\r\n");
}

TEST_F(CondstoreTest, FetchModSeqEnablesAndTellsHighestModSeqOnce) {
  Deliver(2);
  auto c = Selected();
  std::string h = std::to_string(Highest());
  EXPECT_EQ(Run(*c, "f FETCH 1 (MODSEQ)\r\n", "f"), "* OK [HIGHESTMODSEQ " + h +
                                                        "] Highest\r\n* 1 FETCH (MODSEQ (" + M(1) +
                                                        "))\r\nf OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "g UID FETCH 2 MODSEQ\r\n", "g"),
            "* 2 FETCH (UID 2 MODSEQ (" + M(2) + "))\r\ng OK Fetch completed.\r\n");
}

TEST_F(CondstoreTest, FetchChangedSince) {
  Deliver(3);
  auto c = Selected("CONDSTORE");
  storage::ModSeq before = Highest();
  Run(*c, "s STORE 2 +FLAGS.SILENT (\\Flagged)\r\n", "s");
  EXPECT_EQ(
      Run(*c, "f FETCH 1:* (FLAGS) (CHANGEDSINCE " + std::to_string(before) + ")\r\n", "f"),
      "* 2 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (" + M(2) + "))\r\nf OK Fetch completed.\r\n");
  EXPECT_EQ(
      Run(*c, "g UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + std::to_string(Highest()) + ")\r\n", "g"),
      "g OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "h FETCH 1 (FLAGS) (CHANGEDSINCE x)\r\n", "h"),
            "h BAD Error in IMAP command FETCH: Invalid CHANGEDSINCE modseq\r\n");
  EXPECT_EQ(Run(*c, "i UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n", "i"),
            "i BAD Error in IMAP command UID FETCH: VANISHED needs UID FETCH with QRESYNC "
            "enabled\r\n");
}

// RFC 7162 3.1.3: the messages changed since UNCHANGEDSINCE are left alone
// and named in [MODIFIED]; the others are stored and shown with MODSEQ.
TEST_F(CondstoreTest, StoreUnchangedSinceReportsModified) {
  Deliver(3);
  auto c = Selected();
  // Message 3 changes after UNCHANGEDSINCE (another session).
  auto other = Selected();
  Run(*other, "x STORE 3 +FLAGS (\\Seen)\r\n", "x");
  std::string unchanged = std::to_string(ModSeqOf(2));
  std::string r =
      Run(*c, "a STORE 1:3 (UNCHANGEDSINCE " + unchanged + ") +FLAGS (\\Deleted)\r\n", "a");
  // The other session's change is read first: HIGHESTMODSEQ covers it.
  EXPECT_EQ(r, "* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent) MODSEQ (" + M(3) +
                   "))\r\n* OK [HIGHESTMODSEQ " + M(3) +
                   "] Highest\r\n"
                   "* 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent) MODSEQ (" +
                   M(1) + "))\r\n* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent) MODSEQ (" + M(2) +
                   "))\r\n"
                   "a OK [MODIFIED 3] Conditional store failed.\r\n");
  // UID STORE names UIDs; UNCHANGEDSINCE 0 always fails.
  EXPECT_EQ(Run(*c, "b UID STORE 2:3 (UNCHANGEDSINCE 0) -FLAGS (\\Deleted)\r\n", "b"),
            "b OK [MODIFIED 2:3] Conditional store failed.\r\n");
  // .SILENT still reports the new MODSEQ.
  r = Run(
      *c,
      "d STORE 1 (UNCHANGEDSINCE " + std::to_string(Highest()) + ") -FLAGS.SILENT (\\Deleted)\r\n",
      "d");
  EXPECT_EQ(r, "* 1 FETCH (UID 1 MODSEQ (" + M(1) + "))\r\nd OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "e STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)\r\n", "e"),
            "e BAD Error in IMAP command STORE: Invalid STORE modifier\r\n");
}

TEST_F(CondstoreTest, UnsolicitedFlagChangesCarryUidAndModSeq) {
  Deliver(2);
  auto c = Selected("CONDSTORE");
  auto other = Selected();
  Run(*other, "x STORE 2 +FLAGS (\\Answered)\r\n", "x");
  EXPECT_EQ(Run(*c, "n NOOP\r\n", "n"), "* 2 FETCH (UID 2 FLAGS (\\Answered \\Recent) MODSEQ (" +
                                            M(2) + "))\r\nn OK NOOP completed.\r\n");
}

// RFC 7162 3.2: while an expunge is held back (a command by sequence
// number runs), newer MODSEQs shown come with a HIGHESTMODSEQ below it, so a
// client that disconnects then still resyncs the expunge.
TEST_F(CondstoreTest, HeldBackExpungeKeepsHighestModSeqBelowIt) {
  Deliver(3);
  auto c = Selected("CONDSTORE");
  std::string h0 = std::to_string(Highest());
  auto other = Selected();
  Run(*other, "x STORE 1 +FLAGS (\\Deleted)\r\n", "x");
  Run(*other, "y EXPUNGE\r\n", "y");
  Run(*other, "z UID STORE 3 +FLAGS (\\Seen)\r\n", "z");
  EXPECT_EQ(Run(*c, "f FETCH 2 (FLAGS)\r\n", "f"),
            "* 2 FETCH (FLAGS (\\Recent))\r\n* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent) MODSEQ (" +
                M(3) + "))\r\n* OK [HIGHESTMODSEQ " + h0 +
                "] Highest\r\nf OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "n NOOP\r\n", "n"), "* 1 EXPUNGE\r\nn OK NOOP completed.\r\n");
}

TEST_F(CondstoreTest, SearchModSeq) {
  Deliver(4);
  auto c = Selected();
  storage::ModSeq before = Highest();
  Run(*c, "s STORE 2,4 +FLAGS.SILENT (\\Seen)\r\n", "s");
  std::string h = std::to_string(Highest());
  EXPECT_EQ(Run(*c, "a SEARCH MODSEQ " + std::to_string(before + 1) + "\r\n", "a"),
            "* OK [HIGHESTMODSEQ " + h + "] Highest\r\n* SEARCH 2 4 (MODSEQ " + M(4) +
                ")\r\na OK Search completed.\r\n");
  EXPECT_EQ(Run(*c,
                "b UID SEARCH MODSEQ \"/flags/\\\\Seen\" all " + std::to_string(before + 1) +
                    " UID 1:2\r\n",
                "b"),
            "* SEARCH 2 (MODSEQ " + M(2) + ")\r\nb OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "c SEARCH MODSEQ " + std::to_string(Highest() + 1) + "\r\n", "c"),
            "* SEARCH\r\nc OK Search completed.\r\n");
}

TEST_F(CondstoreTest, StatusHighestModSeq) {
  Deliver(1);
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a STATUS INBOX (MESSAGES HIGHESTMODSEQ)\r\n", "a"),
            "* STATUS INBOX (MESSAGES 1 HIGHESTMODSEQ " + std::to_string(Highest()) +
                ")\r\na OK Status completed.\r\n");
  // CONDSTORE is on now: SELECT tells HIGHESTMODSEQ.
  EXPECT_NE(Run(*c, "b SELECT INBOX\r\n", "b").find("* OK [HIGHESTMODSEQ "), std::string::npos);
}

// RFC 7162 3.2.5: VANISHED (EARLIER) for what was expunged, FETCH for what
// changed or came since the client's modseq, limited to the known UIDs.
TEST_F(CondstoreTest, QresyncSelect) {
  Deliver(5);
  storage::ModSeq known = Highest();
  std::string uv = std::to_string(Inbox().uidvalidity);
  {
    auto other = Selected();
    Run(*other, "x STORE 2 +FLAGS (\\Seen)\r\n", "x");
    Run(*other, "y STORE 3:4 +FLAGS (\\Deleted)\r\n", "y");
    Run(*other, "z EXPUNGE\r\n", "z");
  }
  Deliver(1);  // UID 6
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a SELECT INBOX (QRESYNC (" + uv + " " + std::to_string(known) + "))\r\n", "a"),
            "a BAD Error in IMAP command SELECT: QRESYNC not enabled\r\n");
  Run(*c, "e ENABLE QRESYNC\r\n", "e");
  std::string q = "(QRESYNC (" + uv + " " + std::to_string(known);
  EXPECT_EQ(Run(*c, "b SELECT INBOX " + q + "))\r\n", "b"),
            Select(4, 1, 1, true) + "* VANISHED (EARLIER) 3:4\r\n" +
                "* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (" + M(2) + "))\r\n" +
                "* 4 FETCH (UID 6 FLAGS (\\Recent) MODSEQ (" + M(6) + "))\r\n" +
                "b OK [READ-WRITE] Select completed.\r\n");
  // Known UIDs limit both; the sequence match data is checked; another
  // SELECT closes the previous mailbox first.
  EXPECT_EQ(Run(*c, "c EXAMINE INBOX " + q + " 1:3 (1:2 1:2)))\r\n", "c"),
            "* OK [CLOSED] Previous mailbox closed.\r\n" + Select(4, 0, 1, true, true) +
                "* VANISHED (EARLIER) 3\r\n* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (" + M(2) +
                "))\r\nc OK [READ-ONLY] Examine completed.\r\n");
  EXPECT_EQ(Run(*c, "d SELECT INBOX " + q + " 1:3 (1:2 1)))\r\n", "d"),
            "d BAD Error in IMAP command SELECT: QRESYNC sequence match data sets differ in "
            "size\r\n");
  EXPECT_EQ(Run(*c, "f SELECT INBOX " + q + " 1:*))\r\n", "f"),
            "f BAD Error in IMAP command SELECT: Invalid QRESYNC parameters\r\n");
  // Another UIDVALIDITY: a plain SELECT.
  std::string r = Run(*c, "g SELECT INBOX (QRESYNC (1234 " + std::to_string(known) + "))\r\n", "g");
  EXPECT_EQ(r.find("VANISHED"), std::string::npos) << r;
  EXPECT_EQ(r.find("FETCH"), std::string::npos) << r;
}

TEST_F(CondstoreTest, UidFetchVanished) {
  Deliver(3);
  storage::ModSeq known = Highest();
  auto c = Selected("QRESYNC");
  auto other = Selected();
  Run(*other, "x STORE 1 +FLAGS (\\Deleted)\r\n", "x");
  Run(*other, "y EXPUNGE\r\n", "y");
  Run(*other, "z UID STORE 2 +FLAGS (\\Seen)\r\n", "z");
  EXPECT_EQ(Run(*c, "n NOOP\r\n", "n"),
            "* VANISHED 1\r\n* 1 FETCH (UID 2 FLAGS (\\Seen \\Recent) MODSEQ (" + M(2) +
                "))\r\nn OK NOOP completed.\r\n");
  EXPECT_EQ(
      Run(*c, "a UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + std::to_string(known) + " VANISHED)\r\n",
          "a"),
      "* VANISHED (EARLIER) 1\r\n* 1 FETCH (UID 2 FLAGS (\\Seen \\Recent) MODSEQ (" + M(2) +
          "))\r\na OK Fetch completed.\r\n");
}

TEST_F(CondstoreTest, ExpungeReportsVanishedWithQresync) {
  Deliver(3);
  auto c = Selected("QRESYNC");
  Run(*c, "s STORE 1,3 +FLAGS.SILENT (\\Deleted)\r\n", "s");
  std::string r = Run(*c, "e EXPUNGE\r\n", "e");
  EXPECT_EQ(r, "* VANISHED 1,3\r\ne OK [HIGHESTMODSEQ " + std::to_string(Highest()) +
                   "] Expunge completed.\r\n");
  // Without QRESYNC: EXPUNGE as before.
  auto d = Selected("CONDSTORE");
  Run(*d, "s STORE 1 +FLAGS.SILENT (\\Deleted)\r\n", "s");
  EXPECT_EQ(Run(*d, "e EXPUNGE\r\n", "e"), "* 1 EXPUNGE\r\ne OK Expunge completed.\r\n");
  // The QRESYNC session hears of it while idling.
  EXPECT_EQ(Run(*c, "i IDLE\r\n", "+"), "+ idling\r\n* VANISHED 2\r\n");
  EXPECT_EQ(Run(*c, "DONE\r\n", "i"), "i OK Idle completed.\r\n");
}

TEST_F(CondstoreTest, MoveReportsVanishedWithQresync) {
  Deliver(2);
  auto c = Selected("QRESYNC");
  std::string r = Run(*c, "m UID MOVE 2 Archive\r\n", "m");
  EXPECT_NE(r.find("* OK [COPYUID "), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("* VANISHED 2\r\nm OK Move completed.\r\n")) << r;
}

TEST_F(CondstoreTest, TurnedOffByTheMinimalSyncProfile) {
  config_.imap.profile = "minimal-sync";
  Deliver(1);
  auto c = LoggedIn();
  std::string caps = Run(*c, "a CAPABILITY\r\n", "a");
  EXPECT_EQ(caps.find("CONDSTORE"), std::string::npos) << caps;
  EXPECT_EQ(caps.find("QRESYNC"), std::string::npos) << caps;
  EXPECT_EQ(Run(*c, "b ENABLE CONDSTORE QRESYNC\r\n", "b"), "* ENABLED\r\nb OK Enabled.\r\n");
  EXPECT_EQ(Run(*c, "c SELECT INBOX (CONDSTORE)\r\n", "c"),
            "c BAD Error in IMAP command SELECT: Unknown SELECT parameter\r\n");
  EXPECT_EQ(Run(*c, "d STATUS INBOX (HIGHESTMODSEQ)\r\n", "d"),
            "d BAD Error in IMAP command STATUS: Invalid status item\r\n");
}

}  // namespace
}  // namespace pillarbox::imap
