// services::Import and services::Export against a store in a temporary
// directory: a Dovecot-style Maildir (uidlist, keywords, a new/ file the
// list does not know yet), an mbox with an oversized message, reruns, and
// the Maildir round trip.
#include "services/transfer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>

#include "storage/uidl.h"
#include "tests/support/test_support.h"

namespace pillarbox::services {
namespace {

namespace fs = std::filesystem;
using pillarbox::testing::StoreFixture;
using pillarbox::testing::TempDir;

void Write(const fs::path& p, const std::string& text, long mtime = 0) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
  if (mtime) {
    struct utimbuf t {
      mtime, mtime
    };
    ::utime(p.c_str(), &t);
  }
}

class TransferTest : public ::testing::Test {
 protected:
  StoreFixture f_;
  TempDir tmp_;
  storage::UserRecord alice_ = f_.AddUser("alice", "pw");

  ImportOptions Options(const std::string& path) {
    ImportOptions o;
    o.user = "alice";
    o.path = path;
    o.wait = [this](const std::function<bool()>& done) { f_.RunUntil(done); };
    return o;
  }
  std::vector<storage::MessageRecord> Messages(const std::string& box) {
    auto view = f_.store().Read();
    auto mb = view->FindMailbox(alice_.id, box);
    EXPECT_TRUE(mb.ok()) << box;
    return mb.ok() ? view->ListMessages(mb->id) : std::vector<storage::MessageRecord>{};
  }
  storage::MailboxRecord Box(const std::string& box) {
    return *f_.store().Read()->FindMailbox(alice_.id, box);
  }
};

TEST_F(TransferTest, DovecotMaildirKeepsUidsKeywordsDatesAndUidls) {
  fs::path md = tmp_.path() + "/Maildir";
  Write(md / "dovecot-uidlist", "3 V1600000000 N9 Gabc\n2 :a.host,S=20\n5 P0000custom :b.host\n");
  Write(md / "dovecot-keywords", "0 $Label1\n1 Work\n");
  Write(md / "cur/a.host,S=20:2,FSb", "Subject: a\n\nbody a\n", 1500000000);
  Write(md / "cur/b.host:2,RPa", "Subject: b\n\nbody b\n", 1500000001);
  Write(md / "new/c.host", "Subject: c\n\nbody c\n", 1500000002);
  Write(md / ".Sent Items/cur/d.host:2,S", "Subject: d\n\nsent\n", 1500000003);
  Write(md / ".Work.Sub/cur/e.host:2,", "Subject: e\n\nwork\n", 1500000004);
  TransferReport r;
  ASSERT_TRUE(Import(f_.store(), Options(md.string()), &r).ok());
  EXPECT_TRUE(r.failed.empty()) << r.failed.front();
  EXPECT_EQ(r.messages, 5u);
  auto inbox = Messages("INBOX");
  ASSERT_EQ(inbox.size(), 3u);
  EXPECT_EQ(inbox[0].uid, 2u);
  EXPECT_EQ(inbox[0].flags.system, storage::kFlagFlagged | storage::kFlagSeen);
  EXPECT_EQ(inbox[0].flags.keywords, std::vector<std::string>{"Work"});
  EXPECT_EQ(inbox[0].internal_date, 1500000000);
  EXPECT_EQ(storage::MessageUidl(inbox[0]), "000000025f5e1000");
  EXPECT_EQ(inbox[1].uid, 5u);
  EXPECT_EQ(inbox[1].flags.keywords, (std::vector<std::string>{"$Forwarded", "$Label1"}));
  EXPECT_EQ(storage::MessageUidl(inbox[1]), "0000custom");
  // Not in the list yet: the UID Dovecot would give it next.
  EXPECT_EQ(inbox[2].uid, 9u);
  EXPECT_EQ(Box("INBOX").uidvalidity, 1600000000u);
  EXPECT_EQ(Box("INBOX").uidnext, 10u);
  // "Sent Items" went to the store's \Sent mailbox.
  EXPECT_EQ(Messages("Sent").size(), 1u);
  EXPECT_EQ(Messages("Work/Sub").size(), 1u);
  // A rerun stores nothing again.
  TransferReport again;
  ASSERT_TRUE(Import(f_.store(), Options(md.string()), &again).ok());
  EXPECT_EQ(again.messages, 0u);
  EXPECT_EQ(again.skipped, 5u);
  EXPECT_TRUE(f_.store().CheckConsistency().ok());

  // Export as a Maildir and import it for another user: the same.
  fs::path out = tmp_.path() + "/out";
  ExportOptions eo;
  eo.user = "alice";
  eo.dir = out.string();
  TransferReport er;
  ASSERT_TRUE(Export(f_.store(), eo, &er).ok());
  EXPECT_TRUE(fs::exists(out / "dovecot-uidlist"));
  EXPECT_TRUE(fs::exists(out / ".Work.Sub/maildirfolder"));
  f_.AddUser("bob", "pw");
  ImportOptions o = Options(out.string());
  o.user = "bob";
  TransferReport br;
  ASSERT_TRUE(Import(f_.store(), o, &br).ok());
  auto view = f_.store().Read();
  auto bob = *view->FindUser("bob");
  auto bob_inbox = view->ListMessages(view->FindMailbox(bob.id, "INBOX")->id);
  ASSERT_EQ(bob_inbox.size(), inbox.size());
  for (std::size_t i = 0; i < inbox.size(); ++i) {
    EXPECT_EQ(bob_inbox[i].uid, inbox[i].uid);
    EXPECT_EQ(bob_inbox[i].flags, inbox[i].flags);
    EXPECT_EQ(bob_inbox[i].internal_date, inbox[i].internal_date);
    EXPECT_EQ(bob_inbox[i].blob, inbox[i].blob);
    EXPECT_EQ(storage::MessageUidl(bob_inbox[i]), storage::MessageUidl(inbox[i]));
  }
  EXPECT_EQ(view->FindMailbox(bob.id, "INBOX")->uidvalidity, 1600000000u);
}

TEST_F(TransferTest, SentAndSentItemsStayTwoMailboxes) {
  // A source with both a "Sent" and a "Sent Items": each keeps its own
  // mailbox (and its UIDs); only a lone "Sent Items" goes into "Sent".
  fs::path md = tmp_.path() + "/Maildir";
  Write(md / "cur/a.host:2,S", "Subject: a\n\nin\n", 1500000000);
  Write(md / ".Sent/dovecot-uidlist", "3 V1600000001 N3 Gabc\n2 :s.host\n");
  Write(md / ".Sent/cur/s.host:2,S", "Subject: s\n\nsent\n", 1500000001);
  Write(md / ".Sent Items/dovecot-uidlist", "3 V1600000002 N8 Gdef\n7 :t.host\n");
  Write(md / ".Sent Items/cur/t.host:2,S", "Subject: t\n\nsent items\n", 1500000002);
  TransferReport r;
  ASSERT_TRUE(Import(f_.store(), Options(md.string()), &r).ok());
  EXPECT_TRUE(r.failed.empty());
  auto sent = Messages("Sent");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].uid, 2u);
  EXPECT_EQ(Box("Sent").uidvalidity, 1600000001u);
  EXPECT_EQ(Box("Sent").special_use, storage::SpecialUse::kSent);
  auto items = Messages("Sent Items");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].uid, 7u);
  EXPECT_EQ(Box("Sent Items").uidvalidity, 1600000002u);
  EXPECT_EQ(Box("Sent Items").uidnext, 8u);
  EXPECT_EQ(Box("Sent Items").special_use, storage::SpecialUse::kNone);
}

