// Store::AppendMany: a set of messages in one transaction (IMAP
// MULTIAPPEND), all stored or none.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace pillarbox::storage {
namespace {

using pillarbox::testing::StoreFixture;

AppendRequest Request(UserId user, const std::string& mailbox, const std::string& bytes) {
  AppendRequest r;
  r.user = user;
  r.mailbox = mailbox;
  r.bytes = std::make_shared<const std::string>(bytes);
  r.origin.protocol = "imap";
  r.origin.session = 7;
  return r;
}

Result<std::vector<AppendResult>> AppendAll(StoreFixture& fx, std::vector<AppendRequest> reqs) {
  return fx.Wait<std::vector<AppendResult>>(
      [&](Callback<std::vector<AppendResult>> cb) { fx.store().AppendMany(std::move(reqs), cb); });
}

TEST(AppendMany, StoresAllInOrder) {
  StoreFixture fx;
  UserRecord u = fx.AddUser("joe", "{PLAIN}x");
  std::vector<AppendRequest> reqs;
  reqs.push_back(Request(u.id, "INBOX", "Subject: 1\r\n\r\na\r\n"));
  reqs.push_back(Request(u.id, "INBOX", "Subject: 2\n\nb\n"));        // normalized
  reqs.push_back(Request(u.id, "INBOX", "Subject: 1\r\n\r\na\r\n"));  // same bytes again
  auto r = AppendAll(fx, std::move(reqs));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ((*r)[i].uid, i + 1);
  auto view = fx.store().Read();
  auto msg = view->GetMessage((*r)[1].mailbox, 2);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(*view->Blob(msg->blob), "Subject: 2\r\n\r\nb\r\n");
  view.reset();
  EXPECT_TRUE(fx.store().CheckConsistency().ok());
}

TEST(AppendMany, KeepBytesStoresAsGiven) {
  StoreFixture fx;
  UserRecord u = fx.AddUser("joe", "{PLAIN}x");
  std::vector<AppendRequest> reqs;
  reqs.push_back(Request(u.id, "INBOX", std::string("A: b\n\n\0\r", 8)));
  reqs.back().keep_bytes = true;
  auto r = AppendAll(fx, std::move(reqs));
  ASSERT_TRUE(r.ok());
  auto view = fx.store().Read();
  auto msg = view->GetMessage((*r)[0].mailbox, (*r)[0].uid);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(*view->Blob(msg->blob), std::string("A: b\n\n\0\r", 8));
}

// Regression guard for MULTIAPPEND's atomicity: the quota and a missing
// mailbox fail the whole set, and nothing of it stays.
TEST(AppendMany, AllOrNothing) {
  StoreFixture fx;
  UserRecord u = fx.AddUser("joe", "{PLAIN}x");
  const std::string m = "Subject: q\r\n\r\nbody\r\n";
  ASSERT_TRUE(fx.WaitStatus([&](StatusCallback cb) { fx.store().SetQuota("joe", 0, 2, cb); }).ok());
  std::vector<AppendRequest> reqs;
  for (int i = 0; i < 3; ++i) reqs.push_back(Request(u.id, "INBOX", m));
  auto r = AppendAll(fx, std::move(reqs));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOverQuota);
  std::vector<AppendRequest> missing;
  missing.push_back(Request(u.id, "INBOX", m));
  missing.push_back(Request(u.id, "Nope", m));
  r = AppendAll(fx, std::move(missing));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  {
    auto view = fx.store().Read();
    auto inbox = view->FindMailbox(u.id, "INBOX");
    ASSERT_TRUE(inbox.ok());
    EXPECT_EQ(inbox->messages, 0u);
    EXPECT_EQ(inbox->uidnext, 1u);
  }
  EXPECT_TRUE(fx.store().CheckConsistency().ok());
  // Two fit.
  std::vector<AppendRequest> two;
  for (int i = 0; i < 2; ++i) two.push_back(Request(u.id, "INBOX", m));
  EXPECT_TRUE(AppendAll(fx, std::move(two)).ok());
  // An empty set or a request without bytes is refused.
  EXPECT_EQ(AppendAll(fx, {}).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace pillarbox::storage
