// UvStream, the real stream under a connection, on a real libuv loop over a
// socketpair: bytes both ways, a close that ends in uv_loop_close() == 0,
// and a write that libuv refuses at once being reported from the loop (as
// StreamIo promises), not from inside the call.
#include "server/uv_stream.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "test_helpers.h"

namespace pillarbox::server {
namespace {

using testing::EchoSession;
using testing::FakeHost;

// Rounds of the loop a test may run before it gives up.
constexpr int kMaxRounds = 5000;

class UvStreamTest : public ::testing::Test {
 protected:
  UvStreamTest() {
    EXPECT_EQ(uv_loop_init(&loop_), 0);
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
  }
  ~UvStreamTest() override {
    conn_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }

  // A connection with an echo session on our end of the pair (the stream
  // owns that descriptor from now on). `before_start` runs on the stream
  // before the session writes its greeting.
  void Make(const std::function<void(UvStream&)>& before_start = nullptr) {
    protocols::ConnectionInfo info;
    info.unix_socket = true;
    info.loopback = true;
    ConnectionOptions options;
    options.protocol = "test";
    conn_ = std::make_unique<Connection>(1, std::move(options), info, &host_);
    auto io = std::make_unique<UvStream>(&loop_, UvStream::Kind::kPipe);
    ASSERT_EQ(uv_pipe_open(reinterpret_cast<uv_pipe_t*>(io->stream()), fds_[0]), 0);
    io->Bind(conn_.get());
    if (before_start) before_start(*io);
    conn_->AttachIo(std::move(io));
    rec_ = std::make_shared<EchoSession::Record>();
    auto rec = rec_;
    conn_->Start(
        [rec](protocols::SessionContext&, protocols::ConnectionInfo&,
              protocols::SessionOutput& out) { return std::make_unique<EchoSession>(out, rec); },
        protocols::SessionContext{});
  }

  // One round: the connection's ticks, then the loop without blocking.
  void Round() {
    host_.Tick();
    uv_run(&loop_, UV_RUN_NOWAIT);
  }

  // Runs rounds until the peer has received `needle`; returns what it got.
  std::string ReadUntil(std::string_view needle) {
    std::string got;
    for (int i = 0; i < kMaxRounds && got.find(needle) == std::string::npos; ++i) {
      Round();
      char buf[4096];
      ssize_t n = ::recv(fds_[1], buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
      if (n <= 0) ::poll(nullptr, 0, 1);
    }
    return got;
  }

  void RunUntilClosed() {
    for (int i = 0; i < kMaxRounds && host_.closed == 0; ++i) {
      Round();
      ::poll(nullptr, 0, 1);
    }
  }

  uv_loop_t loop_{};
  int fds_[2] = {-1, -1};
  FakeHost host_;
  std::unique_ptr<Connection> conn_;
  std::shared_ptr<EchoSession::Record> rec_;
};

TEST_F(UvStreamTest, BytesBothWaysThenAClose) {
  Make();
  EXPECT_EQ(ReadUntil("\r\n"), "* OK hello\r\n");
  ASSERT_EQ(::send(fds_[1], "ping\r\n", 6, 0), 6);
  EXPECT_EQ(ReadUntil("\r\n"), "ECHO ping\r\n");
  ASSERT_EQ(::send(fds_[1], "CLOSE\r\n", 7, 0), 7);
  EXPECT_EQ(ReadUntil("\r\n"), "BYE\r\n");
  RunUntilClosed();
  EXPECT_EQ(host_.closed, 1);
  EXPECT_EQ(rec_->closed, 1);
  char c;
  EXPECT_EQ(::recv(fds_[1], &c, 1, 0), 0);  // EOF: the stream closed its end
}

TEST_F(UvStreamTest, ARefusedWriteIsReportedFromTheLoop) {
  int shutdowns = 0;
  // Our writing side is shut first, so libuv refuses the greeting's write
  // inside uv_write.
  auto* req = new uv_shutdown_t;
  req->data = &shutdowns;
  Make([&](UvStream& io) {
    ASSERT_EQ(uv_shutdown(req, io.stream(),
                          [](uv_shutdown_t* r, int) {
                            ++*static_cast<int*>(r->data);
                            delete r;
                          }),
              0);
  });
  host_.Tick();  // the greeting goes to the stream, which refuses it
  EXPECT_FALSE(conn_->handle_closing()) << "the failure was reported inside Write()";
  EXPECT_EQ(host_.closed, 0);
  RunUntilClosed();  // the loop reports it: the connection aborts and closes
  EXPECT_TRUE(conn_->handle_closing());
  EXPECT_EQ(host_.closed, 1);
  EXPECT_EQ(rec_->closed, 1);
  EXPECT_EQ(shutdowns, 1);
}

}  // namespace
}  // namespace pillarbox::server
