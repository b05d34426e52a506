// IMAP session transcripts for COMPRESS=DEFLATE (RFC 4978), UTF8=ACCEPT
// (RFC 6855), IMAP4rev2 (RFC 9051), SAVEDATE (RFC 8514) and OBJECTID
// (RFC 8474). The compression itself is the connection's
// (tests/unit/server/connection_test.cpp); here, what the session says and
// when it asks for it.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "protocols/imap/imap_format.h"
#include "protocols/imap/imap_session.h"
#include "protocols/imap/object_id.h"
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

// Records where in the output the session asked for compression.
struct WireOutput : FakeOutput {
  protocols::ConnectionInfo* info = nullptr;
  std::size_t compress_at = std::string::npos;  // offset in written()
  bool refuse = false;
  bool StartCompression() override {
    if (refuse || info->compressed) return false;
    compress_at = written().size();
    info->compressed = true;
    return true;
  }
};

using Client = session_test::BasicClient<WireOutput>;

class WireTest : public session_test::SessionFixture {
 protected:
  std::unique_ptr<Client> Connect() { return SessionFixture::Connect<Client>(); }
  std::unique_ptr<Client> LoggedIn() { return SessionFixture::LoggedIn<Client>(); }

  storage::MessageRecord Message(const std::string& mailbox, storage::Uid uid) {
    auto m = fx_.store().Read()->GetMessage(Mailbox(mailbox).id, uid);
    EXPECT_TRUE(m.ok());
    return m.ok() ? *m : storage::MessageRecord{};
  }
  storage::Uid Deliver(const std::string& bytes, const std::string& mailbox = "INBOX") {
    auto r = fx_.Deliver(user_.id, bytes, mailbox);
    fx_.RunPending();
    return r.uid;
  }
  std::string Id(const storage::MailboxRecord& mb) { return MailboxObjectId(mb.id); }
};

// ---- COMPRESS ---------------------------------------------------------------

TEST_F(WireTest, CompressIsRefusedBeforeLogin) {
  auto c = Connect();
  EXPECT_EQ(Run(*c, "a COMPRESS DEFLATE\r\n", "a"), "a BAD Not logged in.\r\n");
  EXPECT_EQ(c->out.compress_at, std::string::npos);
}

TEST_F(WireTest, CompressStartsRightAfterTheOk) {
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a COMPRESS LZW\r\n", "a"), "a NO Unknown compression algorithm.\r\n");
  EXPECT_EQ(Run(*c, "b COMPRESS\r\n", "b"),
            "b BAD Error in IMAP command COMPRESS: Expected a compression algorithm\r\n");
  // Whatever was pipelined after the command is not taken as plaintext.
  c->session->OnInput("c COMPRESS deflate\r\nd NOOP\r\n");
  fx_.RunPending();
  EXPECT_EQ(c->out.written(), "c OK DEFLATE active\r\n");
  EXPECT_EQ(c->out.compress_at, c->out.written().size());
  c->out.Take();
  EXPECT_TRUE(c->info.compressed);
  // Input from now on is what the connection inflated.
  EXPECT_EQ(Run(*c, "e COMPRESS DEFLATE\r\n", "e"),
            "e NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS.\r\n");
  EXPECT_EQ(Run(*c, "f NOOP\r\n", "f"), "f OK NOOP completed.\r\n");
}

TEST_F(WireTest, CompressOffInTheProfileIsAnUnknownCommand) {
  config_.imap.capabilities = "-COMPRESS=DEFLATE";
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a CAPABILITY\r\n", "a").find("COMPRESS"), std::string::npos);
  EXPECT_EQ(Run(*c, "b COMPRESS DEFLATE\r\n", "b"),
            "b BAD Error in IMAP command COMPRESS: Unknown command.\r\n");
}

TEST_F(WireTest, CompressThatTheConnectionCannotStartCloses) {
  auto c = LoggedIn();
  c->out.refuse = true;
  EXPECT_EQ(Run(*c, "a COMPRESS DEFLATE\r\n", "a"), "a OK DEFLATE active\r\n");
  EXPECT_TRUE(c->out.closed());
}

