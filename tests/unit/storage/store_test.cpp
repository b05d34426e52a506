// Store: users, mailboxes, messages, flags, copy/move, expunge, changes,
// counts, refcounts, group commit, change bus, owner-thread state.
#include "storage/store.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/test_support.h"

namespace pillarbox::storage {
namespace {

using pillarbox::testing::StoreFixture;

std::string Msg(const std::string& subject, const std::string& body = "hello") {
  return "From: a@example.com\r\nTo: b@example.com\r\nSubject: " + subject + "\r\n\r\n" + body +
         "\r\n";
}

class StoreTest : public ::testing::Test {
 protected:
  StoreFixture f_;
  Store& store() { return f_.store(); }

  MailboxRecord Mailbox(UserId user, const std::string& name) {
    auto view = store().Read();
    auto r = view->FindMailbox(user, name);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    return r.ok() ? *r : MailboxRecord{};
  }
  std::vector<MessageRecord> Messages(MailboxId id) { return store().Read()->ListMessages(id); }

  Status CreateMailbox(UserId user, const std::string& name) {
    auto r = f_.Wait<MailboxRecord>([&](Callback<MailboxRecord> cb) {
      store().CreateMailbox(user, name, SpecialUse::kNone, cb);
    });
    return r.status();
  }
  Result<StoreFlagsResult> SetFlags(MailboxId mb, std::vector<Uid> uids, FlagOp op, Flags flags,
                                    std::string protocol = "imap") {
    StoreFlagsRequest req;
    req.mailbox = mb;
    req.uids = std::move(uids);
    req.op = op;
    req.flags = std::move(flags);
    req.origin.protocol = std::move(protocol);
    return f_.Wait<StoreFlagsResult>(
        [&](Callback<StoreFlagsResult> cb) { store().StoreFlags(req, cb); });
  }
  Result<CopyResult> CopyMsgs(MailboxId from, std::vector<Uid> uids, MailboxId to, bool move) {
    CopyRequest req;
    req.from = from;
    req.uids = std::move(uids);
    req.to = to;
    req.move = move;
    req.origin.protocol = "imap";
    return f_.Wait<CopyResult>([&](Callback<CopyResult> cb) { store().Copy(req, cb); });
  }
  Result<std::vector<Uid>> ExpungeMsgs(MailboxId mb, std::optional<std::vector<Uid>> uids = {},
                                       bool require_deleted = true) {
    ExpungeRequest req;
    req.mailbox = mb;
    req.uids = std::move(uids);
    req.require_deleted = require_deleted;
    req.origin.protocol = "imap";
    return f_.Wait<std::vector<Uid>>(
        [&](Callback<std::vector<Uid>> cb) { store().Expunge(req, cb); });
  }
  void ExpectConsistent() {
    Status s = store().CheckConsistency();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
};

TEST_F(StoreTest, CreateUserMakesInboxAndSpecialUseMailboxesAllSubscribed) {
  auto u = f_.AddUser("Alice", "secret");
  ASSERT_NE(u.id, 0u);
  auto view = store().Read();
  auto boxes = view->ListMailboxes(u.id);
  std::vector<std::string> names;
  for (const auto& b : boxes) names.push_back(b.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"}));
  EXPECT_EQ(view->ListSubscriptions(u.id), names);
  auto sent = view->FindMailbox(u.id, "Sent");
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->special_use, SpecialUse::kSent);
  EXPECT_EQ(view->FindMailbox(u.id, "Trash")->special_use, SpecialUse::kTrash);
  EXPECT_EQ(view->FindMailbox(u.id, "Junk")->special_use, SpecialUse::kJunk);
  EXPECT_EQ(view->FindMailbox(u.id, "Archive")->special_use, SpecialUse::kArchive);
  EXPECT_EQ(view->FindMailbox(u.id, "Drafts")->special_use, SpecialUse::kDrafts);
  auto inbox = view->FindMailbox(u.id, "inbox");
  ASSERT_TRUE(inbox.ok());
  EXPECT_EQ(inbox->name, "INBOX");
  EXPECT_EQ(inbox->uidnext, 1u);
  EXPECT_GT(inbox->uidvalidity, 0u);
  // UIDVALIDITY differs per mailbox.
  std::vector<std::uint32_t> v;
  for (const auto& b : boxes) v.push_back(b.uidvalidity);
  std::sort(v.begin(), v.end());
  EXPECT_EQ(std::adjacent_find(v.begin(), v.end()), v.end());
}

TEST_F(StoreTest, AFailingAnalyzerIsLoggedAndTheMessageStoredWithoutStructure) {
  StoreFixture f([](StoreOptions& o) {
    o.analyzer = [](std::string_view) -> AnalyzedMessage {
      throw std::runtime_error("parser exploded");
    };
  });
  auto u = f.AddUser("ana", "pw");
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  auto r = f.Deliver(u.id, Msg("kept"));
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_EQ(r.uid, 1u);
  auto view = f.store().Read();
  auto msgs = view->ListMessages(view->FindMailbox(u.id, "INBOX")->id);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(view->Blob(msgs[0].blob).ok());
  EXPECT_NE(log.str().find("analyzing message " + msgs[0].blob.Hex()), std::string::npos)
      << log.str();
  EXPECT_NE(log.str().find("parser exploded"), std::string::npos) << log.str();
}

TEST_F(StoreTest, DefaultMailboxesCanBeDisabled) {
  StoreFixture f([](StoreOptions& o) { o.create_default_mailboxes = false; });
  auto u = f.AddUser("bob", "pw");
  auto boxes = f.store().Read()->ListMailboxes(u.id);
  ASSERT_EQ(boxes.size(), 1u);
  EXPECT_EQ(boxes[0].name, "INBOX");
}

TEST_F(StoreTest, UserNamesAreCaseInsensitiveAndKeptAsCreated) {
  auto u = f_.AddUser("Jorg.Muller@Example.org", "pw");
  auto view = store().Read();
  auto found = view->FindUser("jorg.MULLER@example.ORG");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, u.id);
  EXPECT_EQ(found->name, "Jorg.Muller@Example.org");
  view.reset();
  auto dup = f_.Wait<UserRecord>([&](Callback<UserRecord> cb) {
    store().CreateUser("jorg.muller@EXAMPLE.org", "{PLAIN}x", cb);
  });
  EXPECT_EQ(dup.status().code(), Code::kExists);
}

TEST_F(StoreTest, CreateUserRejectsBadNamesAndUnsupportedHashes) {
  auto r =
      f_.Wait<UserRecord>([&](Callback<UserRecord> cb) { store().CreateUser("", "{PLAIN}x", cb); });
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  r = f_.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { store().CreateUser("a\nb", "{PLAIN}x", cb); });
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  r = f_.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { store().CreateUser(std::string(65, 'a'), "{PLAIN}x", cb); });
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  // The one rule (storage::ValidateUserName), whoever creates the user.
  for (const char* bad : {"a+b", "J\xc3\xb6rg", "a b", "-a"}) {
    r = f_.Wait<UserRecord>([&](Callback<UserRecord> cb) { store().CreateUser(bad, "", cb); });
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  r = f_.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { store().CreateUser("carol", "{MD4}abcdef", cb); });
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

// Regression: session ids restarted at #1 after each restart and collided
// between processes, so journal lines were ambiguous.
TEST_F(StoreTest, EachOpeningGetsItsOwnBlockOfSessionIds) {
  std::uint64_t first = store().SessionIdBase();
  EXPECT_GT(first, 0u);
  EXPECT_EQ(first % kSessionIdsPerOpening, 0u);
  f_.Reopen();
  std::uint64_t second = store().SessionIdBase();
  EXPECT_EQ(second, first + kSessionIdsPerOpening);
  // A second process (another Store on the same directory) gets the next.
  storage::ManualExecutor ex;
  storage::StoreOptions options;
  options.dir = f_.dir() + "/store";
  options.post = ex.Poster();
  auto other = Store::Open(std::move(options));
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ((*other)->SessionIdBase(), store().SessionIdBase() + kSessionIdsPerOpening);
  other->reset();
  ex.RunPending();
}

TEST_F(StoreTest, AuthenticateRunsOffThreadAndPostsTheResult) {
  f_.AddUser("dave", "right");
  auto ok = f_.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { store().Authenticate("DAVE", "right", "192.0.2.1", cb); });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->name, "dave");
  auto bad = f_.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { store().Authenticate("dave", "wrong", "192.0.2.1", cb); });
  EXPECT_EQ(bad.status().code(), Code::kNoPermission);
  auto unknown = f_.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { store().Authenticate("nobody", "right", "192.0.2.1", cb); });
  EXPECT_EQ(unknown.status().code(), Code::kNoPermission);
}

