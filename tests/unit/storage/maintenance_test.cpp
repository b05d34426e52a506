// storage/maintenance.h: the consistency report on stores corrupted on
// purpose (one way per test, then several at once), backup files and their
// restore.
#include "storage/maintenance.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "storage/lmdb/codec.h"
#include "storage/lmdb/env.h"
#include "storage/lmdb/txn.h"
#include "tests/support/test_support.h"

namespace pillarbox::storage {
namespace {

using lmdb::Dbis;
using pillarbox::testing::StoreFixture;
using pillarbox::testing::TempDir;

std::string Msg(const std::string& subject) {
  return "From: a@example.com\r\nTo: b@example.com\r\nSubject: " + subject + "\r\n\r\nbody of " +
         subject + "\r\n";
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

bool Contains(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines) {
    if (l.find(part) != std::string::npos) return true;
  }
  return false;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// alice: INBOX with 3 messages (the first \Seen), the second copied to
// Archive (one blob, two references); bob: 1 message. Then closed, so
// that a test can change the LMDB environment under it.
class MaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = f_.AddUser("alice", "pw");
    bob_ = f_.AddUser("bob", "pw");
    Flags seen;
    seen.system = kFlagSeen;
    f_.Deliver(alice_.id, Msg("one"), "INBOX", seen);
    f_.Deliver(alice_.id, Msg("two"));
    f_.Deliver(alice_.id, Msg("three"));
    f_.Deliver(bob_.id, Msg("four"));
    auto view = f_.store().Read();
    inbox_ = view->FindMailbox(alice_.id, "INBOX")->id;
    archive_ = view->FindMailbox(alice_.id, "Archive")->id;
    view.reset();
    CopyRequest copy;
    copy.from = inbox_;
    copy.uids = {2};
    copy.to = archive_;
    copy.origin.protocol = "test";
    ASSERT_TRUE(
        f_.Wait<CopyResult>([&](Callback<CopyResult> cb) { f_.store().Copy(copy, cb); }).ok());
    f_.Close();
  }

  std::string dir() const { return f_.dir() + "/store"; }

  // Runs `change` in a write transaction on the closed store.
  void Corrupt(const std::function<void(MDB_txn*, const Dbis&)>& change) {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), MDB_SUCCESS);
    mdb_env_set_maxdbs(env, lmdb::kMaxDbs);
    mdb_env_set_maxreaders(env, lmdb::kMaxReaders);
    ASSERT_EQ(mdb_env_open(env, dir().c_str(), 0, 0600), MDB_SUCCESS);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), MDB_SUCCESS);
    Dbis dbis;
    ASSERT_TRUE(lmdb::OpenDbis(txn, false, &dbis).ok());
    change(txn, dbis);
    ASSERT_EQ(mdb_txn_commit(txn), MDB_SUCCESS);
    mdb_env_close(env);
  }
  static std::string Get(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
    MDB_val k = Val(key), v;
    EXPECT_EQ(mdb_get(txn, dbi, &k, &v), MDB_SUCCESS);
    return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
  }
  static void Put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value) {
    MDB_val k = Val(key), v = Val(value);
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), MDB_SUCCESS);
  }
  static void Del(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
    MDB_val k = Val(key);
    ASSERT_EQ(mdb_del(txn, dbi, &k, nullptr), MDB_SUCCESS);
  }
  // Changes one mailbox record.
  void EditMailbox(MDB_txn* txn, const Dbis& db, MailboxId id,
                   const std::function<void(lmdb::MailboxRow&)>& edit) {
    lmdb::MailboxRow row;
    ASSERT_TRUE(lmdb::DecodeMailbox(Get(txn, db.mailbox_meta, lmdb::U64Key(id)), &row));
    edit(row);
    Put(txn, db.mailbox_meta, lmdb::U64Key(id), lmdb::EncodeMailbox(row));
  }
  MessageRecord Message(MDB_txn* txn, const Dbis& db, MailboxId mb, Uid uid) {
    MessageRecord m;
    EXPECT_TRUE(lmdb::DecodeMessage(Get(txn, db.messages, lmdb::MessageKey(mb, uid)), &m));
    m.uid = uid;
    return m;
  }

  std::vector<std::string> Problems() {
    auto report = VerifyStore(dir());
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? report->problems : std::vector<std::string>{"verify failed"};
  }

  StoreFixture f_;
  UserRecord alice_, bob_;
  MailboxId inbox_ = 0, archive_ = 0;
};

