// Import support in the store: an append with the UID, date and POP3 UIDL a
// message had elsewhere, SetMailboxUidState, the UIDL surviving MOVE and
// not COPY, and the format-version upgrade that the UIDL field brought.
#include <gtest/gtest.h>

#include "storage/lmdb/codec.h"
#include "storage/store.h"
#include "storage/uidl.h"
#include "tests/support/test_support.h"

namespace pillarbox::storage {
namespace {

using pillarbox::testing::StoreFixture;

const std::string kMsg = "Subject: x\r\n\r\nbody\r\n";

class ImportStateTest : public ::testing::Test {
 protected:
  StoreFixture f_;
  UserRecord user_ = f_.AddUser("alice", "pw");

  Result<AppendResult> Append(std::optional<Uid> uid, std::string uidl = "",
                              std::string body = kMsg, std::string mailbox = "INBOX") {
    AppendRequest req;
    req.user = user_.id;
    req.mailbox = std::move(mailbox);
    req.bytes = std::make_shared<const std::string>(std::move(body));
    req.uid = uid;
    req.pop3_uidl = std::move(uidl);
    req.internal_date = 1000000000;
    req.origin.protocol = "import";
    return f_.Wait<AppendResult>([&](Callback<AppendResult> cb) { f_.store().Append(req, cb); });
  }
  Status SetState(std::string name, std::uint32_t v, Uid next, ModSeq min_modseq = 0) {
    return f_.WaitStatus([&](StatusCallback cb) {
      f_.store().SetMailboxUidState(user_.id, name, v, next, min_modseq, cb);
    });
  }
  MailboxRecord Inbox() { return *f_.store().Read()->FindMailbox(user_.id, "INBOX"); }
};

TEST_F(ImportStateTest, ExplicitUidsAscendAndRaiseUidnext) {
  ASSERT_TRUE(SetState("INBOX", 1275660208, 1).ok());
  EXPECT_EQ(Inbox().uidvalidity, 1275660208u);
  auto a = Append(3, "0000000313e8b3f0");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->uid, 3u);
  EXPECT_EQ(a->uidvalidity, 1275660208u);
  auto b = Append(7);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->uid, 7u);
  // Below UIDNEXT: refused, nothing stored.
  EXPECT_EQ(Append(5).status().code(), Code::kExists);
  EXPECT_EQ(Append(0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Append(std::nullopt, "has space").status().code(), Code::kInvalidArgument);
  // Without a UID: the next one.
  EXPECT_EQ(Append(std::nullopt)->uid, 8u);
  ASSERT_TRUE(SetState("INBOX", 1275660208, 25).ok());
  EXPECT_EQ(Inbox().uidnext, 25u);
  // Lower UIDNEXT with the same UIDVALIDITY: kept.
  ASSERT_TRUE(SetState("INBOX", 0, 10).ok());
  EXPECT_EQ(Inbox().uidnext, 25u);
  // Another UIDVALIDITY on a mailbox with mail: refused.
  EXPECT_EQ(SetState("INBOX", 99, 1).code(), Code::kInUse);
  auto msgs = f_.store().Read()->ListMessages(Inbox().id);
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[0].pop3_uidl, "0000000313e8b3f0");
  EXPECT_EQ(MessageUidl(msgs[0]), "0000000313e8b3f0");
  EXPECT_EQ(MessageUidl(msgs[1]), FormatUidl(msgs[1].guid));
  EXPECT_EQ(msgs[0].internal_date, 1000000000);
  EXPECT_TRUE(f_.store().CheckConsistency().ok());
  // Survives a restart.
  f_.Reopen();
  msgs = f_.store().Read()->ListMessages(Inbox().id);
  EXPECT_EQ(msgs[0].pop3_uidl, "0000000313e8b3f0");
}