TEST_F(StoreTest, SetPasswordSettingsQuotaDeleteUser) {
  auto u = f_.AddUser("erin", "one");
  EXPECT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().SetPassword("ERIN", "{PLAIN}two", cb);
                }).ok());
  auto ok = f_.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { store().Authenticate("erin", "two", "192.0.2.1", cb); });
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().SetUserSetting("erin", "pop3.delete_mode", "hide", cb);
                }).ok());
  EXPECT_TRUE(
      f_.WaitStatus([&](StatusCallback cb) { store().SetQuota("erin", 1000, 5, cb); }).ok());
  {
    auto rec = store().Read()->GetUser(u.id);
    ASSERT_TRUE(rec.ok());
    EXPECT_EQ(rec->settings.at("pop3.delete_mode"), "hide");
    EXPECT_EQ(rec->quota_bytes, 1000u);
    EXPECT_EQ(rec->quota_messages, 5u);
  }
  EXPECT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().SetUserSetting("erin", "pop3.delete_mode", "", cb);
                }).ok());
  EXPECT_TRUE(store().Read()->GetUser(u.id)->settings.empty());
  f_.Deliver(u.id, Msg("to be deleted"));
  EXPECT_TRUE(f_.WaitStatus([&](StatusCallback cb) { store().DeleteUser("Erin", cb); }).ok());
  auto view = store().Read();
  EXPECT_EQ(view->FindUser("erin").status().code(), Code::kNotFound);
  EXPECT_TRUE(view->ListMailboxes(u.id).empty());
  EXPECT_TRUE(view->Journal(u.id, 0, 100).empty());
  view.reset();
  ExpectConsistent();
  EXPECT_EQ(f_.WaitStatus([&](StatusCallback cb) { store().DeleteUser("erin", cb); }).code(),
            Code::kNotFound);
}

TEST_F(StoreTest, WatchUserHearsOfTheDeletionOnce) {
  auto a = f_.AddUser("watched", "pw");
  auto b = f_.AddUser("kept", "pw");
  MailboxId inbox = store().Read()->FindMailbox(a.id, "INBOX")->id;
  std::vector<std::string> events;
  store().WatchUser(a.id, [&](UserId u) { events.push_back("deleted " + std::to_string(u)); });
  std::uint64_t gone = store().WatchUser(a.id, [&](UserId) { events.push_back("unsubscribed"); });
  store().Unsubscribe(gone);
  store().WatchUser(b.id, [&](UserId) { events.push_back("wrong user"); });
  store().Subscribe(inbox, [&](MailboxId) { events.push_back("inbox changed"); });
  EXPECT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().DeleteUser("watched", [&, cb](Status s) {
                    events.push_back("done");
                    cb(s);
                  });
                }).ok());
  f_.RunPending();
  // After the caller's completion, before the mailboxes' change events.
  EXPECT_EQ(events,
            (std::vector<std::string>{"done", "deleted " + std::to_string(a.id), "inbox changed"}));
  store().Unsubscribe(gone);  // unknown ids are ignored
  store().PollExternalChanges();
  EXPECT_EQ(events.size(), 3u);
}

TEST_F(StoreTest, AppendStoresBytesStructureAndCounts) {
  auto u = f_.AddUser("frank", "pw");
  auto r = f_.Deliver(u.id, "Subject: Hi\nFrom: x@y\n\nbody\n", "INBOX", Flags{kFlagFlagged, {}});
  EXPECT_EQ(r.uid, 1u);
  EXPECT_GT(r.guid, 0u);
  EXPECT_EQ(r.size, std::string("Subject: Hi\r\nFrom: x@y\r\n\r\nbody\r\n").size());
  auto mb = Mailbox(u.id, "INBOX");
  EXPECT_EQ(mb.id, r.mailbox);
  EXPECT_EQ(mb.uidvalidity, r.uidvalidity);
  EXPECT_EQ(mb.uidnext, 2u);
  EXPECT_EQ(mb.messages, 1u);
  EXPECT_EQ(mb.unseen, 1u);
  EXPECT_EQ(mb.size, r.size);
  EXPECT_GT(mb.highest_modseq, 1u);
  auto view = store().Read();
  auto msg = view->GetMessage(mb.id, 1);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->flags.system, std::uint32_t{kFlagFlagged});
  EXPECT_EQ(msg->guid, r.guid);
  EXPECT_EQ(msg->modseq, mb.highest_modseq);
  EXPECT_GT(msg->internal_date, 0);
  auto blob = view->Blob(msg->blob);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(*blob, "Subject: Hi\r\nFrom: x@y\r\n\r\nbody\r\n");
  EXPECT_TRUE(view->Structure(msg->blob).ok());
  EXPECT_TRUE(view->SortKeys(msg->blob).ok());
  auto user = view->GetUser(u.id);
  EXPECT_EQ(user->used_bytes, r.size);
  EXPECT_EQ(user->used_messages, 1u);
  view.reset();
  ExpectConsistent();
}