TEST_F(TransferTest, KeptUidsStartAboveTheSourcesModseqs) {
  // Dovecot's HIGHESTMODSEQ is not in the Maildir: a mailbox whose UIDs are
  // kept starts far above any, so it never goes back for a CONDSTORE client.
  fs::path md = tmp_.path() + "/Maildir";
  Write(md / "dovecot-uidlist", "3 V1600000000 N4 Gabc\n3 :a.host\n");
  Write(md / "cur/a.host:2,S", "Subject: a\n\nbody a\n", 1500000000);
  Write(md / "cur/b.host:2,", "Subject: b\n\nbody b\n", 1500000001);
  TransferReport r;
  ASSERT_TRUE(Import(f_.store(), Options(md.string()), &r).ok());
  auto inbox = Messages("INBOX");
  ASSERT_EQ(inbox.size(), 2u);
  EXPECT_GT(inbox[0].modseq, 1000000000u);
  EXPECT_GT(inbox[1].modseq, inbox[0].modseq);
  EXPECT_EQ(Box("INBOX").highest_modseq, inbox[1].modseq);
  // A rerun leaves it alone.
  TransferReport again;
  ASSERT_TRUE(Import(f_.store(), Options(md.string()), &again).ok());
  EXPECT_EQ(Box("INBOX").highest_modseq, inbox[1].modseq);
  EXPECT_TRUE(f_.store().CheckConsistency().ok());
}

