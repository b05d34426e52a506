// POP3 retrieval and commit in every delete mode, the journal, retention
// and live sessions.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/store.h"
#include "tests/support/test_support.h"

namespace pillarbox::storage {
namespace {

using pillarbox::testing::StoreFixture;

std::string Msg(const std::string& subject) {
  return "From: a@example.com\r\nSubject: " + subject + "\r\n\r\nbody " + subject + "\r\n";
}

class Pop3JournalTest : public ::testing::Test {
 protected:
  StoreFixture f_;
  Store& store() { return f_.store(); }

  MailboxRecord Mailbox(UserId user, const std::string& name) {
    auto r = store().Read()->FindMailbox(user, name);
    EXPECT_TRUE(r.ok()) << name;
    return r.ok() ? *r : MailboxRecord{};
  }
  Result<Pop3CommitResult> Commit(UserId user, MailboxId mb, std::vector<Uid> uids,
                                  Pop3DeleteMode mode, std::string target = "") {
    Pop3CommitRequest req;
    req.user = user;
    req.mailbox = mb;
    req.uids = std::move(uids);
    req.delete_mode = mode;
    req.move_target = std::move(target);
    req.origin.protocol = "pop3";
    req.origin.session = 7;
    req.origin.peer = "127.0.0.1";
    return f_.Wait<Pop3CommitResult>(
        [&](Callback<Pop3CommitResult> cb) { store().Pop3Commit(req, cb); });
  }
  std::vector<JournalEvent> Journal(UserId user) { return store().Read()->Journal(user, 0, 1000); }
  std::vector<JournalKind> Kinds(UserId user) {
    std::vector<JournalKind> out;
    for (const auto& e : Journal(user)) out.push_back(e.kind);
    return out;
  }
  void ExpectConsistent() {
    Status s = store().CheckConsistency();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
};

TEST_F(Pop3JournalTest, MarkRetrievedSetsSeenAndJournals) {
  auto u = f_.AddUser("ann", "pw");
  auto a = f_.Deliver(u.id, Msg("one"));
  Origin o{"pop3", 3, "::1"};
  ModSeq before = Mailbox(u.id, "INBOX").highest_modseq;
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().MarkPop3Retrieved(a.mailbox, a.uid, true, o, "", cb);
                }).ok());
  auto m = store().Read()->GetMessage(a.mailbox, a.uid);
  EXPECT_GT(m->pop3.retrieved, 0);
  EXPECT_TRUE(m->flags.system & kFlagSeen);
  auto mb = Mailbox(u.id, "INBOX");
  EXPECT_EQ(mb.unseen, 0u);
  EXPECT_GT(mb.highest_modseq, before);
  auto j = Journal(u.id);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0].kind, JournalKind::kDelivered);
  EXPECT_EQ(j[1].kind, JournalKind::kPop3Retrieved);
  EXPECT_EQ(j[1].origin.protocol, "pop3");
  EXPECT_EQ(j[1].origin.peer, "::1");
  EXPECT_EQ(j[1].guid, a.guid);
  EXPECT_EQ(j[1].uid, a.uid);
  EXPECT_EQ(j[1].mailbox, "INBOX");
  // Without set_seen the flags and modseq stay.
  auto b = f_.Deliver(u.id, Msg("two"));
  before = Mailbox(u.id, "INBOX").highest_modseq;
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().MarkPop3Retrieved(b.mailbox, b.uid, false, o, "", cb);
                }).ok());
  EXPECT_FALSE(store().Read()->GetMessage(b.mailbox, b.uid)->flags.system & kFlagSeen);
  EXPECT_EQ(Mailbox(u.id, "INBOX").highest_modseq, before);
  EXPECT_EQ(f_.WaitStatus([&](StatusCallback cb) {
                store().MarkPop3Retrieved(b.mailbox, 99, false, o, "", cb);
              }).code(),
            Code::kExpunged);
  ExpectConsistent();
}