TEST_F(StoreTest, AppendToMissingMailboxFailsUnlessAskedToCreate) {
  auto u = f_.AddUser("gina", "pw");
  AppendRequest req;
  req.user = u.id;
  req.mailbox = "Lists/rust";
  req.bytes = std::make_shared<const std::string>(Msg("x"));
  auto r = f_.Wait<AppendResult>([&](Callback<AppendResult> cb) { store().Append(req, cb); });
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  req.create_mailbox = true;
  r = f_.Wait<AppendResult>([&](Callback<AppendResult> cb) { store().Append(req, cb); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Mailbox(u.id, "Lists/rust").messages, 1u);
  EXPECT_EQ(Mailbox(u.id, "Lists").messages, 0u);
  req.user = 999;
  r = f_.Wait<AppendResult>([&](Callback<AppendResult> cb) { store().Append(req, cb); });
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

TEST_F(StoreTest, AppendKeepsGivenInternalDate) {
  auto u = f_.AddUser("hal", "pw");
  AppendRequest req;
  req.user = u.id;
  req.bytes = std::make_shared<const std::string>(Msg("dated"));
  req.internal_date = 1000000000;
  req.internal_date_tz = -300;
  auto r = f_.Wait<AppendResult>([&](Callback<AppendResult> cb) { store().Append(req, cb); });
  ASSERT_TRUE(r.ok());
  auto m = store().Read()->GetMessage(r->mailbox, r->uid);
  EXPECT_EQ(m->internal_date, 1000000000);
  EXPECT_EQ(m->internal_date_tz, -300);
}

TEST_F(StoreTest, IdenticalMessagesShareOneBlob) {
  auto u = f_.AddUser("ivan", "pw");
  auto a = f_.Deliver(u.id, Msg("same"));
  auto b = f_.Deliver(u.id, Msg("same"), "Archive");
  auto view = store().Read();
  auto ma = view->GetMessage(a.mailbox, a.uid);
  auto mb = view->GetMessage(b.mailbox, b.uid);
  EXPECT_EQ(ma->blob, mb->blob);
  EXPECT_NE(ma->guid, mb->guid);
  view.reset();
  ExpectConsistent();
  // Expunging one keeps the bytes for the other.
  ASSERT_TRUE(ExpungeMsgs(a.mailbox, std::nullopt, false).ok());
  EXPECT_TRUE(store().Read()->Blob(mb->blob).ok());
  ExpectConsistent();
  ASSERT_TRUE(ExpungeMsgs(b.mailbox, std::nullopt, false).ok());
  EXPECT_EQ(store().Read()->Blob(mb->blob).status().code(), Code::kNotFound);
  EXPECT_EQ(store().Read()->Structure(mb->blob).status().code(), Code::kNotFound);
  EXPECT_EQ(store().Read()->SortKeys(mb->blob).status().code(), Code::kNotFound);
  ExpectConsistent();
}

TEST_F(StoreTest, SortKeysAreKeptAsTheAnalyzerGaveThemOrNotAtAll) {
  StoreFixture f([](StoreOptions& o) {
    o.analyzer = [](std::string_view bytes) {
      AnalyzedMessage a;
      a.structure = "s";
      if (bytes.find("keyed") != std::string_view::npos) a.sort_keys = "opaque keys";
      return a;
    };
  });
  auto u = f.AddUser("kim", "pw");
  auto a = f.Deliver(u.id, Msg("keyed"));
  auto b = f.Deliver(u.id, Msg("plain"));
  auto view = f.store().Read();
  auto ka = view->SortKeys(view->GetMessage(a.mailbox, a.uid)->blob);
  ASSERT_TRUE(ka.ok());
  EXPECT_EQ(*ka, "opaque keys");
  EXPECT_EQ(view->SortKeys(view->GetMessage(b.mailbox, b.uid)->blob).status().code(),
            Code::kNotFound);
  view.reset();
  EXPECT_TRUE(f.store().CheckConsistency().ok());
}

TEST_F(StoreTest, UidsAreNeverReusedAcrossExpungeAndReopen) {
  auto u = f_.AddUser("jane", "pw");
  auto first = f_.Deliver(u.id, Msg("1"));
  auto second = f_.Deliver(u.id, Msg("2"));
  EXPECT_EQ(second.uid, 2u);
  ASSERT_TRUE(ExpungeMsgs(first.mailbox, std::nullopt, false).ok());
  EXPECT_EQ(Mailbox(u.id, "INBOX").messages, 0u);
  f_.Reopen();
  auto third = f_.Deliver(u.id, Msg("3"));
  EXPECT_EQ(third.uid, 3u);
  EXPECT_EQ(third.uidvalidity, first.uidvalidity);
  EXPECT_GT(third.guid, second.guid);
  ExpectConsistent();
}

std::vector<Uid> UidsOf(const std::vector<MessageRecord>& msgs) {
  std::vector<Uid> out;
  for (const auto& m : msgs) out.push_back(m.uid);
  return out;
}

TEST_F(StoreTest, NewestFirstOfAnEmptyMailboxIsEmpty) {
  auto u = f_.AddUser("ned", "pw");
  auto view = store().Read();
  auto inbox = view->FindMailbox(u.id, "INBOX");
  ASSERT_TRUE(inbox.ok());
  EXPECT_TRUE(view->ListMessagesNewestFirst(inbox->id, 0, 0, 10).empty());
  EXPECT_TRUE(view->ListMessagesNewestFirst(inbox->id, 5, 0, 10).empty());
  EXPECT_TRUE(view->ListMessagesNewestFirst(inbox->id, 0, 3, 10).empty());
}

TEST_F(StoreTest, NewestFirstPagesSkipAndLimitByMessagesNotUids) {
  auto u = f_.AddUser("nora", "pw");
  MailboxId mb = 0;
  for (int i = 1; i <= 8; ++i) mb = f_.Deliver(u.id, Msg(std::to_string(i))).mailbox;
  // Another mailbox around it must not leak into the walk.
  f_.Deliver(u.id, Msg("archived"), "Archive");
  // Holes: UIDs 2, 5 and 8 (the newest) expunged.
  ASSERT_TRUE(ExpungeMsgs(mb, std::vector<Uid>{2, 5, 8}, false).ok());
  auto view = store().Read();
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(mb, 0, 0, 100)),
            (std::vector<Uid>{7, 6, 4, 3, 1}));
  // limit 0, 1 and the exact count.
  EXPECT_TRUE(view->ListMessagesNewestFirst(mb, 0, 0, 0).empty());
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(mb, 0, 0, 1)), (std::vector<Uid>{7}));
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(mb, 0, 0, 5)), (std::vector<Uid>{7, 6, 4, 3, 1}));
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(mb, 0, 0, static_cast<std::size_t>(-1))),
            (std::vector<Uid>{7, 6, 4, 3, 1}));
  // skip counts messages: the third page of two is UID 1 alone.
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(mb, 0, 2, 2)), (std::vector<Uid>{4, 3}));
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(mb, 0, 4, 2)), (std::vector<Uid>{1}));
  // Past the end.
  EXPECT_TRUE(view->ListMessagesNewestFirst(mb, 0, 5, 2).empty());
  EXPECT_TRUE(view->ListMessagesNewestFirst(mb, 0, 1000, 2).empty());
  // below: strictly below that UID, whether it exists or not.
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(mb, 6, 0, 10)), (std::vector<Uid>{4, 3, 1}));
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(mb, 5, 0, 10)), (std::vector<Uid>{4, 3, 1}));
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(mb, 5, 1, 1)), (std::vector<Uid>{3}));
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(mb, 1000, 0, 1)), (std::vector<Uid>{7}));
  EXPECT_TRUE(view->ListMessagesNewestFirst(mb, 1, 0, 10).empty());
  EXPECT_TRUE(view->ListMessagesNewestFirst(mb, 2, 1, 10).empty());
  // The records are whole, as GetMessage returns them.
  auto page = view->ListMessagesNewestFirst(mb, 0, 1, 1);
  auto one = view->GetMessage(mb, 6);
  ASSERT_EQ(page.size(), 1u);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(page[0].guid, one->guid);
  EXPECT_EQ(page[0].size, one->size);
  EXPECT_EQ(page[0].modseq, one->modseq);
}

