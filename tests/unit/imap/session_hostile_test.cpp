// Commands that could hold the loop: SEARCH over one huge message yields
// between slices and stops at its work cap; LIST refuses huge patterns.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "protocols/imap/imap_session.h"
#include "protocols/imap/mailbox_pattern.h"
#include "tests/support/test_support.h"

namespace pillarbox::imap {
namespace {

using pillarbox::testing::FakeOutput;
using pillarbox::testing::FakeTimers;
using pillarbox::testing::StoreFixture;

class HostileSessionTest : public ::testing::Test {
 protected:
  HostileSessionTest() : throttle_(config_.auth) {
    ctx_.store = &fx_.store();
    ctx_.config = &config_;
    ctx_.registry = &registry_;
    ctx_.throttle = &throttle_;
    // Counts the yields to the loop (zero-delay continuations).
    ctx_.timer = [this, fn = timers_.Fn()](std::chrono::milliseconds delay,
                                           std::function<void()> cb) {
      if (delay.count() == 0) ++yields_;
      fn(delay, std::move(cb));
    };
    auto user = fx_.Wait<storage::UserRecord>([&](storage::Callback<storage::UserRecord> cb) {
      fx_.store().CreateUser("joe", "{PLAIN}secret", cb);
    });
    EXPECT_TRUE(user.ok());
    if (user.ok()) user_ = *user;
  }

  void Connect() {
    info_.peer_ip = "127.0.0.1";
    info_.loopback = true;
    session_ = MakeSession(ctx_, info_, out_);  // keeps a reference to info_
    session_->Start();
    Run("L LOGIN joe secret\r\n", "L");
  }

  bool Tagged(const std::string& tag) const {
    const std::string& w = out_.written();
    return w.starts_with(tag + " ") || w.find("\r\n" + tag + " ") != std::string::npos;
  }

  std::string Run(const std::string& input, const std::string& tag) {
    session_->OnInput(input);
    fx_.RunUntil([&] {
      timers_.Advance(std::chrono::milliseconds(0));
      return Tagged(tag);
    });
    return out_.Take();
  }

  // Sends `input`: the command must return to the loop with work pending
  // (no tagged answer, a continuation scheduled). Then runs the
  // continuations; returns the answer and the yields it took.
  std::pair<std::string, int> RunInRounds(const std::string& input, const std::string& tag) {
    yields_ = 0;
    session_->OnInput(input);
    fx_.RunPending();
    EXPECT_FALSE(Tagged(tag)) << "finished without yielding";
    EXPECT_GT(timers_.pending(), 0u) << "no continuation scheduled";
    for (int i = 0; i < 100 && !Tagged(tag); ++i) {
      timers_.Advance(std::chrono::milliseconds(0));
      fx_.RunPending();
    }
    return {out_.Take(), yields_};
  }

  void Deliver(const std::string& bytes) {
    fx_.Deliver(user_.id, bytes);
    fx_.RunPending();
  }