TEST_F(Pop3JournalTest, CommitExpungeRemovesMessages) {
  auto u = f_.AddUser("bea", "pw");
  auto a = f_.Deliver(u.id, Msg("1"));
  f_.Deliver(u.id, Msg("2"));
  f_.Deliver(u.id, Msg("3"));
  auto r = Commit(u.id, a.mailbox, {1, 3, 42}, Pop3DeleteMode::kExpunge);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->applied, (std::vector<Uid>{1, 3}));
  auto msgs = store().Read()->ListMessages(a.mailbox);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].uid, 2u);
  auto changes = store().Read()->ChangesSince(a.mailbox, 0);
  int expunges = 0;
  for (const auto& c : changes) expunges += c.kind == Change::Kind::kExpunge;
  EXPECT_EQ(expunges, 2);
  auto j = Journal(u.id);
  ASSERT_EQ(j.back().kind, JournalKind::kPop3Deleted);
  EXPECT_EQ(j.back().detail, "expunge");
  EXPECT_EQ(j.back().subject, "3");
  ExpectConsistent();
}

TEST_F(Pop3JournalTest, CommitHideKeepsMessageForImap) {
  auto u = f_.AddUser("cid", "pw");
  auto a = f_.Deliver(u.id, Msg("1"));
  f_.Deliver(u.id, Msg("2"));
  auto r = Commit(u.id, a.mailbox, {2}, Pop3DeleteMode::kHide);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->applied, (std::vector<Uid>{2}));
  auto view = store().Read();
  auto msgs = view->ListMessages(a.mailbox);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_FALSE(msgs[0].pop3.hidden);
  EXPECT_TRUE(msgs[1].pop3.hidden);
  EXPECT_EQ(view->GetMailbox(a.mailbox)->messages, 2u);
  view.reset();
  EXPECT_EQ(Journal(u.id).back().detail, "hide");
  ExpectConsistent();
}

TEST_F(Pop3JournalTest, CommitMoveCreatesTargetAndKeepsGuid) {
  auto u = f_.AddUser("dan", "pw");
  auto a = f_.Deliver(u.id, Msg("1"));
  f_.Deliver(u.id, Msg("2"));
  auto r = Commit(u.id, a.mailbox, {1}, Pop3DeleteMode::kMove, "Downloaded/POP3");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto target = Mailbox(u.id, "Downloaded/POP3");
  auto moved = store().Read()->ListMessages(target.id);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].guid, a.guid);
  EXPECT_EQ(Mailbox(u.id, "INBOX").messages, 1u);
  EXPECT_EQ(Journal(u.id).back().detail, "move:Downloaded/POP3, now Downloaded/POP3 UID 1");
  // An existing target is used as it is.
  r = Commit(u.id, a.mailbox, {2}, Pop3DeleteMode::kMove, "Archive");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Mailbox(u.id, "Archive").messages, 1u);
  EXPECT_EQ(Mailbox(u.id, "INBOX").messages, 0u);
  // Moving INBOX into itself is refused.
  f_.Deliver(u.id, Msg("3"));
  EXPECT_EQ(Commit(u.id, a.mailbox, {3}, Pop3DeleteMode::kMove, "inbox").status().code(),
            Code::kInvalidArgument);
  ExpectConsistent();
}

TEST_F(Pop3JournalTest, CommitDenyAndForeignMailboxAreRefused) {
  auto u = f_.AddUser("eve", "pw");
  auto v = f_.AddUser("fay", "pw");
  auto a = f_.Deliver(u.id, Msg("1"));
  EXPECT_EQ(Commit(u.id, a.mailbox, {1}, Pop3DeleteMode::kDeny).status().code(),
            Code::kNoPermission);
  EXPECT_EQ(Commit(v.id, a.mailbox, {1}, Pop3DeleteMode::kExpunge).status().code(),
            Code::kNoPermission);
  Pop3CommitRequest req;
  req.user = u.id;
  req.mailbox = a.mailbox;
  req.delete_mode = static_cast<Pop3DeleteMode>(9);
  EXPECT_EQ(
      f_.Wait<Pop3CommitResult>([&](Callback<Pop3CommitResult> cb) { store().Pop3Commit(req, cb); })
          .status()
          .code(),
      Code::kInvalidArgument);
  EXPECT_EQ(Mailbox(u.id, "INBOX").messages, 1u);
}