TEST_F(StoreTest, NewestFirstOfTheLastMailboxStopsAtItsOwnRecords) {
  auto u = f_.AddUser("nell", "pw");
  // The newest mailbox id has the last keys of the database: the walk
  // starts from the database's end.
  ASSERT_TRUE(CreateMailbox(u.id, "Zeta").ok());
  auto zeta = Mailbox(u.id, "Zeta");
  auto inbox = f_.Deliver(u.id, Msg("in inbox"));
  EXPECT_TRUE(store().Read()->ListMessagesNewestFirst(zeta.id, 0, 0, 10).empty());
  f_.Deliver(u.id, Msg("z1"), "Zeta");
  f_.Deliver(u.id, Msg("z2"), "Zeta");
  auto view = store().Read();
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(zeta.id, 0, 0, 10)), (std::vector<Uid>{2, 1}));
  EXPECT_EQ(UidsOf(view->ListMessagesNewestFirst(inbox.mailbox, 0, 0, 10)), (std::vector<Uid>{1}));
}

TEST_F(StoreTest, StoreFlagsAddRemoveReplaceWithModseqsAndCounts) {
  auto u = f_.AddUser("kim", "pw");
  auto a = f_.Deliver(u.id, Msg("a"));
  f_.Deliver(u.id, Msg("b"));
  MailboxId mb = a.mailbox;
  ModSeq before = Mailbox(u.id, "INBOX").highest_modseq;
  auto r = SetFlags(mb, {1, 2, 7}, FlagOp::kAdd, Flags{kFlagSeen | kFlagDeleted, {"$Label1"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->changed.size(), 2u);
  EXPECT_GT(r->changed[0].modseq, before);
  EXPECT_GT(r->changed[1].modseq, r->changed[0].modseq);
  EXPECT_EQ(r->highest_modseq, r->changed[1].modseq);
  auto rec = Mailbox(u.id, "INBOX");
  EXPECT_EQ(rec.unseen, 0u);
  EXPECT_EQ(rec.deleted, 2u);
  EXPECT_EQ(rec.highest_modseq, r->highest_modseq);
  // Keywords compare case-insensitively and keep the first spelling.
  r = SetFlags(mb, {1}, FlagOp::kAdd, Flags{0, {"$label1", "Work"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed[0].flags.keywords, (std::vector<std::string>{"$Label1", "Work"}));
  // No change: nothing reported, modseq unchanged.
  ModSeq hm = Mailbox(u.id, "INBOX").highest_modseq;
  r = SetFlags(mb, {1}, FlagOp::kAdd, Flags{kFlagSeen, {}});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->changed.empty());
  EXPECT_EQ(Mailbox(u.id, "INBOX").highest_modseq, hm);
  r = SetFlags(mb, {1}, FlagOp::kRemove, Flags{kFlagSeen, {"WORK"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed[0].flags.system, std::uint32_t{kFlagDeleted});
  EXPECT_EQ(r->changed[0].flags.keywords, (std::vector<std::string>{"$Label1"}));
  r = SetFlags(mb, {2}, FlagOp::kReplace, Flags{kFlagAnswered, {}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed[0].flags, (Flags{kFlagAnswered, {}}));
  rec = Mailbox(u.id, "INBOX");
  EXPECT_EQ(rec.unseen, 2u);
  EXPECT_EQ(rec.deleted, 1u);
  ExpectConsistent();
}

TEST_F(StoreTest, UnchangedSinceReportsModifiedMessages) {
  auto u = f_.AddUser("lee", "pw");
  auto a = f_.Deliver(u.id, Msg("a"));
  f_.Deliver(u.id, Msg("b"));
  auto m1 = store().Read()->GetMessage(a.mailbox, 1);
  ASSERT_TRUE(SetFlags(a.mailbox, {2}, FlagOp::kAdd, Flags{kFlagFlagged, {}}).ok());
  StoreFlagsRequest req;
  req.mailbox = a.mailbox;
  req.uids = {1, 2};
  req.op = FlagOp::kAdd;
  req.flags.system = kFlagSeen;
  req.unchanged_since = m1->modseq;
  auto r = f_.Wait<StoreFlagsResult>(
      [&](Callback<StoreFlagsResult> cb) { store().StoreFlags(req, cb); });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->changed.size(), 1u);
  EXPECT_EQ(r->changed[0].uid, 1u);
  EXPECT_EQ(r->modified, (std::vector<Uid>{2}));
}

TEST_F(StoreTest, ChangesSinceReportsNewFlagsAndExpunges) {
  auto u = f_.AddUser("max", "pw");
  auto mb0 = Mailbox(u.id, "INBOX");
  ModSeq start = mb0.highest_modseq;
  f_.Deliver(u.id, Msg("a"));
  f_.Deliver(u.id, Msg("b"));
  ModSeq mid = Mailbox(u.id, "INBOX").highest_modseq;
  ASSERT_TRUE(SetFlags(mb0.id, {2}, FlagOp::kAdd, Flags{kFlagSeen, {}}).ok());
  ASSERT_TRUE(SetFlags(mb0.id, {2}, FlagOp::kAdd, Flags{kFlagFlagged, {}}).ok());
  ASSERT_TRUE(ExpungeMsgs(mb0.id, std::vector<Uid>{1}, false).ok());
  auto view = store().Read();
  auto all = view->ChangesSince(mb0.id, start);
  // Flag rows supersede older flag rows; expunge supersedes the latest row.
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].kind, Change::Kind::kNew);
  EXPECT_EQ(all[0].uid, 2u);
  EXPECT_EQ(all[1].kind, Change::Kind::kFlags);
  EXPECT_EQ(all[1].uid, 2u);
  EXPECT_EQ(all[2].kind, Change::Kind::kExpunge);
  EXPECT_EQ(all[2].uid, 1u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].modseq, all[i - 1].modseq);
  auto later = view->ChangesSince(mb0.id, mid);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].kind, Change::Kind::kFlags);
  EXPECT_TRUE(view->ChangesSince(mb0.id, view->GetMailbox(mb0.id)->highest_modseq).empty());
}

TEST_F(StoreTest, ExpungeOnlyDeletedUnlessToldOtherwise) {
  auto u = f_.AddUser("nina", "pw");
  auto a = f_.Deliver(u.id, Msg("a"));
  f_.Deliver(u.id, Msg("b"));
  f_.Deliver(u.id, Msg("c"));
  ASSERT_TRUE(SetFlags(a.mailbox, {1, 3}, FlagOp::kAdd, Flags{kFlagDeleted, {}}).ok());
  auto r = ExpungeMsgs(a.mailbox, std::vector<Uid>{3, 2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<Uid>{3}));
  r = ExpungeMsgs(a.mailbox);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<Uid>{1}));
  auto msgs = Messages(a.mailbox);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].uid, 2u);
  auto rec = Mailbox(u.id, "INBOX");
  EXPECT_EQ(rec.messages, 1u);
  EXPECT_EQ(rec.deleted, 0u);
  ExpectConsistent();
}

