// IMAP session transcripts against a store in a temporary directory.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "protocols/faults.h"
#include "protocols/imap/imap_format.h"
#include "protocols/imap/imap_session.h"
#include "tests/support/test_support.h"
#include "tests/unit/imap/session_fixture.h"

namespace pillarbox::imap {
namespace {

using pillarbox::testing::FakeOutput;
using pillarbox::testing::FakeTimers;
using pillarbox::testing::StoreFixture;

const char kMsg1[] =
    "From: Alice <alice@example.com>\r\n"
    "To: joe@example.com\r\n"
    "Subject: Hello\r\n"
    "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
    "\r\n"
    "Hi Joe.\r\n";
const char kMsg2[] =
    "From: Bob <bob@example.com>\r\n"
    "Subject: Lunch\r\n"
    "\r\n"
    "Noon?\r\n";

const char kPreCaps[] = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN";
const char kPostCaps[] =
    "IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN UIDPLUS MOVE "
    "SPECIAL-USE "
    "LIST-EXTENDED LIST-STATUS STATUS=SIZE CREATE-SPECIAL-USE QUOTA QUOTA=RES-STORAGE "
    "QUOTA=RES-MESSAGE CONDSTORE QRESYNC ESEARCH SEARCHRES PARTIAL CONTEXT=SEARCH MULTIAPPEND "
    "BINARY CATENATE SORT SORT=DISPLAY ESORT THREAD=REFERENCES THREAD=ORDEREDSUBJECT CONTEXT=SORT "
    "COMPRESS=DEFLATE UTF8=ACCEPT SAVEDATE OBJECTID NOTIFY";

// A FakeOutput whose queue can be made to hold everything written since the
// last Take(), like a socket that does not drain.
struct TestOutput : FakeOutput {
  bool count_written = false;
  std::size_t QueuedBytes() const override {
    return count_written ? written().size() : FakeOutput::QueuedBytes();
  }
};

// One client connection.
using Client = session_test::BasicClient<TestOutput>;

class ImapSessionTest : public session_test::SessionFixture {
 protected:
  ImapSessionTest() {
    config_.auth.failure_delay = std::chrono::milliseconds(0);
    config_.auth.max_failure_delay = std::chrono::milliseconds(0);
  }

  protocols::ConnectionInfo Loopback() {
    protocols::ConnectionInfo info;
    info.peer_ip = "127.0.0.1";
    info.loopback = true;
    return info;
  }

  std::unique_ptr<Client> Connect(protocols::ConnectionInfo info) {
    auto c = std::make_unique<Client>(ctx_, std::move(info));
    c->session->Start();
    return c;
  }
  std::unique_ptr<Client> Connect() { return Connect(Loopback()); }

  // The capabilities after login: kPostCaps and the configured APPENDLIMIT.
  std::string PostCaps() const {
    return std::string(kPostCaps) +
           " APPENDLIMIT=" + std::to_string(config_.limits.max_message_size);
  }

  std::unique_ptr<Client> LoggedIn() {
    auto c = Connect();
    c->out.Take();
    std::string r = Run(*c, "L LOGIN joe secret\r\n", "L");
    EXPECT_EQ(r, "L OK [CAPABILITY " + PostCaps() + "] Logged in\r\n");
    return c;
  }

  std::string SelectReply(const std::string& tag, const std::string& name, std::size_t exists,
                          std::size_t recent, std::size_t first_unseen, bool read_only = false,
                          const std::string& keywords = "") {
    auto mb = Mailbox(name);
    std::string r = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + keywords + ")\r\n";
    if (read_only) {
      r += "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n";
    } else {
      r += "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + keywords +
           " \\*)] Flags permitted.\r\n";
    }
    r += "* " + std::to_string(exists) + " EXISTS\r\n";
    r += "* " + std::to_string(recent) + " RECENT\r\n";
    if (first_unseen) r += "* OK [UNSEEN " + std::to_string(first_unseen) + "] First unseen.\r\n";
    r += "* OK [UIDVALIDITY " + std::to_string(mb.uidvalidity) + "] UIDs valid\r\n";
    r += "* OK [UIDNEXT " + std::to_string(mb.uidnext) + "] Predicted next UID\r\n";
    r += "* OK [MAILBOXID (F" + std::to_string(mb.id) + ")] Ok\r\n";
    r += tag + (read_only ? " OK [READ-ONLY] Examine completed.\r\n"
                          : " OK [READ-WRITE] Select completed.\r\n");
    return r;
  }

  // CREATE's answer: OBJECTID names the new mailbox (RFC 8474 4.1).
  // Empty when `got` is that answer, else the difference.
  std::string Created(const std::string& tag, const std::string& name, const std::string& got) {
    std::string want =
        tag + " OK [MAILBOXID (F" + std::to_string(Mailbox(name).id) + ")] Create completed.\r\n";
    return got == want ? "" : got + " != " + want;
  }

  storage::Uid Deliver(const std::string& bytes, const std::string& mailbox = "INBOX",
                       storage::Flags flags = {}) {
    auto r = fx_.Deliver(user_.id, bytes, mailbox, std::move(flags));
    fx_.RunPending();
    return r.uid;
  }
};

// ---- greeting, capability, login -------------------------------------------

TEST_F(ImapSessionTest, GreetingAndCapability) {
  auto c = Connect();
  EXPECT_EQ(c->out.Take(), std::string("* OK [CAPABILITY ") + kPreCaps + "] Pillarbox ready.\r\n");
  EXPECT_EQ(Run(*c, "a CAPABILITY\r\n", "a"),
            std::string("* CAPABILITY ") + kPreCaps + "\r\na OK Capability completed.\r\n");
  EXPECT_EQ(Run(*c, "b NOOP\r\n", "b"), "b OK NOOP completed.\r\n");
  EXPECT_EQ(Run(*c, "c LOGOUT\r\n", "c"), "* BYE Logging out\r\nc OK Logout completed.\r\n");
  EXPECT_TRUE(c->out.closed());
}

TEST_F(ImapSessionTest, StartTlsAdvertisedAndLoginDisabledWithoutTls) {
  protocols::ConnectionInfo info;
  info.peer_ip = "192.0.2.7";
  info.tls_available = true;
  auto c = Connect(info);
  EXPECT_EQ(c->out.Take(),
            "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS "
            "LOGINDISABLED] "
            "Pillarbox ready.\r\n");
  EXPECT_EQ(Run(*c, "a LOGIN joe secret\r\n", "a"),
            "a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) "
            "connections.\r\n");
  EXPECT_EQ(Run(*c, "b AUTHENTICATE PLAIN\r\n", "b"),
            "b NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) "
            "connections.\r\n");
  // STARTTLS: plaintext pipelined after it is dropped.
  EXPECT_EQ(Send(*c, "c STARTTLS\r\nd LOGIN joe secret\r\n"),
            "c OK Begin TLS negotiation now.\r\n");
  EXPECT_TRUE(c->out.tls_started());
  c->info.tls_active = true;
  c->session->OnTlsEstablished();
  EXPECT_EQ(Run(*c, "e CAPABILITY\r\n", "e"),
            "* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN "
            "AUTH=LOGIN\r\n"
            "e OK Capability completed.\r\n");
  EXPECT_EQ(Run(*c, "f STARTTLS\r\n", "f"), "f BAD TLS is already active.\r\n");
  EXPECT_EQ(Run(*c, "g LOGIN joe secret\r\n", "g"),
            "g OK [CAPABILITY " + PostCaps() + "] Logged in\r\n");
}

TEST_F(ImapSessionTest, StartTlsUnavailable) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Run(*c, "a STARTTLS\r\n", "a"), "a BAD TLS support isn't enabled.\r\n");
}

TEST_F(ImapSessionTest, LoginFailureIsDelayedByTheThrottle) {
  config_.auth.failure_delay = std::chrono::milliseconds(2000);
  config_.auth.max_failure_delay = std::chrono::milliseconds(15000);
  auto c = Connect();
  c->out.Take();
  c->session->OnInput("a LOGIN joe wrong\r\n");
  fx_.RunUntil([&] { return timers_.pending() > 0; });
  EXPECT_EQ(c->out.Take(), "");
  timers_.Advance(std::chrono::milliseconds(1999));
  EXPECT_EQ(c->out.Take(), "");
  timers_.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(c->out.Take(), "a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
  // The session goes on.
  EXPECT_EQ(Run(*c, "b LOGIN joe secret\r\n", "b"),
            "b OK [CAPABILITY " + PostCaps() + "] Logged in\r\n");
}

TEST_F(ImapSessionTest, LoginUnknownUser) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Run(*c, "a LOGIN nobody secret\r\n", "a"),
            "a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
}

TEST_F(ImapSessionTest, LoginWithLiterals) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Send(*c, "a LOGIN {3}\r\n"), "+ OK\r\n");
  EXPECT_EQ(Send(*c, "joe {6}\r\n"), "+ OK\r\n");
  EXPECT_EQ(Run(*c, "secret\r\n", "a"), "a OK [CAPABILITY " + PostCaps() + "] Logged in\r\n");
}