TEST_F(ImportStateTest, HighestModseqGrowsToTheFloorAndNeverShrinks) {
  ModSeq start = Inbox().highest_modseq;
  ASSERT_LT(start, 1000u);
  ASSERT_TRUE(SetState("INBOX", 1275660208, 1, 1000).ok());
  EXPECT_EQ(Inbox().highest_modseq, 1000u);
  EXPECT_EQ(Inbox().uidvalidity, 1275660208u);
  // What is stored afterwards comes above it, and is a change after it.
  auto a = Append(4);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto msgs = f_.store().Read()->ListMessages(Inbox().id);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].modseq, 1001u);
  EXPECT_EQ(Inbox().highest_modseq, 1001u);
  auto changes = f_.store().Read()->ChangesSince(Inbox().id, 999);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].uid, 4u);
  EXPECT_TRUE(f_.store().Read()->ChangesSince(Inbox().id, 1001).empty());
  // A lower floor, or none: unchanged (the same UIDVALIDITY, a rerun).
  ASSERT_TRUE(SetState("INBOX", 1275660208, 1, 500).ok());
  ASSERT_TRUE(SetState("INBOX", 0, 2, 0).ok());
  EXPECT_EQ(Inbox().highest_modseq, 1001u);
  EXPECT_EQ(Inbox().uidnext, 5u);
  EXPECT_TRUE(f_.store().CheckConsistency().ok());
  f_.Reopen();
  EXPECT_EQ(Inbox().highest_modseq, 1001u);
}

TEST_F(ImportStateTest, UidlMovesWithTheMessageButNotToACopy) {
  ASSERT_TRUE(Append(std::nullopt, "keep-me").ok());
  auto archive = *f_.store().Read()->FindMailbox(user_.id, "Archive");
  auto copy = [&](bool move) {
    CopyRequest req;
    req.from = Inbox().id;
    req.uids = {1};
    req.to = archive.id;
    req.move = move;
    return f_.Wait<CopyResult>([&](Callback<CopyResult> cb) { f_.store().Copy(req, cb); });
  };
  ASSERT_TRUE(copy(false).ok());
  ASSERT_TRUE(copy(true).ok());
  auto msgs = f_.store().Read()->ListMessages(archive.id);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].pop3_uidl, "");
  EXPECT_EQ(msgs[1].pop3_uidl, "keep-me");
  EXPECT_TRUE(f_.store().CheckConsistency().ok());
}

TEST_F(ImportStateTest, NewUidvalidityOnAnEmptyMailboxRestartsUids) {
  ASSERT_TRUE(Append(std::nullopt).ok());
  ASSERT_TRUE(Append(std::nullopt).ok());
  ExpungeRequest req;
  req.mailbox = Inbox().id;
  req.require_deleted = false;
  ASSERT_TRUE(f_.Wait<std::vector<Uid>>([&](Callback<std::vector<Uid>> cb) {
                  f_.store().Expunge(req, cb);
                }).ok());
  ASSERT_TRUE(SetState("INBOX", 42, 1).ok());
  EXPECT_EQ(Inbox().uidvalidity, 42u);
  EXPECT_EQ(Append(1)->uid, 1u);
  EXPECT_TRUE(f_.store().CheckConsistency().ok());
  EXPECT_EQ(SetState("Nope", 1, 1).code(), Code::kNotFound);
}

TEST(MessageCodecTest, Pop3UidlIsAnOptionalTrailingField) {
  MessageRecord m;
  m.guid = 5;
  m.flags.keywords = {"k"};
  std::string v1 = lmdb::EncodeMessage(m);
  m.pop3_uidl = "abc";
  std::string v2 = lmdb::EncodeMessage(m);
  EXPECT_EQ(v2.size(), v1.size() + 4 + 3);
  MessageRecord back;
  ASSERT_TRUE(lmdb::DecodeMessage(v1, &back));
  EXPECT_EQ(back.pop3_uidl, "");
  ASSERT_TRUE(lmdb::DecodeMessage(v2, &back));
  EXPECT_EQ(back.pop3_uidl, "abc");
  EXPECT_EQ(back.flags.keywords, std::vector<std::string>{"k"});
  EXPECT_FALSE(lmdb::DecodeMessage(v2 + "x", &back));
}

}  // namespace
}  // namespace pillarbox::storage