TEST_F(MaintenanceTest, CleanStoreHasNoProblemsAndCounts) {
  auto report = VerifyStore(dir());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << Join(report->problems);
  EXPECT_EQ(report->users, 2u);
  EXPECT_EQ(report->messages, 5u);
  EXPECT_EQ(report->blobs, 4u);
  EXPECT_EQ(report->mailboxes, 12u);
}

TEST_F(MaintenanceTest, NoStoreIsNotFound) {
  TempDir empty;
  auto report = VerifyStore(empty.path() + "/store");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kNotFound);
}

TEST_F(MaintenanceTest, MessageWithoutBlobIsReported) {
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    MessageRecord m = Message(txn, db, inbox_, 1);
    Del(txn, db.blobs, lmdb::BlobKey(m.blob));
  });
  auto p = Problems();
  EXPECT_TRUE(Contains(p, "(alice/INBOX) uid 1: its blob")) << Join(p);
  EXPECT_TRUE(Contains(p, "is missing")) << Join(p);
  EXPECT_EQ(p.size(), 1u) << Join(p);
}

TEST_F(MaintenanceTest, CountsThatDifferFromARecountAreReported) {
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    EditMailbox(txn, db, inbox_, [](lmdb::MailboxRow& r) {
      r.rec.messages = 7;
      r.rec.unseen = 0;
    });
  });
  auto p = Problems();
  EXPECT_TRUE(Contains(p, "(alice/INBOX): messages is 7, a recount gives 3")) << Join(p);
  EXPECT_TRUE(Contains(p, "(alice/INBOX): unseen is 0, a recount gives 2")) << Join(p);
  EXPECT_EQ(p.size(), 2u) << Join(p);
}

TEST_F(MaintenanceTest, UidsNotBelowUidnextAreReportedEach) {
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    EditMailbox(txn, db, inbox_, [](lmdb::MailboxRow& r) { r.rec.uidnext = 2; });
  });
  auto p = Problems();
  EXPECT_TRUE(Contains(p, "(alice/INBOX) uid 2: uid not below uidnext 2")) << Join(p);
  EXPECT_TRUE(Contains(p, "(alice/INBOX) uid 3: uid not below uidnext 2")) << Join(p);
  EXPECT_EQ(p.size(), 2u) << Join(p);
}

TEST_F(MaintenanceTest, ModseqsBeyondHighestModseqAreReported) {
  std::uint64_t highest = 0;
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    EditMailbox(txn, db, inbox_, [&](lmdb::MailboxRow& r) {
      highest = r.rec.highest_modseq;
      r.rec.highest_modseq = 1;
    });
  });
  ASSERT_GT(highest, 2u);
  auto p = Problems();
  EXPECT_TRUE(Contains(p, "(alice/INBOX) uid 2: modseq")) << Join(p);
  EXPECT_TRUE(Contains(p, "beyond highest_modseq 1")) << Join(p);
  EXPECT_TRUE(Contains(p, "(alice/INBOX): change row modseq")) << Join(p);
}

TEST_F(MaintenanceTest, OrphanBlobIsReported) {
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    std::string bytes = Msg("nobody's");
    BlobId id = lmdb::Sha256(bytes);
    Put(txn, db.blobs, lmdb::BlobKey(id), bytes);
  });
  auto p = Problems();
  ASSERT_EQ(p.size(), 1u) << Join(p);
  EXPECT_NE(p[0].find("orphan (no message references it)"), std::string::npos) << p[0];
}