TEST_F(ImapSessionTest, AuthenticatePlainWithInitialResponse) {
  auto c = Connect();
  c->out.Take();
  // "\0joe\0secret"
  EXPECT_EQ(Run(*c, "a AUTHENTICATE PLAIN AGpvZQBzZWNyZXQ=\r\n", "a"),
            "a OK [CAPABILITY " + PostCaps() + "] Logged in\r\n");
}

TEST_F(ImapSessionTest, AuthenticatePlainWithContinuation) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Send(*c, "a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(Run(*c, "AGpvZQBzZWNyZXQ=\r\n", "a"),
            "a OK [CAPABILITY " + PostCaps() + "] Logged in\r\n");
}

TEST_F(ImapSessionTest, AuthenticateLogin) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Send(*c, "a AUTHENTICATE LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
  EXPECT_EQ(Send(*c, "am9l\r\n"), "+ UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(Run(*c, "c2VjcmV0\r\n", "a"), "a OK [CAPABILITY " + PostCaps() + "] Logged in\r\n");
}

TEST_F(ImapSessionTest, AuthenticateCancelAndUnknownMechanism) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Send(*c, "a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(Run(*c, "*\r\n", "a"), "a BAD Authentication aborted by client.\r\n");
  EXPECT_EQ(Run(*c, "b AUTHENTICATE CRAM-MD5\r\n", "b"),
            "b NO Unsupported authentication mechanism.\r\n");
  EXPECT_EQ(Run(*c, "c AUTHENTICATE PLAIN AGpvZQB3cm9uZw==\r\n", "c"),
            "c NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
}

TEST_F(ImapSessionTest, StateChecks) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Run(*c, "a SELECT INBOX\r\n", "a"), "a BAD Not logged in.\r\n");
  EXPECT_EQ(Run(*c, "b FOO\r\n", "b"), "b BAD Error in IMAP command FOO: Unknown command.\r\n");
  auto d = LoggedIn();
  EXPECT_EQ(Run(*d, "a FETCH 1 FLAGS\r\n", "a"), "a BAD No mailbox selected.\r\n");
  EXPECT_EQ(Run(*d, "b LOGIN joe secret\r\n", "b"), "b BAD Already logged in.\r\n");
  EXPECT_EQ(Run(*d, "c UID NOOP\r\n", "c"),
            "c BAD Error in IMAP command UID NOOP: Unknown command.\r\n");
}

TEST_F(ImapSessionTest, TooManyBadCommandsBeforeLogin) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Run(*c, "a FOO\r\n", "a"), "a BAD Error in IMAP command FOO: Unknown command.\r\n");
  EXPECT_EQ(Run(*c, "b FOO\r\n", "b"), "b BAD Error in IMAP command FOO: Unknown command.\r\n");
  EXPECT_FALSE(c->out.closed());
  EXPECT_EQ(Run(*c, "c FOO\r\n", "c"),
            "c BAD Error in IMAP command FOO: Unknown command.\r\n"
            "* BYE Too many invalid IMAP commands.\r\n");
  EXPECT_TRUE(c->out.closed());
}

TEST_F(ImapSessionTest, TooManyBadCommandsAfterLogin) {
  config_.limits.max_bad_commands = 2;
  auto c = LoggedIn();
  EXPECT_EQ(Send(*c, "a FOO\r\n"), "a BAD Error in IMAP command FOO: Unknown command.\r\n");
  EXPECT_EQ(Send(*c, "b (\r\n"),
            "b BAD Error in IMAP command: Missing command name\r\n"
            "* BYE Too many invalid IMAP commands.\r\n");
  EXPECT_TRUE(c->out.closed());
}

TEST_F(ImapSessionTest, PreauthLineLimit) {
  config_.limits.max_line_length_preauth = 64;
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Send(*c, "a LOGIN " + std::string(100, 'x') + "\r\n"),
            "a BAD Command line too long\r\n");
  // A literal over the pre-login cap is refused without a continuation.
  EXPECT_EQ(Send(*c, "b LOGIN joe {65}\r\n"), "b NO [LIMIT] Literal too large\r\n");
  EXPECT_EQ(Run(*c, "c LOGIN joe secret\r\n", "c"),
            "c OK [CAPABILITY " + PostCaps() + "] Logged in\r\n");
}

TEST_F(ImapSessionTest, IdleTimeoutAndShutdown) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(c->session->IdleTimeout(), std::chrono::seconds(30 * 60));
  c->session->OnIdleTimeout();
  EXPECT_EQ(c->out.Take(), "* BYE Autologout; idle for too long\r\n");
  EXPECT_TRUE(c->out.closed());
  auto d = LoggedIn();
  d->session->OnShutdown();
  EXPECT_EQ(d->out.Take(), "* BYE Server shutting down.\r\n");
  EXPECT_TRUE(d->out.closed());
}

TEST_F(ImapSessionTest, IdAndNamespaceAndEnable) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Run(*c, "a ID (\"name\" \"test\" \"version\" \"1\")\r\n", "a"),
            "* ID (\"name\" \"Pillarbox\" \"version\" \"" PILLARBOX_VERSION
            "\")\r\na OK ID completed.\r\n");
  EXPECT_EQ(Run(*c, "b ID NIL\r\n", "b"),
            "* ID (\"name\" \"Pillarbox\" \"version\" \"" PILLARBOX_VERSION
            "\")\r\nb OK ID completed.\r\n");
  EXPECT_EQ(Run(*c, "c ID (\"name\")\r\n", "c"),
            "c BAD Error in IMAP command ID: Invalid ID parameter list\r\n");
  auto d = LoggedIn();
  EXPECT_EQ(Run(*d, "a NAMESPACE\r\n", "a"),
            "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\na OK Namespace completed.\r\n");
  EXPECT_EQ(Run(*d, "b ENABLE FOO\r\n", "b"), "* ENABLED\r\nb OK Enabled.\r\n");
}

// ---- mailboxes ---------------------------------------------------------------

TEST_F(ImapSessionTest, SelectAndExamine) {
  Deliver(kMsg1, "INBOX", storage::Flags{storage::kFlagSeen, {}});
  Deliver(kMsg2);
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a SELECT inbox\r\n", "a"), SelectReply("a", "INBOX", 2, 2, 2));
  // \Recent is seen by exactly one session.
  auto d = LoggedIn();
  EXPECT_EQ(Run(*d, "b SELECT INBOX\r\n", "b"), SelectReply("b", "INBOX", 2, 0, 2));
  EXPECT_EQ(Run(*d, "c EXAMINE INBOX\r\n", "c"), SelectReply("c", "INBOX", 2, 0, 2, true));
  EXPECT_EQ(Run(*d, "d SELECT nosuch\r\n", "d"),
            "d NO [NONEXISTENT] Mailbox doesn't exist: nosuch\r\n");
  // A failed SELECT leaves no mailbox selected.
  EXPECT_EQ(Run(*d, "e FETCH 1 FLAGS\r\n", "e"), "e BAD No mailbox selected.\r\n");
}

TEST_F(ImapSessionTest, SelectShowsKeywords) {
  Deliver(kMsg1, "INBOX", storage::Flags{0, {"$Forwarded", "Work"}});
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a SELECT INBOX\r\n", "a"),
            SelectReply("a", "INBOX", 1, 1, 1, false, " $Forwarded Work"));
}

TEST_F(ImapSessionTest, CreateDeleteRename) {
  auto c = LoggedIn();
  EXPECT_EQ(Created("a", "Projects", Run(*c, "a CREATE Projects/\r\n", "a")), "");
  EXPECT_EQ(Run(*c, "b CREATE Projects\r\n", "b"),
            "b NO [ALREADYEXISTS] Mailbox already exists: Projects\r\n");
  EXPECT_EQ(Run(*c, "c CREATE inbox\r\n", "c"),
            "c NO [ALREADYEXISTS] Mailbox already exists: INBOX\r\n");
  EXPECT_EQ(Created("d", "Projects/2024/Q1", Run(*c, "d CREATE Projects/2024/Q1\r\n", "d")), "");
  EXPECT_EQ(Run(*c, "e CREATE a//b\r\n", "e"), "e NO [CANNOT] Invalid mailbox name\r\n");
  EXPECT_EQ(Run(*c, "f CREATE &AGE\r\n", "f"),
            "f NO [CANNOT] Mailbox name is not valid mUTF-7\r\n");
  EXPECT_EQ(Run(*c, "g RENAME Projects Work\r\n", "g"), "g OK Rename completed.\r\n");
  EXPECT_EQ(Run(*c, "h LIST \"\" Work*\r\n", "h"),
            "* LIST (\\HasChildren) \"/\" Work\r\n"
            "* LIST (\\HasChildren) \"/\" Work/2024\r\n"
            "* LIST (\\HasNoChildren) \"/\" Work/2024/Q1\r\n"
            "h OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "i RENAME Work Work/Sub\r\n", "i"),
            "i NO [CANNOT] Can't rename mailbox under itself.\r\n");
  EXPECT_EQ(Run(*c, "j RENAME Nope X\r\n", "j"),
            "j NO [NONEXISTENT] Mailbox doesn't exist: Nope\r\n");
  EXPECT_EQ(Run(*c, "k RENAME Work Sent\r\n", "k"),
            "k NO [ALREADYEXISTS] Target mailbox already exists.\r\n");
  EXPECT_EQ(Run(*c, "l DELETE INBOX\r\n", "l"), "l NO [CANNOT] INBOX can't be deleted.\r\n");
  EXPECT_EQ(Run(*c, "m DELETE Nope\r\n", "m"),
            "m NO [NONEXISTENT] Mailbox doesn't exist: Nope\r\n");
  EXPECT_EQ(Run(*c, "n DELETE Work/2024/Q1\r\n", "n"), "n OK Delete completed.\r\n");
  EXPECT_EQ(Run(*c, "o LIST \"\" Work*\r\n", "o"),
            "* LIST (\\HasChildren) \"/\" Work\r\n"
            "* LIST (\\HasNoChildren) \"/\" Work/2024\r\no OK List completed.\r\n");
  // A parent deleted before its children stays as a \Noselect level.
  EXPECT_EQ(Run(*c, "p DELETE Work\r\n", "p"), "p OK Delete completed.\r\n");
  EXPECT_EQ(Run(*c, "q LIST \"\" Work%\r\n", "q"),
            "* LIST (\\Noselect \\HasChildren) \"/\" Work\r\nq OK List completed.\r\n");
}