// ---- UTF8=ACCEPT ------------------------------------------------------------

TEST_F(WireTest, Utf8AcceptNamesTravelAsUtf8) {
  auto u = LoggedIn();
  auto m = LoggedIn();
  EXPECT_EQ(Run(*u, "a ENABLE UTF8=ACCEPT\r\n", "a"), "* ENABLED UTF8=ACCEPT\r\na OK Enabled.\r\n");
  // Enabled once: not reported again.
  EXPECT_EQ(Run(*u, "b ENABLE utf8=accept\r\n", "b"), "* ENABLED\r\nb OK Enabled.\r\n");
  std::string r = Run(*u, "c CREATE \"Répertoire\"\r\n", "c");
  EXPECT_TRUE(r.starts_with("c OK")) << r;
  // "&" is an ordinary character in UTF-8 names.
  r = Run(*u, "d CREATE \"R&D\"\r\n", "d");
  EXPECT_TRUE(r.starts_with("d OK")) << r;
  EXPECT_TRUE(fx_.store().Read()->FindMailbox(user_.id, "Répertoire").ok());
  EXPECT_TRUE(fx_.store().Read()->FindMailbox(user_.id, "R&D").ok());
  EXPECT_EQ(Run(*u, "e LIST \"\" \"R*\"\r\n", "e"),
            "* LIST (\\HasNoChildren) \"/\" R&D\r\n"
            "* LIST (\\HasNoChildren) \"/\" \"Répertoire\"\r\n"
            "e OK List completed.\r\n");
  // A session without UTF8=ACCEPT sees modified UTF-7.
  EXPECT_EQ(Run(*m, "e LIST \"\" \"R*\"\r\n", "e"),
            "* LIST (\\HasNoChildren) \"/\" R&-D\r\n"
            "* LIST (\\HasNoChildren) \"/\" R&AOk-pertoire\r\n"
            "e OK List completed.\r\n");
  EXPECT_EQ(Run(*u, "f STATUS \"Répertoire\" (MESSAGES)\r\n", "f"),
            "* STATUS \"Répertoire\" (MESSAGES 0)\r\nf OK Status completed.\r\n");
  EXPECT_EQ(Run(*u, "g SELECT \"R\xff\"\r\n", "g"),
            "g NO [CANNOT] Mailbox name is not valid UTF-8\r\n");
  // An unquoted UTF-8 name is an atom.
  r = Run(*u, "h SELECT Répertoire\r\n", "h");
  EXPECT_NE(r.find("h OK [READ-WRITE]"), std::string::npos) << r;
}

TEST_F(WireTest, Utf8AppendDataExtension) {
  auto c = LoggedIn();
  // RFC 6855 4: only once UTF8=ACCEPT is enabled.
  std::string msg = "Subject: Grüße\r\n\r\nHallo.\r\n";
  std::string append =
      "a APPEND INBOX UTF8 (~{" + std::to_string(msg.size()) + "+}\r\n" + msg + ")\r\n";
  EXPECT_EQ(Run(*c, append, "a"),
            "a BAD Error in IMAP command APPEND: UTF8 requires ENABLE UTF8=ACCEPT\r\n");
  Run(*c, "b ENABLE UTF8=ACCEPT\r\n", "b");
  append[0] = 'c';
  std::string r = Run(*c, append, "c");
  EXPECT_TRUE(r.starts_with("c OK [APPENDUID ")) << r;
  auto bytes = fx_.store().Read()->Blob(Message("INBOX", 1).blob);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(std::string(*bytes), msg);
}

// ---- IMAP4rev2 --------------------------------------------------------------

