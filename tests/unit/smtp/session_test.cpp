// Transcripts of the SMTP/LMTP session against a store in a temp directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "common/memory_budget.h"
#include "protocols/smtp/smtp_session.h"
#include "tests/support/test_support.h"

namespace pillarbox::smtp {
namespace {

using testing::FakeOutput;
using testing::FakeTimers;
using testing::StoreFixture;

constexpr storage::UnixTime kNow = 1795000000;  // Wed, 18 Nov 2026 11:06:40 +0000
constexpr const char* kDate = "Wed, 18 Nov 2026 11:06:40 +0000";

class SmtpSessionTest : public ::testing::Test {
 protected:
  SmtpSessionTest() {
    cfg_.limits.max_message_size = 10000;
    cfg_.auth.failure_delay = std::chrono::milliseconds(2000);
    info_.peer_ip = "127.0.0.1";
    info_.loopback = true;
  }

  void SetUp() override {
    alice_ = AddUser("alice", "secret");
    bob_ = AddUser("Bob", "pw");
    carol_ = AddUser("carol", "pw");
  }

  // {PLAIN} hashes keep the tests fast (yescrypt is slow by design).
  storage::UserRecord AddUser(const std::string& name, const std::string& password) {
    auto r = fx_.Wait<storage::UserRecord>(
        [&](auto cb) { fx_.store().CreateUser(name, "{PLAIN}" + password, cb); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : storage::UserRecord{};
  }

  void Open(bool lmtp) {
    ctx_.store = &fx_.store();
    ctx_.config = &cfg_;
    ctx_.registry = &registry_;
    ctx_.throttle = &throttle_;
    ctx_.timer = timers_.Fn();
    ctx_.hostname = "mx.test";
    SessionOptions options;
    options.now = [] { return kNow; };
    options.make_id = [this] { return "ID" + std::to_string(++ids_); };
    session_ = MakeSession(ctx_, info_, out_, lmtp, options);
    session_->Start();
    greeting_ = out_.Take();
  }

  // Runs store completions until nothing more is pending.
  void Settle() {
    for (;;) {
      fx_.store().Flush();
      if (fx_.executor().RunPending() == 0) break;
    }
  }

  std::string Send(std::string_view input) {
    session_->OnInput(input);
    Settle();
    return out_.Take();
  }

  // Waits (bounded) until the output contains `needle`: AUTH completes on
  // the store's password threads, which Flush() does not cover.
  std::string SendUntil(std::string_view input, std::string_view needle) {
    session_->OnInput(input);
    std::string got;
    fx_.RunUntil([&] {
      got += out_.Take();
      return got.find(needle) != std::string::npos;
    });
    return got;
  }

  std::vector<storage::MessageRecord> Messages(storage::UserId user,
                                               const std::string& mailbox = "INBOX") {
    auto view = fx_.store().Read();
    auto mb = view->FindMailbox(user, mailbox);
    if (!mb.ok()) return {};
    return view->ListMessages(mb->id);
  }

  std::string Body(storage::UserId user, std::size_t index, const std::string& mailbox = "INBOX") {
    auto msgs = Messages(user, mailbox);
    if (index >= msgs.size()) return "<missing>";
    auto view = fx_.store().Read();
    auto blob = view->Blob(msgs[index].blob);
    return blob.ok() ? std::string(*blob) : "<no blob>";
  }

  config::Config cfg_;
  // Outlives fx_: completions the store runs while closing look sessions up.
  protocols::SessionRegistry registry_;
  StoreFixture fx_;
  protocols::AuthThrottle throttle_{cfg_.auth};
  FakeTimers timers_;
  protocols::SessionContext ctx_;
  protocols::ConnectionInfo info_;
  FakeOutput out_;
  std::unique_ptr<protocols::Session> session_;
  std::string greeting_;
  int ids_ = 0;
  storage::UserRecord alice_, bob_, carol_;
};

constexpr const char* kEhloReply =
    "250-mx.test\r\n"
    "250-PIPELINING\r\n"
    "250-SIZE 10000\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250-8BITMIME\r\n"
    "250-CHUNKING\r\n";

// --- greetings and capabilities ---------------------------------------------

TEST_F(SmtpSessionTest, LmtpGreetingAndLhlo) {
  Open(true);
  EXPECT_EQ(greeting_, "220 mx.test LMTP Pillarbox ready\r\n");
  EXPECT_EQ(Send("LHLO client.example\r\n"),
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-ENHANCEDSTATUSCODES\r\n"
            "250-8BITMIME\r\n250 CHUNKING\r\n");
  EXPECT_EQ(Send("EHLO x\r\n"), "500 5.5.1 This is LMTP: use LHLO\r\n");
  EXPECT_EQ(Send("HELO x\r\n"), "500 5.5.1 This is LMTP: use LHLO\r\n");
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "500 5.5.1 Command unrecognized\r\n");
}

TEST_F(SmtpSessionTest, SmtpGreetingEhloAndHelo) {
  Open(false);
  EXPECT_EQ(greeting_, "220 mx.test ESMTP Pillarbox ready\r\n");
  EXPECT_EQ(Send("EHLO client.example\r\n"), std::string(kEhloReply) + "250 AUTH PLAIN LOGIN\r\n");
  EXPECT_EQ(Send("HELO client.example\r\n"), "250 mx.test\r\n");
  EXPECT_EQ(Send("LHLO x\r\n"), "500 5.5.1 This is SMTP: use EHLO\r\n");
  EXPECT_EQ(Send("EHLO\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(Send("HELO \r\n"), "501 5.5.4 Syntax: HELO hostname\r\n");
}

TEST_F(SmtpSessionTest, EhloAdvertisesStartTlsAndAuthByConnection) {
  info_.tls_available = true;
  info_.loopback = false;
  Open(false);
  // Not loopback, no TLS yet: plaintext AUTH is not offered.
  EXPECT_EQ(Send("EHLO c\r\n"), std::string(kEhloReply) + "250 STARTTLS\r\n");
  cfg_.auth.plaintext = config::Plaintext::kAlways;
  EXPECT_EQ(Send("EHLO c\r\n"),
            std::string(kEhloReply) + "250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n");
}

// --- a whole LMTP delivery ---------------------------------------------------

TEST_F(SmtpSessionTest, LmtpDeliversWithTraceHeaders) {
  Open(true);
  Send("LHLO mta.example\r\n");
  EXPECT_EQ(Send("MAIL FROM:<sender@example.org> BODY=8BITMIME SIZE=40\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<Alice@example.com>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(Send("Subject: hi\r\n\r\nHello\r\n..dots\r\n.\r\n"),
            "250 2.0.0 <Alice@example.com> ID1 Delivered\r\n");
  EXPECT_EQ(Body(alice_.id, 0), std::string("Return-Path: <sender@example.org>\r\n"
                                            "Delivered-To: Alice@example.com\r\n"
                                            "Received: from mta.example ([127.0.0.1])\r\n"
                                            "\tby mx.test (Pillarbox) with LMTP id ID1\r\n"
                                            "\tfor <Alice@example.com>; ") +
                                    kDate +
                                    "\r\n"
                                    "Subject: hi\r\n\r\nHello\r\n.dots\r\n");
  // The journal has the delivery with its origin.
  auto view = fx_.store().Read();
  auto events = view->Journal(alice_.id, 0, 100);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, storage::JournalKind::kDelivered);
  EXPECT_EQ(events.back().origin.protocol, "lmtp");
  EXPECT_EQ(events.back().origin.peer, "127.0.0.1");
  view.reset();  // no view across Send's Flush
  EXPECT_EQ(Send("QUIT\r\n"), "221 2.0.0 mx.test Bye\r\n");
  EXPECT_TRUE(out_.closed());
}

// Open files of this process under `dir` (spill files show as
// "<dir>/#123 (deleted)" or "<dir>/spill-XXXXXX (deleted)").
int OpenFilesUnder(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code ec2;
    auto target = std::filesystem::read_symlink(e.path(), ec2);
    if (!ec2 && target.string().starts_with(dir + "/")) ++n;
  }
  return n;
}

// Regression: a DATA body was held in memory until the final dot, so
// clients that never sent it could hold gigabytes before anything was
// authenticated. Beyond 1 MiB it goes to a spill file under <data_dir>/tmp.
TEST_F(SmtpSessionTest, LargeDataGoesToASpillFileAndIsDeliveredWhole) {
  cfg_.limits.max_message_size = 8u << 20;
  cfg_.server.data_dir = fx_.dir() + "/data";
  const std::string tmp = cfg_.server.data_dir + "/tmp";
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@a>\r\nRCPT TO:<bob@b>\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  std::size_t before = MemoryBudget::Global().used();
  std::string body = "Subject: big\r\n\r\n";
  std::string line(998, 'b');
  while (body.size() < (3u << 20)) body += line + "\r\n";
  for (std::size_t i = 0; i < body.size(); i += 65536) {
    EXPECT_EQ(Send(std::string_view(body).substr(i, 65536)), "");
  }
  // The body is in a file, not in memory.
  EXPECT_EQ(OpenFilesUnder(tmp), 1);
  EXPECT_LT(MemoryBudget::Global().used(), before + (1u << 20) + 200000);
  EXPECT_EQ(Send(".\r\n"),
            "250 2.0.0 <alice@a> ID1 Delivered\r\n250 2.0.0 <bob@b> ID1 Delivered\r\n");
  std::string stored = Body(bob_.id, 0);
  EXPECT_TRUE(stored.ends_with(kDate + std::string("\r\n") + body)) << stored.size();
  EXPECT_TRUE(stored.starts_with("Return-Path: <s@x>\r\n"));
  EXPECT_EQ(Messages(alice_.id)[0].blob, Messages(bob_.id)[0].blob);
  // Nothing is left behind, open or on disk, once the writer let go of the
  // delivery.
  fx_.store().Flush();
  EXPECT_EQ(OpenFilesUnder(tmp), 0);
  EXPECT_TRUE(std::filesystem::is_empty(tmp));
  // A transaction given up midway (RSET after a DATA cut off: a new
  // connection here) closes its file too.
  Open(false);
  Send("EHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n");
  Send(body);
  EXPECT_EQ(OpenFilesUnder(tmp), 1);
  session_->OnClosed();
  session_.reset();
  EXPECT_EQ(OpenFilesUnder(tmp), 0);
}

TEST_F(SmtpSessionTest, BdatChunksGoToASpillFileToo) {
  cfg_.limits.max_message_size = 8u << 20;
  cfg_.server.data_dir = fx_.dir() + "/data";
  Open(false);
  Send("EHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@localhost>\r\n");
  std::string chunk(1500000, 'c');
  EXPECT_EQ(Send("BDAT 1500000\r\n" + chunk), "250 2.0.0 1500000 octets received\r\n");
  EXPECT_EQ(OpenFilesUnder(cfg_.server.data_dir + "/tmp"), 1);
  EXPECT_EQ(Send("BDAT 3 LAST\r\nend"), "250 2.0.0 Ok: delivered as ID1\r\n");
  EXPECT_TRUE(Body(alice_.id, 0).ends_with(chunk + "end"));
}

TEST_F(SmtpSessionTest, ShortOfMemoryRefusesNewMessages) {
  MemoryBudget& budget = MemoryBudget::Global();
  Open(true);
  Send("LHLO m\r\n");
  budget.set_limit(budget.used() + 1);
  budget.Add(2);
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\n"),
            "452 4.3.1 Server is short of memory, try again later\r\n");
  budget.Sub(2);
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\nRCPT TO:<alice@a>\r\n"), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
  budget.Add(2);
  EXPECT_EQ(Send("DATA\r\n"), "452 4.3.1 Server is short of memory, try again later\r\n");
  budget.Sub(2);
  budget.set_limit(0);
  EXPECT_EQ(Send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
}

TEST_F(SmtpSessionTest, LmtpThreeRecipientsOneBlob) {
  Open(true);
  EXPECT_EQ(Send("LHLO m\r\nMAIL FROM:<>\r\nRCPT TO:<alice@a>\r\nRCPT TO:<bob@b>\r\n"
                 "RCPT TO:<carol@c>\r\nDATA\r\n"),
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-ENHANCEDSTATUSCODES\r\n"
            "250-8BITMIME\r\n250 CHUNKING\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(Send("Subject: all\r\n\r\nx\r\n.\r\n"),
            "250 2.0.0 <alice@a> ID1 Delivered\r\n"
            "250 2.0.0 <bob@b> ID1 Delivered\r\n"
            "250 2.0.0 <carol@c> ID1 Delivered\r\n");
  auto a = Messages(alice_.id), b = Messages(bob_.id), c = Messages(carol_.id);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(a[0].blob, b[0].blob);
  EXPECT_EQ(a[0].blob, c[0].blob);
  // No per-recipient header: Delivered-To and "for" only for one recipient.
  EXPECT_EQ(Body(bob_.id, 0), std::string("Return-Path: <>\r\n"
                                          "Received: from m ([127.0.0.1])\r\n"
                                          "\tby mx.test (Pillarbox) with LMTP id ID1; ") +
                                  kDate + "\r\nSubject: all\r\n\r\nx\r\n");
}

TEST_F(SmtpSessionTest, LmtpUnknownRecipientGetsNoDataReply) {
  Open(true);
  Send("LHLO m\r\n");
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<nobody@x>\r\n"
                 "RCPT TO:<carol@x>\r\nDATA\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <nobody@x> User unknown\r\n"
            "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(Send("x\r\n.\r\n"),
            "250 2.0.0 <alice@x> ID1 Delivered\r\n250 2.0.0 <carol@x> ID1 Delivered\r\n");
}

TEST_F(SmtpSessionTest, LmtpOverQuotaRecipientAmongOthers) {
  ASSERT_TRUE(fx_.WaitStatus([&](auto cb) { fx_.store().SetQuota("Bob", 200, 0, cb); }).ok());
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\n");
  EXPECT_EQ(Send("RCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nRCPT TO:<carol@x>\r\nDATA\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  std::string body(300, 'z');
  EXPECT_EQ(Send("Subject: big\r\n\r\n" + body + "\r\n.\r\n"),
            "250 2.0.0 <alice@x> ID1 Delivered\r\n"
            "552 5.2.2 <bob@x> Mailbox full\r\n"
            "250 2.0.0 <carol@x> ID1 Delivered\r\n");
  EXPECT_EQ(Messages(bob_.id).size(), 0u);
  EXPECT_EQ(Messages(carol_.id).size(), 1u);
}

TEST_F(SmtpSessionTest, OverQuotaTemporaryAndAtRcptTime) {
  cfg_.delivery.over_quota_temporary = true;
  ASSERT_TRUE(fx_.WaitStatus([&](auto cb) { fx_.store().SetQuota("Bob", 0, 1, cb); }).ok());
  fx_.Deliver(bob_.id, "Subject: first\r\n\r\n");
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\n");
  // Bob is already at his message quota: refused at RCPT.
  EXPECT_EQ(Send("RCPT TO:<bob@x>\r\n"), "452 4.2.2 <bob@x> Mailbox full\r\n");
  // A declared SIZE beyond the byte quota is refused at RCPT too.
  ASSERT_TRUE(fx_.WaitStatus([&](auto cb) { fx_.store().SetQuota("carol", 100, 0, cb); }).ok());
  Send("RSET\r\nMAIL FROM:<s@x> SIZE=500\r\n");
  EXPECT_EQ(Send("RCPT TO:<carol@x>\r\n"), "452 4.2.2 <carol@x> Mailbox full\r\n");
}

TEST_F(SmtpSessionTest, LmtpDuplicateRecipientStoredOnceRepliedTwice) {
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<ALICE@x>\r\nDATA\r\n");
  EXPECT_EQ(Send("x\r\n.\r\n"),
            "250 2.0.0 <alice@x> ID1 Delivered\r\n250 2.0.0 <ALICE@x> ID1 Delivered\r\n");
  EXPECT_EQ(Messages(alice_.id).size(), 1u);
}

TEST_F(SmtpSessionTest, LmtpDomainsAndSubaddress) {
  cfg_.delivery.domains = {"example.org"};
  auto created = fx_.Wait<storage::MailboxRecord>([&](auto cb) {
    fx_.store().CreateMailbox(alice_.id, "Lists", storage::SpecialUse::kNone, cb);
  });
  ASSERT_TRUE(created.ok());
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\n");
  EXPECT_EQ(Send("RCPT TO:<alice@elsewhere.org>\r\n"),
            "550 5.1.2 <alice@elsewhere.org> Domain not handled here\r\n");
  EXPECT_EQ(Send("RCPT TO:<alice+lists@Example.ORG>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<alice+nosuch@example.org>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<bob+@example.org>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<postmaster>\r\n"), "550 5.1.1 <postmaster> User unknown\r\n");
  Send("DATA\r\n");
  EXPECT_EQ(Send("x\r\n.\r\n"),
            "250 2.0.0 <alice+lists@Example.ORG> ID1 Delivered\r\n"
            "250 2.0.0 <alice+nosuch@example.org> ID1 Delivered\r\n"
            "250 2.0.0 <bob+@example.org> ID1 Delivered\r\n");
  EXPECT_EQ(Messages(alice_.id, "Lists").size(), 1u);
  EXPECT_EQ(Messages(alice_.id).size(), 1u);
  EXPECT_EQ(Messages(bob_.id).size(), 1u);
}

TEST_F(SmtpSessionTest, UsersNamedByFullAddress) {
  auto full = AddUser("dave@example.org", "pw");
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\n");
  EXPECT_EQ(Send("RCPT TO:<Dave+x@EXAMPLE.org>\r\nDATA\r\n"),
            "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  Send("x\r\n.\r\n");
  EXPECT_EQ(Messages(full.id).size(), 1u);
}

// --- pipelining and splitting ---------------------------------------------------

TEST_F(SmtpSessionTest, PipelinedCommandsAfterDataWaitForTheCommit) {
  Open(true);
  Send("LHLO m\r\n");
  // Everything in one packet: the replies come in command order, the QUIT
  // answer only after the delivery reply.
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nDATA\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  session_->OnInput("a\r\n.\r\nMAIL FROM:<t@x>\r\nRCPT TO:<bob@x>\r\nQUIT\r\n");
  EXPECT_EQ(out_.Take(), "");  // nothing before the durable commit
  Settle();
  EXPECT_EQ(out_.Take(),
            "250 2.0.0 <alice@x> ID1 Delivered\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
            "221 2.0.0 mx.test Bye\r\n");
}

// The same LMTP conversation fed whole, byte by byte, and split at every
// point gives the same replies and the same stored message.
TEST_F(SmtpSessionTest, SplitAtEveryByte) {
  const std::string transcript =
      "LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\n"
      "Subject: s\r\n\r\n..a\r\n.\r\n"
      "MAIL FROM:<t@x>\r\nRCPT TO:<carol@x>\r\nBDAT 4\r\nab\r\nBDAT 3 LAST\r\n.\r\nRSET\r\n";
  Open(true);
  std::string expected = Send(transcript);
  std::string expected_a = Body(alice_.id, 0);
  std::string expected_c = Body(carol_.id, 0);
  ASSERT_NE(expected.find("250 2.0.0 <carol@x> ID2 Delivered"), std::string::npos) << expected;
  auto run = [&](const std::vector<std::string>& chunks) {
    ids_ = 0;
    Open(true);
    std::string got;
    for (const auto& c : chunks) got += Send(c);
    return got;
  };
  std::vector<std::string> bytes;
  for (char c : transcript) bytes.emplace_back(1, c);
  EXPECT_EQ(run(bytes), expected);
  for (std::size_t split = 1; split < transcript.size(); ++split) {
    ASSERT_EQ(run({transcript.substr(0, split), transcript.substr(split)}), expected)
        << "split at " << split;
  }
  auto a = Messages(alice_.id);
  ASSERT_EQ(a.size(), transcript.size() + 1);
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(Body(alice_.id, i), expected_a);
    ASSERT_EQ(Body(carol_.id, i), expected_c);
  }
  EXPECT_NE(expected_c.find("\r\nab\r\n.\r\n"), std::string::npos);
}

// --- DATA edge cases -----------------------------------------------------------

TEST_F(SmtpSessionTest, DotStuffingInSession) {
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nDATA\r\n");
  EXPECT_EQ(Send("Subject: d\r\n\r\n.\r"), "");
  // ".\r\n" right after the blank line ends the data there; the lines after
  // it are commands: "..", "...", "end" (bare LF), ".", "still" are unknown.
  const std::string unknown = "500 5.5.1 Command unrecognized\r\n";
  EXPECT_EQ(
      Send("\n..\r\n...\r\nend\n.\r\nstill\r\n."),
      "250 2.0.0 <alice@x> ID1 Delivered\r\n" + unknown + unknown + unknown + unknown + unknown);
  EXPECT_EQ(Send("\r\n"), unknown);
  std::string body = Body(alice_.id, 0);
  EXPECT_EQ(body.substr(body.find("Subject:")), "Subject: d\r\n\r\n");
}

TEST_F(SmtpSessionTest, DotStuffedLinesAndBareLf) {
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nDATA\r\n");
  EXPECT_EQ(Send("Subject: d\r\n\r\n..\r\n...\r\n..x\r\nbare\n.\r\nafter\r\n.\r\n"),
            "250 2.0.0 <alice@x> ID1 Delivered\r\n");
  std::string body = Body(alice_.id, 0);
  // The store normalizes the bare LF; "<LF>.<CRLF>" did not end the data.
  EXPECT_EQ(body.substr(body.find("Subject:")),
            "Subject: d\r\n\r\n.\r\n..\r\n.x\r\nbare\r\n.\r\nafter\r\n");
}

TEST_F(SmtpSessionTest, MessageTooBigMidDataThenNewTransaction) {
  cfg_.limits.max_message_size = 100;
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\n");
  std::string big(150, 'x');
  EXPECT_EQ(Send("Subject: big\r\n\r\n" + big + "\r\n"), "");
  EXPECT_EQ(Send(".\r\n"),
            "552 5.3.4 <alice@x> Message too big\r\n552 5.3.4 <bob@x> Message too big\r\n");
  EXPECT_EQ(Messages(alice_.id).size(), 0u);
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nDATA\r\nsmall\r\n.\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
            "250 2.0.0 <alice@x> ID1 Delivered\r\n");
  EXPECT_EQ(Messages(alice_.id).size(), 1u);
  // SIZE= is checked up front.
  EXPECT_EQ(Send("MAIL FROM:<s@x> SIZE=101\r\n"),
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  EXPECT_EQ(Send("MAIL FROM:<s@x> SIZE=100\r\n"), "250 2.1.0 Ok\r\n");
}

TEST_F(SmtpSessionTest, SmtpMessageTooBigOneReply) {
  cfg_.limits.max_message_size = 20;
  Open(false);
  Send("EHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n");
  EXPECT_EQ(Send("0123456789\r\n0123456789\r\n.\r\n"), "552 5.3.4 Message too big\r\n");
  EXPECT_EQ(Send("RSET\r\n"), "250 2.0.0 Ok\r\n");
}

// --- BDAT (RFC 3030) -----------------------------------------------------------------

TEST_F(SmtpSessionTest, BdatChunks) {
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\n");
  EXPECT_EQ(Send("BDAT 14\r\nSubject: b\r\n\r\n"), "250 2.0.0 14 octets received\r\n");
  EXPECT_EQ(Send("BDAT 0\r\n"), "250 2.0.0 0 octets received\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "503 5.5.1 DATA not allowed after BDAT\r\n");
  // Binary-safe: dots and CRLF.CRLF mean nothing inside a chunk.
  EXPECT_EQ(Send("BDAT 7 LAST\r\n.\r\n.\r\nx"),
            "250 2.0.0 <alice@x> ID1 Delivered\r\n250 2.0.0 <bob@x> ID1 Delivered\r\n");
  std::string body = Body(alice_.id, 0);
  EXPECT_EQ(body.substr(body.find("Subject:")), "Subject: b\r\n\r\n.\r\n.\r\nx");
}

TEST_F(SmtpSessionTest, BdatWithoutTransactionIsReadThenRefused) {
  Open(false);
  Send("EHLO m\r\n");
  EXPECT_EQ(Send("BDAT 6 LAST\r\nNOOP\r\n"), "503 5.5.1 Need MAIL command first\r\n");
  EXPECT_EQ(Send("BDAT x\r\n"), "501 5.5.4 Syntax: BDAT size [LAST]\r\n");
  EXPECT_EQ(Send("BDAT 1 FIRST\r\n"), "501 5.5.4 Syntax: BDAT size [LAST]\r\n");
  Send("MAIL FROM:<s@x>\r\n");
  EXPECT_EQ(Send("BDAT 2 LAST\r\nab"), "503 5.5.1 No valid recipients\r\n");
}

TEST_F(SmtpSessionTest, BdatTooBig) {
  cfg_.limits.max_message_size = 10;
  Open(false);
  Send("EHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@localhost>\r\n");
  EXPECT_EQ(Send("BDAT 8\r\n12345678"), "250 2.0.0 8 octets received\r\n");
  EXPECT_EQ(Send("BDAT 8\r\n12345678"), "552 5.3.4 Message too big\r\n");
  EXPECT_EQ(Send("BDAT 2 LAST\r\n12"), "503 5.5.1 Need MAIL command first\r\n");
  Send("MAIL FROM:<s@x>\r\nRCPT TO:<alice@localhost>\r\n");
  EXPECT_EQ(Send("BDAT 11 LAST\r\n12345678901"), "552 5.3.4 Message too big\r\n");
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\nRCPT TO:<alice@localhost>\r\nBDAT 4 LAST\r\nabcd"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: delivered as ID1\r\n");
}

// --- sequence errors, limits, other commands -------------------------------------

TEST_F(SmtpSessionTest, SequenceErrors) {
  cfg_.limits.max_bad_commands = 100;
  Open(false);
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\n"), "503 5.5.1 Send HELO/EHLO first\r\n");
  Send("EHLO m\r\n");
  EXPECT_EQ(Send("RCPT TO:<alice@localhost>\r\n"), "503 5.5.1 Need MAIL command first\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "503 5.5.1 Need MAIL command first\r\n");
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\n"), "503 5.5.1 Sender already given\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "503 5.5.1 No valid recipients\r\n");
  EXPECT_EQ(Send("DATA x\r\n"), "501 5.5.4 Syntax: DATA\r\n");
  EXPECT_EQ(Send("MAIL TO:<s@x>\r\n"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(Send("RCPT FROM:<s@x>\r\n"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
  EXPECT_EQ(Send("RCPT TO:<a b>\r\n"),
            "501 5.1.3 Bad recipient address syntax (bad character in local part)\r\n");
  EXPECT_EQ(Send("RCPT TO:<>\r\n"), "501 5.1.3 Bad recipient address syntax (empty address)\r\n");
  EXPECT_EQ(Send("RCPT TO:<alice@localhost> NOTIFY=NEVER\r\n"),
            "555 5.5.4 Unsupported parameter NOTIFY\r\n");
  EXPECT_EQ(Send("RSET x\r\n"), "501 5.5.4 Syntax: RSET\r\n");
  EXPECT_EQ(Send("RSET\r\nMAIL FROM:<s@x> BODY=BINARYMIME\r\n"),
            "250 2.0.0 Ok\r\n555 5.5.4 Unsupported BODY type BINARYMIME\r\n");
  EXPECT_EQ(Send("MAIL FROM:<s@x> SIZE=abc\r\n"), "501 5.5.4 Bad SIZE parameter\r\n");
  EXPECT_EQ(Send("MAIL FROM:<s@x> FOO=1\r\n"), "555 5.5.4 Unsupported parameter FOO\r\n");
  EXPECT_FALSE(out_.closed());
}

TEST_F(SmtpSessionTest, NoopRsetVrfyHelp) {
  Open(true);
  EXPECT_EQ(Send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Send("noop anything\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Send("RSET\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Send("VRFY alice\r\n"),
            "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  EXPECT_EQ(Send("VRFY\r\n"), "501 5.5.4 Syntax: VRFY address\r\n");
  EXPECT_EQ(Send("HELP\r\n"),
            "214 2.0.0 Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\r\n");
  EXPECT_EQ(Send("EXPN list\r\n"), "500 5.5.1 Command unrecognized\r\n");
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\n");
  EXPECT_EQ(Send("RSET\r\nDATA\r\n"), "250 2.0.0 Ok\r\n503 5.5.1 Need MAIL command first\r\n");
}

TEST_F(SmtpSessionTest, JunkCommandLimit) {
  Open(false);
  std::string noops;
  for (int i = 0; i < 100; ++i) noops += "NOOP\r\n";
  Send(noops);
  EXPECT_FALSE(out_.closed());
  EXPECT_EQ(Send("NOOP\r\n"),
            "250 2.0.0 Ok\r\n421 4.7.0 mx.test Too many commands, closing connection\r\n");
  EXPECT_TRUE(out_.closed());
}

TEST_F(SmtpSessionTest, TooManyRecipients) {
  cfg_.limits.smtp_max_recipients = 2;
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\n");
  EXPECT_EQ(Send("RCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nRCPT TO:<carol@x>\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Too many recipients\r\n");
}

TEST_F(SmtpSessionTest, CommandLineTooLong) {
  Open(false);
  // 1000 octets including CRLF pass, 1001 do not.
  std::string ok = "NOOP " + std::string(993, 'a') + "\r\n";
  ASSERT_EQ(ok.size(), 1000u);
  EXPECT_EQ(Send(ok), "250 2.0.0 Ok\r\n");
  std::string bad = "NOOP " + std::string(994, 'a') + "\r\n";
  EXPECT_EQ(Send(bad), "500 5.5.2 Line too long\r\n");
  // Very long, in pieces without an end: dropped as it comes, answered once.
  EXPECT_EQ(Send(std::string(3000, 'b')), "");
  EXPECT_EQ(Send(std::string(3000, 'b')), "");
  EXPECT_EQ(Send("b\r\nNOOP\r\n"), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
  EXPECT_FALSE(out_.closed());
}

TEST_F(SmtpSessionTest, TooManyBadCommandsCloses) {
  cfg_.limits.max_bad_commands = 3;
  Open(false);
  EXPECT_EQ(Send("FOO\r\n"), "500 5.5.1 Command unrecognized\r\n");
  EXPECT_EQ(Send("\r\n"), "500 5.5.1 Command unrecognized\r\n");
  EXPECT_FALSE(out_.closed());
  EXPECT_EQ(Send("BAR\r\nNOOP\r\n"),
            "500 5.5.1 Command unrecognized\r\n"
            "421 4.7.0 mx.test Too many errors, closing connection\r\n");
  EXPECT_TRUE(out_.closed());
}

TEST_F(SmtpSessionTest, IdleTimeoutAndShutdown) {
  Open(false);
  EXPECT_EQ(session_->IdleTimeout(), std::chrono::seconds(300));
  session_->OnIdleTimeout();
  EXPECT_EQ(out_.Take(), "421 4.4.2 mx.test Timeout exceeded, closing connection\r\n");
  EXPECT_TRUE(out_.closed());
  FakeOutput second;
  auto s2 = MakeSession(ctx_, info_, second, true);
  s2->OnShutdown();
  EXPECT_EQ(second.Take(), "421 4.3.2 mx.test Service shutting down, closing connection\r\n");
  EXPECT_TRUE(second.closed());
}

TEST_F(SmtpSessionTest, ClosedSessionDropsLateCompletions) {
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nDATA\r\n");
  session_->OnInput("x\r\n.\r\n");
  session_->OnClosed();
  session_.reset();
  Settle();  // the completion finds no session and does nothing
  EXPECT_EQ(out_.Take(), "");
  EXPECT_EQ(Messages(alice_.id).size(), 1u);
}

// --- STARTTLS --------------------------------------------------------------------

TEST_F(SmtpSessionTest, StartTlsResetsState) {
  info_.tls_available = true;
  Open(false);
  Send("EHLO m\r\nMAIL FROM:<s@x>\r\n");
  EXPECT_EQ(Send("STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
  // Plaintext pipelined after STARTTLS is discarded.
  EXPECT_EQ(Send("STARTTLS\r\nRCPT TO:<alice@localhost>\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(out_.tls_started());
  EXPECT_EQ(Send("NOOP\r\n"), "");
  info_.tls_active = true;
  session_->OnTlsEstablished();
  // HELO and the transaction are forgotten.
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\n"), "503 5.5.1 Send HELO/EHLO first\r\n");
  EXPECT_EQ(Send("EHLO m\r\n"), std::string(kEhloReply) + "250 AUTH PLAIN LOGIN\r\n");
  EXPECT_EQ(Send("RCPT TO:<alice@localhost>\r\n"), "503 5.5.1 Need MAIL command first\r\n");
  EXPECT_EQ(Send("STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
  Send("MAIL FROM:<s@x>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n");
  EXPECT_EQ(Send("x\r\n.\r\n"), "250 2.0.0 Ok: delivered as ID1\r\n");
  EXPECT_NE(Body(alice_.id, 0).find("with ESMTPS id ID1"), std::string::npos);
}

TEST_F(SmtpSessionTest, StartTlsUnavailable) {
  Open(true);
  EXPECT_EQ(Send("STARTTLS\r\n"), "454 4.7.0 TLS not available\r\n");
  EXPECT_FALSE(out_.tls_started());
}

TEST_F(SmtpSessionTest, LmtpStartTls) {
  info_.tls_available = true;
  Open(true);
  EXPECT_EQ(Send("LHLO m\r\n"),
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-ENHANCEDSTATUSCODES\r\n"
            "250-8BITMIME\r\n250-CHUNKING\r\n250 STARTTLS\r\n");
  EXPECT_EQ(Send("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  info_.tls_active = true;
  session_->OnTlsEstablished();
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nDATA\r\n");
  Send("x\r\n.\r\n");
  EXPECT_NE(Body(alice_.id, 0).find("with LMTPS id ID1"), std::string::npos);
}

// --- AUTH (SMTP) -------------------------------------------------------------------

TEST_F(SmtpSessionTest, AuthPlainSuccess) {
  Open(false);
  Send("EHLO m\r\n");
  // "\0alice\0secret"
  EXPECT_EQ(SendUntil("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "\r\n"),
            "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(Send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), "503 5.5.1 Already authenticated\r\n");
  Send("MAIL FROM:<alice@localhost>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n");
  EXPECT_EQ(Send("x\r\n.\r\n"), "250 2.0.0 Ok: delivered as ID1\r\n");
  EXPECT_NE(Body(bob_.id, 0).find("with ESMTPA id ID1"), std::string::npos);
}

TEST_F(SmtpSessionTest, AuthLoginExchange) {
  Open(false);
  Send("EHLO m\r\n");
  EXPECT_EQ(Send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(Send("YWxpY2U=\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(SendUntil("c2VjcmV0\r\n", "\r\n"), "235 2.7.0 Authentication successful\r\n");
}

TEST_F(SmtpSessionTest, AuthPlainEmptyChallengeAndCancel) {
  Open(false);
  Send("EHLO m\r\n");
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(Send("*\r\n"), "501 5.7.0 Authentication aborted\r\n");
  EXPECT_EQ(Send("AUTH CRAM-MD5\r\n"), "504 5.5.4 Unrecognized authentication type\r\n");
  EXPECT_EQ(Send("AUTH PLAIN !!!\r\n").substr(0, 10), "501 5.5.2 ");
  EXPECT_EQ(Send("AUTH\r\n"), "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n");
}

TEST_F(SmtpSessionTest, AuthFailureIsDelayed) {
  Open(false);
  Send("EHLO m\r\n");
  // "\0alice\0wrong"
  session_->OnInput("AUTH PLAIN AGFsaWNlAHdyb25n\r\nNOOP\r\n");
  fx_.RunUntil([&] { return timers_.pending() > 0; });
  EXPECT_EQ(out_.Take(), "");  // held back, and so is the pipelined NOOP
  timers_.Advance(std::chrono::milliseconds(1999));
  EXPECT_EQ(out_.Take(), "");
  timers_.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(out_.Take(), "535 5.7.8 Authentication credentials invalid\r\n250 2.0.0 Ok\r\n");
}

TEST_F(SmtpSessionTest, AuthNeedsEhloAndEncryption) {
  info_.loopback = false;
  Open(false);
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "503 5.5.1 Send EHLO first\r\n");
  Send("HELO m\r\n");
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "503 5.5.1 Send EHLO first\r\n");
  Send("EHLO m\r\n");
  EXPECT_EQ(Send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
}

TEST_F(SmtpSessionTest, AuthRequired) {
  cfg_.smtp.auth_required = true;
  Open(false);
  Send("EHLO m\r\n");
  EXPECT_EQ(Send("MAIL FROM:<s@x>\r\n"), "530 5.7.0 Authentication required\r\n");
  SendUntil("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "\r\n");
  EXPECT_EQ(Send("MAIL FROM:<s@x> AUTH=<>\r\n"), "250 2.1.0 Ok\r\n");
}

// --- relay and catch-all -----------------------------------------------------------

TEST_F(SmtpSessionTest, SmtpRefusesRelayEvenWhenAuthenticated) {
  Open(false);
  Send("EHLO m\r\nMAIL FROM:<s@x>\r\n");
  EXPECT_EQ(
      Send("RCPT TO:<alice@elsewhere.example>\r\n"),
      "550 5.7.1 <alice@elsewhere.example>: domain elsewhere.example is not local (see [delivery] "
      "domains); relay access denied\r\n");
  EXPECT_EQ(Send("RCPT TO:<alice@MX.TEST>\r\nRCPT TO:<bob@localhost>\r\nRCPT TO:<carol>\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<nobody@localhost>\r\n"),
            "550 5.1.1 <nobody@localhost> User unknown\r\n");
  Send("RSET\r\n");
  SendUntil("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "\r\n");
  Send("MAIL FROM:<alice@localhost>\r\n");
  EXPECT_EQ(
      Send("RCPT TO:<someone@gmail.com>\r\n"),
      "550 5.7.1 <someone@gmail.com>: domain gmail.com is not local (see [delivery] domains); "
      "relay access denied\r\n");
  // Configured domains replace the host-name default.
  cfg_.delivery.domains = {"example.org"};
  EXPECT_EQ(Send("RCPT TO:<alice@localhost>\r\nRCPT TO:<alice@example.org>\r\n"),
            "550 5.7.1 <alice@localhost>: domain localhost is not one of [delivery] domains; relay "
            "access denied\r\n250 2.1.5 Ok\r\n");
}

TEST_F(SmtpSessionTest, SmtpOverQuotaRefusesWholeMessage) {
  ASSERT_TRUE(fx_.WaitStatus([&](auto cb) { fx_.store().SetQuota("Bob", 300, 0, cb); }).ok());
  Open(false);
  Send(
      "EHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@localhost>\r\nRCPT "
      "TO:<bob@localhost>\r\nDATA\r\n");
  EXPECT_EQ(Send(std::string(400, 'q') + "\r\n.\r\n"), "552 5.2.2 Mailbox full\r\n");
  EXPECT_EQ(Messages(alice_.id).size(), 0u);
  Send("MAIL FROM:<s@x>\r\nRCPT TO:<alice@localhost>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n");
  EXPECT_EQ(Send("small\r\n.\r\n"), "250 2.0.0 Ok: delivered as ID2\r\n");
  auto a = Messages(alice_.id), b = Messages(bob_.id);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].blob, b[0].blob);
}

TEST_F(SmtpSessionTest, CatchAllUser) {
  cfg_.smtp.catch_all = true;
  cfg_.smtp.catch_all_user = "carol";
  Open(false);
  Send("EHLO m\r\nMAIL FROM:<s@x>\r\n");
  EXPECT_EQ(Send("RCPT TO:<anyone@gmail.com>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(Send("x\r\n.\r\n"), "250 2.0.0 Ok: delivered as ID1\r\n");
  EXPECT_EQ(Messages(carol_.id).size(), 1u);  // both recipients: one copy
  EXPECT_EQ(Messages(alice_.id).size(), 0u);
}

TEST_F(SmtpSessionTest, CatchAllAutoCreatesUsers) {
  cfg_.smtp.catch_all = true;
  cfg_.dev.auto_create_users = true;
  Open(false);
  Send("EHLO m\r\nMAIL FROM:<s@x>\r\n");
  EXPECT_EQ(Send("RCPT TO:<newbie+tag@client.example>\r\nRCPT TO:<alice@elsewhere.example>\r\n"
                 "RCPT TO:<NEWBIE@other.example>\r\nDATA\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(Send("Subject: dev\r\n\r\nx\r\n.\r\n"), "250 2.0.0 Ok: delivered as ID1\r\n");
  auto view = fx_.store().Read();
  auto newbie = view->FindUser("newbie");
  ASSERT_TRUE(newbie.ok());
  view.reset();
  EXPECT_EQ(Messages(newbie->id).size(), 1u);
  EXPECT_EQ(Messages(alice_.id).size(), 1u);
  // No password configured: nobody can log in as the created user.
  EXPECT_FALSE(storage::VerifyPassword("", newbie->password_hash));
  EXPECT_FALSE(storage::VerifyPassword("!", newbie->password_hash));
  auto auth = fx_.Wait<storage::UserRecord>(
      [&](auto cb) { fx_.store().Authenticate("newbie", "", "127.0.0.1", cb); });
  EXPECT_FALSE(auth.ok());
}

TEST_F(SmtpSessionTest, CatchAllAutoCreateWithPassword) {
  cfg_.smtp.catch_all = true;
  cfg_.dev.auto_create_users = true;
  cfg_.dev.auto_create_password = "devpass";
  Open(false);
  Send("EHLO m\r\nMAIL FROM:<s@x>\r\n");
  // The hash is made on the store's password threads (Flush() does not
  // cover them), then the user is created.
  EXPECT_EQ(SendUntil("RCPT TO:<tester@dev.example>\r\n", "\r\n"), "250 2.1.5 Ok\r\n");
  auto auth = fx_.Wait<storage::UserRecord>(
      [&](auto cb) { fx_.store().Authenticate("tester", "devpass", "127.0.0.1", cb); });
  EXPECT_TRUE(auth.ok());
}

TEST_F(SmtpSessionTest, CatchAllIsSmtpOnly) {
  cfg_.smtp.catch_all = true;
  cfg_.dev.auto_create_users = true;
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\n");
  EXPECT_EQ(Send("RCPT TO:<stranger@x>\r\n"), "550 5.1.1 <stranger@x> User unknown\r\n");
}

TEST_F(SmtpSessionTest, SmtpHeloProtocolAndNullSender) {
  Open(false);
  Send("HELO old.client\r\nMAIL FROM:<>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n");
  EXPECT_EQ(Send("x\r\n.\r\n"), "250 2.0.0 Ok: delivered as ID1\r\n");
  EXPECT_EQ(Body(alice_.id, 0), std::string("Return-Path: <>\r\n"
                                            "Received: from old.client ([127.0.0.1])\r\n"
                                            "\tby mx.test (Pillarbox) with SMTP id ID1\r\n"
                                            "\tfor <alice@localhost>; ") +
                                    kDate + "\r\nx\r\n");
}

TEST_F(SmtpSessionTest, BackpressurePausesInputWhileWaiting) {
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nDATA\r\n");
  session_->OnInput("x\r\n.\r\n");
  // While the commit is pending, a flood of pipelined input pauses reading.
  std::string flood = "MAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nDATA\r\n";
  while (flood.size() < 70 * 1024) flood += "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n";
  flood += ".\r\n";
  session_->OnInput(flood);
  EXPECT_TRUE(out_.paused());
  Settle();
  EXPECT_FALSE(out_.paused());
  std::string got = out_.Take();
  EXPECT_EQ(got,
            "250 2.0.0 <alice@x> ID1 Delivered\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n552 5.3.4 <alice@x> Message too big\r\n");
}

}  // namespace
}  // namespace pillarbox::smtp

namespace pillarbox::smtp {
namespace {

TEST_F(SmtpSessionTest, SimpleCommandsInBothModes) {
  for (bool lmtp : {false, true}) {
    Open(lmtp);
    EXPECT_EQ(Send("NOOP\r\nRSET\r\nVRFY <alice@localhost>\r\n"),
              "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
              "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
    EXPECT_EQ(Send("HELP\r\n"), std::string("214 2.0.0 Commands: ") +
                                    (lmtp ? "LHLO" : "HELO EHLO") +
                                    " MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS" +
                                    (lmtp ? "" : " AUTH") + "\r\n");
    EXPECT_EQ(Send("DATA\r\n"),
              lmtp ? "503 5.5.1 Send LHLO first\r\n" : "503 5.5.1 Send HELO/EHLO first\r\n");
    EXPECT_EQ(Send("quit\r\n"), "221 2.0.0 mx.test Bye\r\n");
    EXPECT_TRUE(out_.closed());
    out_ = FakeOutput();
  }
}

TEST_F(SmtpSessionTest, RecipientDeletedBeforeData) {
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\n");
  ASSERT_TRUE(fx_.WaitStatus([&](auto cb) { fx_.store().DeleteUser("Bob", cb); }).ok());
  EXPECT_EQ(Send("x\r\n.\r\n"),
            "250 2.0.0 <alice@x> ID1 Delivered\r\n550 5.1.1 <bob@x> User unknown\r\n");
  // SMTP: the up-front check notices and nothing is stored.
  Open(false);
  Send(
      "EHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@localhost>\r\nRCPT TO:<carol@localhost>\r\n"
      "DATA\r\n");
  ASSERT_TRUE(fx_.WaitStatus([&](auto cb) { fx_.store().DeleteUser("carol", cb); }).ok());
  EXPECT_EQ(Send("x\r\n.\r\n"), "451 4.3.0 Recipient vanished, try again later\r\n");
  EXPECT_EQ(Messages(alice_.id).size(), 1u);
}

TEST_F(SmtpSessionTest, DetailMailboxDeletedBeforeDataFallsBackToInbox) {
  auto created = fx_.Wait<storage::MailboxRecord>([&](auto cb) {
    fx_.store().CreateMailbox(alice_.id, "Work", storage::SpecialUse::kNone, cb);
  });
  ASSERT_TRUE(created.ok());
  Open(true);
  Send("LHLO m\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice+work@x>\r\nDATA\r\n");
  ASSERT_TRUE(fx_.WaitStatus([&](auto cb) {
                   fx_.store().DeleteMailbox(alice_.id, "Work", storage::Origin{}, cb);
                 })
                  .ok());
  EXPECT_EQ(Send("x\r\n.\r\n"), "250 2.0.0 <alice+work@x> ID1 Delivered\r\n");
  EXPECT_EQ(Messages(alice_.id).size(), 1u);
}

}  // namespace
}  // namespace pillarbox::smtp

namespace pillarbox::smtp {
namespace {

// Random bytes and random fragments of real commands never crash the
// session, and every reply line is "DDD" + " " or "-" + text.
TEST_F(SmtpSessionTest, GarbageInputKeepsRepliesWellFormed) {
  const std::vector<std::string> pieces = {"LHLO x\r\n",
                                           "EHLO x\r\n",
                                           "MAIL FROM:<a@b>\r\n",
                                           "RCPT TO:<alice@localhost>\r\n",
                                           "DATA\r\n",
                                           "BDAT 3\r\n",
                                           "BDAT 2 LAST\r\n",
                                           ".\r\n",
                                           "\r\n",
                                           "..\r\n",
                                           "RSET\r\n",
                                           "AUTH LOGIN\r\n",
                                           "*\r\n",
                                           "\n",
                                           "\r",
                                           "x",
                                           "STARTTLS\r\n"};
  std::mt19937 rng(12345);
  for (bool lmtp : {false, true}) {
    for (int round = 0; round < 20; ++round) {
      cfg_.limits.max_bad_commands = 1000;
      Open(lmtp);
      std::string all;
      for (int i = 0; i < 60 && !out_.closed(); ++i) {
        std::string chunk;
        if (rng() % 4 == 0) {
          for (int n = rng() % 20; n > 0; --n) chunk.push_back(static_cast<char>(rng() % 256));
        } else {
          chunk = pieces[rng() % pieces.size()];
        }
        all += Send(chunk);
        if (out_.tls_started()) break;  // the rest would be TLS
      }
      std::size_t start = 0;
      while (start < all.size()) {
        auto end = all.find("\r\n", start);
        ASSERT_NE(end, std::string::npos) << all;
        std::string line = all.substr(start, end - start);
        ASSERT_GE(line.size(), 4u) << line;
        ASSERT_TRUE(isdigit(line[0]) && isdigit(line[1]) && isdigit(line[2])) << line;
        ASSERT_TRUE(line[3] == ' ' || line[3] == '-') << line;
        start = end + 2;
      }
      out_ = FakeOutput();
    }
  }
}

}  // namespace
}  // namespace pillarbox::smtp