TEST_F(ImapSessionTest, RenameInboxMovesMessages) {
  Deliver(kMsg1);
  Deliver(kMsg2);
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a RENAME INBOX Old\r\n", "a"), "a OK Rename completed.\r\n");
  EXPECT_EQ(Run(*c, "b STATUS INBOX (MESSAGES)\r\n", "b"),
            "* STATUS INBOX (MESSAGES 0)\r\nb OK Status completed.\r\n");
  EXPECT_EQ(Run(*c, "c STATUS Old (MESSAGES)\r\n", "c"),
            "* STATUS Old (MESSAGES 2)\r\nc OK Status completed.\r\n");
}

TEST_F(ImapSessionTest, ListWildcardsAndAttributes) {
  auto c = LoggedIn();
  Run(*c, "a CREATE Lists/imap\r\n", "a");
  Run(*c, "b CREATE Lists/pop\r\n", "b");
  Run(*c, "c CREATE Caf&AOk-\r\n", "c");
  EXPECT_EQ(Run(*c, "d LIST \"\" \"\"\r\n", "d"),
            "* LIST (\\Noselect) \"/\" \"\"\r\nd OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "e LIST \"\" %\r\n", "e"),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive\r\n"
            "* LIST (\\HasNoChildren) \"/\" Caf&AOk-\r\n"
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts\r\n"
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk\r\n"
            "* LIST (\\HasChildren) \"/\" Lists\r\n"
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n"
            "e OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "f LIST Lists/ %\r\n", "f"),
            "* LIST (\\HasNoChildren) \"/\" Lists/imap\r\n"
            "* LIST (\\HasNoChildren) \"/\" Lists/pop\r\n"
            "f OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "g LIST \"\" *i*\r\n", "g"),
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive\r\n"
            "* LIST (\\HasChildren) \"/\" Lists\r\n"
            "* LIST (\\HasNoChildren) \"/\" Lists/imap\r\n"
            "* LIST (\\HasNoChildren) \"/\" Lists/pop\r\n"
            "g OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "h LIST \"\" inBOX\r\n", "h"),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\nh OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "i LIST (SPECIAL-USE) \"\" *\r\n", "i"),
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive\r\n"
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts\r\n"
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk\r\n"
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n"
            "i OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "j LIST (FOO) \"\" *\r\n", "j"),
            "j BAD Error in IMAP command LIST: Unknown LIST selection option\r\n");
}

TEST_F(ImapSessionTest, SubscribeAndLsub) {
  auto c = LoggedIn();
  Run(*c, "a CREATE Lists/imap\r\n", "a");
  EXPECT_EQ(Run(*c, "b SUBSCRIBE Lists/imap\r\n", "b"), "b OK Subscribe completed.\r\n");
  EXPECT_EQ(Run(*c, "c LSUB \"\" Lists*\r\n", "c"),
            "* LSUB () \"/\" Lists/imap\r\nc OK Lsub completed.\r\n");
  EXPECT_EQ(Run(*c, "d LSUB \"\" Lists%\r\n", "d"),
            "* LSUB (\\Noselect) \"/\" Lists\r\nd OK Lsub completed.\r\n");
  EXPECT_EQ(Run(*c, "e LIST (SUBSCRIBED) \"\" Lists*\r\n", "e"),
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" Lists/imap\r\ne OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "f LIST \"\" Lists* RETURN (SUBSCRIBED)\r\n", "f"),
            "* LIST (\\HasChildren) \"/\" Lists\r\n"
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" Lists/imap\r\n"
            "f OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "g UNSUBSCRIBE Lists/imap\r\n", "g"), "g OK Unsubscribe completed.\r\n");
  EXPECT_EQ(Run(*c, "h LSUB \"\" Lists*\r\n", "h"), "h OK Lsub completed.\r\n");
  // The default mailboxes are subscribed.
  EXPECT_EQ(Run(*c, "i LSUB \"\" INBOX\r\n", "i"),
            "* LSUB () \"/\" INBOX\r\ni OK Lsub completed.\r\n");
}

TEST_F(ImapSessionTest, Status) {
  Deliver(kMsg1, "INBOX", storage::Flags{storage::kFlagSeen, {}});
  Deliver(kMsg2);
  auto c = LoggedIn();
  auto mb = Mailbox("INBOX");
  EXPECT_EQ(Run(*c, "a STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)\r\n", "a"),
            "* STATUS INBOX (MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY " +
                std::to_string(mb.uidvalidity) + " UNSEEN 1)\r\na OK Status completed.\r\n");
  // Claimed by a SELECT elsewhere: no longer recent for anyone else.
  auto d = LoggedIn();
  Run(*d, "s SELECT INBOX\r\n", "s");
  EXPECT_EQ(Run(*c, "a2 STATUS INBOX (RECENT)\r\n", "a2"),
            "* STATUS INBOX (RECENT 0)\r\na2 OK Status completed.\r\n");
  EXPECT_EQ(Run(*d, "s2 STATUS INBOX (RECENT)\r\n", "s2"),
            "* STATUS INBOX (RECENT 2)\r\ns2 OK Status completed.\r\n");
  EXPECT_EQ(Run(*c, "b STATUS Nope (MESSAGES)\r\n", "b"),
            "b NO [NONEXISTENT] Mailbox doesn't exist: Nope\r\n");
  EXPECT_EQ(Run(*c, "c STATUS INBOX (BOGUS)\r\n", "c"),
            "c BAD Error in IMAP command STATUS: Invalid status item\r\n");
}

TEST_F(ImapSessionTest, Append) {
  auto c = LoggedIn();
  std::string msg = kMsg2;
  auto mb = Mailbox("INBOX");
  EXPECT_EQ(Send(*c, "a APPEND INBOX (\\Seen $Work) \"05-Jan-2024 10:00:00 +0100\" {" +
                         std::to_string(msg.size()) + "}\r\n"),
            "+ OK\r\n");
  EXPECT_EQ(Run(*c, msg + "\r\n", "a"),
            "a OK [APPENDUID " + std::to_string(mb.uidvalidity) + " 1] Append completed.\r\n");
  {
    auto view = fx_.store().Read();
    auto rec = view->GetMessage(mb.id, 1);
    ASSERT_TRUE(rec.ok());
    EXPECT_EQ(rec->flags.system, storage::kFlagSeen);
    EXPECT_EQ(rec->flags.keywords, std::vector<std::string>{"$Work"});
    EXPECT_EQ(rec->internal_date_tz, 60);
    EXPECT_EQ(FormatInternalDate(rec->internal_date, rec->internal_date_tz),
              "\"05-Jan-2024 10:00:00 +0100\"");
  }
  // LITERAL+ and TRYCREATE.
  EXPECT_EQ(Run(*c, "b APPEND Nope {" + std::to_string(msg.size()) + "+}\r\n" + msg + "\r\n", "b"),
            "b NO [TRYCREATE] Mailbox doesn't exist: Nope\r\n");
  EXPECT_EQ(Run(*c, "c APPEND INBOX {0}\r\n\r\n", "c"),
            "+ OK\r\nc NO [CANNOT] Can't save a zero byte message.\r\n");
  EXPECT_EQ(Run(*c, "d APPEND INBOX (\\Recent) {1+}\r\nx\r\n", "d"),
            "d BAD Error in IMAP command APPEND: Invalid system flag \\Recent\r\n");
}

TEST_F(ImapSessionTest, AppendTooLarge) {
  config_.limits.max_message_size = 10;
  auto c = LoggedIn();
  EXPECT_EQ(Send(*c, "a APPEND INBOX {11}\r\n"), "a NO [TOOBIG] Message too large\r\n");
  EXPECT_EQ(Send(*c, "b APPEND INBOX {11+}\r\n01234567890\r\n"),
            "b NO [TOOBIG] Message too large\r\n");
  EXPECT_EQ(Run(*c, "c NOOP\r\n", "c"), "c OK NOOP completed.\r\n");
}