TEST_F(Pop3JournalTest, JournalRecordsEveryPath) {
  auto u = f_.AddUser("gil", "pw");
  AppendRequest req;
  req.user = u.id;
  req.bytes = std::make_shared<const std::string>(Msg("Hello"));
  req.origin = Origin{"lmtp", 1, "10.0.0.1"};
  req.envelope_from = "sender@example.com";
  auto a = f_.Wait<AppendResult>([&](Callback<AppendResult> cb) { store().Append(req, cb); });
  ASSERT_TRUE(a.ok());
  auto sflags = [&](FlagOp op, Flags fl, std::string proto) {
    StoreFlagsRequest s;
    s.mailbox = a->mailbox;
    s.uids = {a->uid};
    s.op = op;
    s.flags = std::move(fl);
    s.origin.protocol = std::move(proto);
    ASSERT_TRUE(f_.Wait<StoreFlagsResult>([&](Callback<StoreFlagsResult> cb) {
                    store().StoreFlags(s, cb);
                  }).ok());
  };
  sflags(FlagOp::kAdd, Flags{kFlagSeen, {}}, "imap");                  // imap-read
  sflags(FlagOp::kAdd, Flags{kFlagFlagged, {"Work"}}, "imap");         // flags-changed
  sflags(FlagOp::kRemove, Flags{kFlagSeen, {}}, "imap");               // flags-changed
  sflags(FlagOp::kAdd, Flags{kFlagSeen | kFlagAnswered, {}}, "imap");  // imap-read + flags
  auto archive = Mailbox(u.id, "Archive");
  CopyRequest c;
  c.from = a->mailbox;
  c.uids = {a->uid};
  c.to = archive.id;
  c.origin.protocol = "imap";
  ASSERT_TRUE(f_.Wait<CopyResult>([&](Callback<CopyResult> cb) { store().Copy(c, cb); }).ok());
  c.move = true;
  c.to = Mailbox(u.id, "Trash").id;
  ASSERT_TRUE(f_.Wait<CopyResult>([&](Callback<CopyResult> cb) { store().Copy(c, cb); }).ok());
  ExpungeRequest e;
  e.mailbox = archive.id;
  e.require_deleted = false;
  e.origin.protocol = "imap";
  ASSERT_TRUE(f_.Wait<std::vector<Uid>>([&](Callback<std::vector<Uid>> cb) {
                  store().Expunge(e, cb);
                }).ok());
  JournalEvent pending;
  pending.kind = JournalKind::kPop3DeletePending;
  pending.origin.protocol = "pop3";
  pending.mailbox = "INBOX";
  pending.detail = "DELE 1";
  ASSERT_TRUE(
      f_.WaitStatus([&](StatusCallback cb) { store().RecordJournal(u.id, pending, cb); }).ok());

  auto j = Journal(u.id);
  std::vector<JournalKind> kinds;
  for (const auto& ev : j) kinds.push_back(ev.kind);
  EXPECT_EQ(kinds, (std::vector<JournalKind>{
                       JournalKind::kDelivered, JournalKind::kImapRead, JournalKind::kFlagsChanged,
                       JournalKind::kFlagsChanged, JournalKind::kImapRead,
                       JournalKind::kFlagsChanged, JournalKind::kCopied, JournalKind::kMoved,
                       JournalKind::kExpunged, JournalKind::kPop3DeletePending}));
  EXPECT_EQ(j[0].detail, "lmtp from <sender@example.com>");
  EXPECT_EQ(j[0].subject, "Hello");
  EXPECT_EQ(j[0].origin.peer, "10.0.0.1");
  EXPECT_EQ(j[2].detail, "+\\Flagged +Work");
  EXPECT_EQ(j[3].detail, "-\\Seen");
  EXPECT_EQ(j[5].detail, "+\\Answered");
  EXPECT_EQ(j[6].mailbox, "Archive");
  EXPECT_EQ(j[7].mailbox, "Trash");
  EXPECT_EQ(j[7].guid, a->guid);  // moved: same guid
  EXPECT_EQ(j[7].subject, "Hello");
  EXPECT_EQ(j[9].detail, "DELE 1");
  for (std::size_t i = 1; i < j.size(); ++i) {
    EXPECT_TRUE(j[i].time > j[i - 1].time ||
                (j[i].time == j[i - 1].time && j[i].seq > j[i - 1].seq));
  }
  // Bounded answers are the newest ones.
  auto last2 = store().Read()->Journal(u.id, 0, 2);
  ASSERT_EQ(last2.size(), 2u);
  EXPECT_EQ(last2[1].kind, JournalKind::kPop3DeletePending);
  EXPECT_TRUE(store().Read()->Journal(u.id, j.back().time + 1, 10).empty());
  // \Seen set by another protocol is a plain flag change.
  auto b = f_.Deliver(u.id, Msg("b"));
  StoreFlagsRequest s;
  s.mailbox = b.mailbox;
  s.uids = {b.uid};
  s.flags.system = kFlagSeen;
  s.origin.protocol = "cli";
  ASSERT_TRUE(f_.Wait<StoreFlagsResult>([&](Callback<StoreFlagsResult> cb) {
                  store().StoreFlags(s, cb);
                }).ok());
  EXPECT_EQ(Kinds(u.id).back(), JournalKind::kFlagsChanged);
}