TEST_F(MaintenanceTest, UsageThatDiffersFromTheMailboxesIsReported) {
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    UserRecord u;
    ASSERT_TRUE(lmdb::DecodeUser(Get(txn, db.users, lmdb::U64Key(bob_.id)), &u));
    u.used_bytes += 10;
    Put(txn, db.users, lmdb::U64Key(bob_.id), lmdb::EncodeUser(u));
  });
  auto p = Problems();
  ASSERT_EQ(p.size(), 1u) << Join(p);
  EXPECT_NE(p[0].find("user bob: usage"), std::string::npos) << p[0];
}

TEST_F(MaintenanceTest, WrongRefcountAndChangedBytesAreReported) {
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    MessageRecord shared = Message(txn, db, inbox_, 2);  // also in Archive
    std::string one;
    PutBigEndian64(one, 1);
    Put(txn, db.blob_refs, lmdb::BlobKey(shared.blob), one);
    MessageRecord m = Message(txn, db, inbox_, 3);
    std::string bytes = Get(txn, db.blobs, lmdb::BlobKey(m.blob));
    bytes[bytes.size() - 3] ^= 1;  // same size, other bytes
    Put(txn, db.blobs, lmdb::BlobKey(m.blob), bytes);
  });
  auto p = Problems();
  EXPECT_TRUE(Contains(p, ": refcount 1, referenced by 2 messages")) << Join(p);
  EXPECT_TRUE(Contains(p, ": its bytes do not match its SHA-256")) << Join(p);
  EXPECT_EQ(p.size(), 2u) << Join(p);
}

TEST_F(MaintenanceTest, MailboxMissingFromItsIndexAndUserWithoutInbox) {
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    Del(txn, db.mailboxes, lmdb::UserNameKey(bob_.id, "INBOX"));
    // bob's INBOX row stays: unindexed; and alice's messages of a
    // mailbox that is gone.
    Del(txn, db.mailbox_meta, lmdb::U64Key(archive_));
  });
  auto p = Problems();
  EXPECT_TRUE(Contains(p, "(bob/INBOX): missing from the name index")) << Join(p);
  EXPECT_TRUE(Contains(p, "(bob/INBOX): no name index entry points at it")) << Join(p);
  EXPECT_TRUE(Contains(p, "points at missing mailbox " + std::to_string(archive_))) << Join(p);
  EXPECT_TRUE(
      Contains(p, "mailbox " + std::to_string(archive_) + " uid 1: message of a missing mailbox"))
      << Join(p);
}

// One report lists every problem, not only the first; the Store's own
// check says the same.
TEST_F(MaintenanceTest, EveryProblemIsListedNotOnlyTheFirst) {
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    EditMailbox(txn, db, inbox_, [](lmdb::MailboxRow& r) { r.rec.size += 1; });
    MessageRecord m = Message(txn, db, archive_, 1);
    Del(txn, db.messages, lmdb::MessageKey(archive_, 1));
    (void)m;
    std::string bytes = Msg("orphan");
    Put(txn, db.blobs, lmdb::BlobKey(lmdb::Sha256(bytes)), bytes);
  });
  auto p = Problems();
  EXPECT_TRUE(Contains(p, "(alice/INBOX): size is")) << Join(p);
  EXPECT_TRUE(Contains(p, "(alice/Archive): messages is 1, a recount gives 0")) << Join(p);
  EXPECT_TRUE(Contains(p, "user alice: usage")) << Join(p);
  EXPECT_TRUE(Contains(p, "refcount 2, referenced by 1 messages")) << Join(p);
  EXPECT_TRUE(Contains(p, "orphan (no message references it)")) << Join(p);
  f_.Reopen();
  Status s = f_.store().CheckConsistency();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kCorruption);
  for (const auto& line : p) EXPECT_NE(s.message().find(line), std::string::npos) << line;
}

TEST_F(MaintenanceTest, ReportListsAtMostTheCapAndCountsTheRest) {
  ConsistencyReport r;
  for (std::size_t i = 0; i < ConsistencyReport::kMaxListedProblems + 5; ++i) r.Add("p");
  EXPECT_EQ(r.problems.size(), ConsistencyReport::kMaxListedProblems);
  EXPECT_EQ(r.problems_not_listed, 5u);
  EXPECT_EQ(r.problem_count(), ConsistencyReport::kMaxListedProblems + 5);
}

