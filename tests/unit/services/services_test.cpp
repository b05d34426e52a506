// The service layer against a real store in a temporary directory.
#include <gtest/gtest.h>

#include <ctime>
#include <optional>
#include <utility>

#include "config/config.h"
#include "services/delivery.h"
#include "services/journal.h"
#include "services/reset.h"
#include "services/settings.h"
#include "services/users.h"
#include "tests/support/test_support.h"

namespace pillarbox::services {
namespace {

using storage::UserRecord;

class ServicesTest : public ::testing::Test {
 protected:
  explicit ServicesTest(std::function<void(storage::StoreOptions&)> adjust = nullptr)
      : f_(std::move(adjust)) {}

  storage::Store& store() { return f_.store(); }

  template <typename T>
  std::pair<Outcome, T> Await(const std::function<void(Done<T>)>& submit) {
    std::optional<std::pair<Outcome, T>> out;
    submit([&](Outcome o, T v) { out.emplace(std::move(o), std::move(v)); });
    f_.RunUntil([&] { return out.has_value(); });
    return std::move(*out);
  }
  Outcome AwaitOutcome(const std::function<void(OutcomeDone)>& submit) {
    std::optional<Outcome> out;
    submit([&](Outcome o) { out.emplace(std::move(o)); });
    f_.RunUntil([&] { return out.has_value(); });
    return *out;
  }
  UserRecord User(const std::string& name) {
    UserRecord u;
    EXPECT_TRUE(FindUser(store(), name, &u).ok()) << name;
    return u;
  }