TEST_F(WireTest, Rev2HasNoRecentAndAnnouncesClosed) {
  Deliver(kMsg);
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a ENABLE IMAP4rev2\r\n", "a"), "* ENABLED IMAP4REV2\r\na OK Enabled.\r\n");
  auto inbox = Mailbox("INBOX");
  EXPECT_EQ(Run(*c, "b SELECT INBOX\r\n", "b"),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags "
            "permitted.\r\n"
            "* 1 EXISTS\r\n"
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
            "* OK [UIDVALIDITY " +
                std::to_string(inbox.uidvalidity) +
                "] UIDs valid\r\n"
                "* OK [UIDNEXT 2] Predicted next UID\r\n"
                "* OK [MAILBOXID (" +
                Id(inbox) +
                ")] Ok\r\n"
                "b OK [READ-WRITE] Select completed.\r\n");
  EXPECT_EQ(Run(*c, "c FETCH 1 FLAGS\r\n", "c"),
            "* 1 FETCH (FLAGS ())\r\nc OK Fetch completed.\r\n");
  // New mail during IDLE: EXISTS, no RECENT.
  EXPECT_EQ(Run(*c, "d IDLE\r\n", "+"), "+ idling\r\n");
  Deliver(kMsg);
  EXPECT_EQ(c->out.Take(), "* 2 EXISTS\r\n");
  EXPECT_EQ(Run(*c, "DONE\r\n", "d"), "d OK Idle completed.\r\n");
  EXPECT_EQ(Run(*c, "e SEARCH RECENT\r\n", "e").find("SEARCH 1"), std::string::npos);
  // Selecting again tells the client the previous mailbox is closed.
  std::string r = Run(*c, "f EXAMINE INBOX\r\n", "f");
  EXPECT_TRUE(r.starts_with("* OK [CLOSED] Previous mailbox closed.\r\n")) << r;
  // SEARCH answers with ESEARCH (RFC 9051 6.4.4).
  EXPECT_EQ(Run(*c, "s SEARCH ALL\r\n", "s"),
            "* ESEARCH (TAG \"s\") ALL 1:2\r\ns OK Search completed.\r\n");
  // An IMAP4rev2 session takes no \Recent away from an IMAP4rev1 one.
  auto old = LoggedIn();
  r = Run(*old, "g SELECT INBOX\r\n", "g");
  EXPECT_NE(r.find("* 2 RECENT\r\n"), std::string::npos) << r;
  EXPECT_EQ(r.find("[CLOSED]"), std::string::npos);
}

// RFC 9051 has no \Recent: no RECENT, NEW, OLD search keys and no STATUS
// RECENT (refused like unknown ones). LSUB is only deprecated there (and
// the server still announces IMAP4rev1), so it keeps working.
TEST_F(WireTest, Rev2RefusesRecentKeysAndKeepsLsub) {
  Deliver(kMsg);
  auto c = LoggedIn();
  Run(*c, "a ENABLE IMAP4rev2\r\n", "a");
  Run(*c, "b SELECT INBOX\r\n", "b");
  EXPECT_EQ(Run(*c, "c SEARCH RECENT\r\n", "c"),
            "c BAD Error in IMAP command SEARCH: Unknown argument RECENT\r\n");
  EXPECT_EQ(Run(*c, "d UID SEARCH NOT new\r\n", "d"),
            "d BAD Error in IMAP command UID SEARCH: Unknown argument new\r\n");
  EXPECT_EQ(Run(*c, "e SORT (ARRIVAL) UTF-8 OR SEEN OLD\r\n", "e"),
            "e BAD Error in IMAP command SORT: Unknown argument OLD\r\n");
  EXPECT_EQ(Run(*c, "f THREAD ORDEREDSUBJECT UTF-8 (ALL RECENT)\r\n", "f"),
            "f BAD Error in IMAP command THREAD: Unknown argument RECENT\r\n");
  EXPECT_EQ(Run(*c, "g STATUS INBOX (MESSAGES RECENT)\r\n", "g"),
            "g BAD Error in IMAP command STATUS: Invalid status item\r\n");
  EXPECT_EQ(Run(*c, "h STATUS INBOX (MESSAGES)\r\n", "h"),
            "* STATUS INBOX (MESSAGES 1)\r\nh OK Status completed.\r\n");
  EXPECT_EQ(Run(*c, "j LSUB \"\" INBOX\r\n", "j"),
            "* LSUB () \"/\" INBOX\r\nj OK Lsub completed.\r\n");
  // An IMAP4rev1 session keeps them all.
  auto old = LoggedIn();
  Run(*old, "a SELECT INBOX\r\n", "a");
  EXPECT_EQ(Run(*old, "b SEARCH OR RECENT OLD\r\n", "b"),
            "* SEARCH 1\r\nb OK Search completed.\r\n");
  EXPECT_EQ(Run(*old, "c STATUS INBOX (RECENT)\r\n", "c"),
            "* STATUS INBOX (RECENT 1)\r\nc OK Status completed.\r\n");
}