TEST_F(ImapSessionTest, AppendToSelectedMailboxShowsExists) {
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  std::string msg = kMsg1;
  auto mb = Mailbox("INBOX");
  EXPECT_EQ(Run(*c, "b APPEND INBOX {" + std::to_string(msg.size()) + "+}\r\n" + msg + "\r\n", "b"),
            "* 1 EXISTS\r\n* 1 RECENT\r\nb OK [APPENDUID " + std::to_string(mb.uidvalidity) +
                " 1] Append completed.\r\n");
}

// ---- selected state ---------------------------------------------------------------

TEST_F(ImapSessionTest, StoreAndFetchFlags) {
  Deliver(kMsg1);
  Deliver(kMsg2);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  EXPECT_EQ(Run(*c, "b STORE 1 +FLAGS (\\Flagged)\r\n", "b"),
            "* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\nb OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "c UID STORE 1:2 FLAGS.SILENT (\\Deleted)\r\n", "c"),
            "c OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "d FETCH 1:* FLAGS\r\n", "d"),
            "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n"
            "* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\n"
            "d OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "e UID STORE 2 -FLAGS \\Deleted\r\n", "e"),
            "* 2 FETCH (UID 2 FLAGS (\\Recent))\r\ne OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "f STORE 1 +FLAGS ($Later)\r\n", "f"),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Later)\r\n"
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Later \\*)] "
            "Flags permitted.\r\n"
            "* 1 FETCH (FLAGS (\\Deleted \\Recent $Later))\r\nf OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "g STORE 3 +FLAGS (\\Seen)\r\n", "g"),
            "g BAD Error in IMAP command STORE: Invalid messageset\r\n");
  EXPECT_EQ(Run(*c, "h STORE 1 +FLAGS (\\Recent)\r\n", "h"),
            "h BAD Error in IMAP command STORE: Invalid system flag \\Recent\r\n");
  EXPECT_EQ(Run(*c, "i STORE 1 FOO (\\Seen)\r\n", "i"),
            "i BAD Error in IMAP command STORE: Invalid STORE item FOO\r\n");
}

TEST_F(ImapSessionTest, KeywordLimit) {
  config_.limits.max_keywords = 1;
  Deliver(kMsg1);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  EXPECT_EQ(Run(*c, "b STORE 1 +FLAGS.SILENT (one)\r\n", "b"),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft one)\r\n"
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft one \\*)] "
            "Flags permitted.\r\n"
            "b OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "c STORE 1 +FLAGS.SILENT (two)\r\n", "c"),
            "c NO [LIMIT] Too many keywords in this mailbox.\r\n");
}

TEST_F(ImapSessionTest, FetchBodySetsSeen) {
  Deliver(kMsg1);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  std::string body = "Hi Joe.\r\n";
  EXPECT_EQ(Run(*c, "b FETCH 1 BODY.PEEK[TEXT]\r\n", "b"),
            "* 1 FETCH (BODY[TEXT] {9}\r\n" + body + ")\r\nb OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "c FETCH 1 BODY[TEXT]\r\n", "c"),
            "* 1 FETCH (BODY[TEXT] {9}\r\n" + body +
                " FLAGS (\\Seen \\Recent))\r\nc OK Fetch completed.\r\n");
  // Already \Seen: no FLAGS.
  EXPECT_EQ(Run(*c, "d UID FETCH 1 BODY[TEXT]\r\n", "d"),
            "* 1 FETCH (UID 1 BODY[TEXT] {9}\r\n" + body + ")\r\nd OK Fetch completed.\r\n");
  // Another session sees the change as FETCH FLAGS.
  auto other = LoggedIn();
  EXPECT_EQ(Run(*other, "e EXAMINE INBOX\r\n", "e"), SelectReply("e", "INBOX", 1, 0, 0, true));
  // EXAMINE never sets \Seen.
  EXPECT_EQ(Run(*other, "f STORE 1 -FLAGS (\\Seen)\r\n", "f"),
            "f NO [READ-ONLY] Mailbox is read-only.\r\n");
}

TEST_F(ImapSessionTest, FetchInReadOnlyMailboxDoesNotSetSeen) {
  Deliver(kMsg1);
  auto c = LoggedIn();
  Run(*c, "a EXAMINE INBOX\r\n", "a");
  EXPECT_EQ(
      Run(*c, "b FETCH 1 (FLAGS BODY[TEXT])\r\n", "b"),
      "* 1 FETCH (FLAGS (\\Recent) BODY[TEXT] {9}\r\nHi Joe.\r\n)\r\nb OK Fetch completed.\r\n");
  // EXAMINE showed \Recent without claiming it: SELECT still gets it.
  auto d = LoggedIn();
  EXPECT_EQ(Run(*d, "c SELECT INBOX\r\n", "c"), SelectReply("c", "INBOX", 1, 1, 1));
}

TEST_F(ImapSessionTest, UidFetchIncludesUidAndIgnoresMissing) {
  Deliver(kMsg1);
  Deliver(kMsg2);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  EXPECT_EQ(Run(*c, "b UID FETCH 2:10 RFC822.SIZE\r\n", "b"),
            "* 2 FETCH (UID 2 RFC822.SIZE " + std::to_string(std::string(kMsg2).size()) +
                ")\r\nb OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "c UID FETCH 5:10 FLAGS\r\n", "c"), "c OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "d FETCH 1 (FOO)\r\n", "d").substr(0, 6), "d BAD ");
}

TEST_F(ImapSessionTest, FetchBackpressureResumesOnDrain) {
  std::string big = "Subject: big\r\n\r\n" + std::string(200000, 'x') + "\r\n";
  Deliver(big);
  Deliver(kMsg2);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  c->out.set_queued(config_.limits.output_high_water + 1);
  std::string got = Send(*c, "b FETCH 1:2 BODY.PEEK[]\r\n");
  EXPECT_EQ(got, "");  // nothing produced above the high-water mark
  std::string all;
  int rounds = 0;
  c->out.set_queued(0);
  while (all.find("b OK") == std::string::npos && rounds < 1000) {
    // Let one chunk out, then pretend the socket is full again.
    c->session->OnDrained();
    all += c->out.Take();
    ++rounds;
  }
  EXPECT_EQ(all, "* 1 FETCH (BODY[] {" + std::to_string(big.size()) + "}\r\n" + big +
                     ")\r\n* 2 FETCH (BODY[] {" + std::to_string(std::string(kMsg2).size()) +
                     "}\r\n" + kMsg2 + ")\r\nb OK Fetch completed.\r\n");
  // Pipelined commands wait for the FETCH.
  c->out.set_queued(config_.limits.output_high_water + 1);
  EXPECT_EQ(Send(*c, "c FETCH 1 BODY.PEEK[]\r\nd NOOP\r\n"), "");
  c->out.set_queued(0);
  c->session->OnDrained();
  std::string rest = c->out.Take();
  EXPECT_TRUE(rest.ends_with("c OK Fetch completed.\r\nd OK NOOP completed.\r\n")) << rest.size();
}

// Regression: before login, "N CAPABILITY" pipelined a million times in one
// write by a client that never reads queued every answer (300 MB).
TEST_F(ImapSessionTest, PipelinedCommandsWaitWhileOutputIsOverHighWater) {
  auto c = Connect();
  c->out.Take();
  c->out.count_written = true;
  std::string burst;
  const int kCommands = 5000;
  for (int i = 1; i <= kCommands; ++i) burst += std::to_string(i) + " CAPABILITY\r\n";
  c->session->OnInput(burst);
  std::string first = c->out.written();
  // Stopped at the high-water mark, not after 5000 answers (~650 KB).
  EXPECT_LE(first.size(), config_.limits.output_high_water + 200);
  EXPECT_GE(first.size(), config_.limits.output_high_water);
  std::string all;
  for (int rounds = 0; rounds < 100; ++rounds) {
    all += c->out.Take();
    if (all.ends_with(std::to_string(kCommands) + " OK Capability completed.\r\n")) break;
    c->session->OnDrained();
  }
  EXPECT_TRUE(all.ends_with(std::to_string(kCommands) + " OK Capability completed.\r\n"));
  std::size_t answers = 0;
  for (std::size_t p = 0; (p = all.find(" OK Capability completed.", p)) != std::string::npos;
       ++p) {
    ++answers;
  }
  EXPECT_EQ(answers, static_cast<std::size_t>(kCommands));
}

TEST_F(ImapSessionTest, LiteralTooLargeToSkipEndsTheConnection) {
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Send(*c, "a LOGIN {18446744073709551615+}\r\nb NOOP\r\n"),
            "a NO [LIMIT] Literal too large\r\n"
            "* BYE Literal too large to skip, closing connection.\r\n");
  EXPECT_TRUE(c->out.closed());
}

