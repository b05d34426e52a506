// protocols::BindSession: what comes back later finds its session by id and
// is dropped (or handed to `gone`) once the session is gone.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocols/session.h"

namespace pillarbox::protocols {
namespace {

class CountingSession : public Session {
 public:
  void Start() override {}
  void OnInput(std::string_view) override {}
  void OnIdleTimeout() override {}
  void OnShutdown() override {}
  void OnClosed() override {}
  std::chrono::seconds IdleTimeout() const override { return std::chrono::seconds(1); }
  bool Authenticated() const override { return false; }
  std::uint64_t id() const override { return 0; }

  std::vector<int> got;
};

TEST(BindSessionTest, RunsOnlyWhileTheSessionIsRegistered) {
  SessionRegistry registry;
  CountingSession session;
  std::uint64_t id = registry.Add(&session);
  std::vector<std::string> gone;
  auto bound = BindSession<CountingSession>(
      &registry, id, [](CountingSession& s, int v) { s.got.push_back(v); },
      [&](int v) { gone.push_back("gone " + std::to_string(v)); });
  bound(1);
  EXPECT_EQ(session.got, std::vector<int>{1});
  EXPECT_TRUE(gone.empty());
  registry.Remove(id);
  bound(2);
  EXPECT_EQ(session.got, std::vector<int>{1});
  EXPECT_EQ(gone, std::vector<std::string>{"gone 2"});
}

TEST(BindSessionTest, AStaleIdIsDroppedWithoutGone) {
  SessionRegistry registry;
  CountingSession first;
  std::uint64_t id = registry.Add(&first);
  auto bound =
      BindSession<CountingSession>(&registry, id, [](CountingSession& s) { s.got.push_back(7); });
  registry.Remove(id);
  CountingSession second;
  EXPECT_NE(registry.Add(&second), id);  // ids are not reused
  bound();
  EXPECT_TRUE(first.got.empty());
  EXPECT_TRUE(second.got.empty());
}

}  // namespace
}  // namespace pillarbox::protocols