  testing::StoreFixture f_;
  config::Config config_;
};

// --- users --------------------------------------------------------------------

TEST_F(ServicesTest, AddUserChecksTheNameAndRefusesADuplicate) {
  auto [bad, _] =
      Await<UserRecord>([&](auto done) { AddUser(store(), "al ice", "", std::move(done)); });
  EXPECT_EQ(bad.code(), Code::kBadInput);
  auto [ok, user] =
      Await<UserRecord>([&](auto done) { AddUser(store(), "alice", "", std::move(done)); });
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(user.name, "alice");
  auto [dup, __] =
      Await<UserRecord>([&](auto done) { AddUser(store(), "ALICE", "", std::move(done)); });
  EXPECT_EQ(dup.code(), Code::kExists);
}

TEST_F(ServicesTest, TheStoreAppliesTheOneUserNameRule) {
  // Every way in (SMTP's auto-created users call the store directly) gets
  // the rule of storage::ValidateUserName.
  auto r = f_.Wait<UserRecord>([&](auto cb) { store().CreateUser("a+b", "", cb); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), pillarbox::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("subaddress"), std::string::npos);
}

TEST_F(ServicesTest, UnknownUsersAreReportedAsSuch) {
  UserRecord u;
  EXPECT_EQ(FindUser(store(), "nobody", &u).code(), Code::kNoSuchUser);
  EXPECT_EQ(AwaitOutcome([&](auto d) { DeleteUser(store(), "nobody", d); }).code(),
            Code::kNoSuchUser);
  EXPECT_EQ(AwaitOutcome([&](auto d) { SetPassword(store(), "nobody", "", d); }).code(),
            Code::kNoSuchUser);
  EXPECT_EQ(AwaitOutcome([&](auto d) {
              SetQuota(store(), "nobody", {1, 1}, d);
            }).code(),
            Code::kNoSuchUser);
  auto [set, _] = Await<SettingChange>(
      [&](auto d) { SetUserSetting(store(), "nobody", "pop3.delete_mode", "hide", d); });
  EXPECT_EQ(set.code(), Code::kNoSuchUser);
  auto [unhide, __] = Await<UnhideResult>(
      [&](auto d) { Unhide(store(), "nobody", std::nullopt, storage::Origin{}, d); });
  EXPECT_EQ(unhide.code(), Code::kNoSuchUser);
}

TEST_F(ServicesTest, HashNewPasswordRefusesEmptyAndOverlong) {
  std::string hash;
  EXPECT_EQ(HashNewPassword("", &hash).code(), Code::kBadInput);
  EXPECT_EQ(HashNewPassword(std::string(kMaxPasswordBytes + 1, 'x'), &hash).code(),
            Code::kBadInput);
  ASSERT_TRUE(HashNewPassword("secret", &hash).ok());
  EXPECT_TRUE(storage::VerifyPassword("secret", hash));
  EXPECT_TRUE(CheckImportedHash(hash).ok());
  EXPECT_EQ(CheckImportedHash("$6$broken").code(), Code::kBadInput);
}

TEST_F(ServicesTest, SettingsAreCheckedCanonicalAndEmptyRemoves) {
  f_.AddUser("Alice", "pw");
  auto [o, change] = Await<SettingChange>(
      [&](auto d) { SetUserSetting(store(), "alice", "pop3.mark_seen_on_retr", " Yes", d); });
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(change.user, "Alice");
  EXPECT_EQ(change.value, "true");
  EXPECT_EQ(User("alice").settings.at("pop3.mark_seen_on_retr"), "true");

  auto [removed, gone] = Await<SettingChange>(
      [&](auto d) { SetUserSetting(store(), "alice", "pop3.mark_seen_on_retr", "", d); });
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(gone.removed());
  EXPECT_EQ(User("alice").settings.count("pop3.mark_seen_on_retr"), 0u);

  for (auto [key, value] : {std::pair{"pop3.delete_mode", "shred"},
                            std::pair{"server.data_dir", "/x"}, std::pair{"pop3.nope", "1"},
                            std::pair{"server.data_dir", ""}, std::pair{"pop3.nope", ""}}) {
    auto [bad, _] =
        Await<SettingChange>([&](auto d) { SetUserSetting(store(), "alice", key, value, d); });
    EXPECT_EQ(bad.code(), Code::kBadInput) << key << "=" << value;
  }
  EXPECT_TRUE(User("alice").settings.empty());

  SettingChange parsed;
  EXPECT_EQ(ParseSetting("nonsense", &parsed).code(), Code::kBadInput);
  EXPECT_NE(ParseSetting("nonsense", &parsed).message().find("pop3.delete_mode"),
            std::string::npos);
  ASSERT_TRUE(ParseSetting("pop3.delete_mode=move:Old", &parsed).ok());
  EXPECT_EQ(parsed.key, "pop3.delete_mode");
  EXPECT_EQ(parsed.value, "move:Old");
  ASSERT_TRUE(ParseSetting("pop3.delete_mode=", &parsed).ok());
  EXPECT_TRUE(parsed.removed());
}

// A key `user set` accepts must change what a login gets: each per-user
// key has a value that config::UserConfig applies.
TEST_F(ServicesTest, EveryPerUserKeyChangesTheEffectiveConfiguration) {
  const std::string base = config::DumpConfig(config_);
  for (const std::string& key : config::UserSettingKeys()) {
    bool changed = false;
    for (const char* value :
         {"hide", "deny", "false", "true", "1h", "7", "1M", "rfc3501", "-IDLE", "-TOP"}) {
      if (!config::ValidateUserSetting(key, value).ok()) continue;
      std::vector<std::string> problems;
      config::Config c = config::UserConfig(config_, {{key, value}}, &problems);
      EXPECT_TRUE(problems.empty()) << key;
      changed |= config::DumpConfig(c) != base;
    }
    EXPECT_TRUE(changed) << key << " is accepted per user but changes nothing";
  }
}

TEST_F(ServicesTest, QuotaParsesAndListShowsTheQuotaInEffect) {
  config_.quota.storage_bytes = 1 << 20;
  config_.quota.messages = 10;
  f_.AddUser("alice", "pw");
  f_.AddUser("bob", "pw");
  storage::QuotaLimits q;
  EXPECT_EQ(ParseQuota("lots", "1", &q).code(), Code::kBadInput);
  EXPECT_EQ(ParseQuota("1G", "x", &q).code(), Code::kBadInput);
  ASSERT_TRUE(ParseQuota("2M", "0", &q).ok());
  EXPECT_EQ(q.bytes, 2u << 20);
  ASSERT_TRUE(AwaitOutcome([&](auto d) { SetQuota(store(), "bob", q, d); }).ok());
  auto users = ListUsers(store(), config_);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].record.name, "alice");
  EXPECT_EQ(users[0].quota.bytes, 1u << 20);
  EXPECT_TRUE(users[0].default_quota_bytes);
  EXPECT_EQ(users[1].quota.bytes, 2u << 20);
  EXPECT_FALSE(users[1].default_quota_bytes);
  EXPECT_EQ(users[1].quota.messages, 10u);
  EXPECT_TRUE(users[1].default_quota_messages);
}