// --- backup and restore ---------------------------------------------------

TEST_F(MaintenanceTest, BackupRestoresIntoANewDirectoryWithEveryMessage) {
  TempDir out;
  std::string file = out.path() + "/store.pbbackup";
  auto info = BackupStore(dir(), file);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->sha256.size(), 64u);
  EXPECT_EQ(info->file_bytes, std::filesystem::file_size(file));
  EXPECT_FALSE(std::filesystem::exists(file + ".tmp." + std::to_string(getpid())));
  auto checked = CheckBackupFile(file);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(checked->sha256, info->sha256);
  EXPECT_EQ(checked->store_bytes, info->store_bytes);

  TempDir target;
  std::string restored_dir = target.path() + "/store";
  auto restored = RestoreStore(file, restored_dir, /*replace=*/false);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(restored_dir + "/data.mdb.restore"));
  auto report = VerifyStore(restored_dir);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << Join(report->problems);
  EXPECT_EQ(report->messages, 5u);

  ManualExecutor ex;
  StoreOptions options;
  options.dir = restored_dir;
  options.post = ex.Poster();
  options.auth_threads = 1;
  auto store = Store::Open(std::move(options));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto view = (*store)->Read();
  auto alice = view->FindUser("alice");
  ASSERT_TRUE(alice.ok());
  auto inbox = view->FindMailbox(alice->id, "INBOX");
  ASSERT_TRUE(inbox.ok());
  auto msgs = view->ListMessages(inbox->id);
  ASSERT_EQ(msgs.size(), 3u);
  auto bytes = view->Blob(msgs[1].blob);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, Msg("two"));
}

TEST_F(MaintenanceTest, BackupRefusesToWriteIntoTheStoreFolder) {
  std::string before = ReadFile(dir() + "/data.mdb");
  auto info = BackupStore(dir(), dir() + "/data.mdb");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadFile(dir() + "/data.mdb"), before);
  EXPECT_TRUE(Problems().empty());
}

TEST_F(MaintenanceTest, RestoreRefusesAFileWhoseChecksumFails) {
  TempDir out;
  std::string file = out.path() + "/b";
  ASSERT_TRUE(BackupStore(dir(), file).ok());
  std::string bytes = ReadFile(file);
  bytes[bytes.size() / 2] ^= 0x20;
  WriteFile(file, bytes);
  auto checked = CheckBackupFile(file);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), Code::kCorruption);
  EXPECT_NE(checked.status().message().find("checksum does not match"), std::string::npos);
  TempDir target;
  auto restored = RestoreStore(file, target.path() + "/store", false);
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().code(), Code::kCorruption);
  EXPECT_FALSE(std::filesystem::exists(target.path() + "/store/data.mdb"));
  EXPECT_FALSE(std::filesystem::exists(target.path() + "/store/data.mdb.restore"));
}

TEST_F(MaintenanceTest, RestoreRefusesTruncatedAndForeignFiles) {
  TempDir out;
  std::string file = out.path() + "/b";
  ASSERT_TRUE(BackupStore(dir(), file).ok());
  std::string bytes = ReadFile(file);
  WriteFile(file, bytes.substr(0, bytes.size() - 100));
  auto truncated = RestoreStore(file, out.path() + "/t1", false);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("truncated"), std::string::npos);
  // A raw data.mdb is not a backup.
  auto foreign = RestoreStore(dir() + "/data.mdb", out.path() + "/t2", false);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("not a Pillarbox backup"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out.path() + "/t2/data.mdb"));
}

TEST_F(MaintenanceTest, RestoreReplacesAnExistingStoreOnlyWhenAsked) {
  TempDir out;
  std::string file = out.path() + "/b";
  ASSERT_TRUE(BackupStore(dir(), file).ok());
  auto refused = RestoreStore(file, dir(), /*replace=*/false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kExists);
  // Changed after the backup, then put back as it was.
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    EditMailbox(txn, db, inbox_, [](lmdb::MailboxRow& r) { r.rec.messages = 9; });
  });
  ASSERT_FALSE(Problems().empty());
  auto restored = RestoreStore(file, dir(), /*replace=*/true);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_TRUE(Problems().empty());
  f_.Reopen();
  EXPECT_TRUE(f_.store().CheckConsistency().ok());
}

