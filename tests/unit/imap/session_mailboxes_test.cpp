// Transcripts for the mailbox-level extensions: LIST-EXTENDED (RFC 5258),
// LIST-STATUS (RFC 5819), STATUS=SIZE (RFC 8438), CREATE-SPECIAL-USE
// (RFC 6154) and QUOTA (RFC 9208), most of them the RFCs' own examples
// adapted to our namespace ("/" delimiter, names from the root).
#include <gtest/gtest.h>

#include <memory>
#include <string>

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
    "Hi Joe.\r\n";  // 60 octets

class MailboxesTest : public session_test::SessionFixture {
 protected:
  MailboxesTest() {
    config_.limits.max_bad_commands = 100;  // the syntax tests send many
  }

  // Logs in; `capabilities`: the user's imap.capabilities removals.
  void Login(const std::string& removals = "") {
    if (!removals.empty()) config_.imap.capabilities = removals;
    info_.peer_ip = "127.0.0.1";
    info_.loopback = true;
    session_ = MakeSession(ctx_, info_, out_);
    session_->Start();
    out_.Take();
    std::string r = Run("L LOGIN joe secret\r\n", "L");
    ASSERT_NE(r.find("L OK [CAPABILITY"), std::string::npos) << r;
    // The RFCs' examples start from INBOX alone.
    for (const char* name : {"Archive", "Drafts", "Junk", "Sent", "Trash"}) {
      Ok(std::string("DELETE ") + name);
      Ok(std::string("UNSUBSCRIBE ") + name);
    }
  }

  std::string Run(const std::string& input, const std::string& tag) {
    session_->OnInput(input);
    fx_.RunUntil([&] {
      timers_.Advance(std::chrono::milliseconds(0));
      const std::string& w = out_.written();
      return w.starts_with(tag + " ") || w.find("\r\n" + tag + " ") != std::string::npos;
    });
    fx_.RunPending();
    return out_.Take();
  }

  // Runs a command that must succeed without untagged output.
  void Ok(const std::string& command) {
    std::string r = Run("x " + command + "\r\n", "x");
    EXPECT_TRUE(r.starts_with("x OK")) << command << ": " << r;
  }

  storage::Uid Deliver(const std::string& mailbox = "INBOX", storage::Flags flags = {}) {
    auto r = fx_.Deliver(user_.id, kMsg, mailbox, std::move(flags));
    fx_.RunPending();
    return r.uid;
  }