TEST_F(ServicesTest, UnhideReportsWhatWasNotHidden) {
  auto alice = f_.AddUser("alice", "pw");
  auto m = f_.Deliver(alice.id, "Subject: a\r\n\r\nx\r\n");
  std::vector<storage::Uid> uids;
  EXPECT_EQ(ParseUids({"0"}, &uids).code(), Code::kBadInput);
  EXPECT_EQ(ParseUids({"1x"}, &uids).code(), Code::kBadInput);
  ASSERT_TRUE(ParseUids({std::to_string(m.uid), "99"}, &uids).ok());
  auto [o, r] = Await<UnhideResult>([&](auto d) {
    Unhide(store(), "ALICE", uids, storage::Origin{"cli", 0, ""}, d);
  });
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(r.user, "alice");
  EXPECT_TRUE(r.unhidden.empty());  // never hidden
  EXPECT_EQ(r.not_found, (std::vector<storage::Uid>{m.uid, 99}));
}

// --- reset ---------------------------------------------------------------------

TEST_F(ServicesTest, ResetDeletesEveryUser) {
  auto alice = f_.AddUser("alice", "pw");
  f_.AddUser("bob", "pw");
  f_.Deliver(alice.id, "Subject: a\r\n\r\nx\r\n");
  auto [o, r] = Await<ResetResult>([&](auto d) { Reset(store(), ResetOptions{}, d); });
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(r.users_deleted, 2u);
  EXPECT_EQ(r.users_kept, 0u);
  EXPECT_TRUE(store().Read()->ListUsers().empty());
}

TEST_F(ServicesTest, ResetKeepingUsersEmptiesTheirMailboxesAndKeepsTheirAccount) {
  auto alice = f_.AddUser("alice", "pw");
  for (int i = 0; i < 3; ++i) f_.Deliver(alice.id, "Subject: a\r\n\r\nx\r\n");
  ASSERT_TRUE(f_.WaitStatus([&](auto d) { store().SetQuota("alice", 4096, 7, d); }).ok());
  ASSERT_TRUE(f_.WaitStatus([&](auto d) {
                  store().SetUserSetting("alice", "pop3.delete_mode", "hide", d);
                }).ok());
  const UserRecord before = User("alice");

  ResetOptions keep;
  keep.keep_users = true;
  auto [o, r] = Await<ResetResult>([&](auto d) { Reset(store(), keep, d); });
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(r.users_deleted, 1u);
  EXPECT_EQ(r.users_kept, 1u);

  const UserRecord after = User("alice");
  EXPECT_EQ(after.password_hash, before.password_hash);
  EXPECT_EQ(after.quota_bytes, 4096u);
  EXPECT_EQ(after.quota_messages, 7u);
  EXPECT_EQ(after.settings, before.settings);
  EXPECT_EQ(after.used_messages, 0u);
  auto view = store().Read();
  auto inbox = view->FindMailbox(after.id, "INBOX");
  ASSERT_TRUE(inbox.ok());
  EXPECT_EQ(inbox->messages, 0u);
  EXPECT_EQ(inbox->uidnext, 1u);  // UIDs start again at 1
}

TEST_F(ServicesTest, ResetOfAnEmptyStoreSucceeds) {
  auto [o, r] = Await<ResetResult>([&](auto d) { Reset(store(), ResetOptions{true}, d); });
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(r.users_deleted, 0u);
  EXPECT_EQ(r.users_kept, 0u);
}

// --- delivery -----------------------------------------------------------------