TEST_F(TransferTest, MboxWithAnOversizedMessageAndDryRun) {
  fs::path mbox = tmp_.path() + "/in.mbox";
  Write(mbox,
        "From a Thu Nov 26 10:00:00 2026\nStatus: RO\nX-Keywords: Work\nSubject: 1\n\none\n\n"
        "From b Thu Nov 26 10:00:01 2026\nSubject: 2\n\n" +
            std::string(3000, 'x') +
            "\n\nFrom c Thu Nov 26 10:00:02 2026\nSubject: 3\n\n>From three\n");
  ImportOptions o = Options(mbox.string());
  o.max_message_size = 1000;
  o.mailbox = "Old";
  o.dry_run = true;
  TransferReport dry;
  ASSERT_TRUE(Import(f_.store(), o, &dry).ok());
  EXPECT_EQ(dry.messages, 2u);
  EXPECT_FALSE(f_.store().Read()->FindMailbox(alice_.id, "Old").ok());
  o.dry_run = false;
  TransferReport r;
  ASSERT_TRUE(Import(f_.store(), o, &r).ok());
  EXPECT_EQ(r.messages, 2u);
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_NE(r.failed[0].find("in.mbox:"), std::string::npos);
  EXPECT_NE(r.failed[0].find("max_message_size"), std::string::npos);
  auto msgs = Messages("Old");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].flags.system, storage::kFlagSeen);
  EXPECT_EQ(msgs[0].flags.keywords, std::vector<std::string>{"Work"});
  EXPECT_EQ(msgs[0].internal_date, 1795687200);
  EXPECT_EQ(*f_.store().Read()->Blob(msgs[1].blob), "Subject: 3\r\n\r\nFrom three\r\n");
  TransferReport again;
  ASSERT_TRUE(Import(f_.store(), o, &again).ok());
  EXPECT_EQ(again.messages, 0u);
  EXPECT_EQ(again.skipped, 2u);
}

TEST_F(TransferTest, LayoutFsFoldersAndAFolderOfMboxFiles) {
  fs::path md = tmp_.path() + "/fs";
  Write(md / "cur/a:2,S", "Subject: a\n\nx\n", 1500000000);
  Write(md / "Lists/cur/b:2,", "Subject: b\n\nx\n", 1500000001);
  Write(md / "Lists/Rust/new/c", "Subject: c\n\nx\n", 1500000002);
  TransferReport r;
  ASSERT_TRUE(Import(f_.store(), Options(md.string()), &r).ok());
  EXPECT_EQ(Messages("INBOX").size(), 1u);
  EXPECT_EQ(Messages("Lists").size(), 1u);
  EXPECT_EQ(Messages("Lists/Rust").size(), 1u);
  // No uidlist: new UIDs, the UIDL made from the guid, dates from the files.
  EXPECT_EQ(Messages("Lists/Rust")[0].internal_date, 1500000002);
  EXPECT_EQ(Messages("Lists/Rust")[0].pop3_uidl, "");

  fs::path folder = tmp_.path() + "/mboxes";
  Write(folder / "inbox", "From a Thu Nov 26 10:00:00 2026\nSubject: 1\n\none\n");
  Write(folder / "Archive/2020.mbox", "From a Thu Nov 26 10:00:00 2020\nSubject: 2\n\ntwo\n");
  Write(folder / "Archive/2020.msf", "index of a mail program");
  TransferReport m;
  ASSERT_TRUE(Import(f_.store(), Options(folder.string()), &m).ok());
  EXPECT_EQ(m.messages, 2u);
  EXPECT_EQ(Messages("INBOX").size(), 2u);
  EXPECT_EQ(Messages("Archive/2020").size(), 1u);
}

TEST_F(TransferTest, UnknownUserAndMissingPath) {
  ImportOptions o = Options(tmp_.path());
  o.user = "nobody";
  TransferReport r;
  EXPECT_EQ(Import(f_.store(), o, &r).code(), Code::kNoSuchUser);
  o = Options(tmp_.path() + "/missing");
  EXPECT_EQ(Import(f_.store(), o, &r).code(), Code::kBadInput);
  o = Options(tmp_.path());
  o.pop3_uidl_format = "%m";
  EXPECT_EQ(Import(f_.store(), o, &r).code(), Code::kBadInput);
}

}  // namespace
}  // namespace pillarbox::services