TEST(JournalBoundTest, PrunedByCountAndAge) {
  StoreFixture f([](StoreOptions& o) {
    o.journal_max_events_per_user = 5;
    o.journal_max_age_days = 1;
  });
  auto u = f.AddUser("hub", "pw");
  for (int i = 0; i < 8; ++i) f.Deliver(u.id, Msg("m" + std::to_string(i)));
  auto j = f.store().Read()->Journal(u.id, 0, 100);
  ASSERT_EQ(j.size(), 5u);
  EXPECT_EQ(j.front().subject, "m3");
  EXPECT_EQ(j.back().subject, "m7");
  JournalEvent old;
  old.kind = JournalKind::kPop3DeleteAborted;
  old.time = 1000;  // 1970
  ASSERT_TRUE(
      f.WaitStatus([&](StatusCallback cb) { f.store().RecordJournal(u.id, old, cb); }).ok());
  // At the bound, the oldest event (by time) is the one dropped.
  auto bounded = f.store().Read()->Journal(u.id, 0, 100);
  ASSERT_EQ(bounded.size(), 5u);
  EXPECT_EQ(bounded.front().subject, "m3");
  ASSERT_TRUE(f.WaitStatus([&](StatusCallback cb) {
                 f.store().SweepRetention({}, time(nullptr), cb);
               }).ok());
  EXPECT_EQ(f.store().Read()->Journal(u.id, 0, 100).size(), 5u);  // none is a day old
  // Everything ages out eventually.
  ASSERT_TRUE(f.WaitStatus([&](StatusCallback cb) {
                 f.store().SweepRetention({}, time(nullptr) + 3 * 86400, cb);
               }).ok());
  EXPECT_TRUE(f.store().Read()->Journal(u.id, 0, 100).empty());
  // The count restarts from the pruned state.
  for (int i = 0; i < 3; ++i) f.Deliver(u.id, Msg("n" + std::to_string(i)));
  EXPECT_EQ(f.store().Read()->Journal(u.id, 0, 100).size(), 3u);
}