TEST(SplitMboxTest, InputWithoutFromLineIsOneMessageUnchanged) {
  auto m = SplitMbox("Subject: x\n\n>From here\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].bytes, "Subject: x\n\n>From here\n");
  EXPECT_EQ(m[0].envelope_from, "");
}

TEST(SplitMboxTest, OneMessageLosesItsEnvelopeLine) {
  auto m = SplitMbox("From bob@example.org Thu Nov 26 10:00:00 2026\nSubject: x\n\nbody\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].envelope_from, "bob@example.org");
  EXPECT_EQ(m[0].bytes, "Subject: x\n\nbody\n");
  auto daemon = SplitMbox("From MAILER-DAEMON Thu Nov 26 10:00:00 2026\nSubject: x\n\nb\n");
  EXPECT_EQ(daemon[0].envelope_from, "");
}

TEST(SplitMboxTest, SeveralMessagesSplitAndUnquote) {
  const std::string mbox =
      "From a@example.org Thu Nov 26 10:00:00 2026\n"
      "Subject: one\n\n"
      ">From the start\n"
      ">>From deeper\n"
      "From here on, no time: not a separator\n"
      "\n"
      "From here on, still no time\n"
      "\n"
      "From b@example.org Thu Nov 26 10:01:00 2026\n"
      "Subject: two\n\n"
      "body two\n"
      "\n"
      "From MAILER-DAEMON Thu Nov 26 10:02:00 2026\n"
      "Subject: three\n\n"
      "body three\n";
  auto m = SplitMbox(mbox);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].envelope_from, "a@example.org");
  EXPECT_EQ(m[0].bytes,
            "Subject: one\n\nFrom the start\n>From deeper\nFrom here on, no time: not a "
            "separator\n\nFrom here on, still no time\n");
  EXPECT_EQ(m[1].envelope_from, "b@example.org");
  EXPECT_EQ(m[1].bytes, "Subject: two\n\nbody two\n");
  EXPECT_EQ(m[2].envelope_from, "");
  EXPECT_EQ(m[2].bytes, "Subject: three\n\nbody three\n");
}

