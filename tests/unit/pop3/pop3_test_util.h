// A POP3 session wired to a store in a temp directory, fake output and fake
// timers, for transcript tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "protocols/pop3/pop3_session.h"
#include "protocols/session.h"
#include "storage/store.h"
#include "tests/support/test_support.h"

namespace pillarbox::pop3::testing {

using pillarbox::testing::FakeOutput;
using pillarbox::testing::FakeTimers;
using pillarbox::testing::StoreFixture;

struct Client {
  FakeOutput out;
  protocols::ConnectionInfo info;
  std::unique_ptr<Pop3Session> session;
};

class Pop3Test : public ::testing::Test {
 protected:
  Pop3Test() : throttle_(config_.auth) {
    info_.peer_ip = "127.0.0.1";
    info_.peer_port = 40000;
    info_.loopback = true;
    ctx_.store = &fx_.store();
    ctx_.config = &config_;
    ctx_.registry = &registry_;
    ctx_.throttle = &throttle_;
    ctx_.timer = timers_.Fn();
    alice_ = AddUser("alice", "secret");
  }

  // A user with a cheap {PLAIN} hash, so that logins in loops stay fast.
  storage::UserRecord AddUser(const std::string& name, const std::string& password) {
    auto r = fx_.Wait<storage::UserRecord>([&](storage::Callback<storage::UserRecord> cb) {
      fx_.store().CreateUser(name, "{PLAIN}" + password, cb);
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : storage::UserRecord{};
  }

  void SetSetting(const std::string& user, const std::string& key, const std::string& value) {
    Status s = fx_.WaitStatus(
        [&](storage::StatusCallback cb) { fx_.store().SetUserSetting(user, key, value, cb); });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  storage::AppendResult Deliver(const std::string& bytes, const std::string& mailbox = "INBOX") {
    return fx_.Deliver(alice_.id, bytes, mailbox);
  }

  // Submits in batches: one group commit per batch instead of one fsync
  // per message (and each batch well inside RunUntil's time limit, even
  // under sanitizers).
  void DeliverMany(const std::vector<std::string>& messages) {
    constexpr std::size_t kBatch = 250;
    std::size_t done = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      storage::AppendRequest req;
      req.user = alice_.id;
      req.bytes = std::make_shared<const std::string>(messages[i]);
      req.origin.protocol = "test";
      fx_.store().Append(std::move(req), [&done](Result<storage::AppendResult> r) {
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        ++done;
      });
      if ((i + 1) % kBatch == 0 || i + 1 == messages.size()) {
        fx_.RunUntil([&] { return done == i + 1; });
      }
    }
  }

  // Connects and takes the greeting.
  std::unique_ptr<Client> Connect() {
    auto c = std::make_unique<Client>();
    c->info = info_;
    c->session = std::make_unique<Pop3Session>(ctx_, c->info, c->out);
    c->session->Start();
    EXPECT_EQ(c->out.Take(), "+OK Pillarbox ready.\r\n");
    return c;
  }

  // Runs store completions (and, unless told otherwise, due timers) until
  // the session waits for nothing.
  void Settle(Client& c, bool fire_timers = true) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      fx_.RunPending();
      if (fire_timers && timers_.pending() > 0) {
        timers_.Advance(std::chrono::minutes(1));
        continue;
      }
      if (!c.session->WaitingForStore()) break;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "session still busy";
        return;
      }
      fx_.executor().WaitAndRun(20);
    }
  }

  // Feeds `input` whole and returns everything the session wrote.
  std::string Send(Client& c, std::string_view input, bool fire_timers = true) {
    c.session->OnInput(input);
    Settle(c, fire_timers);
    return c.out.Take();
  }

  std::unique_ptr<Client> Login(const std::string& user = "alice",
                                const std::string& password = "secret") {
    auto c = Connect();
    EXPECT_EQ(Send(*c, "USER " + user + "\r\nPASS " + password + "\r\n"),
              "+OK\r\n+OK Logged in.\r\n");
    return c;
  }

  // The connection goes away (no QUIT).
  void Drop(std::unique_ptr<Client>& c) {
    c->session->OnClosed();
    c.reset();
    Flush();
  }

  // Everything submitted is committed and its completion has run.
  void Flush() {
    fx_.store().Flush();
    fx_.RunPending();
  }

  std::vector<storage::MessageRecord> Messages(const std::string& mailbox = "INBOX") {
    auto view = fx_.store().Read();
    auto mb = view->FindMailbox(alice_.id, mailbox);
    if (!mb.ok()) return {};
    return view->ListMessages(mb->id);
  }

  std::vector<storage::JournalEvent> Journal() {
    auto view = fx_.store().Read();
    return view->Journal(alice_.id, 0, 1000);
  }

  config::Config config_;
  protocols::AuthThrottle throttle_;
  StoreFixture fx_;
  FakeTimers timers_;
  protocols::SessionRegistry registry_;
  protocols::SessionContext ctx_;
  protocols::ConnectionInfo info_;
  storage::UserRecord alice_;
};

}  // namespace pillarbox::pop3::testing
