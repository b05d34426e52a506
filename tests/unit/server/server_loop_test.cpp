// The real loop on 127.0.0.1 with an echo session: listeners, limits,
// implicit TLS and STARTTLS over real sockets, unix sockets, bind errors,
// and a stop that ends with uv_loop_close() == 0 (Run() returns 0 only then).
#include "server/server_loop.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "server/server.h"
#include "server/timers.h"
#include "server/tls/tls_context.h"
#include "test_helpers.h"
#include "tests/support/test_support.h"

namespace pillarbox::server {
namespace {

using testing::EchoSession;

int ConnectTcp(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int ConnectUnix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads one line (without CRLF); "<EOF>" when the server closed.
std::string ReadLine(int fd) {
  std::string line;
  char c;
  for (;;) {
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return line.empty() ? "<EOF>" : line;
    if (c == '\n') break;
    line += c;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string SslReadLine(SSL* ssl) {
  std::string line;
  char c;
  for (;;) {
    int n = SSL_read(ssl, &c, 1);
    if (n <= 0) return line.empty() ? "<EOF>" : line;
    if (c == '\n') break;
    line += c;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

void Send(int fd, std::string_view s) {
  ASSERT_EQ(::write(fd, s.data(), s.size()), (ssize_t)s.size());
}

class ServerLoopTest : public ::testing::Test {
 protected:
  ServerLoopTest() {
    config_.server.data_dir = dir_.path() + "/data";
    config_.server.shutdown_grace = std::chrono::seconds(5);
    config_.imap.listen = {"127.0.0.1:0"};
    config_.imap.tls_listen = {"127.0.0.1:0"};
    config_.pop3.listen = {};
    config_.pop3.tls_listen = {};
    config_.lmtp.listen = {"unix:" + dir_.path() + "/lmtp.sock"};
    config_.smtp.listen = {};
    config_.http.listen = {};
    config_.smtp.tls_listen = {};
  }
  ~ServerLoopTest() override { StopServer(); }

  Server::Factories EchoFactories() {
    auto f = [](protocols::SessionContext&, protocols::ConnectionInfo&,
                protocols::SessionOutput& out) -> std::unique_ptr<protocols::Session> {
      return std::make_unique<EchoSession>(out, std::make_shared<EchoSession::Record>());
    };
    return {{"imap", f}, {"lmtp", f}, {"pop3", f}, {"smtp", f}};
  }

  void StartServer() {
    server_ = std::make_unique<Server>(config_, EchoFactories());
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    plain_port_ = server_->BoundPort(0);
    tls_port_ = server_->BoundPort(1);
    ASSERT_GT(plain_port_, 0);
    ASSERT_GT(tls_port_, 0);
    thread_ = std::thread([this] { exit_code_ = server_->Run(); });
  }

  int StopServer() {
    if (!thread_.joinable()) return exit_code_;
    Server* s = server_.get();
    s->Post([s] { s->Stop(); });
    thread_.join();
    return exit_code_;
  }

  pillarbox::testing::TempDir dir_;
  config::Config config_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::atomic<int> exit_code_{-1};
  int plain_port_ = 0;
  int tls_port_ = 0;
};

TEST_F(ServerLoopTest, EchoesAndStopsCleanlyWithAGoodbye) {
  StartServer();
  int fd = ConnectTcp(plain_port_);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ReadLine(fd), "* OK hello");
  Send(fd, "ping\r\n");
  EXPECT_EQ(ReadLine(fd), "ECHO ping");
  EXPECT_EQ(StopServer(), 0);  // 0 only when uv_loop_close() succeeded
  EXPECT_EQ(ReadLine(fd), "BYE shutdown");
  EXPECT_EQ(ReadLine(fd), "<EOF>");
  ::close(fd);
  // The unix socket is gone.
  struct stat st;
  EXPECT_NE(::stat((dir_.path() + "/lmtp.sock").c_str(), &st), 0);
}

TEST_F(ServerLoopTest, ImplicitTlsAndStartTls) {
  StartServer();
  auto ctx = tls::MakeClientContext();
  ASSERT_TRUE(ctx.ok());

  int fd = ConnectTcp(tls_port_);
  ASSERT_GE(fd, 0);
  SSL* ssl = SSL_new(ctx->get());
  SSL_set_fd(ssl, fd);
  ASSERT_EQ(SSL_connect(ssl), 1);
  EXPECT_EQ(SslReadLine(ssl), "* OK hello");
  SSL_write(ssl, "x\r\n", 3);
  EXPECT_EQ(SslReadLine(ssl), "ECHO x");
  SSL_free(ssl);
  ::close(fd);

  fd = ConnectTcp(plain_port_);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ReadLine(fd), "* OK hello");
  Send(fd, "STARTTLS\r\n");
  EXPECT_EQ(ReadLine(fd), "OK begin TLS");
  ssl = SSL_new(ctx->get());
  SSL_set_fd(ssl, fd);
  ASSERT_EQ(SSL_connect(ssl), 1);
  SSL_write(ssl, "y\r\n", 3);
  EXPECT_EQ(SslReadLine(ssl), "ECHO y");
  SSL_free(ssl);
  ::close(fd);
  EXPECT_EQ(StopServer(), 0);
}

TEST_F(ServerLoopTest, ConnectionsOverThePerIpLimitAreRefused) {
  config_.limits.max_connections_per_ip = 1;
  StartServer();
  int a = ConnectTcp(plain_port_);
  ASSERT_GE(a, 0);
  EXPECT_EQ(ReadLine(a), "* OK hello");
  int b = ConnectTcp(plain_port_);
  ASSERT_GE(b, 0);
  EXPECT_EQ(ReadLine(b), "* BYE Too many connections from your address");
  EXPECT_EQ(ReadLine(b), "<EOF>");
  ::close(b);
  // After the first one leaves, there is room again.
  Send(a, "CLOSE\r\n");
  EXPECT_EQ(ReadLine(a), "BYE");
  EXPECT_EQ(ReadLine(a), "<EOF>");
  ::close(a);
  std::string greeting;
  for (int i = 0; i < 100 && greeting != "* OK hello"; ++i) {
    int c = ConnectTcp(plain_port_);
    greeting = ReadLine(c);
    ::close(c);
    if (greeting != "* OK hello") std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(greeting, "* OK hello");
  EXPECT_EQ(StopServer(), 0);
}

TEST_F(ServerLoopTest, UnixSocketListener) {
  StartServer();
  int fd = ConnectUnix(dir_.path() + "/lmtp.sock");
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ReadLine(fd), "* OK hello");
  Send(fd, "LHLO x\r\n");
  EXPECT_EQ(ReadLine(fd), "ECHO LHLO x");
  ::close(fd);
  EXPECT_EQ(StopServer(), 0);
}

TEST_F(ServerLoopTest, StaleUnixSocketIsReplaced) {
  std::string path = dir_.path() + "/lmtp.sock";
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(s);  // leaves the file behind, nobody listening
  StartServer();
  int fd = ConnectUnix(path);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ReadLine(fd), "* OK hello");
  ::close(fd);
  EXPECT_EQ(StopServer(), 0);
}

TEST_F(ServerLoopTest, PortsJsonReportsThePortsPortZeroGot) {
  config_.pop3.listen = {"127.0.0.1:0", "127.0.0.1:0"};  // the first of a protocol counts
  StartServer();
  int pop3 = server_->BoundPort(2);
  ASSERT_GT(pop3, 0);
  EXPECT_NE(pop3, server_->BoundPort(3));
  // The unix LMTP listener has no port.
  EXPECT_EQ(server_->PortsJson(), "{\"imap\":" + std::to_string(plain_port_) +
                                      ",\"imaps\":" + std::to_string(tls_port_) +
                                      ",\"pop3\":" + std::to_string(pop3) + "}");
  EXPECT_EQ(StopServer(), 0);
}

TEST(WriteFileAtomicallyTest, ReplacesTheFileWhole) {
  pillarbox::testing::TempDir dir;
  std::string path = dir.path() + "/ports.json";
  ASSERT_TRUE(WriteFileAtomically(path, "{\"imap\":1}\n").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "{}\n").ok());
  std::FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[64] = {};
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  EXPECT_EQ(std::string(buf, n), "{}\n");
  struct stat st;
  EXPECT_NE(::stat((path + ".tmp").c_str(), &st), 0);
  EXPECT_FALSE(WriteFileAtomically(dir.path() + "/no/such/dir/p.json", "{}").ok());
}

TEST_F(ServerLoopTest, BindFailureNamesTheKeyAndAddress) {
  StartServer();
  config::Config second = config_;
  second.server.data_dir = dir_.path() + "/data2";
  second.imap.listen = {"127.0.0.1:" + std::to_string(plain_port_)};
  second.lmtp.listen = {};
  {
    Server other(second, EchoFactories());
    Status st = other.Start();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.message(), "imap.listen: cannot listen on 127.0.0.1:" +
                                std::to_string(plain_port_) + ": address already in use");
  }
  // A live unix socket is not taken over either.
  second.imap.listen = {};
  second.lmtp.listen = config_.lmtp.listen;
  {
    Server other(second, EchoFactories());
    Status st = other.Start();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("lmtp.listen"), std::string::npos) << st.message();
  }
  EXPECT_EQ(StopServer(), 0);
}

TEST_F(ServerLoopTest, CertificateIsGeneratedOnceAndReused) {
  StartServer();
  EXPECT_EQ(StopServer(), 0);
  std::string cert = config_.server.data_dir + "/tls/cert.pem";
  struct stat first;
  ASSERT_EQ(::stat(cert.c_str(), &first), 0);
  server_.reset();
  StartServer();
  struct stat second;
  ASSERT_EQ(::stat(cert.c_str(), &second), 0);
  EXPECT_EQ(first.st_ino, second.st_ino);
  EXPECT_EQ(first.st_mtim.tv_nsec, second.st_mtim.tv_nsec);
  // SIGHUP's reload keeps serving.
  Server* s = server_.get();
  s->Post([s] { s->ReloadTls(); });
  int fd = ConnectTcp(plain_port_);
  EXPECT_EQ(ReadLine(fd), "* OK hello");
  ::close(fd);
  EXPECT_EQ(StopServer(), 0);
}

TEST_F(ServerLoopTest, Ipv6Listener) {
  int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool has_ipv6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (probe >= 0) ::close(probe);
  if (!has_ipv6) GTEST_SKIP() << "no IPv6 loopback";
  config_.imap.listen = {"[::1]:0"};
  StartServer();
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  a.sin6_port = htons(static_cast<std::uint16_t>(plain_port_));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(ReadLine(fd), "* OK hello");
  ::close(fd);
  EXPECT_EQ(StopServer(), 0);
}

TEST(TimersTest, CancelledOwnersNeverFire) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  std::vector<int> fired;
  {
    Timers timers(&loop);
    timers.Add(1, std::chrono::milliseconds(1), [&] { fired.push_back(1); });
    timers.Add(2, std::chrono::milliseconds(1), [&] { fired.push_back(2); });
    timers.Add(2, std::chrono::milliseconds(2), [&] { fired.push_back(3); });
    timers.CancelOwner(2);
    EXPECT_EQ(timers.pending(), 1u);
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(timers.pending(), 0u);
    timers.Add(4, std::chrono::milliseconds(1000), [&] { fired.push_back(4); });
  }  // destroyed with a timer pending: it is closed, not run
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, std::vector<int>{1});
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace pillarbox::server