TEST(SplitMboxTest, CrlfMbox) {
  auto m = SplitMbox(
      "From a Thu Nov 26 10:00:00 2026\r\nSubject: 1\r\n\r\nx\r\n\r\n"
      "From b Thu Nov 26 10:00:01 2026\r\nSubject: 2\r\n\r\ny\r\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].bytes, "Subject: 1\r\n\r\nx\r\n");
  EXPECT_EQ(m[1].bytes, "Subject: 2\r\n\r\ny\r\n");
}

TEST(PrepareMessageTest, EmptyTooBigAndNormalized) {
  std::string out;
  EXPECT_EQ(PrepareMessage("", 100, &out).code(), Code::kEmptyMessage);
  EXPECT_EQ(PrepareMessage("\r\n\n", 100, &out).code(), Code::kEmptyMessage);
  // The limit applies to the stored form (CRLF).
  EXPECT_EQ(PrepareMessage("a\nb\n", 5, &out).code(), Code::kTooBig);
  ASSERT_TRUE(PrepareMessage("a\nb\n", 6, &out).ok());
  EXPECT_EQ(out, "a\r\nb\r\n");
}

TEST_F(ServicesTest, FindRecipientByAddressLocalPartAndDetail) {
  auto alice = f_.AddUser("alice", "pw");
  f_.AddUser("carol@example.org", "pw");
  ASSERT_TRUE(f_.Wait<storage::MailboxRecord>([&](auto cb) {
                  store().CreateMailbox(alice.id, "Lists", storage::SpecialUse::kNone, cb);
                }).ok());
  auto view = store().Read();
  Recipient r;
  ASSERT_TRUE(FindRecipient(*view, {"alice", "example.org", "", ""}, &r).ok());
  EXPECT_EQ(r.user.name, "alice");
  EXPECT_EQ(r.mailbox, "INBOX");
  ASSERT_TRUE(FindRecipient(*view, {"carol", "example.org", "", ""}, &r).ok());
  EXPECT_EQ(r.user.name, "carol@example.org");
  ASSERT_TRUE(FindRecipient(*view, {"alice+lists", "example.org", "alice", "lists"}, &r).ok());
  EXPECT_EQ(r.mailbox, "Lists");
  ASSERT_TRUE(FindRecipient(*view, {"alice+none", "", "alice", "none"}, &r).ok());
  EXPECT_EQ(r.mailbox, "INBOX");
  EXPECT_EQ(FindRecipient(*view, {"bob", "example.org", "", ""}, &r).code(), Code::kNoSuchUser);
}

class QuotaServicesTest : public ServicesTest {
 protected:
  QuotaServicesTest()
      : ServicesTest([](storage::StoreOptions& o) { o.default_quota_messages = 1; }) {
    config_.quota.messages = 1;
  }
};

TEST_F(QuotaServicesTest, DeliverMapsStoreFailuresToCodes) {
  auto alice = f_.AddUser("alice", "pw");
  auto deliver = [&](Delivery d) {
    return Await<Delivered>([&](auto done) { Deliver(store(), std::move(d), done); });
  };
  Delivery d;
  d.user = alice.id;
  d.bytes = std::make_shared<const std::string>("Subject: 1\r\n\r\nx\r\n");
  d.origin.protocol = "cli";
  EXPECT_TRUE(CheckQuota(config_, alice, 10, 1).ok());
  auto [ok, first] = deliver(d);
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(first.mailbox, "INBOX");
  EXPECT_EQ(first.result.uid, 1u);
  // The same rule up front (SMTP at RCPT, deliver before storing) and at commit.
  EXPECT_EQ(CheckQuota(config_, User("alice"), 10, 1).code(), Code::kOverQuota);
  EXPECT_EQ(deliver(d).first.code(), Code::kOverQuota);

  Delivery nobody = d;
  nobody.user = 999;
  EXPECT_EQ(deliver(nobody).first.code(), Code::kNoSuchUser);
  Delivery bad = d;
  bad.mailbox = "a//b";
  bad.create_mailbox = true;
  EXPECT_EQ(deliver(bad).first.code(), Code::kBadMailbox);
}

TEST_F(ServicesTest, DeliverFallsBackToInboxWhenAsked) {
  auto alice = f_.AddUser("alice", "pw");
  Delivery d;
  d.user = alice.id;
  d.mailbox = "Gone";
  d.bytes = std::make_shared<const std::string>("Subject: 1\r\n\r\nx\r\n");
  auto [missing, _] = Await<Delivered>([&](auto done) { Deliver(store(), d, done); });
  EXPECT_EQ(missing.code(), Code::kNoSuchUser);  // no fallback: only the user can be missing
  d.fallback_to_inbox = true;
  auto [o, r] = Await<Delivered>([&](auto done) { Deliver(store(), d, done); });
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(r.mailbox, "INBOX");
  d.mailbox = "Made";
  d.fallback_to_inbox = false;
  d.create_mailbox = true;
  auto [made, m] = Await<Delivered>([&](auto done) { Deliver(store(), d, done); });
  ASSERT_TRUE(made.ok()) << made.message();
  EXPECT_EQ(m.mailbox, "Made");
}

// --- journal and views ---------------------------------------------------------

TEST_F(ServicesTest, JournalReaderReturnsEachEventOnceAndViewsNumberForPop3) {
  auto alice = f_.AddUser("alice", "pw");
  f_.Deliver(alice.id, "Subject: one\r\n\r\nx\r\n");
  JournalReader reader(alice.id, 0, 100);
  auto first = reader.Next(*store().Read());
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].subject, "one");
  EXPECT_TRUE(reader.Next(*store().Read()).empty());
  f_.Deliver(alice.id, "Subject: two\r\n\r\nx\r\n");
  auto second = reader.Next(*store().Read());
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].subject, "two");

  InboxView v;
  EXPECT_EQ(BuildInboxView(store(), config_, "nobody", &v).code(), Code::kNoSuchUser);
  ASSERT_TRUE(BuildInboxView(store(), config_, "ALICE", &v).ok());
  EXPECT_EQ(v.user.name, "alice");
  ASSERT_EQ(v.rows.size(), 2u);
  EXPECT_EQ(v.rows[1].pop3_number, 2u);
  EXPECT_EQ(v.rows[1].subject, "two");
  EXPECT_EQ(v.pop3_visible, 2u);
  EXPECT_TRUE(v.gone.empty());
  EXPECT_EQ(v.delete_mode.source, "default");
}

