// The on-disk format: record codecs round-trip, long keys are hashed, and
// the format version is checked at open.
#include <gtest/gtest.h>
#include <lmdb.h>

#include "common/strings.h"
#include "storage/lmdb/codec.h"
#include "storage/lmdb/txn.h"
#include "storage/store.h"
#include "tests/support/test_support.h"

namespace pillarbox::storage::lmdb {
namespace {

using pillarbox::testing::TempDir;

TEST(CodecTest, RecordsRoundTrip) {
  UserRecord u;
  u.name = "Zoë";
  u.password_hash = "{PLAIN}x";
  u.quota_bytes = 1;
  u.quota_messages = 2;
  u.used_bytes = 3;
  u.used_messages = 4;
  u.created = -5;
  u.settings = {{"a", "b"}, {"pop3.delete_mode", "move:Archive"}};
  UserRecord u2;
  ASSERT_TRUE(DecodeUser(EncodeUser(u), &u2));
  u2.id = u.id;
  EXPECT_EQ(u2.name, u.name);
  EXPECT_EQ(u2.password_hash, u.password_hash);
  EXPECT_EQ(u2.settings, u.settings);
  EXPECT_EQ(u2.created, -5);
  EXPECT_EQ(u2.used_messages, 4u);

  MessageRecord m;
  m.blob = Sha256("abc");
  m.flags = Flags{kFlagSeen | kFlagDraft, {"$Forwarded", "Work"}};
  m.internal_date = 1700000000;
  m.internal_date_tz = -480;
  m.saved = 1700000001;
  m.size = 1234;
  m.modseq = 99;
  m.guid = 7;
  m.pop3.hidden = true;
  m.pop3.retrieved = 1700000002;
  MessageRecord m2;
  ASSERT_TRUE(DecodeMessage(EncodeMessage(m), &m2));
  EXPECT_EQ(m2.blob, m.blob);
  EXPECT_EQ(m2.flags, m.flags);
  EXPECT_EQ(m2.internal_date_tz, -480);
  EXPECT_EQ(m2.modseq, 99u);
  EXPECT_TRUE(m2.pop3.hidden);
  EXPECT_EQ(m2.pop3.retrieved, 1700000002);
  // SHA-256("abc"), FIPS 180-2 example.
  EXPECT_EQ(m.blob.Hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  MailboxRow row;
  row.rec.user = 3;
  row.rec.name = "Ünï/cödé";
  row.rec.special_use = SpecialUse::kArchive;
  row.rec.uidvalidity = 17;
  row.rec.uidnext = 5;
  row.rec.highest_modseq = 8;
  row.rec.messages = 4;
  row.rec.unseen = 2;
  row.rec.deleted = 1;
  row.rec.size = 100;
  row.rec.expire_after_days = 30;
  row.first_recent = 4;
  MailboxRow row2;
  ASSERT_TRUE(DecodeMailbox(EncodeMailbox(row), &row2));
  EXPECT_EQ(row2.rec.name, row.rec.name);
  EXPECT_EQ(row2.rec.special_use, SpecialUse::kArchive);
  EXPECT_EQ(row2.rec.expire_after_days, 30);
  EXPECT_EQ(row2.first_recent, 4u);

  JournalEvent e;
  e.kind = JournalKind::kPop3Deleted;
  e.origin = Origin{"pop3", 9, "1.2.3.4"};
  e.mailbox = "INBOX";
  e.uid = 3;
  e.guid = 4;
  e.subject = "s";
  e.detail = "hide";
  JournalEvent e2;
  ASSERT_TRUE(DecodeJournal(EncodeJournal(e), &e2));
  EXPECT_EQ(e2.kind, JournalKind::kPop3Deleted);
  EXPECT_EQ(e2.origin.peer, "1.2.3.4");
  EXPECT_EQ(e2.detail, "hide");
}

TEST(CodecTest, TruncatedOrTrailingBytesAreRejected) {
  MessageRecord m;
  m.flags.keywords = {"a"};
  std::string v = EncodeMessage(m);
  MessageRecord out;
  for (std::size_t n = 0; n < v.size(); ++n) {
    EXPECT_FALSE(DecodeMessage(v.substr(0, n), &out)) << n;
  }
  EXPECT_FALSE(DecodeMessage(v + "x", &out));
  Change c;
  EXPECT_FALSE(DecodeChange(std::string("\x07\0\0\0\x01", 5), &c));  // unknown kind
  EXPECT_TRUE(DecodeChange(EncodeChange(Change::Kind::kExpunge, 5), &c));
  EXPECT_EQ(c.uid, 5u);
}

TEST(CodecTest, LiveSessionClientIdIsOptionalAtTheEnd) {
  ReadView::LiveSession s;
  s.user = 7;
  s.protocol = "imap";
  s.peer = "127.0.0.1";
  s.mailbox = "INBOX";
  s.since = 99;
  // Without a client id the record is the one of builds before it.
  const std::string old = EncodeLiveSession(s);
  ReadView::LiveSession out;
  out.client_id = "stale";
  ASSERT_TRUE(DecodeLiveSession(old, &out));
  EXPECT_EQ(out.client_id, "");
  EXPECT_EQ(out.since, 99);
  s.client_id = "K-9 Mail 6.8";
  const std::string v = EncodeLiveSession(s);
  EXPECT_GT(v.size(), old.size());
  ASSERT_TRUE(DecodeLiveSession(v, &out));
  EXPECT_EQ(out.client_id, "K-9 Mail 6.8");
  EXPECT_EQ(out.mailbox, "INBOX");
  for (std::size_t n = old.size() + 1; n < v.size(); ++n) {
    EXPECT_FALSE(DecodeLiveSession(v.substr(0, n), &out)) << n;
  }
  EXPECT_FALSE(DecodeLiveSession(v + "x", &out));
}

TEST(CodecTest, LongKeysAreHashedAndShortOnesKept) {
  std::string shortk = UserNameKey(1, "INBOX");
  EXPECT_EQ(shortk.size(), 13u);
  EXPECT_EQ(shortk.substr(8), "INBOX");
  std::string longname(600, 'n');
  std::string k = UserNameKey(1, longname);
  ASSERT_EQ(k.size(), 8u + 1 + 32);
  EXPECT_EQ(k[8], '\xff');
  EXPECT_EQ(k.substr(0, 8), U64Key(1));
  EXPECT_NE(k, UserNameKey(1, longname + "x"));
  EXPECT_EQ(UserNameKey(1, std::string(503, 'a')).size(), 511u);  // the longest kept
  EXPECT_EQ(UserNameKey(1, std::string(504, 'a')).size(), 41u);
  EXPECT_EQ(UserIndexKey(std::string(512, 'u')).size(), 33u);
}

TEST(CodecTest, KeysSortNumerically) {
  EXPECT_LT(MessageKey(1, 255), MessageKey(1, 256));
  EXPECT_LT(MessageKey(1, 0xffffffffu), MessageKey(2, 1));
  EXPECT_LT(ChangeKey(3, 9), ChangeKey(3, 10));
  EXPECT_LT(JournalKey(1, -1, 5), JournalKey(1, 0, 1));
  EXPECT_LT(JournalKey(1, 100, 5), JournalKey(1, 100, 6));
}

TEST(MailboxNameTest, NormalizesInboxAndRejectsBadNames) {
  EXPECT_EQ(*NormalizeMailboxName("inbox"), "INBOX");
  EXPECT_EQ(*NormalizeMailboxName("InBoX/Sub"), "INBOX/Sub");
  EXPECT_EQ(*NormalizeMailboxName("inboxes"), "inboxes");
  EXPECT_EQ(*NormalizeMailboxName("Sent"), "Sent");
  EXPECT_FALSE(NormalizeMailboxName("").ok());
  EXPECT_FALSE(NormalizeMailboxName("/").ok());
  EXPECT_FALSE(NormalizeMailboxName("a//b").ok());
  EXPECT_FALSE(NormalizeMailboxName(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(NormalizeMailboxName("a\x7f").ok());
  std::string deep;
  for (int i = 0; i <= kMaxMailboxDepth; ++i) deep += "d/";
  deep += "x";
  EXPECT_EQ(NormalizeMailboxName(deep).status().code(), Code::kLimit);
  EXPECT_TRUE(NormalizeMailboxName(std::string(kMaxMailboxNameBytes, 'a')).ok());
  EXPECT_EQ(NormalizeMailboxName(std::string(kMaxMailboxNameBytes + 1, 'a')).status().code(),
            Code::kLimit);
}

// Rewrites meta["format_version"] with raw LMDB while no store is open.
void SetFormatVersion(const std::string& dir, std::uint32_t v) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 16);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
  std::string value;
  PutBigEndian32(value, v);
  MDB_val k{14, const_cast<char*>("format_version")};
  MDB_val val{value.size(), value.data()};
  ASSERT_EQ(mdb_put(txn, dbi, &k, &val, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

TEST(FormatVersionTest, NewerVersionIsRefusedWithAClearMessage) {
  TempDir tmp;
  std::string dir = tmp.path() + "/store";
  ManualExecutor ex;
  auto open = [&] {
    StoreOptions o;
    o.dir = dir;
    o.post = ex.Poster();
    return Store::Open(std::move(o));
  };
  {
    auto s = open();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }
  SetFormatVersion(dir, kFormatVersion + 1);
  auto refused = open();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("newer than this Pillarbox supports"),
            std::string::npos)
      << refused.status().ToString();
  SetFormatVersion(dir, kFormatVersion);
  EXPECT_TRUE(open().ok());
}

// Version 1 stores (before the optional POP3 UIDL field) open and are
// marked version 2, so that an older build refuses them instead of
// misreading a record with the new field.
TEST(FormatVersionTest, Version1IsUpgradedInPlace) {
  TempDir tmp;
  std::string dir = tmp.path() + "/store";
  ManualExecutor ex;
  auto open = [&] {
    StoreOptions o;
    o.dir = dir;
    o.post = ex.Poster();
    return Store::Open(std::move(o));
  };
  ASSERT_TRUE(open().ok());
  SetFormatVersion(dir, 1);
  ASSERT_TRUE(open().ok());
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 16);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
  MDB_val k{14, const_cast<char*>("format_version")};
  MDB_val v;
  ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
  ASSERT_EQ(v.mv_size, 4u);
  EXPECT_EQ(GetBigEndian32(static_cast<const char*>(v.mv_data)), kFormatVersion);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  SetFormatVersion(dir, 0);
  EXPECT_FALSE(open().ok());
}

TEST(FormatVersionTest, OpenWithoutPostIsRefused) {
  StoreOptions o;
  o.dir = "/nonexistent";
  EXPECT_EQ(Store::Open(std::move(o)).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace pillarbox::storage::lmdb
