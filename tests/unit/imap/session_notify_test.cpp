// NOTIFY (RFC 5465) transcripts: the command's syntax and refusals, the
// STATUS indicator, notifications between commands for the selected mailbox
// (SELECTED, SELECTED-DELAYED) and for others (STATUS, LIST), the client's
// own changes not told back, NOTIFY NONE and [NOTIFICATIONOVERFLOW]. Most
// are the RFC's examples adapted to our namespace ("/" delimiter).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "protocols/imap/imap_session.h"
#include "protocols/imap/notify.h"
#include "tests/support/test_support.h"
#include "tests/unit/imap/session_fixture.h"

namespace pillarbox::imap {
namespace {

using pillarbox::testing::FakeOutput;
using pillarbox::testing::FakeTimers;
using pillarbox::testing::StoreFixture;

const char kMsg[] =
    "From: alice@example.org\r\n"
    "To: bob@example.org\r\n"
    "Subject: Re: good morning\r\n"
    "\r\n"
    "Hi.\r\n";

// A FakeOutput that can count everything written as still queued, like a
// client that does not read.
struct TestOutput : FakeOutput {
  bool count_written = false;
  std::size_t QueuedBytes() const override {
    return count_written ? written().size() : FakeOutput::QueuedBytes();
  }
};

using Client = session_test::BasicClient<TestOutput>;

class NotifyTest : public session_test::SessionFixture {
 protected:
  NotifyTest() {
    config_.limits.max_bad_commands = 100;  // the syntax tests send many
  }

  std::unique_ptr<Client> LoggedIn() {
    auto c = Connect<Client>();
    std::string r = Run(*c, "L LOGIN joe secret\r\n", "L");
    EXPECT_NE(r.find("L OK [CAPABILITY"), std::string::npos) << r;
    EXPECT_NE(r.find(" NOTIFY"), std::string::npos) << r;
    return c;
  }

  // Runs a command that must succeed; returns its untagged output.
  std::string Ok(Client& c, const std::string& command) {
    std::string r = Run(c, "x " + command + "\r\n", "x");
    std::size_t at = r.rfind("x OK");
    EXPECT_NE(at, std::string::npos) << command << ": " << r;
    return at == std::string::npos ? r : r.substr(0, at);
  }

  storage::Uid Deliver(const std::string& mailbox = "INBOX") {
    auto r = fx_.Deliver(user_.id, kMsg, mailbox);
    fx_.RunPending();
    return r.uid;
  }

