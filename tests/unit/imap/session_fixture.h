// The fixture the IMAP session tests share: a store in a temporary
// directory with the user joe (password "secret", a {PLAIN} hash so that
// logins are fast), the session context, fake timers, and clients that
// connect, log in and select, each with its own output.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "config/config.h"
#include "protocols/imap/imap_session.h"
#include "tests/support/test_support.h"

namespace pillarbox::imap::session_test {

// One connection: its info, what the session wrote (`Output`, a FakeOutput
// or a subclass) and the session.
template <typename Output>
struct BasicClient {
  BasicClient(protocols::SessionContext& ctx, protocols::ConnectionInfo i) : info(std::move(i)) {
    if constexpr (requires(Output o) { o.info; }) out.info = &info;
    session = MakeSession(ctx, info, out);
  }
  protocols::ConnectionInfo info;
  Output out;
  std::unique_ptr<protocols::Session> session;
};
using Client = BasicClient<pillarbox::testing::FakeOutput>;

class SessionFixture : public ::testing::Test {
 protected:
  SessionFixture() : throttle_(config_.auth) {
    ctx_.store = &fx_.store();
    ctx_.config = &config_;
    ctx_.registry = &registry_;
    ctx_.throttle = &throttle_;
    ctx_.timer = timers_.Fn();
    auto user = fx_.Wait<storage::UserRecord>([&](storage::Callback<storage::UserRecord> cb) {
      fx_.store().CreateUser("joe", "{PLAIN}secret", cb);
    });
    EXPECT_TRUE(user.ok());
    if (user.ok()) user_ = *user;
  }

  // Input, then everything the session writes up to the tagged answer.
  template <typename C>
  std::string Run(C& c, const std::string& input, const std::string& tag) {
    c.session->OnInput(input);
    fx_.RunUntil([&] {
      timers_.Advance(std::chrono::milliseconds(0));
      const std::string& w = c.out.written();
      return w.starts_with(tag + " ") || w.find("\r\n" + tag + " ") != std::string::npos;
    });
    fx_.RunPending();
    return c.out.Take();
  }
  // Input, then what the session wrote once the store is idle.
  template <typename C>
  std::string Send(C& c, const std::string& input) {
    c.session->OnInput(input);
    fx_.RunPending();
    return c.out.Take();
  }

  // A loopback connection, greeting taken.
  template <typename C = Client>
  std::unique_ptr<C> Connect() {
    protocols::ConnectionInfo info;
    info.peer_ip = "127.0.0.1";
    info.loopback = true;
    auto c = std::make_unique<C>(ctx_, std::move(info));
    c->session->Start();
    c->out.Take();
    return c;
  }
  template <typename C = Client>
  std::unique_ptr<C> LoggedIn() {
    auto c = Connect<C>();
    std::string r = Run(*c, "L LOGIN joe secret\r\n", "L");
    EXPECT_TRUE(r.starts_with("L OK")) << r;
    return c;
  }
  // Logged in, `mailbox` selected read-write, the SELECT transcript dropped.
  template <typename C = Client>
  std::unique_ptr<C> Selected(const std::string& mailbox = "INBOX") {
    auto c = LoggedIn<C>();
    std::string r = Run(*c, "S SELECT " + mailbox + "\r\n", "S");
    EXPECT_NE(r.find("S OK [READ-WRITE]"), std::string::npos) << r;
    return c;
  }

  storage::MailboxRecord Mailbox(const std::string& name) {
    auto mb = fx_.store().Read()->FindMailbox(user_.id, name);
    EXPECT_TRUE(mb.ok()) << name;
    return mb.ok() ? *mb : storage::MailboxRecord{};
  }

  pillarbox::testing::StoreFixture fx_;
  config::Config config_;
  protocols::SessionRegistry registry_;
  protocols::AuthThrottle throttle_;
  pillarbox::testing::FakeTimers timers_;
  protocols::SessionContext ctx_;
  storage::UserRecord user_;
};

}  // namespace pillarbox::imap::session_test
