// The password-checking pool: unknown users cost a hash too, clients are
// served in turn, and one client address gets a few checks at most.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/fair_queue.h"
#include "storage/store.h"
#include "tests/support/test_support.h"

namespace pillarbox::storage {
namespace {

using pillarbox::testing::StoreFixture;

// Records the checks; holds them while `hold` is set.
struct Verifier {
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false;
  std::vector<std::pair<std::string, std::string>> calls;  // password, hash

  bool Verify(std::string_view password, std::string_view hash) {
    std::unique_lock lock(mu);
    calls.emplace_back(password, hash);
    cv.notify_all();
    cv.wait(lock, [&] { return !hold; });
    return VerifyPassword(password, hash);
  }
  std::size_t Count() {
    std::lock_guard lock(mu);
    return calls.size();
  }
  void WaitForCalls(std::size_t n) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return calls.size() >= n; });
  }
  void Release() {
    std::lock_guard lock(mu);
    hold = false;
    cv.notify_all();
  }
};

class AuthPoolTest : public ::testing::Test {
 protected:
  AuthPoolTest()
      : fx_([this](StoreOptions& o) {
          o.auth_threads = 1;
          o.auth_jobs_per_client = 3;
          o.verify_password = [this](std::string_view p, std::string_view h) {
            return verifier_.Verify(p, h);
          };
        }) {
    fx_.AddUser("dave", "right");
  }

  // Starts a check; its result lands in *out.
  void Start(const std::string& user, const std::string& password, const std::string& client,
             std::optional<Result<UserRecord>>* out) {
    fx_.store().Authenticate(user, password, client,
                             [out](Result<UserRecord> r) { out->emplace(std::move(r)); });
  }

  Verifier verifier_;
  StoreFixture fx_;
};

TEST_F(AuthPoolTest, UnknownUserIsVerifiedAgainstADummyHash) {
  std::optional<Result<UserRecord>> unknown, wrong, right;
  Start("nobody", "right", "192.0.2.1", &unknown);
  fx_.RunUntil([&] { return unknown.has_value(); });
  EXPECT_EQ(unknown->status().code(), Code::kNoPermission);
  ASSERT_EQ(verifier_.Count(), 1u);
  EXPECT_EQ(verifier_.calls[0].second, DummyPasswordHash());
  EXPECT_TRUE(verifier_.calls[0].second.starts_with("$y$"));  // the default scheme

  Start("dave", "wrong", "192.0.2.1", &wrong);
  fx_.RunUntil([&] { return wrong.has_value(); });
  EXPECT_EQ(wrong->status().code(), Code::kNoPermission);
  Start("dave", "right", "192.0.2.1", &right);
  fx_.RunUntil([&] { return right.has_value(); });
  EXPECT_TRUE(right->ok());
  ASSERT_EQ(verifier_.Count(), 3u);
  EXPECT_NE(verifier_.calls[1].second, DummyPasswordHash());
}

// Regression: 400 connections spraying logins from one place delayed real
// logins by seconds.
TEST_F(AuthPoolTest, OneClientGetsAFewChecksAndOthersGoFirst) {
  verifier_.hold = true;
  std::vector<std::optional<Result<UserRecord>>> spray(6);
  for (int i = 0; i < 6; ++i) {
    Start("dave", "spray" + std::to_string(i), "198.51.100.9", &spray[i]);
    if (i == 0) verifier_.WaitForCalls(1);  // the first is running, held
  }
  // Three allowed (one running, two queued); the rest fail without a hash.
  fx_.RunUntil([&] { return spray[3] && spray[4] && spray[5]; });
  for (int i = 3; i < 6; ++i) EXPECT_EQ(spray[i]->status().code(), Code::kNoPermission);
  EXPECT_FALSE(spray[1] || spray[2]);
  std::optional<Result<UserRecord>> real;
  Start("dave", "right", "192.0.2.1", &real);
  verifier_.Release();
  fx_.RunUntil([&] { return real && spray[1] && spray[2]; });
  EXPECT_TRUE(real->ok());
  std::vector<std::string> order;
  for (const auto& [password, hash] : verifier_.calls) order.push_back(password);
  // The real login was queued last but goes right after the running check.
  EXPECT_EQ(order, (std::vector<std::string>{"spray0", "right", "spray1", "spray2"}));
  // Finished checks free the client's slots.
  std::optional<Result<UserRecord>> again;
  Start("dave", "right", "198.51.100.9", &again);
  fx_.RunUntil([&] { return again.has_value(); });
  EXPECT_TRUE(again->ok());
}

TEST(FairQueueTest, TakesClientsInTurn) {
  FairQueue q(10);
  std::vector<std::string> ran;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(q.Push("a", [&ran, i] { ran.push_back("a" + std::to_string(i)); }));
  }
  EXPECT_TRUE(q.Push("b", [&ran] { ran.push_back("b0"); }));
  EXPECT_TRUE(q.Push("c", [&ran] { ran.push_back("c0"); }));
  EXPECT_TRUE(q.Push("b", [&ran] { ran.push_back("b1"); }));
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(q.RunOne());
  EXPECT_EQ(ran, (std::vector<std::string>{"a0", "b0", "c0", "a1", "b1", "a2"}));
  q.Stop();
  EXPECT_FALSE(q.RunOne());
  EXPECT_FALSE(q.Push("a", [] {}));
}

TEST(FairQueueTest, PerClientLimit) {
  FairQueue q(2);
  EXPECT_TRUE(q.Push("a", [] {}));
  EXPECT_TRUE(q.Push("a", [] {}));
  EXPECT_FALSE(q.Push("a", [] {}));
  EXPECT_TRUE(q.Push("b", [] {}));
  EXPECT_TRUE(q.RunOne());
  EXPECT_TRUE(q.Push("a", [] {}));
}

TEST(FairQueueTest, ClientKeys) {
  EXPECT_EQ(AuthClientKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AuthClientKey("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AuthClientKey("2001:db8:1:2:3:4:5:6"), AuthClientKey("2001:db8:1:2::9"));
  EXPECT_NE(AuthClientKey("2001:db8:1:2::9"), AuthClientKey("2001:db8:1:3::9"));
  EXPECT_EQ(AuthClientKey("unix"), "unix");
}

}  // namespace
}  // namespace pillarbox::storage