TEST_F(ServicesTest, GoneFromTheJournalAloneMatchesTheWholeView) {
  auto alice = f_.AddUser("alice", "pw");
  auto one = f_.Deliver(alice.id, "Subject: one\r\n\r\nx\r\n");
  f_.Deliver(alice.id, "Subject: two\r\n\r\nx\r\n");
  f_.Deliver(alice.id, "Subject: three\r\n\r\nx\r\n");
  const storage::MailboxId inbox = one.mailbox;
  storage::MailboxId archive = 0;
  {
    auto view = store().Read();
    archive = view->FindMailbox(alice.id, "Archive")->id;
  }
  auto move = [&](storage::MailboxId from, storage::Uid uid, storage::MailboxId to) {
    storage::CopyRequest req;
    req.from = from;
    req.uids = {uid};
    req.to = to;
    req.move = true;
    auto r = f_.Wait<storage::CopyResult>([&](auto cb) { store().Copy(req, cb); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && !r->dest_uids.empty() ? r->dest_uids[0] : 0;
  };
  // One: out and back in (UID 4 now). Two: expunged. Three: moved out.
  storage::Uid there = move(inbox, 1, archive);
  EXPECT_EQ(move(archive, there, inbox), 4u);
  storage::ExpungeRequest ex;
  ex.mailbox = inbox;
  ex.uids = std::vector<storage::Uid>{2};
  ex.require_deleted = false;
  ASSERT_TRUE(f_.Wait<std::vector<storage::Uid>>([&](auto cb) { store().Expunge(ex, cb); }).ok());
  move(inbox, 3, archive);

  InboxView whole;
  ASSERT_TRUE(BuildInboxView(store(), config_, "alice", &whole).ok());
  InboxView journal_only;
  journal_only.user = whole.user;
  journal_only.inbox = whole.inbox;
  BuildInboxGone(*store().Read(), config_, &journal_only);
  ASSERT_EQ(whole.gone.size(), 2u);
  ASSERT_EQ(journal_only.gone.size(), whole.gone.size());
  for (std::size_t i = 0; i < whole.gone.size(); ++i) {
    EXPECT_EQ(journal_only.gone[i].guid, whole.gone[i].guid);
    EXPECT_EQ(journal_only.gone[i].kind, whole.gone[i].kind);
  }
  EXPECT_EQ(whole.gone[0].subject, "two");
  EXPECT_EQ(whole.gone[1].subject, "three");
  EXPECT_EQ(journal_only.gone_inbox_uids, whole.gone_inbox_uids);
  EXPECT_EQ(journal_only.gone_inbox_uids.at(whole.gone[1].guid), 3u);
}

TEST_F(ServicesTest, InboxRowsOfAPageSeeADeleOfALivePop3SessionOnly) {
  auto alice = f_.AddUser("alice", "pw");
  f_.Deliver(alice.id, "Subject: one\r\n\r\nx\r\n");
  f_.Deliver(alice.id, "Subject: two\r\n\r\nx\r\n");
  auto page = [&] {
    auto view = store().Read();
    auto inbox = view->FindMailbox(alice.id, "INBOX");
    return InboxRowsOf(*view, config_, alice.id,
                       view->ListMessagesNewestFirst(inbox->id, 0, 0, 10));
  };
  auto rows = page();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].message.uid, 2u);
  EXPECT_EQ(rows[0].pending_session, 0u);
  // A DELE of message 2 by session 77 (live) and of message 1 by session
  // 78 (gone: it never registered).
  storage::ReadView::LiveSession live;
  live.id = 77;
  live.protocol = "pop3";
  live.user = alice.id;
  live.mailbox = "INBOX";
  live.since = static_cast<storage::UnixTime>(std::time(nullptr));
  store().RegisterLiveSession(live);
  for (auto [uid, session] : {std::pair<storage::Uid, std::uint64_t>{2, 77}, {1, 78}}) {
    storage::JournalEvent ev;
    ev.kind = storage::JournalKind::kPop3DeletePending;
    ev.origin.protocol = "pop3";
    ev.origin.session = session;
    ev.mailbox = "INBOX";
    ev.uid = uid;
    ev.guid = rows[2 - uid].message.guid;
    ASSERT_TRUE(f_.WaitStatus([&](auto cb) { store().RecordJournal(alice.id, ev, cb); }).ok());
  }
  rows = page();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].pending_session, 77u);
  EXPECT_EQ(rows[1].pending_session, 0u);
  store().UnregisterLiveSession(77);
  store().Flush();
  rows = page();
  EXPECT_EQ(rows[0].pending_session, 0u);
}