  void SetQuota(std::uint64_t bytes, std::uint64_t messages) {
    Status st = fx_.WaitStatus(
        [&](storage::StatusCallback cb) { fx_.store().SetQuota("joe", bytes, messages, cb); });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // The mailboxes of RFC 5258 section 5 (INBOX is ours).
  void MakeFruitWorld() {
    for (const char* name : {"Fruit", "Fruit/Apple", "Fruit/Banana", "Tofu", "Vegetable",
                             "Vegetable/Broccoli", "Vegetable/Corn"}) {
      Ok(std::string("CREATE ") + name);
    }
    for (const char* name :
         {"INBOX", "Fruit/Banana", "Fruit/Peach", "Vegetable", "Vegetable/Broccoli"}) {
      Ok(std::string("SUBSCRIBE ") + name);
    }
  }

  protocols::ConnectionInfo info_;
  FakeOutput out_;
  std::unique_ptr<protocols::Session> session_;
};

// ---- LIST-EXTENDED (RFC 5258 section 5) ------------------------------------

TEST_F(MailboxesTest, Rfc5258Examples) {
  Login();
  MakeFruitWorld();
  const std::string top =
      "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
      "* LIST (\\HasChildren) \"/\" Fruit\r\n"
      "* LIST (\\HasNoChildren) \"/\" Tofu\r\n"
      "* LIST (\\HasChildren) \"/\" Vegetable\r\n";
  // Example 1: the RFC 3501 syntax.
  EXPECT_EQ(Run("A01 LIST \"\" %\r\n", "A01"), top + "A01 OK List completed.\r\n");
  // Example 2: subscribed mailboxes, the one that does not exist included.
  const std::string subscribed =
      "* LIST (\\Subscribed \\HasNoChildren) \"/\" INBOX\r\n"
      "* LIST (\\Subscribed \\HasNoChildren) \"/\" Fruit/Banana\r\n"
      "* LIST (\\NonExistent \\Subscribed \\HasNoChildren) \"/\" Fruit/Peach\r\n"
      "* LIST (\\Subscribed \\HasChildren) \"/\" Vegetable\r\n"
      "* LIST (\\Subscribed \\HasNoChildren) \"/\" Vegetable/Broccoli\r\n";
  EXPECT_EQ(Run("A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n", "A02"),
            subscribed + "A02 OK List completed.\r\n");
  // Examples 3 and 4: CHILDREN (always given) and REMOTE (nothing is remote).
  EXPECT_EQ(Run("A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n", "A03"),
            top + "A03 OK List completed.\r\n");
  EXPECT_EQ(Run("A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)\r\n", "A04"),
            top + "A04 OK List completed.\r\n");
  // Example 5.
  EXPECT_EQ(Run("A05 LIST (REMOTE SUBSCRIBED) \"\" \"*\"\r\n", "A05"),
            subscribed + "A05 OK List completed.\r\n");
  // Example 6: every mailbox, marked when subscribed; Fruit/Peach is no
  // mailbox, so it is not listed.
  EXPECT_EQ(Run("A06 LIST (REMOTE) \"\" \"*\" RETURN (SUBSCRIBED)\r\n", "A06"),
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" INBOX\r\n"
            "* LIST (\\HasChildren) \"/\" Fruit\r\n"
            "* LIST (\\HasNoChildren) \"/\" Fruit/Apple\r\n"
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" Fruit/Banana\r\n"
            "* LIST (\\HasNoChildren) \"/\" Tofu\r\n"
            "* LIST (\\Subscribed \\HasChildren) \"/\" Vegetable\r\n"
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" Vegetable/Broccoli\r\n"
            "* LIST (\\HasNoChildren) \"/\" Vegetable/Corn\r\n"
            "A06 OK List completed.\r\n");
  // Example 7: several patterns; a mailbox matched twice is listed once.
  EXPECT_EQ(Run("A07 LIST \"\" (\"INBOX\" \"Veg*\" \"Vegetable\")\r\n", "A07"),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
            "* LIST (\\HasChildren) \"/\" Vegetable\r\n"
            "* LIST (\\HasNoChildren) \"/\" Vegetable/Broccoli\r\n"
            "* LIST (\\HasNoChildren) \"/\" Vegetable/Corn\r\n"
            "A07 OK List completed.\r\n");
  // Example 8: RECURSIVEMATCH reports parents of subscribed mailboxes that
  // "%" does not reach.
  EXPECT_EQ(
      Run("A08 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)\r\n", "A08"),
      "* LIST (\\Subscribed \\HasNoChildren) \"/\" INBOX\r\n"
      "* LIST (\\HasChildren) \"/\" Fruit (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
      "* LIST (\\Subscribed \\HasChildren) \"/\" Vegetable (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
      "A08 OK List completed.\r\n");
  // LSUB is unchanged.
  EXPECT_EQ(Run("A09 LSUB \"\" \"*\"\r\n", "A09"),
            "* LSUB () \"/\" INBOX\r\n"
            "* LSUB () \"/\" Fruit/Banana\r\n"
            "* LSUB () \"/\" Fruit/Peach\r\n"
            "* LSUB () \"/\" Vegetable\r\n"
            "* LSUB () \"/\" Vegetable/Broccoli\r\n"
            "A09 OK Lsub completed.\r\n");
}

TEST_F(MailboxesTest, Rfc5258SubscribedParentWithChildInfo) {
  // Example 10: a subscribed mailbox whose subscribed child "%" does not
  // reach gets both \Subscribed and CHILDINFO.
  Login();
  for (const char* name : {"eps1", "eps1/mailbox1", "eps2", "eps2/mailbox2"}) {
    Ok(std::string("CREATE ") + name);
  }
  for (const char* name : {"eps1/mailbox1", "eps2", "eps2/mailbox2"}) {
    Ok(std::string("SUBSCRIBE ") + name);
  }
  EXPECT_EQ(Run("D03 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" eps%\r\n", "D03"),
            "* LIST (\\HasChildren) \"/\" eps1 (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
            "* LIST (\\Subscribed \\HasChildren) \"/\" eps2 (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
            "D03 OK List completed.\r\n");
  // Matched by the patterns themselves: no CHILDINFO.
  EXPECT_EQ(Run("D04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" eps2*\r\n", "D04"),
            "* LIST (\\Subscribed \\HasChildren) \"/\" eps2\r\n"
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" eps2/mailbox2\r\n"
            "D04 OK List completed.\r\n");
}

TEST_F(MailboxesTest, Rfc5258NonExistentParent) {
  // Example 11: a level that is no mailbox is \NonExistent with the
  // extended syntax, \Noselect without it.
  Login();
  Ok("CREATE music/rock");
  Ok("DELETE music");
  EXPECT_EQ(Run("a LIST \"\" mus% RETURN (CHILDREN)\r\n", "a"),
            "* LIST (\\NonExistent \\HasChildren) \"/\" music\r\na OK List completed.\r\n");
  EXPECT_EQ(Run("b LIST \"\" mus%\r\n", "b"),
            "* LIST (\\Noselect \\HasChildren) \"/\" music\r\nb OK List completed.\r\n");
}

TEST_F(MailboxesTest, ListSpecialUseSelection) {
  Login();
  Ok("CREATE Sent (USE (\\Sent))");
  Ok("CREATE Old (USE (\\Archive))");
  Ok("CREATE Plain");
  EXPECT_EQ(Run("a LIST (SPECIAL-USE) \"\" *\r\n", "a"),
            "* LIST (\\HasNoChildren \\Archive) \"/\" Old\r\n"
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
            "a OK List completed.\r\n");
  EXPECT_EQ(Run("b LIST \"\" % RETURN (SPECIAL-USE)\r\n", "b"),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
            "* LIST (\\HasNoChildren \\Archive) \"/\" Old\r\n"
            "* LIST (\\HasNoChildren) \"/\" Plain\r\n"
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
            "b OK List completed.\r\n");
}

TEST_F(MailboxesTest, ListBadSyntax) {
  Login();
  const std::string bad = " BAD Error in IMAP command LIST: ";
  EXPECT_EQ(Run("a LIST (IMAPTEST) \"\" \"\"\r\n", "a"),
            "a" + bad + "Unknown LIST selection option\r\n");
  EXPECT_EQ(Run("b LIST (RECURSIVEMATCH) \"\" %\r\n", "b"),
            "b" + bad + "RECURSIVEMATCH needs another selection option\r\n");
  EXPECT_EQ(Run("c LIST (RECURSIVEMATCH REMOTE) \"\" %\r\n", "c"),
            "c" + bad + "RECURSIVEMATCH needs another selection option\r\n");
  EXPECT_EQ(Run("d LIST \"\" % RETURN (IMAPTEST)\r\n", "d"),
            "d" + bad + "Unknown LIST return option\r\n");
  EXPECT_EQ(Run("e LIST \"\" % RETURN\r\n", "e"), "e" + bad + "Unexpected arguments\r\n");
  EXPECT_EQ(Run("f LIST \"\" ()\r\n", "f"), "f" + bad + "Empty pattern list\r\n");
  EXPECT_EQ(Run("g LIST \"\" % RETURN (STATUS)\r\n", "g"),
            "g" + bad + "Unknown LIST return option\r\n");
  EXPECT_EQ(Run("h LIST \"\" % RETURN (STATUS ())\r\n", "h"),
            "h" + bad + "Invalid status item\r\n");
  EXPECT_EQ(Run("i LIST \"\" % RETURN (STATUS (MESSAGES BOGUS))\r\n", "i"),
            "i" + bad + "Invalid status item\r\n");
  EXPECT_EQ(Run("j LIST \"\" % RETURN (STATUS MESSAGES)\r\n", "j"),
            "j" + bad + "Invalid status item\r\n");
  EXPECT_EQ(Run("k LIST \"\" % RETURN (STATUS (MESSAGES) STATUS (UNSEEN))\r\n", "k"),
            "k" + bad + "Unknown LIST return option\r\n");
}

// ---- LIST-STATUS (RFC 5819) -------------------------------------------------

TEST_F(MailboxesTest, Rfc5819Example) {
  Login();
  Ok("CREATE foo");
  Ok("CREATE bar/baz");
  Ok("DELETE bar");
  Deliver();
  Deliver("INBOX", {storage::kFlagSeen, {}});
  Deliver("foo");
  EXPECT_EQ(Run("A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n", "A01"),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
            "* STATUS INBOX (MESSAGES 2 UNSEEN 1)\r\n"
            "* LIST (\\NonExistent \\HasChildren) \"/\" bar\r\n"
            "* LIST (\\HasNoChildren) \"/\" foo\r\n"
            "* STATUS foo (MESSAGES 1 UNSEEN 1)\r\n"
            "A01 OK List completed.\r\n");
  // With a selection option, and every item of STATUS.
  Ok("SUBSCRIBE foo");
  EXPECT_EQ(
      Run("A02 LIST (SUBSCRIBED) \"\" * RETURN (STATUS (SIZE RECENT DELETED UIDNEXT))\r\n", "A02"),
      "* LIST (\\Subscribed \\HasNoChildren) \"/\" INBOX\r\n"
      "* STATUS INBOX (SIZE 120 RECENT 2 DELETED 0 UIDNEXT 3)\r\n"
      "* LIST (\\Subscribed \\HasNoChildren) \"/\" foo\r\n"
      "* STATUS foo (SIZE 60 RECENT 1 DELETED 0 UIDNEXT 2)\r\n"
      "A02 OK List completed.\r\n");
}

// ---- STATUS=SIZE (RFC 8438), DELETED, DELETED-STORAGE ----------------------

TEST_F(MailboxesTest, StatusSizeAndDeleted) {
  Login();
  Deliver();
  Deliver("INBOX", {storage::kFlagDeleted, {}});
  Deliver("INBOX", {storage::kFlagDeleted | storage::kFlagSeen, {}});
  EXPECT_EQ(Run("a STATUS INBOX (MESSAGES SIZE DELETED DELETED-STORAGE)\r\n", "a"),
            "* STATUS INBOX (MESSAGES 3 SIZE 180 DELETED 2 DELETED-STORAGE 1)\r\n"
            "a OK Status completed.\r\n");
  EXPECT_EQ(Run("b STATUS INBOX (size)\r\n", "b"),
            "* STATUS INBOX (SIZE 180)\r\nb OK Status completed.\r\n");
  EXPECT_EQ(Run("c STATUS INBOX ()\r\n", "c"),
            "c BAD Error in IMAP command STATUS: Expected mailbox name and status items\r\n");
}

TEST_F(MailboxesTest, ProfileTurnsItemsOff) {
  Login("-STATUS=SIZE -LIST-STATUS -QUOTA -CREATE-SPECIAL-USE");
  EXPECT_EQ(Run("a STATUS INBOX (SIZE)\r\n", "a"),
            "a BAD Error in IMAP command STATUS: Invalid status item\r\n");
  EXPECT_EQ(Run("b STATUS INBOX (DELETED-STORAGE)\r\n", "b"),
            "b BAD Error in IMAP command STATUS: Invalid status item\r\n");
  EXPECT_EQ(Run("c LIST \"\" % RETURN (STATUS (MESSAGES))\r\n", "c"),
            "c BAD Error in IMAP command LIST: Unknown LIST return option\r\n");
  EXPECT_EQ(Run("d GETQUOTAROOT INBOX\r\n", "d"),
            "d BAD Error in IMAP command GETQUOTAROOT: Unknown command.\r\n");
  EXPECT_EQ(Run("e CREATE Sent (USE (\\Sent))\r\n", "e"),
            "e BAD Error in IMAP command CREATE: Invalid CREATE parameters\r\n");
}

// ---- CREATE-SPECIAL-USE (RFC 6154 section 3) ---------------------------------

TEST_F(MailboxesTest, CreateSpecialUse) {
  Login();
  // The RFC's examples.
  EXPECT_EQ(Run("t1 CREATE \"Important Messages\" (USE (\\Important))\r\n", "t1"),
            "t1 NO [USEATTR] Unsupported special-use attribute.\r\n");
  EXPECT_EQ(Run("t2 CREATE MySpecialArchive (USE (\\Archive))\r\n", "t2"),
            "t2 OK [MAILBOXID (F7)] Create completed.\r\n");
  EXPECT_EQ(
      Run("t3 LIST \"\" MySpecial* RETURN (SPECIAL-USE)\r\n", "t3"),
      "* LIST (\\HasNoChildren \\Archive) \"/\" MySpecialArchive\r\nt3 OK List completed.\r\n");
  EXPECT_EQ(Run("t4 CREATE Both (USE (\\Sent \\Drafts))\r\n", "t4"),
            "t4 NO [USEATTR] A mailbox can have only one special use.\r\n");
  EXPECT_EQ(Run("t5 CREATE All (USE (\\All))\r\n", "t5"),
            "t5 NO [USEATTR] Unsupported special-use attribute.\r\n");
  EXPECT_EQ(Run("t6 CREATE Plain (USE ())\r\n", "t6"),
            "t6 OK [MAILBOXID (F8)] Create completed.\r\n");
  EXPECT_EQ(Run("t7 CREATE X (USE (Sent))\r\n", "t7"),
            "t7 BAD Error in IMAP command CREATE: Invalid special-use attribute\r\n");
  EXPECT_EQ(Run("t8 CREATE X (USE \\Sent)\r\n", "t8"),
            "t8 BAD Error in IMAP command CREATE: Invalid CREATE parameters\r\n");
  EXPECT_EQ(Run("t9 CREATE X (FOO (\\Sent))\r\n", "t9"),
            "t9 BAD Error in IMAP command CREATE: Invalid CREATE parameters\r\n");
  EXPECT_EQ(Run("u1 LIST \"\" X\r\n", "u1"), "u1 OK List completed.\r\n");
}

// ---- QUOTA (RFC 9208) ------------------------------------------------------

TEST_F(MailboxesTest, Rfc9208Examples) {
  SetQuota(512 * 1024, 1000);
  Login();
  Deliver();
  EXPECT_EQ(Run("A003 GETQUOTAROOT INBOX\r\n", "A003"),
            "* QUOTAROOT INBOX \"\"\r\n"
            "* QUOTA \"\" (STORAGE 1 512 MESSAGE 1 1000)\r\n"
            "A003 OK Getquotaroot completed.\r\n");
  EXPECT_EQ(Run("G0002 GETQUOTA \"\"\r\n", "G0002"),
            "* QUOTA \"\" (STORAGE 1 512 MESSAGE 1 1000)\r\nG0002 OK Getquota completed.\r\n");
  EXPECT_EQ(Run("G0003 GETQUOTA \"!partition.sda4\"\r\n", "G0003"),
            "G0003 NO [NONEXISTENT] No such quota root.\r\n");
  EXPECT_EQ(Run("S0000 SETQUOTA \"\" (STORAGE 512)\r\n", "S0000"),
            "S0000 NO [NOPERM] Quotas are set by the administrator.\r\n");
  EXPECT_EQ(Run("S0001 SETQUOTA \"\" (STORAGE 512 MESSAGE)\r\n", "S0001"),
            "S0001 BAD Error in IMAP command SETQUOTA: Expected a quota root and a list of "
            "resource limits\r\n");
  EXPECT_EQ(Run("S0002 SETQUOTA \"\" (STORAGE x)\r\n", "S0002"),
            "S0002 BAD Error in IMAP command SETQUOTA: Invalid resource limit\r\n");
  EXPECT_EQ(Run("S0003 SETQUOTA \"\"\r\n", "S0003"),
            "S0003 BAD Error in IMAP command SETQUOTA: Expected a quota root and a list of "
            "resource limits\r\n");
  EXPECT_EQ(Run("A004 GETQUOTAROOT Nope\r\n", "A004"),
            "A004 NO [NONEXISTENT] Mailbox doesn't exist: Nope\r\n");
  EXPECT_EQ(Run("A005 GETQUOTAROOT\r\n", "A005"),
            "A005 BAD Error in IMAP command GETQUOTAROOT: Expected a mailbox name\r\n");
  EXPECT_EQ(Run("A006 GETQUOTA\r\n", "A006"),
            "A006 BAD Error in IMAP command GETQUOTA: Expected a quota root\r\n");
}

TEST_F(MailboxesTest, QuotaOnlyTheLimitedResources) {
  Login();
  // No limit at all: no quota root.
  EXPECT_EQ(Run("a GETQUOTAROOT INBOX\r\n", "a"),
            "* QUOTAROOT INBOX\r\na OK Getquotaroot completed.\r\n");
  EXPECT_EQ(Run("b GETQUOTA \"\"\r\n", "b"), "b NO [NONEXISTENT] No such quota root.\r\n");
  // The limit is read at each command, not at login.
  SetQuota(0, 10);
  EXPECT_EQ(Run("c GETQUOTA \"\"\r\n", "c"),
            "* QUOTA \"\" (MESSAGE 0 10)\r\nc OK Getquota completed.\r\n");
  SetQuota(1536, 0);
  Deliver();
  EXPECT_EQ(Run("d GETQUOTA \"\"\r\n", "d"),
            "* QUOTA \"\" (STORAGE 1 2)\r\nd OK Getquota completed.\r\n");
}

TEST_F(MailboxesTest, OverQuotaOnAppendAndCopy) {
  SetQuota(0, 1);
  Login();
  Deliver();
  EXPECT_EQ(Run("a APPEND INBOX {5+}\r\nHi.\r\n\r\n", "a"),
            "* QUOTA \"\" (MESSAGE 1 1)\r\n"
            "a NO [OVERQUOTA] Quota exceeded (mailbox for user is full).\r\n");
  Ok("CREATE Other");
  Run("s SELECT INBOX\r\n", "s");
  EXPECT_EQ(Run("b COPY 1 Other\r\n", "b"),
            "* QUOTA \"\" (MESSAGE 1 1)\r\n"
            "b NO [OVERQUOTA] Quota exceeded (mailbox for user is full).\r\n");
  // MOVE adds nothing: allowed.
  EXPECT_TRUE(Run("c MOVE 1 Other\r\n", "c").find("c OK") != std::string::npos);
}

}  // namespace
}  // namespace pillarbox::imap