TEST_F(WireTest, Rev2StatusDeletedAndClientsWithoutIt) {
  Deliver(kMsg);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  Run(*c, "b STORE 1 +FLAGS (\\Deleted)\r\n", "b");
  EXPECT_EQ(Run(*c, "c STATUS INBOX (MESSAGES DELETED)\r\n", "c"),
            "* STATUS INBOX (MESSAGES 1 DELETED 1)\r\nc OK Status completed.\r\n");
  // IMAP4rev1: a second SELECT says nothing about closing.
  std::string r = Run(*c, "d SELECT INBOX\r\n", "d");
  EXPECT_EQ(r.find("[CLOSED]"), std::string::npos);
  EXPECT_NE(r.find("RECENT\r\n"), std::string::npos);
  config_.imap.capabilities = "-IMAP4REV2";
  auto d = LoggedIn();
  EXPECT_EQ(Run(*d, "a CAPABILITY\r\n", "a").find("IMAP4rev2"), std::string::npos);
  EXPECT_EQ(Run(*d, "b ENABLE IMAP4rev2\r\n", "b"), "* ENABLED\r\nb OK Enabled.\r\n");
}

// ---- SAVEDATE ---------------------------------------------------------------

TEST_F(WireTest, SaveDateFetchAndSearch) {
  storage::Uid uid = Deliver(kMsg);
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  storage::MessageRecord rec = Message("INBOX", uid);
  ASSERT_NE(rec.saved, 0);
  EXPECT_EQ(
      Run(*c, "b FETCH 1 (SAVEDATE)\r\n", "b"),
      "* 1 FETCH (SAVEDATE " + FormatInternalDate(rec.saved, 0) + ")\r\nb OK Fetch completed.\r\n");
  // The day of the save date, as SEARCH writes dates: "d-Mon-yyyy".
  std::string day = FormatInternalDate(rec.saved, 0).substr(1, 11);
  if (day[0] == ' ') day = day.substr(1);
  EXPECT_EQ(Run(*c, "c SEARCH SAVEDON " + day + "\r\n", "c"),
            "* SEARCH 1\r\nc OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "d SEARCH SAVEDSINCE 1-Jan-2000 SAVEDATESUPPORTED\r\n", "d"),
            "* SEARCH 1\r\nd OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "e SEARCH SAVEDBEFORE 1-Jan-2000\r\n", "e"),
            "* SEARCH\r\ne OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "f SEARCH SAVEDBEFORE\r\n", "f").substr(0, 5), "f BAD");
}

// ---- OBJECTID ---------------------------------------------------------------

TEST_F(WireTest, ObjectIds) {
  storage::Uid uid = Deliver(kMsg);
  auto c = LoggedIn();
  std::string r = Run(*c, "a CREATE Stuff\r\n", "a");
  auto archive = Mailbox("Stuff");
  EXPECT_EQ(r, "a OK [MAILBOXID (" + Id(archive) + ")] Create completed.\r\n");
  EXPECT_TRUE(IsObjectId(Id(archive)));
  EXPECT_EQ(
      Run(*c, "b STATUS Stuff (MAILBOXID MESSAGES)\r\n", "b"),
      "* STATUS Stuff (MAILBOXID (" + Id(archive) + ") MESSAGES 0)\r\nb OK Status completed.\r\n");
  // RENAME keeps the id.
  Run(*c, "c RENAME Stuff Old\r\n", "c");
  EXPECT_EQ(Run(*c, "d STATUS Old (MAILBOXID)\r\n", "d"),
            "* STATUS Old (MAILBOXID (" + Id(archive) + "))\r\nd OK Status completed.\r\n");
  Run(*c, "e SELECT INBOX\r\n", "e");
  std::string email = EmailId(Message("INBOX", uid));
  EXPECT_TRUE(IsObjectId(email));
  // No Message-ID, no References: a thread of its own, named by its content.
  const std::string thread = "T" + Message("INBOX", uid).blob.Hex().substr(0, 16);
  EXPECT_EQ(
      Run(*c, "f FETCH 1 (EMAILID THREADID)\r\n", "f"),
      "* 1 FETCH (EMAILID (" + email + ") THREADID (" + thread + "))\r\nf OK Fetch completed.\r\n");
  // A copy is the same immutable content: the same EMAILID (RFC 8474 5.1).
  Run(*c, "g COPY 1 Old\r\n", "g");
  Run(*c, "h SELECT Old\r\n", "h");
  EXPECT_EQ(Run(*c, "i UID FETCH 1:* EMAILID\r\n", "i"),
            "* 1 FETCH (UID 1 EMAILID (" + email + "))\r\ni OK Fetch completed.\r\n");
  EXPECT_EQ(Run(*c, "j SEARCH EMAILID " + email + "\r\n", "j"),
            "* SEARCH 1\r\nj OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "k SEARCH THREADID T1\r\n", "k"), "* SEARCH\r\nk OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "l SEARCH EMAILID bad!id\r\n", "l").substr(0, 5), "l BAD");
}