// `init` (and the container's entry point) leaves an empty store: restore
// replaces it without --force.
TEST_F(MaintenanceTest, RestoreReplacesAnEmptyStoreWithoutBeingAsked) {
  TempDir out;
  std::string file = out.path() + "/b";
  ASSERT_TRUE(BackupStore(dir(), file).ok());
  StoreFixture empty;
  std::string target = empty.dir() + "/store";
  empty.Close();
  auto restored = RestoreStore(file, target, /*replace=*/false);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  auto report = VerifyStore(target);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->messages, 5u);
  EXPECT_TRUE(report->ok()) << Join(report->problems);
}

// A process that has the environment open (a server, a CLI command) holds
// LMDB's lock: restore refuses and names it; backup reads beside it.
TEST_F(MaintenanceTest, RestoreRefusesAStoreAnotherProcessHasOpen) {
  TempDir out;
  std::string file = out.path() + "/b";
  ASSERT_TRUE(BackupStore(dir(), file).ok());
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    close(release[1]);
    MDB_env* env = nullptr;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, lmdb::kMaxDbs);
    mdb_env_set_maxreaders(env, lmdb::kMaxReaders);
    int rc = mdb_env_open(env, dir().c_str(), 0, 0600);
    char c = rc == MDB_SUCCESS ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    (void)!read(release[0], &c, 1);  // until the parent closes its end
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto holder = StoreOpenedBy(dir());
  ASSERT_TRUE(holder.ok());
  EXPECT_EQ(*holder, static_cast<std::uint64_t>(child));
  auto refused = RestoreStore(file, dir(), /*replace=*/true);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInUse);
  EXPECT_NE(refused.status().message().find(std::to_string(child)), std::string::npos);
  // Backup and verify work beside it.
  EXPECT_TRUE(BackupStore(dir(), out.path() + "/live").ok());
  EXPECT_TRUE(Problems().empty());
  close(release[1]);
  int status = 0;
  waitpid(child, &status, 0);
  close(ready[0]);
  auto none = StoreOpenedBy(dir());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

// --- stores made by older builds -------------------------------------------

class OldStoreTest : public MaintenanceTest {
 protected:
  // What a build before the sort_keys database (and, with `version_one`,
  // before format version 2) left: the same records without that database.
  void MakeOld(bool version_one) {
    Corrupt([&](MDB_txn* txn, const Dbis& db) {
      ASSERT_EQ(mdb_drop(txn, db.sort_keys, 1), MDB_SUCCESS);
      if (version_one) {
        std::string v;
        PutBigEndian32(v, 1);
        Put(txn, db.meta, "format_version", v);
      }
    });
  }
  bool HasSortKeys(const std::string& store_dir) {
    MDB_env* env = nullptr;
    EXPECT_EQ(mdb_env_create(&env), MDB_SUCCESS);
    mdb_env_set_maxdbs(env, lmdb::kMaxDbs);
    mdb_env_set_maxreaders(env, lmdb::kMaxReaders);
    EXPECT_EQ(mdb_env_open(env, store_dir.c_str(), MDB_RDONLY, 0600), MDB_SUCCESS);
    MDB_txn* txn = nullptr;
    EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), MDB_SUCCESS);
    MDB_dbi dbi;
    bool has = mdb_dbi_open(txn, "sort_keys", 0, &dbi) == MDB_SUCCESS;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return has;
  }
  // Opens the store read-write (as the server does) and closes it.
  Status OpenAndClose(const std::string& store_dir) {
    ManualExecutor ex;
    StoreOptions options;
    options.dir = store_dir;
    options.post = ex.Poster();
    options.auth_threads = 1;
    auto store = Store::Open(std::move(options));
    if (!store.ok()) return store.status();
    auto view = (*store)->Read();
    auto alice = view->FindUser("alice");
    if (!alice.ok()) return alice.status();
    auto inbox = view->FindMailbox(alice->id, "INBOX");
    if (!inbox.ok()) return inbox.status();
    if (view->ListMessages(inbox->id).size() != 3) return Status::Corruption("not 3 messages");
    return Status::Ok();
  }
};