TEST_F(ImapSessionTest, AppendLiteralsOfOneCommandAreCappedTogether) {
  config_.limits.max_message_size = 100000;
  auto c = LoggedIn();
  std::string msg(100000, 'm');
  EXPECT_EQ(
      Run(*c, "a APPEND INBOX {100000+}\r\n" + msg + " {100000+}\r\n" + msg + "\r\nb NOOP\r\n",
          "b"),
      "a NO [LIMIT] Too much literal data in one command\r\nb OK NOOP completed.\r\n");
  // Before login the whole command is capped at the preauth line length.
  auto d = Connect();
  d->out.Take();
  std::string lit(config_.limits.max_line_length_preauth, 'x');
  std::string n = std::to_string(lit.size());
  EXPECT_EQ(
      Send(*d, "a APPEND x {" + n + "+}\r\n" + lit + " {" + n + "+}\r\n" + lit + "\r\nb NOOP\r\n"),
      "a NO [LIMIT] Too much literal data in one command\r\nb OK NOOP completed.\r\n");
}

TEST_F(ImapSessionTest, FetchBackpressureSlicesLargeLiterals) {
  std::string big = "Subject: big\r\n\r\n" + std::string(1000000, 'y') + "\r\n";
  Deliver(big);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  c->out.count_written = true;
  c->session->OnInput("b FETCH 1 BODY.PEEK[]\r\n");
  std::string all;
  int rounds = 0;
  for (;;) {
    std::string part = c->out.Take();
    // Never much more than the high-water mark plus one chunk at a time.
    EXPECT_LE(part.size(), config_.limits.output_high_water + kFetchChunkBytes + 100);
    all += part;
    if (all.ends_with("b OK Fetch completed.\r\n") || ++rounds > 100) break;
    c->session->OnDrained();
  }
  EXPECT_GE(rounds, 3);
  EXPECT_EQ(all, "* 1 FETCH (BODY[] {" + std::to_string(big.size()) + "}\r\n" + big +
                     ")\r\nb OK Fetch completed.\r\n");
}

TEST_F(ImapSessionTest, Search) {
  Deliver(kMsg1, "INBOX", storage::Flags{storage::kFlagSeen, {}});
  Deliver(kMsg2);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  EXPECT_EQ(Run(*c, "b SEARCH UNSEEN\r\n", "b"), "* SEARCH 2\r\nb OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "c UID SEARCH SUBJECT hello\r\n", "c"),
            "* SEARCH 1\r\nc OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "d SEARCH CHARSET UTF-8 ALL\r\n", "d"),
            "* SEARCH 1 2\r\nd OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "e SEARCH CHARSET KOI8-X ALL\r\n", "e"),
            "e NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.\r\n");
  EXPECT_EQ(Run(*c, "f SEARCH FOO\r\n", "f").substr(0, 6), "f BAD ");
  EXPECT_EQ(Run(*c, "g SEARCH DELETED\r\n", "g"), "* SEARCH\r\ng OK Search completed.\r\n");
}

TEST_F(ImapSessionTest, ExpungeAndClose) {
  Deliver(kMsg1);
  Deliver(kMsg2);
  Deliver(kMsg1);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  Run(*c, "b STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n", "b");
  EXPECT_EQ(Run(*c, "c EXPUNGE\r\n", "c"),
            "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\nc OK Expunge completed.\r\n");
  EXPECT_EQ(Run(*c, "d FETCH 1 UID\r\n", "d"), "* 1 FETCH (UID 3)\r\nd OK Fetch completed.\r\n");
  Run(*c, "e STORE 1 +FLAGS.SILENT (\\Deleted)\r\n", "e");
  EXPECT_EQ(Run(*c, "f CLOSE\r\n", "f"), "f OK Close completed.\r\n");
  EXPECT_EQ(Run(*c, "g STATUS INBOX (MESSAGES)\r\n", "g"),
            "* STATUS INBOX (MESSAGES 0)\r\ng OK Status completed.\r\n");
  EXPECT_EQ(Run(*c, "h EXPUNGE\r\n", "h"), "h BAD No mailbox selected.\r\n");
}

TEST_F(ImapSessionTest, UidExpungeOnlyTheGivenUids) {
  Deliver(kMsg1);
  Deliver(kMsg2);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  Run(*c, "b STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n", "b");
  EXPECT_EQ(Run(*c, "c UID EXPUNGE 2\r\n", "c"), "* 2 EXPUNGE\r\nc OK Expunge completed.\r\n");
  EXPECT_EQ(Run(*c, "d UNSELECT\r\n", "d"), "d OK Unselect completed.\r\n");
  EXPECT_EQ(Run(*c, "e STATUS INBOX (MESSAGES)\r\n", "e"),
            "* STATUS INBOX (MESSAGES 1)\r\ne OK Status completed.\r\n");
}

TEST_F(ImapSessionTest, CopyAndMoveWithCopyUid) {
  Deliver(kMsg1);
  Deliver(kMsg2);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  auto archive = Mailbox("Archive");
  EXPECT_EQ(
      Run(*c, "b COPY 1:2 Archive\r\n", "b"),
      "b OK [COPYUID " + std::to_string(archive.uidvalidity) + " 1:2 1:2] Copy completed.\r\n");
  EXPECT_EQ(Run(*c, "c COPY 1 Nope\r\n", "c"), "c NO [TRYCREATE] Mailbox doesn't exist: Nope\r\n");
  EXPECT_EQ(Run(*c, "d UID MOVE 2 Archive\r\n", "d"),
            "* OK [COPYUID " + std::to_string(archive.uidvalidity) +
                " 2 3] Moved UIDs.\r\n* 2 EXPUNGE\r\nd OK Move completed.\r\n");
  EXPECT_EQ(Run(*c, "e MOVE 1 Archive\r\n", "e"),
            "* OK [COPYUID " + std::to_string(archive.uidvalidity) +
                " 1 4] Moved UIDs.\r\n* 1 EXPUNGE\r\ne OK Move completed.\r\n");
  EXPECT_EQ(Run(*c, "f STATUS Archive (MESSAGES)\r\n", "f"),
            "* STATUS Archive (MESSAGES 4)\r\nf OK Status completed.\r\n");
}

TEST_F(ImapSessionTest, CopyToSelfShowsExists) {
  Deliver(kMsg1);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  auto mb = Mailbox("INBOX");
  EXPECT_EQ(Run(*c, "b COPY 1 INBOX\r\n", "b"), "* 2 EXISTS\r\n* 2 RECENT\r\nb OK [COPYUID " +
                                                    std::to_string(mb.uidvalidity) +
                                                    " 1 2] Copy completed.\r\n");
}

// ---- changes made elsewhere ------------------------------------------------

TEST_F(ImapSessionTest, ExpungeFromOtherSessionOnlyAtAllowedPoints) {
  Deliver(kMsg1);
  Deliver(kMsg2);
  Deliver(kMsg1);
  auto a = LoggedIn();
  auto b = LoggedIn();
  Run(*a, "a SELECT INBOX\r\n", "a");
  Run(*b, "b SELECT INBOX\r\n", "b");
  Run(*a, "a1 STORE 2 +FLAGS.SILENT (\\Deleted)\r\n", "a1");
  EXPECT_EQ(Run(*a, "a2 EXPUNGE\r\n", "a2"), "* 2 EXPUNGE\r\na2 OK Expunge completed.\r\n");
  // FETCH, STORE and SEARCH by sequence number: no EXPUNGE; flags still come.
  EXPECT_EQ(Run(*b, "b1 FETCH 3 UID\r\n", "b1"), "* 3 FETCH (UID 3)\r\nb1 OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*b, "b2 SEARCH ALL\r\n", "b2"), "* SEARCH 1 3\r\nb2 OK Search completed.\r\n");
  EXPECT_EQ(Run(*b, "b3 FETCH 2 UID\r\n", "b3"),
            "b3 NO [EXPUNGEISSUED] Some of the requested messages no longer exist.\r\n");
  // UID commands and NOOP may report it.
  EXPECT_EQ(Run(*b, "b4 UID FETCH 2:3 FLAGS\r\n", "b4"),
            "* 3 FETCH (UID 3 FLAGS ())\r\n* 2 EXPUNGE\r\nb4 OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*b, "b5 FETCH 2 UID\r\n", "b5"), "* 2 FETCH (UID 3)\r\nb5 OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*b, "b6 NOOP\r\n", "b6"), "b6 OK NOOP completed.\r\n");
}

TEST_F(ImapSessionTest, DeliveryShowsUpAtNoopAndRecentOnce) {
  Deliver(kMsg1);
  auto a = LoggedIn();
  auto b = LoggedIn();
  Run(*a, "a SELECT INBOX\r\n", "a");
  Run(*b, "b SELECT INBOX\r\n", "b");
  Deliver(kMsg2);
  EXPECT_EQ(a->out.Take(), "");  // not IDLE: nothing unsolicited
  EXPECT_EQ(Run(*a, "a1 NOOP\r\n", "a1"), "* 2 EXISTS\r\n* 2 RECENT\r\na1 OK NOOP completed.\r\n");
  EXPECT_EQ(Run(*b, "b1 NOOP\r\n", "b1"), "* 2 EXISTS\r\n* 0 RECENT\r\nb1 OK NOOP completed.\r\n");
  EXPECT_EQ(Run(*a, "a2 FETCH 2 FLAGS\r\n", "a2"),
            "* 2 FETCH (FLAGS (\\Recent))\r\na2 OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*b, "b2 FETCH 2 FLAGS\r\n", "b2"),
            "* 2 FETCH (FLAGS ())\r\nb2 OK Fetch completed.\r\n");
}