TEST_F(StoreTest, CopyKeepsFlagsGivesNewGuidAndAddsReference) {
  auto u = f_.AddUser("olga", "pw");
  auto a = f_.Deliver(u.id, Msg("a"), "INBOX", Flags{kFlagSeen, {"Work"}});
  f_.Deliver(u.id, Msg("b"));
  auto archive = Mailbox(u.id, "Archive");
  auto r = CopyMsgs(a.mailbox, {1, 2, 9}, archive.id, false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dest_uidvalidity, archive.uidvalidity);
  EXPECT_EQ(r->source_uids, (std::vector<Uid>{1, 2}));
  EXPECT_EQ(r->dest_uids, (std::vector<Uid>{1, 2}));
  auto view = store().Read();
  auto src = view->GetMessage(a.mailbox, 1);
  auto dst = view->GetMessage(archive.id, 1);
  EXPECT_EQ(dst->flags, src->flags);
  EXPECT_EQ(dst->blob, src->blob);
  EXPECT_NE(dst->guid, src->guid);
  EXPECT_EQ(view->GetUser(u.id)->used_messages, 4u);
  view.reset();
  ExpectConsistent();
  // The blob survives until the last reference goes.
  ASSERT_TRUE(ExpungeMsgs(a.mailbox, std::nullopt, false).ok());
  EXPECT_TRUE(store().Read()->Blob(src->blob).ok());
  ASSERT_TRUE(ExpungeMsgs(archive.id, std::nullopt, false).ok());
  EXPECT_FALSE(store().Read()->Blob(src->blob).ok());
  ExpectConsistent();
}

TEST_F(StoreTest, MoveKeepsGuidAndExpungesSource) {
  auto u = f_.AddUser("pat", "pw");
  auto a = f_.Deliver(u.id, Msg("a"));
  f_.Deliver(u.id, Msg("b"));
  auto trash = Mailbox(u.id, "Trash");
  auto r = CopyMsgs(a.mailbox, {1}, trash.id, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dest_uids, (std::vector<Uid>{1}));
  auto view = store().Read();
  EXPECT_EQ(view->GetMessage(a.mailbox, 1).status().code(), Code::kNotFound);
  auto moved = view->GetMessage(trash.id, 1);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->guid, a.guid);
  auto changes = view->ChangesSince(a.mailbox, 0);
  EXPECT_EQ(changes.back().kind, Change::Kind::kExpunge);
  EXPECT_EQ(view->GetMailbox(a.mailbox)->messages, 1u);
  EXPECT_EQ(view->GetUser(u.id)->used_messages, 2u);
  view.reset();
  ExpectConsistent();
}

TEST_F(StoreTest, CopyIntoTheSameMailbox) {
  auto u = f_.AddUser("quinn", "pw");
  auto a = f_.Deliver(u.id, Msg("a"));
  auto r = CopyMsgs(a.mailbox, {1}, a.mailbox, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dest_uids, (std::vector<Uid>{2}));
  EXPECT_EQ(Mailbox(u.id, "INBOX").messages, 2u);
  ExpectConsistent();
}

TEST_F(StoreTest, CopyBetweenUsersIsRefused) {
  auto u = f_.AddUser("rob", "pw");
  auto v = f_.AddUser("sue", "pw");
  auto a = f_.Deliver(u.id, Msg("a"));
  auto r = CopyMsgs(a.mailbox, {1}, Mailbox(v.id, "INBOX").id, false);
  EXPECT_EQ(r.status().code(), Code::kNoPermission);
}

TEST_F(StoreTest, MailboxCreateDeleteAndSubscriptions) {
  auto u = f_.AddUser("tom", "pw");
  EXPECT_TRUE(CreateMailbox(u.id, "Projects/2024/Q1").ok());
  EXPECT_TRUE(Mailbox(u.id, "Projects").id != 0);
  EXPECT_TRUE(Mailbox(u.id, "Projects/2024").id != 0);
  EXPECT_EQ(CreateMailbox(u.id, "Projects").code(), Code::kExists);
  EXPECT_EQ(CreateMailbox(u.id, "inbox").code(), Code::kExists);
  EXPECT_EQ(CreateMailbox(u.id, "").code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateMailbox(u.id, "a//b").code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateMailbox(u.id, "/a").code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateMailbox(u.id, "a/").code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateMailbox(u.id, "a\r\nb").code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateMailbox(u.id, std::string(2000, 'x')).code(), Code::kLimit);
  EXPECT_TRUE(CreateMailbox(u.id, "Ünïcödé 日本").ok());
  EXPECT_TRUE(CreateMailbox(u.id, "inbox/child").ok());
  EXPECT_TRUE(Mailbox(u.id, "INBOX/child").id != 0);
  // Names other than INBOX are case-sensitive.
  EXPECT_TRUE(CreateMailbox(u.id, "projects").ok());

  EXPECT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().SetSubscribed(u.id, "Projects", true, cb);
                }).ok());
  EXPECT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().SetSubscribed(u.id, "Nonexistent", true, cb);
                }).ok());
  EXPECT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().SetSubscribed(u.id, "Junk", false, cb);
                }).ok());
  auto subs = store().Read()->ListSubscriptions(u.id);
  EXPECT_EQ(subs, (std::vector<std::string>{"Archive", "Drafts", "INBOX", "Nonexistent", "Projects",
                                            "Sent", "Trash"}));

  auto q1 = Mailbox(u.id, "Projects/2024/Q1");
  f_.Deliver(u.id, Msg("p"), "Projects");
  Origin o;
  EXPECT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().DeleteMailbox(u.id, "Projects", o, cb);
                }).ok());
  auto view = store().Read();
  EXPECT_EQ(view->FindMailbox(u.id, "Projects").status().code(), Code::kNotFound);
  EXPECT_TRUE(view->FindMailbox(u.id, "Projects/2024/Q1").ok());  // children stay
  EXPECT_EQ(view->GetUser(u.id)->used_messages, 0u);
  view.reset();
  EXPECT_EQ(f_.WaitStatus([&](StatusCallback cb) {
                store().DeleteMailbox(u.id, "Projects", o, cb);
              }).code(),
            Code::kNotFound);
  EXPECT_EQ(
      f_.WaitStatus([&](StatusCallback cb) { store().DeleteMailbox(u.id, "inbox", o, cb); }).code(),
      Code::kNoPermission);
  // A re-created mailbox has a new UIDVALIDITY.
  EXPECT_TRUE(CreateMailbox(u.id, "Projects").ok());
  EXPECT_NE(Mailbox(u.id, "Projects").uidvalidity, 0u);
  EXPECT_GT(Mailbox(u.id, "Projects").uidvalidity, q1.uidvalidity);
  ExpectConsistent();
}