  std::string Validity(const std::string& name) {
    return std::to_string(Mailbox(name).uidvalidity);
  }
};

const char kBadEvent[] =
    "NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] ";

TEST_F(NotifyTest, SyntaxErrorsAreBadAndUnsupportedEventsAreBadEvent) {
  auto c = LoggedIn();
  struct Case {
    const char* args;
    const char* reply;  // prefix
  } cases[] = {
      {"", "a BAD"},
      {" FOO", "a BAD"},
      {" NONE x", "a BAD"},
      {" SET", "a BAD"},
      {" SET STATUS", "a BAD"},
      {" SET (selected)", "a BAD"},
      {" SET (selected (MessageNew))", "a BAD"},      // without MessageExpunge
      {" SET (selected (MessageExpunge))", "a BAD"},  // without MessageNew
      {" SET (personal (FlagChange))", "a BAD"},      // needs both
      {" SET (selected (MailboxName))", "a BAD"},     // not a message event
      {" SET (selected (MessageNew MessageExpunge)) (selected-delayed NONE)", "a BAD"},
      {" SET (personal (MessageNew (UID) MessageExpunge))", "a BAD"},  // fetch-att: SELECTED only
      {" SET (selected (MessageNew (FOO) MessageExpunge))", "a BAD"},
      {" SET (somewhere (MessageNew MessageExpunge))", "a BAD"},
      {" SET (subtree (MessageNew MessageExpunge))", "a BAD"},
      {" SET (mailboxes () (MessageNew MessageExpunge))", "a BAD"},
      {" SET (personal ())", "a BAD"},
      {" SET (personal NONE) x", "a BAD"},
      {" SET (personal (AnnotationChange MessageNew MessageExpunge))", "a NO [BADEVENT"},
      {" SET (personal (MailboxMetadataChange))", "a NO [BADEVENT"},
      {" SET (personal (ServerMetadataChange))", "a NO [BADEVENT"},
      {" SET (personal (SomeFutureEvent))", "a NO [BADEVENT"},
  };
  for (const Case& k : cases) {
    std::string r = Run(*c, std::string("a NOTIFY") + k.args + "\r\n", "a");
    EXPECT_TRUE(r.starts_with(k.reply)) << k.args << ": " << r;
  }
  EXPECT_EQ(Run(*c, "b NOTIFY SET (personal (MailboxMetadataChange))\r\n", "b"),
            std::string("b ") + kBadEvent + "Unsupported event: MailboxMetadataChange\r\n");
  // Case does not matter; NONE events are fine.
  EXPECT_EQ(
      Run(*c, "c notify set (selected-delayed (messagenew messageexpunge flagchange))\r\n", "c"),
      "c OK NOTIFY completed.\r\n");
  EXPECT_EQ(Run(*c, "d NOTIFY SET (personal NONE)\r\n", "d"), "d OK NOTIFY completed.\r\n");
  EXPECT_EQ(Run(*c, "e NOTIFY NONE\r\n", "e"), "e OK NOTIFY completed.\r\n");
}

TEST_F(NotifyTest, TurnedOffByTheProfileItIsAnUnknownCommand) {
  config_.imap.capabilities = "-NOTIFY";
  protocols::ConnectionInfo info;
  info.peer_ip = "127.0.0.1";
  info.loopback = true;
  Client c(ctx_, info);
  c.session->Start();
  EXPECT_EQ(c.out.Take().find("NOTIFY"), std::string::npos);
  std::string r = Run(c, "L LOGIN joe secret\r\n", "L");
  EXPECT_EQ(r.find("NOTIFY"), std::string::npos) << r;
  EXPECT_EQ(Run(c, "a NOTIFY NONE\r\n", "a"),
            "a BAD Error in IMAP command NOTIFY: Unknown command.\r\n");
}

// RFC 5465 3.1's example (with its event lists in parentheses, as the
// grammar has them).
TEST_F(NotifyTest, RfcExampleStatusIndicatorThenPushedUpdates) {
  auto b = LoggedIn();
  Ok(*b, "CREATE Lists/Lemonade");
  Ok(*b, "CREATE Lists/Im2000");
  Ok(*b, "CREATE misc");
  Deliver("Lists/Lemonade");
  auto a = LoggedIn();
  EXPECT_EQ(Run(*a,
                "b notify set status (selected (MessageNew (uid "
                "body.peek[header.fields (from to subject)]) MessageExpunge)) "
                "(subtree Lists (MessageNew MessageExpunge))\r\n",
                "b"),
            "* STATUS Lists (MESSAGES 0 UIDNEXT 1 UIDVALIDITY " + Validity("Lists") +
                ")\r\n"
                "* STATUS Lists/Lemonade (MESSAGES 1 UIDNEXT 2 UIDVALIDITY " +
                Validity("Lists/Lemonade") +
                ")\r\n"
                "* STATUS Lists/Im2000 (MESSAGES 0 UIDNEXT 1 UIDVALIDITY " +
                Validity("Lists/Im2000") +
                ")\r\n"
                "b OK NOTIFY completed.\r\n");
  Ok(*a, "SELECT INBOX");
  // Time passes. A new message is delivered to Lists/Lemonade: told at
  // once, with no command running.
  Deliver("Lists/Lemonade");
  EXPECT_EQ(a->out.Take(), "* STATUS Lists/Lemonade (MESSAGES 2 UIDNEXT 3)\r\n");
  // A new message is delivered to INBOX.
  storage::Uid uid = Deliver("INBOX");
  EXPECT_EQ(a->out.Take(), "* 1 EXISTS\r\n* 1 RECENT\r\n* 1 FETCH (UID " + std::to_string(uid) +
                               " BODY[HEADER.FIELDS (from to subject)] {75}\r\n"
                               "From: alice@example.org\r\n"
                               "To: bob@example.org\r\n"
                               "Subject: Re: good morning\r\n"
                               "\r\n)\r\n");
  // misc is not watched.
  Deliver("misc");
  EXPECT_EQ(a->out.Take(), "");
  // The client adds misc after asking its STATUS itself: no STATUS with
  // NOTIFY SET without the indicator.
  EXPECT_EQ(Run(*a, "d STATUS misc (UIDVALIDITY UIDNEXT MESSAGES)\r\n", "d"),
            "* STATUS misc (UIDVALIDITY " + Validity("misc") +
                " UIDNEXT 2 MESSAGES 1)\r\nd OK Status completed.\r\n");
  EXPECT_EQ(Run(*a,
                "e notify set (selected (MessageNew (uid "
                "body.peek[header.fields (from to subject)]) MessageExpunge)) "
                "(subtree Lists (MessageNew MessageExpunge)) "
                "(mailboxes misc (MessageNew MessageExpunge))\r\n",
                "e"),
            "e OK NOTIFY completed.\r\n");
  Deliver("misc");
  EXPECT_EQ(a->out.Take(), "* STATUS misc (MESSAGES 2 UIDNEXT 3)\r\n");
  // An expunge elsewhere (session b): STATUS with the new count.
  Ok(*b, "SELECT misc");
  Ok(*b, "STORE 1 +FLAGS (\\Deleted)");
  EXPECT_EQ(a->out.Take(), "");  // no FlagChange asked for misc
  Ok(*b, "EXPUNGE");
  EXPECT_EQ(a->out.Take(), "* STATUS misc (MESSAGES 1 UIDNEXT 3)\r\n");
}

// The imaptest "notify" script: the STATUS items each event asks for.
TEST_F(NotifyTest, StatusIndicatorItemsFollowTheEvents) {
  auto a = LoggedIn();
  Ok(*a, "CREATE box2");
  Ok(*a, "APPEND box2 {5+}\r\nHi.\r\n");
  const std::string v = Validity("box2");
  EXPECT_EQ(Ok(*a, "NOTIFY SET STATUS (mailboxes box2 (MessageNew MessageExpunge))"),
            "* STATUS box2 (MESSAGES 1 UIDNEXT 2 UIDVALIDITY " + v + ")\r\n");
  EXPECT_EQ(Ok(*a, "NOTIFY SET STATUS (mailboxes box2 (MessageNew MessageExpunge FlagChange))"),
            "* STATUS box2 (MESSAGES 1 UIDNEXT 2 UIDVALIDITY " + v + " HIGHESTMODSEQ " +
                std::to_string(Mailbox("box2").highest_modseq) + ")\r\n");
  EXPECT_EQ(Ok(*a, "NOTIFY SET (mailboxes box2 (MessageNew MessageExpunge FlagChange))"), "");
  // A name that is no mailbox is ignored (RFC 5465 3.1).
  EXPECT_EQ(Ok(*a, "NOTIFY SET STATUS (mailboxes (nosuch box2) (MessageNew MessageExpunge))"),
            "* STATUS box2 (MESSAGES 1 UIDNEXT 2 UIDVALIDITY " + v + ")\r\n");
}

TEST_F(NotifyTest, SelectedPushesExpungesAtOnceSelectedDelayedWaitsForACommand) {
  Deliver();
  Deliver();
  Deliver();
  auto a = LoggedIn();
  auto b = LoggedIn();
  Ok(*a, "SELECT INBOX");
  Ok(*b, "SELECT INBOX");
  Ok(*a, "NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))");
  Ok(*b, "STORE 1 +FLAGS.SILENT (\\Deleted)");
  EXPECT_EQ(a->out.Take(), "* 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent))\r\n");  // 5.1: with UID
  Ok(*b, "EXPUNGE");
  EXPECT_EQ(a->out.Take(), "* 1 EXPUNGE\r\n");

  Ok(*a, "NOTIFY SET (selected-delayed (MessageNew MessageExpunge))");
  Ok(*b, "STORE 1 +FLAGS.SILENT (\\Deleted)");
  a->out.Take();  // the flag change may come at once
  Ok(*b, "EXPUNGE");
  EXPECT_EQ(a->out.Take(), "");  // held back
  Deliver();
  EXPECT_TRUE(a->out.Take().starts_with("* 3 EXISTS\r\n"));  // new messages may come at once
  EXPECT_EQ(Run(*a, "f FETCH 2 UID\r\n", "f"),
            "* 2 FETCH (UID 3)\r\nf OK Fetch completed.\r\n");  // no EXPUNGE during FETCH
  EXPECT_EQ(Run(*a, "n NOOP\r\n", "n"), "* 1 EXPUNGE\r\nn OK NOOP completed.\r\n");

  // Without SELECTED the selected mailbox is told about only at commands.
  Ok(*a, "NOTIFY SET (personal (MessageNew MessageExpunge))");
  Deliver();
  EXPECT_EQ(a->out.Take(), "");
  std::string r = Run(*a, "n NOOP\r\n", "n");
  EXPECT_TRUE(r.starts_with("* 3 EXISTS\r\n")) << r;
}

TEST_F(NotifyTest, OwnAppendIsNotToldBack) {
  auto a = LoggedIn();
  Ok(*a, "CREATE other");
  Ok(*a, "SELECT INBOX");
  Ok(*a,
     "NOTIFY SET (selected (MessageNew (UID) MessageExpunge)) "
     "(personal (MessageNew MessageExpunge))");
  // Into the selected mailbox: EXISTS with the answer, no FETCH.
  std::string r = Run(*a, "p APPEND INBOX {5+}\r\nHi.\r\n\r\n", "p");
  EXPECT_TRUE(r.starts_with("* 1 EXISTS\r\n* 1 RECENT\r\np OK [APPENDUID")) << r;
  fx_.RunPending();
  EXPECT_EQ(a->out.Take(), "");
  // Into another: no STATUS.
  r = Run(*a, "q APPEND other {5+}\r\nHi.\r\n\r\n", "q");
  EXPECT_TRUE(r.starts_with("q OK [APPENDUID")) << r;
  fx_.RunPending();
  EXPECT_EQ(a->out.Take(), "");
  // Someone else's delivery is told.
  Deliver("other");
  EXPECT_EQ(a->out.Take(), "* STATUS other (MESSAGES 2 UIDNEXT 3)\r\n");
  storage::Uid uid = Deliver("INBOX");
  EXPECT_EQ(a->out.Take(),
            "* 2 EXISTS\r\n* 2 RECENT\r\n* 2 FETCH (UID " + std::to_string(uid) + ")\r\n");
}

TEST_F(NotifyTest, MailboxNameAndSubscriptionChangeAsList) {
  auto a = LoggedIn();
  auto b = LoggedIn();
  Ok(*a, "NOTIFY SET (personal (MailboxName SubscriptionChange))");
  Ok(*b, "CREATE NewMailbox");
  EXPECT_EQ(a->out.Take(), "* LIST (\\HasNoChildren) \"/\" NewMailbox\r\n");
  Ok(*b, "CREATE NewMailbox/Child");
  EXPECT_EQ(a->out.Take(), "* LIST (\\HasNoChildren) \"/\" NewMailbox/Child\r\n");
  // A rename carries its children: one LIST, with OLDNAME.
  Ok(*b, "RENAME NewMailbox Renamed");
  EXPECT_EQ(a->out.Take(), "* LIST (\\HasChildren) \"/\" Renamed (\"OLDNAME\" (NewMailbox))\r\n");
  Ok(*b, "SUBSCRIBE Renamed");
  EXPECT_EQ(a->out.Take(), "* LIST (\\Subscribed \\HasChildren) \"/\" Renamed\r\n");
  Ok(*b, "UNSUBSCRIBE Renamed");
  EXPECT_EQ(a->out.Take(), "* LIST (\\HasChildren) \"/\" Renamed\r\n");
  Ok(*b, "DELETE Renamed/Child");
  EXPECT_EQ(a->out.Take(), "* LIST (\\NonExistent \\HasNoChildren) \"/\" Renamed/Child\r\n");
  // The client's own changes are not told back.
  EXPECT_EQ(Ok(*a, "CREATE Mine"), "");
  EXPECT_EQ(Ok(*a, "SUBSCRIBE Mine"), "");
  EXPECT_EQ(Ok(*a, "RENAME Mine Yours"), "");
  EXPECT_EQ(Ok(*a, "DELETE Yours"), "");
  fx_.RunPending();
  EXPECT_EQ(a->out.Take(), "");
  // Only MailboxName: subscriptions are not told.
  Ok(*a, "NOTIFY SET (subtree Renamed (MailboxName))");
  Ok(*b, "SUBSCRIBE Renamed");
  Ok(*b, "CREATE Elsewhere");
  EXPECT_EQ(a->out.Take(), "");
  Ok(*b, "CREATE Renamed/Again");
  EXPECT_EQ(a->out.Take(), "* LIST (\\HasNoChildren) \"/\" Renamed/Again\r\n");
}

TEST_F(NotifyTest, FlagChangeElsewhereTellsUnseenAndWithCondstoreHighestModSeq) {
  auto a = LoggedIn();
  auto b = LoggedIn();
  Ok(*b, "CREATE box");
  Deliver("box");
  Ok(*a, "NOTIFY SET (mailboxes box (MessageNew MessageExpunge FlagChange))");
  Ok(*b, "SELECT box");
  Ok(*b, "STORE 1 +FLAGS.SILENT (\\Seen)");
  EXPECT_EQ(a->out.Take(), "* STATUS box (UNSEEN 0)\r\n");
  Ok(*b, "STORE 1 +FLAGS.SILENT (\\Flagged)");
  EXPECT_EQ(a->out.Take(), "");  // nothing to tell without CONDSTORE
  Ok(*a, "ENABLE CONDSTORE");
  Ok(*b, "STORE 1 -FLAGS.SILENT (\\Seen)");
  EXPECT_EQ(a->out.Take(), "* STATUS box (UIDVALIDITY " + Validity("box") +
                               " UNSEEN 1 HIGHESTMODSEQ " +
                               std::to_string(Mailbox("box").highest_modseq) + ")\r\n");
}

TEST_F(NotifyTest, IdleAndNoneAndNotificationsWaitForTheCommand) {
  auto a = LoggedIn();
  auto b = LoggedIn();
  Ok(*b, "CREATE box");
  Ok(*a, "NOTIFY SET (personal (MessageNew MessageExpunge))");
  // During IDLE: the same events.
  EXPECT_EQ(Run(*a, "i IDLE\r\n", "+"), "+ idling\r\n");
  Deliver("box");
  EXPECT_EQ(a->out.Take(), "* STATUS box (MESSAGES 1 UIDNEXT 2)\r\n");
  EXPECT_EQ(Run(*a, "DONE\r\n", "i"), "i OK Idle completed.\r\n");
  // A command that waits for the store: the notification comes before its
  // tagged answer, never inside another response.
  a->session->OnInput("c CREATE other\r\n");
  Deliver("box");
  fx_.RunUntil([&] { return a->out.written().find("c OK") != std::string::npos; });
  fx_.RunPending();
  std::string r = a->out.Take();
  EXPECT_NE(r.find("* STATUS box (MESSAGES 2 UIDNEXT 3)\r\n"), std::string::npos) << r;
  EXPECT_EQ(Ok(*a, "NOTIFY NONE"), "");
  Deliver("box");
  EXPECT_EQ(a->out.Take(), "");
}

TEST_F(NotifyTest, ClientThatDoesNotReadGetsNotificationOverflow) {
  config_.limits.output_high_water = 64;
  auto a = LoggedIn();
  Ok(*a, "CREATE box");
  Ok(*a, "NOTIFY SET (personal (MessageNew MessageExpunge))");
  a->out.count_written = true;  // nothing written from now on is read
  // Changes wait (coalesced) while the client does not read...
  // (two lines go out before the 64 bytes are reached).
  for (int i = 0; i < 10; ++i) Deliver("box");
  const std::string two =
      "* STATUS box (MESSAGES 1 UIDNEXT 2)\r\n* STATUS box (MESSAGES 2 UIDNEXT 3)\r\n";
  EXPECT_EQ(a->out.written(), two);
  a->out.count_written = false;
  a->session->OnDrained();
  EXPECT_EQ(a->out.Take(), two + "* STATUS box (MESSAGES 10 UIDNEXT 11)\r\n");
  // ... but not forever.
  a->out.count_written = true;
  for (int i = 0; i < kNotifyMaxDeferred + 2; ++i) Deliver("box");
  std::string w = a->out.Take();
  EXPECT_NE(w.find("* OK [NOTIFICATIONOVERFLOW]"), std::string::npos) << w;
  EXPECT_LT(w.size(), 1000u);
  a->out.count_written = false;
  Deliver("box");
  EXPECT_EQ(a->out.Take(), "");  // as after NOTIFY NONE
}

static_assert(CmdExtension(kCmdNeeds(config::kImapNotify)) == config::kImapNotify,
              "an extension bit above 31 survives the command table");

}  // namespace
}  // namespace pillarbox::imap