  StoreFixture fx_;
  config::Config config_;
  protocols::SessionRegistry registry_;
  protocols::AuthThrottle throttle_;
  FakeTimers timers_;
  protocols::SessionContext ctx_;
  storage::UserRecord user_;
  protocols::ConnectionInfo info_;
  FakeOutput out_;
  int yields_ = 0;
  std::unique_ptr<protocols::Session> session_;
};

std::string BigMessage(std::size_t body_bytes, const std::string& tail) {
  std::string m = "From: a@example.com\r\nSubject: big\r\n\r\n";
  const std::string line = "abcdefghij klmnopqrst uvwxyz 0123456789 abcdefghij klmnopqrst uv\r\n";
  while (m.size() < body_bytes) m += line;
  return m + tail;
}

// Regression: one 48 MB message froze every session for the whole scan.
TEST_F(HostileSessionTest, BodySearchYieldsInsideOneLargeMessage) {
  Deliver(BigMessage(3u << 20, "The NEEDLE is here\r\n"));
  Connect();
  Run("a SELECT INBOX\r\n", "a");
  auto [got, rounds] = RunInRounds("b SEARCH BODY needle\r\n", "b");
  EXPECT_EQ(got, "* SEARCH 1\r\nb OK Search completed.\r\n");
  // 3 MiB of text at kSearchSliceWorkBytes per slice.
  EXPECT_GE(rounds, 3);
  auto [none, rounds2] = RunInRounds("c SEARCH TEXT absent\r\n", "c");
  EXPECT_EQ(none, "* SEARCH\r\nc OK Search completed.\r\n");
  EXPECT_GE(rounds2, 3);
  // Other commands wait their turn, then run.
  auto [both, rounds3] = RunInRounds("d SEARCH BODY needle\r\ne NOOP\r\n", "e");
  EXPECT_EQ(both, "* SEARCH 1\r\nd OK Search completed.\r\ne OK NOOP completed.\r\n");
  EXPECT_GE(rounds3, 3);
}

TEST_F(HostileSessionTest, SearchOverItsWorkCapFailsWithLimit) {
  config_.limits.max_search_work = 1u << 20;
  Deliver(BigMessage(3u << 20, "end\r\n"));
  Connect();
  Run("a SELECT INBOX\r\n", "a");
  auto [got, rounds] = RunInRounds("b SEARCH BODY nothing-like-this\r\n", "b");
  EXPECT_EQ(got,
            "b NO [LIMIT] Search too costly: use fewer or shorter search strings, or narrow it "
            "with other keys.\r\n");
  EXPECT_EQ(Run("c SEARCH SUBJECT big\r\n", "c"), "* SEARCH 1\r\nc OK Search completed.\r\n");
  // Settings are resolved at login: the next session gets the larger cap.
  config_.limits.max_search_work = 64u << 20;
  Connect();
  Run("a SELECT INBOX\r\n", "a");
  EXPECT_EQ(RunInRounds("d SEARCH BODY end\r\n", "d").first,
            "* SEARCH 1\r\nd OK Search completed.\r\n");
}

TEST_F(HostileSessionTest, ListPatternTooLong) {
  Connect();
  std::string pattern(kMaxListPatternBytes + 1, 'a');
  EXPECT_EQ(
      Run("a LIST \"\" {" + std::to_string(pattern.size()) + "+}\r\n" + pattern + "\r\n", "a"),
      "a NO [LIMIT] Mailbox pattern too long (at most 2048 bytes).\r\n");
  // The reference counts too.
  std::string half(kMaxListPatternBytes / 2 + 1, 'b');
  EXPECT_EQ(Run("b LIST {" + std::to_string(half.size()) + "+}\r\n" + half + " {" +
                    std::to_string(half.size()) + "+}\r\n" + half + "\r\n",
                "b"),
            "b NO [LIMIT] Mailbox pattern too long (at most 2048 bytes).\r\n");
  std::string ok(kMaxListPatternBytes, '*');
  EXPECT_EQ(
      Run("c LIST \"\" {" + std::to_string(ok.size()) + "+}\r\n" + ok + "\r\n", "c").substr(0, 7),
      "* LIST ");
}

// Many long names against a hostile pattern: answered, and correctly.
TEST_F(HostileSessionTest, ListHostilePatternOverLongNames) {
  Connect();
  for (int i = 0; i < 20; ++i) {
    std::string name = std::string(900, 'a') + "/" + std::to_string(i);
    Run("c CREATE \"" + name + "\"\r\n", "c");
  }
  std::string pattern;
  while (pattern.size() + 2 <= 1000) pattern += "*a";
  pattern += "%b";  // never matches: no "b" in any name
  EXPECT_EQ(
      Run("l LIST \"\" {" + std::to_string(pattern.size()) + "+}\r\n" + pattern + "\r\n", "l"),
      "l OK List completed.\r\n");
  std::string expected;
  for (const char* n : {"1", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19"}) {
    expected += "* LIST (\\HasNoChildren) \"/\" " +
                ImapSession::EncodeMailboxName(std::string(900, 'a') + "/" + n) + "\r\n";
  }
  EXPECT_EQ(Run("m LIST \"\" \"*a/1%\"\r\n", "m"), expected + "m OK List completed.\r\n");
}

}  // namespace
}  // namespace pillarbox::imap
