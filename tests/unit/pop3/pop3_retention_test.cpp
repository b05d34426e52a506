// What a POP3 session does to the store: delete modes at QUIT, nothing
// without QUIT, the login snapshot, UIDL stability, \Seen on RETR, the
// journal, streaming of large messages with backpressure.
#include <gtest/gtest.h>

#include "storage/uidl.h"
#include "tests/unit/pop3/pop3_test_util.h"

namespace pillarbox::pop3::testing {
namespace {

const std::string kM1 = "Subject: one\r\n\r\nbody one\r\n";
const std::string kM2 = "Subject: two\r\n\r\nbody two\r\n";
const std::string kM3 = "Subject: three\r\n\r\nbody three\r\n";

// Undoes dot-stuffing of a multi-line response body and drops the
// terminator, as a client does.
std::string Unstuff(std::string_view body) {
  EXPECT_TRUE(body.ends_with("\r\n.\r\n") || body == ".\r\n") << body;
  body.remove_suffix(3);
  std::string out;
  bool line_start = true;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (line_start && body[i] == '.') {
      line_start = false;
      continue;
    }
    out += body[i];
    line_start = body[i] == '\n';
  }
  return out;
}

// The body of a "+OK ..." multi-line response.
std::string BodyOf(const std::string& response) {
  auto eol = response.find("\r\n");
  EXPECT_TRUE(response.starts_with("+OK")) << response;
  return response.substr(eol + 2);
}

class Pop3RetentionTest : public Pop3Test {
 protected:
  void DeliverThree() {
    d1_ = Deliver(kM1);
    d2_ = Deliver(kM2);
    d3_ = Deliver(kM3);
  }
  // Logs in, deletes messages 1 and 3, quits; returns the QUIT answer.
  std::string DeleteOneAndThree() {
    auto c = Login();
    EXPECT_EQ(Send(*c, "DELE 1\r\nDELE 3\r\n"),
              "+OK Marked to be deleted.\r\n+OK Marked to be deleted.\r\n");
    std::string quit = Send(*c, "QUIT\r\n");
    EXPECT_TRUE(c->out.closed());
    Drop(c);
    return quit;
  }
  std::vector<std::uint64_t> Guids(const std::string& mailbox = "INBOX") {
    std::vector<std::uint64_t> out;
    for (const auto& m : Messages(mailbox)) out.push_back(m.guid);
    return out;
  }
  std::string UidlListing() {
    auto c = Login();
    std::string r = Send(*c, "UIDL\r\n");
    Drop(c);
    return r;
  }
  storage::AppendResult d1_, d2_, d3_;
};

TEST_F(Pop3RetentionTest, ExpungeModeRemovesMessages) {
  DeliverThree();
  EXPECT_EQ(DeleteOneAndThree(), "+OK Logging out, messages deleted.\r\n");
  EXPECT_EQ(Guids(), std::vector<std::uint64_t>{d2_.guid});
  EXPECT_EQ(UidlListing(), "+OK\r\n1 " + storage::FormatUidl(d2_.guid) + "\r\n.\r\n");
  bool journalled = false;
  for (const auto& e : Journal()) {
    if (e.kind == storage::JournalKind::kPop3Deleted && e.guid == d1_.guid) journalled = true;
  }
  EXPECT_TRUE(journalled);
}

TEST_F(Pop3RetentionTest, HideModeKeepsMessagesForImap) {
  config_.pop3.delete_mode = config::Pop3DeletePolicy{config::Pop3DeleteMode::kHide, ""};
  DeliverThree();
  EXPECT_EQ(DeleteOneAndThree(), "+OK Logging out, messages deleted.\r\n");
  // IMAP still sees all three...
  auto all = Messages();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(all[0].pop3.hidden);
  EXPECT_FALSE(all[1].pop3.hidden);
  EXPECT_TRUE(all[2].pop3.hidden);
  // ...the next POP3 session only the one not deleted, for good.
  EXPECT_EQ(UidlListing(), "+OK\r\n1 " + storage::FormatUidl(d2_.guid) + "\r\n.\r\n");
  fx_.Reopen();
  ctx_.store = &fx_.store();
  EXPECT_EQ(UidlListing(), "+OK\r\n1 " + storage::FormatUidl(d2_.guid) + "\r\n.\r\n");
}

TEST_F(Pop3RetentionTest, MoveModeMovesToTargetCreatedIfMissing) {
  config_.pop3.delete_mode = config::Pop3DeletePolicy{config::Pop3DeleteMode::kMove, "POP3 Done"};
  DeliverThree();
  EXPECT_EQ(DeleteOneAndThree(), "+OK Logging out, messages deleted.\r\n");
  EXPECT_EQ(Guids(), std::vector<std::uint64_t>{d2_.guid});
  EXPECT_EQ(Guids("POP3 Done"), (std::vector<std::uint64_t>{d1_.guid, d3_.guid}));
}

TEST_F(Pop3RetentionTest, DenyModeRefusesDele) {
  config_.pop3.delete_mode = config::Pop3DeletePolicy{config::Pop3DeleteMode::kDeny, ""};
  DeliverThree();
  auto c = Login();
  EXPECT_EQ(Send(*c, "DELE 1\r\n"),
            "-ERR [SYS/PERM] Deleting messages is disabled on this server.\r\n");
  EXPECT_EQ(Send(*c, "STAT\r\n"),
            "+OK 3 " + std::to_string(kM1.size() + kM2.size() + kM3.size()) + "\r\n");
  EXPECT_EQ(Send(*c, "QUIT\r\n"), "+OK Logging out.\r\n");
  EXPECT_EQ(Messages().size(), 3u);
}

TEST_F(Pop3RetentionTest, PerUserDeleteModeOverridesConfig) {
  SetSetting("alice", "pop3.delete_mode", "move:Archive");
  DeliverThree();
  EXPECT_EQ(DeleteOneAndThree(), "+OK Logging out, messages deleted.\r\n");
  EXPECT_EQ(Guids(), std::vector<std::uint64_t>{d2_.guid});
  EXPECT_EQ(Guids("Archive"), (std::vector<std::uint64_t>{d1_.guid, d3_.guid}));
}

TEST_F(Pop3RetentionTest, PerUserDenyOverridesConfig) {
  SetSetting("alice", "pop3.delete_mode", "deny");
  DeliverThree();
  auto c = Login();
  EXPECT_EQ(Send(*c, "DELE 2\r\n"),
            "-ERR [SYS/PERM] Deleting messages is disabled on this server.\r\n");
}

TEST_F(Pop3RetentionTest, InvalidPerUserModeFallsBackToConfig) {
  SetSetting("alice", "pop3.delete_mode", "shred");
  DeliverThree();
  EXPECT_EQ(DeleteOneAndThree(), "+OK Logging out, messages deleted.\r\n");
  EXPECT_EQ(Guids(), std::vector<std::uint64_t>{d2_.guid});
}

TEST_F(Pop3RetentionTest, FailedCommitAnswersSysTempAndAppliesNothing) {
  // The store refuses a malformed target name in the commit: QUIT must say
  // so, and nothing may be applied.
  SetSetting("alice", "pop3.delete_mode", "move:Bad//Name");
  DeliverThree();
  auto c = Login();
  EXPECT_EQ(Send(*c, "DELE 1\r\n"), "+OK Marked to be deleted.\r\n");
  EXPECT_EQ(Send(*c, "QUIT\r\n"), "-ERR [SYS/TEMP] Internal error, see server log (session " +
                                      std::to_string(c->session->id()) + ").\r\n");
  EXPECT_TRUE(c->out.closed());
  Drop(c);
  EXPECT_EQ(Guids(), (std::vector<std::uint64_t>{d1_.guid, d2_.guid, d3_.guid}));
  bool aborted = false;
  for (const auto& e : Journal()) {
    if (e.kind == storage::JournalKind::kPop3DeleteAborted && e.guid == d1_.guid) aborted = true;
  }
  EXPECT_TRUE(aborted);
  auto d = Login();  // the lock was released
}

TEST_F(Pop3RetentionTest, DisconnectWithoutQuitChangesNothing) {
  DeliverThree();
  auto c = Login();
  EXPECT_EQ(Send(*c, "DELE 1\r\nDELE 2\r\n"),
            "+OK Marked to be deleted.\r\n+OK Marked to be deleted.\r\n");
  Drop(c);
  EXPECT_EQ(Guids(), (std::vector<std::uint64_t>{d1_.guid, d2_.guid, d3_.guid}));
  int pending = 0, aborted = 0;
  for (const auto& e : Journal()) {
    if (e.kind == storage::JournalKind::kPop3DeletePending) ++pending;
    if (e.kind == storage::JournalKind::kPop3DeleteAborted) ++aborted;
    EXPECT_NE(e.kind, storage::JournalKind::kPop3Deleted);
  }
  EXPECT_EQ(pending, 2);
  EXPECT_EQ(aborted, 2);
  // The lock is gone too.
  auto d = Login();
}

TEST_F(Pop3RetentionTest, IdleTimeoutAppliesNothing) {
  DeliverThree();
  auto c = Login();
  Send(*c, "DELE 1\r\n");
  c->session->OnIdleTimeout();
  Drop(c);
  EXPECT_EQ(Messages().size(), 3u);
}

TEST_F(Pop3RetentionTest, RsetJournalsAbortedDeletes) {
  DeliverThree();
  auto c = Login();
  EXPECT_EQ(Send(*c, "DELE 2\r\nRSET\r\nQUIT\r\n"),
            "+OK Marked to be deleted.\r\n+OK\r\n+OK Logging out.\r\n");
  Flush();
  std::vector<storage::JournalKind> kinds;
  for (const auto& e : Journal()) {
    if (e.guid == d2_.guid && e.kind != storage::JournalKind::kDelivered) kinds.push_back(e.kind);
  }
  EXPECT_EQ(kinds, (std::vector<storage::JournalKind>{storage::JournalKind::kPop3DeletePending,
                                                      storage::JournalKind::kPop3DeleteAborted}));
  EXPECT_EQ(Messages().size(), 3u);
}

TEST_F(Pop3RetentionTest, DeliveryDuringSessionIsNotInItsSnapshot) {
  d1_ = Deliver(kM1);
  auto c = Login();
  auto late = Deliver(kM2);
  EXPECT_EQ(Send(*c, "STAT\r\nUIDL\r\nRETR 2\r\n"),
            "+OK 1 " + std::to_string(kM1.size()) + "\r\n+OK\r\n1 " +
                storage::FormatUidl(d1_.guid) + "\r\n.\r\n-ERR There's no message 2.\r\n");
  EXPECT_EQ(Send(*c, "DELE 1\r\nQUIT\r\n"),
            "+OK Marked to be deleted.\r\n+OK Logging out, messages deleted.\r\n");
  Drop(c);
  EXPECT_EQ(UidlListing(), "+OK\r\n1 " + storage::FormatUidl(late.guid) + "\r\n.\r\n");
}

TEST_F(Pop3RetentionTest, MessageExpungedByImapDuringSession) {
  DeliverThree();
  auto c = Login();
  auto inbox = fx_.store().Read()->FindMailbox(alice_.id, "INBOX");
  ASSERT_TRUE(inbox.ok());
  storage::ExpungeRequest req;
  req.mailbox = inbox->id;
  req.uids = std::vector<storage::Uid>{d1_.uid};
  req.require_deleted = false;
  auto r = fx_.Wait<std::vector<storage::Uid>>(
      [&](storage::Callback<std::vector<storage::Uid>> cb) { fx_.store().Expunge(req, cb); });
  ASSERT_TRUE(r.ok());
  Flush();
  EXPECT_EQ(Send(*c, "RETR 1\r\n"), "-ERR Message was removed by another session.\r\n");
  // Deleting it anyway is harmless.
  EXPECT_EQ(Send(*c, "DELE 1\r\nDELE 2\r\nQUIT\r\n"),
            "+OK Marked to be deleted.\r\n+OK Marked to be deleted.\r\n"
            "+OK Logging out, messages deleted.\r\n");
  EXPECT_EQ(Guids(), std::vector<std::uint64_t>{d3_.guid});
}

TEST_F(Pop3RetentionTest, UidlStableAcrossSessionsRestartsAndMoves) {
  DeliverThree();
  std::string first = UidlListing();
  EXPECT_EQ(first, "+OK\r\n1 " + storage::FormatUidl(d1_.guid) + "\r\n2 " +
                       storage::FormatUidl(d2_.guid) + "\r\n3 " + storage::FormatUidl(d3_.guid) +
                       "\r\n.\r\n");
  EXPECT_EQ(UidlListing(), first);
  fx_.Reopen();
  ctx_.store = &fx_.store();
  EXPECT_EQ(UidlListing(), first);

  // Move message 2 to Archive and back: it keeps its UIDL.
  auto view = fx_.store().Read();
  auto inbox = view->FindMailbox(alice_.id, "INBOX");
  auto archive = view->FindMailbox(alice_.id, "Archive");
  ASSERT_TRUE(inbox.ok() && archive.ok());
  view.reset();
  auto move = [&](storage::MailboxId from, storage::MailboxId to, storage::Uid uid) {
    storage::CopyRequest req;
    req.from = from;
    req.to = to;
    req.uids = {uid};
    req.move = true;
    auto r = fx_.Wait<storage::CopyResult>(
        [&](storage::Callback<storage::CopyResult> cb) { fx_.store().Copy(req, cb); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && !r->dest_uids.empty() ? r->dest_uids[0] : 0;
  };
  storage::Uid in_archive = move(inbox->id, archive->id, d2_.uid);
  move(archive->id, inbox->id, in_archive);
  EXPECT_EQ(UidlListing(), "+OK\r\n1 " + storage::FormatUidl(d1_.guid) + "\r\n2 " +
                               storage::FormatUidl(d3_.guid) + "\r\n3 " +
                               storage::FormatUidl(d2_.guid) + "\r\n.\r\n");
}

TEST_F(Pop3RetentionTest, RetrMarksSeenTopDoesNot) {
  DeliverThree();
  auto c = Login();
  Send(*c, "TOP 1 0\r\nRETR 2\r\n");
  EXPECT_EQ(Send(*c, "QUIT\r\n"), "+OK Logging out.\r\n");
  // QUIT waited for the RETR mark: it is durable now.
  auto msgs = Messages();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_FALSE(msgs[0].flags.system & storage::kFlagSeen);
  EXPECT_EQ(msgs[0].pop3.retrieved, 0);
  EXPECT_TRUE(msgs[1].flags.system & storage::kFlagSeen);
  EXPECT_NE(msgs[1].pop3.retrieved, 0);
  EXPECT_FALSE(msgs[2].flags.system & storage::kFlagSeen);
  bool journalled = false;
  for (const auto& e : Journal()) {
    if (e.kind == storage::JournalKind::kPop3Retrieved && e.guid == d2_.guid) journalled = true;
  }
  EXPECT_TRUE(journalled);
}

TEST_F(Pop3RetentionTest, MarkSeenCanBeTurnedOff) {
  config_.pop3.mark_seen_on_retr = false;
  DeliverThree();
  auto c = Login();
  Send(*c, "RETR 1\r\nQUIT\r\n");
  auto msgs = Messages();
  EXPECT_FALSE(msgs[0].flags.system & storage::kFlagSeen);
  EXPECT_NE(msgs[0].pop3.retrieved, 0);  // the retrieval is still recorded
}

TEST_F(Pop3RetentionTest, MarkSeenPerUserOverride) {
  SetSetting("alice", "pop3.mark_seen_on_retr", "false");
  DeliverThree();
  auto c = Login();
  Send(*c, "RETR 1\r\nQUIT\r\n");
  EXPECT_FALSE(Messages()[0].flags.system & storage::kFlagSeen);
}

TEST_F(Pop3RetentionTest, LiveSessionIsRegistered) {
  auto c = Login();
  Flush();
  auto live = fx_.store().Read()->LiveSessions(alice_.id);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].protocol, "pop3");
  EXPECT_EQ(live[0].id, c->session->id());
  EXPECT_EQ(live[0].peer, "127.0.0.1:40000");
  EXPECT_EQ(live[0].mailbox, "INBOX");
  EXPECT_TRUE(live[0].holds_pop3_lock);
  Drop(c);
  EXPECT_TRUE(fx_.store().Read()->LiveSessions(alice_.id).empty());
}

// --- message bytes ---------------------------------------------------------------------

TEST_F(Pop3RetentionTest, DotStuffingEdgeCases) {
  const std::string dots = "Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nmid.dle\r\n\r\n.";
  const std::string no_crlf = "Subject: x\r\n\r\nno final line end";
  const std::string header_only = "Subject: only\r\n";
  Deliver(dots);
  Deliver(no_crlf);
  Deliver(header_only);
  auto c = Login();
  EXPECT_EQ(
      Send(*c, "RETR 1\r\n"),
      "+OK " + std::to_string(dots.size()) +
          " octets\r\nSubject: dots\r\n\r\n..\r\n...\r\n..leading\r\nmid.dle\r\n\r\n..\r\n.\r\n");
  EXPECT_EQ(Send(*c, "RETR 2\r\n"),
            "+OK " + std::to_string(no_crlf.size()) + " octets\r\n" + no_crlf + "\r\n.\r\n");
  EXPECT_EQ(Send(*c, "TOP 2 5\r\n"), "+OK\r\n" + no_crlf + "\r\n.\r\n");
  EXPECT_EQ(Send(*c, "RETR 3\r\n"),
            "+OK " + std::to_string(header_only.size()) + " octets\r\n" + header_only + ".\r\n");
  EXPECT_EQ(Send(*c, "TOP 3 0\r\n"), "+OK\r\n" + header_only + ".\r\n");
  EXPECT_EQ(Send(*c, "TOP 1 2\r\n"), "+OK\r\nSubject: dots\r\n\r\n..\r\n...\r\n.\r\n");
}

TEST_F(Pop3RetentionTest, EmptyBody) {
  const std::string empty_body = "Subject: empty\r\n\r\n";
  Deliver(empty_body);
  auto c = Login();
  EXPECT_EQ(Send(*c, "RETR 1\r\n"),
            "+OK " + std::to_string(empty_body.size()) + " octets\r\n" + empty_body + ".\r\n");
  EXPECT_EQ(Send(*c, "TOP 1 0\r\n"), "+OK\r\n" + empty_body + ".\r\n");
  EXPECT_EQ(Send(*c, "TOP 1 3\r\n"), "+OK\r\n" + empty_body + ".\r\n");
}

TEST_F(Pop3RetentionTest, ListSizesEqualRetrievedOctets) {
  const std::string msgs[] = {kM1, "Subject: lf only\n\nbody\n.\n", "Subject: cr\r\rx\r",
                              "Subject: big\r\n\r\n" + std::string(200000, 'a') + "\r\n.\r\n" +
                                  std::string(70000, 'b') + "\r\n"};
  for (const auto& m : msgs) Deliver(m);
  auto c = Login();
  for (int i = 1; i <= 4; ++i) {
    std::string list = Send(*c, "LIST " + std::to_string(i) + "\r\n");
    std::string size = list.substr(4 + std::to_string(i).size() + 1);
    size.resize(size.size() - 2);
    std::string retr = Send(*c, "RETR " + std::to_string(i) + "\r\n");
    EXPECT_EQ(std::to_string(Unstuff(BodyOf(retr)).size()), size) << i;
    EXPECT_TRUE(retr.starts_with("+OK " + size + " octets\r\n")) << i;
  }
}

// Output that stays queued until the test lets the client read it.
class SlowClientOutput : public FakeOutput {
 public:
  void Write(std::string bytes) override {
    queued_ += bytes.size();
    max_queued_ = std::max(max_queued_, queued_);
    FakeOutput::Write(std::move(bytes));
  }
  std::size_t QueuedBytes() const override { return queued_; }
  void ReadAll() { queued_ = 0; }
  std::size_t max_queued() const { return max_queued_; }

