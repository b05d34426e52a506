// IMAP APPEND extensions, as transcripts against a store in a temporary
// directory: MULTIAPPEND (RFC 3502), APPENDLIMIT (RFC 7889), BINARY's
// literal8 and FETCH BINARY (RFC 3516), CATENATE (RFC 4469).
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

// RFC 3502 section 6's example messages (line endings CRLF).
const char kRfcMsg1[] =
    "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
    "From: Fred Foobar <foobar@Blurdybloop.example.COM>\r\n"
    "Subject: afternoon meeting\r\n"
    "To: mooch@owatagu.example.net\r\n"
    "Message-Id: <B27397-0100000@Blurdybloop.example.COM>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    "\r\n"
    "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
const char kRfcMsg2[] =
    "Date: Mon, 7 Feb 1994 22:43:04 -0800 (PST)\r\n"
    "From: Joe Mooch <mooch@OWATAGU.example.net>\r\n"
    "Subject: Re: afternoon meeting\r\n"
    "To: foobar@blurdybloop.example.com\r\n"
    "Message-Id: <a0434793874930@OWATAGU.example.net>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    "\r\n"
    "3:30 is fine with me.\r\n";

// Parts in each transfer encoding: 1 base64 ("hello world"), 2
// quoted-printable, 3 base64 of bytes with NUL, 4 an unknown encoding, 5
// 7bit.
const char kMime[] =
    "From: a@example.com\r\n"
    "Subject: parts\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "aGVsbG8gd29ybGQ=\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9 =3D soft=\r\n"
    "break\r\n"
    "--b\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: BASE64\r\n"
    "\r\n"
    "YQBi\r\n"
    "--b\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: x-uuencode\r\n"
    "\r\n"
    "begin 644 x\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "plain\r\n"
    "--b--\r\n";

std::string Lit(const std::string& bytes) {
  return "{" + std::to_string(bytes.size()) + "+}\r\n" + bytes;
}

class AppendSessionTest : public session_test::SessionFixture {
 protected:
  AppendSessionTest() {}

