// The connection state machine over a fake stream: buffering, per-wake-up
// caps, backpressure, pause, graceful and abortive close, EOF, STARTTLS,
// implicit TLS, idle and handshake deadlines.
#include "server/connection.h"

#include <gtest/gtest.h>

#include "server/tls/tls_context.h"
#include "server/tls/tls_transport.h"
#include "test_helpers.h"
#include "tests/support/test_support.h"

namespace pillarbox::server {
namespace {

using testing::EchoSession;
using testing::FakeHost;
using testing::FakeIo;

class ConnectionTest : public ::testing::Test {
 protected:
  void Make(ConnectionOptions options = {}) {
    options.protocol = "test";
    protocols::ConnectionInfo info;
    info.peer_ip = "127.0.0.1";
    info.loopback = true;
    conn_ = std::make_unique<Connection>(1, std::move(options), info, &host_);
    auto io = std::make_unique<FakeIo>();
    io_ = io.get();
    conn_->AttachIo(std::move(io));
    rec_ = std::make_shared<EchoSession::Record>();
    auto rec = rec_;
    std::size_t hw = high_water_;
    conn_->Start(
        [rec, hw](protocols::SessionContext&, protocols::ConnectionInfo&,
                  protocols::SessionOutput& out) {
          return std::make_unique<EchoSession>(out, rec, hw);
        },
        protocols::SessionContext{});
  }

  // Runs ticks and completes writes until nothing moves; returns what went
  // over the wire.
  std::string Pump(int max_rounds = 10000) {
    std::string wire;
    for (int i = 0; i < max_rounds; ++i) {
      bool moved = host_.Tick();
      while (!io_->in_flight.empty() && !io_->closed) {
        std::string w = std::move(io_->in_flight.front());
        io_->in_flight.pop_front();
        EXPECT_LE(w.size(), kMaxBytesPerWakeup);
        wire += w;
        conn_->OnWriteDone(w.size(), 0);
        moved = true;
      }
      if (!moved) break;
    }
    return wire;
  }

  // The stream reports the close; the connection tells the session and host.
  void FinishClose() {
    ASSERT_TRUE(io_->closed);
    conn_->OnHandleClosed();
  }