TEST_F(StoreTest, RenameMovesHierarchyKeepsIdAndUidvalidity) {
  auto u = f_.AddUser("uma", "pw");
  ASSERT_TRUE(CreateMailbox(u.id, "Work/Clients/Acme").ok());
  ASSERT_TRUE(CreateMailbox(u.id, "Workshop").ok());
  f_.Deliver(u.id, Msg("w"), "Work/Clients");
  auto before = Mailbox(u.id, "Work/Clients");
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().SetSubscribed(u.id, "Work/Clients", true, cb);
                }).ok());
  Origin o;
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().RenameMailbox(u.id, "Work", "Old/Job", o, cb);
                }).ok());
  auto view = store().Read();
  EXPECT_EQ(view->FindMailbox(u.id, "Work").status().code(), Code::kNotFound);
  EXPECT_TRUE(view->FindMailbox(u.id, "Workshop").ok());  // not a child
  EXPECT_TRUE(view->FindMailbox(u.id, "Old").ok());       // parent created
  auto after = view->FindMailbox(u.id, "Old/Job/Clients");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->id, before.id);
  EXPECT_EQ(after->uidvalidity, before.uidvalidity);
  EXPECT_EQ(after->messages, 1u);
  EXPECT_TRUE(view->FindMailbox(u.id, "Old/Job/Clients/Acme").ok());
  auto subs = view->ListSubscriptions(u.id);
  EXPECT_NE(std::find(subs.begin(), subs.end(), "Old/Job/Clients"), subs.end());
  EXPECT_EQ(std::find(subs.begin(), subs.end(), "Work/Clients"), subs.end());
  view.reset();
  EXPECT_EQ(f_.WaitStatus([&](StatusCallback cb) {
                store().RenameMailbox(u.id, "Nope", "X", o, cb);
              }).code(),
            Code::kNotFound);
  EXPECT_EQ(f_.WaitStatus([&](StatusCallback cb) {
                store().RenameMailbox(u.id, "Old", "Workshop", o, cb);
              }).code(),
            Code::kExists);
  EXPECT_EQ(f_.WaitStatus([&](StatusCallback cb) {
                store().RenameMailbox(u.id, "Old", "Old/Sub", o, cb);
              }).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(f_.WaitStatus([&](StatusCallback cb) {
                store().RenameMailbox(u.id, "Old", "inbox", o, cb);
              }).code(),
            Code::kExists);
  ExpectConsistent();
}

TEST_F(StoreTest, RenameInboxMovesMessagesAndLeavesInboxEmpty) {
  auto u = f_.AddUser("vic", "pw");
  auto a = f_.Deliver(u.id, Msg("a"));
  f_.Deliver(u.id, Msg("b"));
  ASSERT_TRUE(CreateMailbox(u.id, "INBOX/kept").ok());
  auto inbox = Mailbox(u.id, "INBOX");
  Origin o;
  ASSERT_TRUE(f_.WaitStatus([&](StatusCallback cb) {
                  store().RenameMailbox(u.id, "inbox", "Old Inbox", o, cb);
                }).ok());
  auto after_inbox = Mailbox(u.id, "INBOX");
  EXPECT_EQ(after_inbox.id, inbox.id);
  EXPECT_EQ(after_inbox.uidvalidity, inbox.uidvalidity);
  EXPECT_EQ(after_inbox.messages, 0u);
  EXPECT_EQ(after_inbox.uidnext, 3u);
  auto old = Mailbox(u.id, "Old Inbox");
  EXPECT_EQ(old.messages, 2u);
  auto msgs = Messages(old.id);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].guid, a.guid);
  EXPECT_TRUE(Mailbox(u.id, "INBOX/kept").id != 0);
  ExpectConsistent();
  // New mail still gets fresh UIDs in INBOX.
  EXPECT_EQ(f_.Deliver(u.id, Msg("c")).uid, 3u);
}

TEST_F(StoreTest, QuotaIsEnforcedOnAppendAndCopy) {
  StoreFixture f([](StoreOptions& o) { o.default_quota_messages = 3; });
  auto u = f.AddUser("wes", "pw");
  auto a = f.Deliver(u.id, Msg("1"));
  f.Deliver(u.id, Msg("2"));
  AppendRequest req;
  req.user = u.id;
  req.bytes = std::make_shared<const std::string>(Msg("3"));
  EXPECT_TRUE(
      f.Wait<AppendResult>([&](Callback<AppendResult> cb) { f.store().Append(req, cb); }).ok());
  auto over = f.Wait<AppendResult>([&](Callback<AppendResult> cb) { f.store().Append(req, cb); });
  EXPECT_EQ(over.status().code(), Code::kOverQuota);
  req.enforce_quota = false;  // e.g. a delivery that must not bounce
  EXPECT_TRUE(
      f.Wait<AppendResult>([&](Callback<AppendResult> cb) { f.store().Append(req, cb); }).ok());
  CopyRequest copy;
  copy.from = a.mailbox;
  copy.uids = {1};
  copy.to = f.store().Read()->FindMailbox(u.id, "Archive")->id;
  EXPECT_EQ(f.Wait<CopyResult>([&](Callback<CopyResult> cb) { f.store().Copy(copy, cb); })
                .status()
                .code(),
            Code::kOverQuota);
  copy.move = true;  // a move does not grow the usage
  EXPECT_TRUE(f.Wait<CopyResult>([&](Callback<CopyResult> cb) { f.store().Copy(copy, cb); }).ok());
  // A per-user quota overrides the default.
  ASSERT_TRUE(f.WaitStatus([&](StatusCallback cb) { f.store().SetQuota("wes", 0, 10, cb); }).ok());
  req.enforce_quota = true;
  EXPECT_TRUE(
      f.Wait<AppendResult>([&](Callback<AppendResult> cb) { f.store().Append(req, cb); }).ok());
  ASSERT_TRUE(f.WaitStatus([&](StatusCallback cb) { f.store().SetQuota("wes", 10, 0, cb); }).ok());
  EXPECT_EQ(f.Wait<AppendResult>([&](Callback<AppendResult> cb) { f.store().Append(req, cb); })
                .status()
                .code(),
            Code::kOverQuota);
  EXPECT_TRUE(f.store().CheckConsistency().ok());
}

TEST_F(StoreTest, GroupCommitAllSucceedAndAFailureStaysAlone) {
  auto u = f_.AddUser("xena", "pw");
  constexpr int kN = 50;
  std::vector<std::optional<Result<AppendResult>>> results(kN);
  for (int i = 0; i < kN; ++i) {
    AppendRequest req;
    req.user = u.id;
    // Every 10th goes to a mailbox that does not exist: it fails alone.
    req.mailbox = i % 10 == 5 ? "Missing" : "INBOX";
    req.bytes = std::make_shared<const std::string>(Msg("m" + std::to_string(i)));
    store().Append(req,
                   [&results, i](Result<AppendResult> r) { results[i].emplace(std::move(r)); });
  }
  // Nothing runs on the owner thread until we run the executor.
  store().Flush();
  for (const auto& r : results) EXPECT_FALSE(r.has_value());
  f_.RunPending();
  std::set<Uid> uids;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(results[i].has_value());
    if (i % 10 == 5) {
      EXPECT_EQ(results[i]->status().code(), Code::kNotFound);
    } else {
      ASSERT_TRUE(results[i]->ok());
      uids.insert((*results[i])->uid);
    }
  }
  EXPECT_EQ(uids.size(), 45u);
  EXPECT_EQ(*uids.rbegin(), 45u);
  EXPECT_EQ(Mailbox(u.id, "INBOX").messages, 45u);
  ExpectConsistent();
}