  void Connect() {
    info_.peer_ip = "127.0.0.1";
    info_.loopback = true;
    session_ = MakeSession(ctx_, info_, out_);  // keeps a reference to info_
    session_->Start();
    out_.Take();
    Run("L LOGIN joe secret\r\n", "L");
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
  std::string Send(const std::string& input) {
    session_->OnInput(input);
    fx_.RunPending();
    return out_.Take();
  }

  storage::MailboxRecord Mailbox(const std::string& name) {
    auto view = fx_.store().Read();
    auto mb = view->FindMailbox(user_.id, name);
    EXPECT_TRUE(mb.ok()) << name;
    return mb.ok() ? *mb : storage::MailboxRecord{};
  }
  std::string Validity(const std::string& name = "INBOX") {
    return std::to_string(Mailbox(name).uidvalidity);
  }
  std::size_t Count(const std::string& name = "INBOX") { return Mailbox(name).messages; }
  std::string Blob(storage::Uid uid, const std::string& name = "INBOX") {
    auto mb = Mailbox(name);
    auto view = fx_.store().Read();
    auto rec = view->GetMessage(mb.id, uid);
    if (!rec.ok()) return "<no message>";
    auto blob = view->Blob(rec->blob);
    return blob.ok() ? std::string(*blob) : "<no blob>";
  }
  storage::Uid Deliver(const std::string& bytes) {
    auto r = fx_.Deliver(user_.id, bytes);
    fx_.RunPending();
    return r.uid;
  }

  protocols::ConnectionInfo info_;
  FakeOutput out_;
  std::unique_ptr<protocols::Session> session_;
};

// ---- MULTIAPPEND -------------------------------------------------------------

// RFC 3502 section 6: two messages, flags and a date for the second.
TEST_F(AppendSessionTest, MultiAppendRfcExample) {
  Connect();
  std::string m1 = kRfcMsg1, m2 = kRfcMsg2;
  EXPECT_EQ(Send("A003 APPEND saved-messages (\\Seen) {" + std::to_string(m1.size()) + "}\r\n"),
            "+ OK\r\n");
  EXPECT_EQ(
      Send(m1 + " (\\Seen) \"07-Feb-1994 22:43:04 -0800\" {" + std::to_string(m2.size()) + "}\r\n"),
      "+ OK\r\n");
  EXPECT_EQ(Run(m2 + "\r\n", "A003"),
            "A003 NO [TRYCREATE] Mailbox doesn't exist: saved-messages\r\n");
  Run("c CREATE saved-messages\r\n", "c");
  std::string cmd = "A004 APPEND saved-messages (\\Seen) " + Lit(m1) +
                    " (\\Seen) \"07-Feb-1994 22:43:04 -0800\" " + Lit(m2) + "\r\n";
  EXPECT_EQ(Run(cmd, "A004"),
            "A004 OK [APPENDUID " + Validity("saved-messages") + " 1:2] Append completed.\r\n");
  EXPECT_EQ(Blob(1, "saved-messages"), m1);
  EXPECT_EQ(Blob(2, "saved-messages"), m2);
  Run("s SELECT saved-messages\r\n", "s");
  EXPECT_EQ(Run("f FETCH 1:2 (FLAGS)\r\n", "f"),
            "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n* 2 FETCH (FLAGS (\\Seen \\Recent))\r\n"
            "f OK Fetch completed.\r\n");
  EXPECT_EQ(Run("g FETCH 2 INTERNALDATE\r\n", "g"),
            "* 2 FETCH (INTERNALDATE \"07-Feb-1994 22:43:04 -0800\")\r\ng OK Fetch completed.\r\n");
  // Appended to the selected mailbox: EXISTS before the tagged answer.
  EXPECT_EQ(Run("h APPEND saved-messages " + Lit(m1) + " " + Lit(m2) + " " + Lit(m1) + "\r\n", "h"),
            "* 5 EXISTS\r\n* 5 RECENT\r\nh OK [APPENDUID " + Validity("saved-messages") +
                " 3:5] Append completed.\r\n");
}

// A message refused in the middle of the set stores none of them.
TEST_F(AppendSessionTest, MultiAppendFailureInTheMiddleStoresNothing) {
  Connect();
  std::string m = kRfcMsg1;
  // A bad flag list on the second message.
  EXPECT_EQ(Run("a APPEND INBOX " + Lit(m) + " (\\Recent) " + Lit(m) + "\r\n", "a"),
            "a BAD Error in IMAP command APPEND: Invalid system flag \\Recent\r\n");
  // An empty second message.
  EXPECT_EQ(Run("b APPEND INBOX " + Lit(m) + " {0+}\r\n " + Lit(m) + "\r\n", "b"),
            "b NO [CANNOT] Can't save a zero byte message.\r\n");
  // A missing literal after flags.
  EXPECT_EQ(Run("c APPEND INBOX " + Lit(m) + " (\\Seen)\r\n", "c"),
            "c BAD Error in IMAP command APPEND: Expected a message literal\r\n");
  // Something that is not a message.
  EXPECT_EQ(Run("d APPEND INBOX " + Lit(m) + " foo\r\n", "d"),
            "d BAD Error in IMAP command APPEND: Expected a message literal\r\n");
  EXPECT_EQ(Count(), 0u);
  // The quota takes two messages' bytes less one: the first would fit.
  Status st = fx_.WaitStatus(
      [&](storage::StatusCallback cb) { fx_.store().SetQuota("joe", 2 * m.size() - 1, 0, cb); });
  ASSERT_TRUE(st.ok());
  // (With the usage and limits in KiB first: QUOTA, RFC 9208.)
  EXPECT_EQ(Run("e APPEND INBOX " + Lit(m) + " " + Lit(m) + "\r\n", "e"),
            "* QUOTA \"\" (STORAGE 0 1)\r\ne NO [OVERQUOTA] Quota exceeded (mailbox for user is "
            "full).\r\n");
  EXPECT_EQ(Count(), 0u);
  EXPECT_TRUE(fx_.store().CheckConsistency().ok());
  EXPECT_EQ(Run("f APPEND INBOX " + Lit(m) + "\r\n", "f"),
            "f OK [APPENDUID " + Validity() + " 1] Append completed.\r\n");
}

// A literal over APPENDLIMIT in the middle: [TOOBIG] for the command, its
// bytes are skipped, nothing is stored, and the connection goes on.
TEST_F(AppendSessionTest, MultiAppendTooBigInTheMiddle) {
  config_.limits.max_message_size = 100;
  Connect();
  std::string small(50, 's'), big(101, 'b');
  EXPECT_EQ(
      Run("a APPEND INBOX " + Lit(small) + " " + Lit(big) + " " + Lit(small) + "\r\nb NOOP\r\n",
          "b"),
      "a NO [TOOBIG] Message too large\r\nb OK NOOP completed.\r\n");
  // A synchronizing one is refused before the client sends it.
  EXPECT_EQ(Send("c APPEND INBOX " + Lit(small) + " {101}\r\n"),
            "c NO [TOOBIG] Message too large\r\n");
  EXPECT_EQ(Count(), 0u);
}

TEST_F(AppendSessionTest, MultiAppendOffInTheProfile) {
  config_.imap.capabilities = "-MULTIAPPEND";
  Connect();
  std::string m = kRfcMsg1;
  EXPECT_EQ(Run("a CAPABILITY\r\n", "a").find("MULTIAPPEND"), std::string::npos);
  EXPECT_EQ(Run("b APPEND INBOX " + Lit(m) + " " + Lit(m) + "\r\n", "b"),
            "b BAD Error in IMAP command APPEND: Expected one message literal\r\n");
  EXPECT_EQ(Count(), 0u);
}

// ---- APPENDLIMIT ---------------------------------------------------------------

TEST_F(AppendSessionTest, AppendLimitAdvertisedAndInStatus) {
  config_.limits.max_message_size = 12345;
  Connect();
  std::string caps = Run("a CAPABILITY\r\n", "a");
  EXPECT_NE(caps.find(" APPENDLIMIT=12345"), std::string::npos) << caps;
  EXPECT_EQ(Run("b STATUS INBOX (MESSAGES APPENDLIMIT)\r\n", "b"),
            "* STATUS INBOX (MESSAGES 0 APPENDLIMIT 12345)\r\nb OK Status completed.\r\n");
  EXPECT_EQ(Send("c APPEND INBOX {12346}\r\n"), "c NO [TOOBIG] Message too large\r\n");
}

TEST_F(AppendSessionTest, AppendLimitOffInTheProfile) {
  config_.imap.capabilities = "-APPENDLIMIT";
  Connect();
  EXPECT_EQ(Run("a CAPABILITY\r\n", "a").find("APPENDLIMIT"), std::string::npos);
  EXPECT_EQ(Run("b STATUS INBOX (APPENDLIMIT)\r\n", "b"),
            "b BAD Error in IMAP command STATUS: Invalid status item\r\n");
}

// ---- BINARY ------------------------------------------------------------------------

// A literal8 is stored as given: lone LF and CR are data. A part that
// holds NUL is stored base64-encoded (IMAP literals cannot carry NUL);
// BINARY gives back its exact bytes, BODY its base64.
TEST_F(AppendSessionTest, Literal8WithNul) {
  Connect();
  const std::string header =
      "From: a@example.com\r\nContent-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: binary\r\n\r\n";
  const std::string body("\0\x01\n\r\xff\0end", 9);
  std::string msg = header + body;
  EXPECT_EQ(Send("a APPEND INBOX ~{" + std::to_string(msg.size()) + "}\r\n"), "+ OK\r\n");
  EXPECT_EQ(Run(msg + "\r\n", "a"), "a OK [APPENDUID " + Validity() + " 1] Append completed.\r\n");
  EXPECT_EQ(Blob(1),
            "From: a@example.com\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nAAEKDf8AZW5k");
  Run("s SELECT INBOX\r\n", "s");
  EXPECT_EQ(Run("f FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1] BODY.PEEK[1])\r\n", "f"),
            "* 1 FETCH (BINARY.SIZE[1] 9 BINARY[1] ~{9}\r\n" + body +
                " BODY[1] {12}\r\nAAEKDf8AZW5k)\r\nf OK Fetch completed.\r\n");
  // Without NUL, a literal8 is kept byte for byte (lone LF included)...
  std::string lf = "A: b\n\nc\rd";
  EXPECT_NE(Run("b APPEND INBOX ~{9+}\r\n" + lf + "\r\n", "b").find("b OK [APPENDUID"),
            std::string::npos);
  EXPECT_EQ(Blob(2), lf);
  // ...and a plain literal is normalized to CRLF as before.
  EXPECT_NE(Run("c APPEND INBOX {7+}\r\nA: b\n\nc\r\n", "c").find("c OK [APPENDUID"),
            std::string::npos);
  EXPECT_EQ(Blob(3), "A: b\r\n\r\nc");
}

TEST_F(AppendSessionTest, Literal8OffInTheProfile) {
  config_.imap.capabilities = "-BINARY";
  Connect();
  EXPECT_EQ(Run("a APPEND INBOX ~{3+}\r\nabc\r\n", "a"),
            "a BAD Error in IMAP command APPEND: Binary literals not supported\r\n");
  Deliver(kMime);
  Run("s SELECT INBOX\r\n", "s");
  EXPECT_EQ(Run("f FETCH 1 BINARY.PEEK[1]\r\n", "f"),
            "f BAD Error in IMAP command FETCH: Invalid fetch item (no BINARY)\r\n");
}

TEST_F(AppendSessionTest, FetchBinaryDecodes) {
  Deliver(kMime);
  Connect();
  Run("s SELECT INBOX\r\n", "s");
  EXPECT_EQ(Run("a FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])\r\n", "a"),
            "* 1 FETCH (BINARY.SIZE[1] 11 BINARY[1] {11}\r\nhello world)\r\n"
            "a OK Fetch completed.\r\n");
  EXPECT_EQ(Run("b FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2])\r\n", "b"),
            "* 1 FETCH (BINARY.SIZE[2] 17 BINARY[2] {17}\r\ncaf\xC3\xA9 = softbreak)\r\n"
            "b OK Fetch completed.\r\n");
  // Decoded NUL bytes: a literal8.
  EXPECT_EQ(Run("c FETCH 1 (BINARY.SIZE[3] BINARY.PEEK[3])\r\n", "c"),
            "* 1 FETCH (BINARY.SIZE[3] 3 BINARY[3] ~{3}\r\n" + std::string("a\0b", 3) +
                ")\r\nc OK Fetch completed.\r\n");
  // Partial ranges count decoded bytes.
  EXPECT_EQ(Run("d FETCH 1 (BINARY.PEEK[1]<6.100> BINARY.PEEK[3]<2.1>)\r\n", "d"),
            "* 1 FETCH (BINARY[1]<6> {5}\r\nworld BINARY[3]<2> {1}\r\nb)\r\n"
            "d OK Fetch completed.\r\n");
  // 7bit as it is; a missing part is empty.
  EXPECT_EQ(Run("e FETCH 1 (BINARY.PEEK[5] BINARY.SIZE[9])\r\n", "e"),
            "* 1 FETCH (BINARY[5] {5}\r\nplain BINARY.SIZE[9] 0)\r\ne OK Fetch completed.\r\n");
  EXPECT_EQ(Run("f FETCH 1 BINARY.PEEK[4]\r\n", "f"),
            "f NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding.\r\n");
  EXPECT_EQ(Run("g FETCH 1 BINARY.SIZE[4]\r\n", "g"),
            "g NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding.\r\n");
  // BINARY (not PEEK) sets \Seen.
  EXPECT_EQ(Run("h FETCH 1 BINARY[1]\r\n", "h"),
            "* 1 FETCH (BINARY[1] {11}\r\nhello world FLAGS (\\Seen \\Recent))\r\n"
            "h OK Fetch completed.\r\n");
  // HEADER and friends are not BINARY sections.
  EXPECT_EQ(Run("i FETCH 1 BINARY[HEADER]\r\n", "i"),
            "i BAD Error in IMAP command FETCH: Invalid section\r\n");
}

// ---- CATENATE ----------------------------------------------------------------------

TEST_F(AppendSessionTest, CatenateTextAndUrls) {
  storage::Uid uid = Deliver(kMime);
  Connect();
  std::string v = Validity();
  std::string u = std::to_string(uid);
  EXPECT_EQ(Run("a APPEND Drafts CATENATE (URL \"/INBOX;UIDVALIDITY=" + v + "/;UID=" + u +
                    "/;SECTION=HEADER.FIELDS%20(From)\" TEXT {6+}\r\nbody\r\n URL \"/INBOX/;UID=" +
                    u + "/;SECTION=1/;PARTIAL=0.4\")\r\n",
                "a"),
            "a OK [APPENDUID " + Validity("Drafts") + " 1] Append completed.\r\n");
  EXPECT_EQ(Blob(1, "Drafts"), "From: a@example.com\r\n\r\nbody\r\naGVs");
  // The whole message; and with MULTIAPPEND, a plain literal beside it.
  EXPECT_EQ(Run("b APPEND Drafts CATENATE (URL \"imap://joe@localhost/INBOX/;UID=" + u +
                    "\") (\\Answered) {3+}\r\nx\r\n\r\n",
                "b"),
            "b OK [APPENDUID " + Validity("Drafts") + " 2:3] Append completed.\r\n");
  EXPECT_EQ(Blob(2, "Drafts"), kMime);
  EXPECT_EQ(Blob(3, "Drafts"), "x\r\n");
}

TEST_F(AppendSessionTest, CatenateBadUrlStoresNothing) {
  storage::Uid uid = Deliver(kMime);
  Connect();
  std::string u = std::to_string(uid);
  std::string wrong =
      "/INBOX;UIDVALIDITY=" + std::to_string(Mailbox("INBOX").uidvalidity + 1) + "/;UID=" + u;
  EXPECT_EQ(
      Run("a APPEND Drafts " + Lit("x") + " CATENATE (TEXT {2+}\r\nhi URL \"" + wrong + "\")\r\n",
          "a"),
      "a NO [BADURL " + wrong + "] Invalid or unknown message URL.\r\n");
  for (const std::string bad :
       {"/INBOX/;UID=99", "/Nope/;UID=1", "INBOX/;UID=1", "/INBOX/;UID=1/;SECTION=9",
        "/INBOX/;UID=1/;FOO=1", "/INBOX/;UID=0", "/INBOX/;UID=1/;PARTIAL=x"}) {
    EXPECT_EQ(Run("b APPEND Drafts CATENATE (URL \"" + bad + "\")\r\n", "b"),
              "b NO [BADURL " + bad + "] Invalid or unknown message URL.\r\n");
  }
  EXPECT_EQ(Count("Drafts"), 0u);
  // The destination is checked first.
  EXPECT_EQ(Run("c APPEND Nope CATENATE (URL \"" + wrong + "\")\r\n", "c"),
            "c NO [TRYCREATE] Mailbox doesn't exist: Nope\r\n");
  EXPECT_EQ(Run("e APPEND Drafts CATENATE (TEXT {1+}\r\nx FOO {1+}\r\ny)\r\n", "e"),
            "e BAD Error in IMAP command APPEND: Invalid CATENATE part\r\n");
  EXPECT_EQ(Count("Drafts"), 0u);
}

// The assembled message counts against APPENDLIMIT, as a literal does.
TEST_F(AppendSessionTest, CatenateTooBig) {
  config_.limits.max_message_size = 100;
  storage::Uid uid = Deliver(kMime);
  Connect();
  EXPECT_EQ(
      Run("a APPEND Drafts CATENATE (URL \"/INBOX/;UID=" + std::to_string(uid) + "\")\r\n", "a"),
      "a NO [TOOBIG] Message too large.\r\n");
  std::string half(60, 'h');
  EXPECT_EQ(
      Run("b APPEND Drafts CATENATE (TEXT " + Lit(half) + " TEXT " + Lit(half) + ")\r\n", "b"),
      "b NO [TOOBIG] Message too large.\r\n");
  EXPECT_EQ(Count("Drafts"), 0u);
}

}  // namespace
}  // namespace pillarbox::imap