// --- settings -----------------------------------------------------------------

TEST_F(ServicesTest, RetentionRulesParseOnceAndMatchLikeTheSweep) {
  config_.retention.expire_after = {"Trash=30", "\\Junk=7", "Lists/Old=365", "inbox=14"};
  auto rules = RetentionRules(config_);
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->size(), 4u);
  EXPECT_EQ((*rules)[1].mailbox, "\\Junk");
  EXPECT_EQ((*rules)[2].days, 365);
  storage::MailboxRecord inbox;
  inbox.name = "INBOX";
  EXPECT_EQ(storage::RetentionDays(inbox, *rules), 14);  // INBOX in any case
  inbox.expire_after_days = 3;                           // its own setting first
  EXPECT_EQ(storage::RetentionDays(inbox, *rules), 3);
  storage::MailboxRecord junk;
  junk.name = "Spam";
  junk.special_use = storage::SpecialUse::kJunk;
  EXPECT_EQ(storage::RetentionDays(junk, *rules), 7);
  storage::MailboxRecord trash;
  trash.name = "trash";  // other names exactly
  EXPECT_EQ(storage::RetentionDays(trash, *rules), 0);
  for (const char* bad : {"Trash", "Trash=", "=3", "Trash=0", "Trash=-1", "Trash=3d"}) {
    config_.retention.expire_after = {bad};
    auto e = RetentionRules(config_);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().message().rfind("retention.expire_after", 0), 0u);
  }
}

TEST_F(ServicesTest, DeleteModeInEffectSaysWhereItComesFrom) {
  UserRecord u;
  EXPECT_EQ(DeleteModeOf(config_, u).source, "default");
  config_.pop3.delete_mode.mode = config::Pop3DeleteMode::kHide;
  EXPECT_EQ(DeleteModeOf(config_, u).source, "config");
  EXPECT_EQ(DeleteModeOf(config_, u).mode, "hide");
  u.settings["pop3.delete_mode"] = "move:Old";
  auto d = DeleteModeOf(config_, u);
  EXPECT_EQ(d.mode, "move:Old");
  EXPECT_EQ(d.source, "user");
  EXPECT_EQ(d.Describe(), "move:Old (user override: pillarbox user set)");
  u.settings["pop3.delete_mode"] = "bogus";  // ignored at login, so here too
  EXPECT_EQ(DeleteModeOf(config_, u).mode, "hide");
  EXPECT_EQ(DeleteModeOf(config_, u).source, "config");
}

TEST(DepartureTest, SaysWhetherAMessageMovedAndWhere) {
  storage::JournalEvent ev;
  ev.kind = storage::JournalKind::kPop3Deleted;
  ev.mailbox = "INBOX";
  ev.uid = 4;
  ev.detail = "expunge";
  Departure d = DepartureOf(ev);
  EXPECT_FALSE(d.moved);
  EXPECT_EQ(d.mailbox, "");
  ev.detail = "move:Old/Mail, now Old/Mail UID 17";
  d = DepartureOf(ev);
  EXPECT_TRUE(d.moved);
  EXPECT_EQ(d.mailbox, "Old/Mail");
  EXPECT_EQ(d.uid, 17u);
  ev.detail = "move:Archive";  // an older store's detail: no UID
  d = DepartureOf(ev);
  EXPECT_TRUE(d.moved);
  EXPECT_EQ(d.mailbox, "Archive");
  EXPECT_EQ(d.uid, 0u);
  ev.detail = "move:Archive, now Archive UID 9x";
  EXPECT_EQ(DepartureOf(ev).uid, 0u);
  ev.kind = storage::JournalKind::kMoved;  // IMAP MOVE: journaled at the destination
  ev.mailbox = "Trash";
  ev.uid = 3;
  ev.detail = "moved from INBOX";
  d = DepartureOf(ev);
  EXPECT_TRUE(d.moved);
  EXPECT_EQ(d.mailbox, "Trash");
  EXPECT_EQ(d.uid, 3u);
  ev.kind = storage::JournalKind::kExpunged;
  EXPECT_FALSE(DepartureOf(ev).moved);
}

}  // namespace
}  // namespace pillarbox::services