TEST_F(StoreTest, ChangeBusPublishesAfterCompletionsOnOwnerThread) {
  auto u = f_.AddUser("yuri", "pw");
  auto inbox = Mailbox(u.id, "INBOX");
  std::vector<std::string> events;
  auto sub = store().Subscribe(inbox.id, [&](MailboxId id) {
    EXPECT_EQ(id, inbox.id);
    events.push_back("bus");
  });
  auto other =
      store().Subscribe(Mailbox(u.id, "Trash").id, [&](MailboxId) { events.push_back("trash"); });
  AppendRequest req;
  req.user = u.id;
  req.bytes = std::make_shared<const std::string>(Msg("x"));
  bool done = false;
  store().Append(req, [&](Result<AppendResult> r) {
    EXPECT_TRUE(r.ok());
    events.push_back("done");
    done = true;
  });
  f_.RunUntil([&] { return done; });
  f_.RunPending();
  EXPECT_EQ(events, (std::vector<std::string>{"done", "bus"}));
  store().Unsubscribe(sub);
  f_.Deliver(u.id, Msg("y"));
  f_.RunPending();
  EXPECT_EQ(events.size(), 2u);
  store().Unsubscribe(other);
  store().Unsubscribe(other);  // idempotent
}

// IMAP NOTIFY's view of the bus: every mailbox of one user, once per
// commit; 0 when the mailbox list or the subscriptions changed.
TEST_F(StoreTest, UserChangeBusNamesTheMailboxOrZeroForTheList) {
  auto u = f_.AddUser("zoe", "pw");
  auto other = f_.AddUser("ann", "pw");
  std::vector<MailboxId> seen;
  auto sub = store().SubscribeUser(u.id, [&](MailboxId id) { seen.push_back(id); });
  f_.Deliver(u.id, Msg("x"), "Trash");
  f_.Deliver(other.id, Msg("y"));  // another user's: not told
  f_.RunPending();
  EXPECT_EQ(seen, (std::vector<MailboxId>{Mailbox(u.id, "Trash").id}));
  seen.clear();
  EXPECT_TRUE(CreateMailbox(u.id, "Projects/2024").ok());
  f_.RunPending();
  EXPECT_EQ(seen, (std::vector<MailboxId>{0}));
  seen.clear();
  bool done = false;
  store().SetSubscribed(u.id, "Projects", true, [&](Status s) {
    EXPECT_TRUE(s.ok());
    done = true;
  });
  f_.RunUntil([&] { return done; });
  f_.RunPending();
  EXPECT_EQ(seen, (std::vector<MailboxId>{0}));
  store().Unsubscribe(sub);
  seen.clear();
  f_.Deliver(u.id, Msg("z"));
  f_.RunPending();
  EXPECT_TRUE(seen.empty());
}

TEST_F(StoreTest, ListenerMayUnsubscribeItself) {
  auto u = f_.AddUser("zed", "pw");
  auto inbox = Mailbox(u.id, "INBOX");
  int calls = 0;
  std::uint64_t a = 0;
  a = store().Subscribe(inbox.id, [&](MailboxId) {
    ++calls;
    store().Unsubscribe(a);
  });
  store().Subscribe(inbox.id, [&](MailboxId) { ++calls; });
  f_.Deliver(u.id, Msg("x"));
  f_.RunPending();
  f_.Deliver(u.id, Msg("y"));
  f_.RunPending();
  EXPECT_EQ(calls, 3);
}

TEST_F(StoreTest, ClaimRecentGivesEachUidToOneCallerAndSurvivesRestart) {
  auto u = f_.AddUser("amy", "pw");
  auto a = f_.Deliver(u.id, Msg("1"));
  f_.Deliver(u.id, Msg("2"));
  EXPECT_EQ(store().ClaimRecent(a.mailbox, 3), 1u);
  EXPECT_EQ(store().ClaimRecent(a.mailbox, 3), 3u);  // nothing recent for the next
  f_.Deliver(u.id, Msg("3"));
  EXPECT_EQ(store().ClaimRecent(a.mailbox, 4), 3u);
  f_.Reopen();
  EXPECT_EQ(f_.store().ClaimRecent(a.mailbox, 4), 4u);
}

TEST_F(StoreTest, Pop3LockHasOneHolderPerUser) {
  EXPECT_TRUE(store().TryLockPop3(1, 100));
  EXPECT_TRUE(store().TryLockPop3(1, 100));
  EXPECT_FALSE(store().TryLockPop3(1, 101));
  EXPECT_TRUE(store().TryLockPop3(2, 101));
  store().UnlockPop3(1, 101);  // not the holder: no effect
  EXPECT_FALSE(store().TryLockPop3(1, 102));
  store().UnlockPop3(1, 100);
  EXPECT_TRUE(store().TryLockPop3(1, 102));
}

TEST_F(StoreTest, ViewsStayValidWhileWritesCommit) {
  auto u = f_.AddUser("ben", "pw");
  auto a = f_.Deliver(u.id, Msg("first", std::string(10000, 'x')));
  auto view = store().Read();
  auto msg = view->GetMessage(a.mailbox, a.uid);
  auto blob = view->Blob(msg->blob);
  ASSERT_TRUE(blob.ok());
  std::string copy(*blob);
  ASSERT_TRUE(ExpungeMsgs(a.mailbox, std::nullopt, false).ok());
  for (int i = 0; i < 20; ++i)
    f_.Deliver(u.id, Msg("more" + std::to_string(i), std::string(5000, 'y')));
  // The snapshot still sees the old state and bytes.
  EXPECT_EQ(*blob, copy);
  EXPECT_TRUE(view->GetMessage(a.mailbox, a.uid).ok());
  view.reset();
  EXPECT_FALSE(store().Read()->GetMessage(a.mailbox, a.uid).ok());
}

TEST_F(StoreTest, MapGrowsWhenFull) {
  StoreFixture f([](StoreOptions& o) { o.initial_map_size = 1u << 20; });
  auto u = f.AddUser("carl", "pw");
  std::string big(200000, 'z');
  for (int i = 0; i < 40; ++i) {
    auto r = f.Deliver(u.id, Msg("big" + std::to_string(i), big + std::to_string(i)));
    ASSERT_EQ(r.uid, static_cast<Uid>(i + 1));
  }
  EXPECT_EQ(f.store().Read()->FindMailbox(u.id, "INBOX")->messages, 40u);
  EXPECT_TRUE(f.store().CheckConsistency().ok());
  f.Reopen();
  EXPECT_EQ(f.store().Read()->FindMailbox(u.id, "INBOX")->messages, 40u);
}

TEST_F(StoreTest, MapGrowthWaitsForAViewHeldOnAnotherThread) {
  StoreFixture f([](StoreOptions& o) { o.initial_map_size = 1u << 20; });
  auto u = f.AddUser("held", "pw");
  // Each event takes the next number: the commit must come after the
  // release of the view it had to wait for.
  std::atomic<int> events{0};
  std::atomic<int> released_at{0};
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  std::thread reader([&] {
    auto view = f.store().Read();
    EXPECT_TRUE(view->FindUser("held").ok());
    holding = true;
    // Bounded: the main thread releases it, or the test gives up.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!release && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    released_at = ++events;
    view.reset();
  });
  while (!holding) std::this_thread::yield();
  // Needs the map to grow while the other thread's view is alive.
  AppendRequest req;
  req.user = u.id;
  req.mailbox = "INBOX";
  req.bytes = std::make_shared<const std::string>(Msg("big", std::string(3u << 20, 'g')));
  req.origin.protocol = "test";
  std::optional<Result<AppendResult>> done;
  int done_at = 0;
  f.store().Append(req, [&](Result<AppendResult> r) {
    done_at = ++events;
    done.emplace(std::move(r));
  });
  // While the view is held the commit cannot finish: give it the chance.
  for (int i = 0; i < 20 && !done; ++i) f.executor().WaitAndRun(5);
  EXPECT_FALSE(done.has_value()) << "committed while a view was held";
  release = true;
  f.RunUntil([&] { return done.has_value(); });
  reader.join();
  ASSERT_TRUE(done && done->ok()) << (done ? done->status().ToString() : "no completion");
  EXPECT_EQ((*done)->uid, 1u);
  EXPECT_GT(done_at, released_at.load());
  EXPECT_TRUE(f.store().CheckConsistency().ok());
}