// THREADID (RFC 8474 5.2): a message and its replies share one, named by
// the thread's first Message-ID; another thread has another.
TEST_F(WireTest, ThreadIdsFollowReferences) {
  auto msg = [](const std::string& headers) { return headers + "Subject: t\r\n\r\nx\r\n"; };
  Deliver(msg("Message-ID: <root@x>\r\n"));
  Deliver(msg("Message-ID: <r1@x>\r\nIn-Reply-To: <root@x>\r\n"));
  Deliver(msg("Message-ID: <r2@x>\r\nReferences: <root@x> <r1@x>\r\n"));
  Deliver(msg("Message-ID: <other@x>\r\n"));
  Deliver(msg("Message-ID: <r3@x>\r\nReferences: <other@x>\r\nIn-Reply-To: <other@x>\r\n"));
  auto c = LoggedIn();
  Run(*c, "s SELECT INBOX\r\n", "s");
  std::string r = Run(*c, "f FETCH 1:5 THREADID\r\n", "f");
  std::vector<std::string> ids;
  for (std::size_t at = r.find("THREADID ("); at != std::string::npos;
       at = r.find("THREADID (", at + 1)) {
    std::size_t start = at + 10;
    ids.push_back(r.substr(start, r.find(')', start) - start));
  }
  ASSERT_EQ(ids.size(), 5u) << r;
  for (const auto& id : ids) EXPECT_TRUE(IsObjectId(id)) << id;
  EXPECT_EQ(ids[0], ids[1]);
  EXPECT_EQ(ids[0], ids[2]);
  EXPECT_NE(ids[0], ids[3]);
  EXPECT_EQ(ids[3], ids[4]);
  EXPECT_EQ(Run(*c, "k SEARCH THREADID " + ids[0] + "\r\n", "k"),
            "* SEARCH 1 2 3\r\nk OK Search completed.\r\n");
  EXPECT_EQ(Run(*c, "l UID SEARCH NOT THREADID " + ids[0] + "\r\n", "l"),
            "* SEARCH 4 5\r\nl OK Search completed.\r\n");
  // The same in another mailbox: a copy keeps its thread.
  Run(*c, "m CREATE Keep\r\n", "m");
  Run(*c, "n COPY 3 Keep\r\n", "n");
  Run(*c, "o SELECT Keep\r\n", "o");
  EXPECT_EQ(Run(*c, "p FETCH 1 THREADID\r\n", "p"),
            "* 1 FETCH (THREADID (" + ids[0] + "))\r\np OK Fetch completed.\r\n");
}