TEST_F(Pop3JournalTest, RetentionExpiresOldMessagesByRuleAndMailboxSetting) {
  auto u = f_.AddUser("ida", "pw");
  auto trash = f_.Deliver(u.id, Msg("t"), "Trash");
  f_.Deliver(u.id, Msg("j"), "Junk");
  f_.Deliver(u.id, Msg("i"), "INBOX");
  f_.Deliver(u.id, Msg("a"), "Archive");
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().SetMailboxRetention(u.id, "Archive", 2, cb);
                }).ok());
  EXPECT_EQ(Mailbox(u.id, "Archive").expire_after_days, 2);
  std::vector<RetentionRule> rules = {{"Trash", 30}, {"\\Junk", 7}};
  UnixTime now = time(nullptr);
  // Nothing is old enough yet.
  ASSERT_TRUE(
      f_.WaitStatus([&](StatusCallback cb) { store().SweepRetention(rules, now, cb); }).ok());
  EXPECT_EQ(Mailbox(u.id, "Trash").messages, 1u);
  // 8 days later: Junk (7 by special use) and Archive (2 by setting) expire.
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().SweepRetention(rules, now + 8 * 86400 + 10, cb);
                }).ok());
  EXPECT_EQ(Mailbox(u.id, "Junk").messages, 0u);
  EXPECT_EQ(Mailbox(u.id, "Archive").messages, 0u);
  EXPECT_EQ(Mailbox(u.id, "Trash").messages, 1u);
  EXPECT_EQ(Mailbox(u.id, "INBOX").messages, 1u);
  auto j = Journal(u.id);
  int expired = 0;
  for (const auto& e : j) {
    if (e.kind != JournalKind::kExpired) continue;
    ++expired;
    EXPECT_EQ(e.origin.protocol, "retention");
  }
  EXPECT_EQ(expired, 2);
  BlobId trash_blob = store().Read()->GetMessage(trash.mailbox, trash.uid)->blob;
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().SweepRetention(rules, now + 31 * 86400, cb);
                }).ok());
  EXPECT_EQ(Mailbox(u.id, "Trash").messages, 0u);
  EXPECT_EQ(Mailbox(u.id, "INBOX").messages, 1u);
  EXPECT_EQ(store().Read()->Blob(trash_blob).status().code(), Code::kNotFound);
  EXPECT_EQ(f_.WaitStatus([&](StatusCallback cb) {
                store().SetMailboxRetention(u.id, "Nope", 2, cb);
              }).code(),
            Code::kNotFound);
  ExpectConsistent();
}

TEST_F(Pop3JournalTest, LiveSessionsAreListedAndStaleOnesDropped) {
  auto u = f_.AddUser("jo", "pw");
  ReadView::LiveSession s;
  s.id = 11;
  s.protocol = "imap";
  s.peer = "127.0.0.1:5000";
  s.user = u.id;
  s.mailbox = "INBOX";
  s.since = 12345;
  store().RegisterLiveSession(s);
  s.id = 12;
  s.protocol = "pop3";
  s.holds_pop3_lock = true;
  s.user = 999;
  store().RegisterLiveSession(s);
  store().Flush();
  auto mine = store().Read()->LiveSessions(u.id);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].id, 11u);
  EXPECT_EQ(mine[0].pid, static_cast<std::uint64_t>(getpid()));
  EXPECT_EQ(mine[0].peer, "127.0.0.1:5000");
  EXPECT_EQ(mine[0].since, 12345);
  EXPECT_EQ(store().Read()->LiveSessions(0).size(), 2u);
  store().UnregisterLiveSession(11);
  store().Flush();
  EXPECT_TRUE(store().Read()->LiveSessions(u.id).empty());
  EXPECT_EQ(store().Read()->LiveSessions(0).size(), 1u);
  // A restart drops the rows of the previous run.
  f_.Reopen();
  EXPECT_TRUE(f_.store().Read()->LiveSessions(0).empty());
}

}  // namespace
}  // namespace pillarbox::storage