// Debug-build checks of the threading rules (CONTRIBUTING.md): they abort.
TEST_F(StoreTest, FlushWithAViewOpenOnThisThreadAborts) {
#ifdef NDEBUG
  GTEST_SKIP() << "the check is compiled into debug builds only";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  f_.AddUser("vic", "pw");
  EXPECT_DEATH(
      {
        auto view = store().Read();
        store().Flush();
      },
      "Flush with 1 read view");
  EXPECT_DEATH(
      {
        auto view = store().Read();
        store().ClaimRecent(view->FindMailbox(view->FindUser("vic")->id, "INBOX")->id, 1);
      },
      "ClaimRecent with 1 read view");
#endif
}

TEST_F(StoreTest, OwnerThreadMethodsFromAnotherThreadAbort) {
#ifdef NDEBUG
  GTEST_SKIP() << "the check is compiled into debug builds only";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  store().Flush();  // this thread is the owner
  EXPECT_DEATH(std::thread([&] { store().Flush(); }).join(),
               "owner-thread method was called from another thread");
#endif
}

TEST_F(StoreTest, RandomOperationsKeepCountsEqualToARecount) {
  auto u = f_.AddUser("dora", "pw");
  ASSERT_TRUE(CreateMailbox(u.id, "Other").ok());
  std::mt19937 rng(42);
  std::vector<MailboxId> boxes = {Mailbox(u.id, "INBOX").id, Mailbox(u.id, "Other").id};
  std::map<MailboxId, ModSeq> last_modseq;
  std::map<MailboxId, Uid> last_uidnext;
  for (int step = 0; step < 200; ++step) {
    MailboxId mb = boxes[rng() % 2];
    auto msgs = Messages(mb);
    std::vector<Uid> some;
    for (const auto& m : msgs)
      if (rng() % 2) some.push_back(m.uid);
    switch (rng() % 6) {
      case 0:
      case 1:
        f_.Deliver(u.id, Msg("r" + std::to_string(rng() % 5)), mb == boxes[0] ? "INBOX" : "Other",
                   Flags{static_cast<std::uint32_t>(rng() % 32), {}});
        break;
      case 2:
        ASSERT_TRUE(SetFlags(mb, some, static_cast<FlagOp>(rng() % 3),
                             Flags{static_cast<std::uint32_t>(rng() % 32),
                                   {"k" + std::to_string(rng() % 3)}})
                        .ok());
        break;
      case 3:
        ASSERT_TRUE(ExpungeMsgs(mb, some, rng() % 2).ok());
        break;
      case 4:
      case 5:
        ASSERT_TRUE(CopyMsgs(mb, some, boxes[rng() % 2], rng() % 2).ok());
        break;
    }
    auto view = store().Read();
    for (MailboxId b : boxes) {
      auto rec = view->GetMailbox(b);
      ASSERT_TRUE(rec.ok());
      EXPECT_GE(rec->highest_modseq, last_modseq[b]);
      EXPECT_GE(rec->uidnext, last_uidnext[b]);
      last_modseq[b] = rec->highest_modseq;
      last_uidnext[b] = rec->uidnext;
    }
    view.reset();
    Status s = store().CheckConsistency();
    ASSERT_TRUE(s.ok()) << "step " << step << ": " << s.ToString();
  }
}

TEST_F(StoreTest, CheckConsistencyPassesOnEmptyStore) { ExpectConsistent(); }

// [dev] auto_create_users: a login of an unknown user creates it with that
// password; later logins must give the same password.
TEST(StoreDevTest, LoginCreatesUnknownUserWhenAsked) {
  StoreFixture f([](StoreOptions& o) { o.create_users_on_login = true; });
  auto created = f.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { f.store().Authenticate("carol", "pw", "192.0.2.1", cb); });
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->name, "carol");
  auto again = f.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { f.store().Authenticate("carol", "pw", "192.0.2.1", cb); });
  EXPECT_TRUE(again.ok());
  auto wrong = f.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { f.store().Authenticate("carol", "no", "192.0.2.1", cb); });
  EXPECT_EQ(wrong.status().code(), Code::kNoPermission);
  // An empty password creates nobody; a bad name neither.
  auto empty = f.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { f.store().Authenticate("dan", "", "192.0.2.1", cb); });
  EXPECT_EQ(empty.status().code(), Code::kNoPermission);
  auto bad = f.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { f.store().Authenticate("a b", "pw", "192.0.2.1", cb); });
  EXPECT_EQ(bad.status().code(), Code::kNoPermission);
  EXPECT_EQ(f.store().Read()->ListUsers().size(), 1u);
}

TEST(StoreDevTest, LoginDoesNotCreateByDefault) {
  StoreFixture f;
  auto r = f.Wait<UserRecord>(
      [&](Callback<UserRecord> cb) { f.store().Authenticate("carol", "pw", "192.0.2.1", cb); });
  EXPECT_EQ(r.status().code(), Code::kNoPermission);
  EXPECT_TRUE(f.store().Read()->ListUsers().empty());
}

// [dev] deterministic: UIDVALIDITY 1 everywhere; INTERNALDATE from
// message_date when the append gives none.
TEST(StoreDevTest, DeterministicUidValidityAndInternalDate) {
  StoreFixture f([](StoreOptions& o) {
    o.deterministic = true;
    o.message_date = [](std::string_view) {
      return std::optional<StoreOptions::MessageDate>(StoreOptions::MessageDate{1000, 60});
    };
  });
  auto u = f.AddUser("erin", "pw");
  auto view = f.store().Read();
  for (const auto& mb : view->ListMailboxes(u.id)) EXPECT_EQ(mb.uidvalidity, 1u) << mb.name;
  view.reset();
  AppendRequest req;
  req.user = u.id;
  req.bytes = std::make_shared<const std::string>("Subject: x\r\n\r\nbody\r\n");
  auto r = f.Wait<AppendResult>([&](Callback<AppendResult> cb) { f.store().Append(req, cb); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uidvalidity, 1u);
  auto m = f.store().Read()->GetMessage(r->mailbox, r->uid);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->internal_date, 1000);
  EXPECT_EQ(m->internal_date_tz, 60);
  // A date given by the client wins.
  req.internal_date = 5;
  r = f.Wait<AppendResult>([&](Callback<AppendResult> cb) { f.store().Append(req, cb); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(f.store().Read()->GetMessage(r->mailbox, r->uid)->internal_date, 5);
}

}  // namespace
}  // namespace pillarbox::storage