TEST_F(WireTest, ObjectIdOffInTheProfile) {
  Deliver(kMsg);
  config_.imap.capabilities = "-OBJECTID -SAVEDATE";
  auto c = LoggedIn();
  EXPECT_EQ(Run(*c, "a CREATE Box\r\n", "a"), "a OK Create completed.\r\n");
  std::string r = Run(*c, "b SELECT INBOX\r\n", "b");
  EXPECT_EQ(r.find("MAILBOXID"), std::string::npos);
  EXPECT_EQ(Run(*c, "c FETCH 1 EMAILID\r\n", "c"),
            "c BAD Error in IMAP command FETCH: Invalid fetch item\r\n");
  EXPECT_EQ(Run(*c, "d FETCH 1 SAVEDATE\r\n", "d"),
            "d BAD Error in IMAP command FETCH: Invalid fetch item\r\n");
  EXPECT_EQ(Run(*c, "e STATUS INBOX (MAILBOXID)\r\n", "e"),
            "e BAD Error in IMAP command STATUS: Invalid status item\r\n");
  EXPECT_EQ(Run(*c, "f FETCH 1 (FLAGS THREADID)\r\n", "f"),
            "f BAD Error in IMAP command FETCH: Invalid fetch item\r\n");
}

// The search keys of a turned-off SAVEDATE or OBJECTID are unknown ones, in
// SEARCH, SORT and THREAD alike, wherever they stand; other keys still work.
TEST_F(WireTest, SaveDateAndObjectIdSearchKeysOffInTheProfile) {
  Deliver(kMsg);
  config_.imap.capabilities = "-OBJECTID -SAVEDATE";
  auto c = LoggedIn();
  Run(*c, "a SELECT INBOX\r\n", "a");
  const std::pair<std::string, std::string> kRefused[] = {
      {"SEARCH SAVEDBEFORE 1-Jan-2000", "SAVEDBEFORE"},
      {"SEARCH savedon 1-Jan-2000", "savedon"},
      {"SEARCH ALL (SAVEDSINCE 1-Jan-2000)", "SAVEDSINCE"},
      {"SEARCH NOT SAVEDATESUPPORTED", "SAVEDATESUPPORTED"},
      {"SEARCH OR ALL EMAILID M0123456789abcdef", "EMAILID"},
      {"UID SEARCH RETURN (COUNT) THREADID T1", "THREADID"},
      {"SORT (DATE) UTF-8 SAVEDSINCE 1-Jan-2000", "SAVEDSINCE"},
      {"THREAD REFERENCES UTF-8 EMAILID M0123456789abcdef", "EMAILID"},
  };
  for (const auto& [command, key] : kRefused) {
    std::string verb = command.substr(0, command.find(' '));
    if (verb == "UID") verb = "UID " + command.substr(4, command.find(' ', 4) - 4);
    EXPECT_EQ(Run(*c, "b " + command + "\r\n", "b"),
              "b BAD Error in IMAP command " + verb + ": Unknown argument " + key + "\r\n")
        << command;
  }
  EXPECT_EQ(Run(*c, "c SEARCH SINCE 1-Jan-2000\r\n", "c"),
            "* SEARCH 1\r\nc OK Search completed.\r\n");
  // With the extensions on, the same keys are fine.
  config_.imap.capabilities = "";
  auto d = LoggedIn();
  Run(*d, "a SELECT INBOX\r\n", "a");
  EXPECT_EQ(Run(*d, "b SORT (DATE) UTF-8 SAVEDSINCE 1-Jan-2000\r\n", "b"),
            "* SORT 1\r\nb OK Sort completed.\r\n");
  EXPECT_EQ(Run(*d, "c SEARCH NOT THREADID T1\r\n", "c"),
            "* SEARCH 1\r\nc OK Search completed.\r\n");
}

}  // namespace
}  // namespace pillarbox::imap