  FakeHost host_;
  FakeIo* io_ = nullptr;
  std::unique_ptr<Connection> conn_;
  std::shared_ptr<EchoSession::Record> rec_;
  std::size_t high_water_ = 256 * 1024;
};

TEST_F(ConnectionTest, GreetsAndEchoes) {
  Make();
  EXPECT_TRUE(io_->reading);
  EXPECT_EQ(Pump(), "* OK hello\r\n");
  conn_->OnRead("hel");
  conn_->OnRead("lo\r\nworld\r\n");
  EXPECT_EQ(Pump(), "ECHO hello\r\nECHO world\r\n");
}

TEST_F(ConnectionTest, SmallWritesOfOneWakeupLeaveInOneWrite) {
  Make();
  Pump();
  conn_->OnRead("a\r\nb\r\nc\r\n");
  host_.Tick();
  ASSERT_EQ(io_->in_flight.size(), 1u);
  EXPECT_EQ(io_->in_flight.front(), "ECHO a\r\nECHO b\r\nECHO c\r\n");
}

TEST_F(ConnectionTest, InputIsHandedOverAtMost64KiBPerWakeup) {
  Make();
  Pump();
  std::string big(200 * 1024, 'a');
  conn_->OnRead(big);
  ASSERT_EQ(rec_->chunks.size(), 1u);
  EXPECT_EQ(rec_->chunks[0], kMaxBytesPerWakeup);
  // The rest comes on later ticks, one cap at a time.
  host_.Tick();
  EXPECT_EQ(rec_->chunks.size(), 2u);
  Pump();
  std::size_t total = 0;
  for (std::size_t c : rec_->chunks) {
    EXPECT_LE(c, kMaxBytesPerWakeup);
    total += c;
  }
  EXPECT_EQ(total, big.size());
  EXPECT_EQ(rec_->input, big);
}

TEST_F(ConnectionTest, OutputIsWrittenAtMost64KiBAtATime) {
  Make();
  Pump();
  conn_->Write(std::string(300 * 1024, 'z'));
  EXPECT_EQ(conn_->QueuedBytes(), 300u * 1024);
  std::string wire = Pump();  // asserts each write <= 64 KiB
  EXPECT_EQ(wire.size(), 300u * 1024);
  EXPECT_EQ(conn_->QueuedBytes(), 0u);
}

TEST_F(ConnectionTest, BackpressureStopsAtHighWaterAndResumesOnDrain) {
  high_water_ = 200 * 1024;
  ConnectionOptions o;
  o.output_high_water = 200 * 1024;
  o.output_low_water = 64 * 1024;
  Make(o);
  Pump();
  conn_->OnRead("BIG 1000000\r\n");
  // The session stopped near the high-water mark instead of queueing 1 MB.
  EXPECT_LT(conn_->QueuedBytes(), 200u * 1024 + 10000);
  EXPECT_GE(conn_->QueuedBytes(), 200u * 1024);
  std::string wire = Pump();
  EXPECT_EQ(wire.size(), 1000000u);
  EXPECT_GT(rec_->drained, 3);  // resumed several times
}

// Regression: input kept being handed to the session while the client did
// not read its answers, so a burst of pipelined commands queued unbounded
// output (IMAP: 300 MB for a million CAPABILITY commands).
TEST_F(ConnectionTest, InputWaitsWhileOutputIsOverHighWater) {
  ConnectionOptions o;
  o.output_high_water = 1000;
  o.output_low_water = 100;
  Make(o);
  Pump();
  rec_->chunks.clear();
  rec_->input.clear();
  conn_->Write(std::string(3000, 'z'));
  host_.Tick();  // one write of the 3000 bytes in flight; the client reads nothing
  ASSERT_EQ(io_->in_flight.size(), 1u);
  conn_->OnRead("a\r\nb\r\n");
  EXPECT_TRUE(rec_->chunks.empty());  // the session is not fed
  EXPECT_TRUE(conn_->output_blocked());
  host_.Tick();
  EXPECT_TRUE(rec_->chunks.empty());
  EXPECT_EQ(conn_->buffered_input(), 6u);
  // Input beyond the cap stops the socket instead of piling up.
  conn_->OnRead(std::string(kMaxBufferedInput, 'c'));
  EXPECT_FALSE(io_->reading);
  EXPECT_TRUE(rec_->chunks.empty());
  // The client reads: its input is handled again.
  std::string wire = Pump();
  EXPECT_FALSE(conn_->output_blocked());
  EXPECT_EQ(rec_->input.substr(0, 6), "a\r\nb\r\n");
  EXPECT_EQ(rec_->input.size(), 6 + kMaxBufferedInput);
  EXPECT_TRUE(io_->reading);
  EXPECT_TRUE(wire.starts_with(std::string(3000, 'z') + "ECHO a\r\nECHO b\r\n"));
}

TEST_F(ConnectionTest, InputResumesOnlyBelowLowWater) {
  ConnectionOptions o;
  o.output_high_water = 1000;
  o.output_low_water = 100;
  Make(o);
  Pump();
  rec_->chunks.clear();
  conn_->Write(std::string(1000, 'z'));
  conn_->Write(std::string(950, 'y'));
  host_.Tick();  // 1950 bytes go out in one write
  conn_->OnRead("a\r\n");
  EXPECT_TRUE(rec_->chunks.empty());
  // Completing the write drains everything: below low water, input flows.
  std::string w = std::move(io_->in_flight.front());
  io_->in_flight.pop_front();
  conn_->OnWriteDone(w.size(), 0);
  host_.Tick();
  EXPECT_EQ(rec_->chunks.size(), 1u);
}

TEST_F(ConnectionTest, BuffersCountAgainstTheMemoryBudget) {
  std::size_t before = MemoryBudget::Global().used();
  ConnectionOptions o;
  o.output_high_water = 1000;
  o.output_low_water = 100;
  Make(o);
  Pump();
  conn_->Write(std::string(5000, 'z'));
  conn_->OnRead("a\r\n");
  EXPECT_GE(MemoryBudget::Global().used(), before + 5000);
  EXPECT_EQ(conn_->held(), 5000u + 3);
  Pump();
  EXPECT_EQ(conn_->held(), 0u);
  conn_->Write(std::string(5000, 'z'));
  conn_->Abort();
  FinishClose();
  conn_.reset();
  EXPECT_EQ(MemoryBudget::Global().used(), before);
}

TEST_F(ConnectionTest, DrainedIsNotCalledWhenOutputNeverReachedLowWater) {
  Make();
  Pump();
  conn_->OnRead("x\r\n");
  Pump();
  EXPECT_EQ(rec_->drained, 0);
}

TEST_F(ConnectionTest, PausedInputIsBufferedThenDelivered) {
  Make();
  Pump();
  conn_->OnRead("PAUSE\r\nafter\r\n");
  Pump();
  EXPECT_EQ(rec_->input, "PAUSE\r\nafter\r\n");  // same chunk: already given
  std::size_t before = rec_->chunks.size();
  conn_->OnRead("later\r\n");
  Pump();
  EXPECT_EQ(rec_->chunks.size(), before);  // held while paused
  EXPECT_EQ(conn_->buffered_input(), 7u);
  conn_->ResumeInput();
  std::string wire = Pump();
  EXPECT_EQ(wire, "ECHO later\r\n");
}

TEST_F(ConnectionTest, ReadingStopsWhenPausedInputPilesUp) {
  Make();
  Pump();
  conn_->PauseInput();
  std::string chunk(64 * 1024, 'q');
  for (int i = 0; i < 4 && io_->reading; ++i) conn_->OnRead(chunk);
  EXPECT_FALSE(io_->reading);
  EXPECT_GE(conn_->buffered_input(), kMaxBufferedInput);
  conn_->ResumeInput();
  Pump();
  EXPECT_EQ(conn_->buffered_input(), 0u);
  EXPECT_TRUE(io_->reading);
}

TEST_F(ConnectionTest, GracefulCloseFlushesThenShutsDownThenCloses) {
  Make();
  Pump();
  conn_->OnRead("CLOSE\r\nnever\r\n");
  EXPECT_FALSE(io_->reading);
  EXPECT_FALSE(io_->shutdown);  // output first
  EXPECT_EQ(Pump(), "BYE\r\n");
  EXPECT_TRUE(io_->shutdown);
  EXPECT_FALSE(io_->closed);
  conn_->OnShutdownDone(0);
  EXPECT_TRUE(io_->closed);
  EXPECT_EQ(rec_->closed, 0);
  FinishClose();
  EXPECT_EQ(rec_->closed, 1);
  EXPECT_EQ(host_.closed, 1);
  EXPECT_EQ(rec_->input.find("never"), 7u);  // given in the same chunk, not echoed
}

TEST_F(ConnectionTest, CloseIsIdempotentAndLaterWritesAreDropped) {
  Make();
  Pump();
  conn_->Close();
  conn_->Close();
  conn_->Write("late\r\n");
  Pump();
  EXPECT_TRUE(io_->shutdown);
  conn_->Abort();
  conn_->Abort();  // FakeIo fails the test on a second Close
  FinishClose();
  conn_->OnHandleClosed();
  EXPECT_EQ(rec_->closed, 1);
  EXPECT_EQ(host_.closed, 1);
}

TEST_F(ConnectionTest, AbortDropsPendingOutput) {
  Make();
  conn_->Write(std::string(1000, 'x'));
  conn_->Abort();
  EXPECT_TRUE(io_->closed);
  EXPECT_TRUE(io_->in_flight.empty());
  host_.Tick();
  EXPECT_TRUE(io_->in_flight.empty());
  FinishClose();
}

TEST_F(ConnectionTest, WriteErrorAborts) {
  Make();
  host_.Tick();
  ASSERT_EQ(io_->in_flight.size(), 1u);
  conn_->OnWriteDone(io_->in_flight.front().size(), -32 /* EPIPE */);
  EXPECT_TRUE(io_->closed);
  FinishClose();
}

TEST_F(ConnectionTest, OutputBeyondTheHardLimitAborts) {
  ConnectionOptions o;
  o.output_hard_limit = 100 * 1024;
  Make(o);
  conn_->Write(std::string(60 * 1024, 'a'));
  EXPECT_FALSE(io_->closed);
  conn_->Write(std::string(60 * 1024, 'a'));
  EXPECT_TRUE(io_->closed);
  FinishClose();
}

TEST_F(ConnectionTest, EofAnswersWhatCameBeforeThenCloses) {
  Make();
  Pump();
  conn_->OnRead("last\r\n");
  conn_->OnReadEnd(0);
  EXPECT_FALSE(io_->reading);
  EXPECT_EQ(Pump(), "ECHO last\r\n");
  EXPECT_TRUE(io_->shutdown);
}

TEST_F(ConnectionTest, EofWhilePausedWaitsForTheSession) {
  Make();
  Pump();
  conn_->PauseInput();
  conn_->OnRead("queued\r\n");
  conn_->OnReadEnd(0);
  Pump();
  EXPECT_FALSE(io_->shutdown);
  conn_->ResumeInput();
  EXPECT_EQ(Pump(), "ECHO queued\r\n");
  EXPECT_TRUE(io_->shutdown);
}

TEST_F(ConnectionTest, ReadErrorAborts) {
  Make();
  conn_->OnReadEnd(-104 /* ECONNRESET */);
  EXPECT_TRUE(io_->closed);
  FinishClose();
  EXPECT_EQ(rec_->closed, 1);
}

TEST_F(ConnectionTest, ShutdownLetsTheSessionSayGoodbye) {
  Make();
  Pump();
  conn_->Shutdown();
  EXPECT_EQ(rec_->shutdown, 1);
  EXPECT_EQ(Pump(), "BYE shutdown\r\n");
  EXPECT_TRUE(io_->shutdown);
}

TEST_F(ConnectionTest, RefuseWritesTheLineAndCloses) {
  ConnectionOptions o;
  o.protocol = "test";
  protocols::ConnectionInfo info;
  conn_ = std::make_unique<Connection>(2, o, info, &host_);
  auto io = std::make_unique<FakeIo>();
  io_ = io.get();
  conn_->AttachIo(std::move(io));
  conn_->Refuse("* BYE Too many connections\r\n");
  EXPECT_EQ(Pump(), "* BYE Too many connections\r\n");
  EXPECT_TRUE(io_->shutdown);
  conn_->OnShutdownDone(0);
  FinishClose();
  EXPECT_EQ(host_.closed, 1);
}

// --- sweep -------------------------------------------------------------------

TEST_F(ConnectionTest, IdleSweepCallsTheSessionOnlyAfterItsTimeout) {
  Make();
  Pump();
  auto now = Connection::Clock::now();
  conn_->set_last_activity(now - std::chrono::seconds(59));
  conn_->Sweep(now);
  EXPECT_EQ(rec_->idle, 0);
  conn_->set_last_activity(now - std::chrono::seconds(61));
  conn_->Sweep(now);
  EXPECT_EQ(rec_->idle, 1);
  EXPECT_EQ(Pump(), "BYE idle\r\n");
  EXPECT_TRUE(io_->shutdown);
}

TEST_F(ConnectionTest, InputResetsTheIdleClock) {
  Make();
  Pump();
  auto start = Connection::Clock::now();
  conn_->set_last_activity(start - std::chrono::seconds(3600));
  conn_->OnRead("x\r\n");
  conn_->Sweep(Connection::Clock::now());
  EXPECT_EQ(rec_->idle, 0);
}

TEST_F(ConnectionTest, ABulkTransferInProgressIsNotIdle) {
  Make();
  Pump();
  auto now = Connection::Clock::now();
  conn_->set_last_activity(now - std::chrono::seconds(3600));
  conn_->Write(std::string(100 * 1024, 'b'));
  host_.Tick();
  ASSERT_EQ(io_->in_flight.size(), 1u);
  conn_->OnWriteDone(io_->in_flight.front().size(), 0);
  conn_->Sweep(Connection::Clock::now());
  EXPECT_EQ(rec_->idle, 0);
}

TEST_F(ConnectionTest, SmallWritesDoNotKeepAnIdleClientAlive) {
  Make();
  Pump();
  auto now = Connection::Clock::now();
  conn_->set_last_activity(now - std::chrono::seconds(3600));
  conn_->Write("* OK Still here\r\n");
  Pump();
  conn_->Sweep(Connection::Clock::now());
  EXPECT_EQ(rec_->idle, 1);
}

// Slowloris: a client that trickles bytes without logging in keeps
// resetting the idle clock, but not the login deadline.
TEST_F(ConnectionTest, AnUnauthenticatedClientTricklingBytesIsClosedAtTheLoginDeadline) {
  ConnectionOptions options;
  options.login_timeout = std::chrono::seconds(60);
  Make(options);
  Pump();
  auto start = conn_->created();
  for (int s = 0; s < 60; s += 10) {
    conn_->OnRead("x");  // one byte, never a whole line
    conn_->Sweep(start + std::chrono::seconds(s));
    EXPECT_EQ(rec_->login_timeout, 0) << s;
  }
  conn_->OnRead("x");
  conn_->Sweep(start + std::chrono::seconds(61));
  EXPECT_EQ(rec_->login_timeout, 1);
  EXPECT_EQ(rec_->idle, 0);
  EXPECT_EQ(Pump(), "BYE login timeout\r\n");
  EXPECT_TRUE(io_->shutdown);
}

TEST_F(ConnectionTest, AnAuthenticatedSessionHasNoLoginDeadline) {
  ConnectionOptions options;
  options.login_timeout = std::chrono::seconds(60);
  Make(options);
  Pump();
  conn_->OnRead("LOGIN\r\n");
  EXPECT_EQ(Pump(), "OK logged in\r\n");
  EXPECT_TRUE(conn_->authenticated());
  auto start = conn_->created();
  for (int s = 0; s <= 3600; s += 30) {
    conn_->OnRead("x");
    conn_->set_last_activity(start + std::chrono::seconds(s));  // the byte came then
    conn_->Sweep(start + std::chrono::seconds(s));
  }
  EXPECT_EQ(rec_->login_timeout, 0);
  EXPECT_EQ(rec_->idle, 0);
  EXPECT_FALSE(conn_->closing());
}

TEST_F(ConnectionTest, NoLoginDeadlineWhenNoneIsConfigured) {
  Make();  // login_timeout 0
  Pump();
  conn_->Sweep(conn_->created() + std::chrono::seconds(59));
  conn_->OnRead("x");
  conn_->Sweep(Connection::Clock::now());
  EXPECT_EQ(rec_->login_timeout, 0);
  EXPECT_FALSE(conn_->closing());
}

TEST_F(ConnectionTest, AClientThatNeverReadsAfterCloseIsCutOff) {
  Make();
  Pump();
  conn_->OnRead("CLOSE\r\n");
  host_.Tick();  // the BYE is written but never completes
  auto now = Connection::Clock::now();
  conn_->Sweep(now + kCloseFlushTimeout - std::chrono::seconds(1));
  EXPECT_FALSE(io_->closed);
  conn_->Sweep(now + kCloseFlushTimeout + std::chrono::seconds(1));
  EXPECT_TRUE(io_->closed);
}

// --- TLS -------------------------------------------------------------------------

class TlsConnectionTest : public ConnectionTest {
 protected:
  void SetUp() override {
    auto paths = tls::EnsureSelfSignedCertificate(dir_.path() + "/tls", "mail.example");
    ASSERT_TRUE(paths.ok()) << paths.status().ToString();
    auto ctx = tls::MakeServerContext(paths->cert, paths->key, "1.2");
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    server_ctx_ = *ctx;
    auto cctx = tls::MakeClientContext();
    ASSERT_TRUE(cctx.ok());
    client_ctx_ = *cctx;
    auto client = tls::Transport::Make(client_ctx_.get(), tls::Transport::Role::kClient);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
  }