namespace pillarbox::storage {
namespace {

// CONDSTORE/QRESYNC clients resynchronize from the change log: every path
// that adds, removes or re-flags a message (LMTP/SMTP delivery and the CLI
// append, POP3 RETR with \Seen, POP3 QUIT in the expunge and move modes)
// must leave a change row with a fresh modseq, like IMAP does.
TEST_F(Pop3JournalTest, EveryPathLeavesModSeqsInTheChangeLog) {
  auto u = f_.AddUser("cat", "pw");
  ModSeq start = Mailbox(u.id, "INBOX").highest_modseq;
  std::vector<Uid> uids;
  for (const char* proto : {"lmtp", "smtp", "cli", "lmtp"}) {
    AppendRequest req;
    req.user = u.id;
    req.bytes = std::make_shared<const std::string>(Msg(proto));
    req.origin.protocol = proto;
    auto r = f_.Wait<AppendResult>([&](Callback<AppendResult> cb) { store().Append(req, cb); });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    uids.push_back(r->uid);
  }
  MailboxId inbox = Mailbox(u.id, "INBOX").id;
  auto changes = store().Read()->ChangesSince(inbox, start);
  ASSERT_EQ(changes.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(changes[i].kind, Change::Kind::kNew);
    EXPECT_EQ(changes[i].uid, uids[i]);
    EXPECT_EQ(changes[i].modseq, store().Read()->GetMessage(inbox, uids[i])->modseq);
  }
  // RETR with \Seen: a flags change.
  ModSeq before = Mailbox(u.id, "INBOX").highest_modseq;
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().MarkPop3Retrieved(inbox, uids[0], true, {"pop3", 1, ""}, "", cb);
                }).ok());
  changes = store().Read()->ChangesSince(inbox, before);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kFlags);
  EXPECT_EQ(changes[0].uid, uids[0]);
  EXPECT_GT(changes[0].modseq, before);
  // QUIT, expunge mode: an expunge row per message.
  before = Mailbox(u.id, "INBOX").highest_modseq;
  ASSERT_TRUE(Commit(u.id, inbox, {uids[0], uids[1]}, Pop3DeleteMode::kExpunge).ok());
  changes = store().Read()->ChangesSince(inbox, before);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kExpunge);
  EXPECT_EQ(changes[0].uid, uids[0]);
  EXPECT_EQ(changes[1].kind, Change::Kind::kExpunge);
  EXPECT_EQ(changes[1].uid, uids[1]);
  EXPECT_GT(changes[0].modseq, before);
  EXPECT_GT(changes[1].modseq, changes[0].modseq);
  EXPECT_EQ(Mailbox(u.id, "INBOX").highest_modseq, changes[1].modseq);
  // Move mode: expunged here, new there.
  before = Mailbox(u.id, "INBOX").highest_modseq;
  ASSERT_TRUE(Commit(u.id, inbox, {uids[2]}, Pop3DeleteMode::kMove, "Archive").ok());
  changes = store().Read()->ChangesSince(inbox, before);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kExpunge);
  EXPECT_EQ(changes[0].uid, uids[2]);
  auto archive = Mailbox(u.id, "Archive");
  auto moved = store().Read()->ChangesSince(archive.id, 0);
  ASSERT_FALSE(moved.empty());
  EXPECT_EQ(moved.back().kind, Change::Kind::kNew);
  EXPECT_EQ(moved.back().modseq, archive.highest_modseq);
  // Hide mode: the message stays in IMAP; nothing is expunged.
  before = Mailbox(u.id, "INBOX").highest_modseq;
  ASSERT_TRUE(Commit(u.id, inbox, {uids[3]}, Pop3DeleteMode::kHide).ok());
  for (const auto& c : store().Read()->ChangesSince(inbox, before)) {
    EXPECT_NE(c.kind, Change::Kind::kExpunge);
  }
  EXPECT_TRUE(store().Read()->GetMessage(inbox, uids[3]).ok());
  ExpectConsistent();
}

TEST_F(Pop3JournalTest, LiveSessionKeepsTheClientIdBoundedAtACharacterBoundary) {
  auto u = f_.AddUser("ida", "pw");
  ReadView::LiveSession s;
  s.id = 21;
  s.protocol = "imap";
  s.user = u.id;
  store().RegisterLiveSession(s);  // no ID yet
  store().Flush();
  auto live = store().Read()->LiveSessions(u.id);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].client_id, "");
  // ID arrives: the same session, registered again.
  s.client_id = "Thunderbird 128.0";
  store().RegisterLiveSession(s);
  store().Flush();
  live = store().Read()->LiveSessions(u.id);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].client_id, "Thunderbird 128.0");
  // Longer than the bound: cut, never inside a UTF-8 character ("é" is
  // two bytes and straddles the bound).
  s.client_id = std::string(kMaxLiveClientIdBytes - 1, 'a') + "\xc3\xa9" + "tail";
  store().RegisterLiveSession(s);
  store().Flush();
  live = store().Read()->LiveSessions(u.id);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].client_id, std::string(kMaxLiveClientIdBytes - 1, 'a'));
}

}  // namespace
}  // namespace pillarbox::storage