TEST_F(ImapSessionTest, IdlePushesDeliveryAndExpunge) {
  Deliver(kMsg1);
  auto a = LoggedIn();
  auto b = LoggedIn();
  Run(*a, "a SELECT INBOX\r\n", "a");
  Run(*b, "b SELECT INBOX\r\n", "b");
  EXPECT_EQ(Send(*a, "a1 IDLE\r\n"), "+ idling\r\n");
  Deliver(kMsg2);
  EXPECT_EQ(a->out.Take(), "* 2 EXISTS\r\n* 2 RECENT\r\n");
  Run(*b, "b1 STORE 1 +FLAGS (\\Deleted)\r\n", "b1");
  EXPECT_EQ(a->out.Take(), "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n");
  Run(*b, "b2 EXPUNGE\r\n", "b2");
  EXPECT_EQ(a->out.Take(), "* 1 EXPUNGE\r\n");
  // Keepalive.
  timers_.Advance(kIdleKeepalive);
  EXPECT_EQ(a->out.Take(), "* OK Still here\r\n");
  EXPECT_EQ(Run(*a, "DONE\r\n", "a1"), "a1 OK Idle completed.\r\n");
  timers_.Advance(kIdleKeepalive);
  EXPECT_EQ(a->out.Take(), "");
  EXPECT_EQ(Send(*a, "a2 IDLE\r\n"), "+ idling\r\n");
  EXPECT_EQ(Run(*a, "nope\r\n", "a2"), "a2 BAD Expected DONE.\r\n");
}

TEST_F(ImapSessionTest, IdleInAuthenticatedState) {
  auto a = LoggedIn();
  EXPECT_EQ(Send(*a, "a IDLE\r\n"), "+ idling\r\n");
  EXPECT_EQ(Run(*a, "done\r\n", "a"), "a OK Idle completed.\r\n");
}

TEST_F(ImapSessionTest, DeleteSelectedMailboxDisconnects) {
  auto c = LoggedIn();
  Run(*c, "a CREATE Temp\r\n", "a");
  Run(*c, "b SELECT Temp\r\n", "b");
  EXPECT_EQ(
      Run(*c, "c DELETE Temp\r\n", "c"),
      "c OK Delete completed.\r\n* BYE Selected mailbox was deleted, have to disconnect.\r\n");
  EXPECT_TRUE(c->out.closed());
}

TEST_F(ImapSessionTest, DeletedUserSessionsEndWithBye) {
  Deliver(kMsg1);
  auto selected = LoggedIn();
  Run(*selected, "a SELECT INBOX\r\n", "a");
  auto idle = LoggedIn();
  Run(*idle, "b SELECT INBOX\r\n", "b");
  EXPECT_EQ(Send(*idle, "b1 IDLE\r\n"), "+ idling\r\n");
  auto plain = LoggedIn();  // authenticated state, nothing selected
  auto before = Connect();  // not logged in: not concerned
  before->out.Take();
  ASSERT_TRUE(
      fx_.WaitStatus([&](storage::StatusCallback cb) { fx_.store().DeleteUser("joe", cb); }).ok());
  fx_.RunPending();
  for (Client* c : {selected.get(), idle.get(), plain.get()}) {
    EXPECT_EQ(c->out.Take(), "* BYE Account deleted.\r\n");
    EXPECT_TRUE(c->out.closed());
  }
  EXPECT_EQ(before->out.Take(), "");
  EXPECT_FALSE(before->out.closed());
  // Closing after the watch fired is harmless.
  selected->session->OnClosed();
}

TEST_F(ImapSessionTest, LoginTimeoutSaysSo) {
  auto c = Connect();
  c->out.Take();
  EXPECT_FALSE(c->session->Authenticated());
  c->session->OnLoginTimeout();
  EXPECT_EQ(c->out.Take(), "* BYE Login timed out.\r\n");
  EXPECT_TRUE(c->out.closed());
  auto d = LoggedIn();
  EXPECT_TRUE(d->session->Authenticated());
}

TEST_F(ImapSessionTest, LiveSessionRegistered) {
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  fx_.store().Flush();
  fx_.RunPending();
  auto view = fx_.store().Read();
  auto live = view->LiveSessions(user_.id);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].protocol, "imap");
  EXPECT_EQ(live[0].mailbox, "INBOX");
  EXPECT_EQ(live[0].id, c->session->id());
}

TEST_F(ImapSessionTest, LiveSessionCarriesTheClientIdForOtherProcesses) {
  auto c = LoggedIn();
  Run(*c, "a ID (\"name\" \"Mail\\\\Client\" \"version\" \"2.0\")\r\n", "a");
  fx_.store().Flush();
  fx_.RunPending();
  {
    auto view = fx_.store().Read();
    auto live = view->LiveSessions(user_.id);
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0].client_id, "Mail\\Client 2.0");
  }
  // SELECT registers the session again: the ID stays.
  Run(*c, "b SELECT INBOX\r\n", "b");
  fx_.store().Flush();
  fx_.RunPending();
  auto view = fx_.store().Read();
  auto live = view->LiveSessions(user_.id);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].mailbox, "INBOX");
  EXPECT_EQ(live[0].client_id, "Mail\\Client 2.0");
}

TEST_F(ImapSessionTest, UnicodeMailboxNames) {
  auto c = LoggedIn();
  EXPECT_EQ(Created("a", "Entwürfe", Run(*c, "a CREATE Entw&APw-rfe\r\n", "a")), "");
  auto view = fx_.store().Read();
  EXPECT_TRUE(view->FindMailbox(user_.id, "Entw\xc3\xbcrfe").ok());
  view.reset();
  EXPECT_EQ(Run(*c, "b LIST \"\" Entw*\r\n", "b"),
            "* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe\r\nb OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "c SELECT \"Entw\xc3\xbcrfe\"\r\n", "c"),
            "c NO [CANNOT] Mailbox name is not valid mUTF-7\r\n");
}

TEST_F(ImapSessionTest, PipelinedCommandsAnswerInOrder) {
  Deliver(kMsg1);
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c,
                "a SELECT INBOX\r\nb STORE 1 +FLAGS (\\Seen)\r\nc CHECK\r\n"
                "d FETCH 1 FLAGS\r\n",
                "d"),
            SelectReply("a", "INBOX", 1, 1, 1) +
                "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\nb OK Store completed.\r\n"
                "c OK Check completed.\r\n"
                "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\nd OK Fetch completed.\r\n");
}

TEST_F(ImapSessionTest, ReadOnlyMailboxRefusesChangesAndCloseKeepsMessages) {
  Deliver(kMsg1, "INBOX", storage::Flags{storage::kFlagDeleted, {}});
  auto c = LoggedIn();
  Run(*c, "a EXAMINE INBOX\r\n", "a");
  EXPECT_EQ(Run(*c, "b EXPUNGE\r\n", "b"), "b NO [READ-ONLY] Mailbox is read-only.\r\n");
  EXPECT_EQ(Run(*c, "c MOVE 1 Trash\r\n", "c"), "c NO [READ-ONLY] Mailbox is read-only.\r\n");
  EXPECT_EQ(Run(*c, "d CLOSE\r\n", "d"), "d OK Close completed.\r\n");
  EXPECT_EQ(Run(*c, "e STATUS INBOX (MESSAGES)\r\n", "e"),
            "* STATUS INBOX (MESSAGES 1)\r\ne OK Status completed.\r\n");
}