 private:
  std::size_t queued_ = 0;
  std::size_t max_queued_ = 0;
};

TEST_F(Pop3RetentionTest, LargeMessageStreamsWithBackpressure) {
  std::string big = "Subject: big\r\n\r\n";
  for (int i = 0; big.size() < 3 * 1024 * 1024; ++i) big += "." + std::to_string(i) + " line\r\n";
  Deliver(big);
  Deliver(kM1);
  SlowClientOutput out;
  protocols::ConnectionInfo info = info_;
  Pop3Session session(ctx_, info, out);
  session.Start();
  session.OnInput("USER alice\r\nPASS secret\r\n");
  fx_.RunUntil([&] { return !session.WaitingForStore(); });
  out.ReadAll();
  EXPECT_EQ(out.Take(), "+OK Pillarbox ready.\r\n+OK\r\n+OK Logged in.\r\n");

  session.OnInput("RETR 1\r\nLIST 2\r\n");
  std::string got = out.Take();
  // Output stopped at the high-water mark; the pipelined LIST waits.
  EXPECT_TRUE(got.starts_with("+OK " + std::to_string(big.size()) + " octets\r\n"));
  EXPECT_GE(out.QueuedBytes(), config_.limits.output_high_water);
  EXPECT_LT(got.size(), big.size());
  EXPECT_TRUE(session.HasPendingWork());
  int steps = 1;
  while (session.HasPendingWork() && steps < 1000) {
    out.ReadAll();
    session.OnDrained();
    got += out.Take();
    ++steps;
  }
  EXPECT_GE(steps, static_cast<int>(big.size() / config_.limits.output_high_water));
  EXPECT_LE(out.max_queued(), config_.limits.output_high_water + kStreamChunk + kStreamChunk / 4);
  fx_.RunUntil([&] { return !session.WaitingForStore(); });
  const std::string list = "+OK 2 " + std::to_string(kM1.size()) + "\r\n";
  ASSERT_TRUE(got.ends_with(list));
  std::string retr = got.substr(0, got.size() - list.size());
  EXPECT_EQ(Unstuff(BodyOf(retr)), big);
  session.OnClosed();
}

TEST_F(Pop3RetentionTest, LongListingStreamsWithBackpressure) {
  config_.limits.output_high_water = 1000;
  std::vector<std::string> msgs;
  for (int i = 0; i < 3000; ++i) msgs.push_back("Subject: " + std::to_string(i) + "\r\n\r\nx\r\n");
  DeliverMany(msgs);
  auto c = Login();
  c->out.set_queued(5000);
  std::string out = Send(*c, "UIDL\r\nNOOP\r\n");
  EXPECT_FALSE(out.ends_with(".\r\n"));
  EXPECT_EQ(out.find("\r\n+OK\r\n"), std::string::npos);
  c->out.set_queued(0);
  c->session->OnDrained();
  out += c->out.Take();
  EXPECT_TRUE(
      out.ends_with("3000 " + storage::FormatUidl(Messages().back().guid) + "\r\n.\r\n+OK\r\n"));
}

TEST_F(Pop3RetentionTest, PipelinedCommandsWaitWhileOutputIsQueued) {
  DeliverThree();
  auto c = Login();
  c->out.set_queued(config_.limits.output_high_water + 1);
  EXPECT_EQ(Send(*c, "NOOP\r\nSTAT\r\n"), "");
  c->out.set_queued(0);
  c->session->OnDrained();
  EXPECT_EQ(c->out.Take(),
            "+OK\r\n+OK 3 " + std::to_string(kM1.size() + kM2.size() + kM3.size()) + "\r\n");
}

}  // namespace
}  // namespace pillarbox::pop3::testing