  // Moves bytes both ways until neither side has anything to say. Returns
  // the plaintext the client received.
  std::string Exchange() {
    std::string received;
    for (int i = 0; i < 100; ++i) {
      bool moved = false;
      if (std::string c = client_->TakeNetworkOutput(); !c.empty()) {
        conn_->OnRead(c);
        moved = true;
      }
      host_.Tick();
      while (!io_->in_flight.empty() && !io_->closed) {
        std::string w = std::move(io_->in_flight.front());
        io_->in_flight.pop_front();
        conn_->OnWriteDone(w.size(), 0);
        Status s = client_->OnNetworkInput(w, &received);
        EXPECT_TRUE(s.ok()) << s.ToString();
        moved = true;
      }
      if (!moved && host_.scheduled.empty()) break;
    }
    return received;
  }

  pillarbox::testing::TempDir dir_;
  tls::SslCtxPtr server_ctx_;
  tls::SslCtxPtr client_ctx_;
  std::unique_ptr<tls::Transport> client_;
};

TEST_F(TlsConnectionTest, ImplicitTlsGreetsAfterTheHandshake) {
  ConnectionOptions o;
  o.implicit_tls = true;
  o.tls_context = server_ctx_;
  Make(o);
  EXPECT_TRUE(conn_->handshaking());
  EXPECT_FALSE(rec_->started);
  EXPECT_TRUE(Pump().empty());
  ASSERT_TRUE(client_->StartHandshake().ok());
  std::string got = Exchange();
  EXPECT_TRUE(client_->handshake_done());
  EXPECT_TRUE(rec_->started);
  EXPECT_TRUE(conn_->info().tls_active);
  EXPECT_EQ(got, "* OK hello\r\n");
  ASSERT_TRUE(client_->Write("secret data\r\n").ok());
  EXPECT_EQ(Exchange(), "ECHO secret data\r\n");
}

TEST_F(TlsConnectionTest, StartTlsDiscardsPipelinedPlaintext) {
  ConnectionOptions o;
  o.tls_context = server_ctx_;
  Make(o);
  EXPECT_TRUE(conn_->info().tls_available);
  EXPECT_FALSE(conn_->info().tls_active);
  EXPECT_EQ(Pump(), "* OK hello\r\n");
  // An attacker's injected command rides in the same packet as STARTTLS.
  conn_->OnRead("STARTTLS\r\nINJECTED\r\n");
  EXPECT_FALSE(io_->reading);  // nothing more is read as plaintext
  // The answer goes out in plaintext, then the handshake begins.
  host_.Tick();
  ASSERT_EQ(io_->in_flight.size(), 1u);
  EXPECT_EQ(io_->in_flight.front(), "OK begin TLS\r\n");
  std::string w = std::move(io_->in_flight.front());
  io_->in_flight.pop_front();
  conn_->OnWriteDone(w.size(), 0);
  EXPECT_TRUE(conn_->handshaking());
  EXPECT_TRUE(io_->reading);

  ASSERT_TRUE(client_->StartHandshake().ok());
  EXPECT_EQ(Exchange(), "");
  EXPECT_EQ(rec_->tls_established, 1);
  EXPECT_TRUE(conn_->info().tls_active);
  ASSERT_TRUE(client_->Write("after\r\n").ok());
  EXPECT_EQ(Exchange(), "ECHO after\r\n");
  // The session saw the injected line only in the STARTTLS chunk, which it
  // drops; nothing answered it.
  EXPECT_EQ(rec_->input, "STARTTLS\r\nINJECTED\r\nafter\r\n");
}

TEST_F(TlsConnectionTest, InputBufferedBeforeStartTlsIsDropped) {
  ConnectionOptions o;
  o.tls_context = server_ctx_;
  Make(o);
  Pump();
  // Pause so that a second line waits in the connection's buffer.
  conn_->OnRead("PAUSE\r\n");
  conn_->OnRead("INJECTED\r\n");
  EXPECT_EQ(conn_->buffered_input(), 10u);
  conn_->StartTls();
  EXPECT_EQ(conn_->buffered_input(), 0u);
  conn_->ResumeInput();
  Pump();
  EXPECT_EQ(rec_->input.find("INJECTED"), std::string::npos);
}

TEST_F(TlsConnectionTest, GarbageInsteadOfAHandshakeCloses) {
  ConnectionOptions o;
  o.implicit_tls = true;
  o.tls_context = server_ctx_;
  Make(o);
  conn_->OnRead("a001 LOGIN user pass\r\n");
  Pump();
  EXPECT_TRUE(io_->shutdown || io_->closed);
  EXPECT_FALSE(rec_->started);
}

TEST_F(TlsConnectionTest, HandshakeDeadline) {
  ConnectionOptions o;
  o.implicit_tls = true;
  o.tls_context = server_ctx_;
  o.handshake_timeout = std::chrono::seconds(30);
  Make(o);
  auto now = Connection::Clock::now();
  conn_->Sweep(now + std::chrono::seconds(29));
  EXPECT_FALSE(io_->closed);
  conn_->Sweep(now + std::chrono::seconds(31));
  EXPECT_TRUE(io_->closed);
  FinishClose();
  EXPECT_EQ(rec_->closed, 1);
}

TEST_F(TlsConnectionTest, CloseSendsCloseNotify) {
  ConnectionOptions o;
  o.implicit_tls = true;
  o.tls_context = server_ctx_;
  Make(o);
  ASSERT_TRUE(client_->StartHandshake().ok());
  Exchange();
  ASSERT_TRUE(client_->Write("CLOSE\r\n").ok());
  EXPECT_EQ(Exchange(), "BYE\r\n");
  EXPECT_TRUE(client_->peer_closed());
  EXPECT_TRUE(io_->shutdown);
}

}  // namespace
}  // namespace pillarbox::server
