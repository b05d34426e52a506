// What the journal and the log can tell: the journal kinds added for
// `pillarbox views` (unhidden, pop3-delete-refused) and how they persist,
// UnhidePop3, the detail of a TOP-as-download and of a POP3 move, and the
// log-only reason of a failed Authenticate.
#include <gtest/gtest.h>

#include "storage/store.h"
#include "tests/support/test_support.h"

namespace pillarbox::storage {
namespace {

using pillarbox::testing::StoreFixture;

std::string Msg(const std::string& subject) {
  return "From: a@example.com\r\nSubject: " + subject + "\r\n\r\nbody " + subject + "\r\n";
}

class VisibilityTest : public ::testing::Test {
 protected:
  StoreFixture f_;
  Store& store() { return f_.store(); }
  std::vector<JournalEvent> Journal(UserId user) { return store().Read()->Journal(user, 0, 1000); }
  Result<std::vector<Uid>> Unhide(UserId user, std::optional<std::vector<Uid>> uids) {
    return f_.Wait<std::vector<Uid>>([&](Callback<std::vector<Uid>> cb) {
      store().UnhidePop3(user, uids, Origin{"cli", 0, ""}, cb);
    });
  }
  void Hide(UserId user, MailboxId inbox, std::vector<Uid> uids) {
    Pop3CommitRequest req;
    req.user = user;
    req.mailbox = inbox;
    req.uids = std::move(uids);
    req.delete_mode = Pop3DeleteMode::kHide;
    ASSERT_TRUE(f_.Wait<Pop3CommitResult>([&](Callback<Pop3CommitResult> cb) {
                    store().Pop3Commit(req, cb);
                  }).ok());
  }
  bool Hidden(MailboxId inbox, Uid uid) {
    return store().Read()->GetMessage(inbox, uid)->pop3.hidden;
  }
};

TEST(JournalKindTest, NewKindsHaveTheirNames) {
  EXPECT_EQ(JournalKindName(JournalKind::kPop3Unhidden), "unhidden");
  EXPECT_EQ(JournalKindName(JournalKind::kPop3DeleteRefused), "pop3-delete-refused");
  EXPECT_EQ(kLastJournalKind, JournalKind::kPop3DeleteRefused);
  // The stored byte is the enum's value (FORMAT.md): appended, never renumbered.
  EXPECT_EQ(static_cast<int>(JournalKind::kExpired), 10);
  EXPECT_EQ(static_cast<int>(JournalKind::kPop3Unhidden), 11);
  EXPECT_EQ(static_cast<int>(JournalKind::kPop3DeleteRefused), 12);
}

TEST_F(VisibilityTest, RefusedDeleteEventIsStoredAndSurvivesReopen) {
  auto u = f_.AddUser("ann", "pw");
  auto a = f_.Deliver(u.id, Msg("kept"));
  JournalEvent ev;
  ev.kind = JournalKind::kPop3DeleteRefused;
  ev.origin = Origin{"pop3", 4, "127.0.0.1"};
  ev.mailbox = "INBOX";
  ev.uid = a.uid;
  ev.guid = a.guid;
  ev.detail = "delete mode deny";
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) { store().RecordJournal(u.id, ev, cb); }).ok());
  f_.Reopen();
  auto j = Journal(u.id);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1].kind, JournalKind::kPop3DeleteRefused);
  EXPECT_EQ(j[1].detail, "delete mode deny");
  EXPECT_EQ(j[1].uid, a.uid);
}

TEST_F(VisibilityTest, UnhideByUidAndAllJournalsEach) {
  auto u = f_.AddUser("bea", "pw");
  auto a = f_.Deliver(u.id, Msg("1"));
  f_.Deliver(u.id, Msg("2"));
  f_.Deliver(u.id, Msg("3"));
  Hide(u.id, a.mailbox, {1, 2, 3});
  ASSERT_TRUE(Hidden(a.mailbox, 1) && Hidden(a.mailbox, 2) && Hidden(a.mailbox, 3));

  // Missing and already visible UIDs are skipped.
  auto r = Unhide(u.id, std::vector<Uid>{2, 42});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<Uid>{2}));
  EXPECT_FALSE(Hidden(a.mailbox, 2));
  EXPECT_TRUE(Hidden(a.mailbox, 1));
  r = Unhide(u.id, std::vector<Uid>{2});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());

  r = Unhide(u.id, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<Uid>{1, 3}));
  EXPECT_FALSE(Hidden(a.mailbox, 1));
  EXPECT_FALSE(Hidden(a.mailbox, 3));

  std::vector<Uid> journaled;
  for (const auto& e : Journal(u.id)) {
    if (e.kind != JournalKind::kPop3Unhidden) continue;
    journaled.push_back(e.uid);
    EXPECT_EQ(e.origin.protocol, "cli");
    EXPECT_EQ(e.mailbox, "INBOX");
    EXPECT_FALSE(e.subject.empty());
  }
  EXPECT_EQ(journaled, (std::vector<Uid>{2, 1, 3}));
  Status s = store().CheckConsistency();
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(VisibilityTest, UnhideOfUnknownUserFails) {
  EXPECT_EQ(Unhide(999, std::nullopt).status().code(), Code::kNotFound);
}

TEST_F(VisibilityTest, RetrievedDetailAndSeenCombine) {
  auto u = f_.AddUser("cid", "pw");
  auto a = f_.Deliver(u.id, Msg("top"));
  Origin o{"pop3", 2, "127.0.0.1"};
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().MarkPop3Retrieved(a.mailbox, a.uid, false, o,
                                            "TOP returned the whole message", cb);
                }).ok());
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().MarkPop3Retrieved(a.mailbox, a.uid, true, o, "", cb);
                }).ok());
  auto j = Journal(u.id);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[1].kind, JournalKind::kPop3Retrieved);
  EXPECT_EQ(j[1].detail, "TOP returned the whole message");
  EXPECT_EQ(j[2].detail, "marked \\Seen");
}

TEST_F(VisibilityTest, Pop3MoveJournalsTheDestinationUid) {
  auto u = f_.AddUser("dan", "pw");
  auto a = f_.Deliver(u.id, Msg("away"));
  Pop3CommitRequest req;
  req.user = u.id;
  req.mailbox = a.mailbox;
  req.uids = {a.uid};
  req.delete_mode = Pop3DeleteMode::kMove;
  req.move_target = "Archive";
  ASSERT_TRUE(f_.Wait<Pop3CommitResult>([&](Callback<Pop3CommitResult> cb) {
                  store().Pop3Commit(req, cb);
                }).ok());
  auto j = Journal(u.id);
  ASSERT_EQ(j.back().kind, JournalKind::kPop3Deleted);
  EXPECT_EQ(j.back().mailbox, "INBOX");
  EXPECT_EQ(j.back().uid, a.uid);
  EXPECT_EQ(j.back().detail, "move:Archive, now Archive UID 1");
}

TEST_F(VisibilityTest, FailedAuthenticationSaysWhyForTheLogOnly) {
  f_.AddUser("eve", "right");
  auto wrong = f_.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { store().Authenticate("eve", "wrong", "192.0.2.1", cb); });
  auto unknown = f_.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { store().Authenticate("nobody", "right", "192.0.2.1", cb); });
  EXPECT_EQ(wrong.status().code(), Code::kNoPermission);
  EXPECT_EQ(unknown.status().code(), Code::kNoPermission);
  EXPECT_EQ(wrong.status().message(), kAuthWrongPassword);
  EXPECT_EQ(unknown.status().message(), kAuthUnknownUser);
}

}  // namespace
}  // namespace pillarbox::storage