TEST_F(ImapSessionTest, ExpungeByAnotherProtocolShowsAtNoop) {
  Deliver(kMsg1);
  Deliver(kMsg2);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  auto mb = Mailbox("INBOX");
  // As POP3's QUIT in expunge mode does.
  storage::ExpungeRequest req;
  req.mailbox = mb.id;
  req.uids = std::vector<storage::Uid>{1};
  req.require_deleted = false;
  req.origin.protocol = "pop3";
  auto r = fx_.Wait<std::vector<storage::Uid>>(
      [&](storage::Callback<std::vector<storage::Uid>> cb) { fx_.store().Expunge(req, cb); });
  ASSERT_TRUE(r.ok());
  fx_.RunPending();
  EXPECT_EQ(c->out.Take(), "");
  EXPECT_EQ(Run(*c, "b STORE 2 +FLAGS.SILENT (\\Seen)\r\n", "b"), "b OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "c NOOP\r\n", "c"), "* 1 EXPUNGE\r\nc OK NOOP completed.\r\n");
}

TEST_F(ImapSessionTest, SynchronizingLiteralWaitsForTheRunningCommand) {
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  std::string msg = kMsg1;
  // The APPEND's "+ OK" comes only after the CREATE before it has answered.
  c->session->OnInput("b CREATE Box\r\nc APPEND Box {" + std::to_string(msg.size()) + "}\r\n");
  EXPECT_EQ(c->out.Take(), "");
  fx_.RunUntil([&] { return c->out.written().find("+ OK") != std::string::npos; });
  std::string got = c->out.Take();
  ASSERT_TRUE(got.ends_with("+ OK\r\n")) << got;
  EXPECT_EQ(Created("b", "Box", got.substr(0, got.size() - 6)), "");
  auto box_validity = Mailbox("Box").uidvalidity;
  EXPECT_EQ(Run(*c, msg + "\r\n", "c"),
            "c OK [APPENDUID " + std::to_string(box_validity) + " 1] Append completed.\r\n");
}

TEST_F(ImapSessionTest, BodySearchRunsInSlices) {
  // Body searches evaluate a few messages per slice and yield in between.
  std::string expected = "* SEARCH";
  for (int i = 1; i <= 45; ++i) {
    bool hit = i % 7 == 0;
    Deliver("Subject: n" + std::to_string(i) + "\r\n\r\n" + (hit ? "needle" : "hay") + "\r\n");
    if (hit) expected += " " + std::to_string(i);
  }
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  c->session->OnInput("b SEARCH BODY needle\r\n");
  EXPECT_EQ(c->out.Take(), "");  // the first slice did not finish it
  EXPECT_GE(timers_.pending(), 1u);
  EXPECT_EQ(Run(*c, "", "b"), expected + "\r\nb OK Search completed.\r\n");
}

// ---- regressions found by imaptest -------------------------------------------

TEST_F(ImapSessionTest, NilIsAnAStringWhereAStringIsExpected) {
  Deliver("From: a@example.org\r\nSubject: nil\r\n\r\nnil body\r\n");
  Deliver(kMsg2);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  EXPECT_EQ(Run(*c, "b SEARCH SUBJECT NIL\r\n", "b"), "* SEARCH 1\r\nb OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "c SEARCH BODY nil\r\n", "c"), "* SEARCH 1\r\nc OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "d LIST \"\" NIL\r\n", "d"), "d OK List completed.\r\n");
  EXPECT_EQ(Created("e", "NIL", Run(*c, "e CREATE NIL\r\n", "e")), "");
  EXPECT_EQ(Run(*c, "f LIST \"\" NIL\r\n", "f"),
            "* LIST (\\HasNoChildren) \"/\" \"NIL\"\r\nf OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "g STORE 1 +FLAGS NIL\r\n", "g"),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft NIL)\r\n"
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft NIL \\*)] "
            "Flags permitted.\r\n"
            "* 1 FETCH (FLAGS (\\Recent NIL))\r\ng OK Store completed.\r\n");
  EXPECT_EQ(Run(*c, "h SEARCH KEYWORD NIL\r\n", "h"), "* SEARCH 1\r\nh OK Search completed.\r\n");
  // Where nil means something, it still does.
  EXPECT_EQ(Run(*c, "i ID NIL\r\n", "i"),
            "* ID (\"name\" \"Pillarbox\" \"version\" \"" PILLARBOX_VERSION
            "\")\r\ni OK ID completed.\r\n");
}

TEST_F(ImapSessionTest, IdWithTheLargestFieldsRfc2971AllowsBeforeLogin) {
  // 30 pairs, 30-octet names, 1024-octet values: about 32 KB on one line.
  std::string line = "a ID (";
  for (int i = 0; i < 30; ++i) {
    std::string name = "field" + std::to_string(i);
    name.resize(30, 'n');
    if (i) line += ' ';
    line += "\"" + name + "\" \"" + std::string(1024, 'v') + "\"";
  }
  line += ")\r\n";
  ASSERT_GT(line.size(), 31000u);
  auto c = Connect();
  c->out.Take();
  EXPECT_EQ(Run(*c, line, "a"), "* ID (\"name\" \"Pillarbox\" \"version\" \"" PILLARBOX_VERSION
                                "\")\r\na OK ID completed.\r\n");
}

TEST_F(ImapSessionTest, RecursiveMatchChildInfoOnlyForChildrenOutsideThePatterns) {
  auto c = LoggedIn();
  for (const char* name :
       {"t/test2", "t/test2/test1", "t/test7/test7", "t/test8/test8", "t/test8/test9"}) {
    Run(*c, std::string("c CREATE ") + name + "\r\n", "c");
    if (std::string(name) != "t/test2") Run(*c, std::string("s SUBSCRIBE ") + name + "\r\n", "s");
  }
  // RFC 5258 3: a parent gets CHILDINFO for a subscribed child that the
  // patterns do not match themselves.
  EXPECT_EQ(Run(*c, "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (t/test2)\r\n", "a"),
            "* LIST (\\HasChildren) \"/\" t/test2 (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
            "a OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "b LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (t/test2 t/test2/test1)\r\n", "b"),
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" t/test2/test1\r\n"
            "b OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "d LIST (SUBSCRIBED RECURSIVEMATCH) \"\" *test7\r\n", "d"),
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" t/test7/test7\r\n"
            "d OK List completed.\r\n");
  EXPECT_EQ(Run(*c, "e LIST (SUBSCRIBED RECURSIVEMATCH) \"\" *test8\r\n", "e"),
            "* LIST (\\HasChildren) \"/\" t/test8 (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" t/test8/test8\r\n"
            "e OK List completed.\r\n");
}

TEST_F(ImapSessionTest, SearchAddressMatchesTheAddressWithoutComments) {
  Deliver("From: <user-from (comment)@ (comment) domain.org>\r\nSubject: a\r\n\r\nbody\r\n");
  Deliver("From: user-from@domain.org (RealFrom)\r\nSubject: b\r\n\r\nbody\r\n");
  Deliver("From: RealFrom <user-from@domain.org>\r\nSubject: c\r\n\r\nbody\r\n");
  Deliver("To: group: one@domain.org, two@domain.org;\r\nSubject: d\r\n\r\nbody\r\n");
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  EXPECT_EQ(Run(*c, "b SEARCH FROM user-from@domain.org\r\n", "b"),
            "* SEARCH 1 2 3\r\nb OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "c SEARCH FROM realfrom\r\n", "c"),
            "* SEARCH 2 3\r\nc OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "d SEARCH FROM ser-from@dom\r\n", "d"),
            "* SEARCH 1 2 3\r\nd OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "e SEARCH TO two@domain.org\r\n", "e"),
            "* SEARCH 4\r\ne OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "f SEARCH TO group\r\n", "f"), "* SEARCH 4\r\nf OK Search completed.\r\n");
  // HEADER stays a search of the field's text.
  EXPECT_EQ(Run(*c, "g SEARCH HEADER FROM user-from@domain.org\r\n", "g"),
            "* SEARCH 2 3\r\ng OK Search completed.\r\n");
}

TEST_F(ImapSessionTest, StoreSucceedsForMessagesThatStillExist) {
  Deliver(kMsg1);
  Deliver(kMsg2);
  Deliver(kMsg1);
  auto a = LoggedIn();
  auto b = LoggedIn();
  Run(*a, "a SELECT INBOX\r\n", "a");
  Run(*b, "b SELECT INBOX\r\n", "b");
  Run(*a, "a1 STORE 2 +FLAGS.SILENT (\\Deleted)\r\n", "a1");
  EXPECT_EQ(Run(*a, "a2 EXPUNGE\r\n", "a2"), "* 2 EXPUNGE\r\na2 OK Expunge completed.\r\n");
  // RFC 2180 4.2: the messages that exist are changed; no EXPUNGE yet.
  EXPECT_EQ(
      Run(*b, "b1 STORE 1:3 +FLAGS (\\Seen)\r\n", "b1"),
      "* 1 FETCH (FLAGS (\\Seen))\r\n* 3 FETCH (FLAGS (\\Seen))\r\nb1 OK Store completed.\r\n");
  EXPECT_EQ(Run(*b, "b2 STORE 2 +FLAGS (\\Deleted)\r\n", "b2"), "b2 OK Store completed.\r\n");
  EXPECT_EQ(Run(*b, "b3 STORE 2 +FLAGS.SILENT (\\Deleted)\r\n", "b3"),
            "b3 OK Store completed.\r\n");
  EXPECT_EQ(Run(*b, "b4 FETCH 2 UID\r\n", "b4"),
            "b4 NO [EXPUNGEISSUED] Some of the requested messages no longer exist.\r\n");
  EXPECT_EQ(Run(*b, "b5 NOOP\r\n", "b5"), "* 2 EXPUNGE\r\nb5 OK NOOP completed.\r\n");
}

TEST_F(ImapSessionTest, NewKeywordIsInFlagsBeforeAnyFetchShowsIt) {
  Deliver(kMsg1);
  Deliver(kMsg2);
  auto a = LoggedIn();
  auto b = LoggedIn();
  Run(*a, "a SELECT INBOX\r\n", "a");
  Run(*b, "b SELECT INBOX\r\n", "b");
  const std::string flags_k1 =
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft K1)\r\n"
      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft K1 \\*)] "
      "Flags permitted.\r\n";
  EXPECT_EQ(Run(*b, "b1 STORE 1 +FLAGS (K1)\r\n", "b1"),
            flags_k1 + "* 1 FETCH (FLAGS (K1))\r\nb1 OK Store completed.\r\n");
  // The other session's FETCH reads the message before its change log.
  EXPECT_EQ(Run(*a, "a1 FETCH 1 FLAGS\r\n", "a1"),
            flags_k1 + "* 1 FETCH (FLAGS (\\Recent K1))\r\na1 OK Fetch completed.\r\n");
  // Its own STORE on a message that another session gave a new keyword.
  Run(*b, "b2 STORE 2 +FLAGS.SILENT (K2)\r\n", "b2");
  const std::string flags_k2 =
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft K1 K2)\r\n"
      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft K1 K2 \\*)] "
      "Flags permitted.\r\n";
  EXPECT_EQ(Run(*a, "a2 STORE 2 +FLAGS (\\Seen)\r\n", "a2"),
            flags_k2 + "* 2 FETCH (FLAGS (\\Seen \\Recent K2))\r\na2 OK Store completed.\r\n");
  // A message arriving with a new keyword: FLAGS before EXISTS.
  Deliver(kMsg1, "INBOX", storage::Flags{0, {"K3"}});
  EXPECT_EQ(Run(*b, "b3 NOOP\r\n", "b3"),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft K1 K2 K3)\r\n"
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft K1 K2 K3 \\*)] "
            "Flags permitted.\r\n"
            "* 3 EXISTS\r\n* 1 RECENT\r\n"
            "* 2 FETCH (FLAGS (\\Seen K2))\r\nb3 OK NOOP completed.\r\n");
}