TEST_F(OldStoreTest, StoreWithoutSortKeysVerifiesWithANote) {
  MakeOld(/*version_one=*/false);
  ASSERT_FALSE(HasSortKeys(dir()));
  auto report = VerifyStore(dir());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << Join(report->problems);
  EXPECT_EQ(report->messages, 5u);
  ASSERT_EQ(report->notes.size(), 1u) << Join(report->notes);
  EXPECT_TRUE(Contains(report->notes, "no sort_keys database")) << Join(report->notes);
  // The server adds it; then there is nothing to note.
  ASSERT_TRUE(OpenAndClose(dir()).ok());
  EXPECT_TRUE(HasSortKeys(dir()));
  report = VerifyStore(dir());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << Join(report->problems);
  EXPECT_TRUE(report->notes.empty()) << Join(report->notes);
}

TEST_F(OldStoreTest, StoreWithoutSortKeysIsBackedUpAndRestored) {
  MakeOld(/*version_one=*/false);
  TempDir out;
  std::string file = out.path() + "/old.pbbackup";
  auto info = BackupStore(dir(), file);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->store_format_version, lmdb::kFormatVersion);
  TempDir target;
  std::string restored_dir = target.path() + "/store";
  auto restored = RestoreStore(file, restored_dir, /*replace=*/false);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  auto report = VerifyStore(restored_dir);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << Join(report->problems);
  EXPECT_EQ(report->messages, 5u);
  EXPECT_TRUE(Contains(report->notes, "no sort_keys database")) << Join(report->notes);
  Status opened = OpenAndClose(restored_dir);
  EXPECT_TRUE(opened.ok()) << opened.ToString();
}

TEST_F(OldStoreTest, VersionOneStoreIsCheckedBackedUpAndRestored) {
  MakeOld(/*version_one=*/true);
  auto report = VerifyStore(dir());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << Join(report->problems);
  EXPECT_EQ(report->messages, 5u);
  EXPECT_EQ(report->notes.size(), 2u) << Join(report->notes);
  EXPECT_TRUE(Contains(report->notes, "format version 1")) << Join(report->notes);
  // Still checked: a broken invariant is found in a version-1 store too.
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    EditMailbox(txn, db, inbox_, [](lmdb::MailboxRow& r) { r.rec.uidnext = 2; });
  });
  EXPECT_TRUE(Contains(Problems(), "uid not below uidnext")) << Join(Problems());
  Corrupt([&](MDB_txn* txn, const Dbis& db) {
    EditMailbox(txn, db, inbox_, [](lmdb::MailboxRow& r) { r.rec.uidnext = 4; });
  });
  EXPECT_TRUE(Problems().empty()) << Join(Problems());

  TempDir out;
  std::string file = out.path() + "/v1.pbbackup";
  auto info = BackupStore(dir(), file);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->store_format_version, 1u);
  TempDir target;
  std::string restored_dir = target.path() + "/store";
  ASSERT_TRUE(RestoreStore(file, restored_dir, /*replace=*/false).ok());
  Status opened = OpenAndClose(restored_dir);
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  report = VerifyStore(restored_dir);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << Join(report->problems);
  EXPECT_TRUE(report->notes.empty()) << Join(report->notes);
}

TEST_F(OldStoreTest, AStoreWithoutAnotherDatabaseIsStillIncomplete) {
  Corrupt([&](MDB_txn* txn, const Dbis& db) { ASSERT_EQ(mdb_drop(txn, db.changes, 1), 0); });
  auto report = VerifyStore(dir());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kCorruption);
  EXPECT_NE(report.status().message().find("changes"), std::string::npos);
}

}  // namespace
}  // namespace pillarbox::storage
