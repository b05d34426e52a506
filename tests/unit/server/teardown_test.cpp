// A Server destroyed while real IMAP and POP3 sessions are logged in, with
// store completions still pending and failed-login timers running. The
// sessions' close (unsubscribe, POP3 release journal) uses the store, so the
// store must outlive them; under AddressSanitizer a wrong order is a
// use-after-free. (The SMTP side of the same rule is
// SmtpSessionTest.ClosedSessionDropsLateCompletions.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "server/server.h"
#include "server/server_loop.h"
#include "tests/support/test_support.h"

namespace pillarbox::server {
namespace {

// Bounds every wait of these tests.
constexpr auto kWaitLimit = std::chrono::seconds(20);

class ServerTeardownTest : public ::testing::Test {
 protected:
  ServerTeardownTest() {
    config_.server.data_dir = dir_.path() + "/data";
    config_.imap.listen = {"127.0.0.1:0"};
    config_.imap.tls_listen = {};
    config_.pop3.listen = {"127.0.0.1:0"};
    config_.pop3.tls_listen = {};
    config_.lmtp.listen = {};
    config_.smtp.listen = {};
    config_.smtp.tls_listen = {};
    config_.http.listen = {};  // these factories serve no HTTP
    // A failed login answers only after this: its timer is still pending
    // when the server goes.
    config_.auth.failure_delay = std::chrono::seconds(60);
    config_.auth.max_failure_delay = std::chrono::seconds(60);
  }

  ~ServerTeardownTest() override {
    for (int fd : fds_) ::close(fd);
  }

  void Start() {
    server_ = std::make_unique<Server>(config_, ProtocolFactories());
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::optional<Result<storage::UserRecord>> user;
    server_->store()->CreateUser("alice", "{PLAIN}pw",
                                 [&](Result<storage::UserRecord> r) { user.emplace(r); });
    Pump([&] { return user.has_value(); });
    ASSERT_TRUE(user && user->ok());
    std::optional<Result<storage::AppendResult>> appended;
    storage::AppendRequest req;
    req.user = (*user)->id;
    req.mailbox = "INBOX";
    req.bytes = std::make_shared<const std::string>("Subject: hi\r\n\r\nhello\r\n");
    req.origin.protocol = "test";
    server_->store()->Append(req, [&](Result<storage::AppendResult> r) { appended.emplace(r); });
    Pump([&] { return appended.has_value(); });
    ASSERT_TRUE(appended && appended->ok());
  }

  // Runs the server's loop on this thread until `done` (bounded).
  void Pump(const std::function<bool()>& done) {
    auto until = std::chrono::steady_clock::now() + kWaitLimit;
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), until) << "timed out";
      uv_run(server_->loop(), UV_RUN_NOWAIT);
      ::poll(nullptr, 0, 1);
    }
  }

  int Connect(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    fds_.push_back(fd);
    return fd;
  }

  void Send(int fd, std::string_view s) {
    ASSERT_EQ(::send(fd, s.data(), s.size(), 0), static_cast<ssize_t>(s.size()));
  }

  // Runs the loop until what `fd` received contains `needle`.
  std::string Expect(int fd, std::string_view needle) {
    std::string got;
    Pump([&] {
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
      return got.find(needle) != std::string::npos;
    });
    return got;
  }

  // One round of the loop: commands already sent are read and their
  // mutations submitted, but their completions come back only in a later
  // round.
  void Spin() { uv_run(server_->loop(), UV_RUN_NOWAIT); }

  pillarbox::testing::TempDir dir_;
  config::Config config_;
  std::unique_ptr<Server> server_;
  std::vector<int> fds_;
};

TEST_F(ServerTeardownTest, ImapSessionsWithPendingWorkEndWithTheServer) {
  Start();
  int imap = server_->BoundPort(0);
  int a = Connect(imap);
  Expect(a, "\r\n");
  Send(a, "a1 LOGIN alice pw\r\n");
  Expect(a, "a1 OK");
  Send(a, "a2 SELECT INBOX\r\n");
  Expect(a, "a2 OK [READ-WRITE] Select completed.\r\n");
  // A second session idles on the same mailbox (a change-bus listener).
  int b = Connect(imap);
  Expect(b, "\r\n");
  Send(b, "b1 LOGIN alice pw\r\nb2 SELECT INBOX\r\nb3 IDLE\r\n");
  Expect(b, "+ idling\r\n");
  // A third fails its login: its answer waits on a timer.
  int c = Connect(imap);
  Expect(c, "\r\n");
  Send(c, "c1 LOGIN alice wrong\r\n");
  // Mutations whose completions have not run yet.
  Send(a, "a3 STORE 1 +FLAGS (\\Seen)\r\na4 CREATE Work\r\n");
  Spin();
  EXPECT_EQ(server_->connection_count(), 3u);
  server_.reset();  // no Stop(): the destructor ends everything
}

TEST_F(ServerTeardownTest, Pop3SessionsWithPendingWorkEndWithTheServer) {
  Start();
  int pop3 = server_->BoundPort(1);
  int a = Connect(pop3);
  Expect(a, "\r\n");
  Send(a, "USER alice\r\nPASS pw\r\n");
  Expect(a, "+OK Logged in.\r\n");
  // A failed login elsewhere: its answer waits on a timer.
  int b = Connect(pop3);
  Expect(b, "\r\n");
  Send(b, "USER alice\r\nPASS wrong\r\n");
  // The deletions' commit is under way when the server goes.
  Send(a, "DELE 1\r\n");
  Expect(a, "+OK");
  Send(a, "QUIT\r\n");
  Spin();
  EXPECT_EQ(server_->connection_count(), 2u);
  server_.reset();
}

}  // namespace
}  // namespace pillarbox::server