// ---- capability profiles (imap.profile, imap.capabilities) ------------------

TEST_F(ImapSessionTest, Rfc3501ProfileTurnsExtensionsOff) {
  config_.imap.profile = "rfc3501";
  Deliver(kMsg1);
  auto c = Connect();
  EXPECT_EQ(c->out.Take(),
            "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN] Pillarbox ready.\r\n");
  EXPECT_EQ(Run(*c, "a ID NIL\r\n", "a"), "a BAD Error in IMAP command ID: Unknown command.\r\n");
  EXPECT_EQ(Run(*c, "b AUTHENTICATE PLAIN AGpvZQBzZWNyZXQ=\r\n", "b"),
            "b BAD Error in IMAP command AUTHENTICATE: Initial response not supported (no "
            "SASL-IR)\r\n");
  EXPECT_EQ(Run(*c, "L LOGIN joe secret\r\n", "L"), "L OK [CAPABILITY IMAP4rev1] Logged in\r\n");
  EXPECT_EQ(Run(*c, "c CAPABILITY\r\n", "c"),
            "* CAPABILITY IMAP4rev1\r\nc OK Capability completed.\r\n");
  for (const char* cmd : {"ENABLE UTF8=ACCEPT", "NAMESPACE", "IDLE"}) {
    std::string name = std::string(cmd).substr(0, std::string(cmd).find(' '));
    EXPECT_EQ(Run(*c, std::string("d ") + cmd + "\r\n", "d"),
              "d BAD Error in IMAP command " + name + ": Unknown command.\r\n");
  }
  EXPECT_EQ(Run(*c, "e LIST () \"\" *\r\n", "e"),
            "e BAD Error in IMAP command LIST: Expected reference and mailbox name\r\n");
  EXPECT_EQ(Run(*c, "f LIST \"\" INBOX\r\n", "f"),
            "* LIST () \"/\" INBOX\r\nf OK List completed.\r\n");
  Run(*c, "g SELECT INBOX\r\n", "g");
  EXPECT_EQ(Run(*c, "h MOVE 1 Trash\r\n", "h"),
            "h BAD Error in IMAP command MOVE: Unknown command.\r\n");
  EXPECT_EQ(Run(*c, "i UID MOVE 1 Trash\r\n", "i"),
            "i BAD Error in IMAP command UID MOVE: Unknown command.\r\n");
  EXPECT_EQ(Run(*c, "j UID EXPUNGE 1\r\n", "j"),
            "j BAD Error in IMAP command UID EXPUNGE: Unknown command.\r\n");
  EXPECT_EQ(Run(*c, "k UNSELECT\r\n", "k"),
            "k BAD Error in IMAP command UNSELECT: Unknown command.\r\n");
  // No COPYUID without UIDPLUS.
  EXPECT_EQ(Run(*c, "l COPY 1 Trash\r\n", "l"), "l OK Copy completed.\r\n");
  EXPECT_EQ(Run(*c, "m EXPUNGE\r\n", "m"), "m OK Expunge completed.\r\n");
}

TEST_F(ImapSessionTest, NoLiteralPlusRefusesNonSynchronizingLiterals) {
  config_.imap.profile = "no-literal-plus";
  auto c = Connect();
  EXPECT_EQ(c->out.Take(),
            "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN] "
            "Pillarbox ready.\r\n");
  // The literal's bytes arrive anyway: they are skipped with the command,
  // wherever the input is split, and the next command works.
  const std::string input = "a LOGIN {3+}\r\njoe secret\r\nb LOGIN {3}\r\n";
  for (std::size_t split = 0; split <= input.size(); ++split) {
    auto d = Connect();
    d->out.Take();
    std::string got = Send(*d, input.substr(0, split));
    got += Send(*d, input.substr(split));
    EXPECT_EQ(got,
              "a BAD Error in IMAP command LOGIN: Non-synchronizing literals not supported (no "
              "LITERAL+)\r\n+ OK\r\n")
        << split;
  }
  Send(*c, "b LOGIN {3}\r\n");
  EXPECT_EQ(
      Run(*c, "joe secret\r\n", "b"),
      "b OK [CAPABILITY IMAP4rev1 IMAP4rev2 ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN "
      "UIDPLUS MOVE "
      "SPECIAL-USE LIST-EXTENDED LIST-STATUS STATUS=SIZE CREATE-SPECIAL-USE QUOTA "
      "QUOTA=RES-STORAGE QUOTA=RES-MESSAGE CONDSTORE QRESYNC ESEARCH SEARCHRES PARTIAL "
      "CONTEXT=SEARCH MULTIAPPEND BINARY CATENATE SORT SORT=DISPLAY ESORT THREAD=REFERENCES "
      "THREAD=ORDEREDSUBJECT CONTEXT=SORT COMPRESS=DEFLATE UTF8=ACCEPT SAVEDATE OBJECTID NOTIFY "
      "APPENDLIMIT=52428800] Logged in\r\n");
}

TEST_F(ImapSessionTest, UserProfileAppliesAtLogin) {
  Status st = fx_.WaitStatus([&](storage::StatusCallback cb) {
    fx_.store().SetUserSetting("joe", "imap.capabilities", "-IDLE -MOVE", cb);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto c = Connect();
  // Before login the global profile (full).
  EXPECT_EQ(c->out.Take(), std::string("* OK [CAPABILITY ") + kPreCaps + "] Pillarbox ready.\r\n");
  EXPECT_EQ(
      Run(*c, "L LOGIN joe secret\r\n", "L"),
      "L OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE NAMESPACE UNSELECT CHILDREN UIDPLUS "
      "SPECIAL-USE LIST-EXTENDED LIST-STATUS STATUS=SIZE CREATE-SPECIAL-USE QUOTA "
      "QUOTA=RES-STORAGE QUOTA=RES-MESSAGE CONDSTORE QRESYNC ESEARCH SEARCHRES PARTIAL "
      "CONTEXT=SEARCH MULTIAPPEND BINARY CATENATE SORT SORT=DISPLAY ESORT THREAD=REFERENCES "
      "THREAD=ORDEREDSUBJECT CONTEXT=SORT COMPRESS=DEFLATE UTF8=ACCEPT SAVEDATE OBJECTID NOTIFY "
      "APPENDLIMIT=52428800] "
      "Logged in\r\n");
  EXPECT_EQ(Run(*c, "a IDLE\r\n", "a"), "a BAD Error in IMAP command IDLE: Unknown command.\r\n");
}

// ---- fault injection (protocols/faults.h) -----------------------------------

TEST_F(ImapSessionTest, FaultRulesParseAndFire) {
  EXPECT_FALSE(protocols::ParseFaultRules(R"([{"protocol":"imap","action":"boom"}])").ok());
  EXPECT_FALSE(protocols::ParseFaultRules(R"([{"protocol":"imap","action":"bye","x":1}])").ok());
  auto rules = protocols::ParseFaultRules(
      R"([{"protocol":"imap","command":"noop","user":"JOE","action":"reply",)"
      R"("reply":"NO [UNAVAILABLE] injected","count":1},)"
      R"({"protocol":"imap","command":"FETCH","action":"disconnect","after_bytes":20}])");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  protocols::FaultRegistry::Global().Replace(std::move(*rules));
  Deliver(kMsg1);
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a NOOP\r\n", "a"), "a NO [UNAVAILABLE] injected\r\n");
  EXPECT_EQ(Run(*c, "b NOOP\r\n", "b"), "b OK NOOP completed.\r\n");
  Run(*c, "c SELECT INBOX\r\n", "c");
  c->session->OnInput("d FETCH 1 BODY[]\r\n");
  fx_.RunUntil([&] {
    timers_.Advance(std::chrono::milliseconds(0));
    return c->out.closed();
  });
  EXPECT_TRUE(c->out.closed());
  EXPECT_EQ(c->out.Take().size(), 20u);
  protocols::FaultRegistry::Global().Clear();
}

}  // namespace
}  // namespace pillarbox::imap
