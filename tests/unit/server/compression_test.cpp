// COMPRESS=DEFLATE at the connection: the DeflateStream codec, and the
// connection compressing between its session and the socket: the answer to
// the command leaves uncompressed, everything after it is raw deflate both
// ways, every burst of output ends with a sync flush, and compressed input
// is inflated only as fast as the session takes it (a "zip bomb" stays
// compressed in memory).
#include <gtest/gtest.h>
#include <zlib.h>

#include "server/connection.h"
#include "server/deflate_stream.h"
#include "test_helpers.h"

namespace pillarbox::server {
namespace {

using testing::EchoSession;
using testing::FakeHost;
using testing::FakeIo;

// The client's side of the stream, with zlib directly.
class Peer {
 public:
  Peer() {
    EXPECT_EQ(deflateInit2(&d_, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    EXPECT_EQ(inflateInit2(&i_, -15), Z_OK);
  }
  ~Peer() {
    deflateEnd(&d_);
    inflateEnd(&i_);
  }
  std::string Compress(std::string_view plain, int flush = Z_SYNC_FLUSH) {
    std::string out;
    d_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    d_.avail_in = static_cast<uInt>(plain.size());
    do {
      char buf[16384];
      d_.next_out = reinterpret_cast<Bytef*>(buf);
      d_.avail_out = sizeof buf;
      deflate(&d_, flush);
      out.append(buf, sizeof buf - d_.avail_out);
    } while (d_.avail_out == 0);
    return out;
  }
  std::string Inflate(std::string_view z) {
    std::string out;
    i_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
    i_.avail_in = static_cast<uInt>(z.size());
    do {
      char buf[16384];
      i_.next_out = reinterpret_cast<Bytef*>(buf);
      i_.avail_out = sizeof buf;
      int rc = inflate(&i_, Z_SYNC_FLUSH);
      EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
      out.append(buf, sizeof buf - i_.avail_out);
    } while (i_.avail_out == 0);
    return out;
  }

 private:
  z_stream d_{};
  z_stream i_{};
};

// ---- DeflateStream ------------------------------------------------------------

TEST(DeflateStreamTest, RoundTripsAndEndsEachFlushWithTheSyncMarker) {
  auto d = DeflateStream::Make();
  ASSERT_TRUE(d.ok());
  Peer peer;
  std::string z;
  ASSERT_TRUE((*d)->Compress("* OK hello\r\n", &z).ok());
  EXPECT_TRUE((*d)->flush_needed());
  ASSERT_TRUE((*d)->Flush(&z).ok());
  EXPECT_FALSE((*d)->flush_needed());
  ASSERT_GE(z.size(), 4u);
  EXPECT_EQ(z.substr(z.size() - 4), std::string("\x00\x00\xff\xff", 4));
  EXPECT_EQ(peer.Inflate(z), "* OK hello\r\n");
  // A flush with nothing new writes nothing.
  std::string none;
  ASSERT_TRUE((*d)->Flush(&none).ok());
  EXPECT_EQ(none, "");

  (*d)->Feed(peer.Compress("a NOOP\r\n"));
  std::string plain;
  ASSERT_TRUE((*d)->Inflate(1 << 20, &plain).ok());
  EXPECT_EQ(plain, "a NOOP\r\n");
  EXPECT_FALSE((*d)->input_pending());
}

TEST(DeflateStreamTest, InflatesNoMoreThanAsked) {
  auto d = DeflateStream::Make();
  ASSERT_TRUE(d.ok());
  Peer peer;
  // 8 MiB of zeros compress to about 8 KiB.
  std::string bomb = peer.Compress(std::string(8u << 20, '\0'));
  ASSERT_LT(bomb.size(), 64u * 1024);
  (*d)->Feed(bomb);
  std::size_t total = 0;
  int calls = 0;
  while ((*d)->input_pending() && calls < 1000) {
    std::string out;
    ASSERT_TRUE((*d)->Inflate(64 * 1024, &out).ok());
    EXPECT_LE(out.size(), 64u * 1024);
    total += out.size();
    ++calls;
  }
  EXPECT_EQ(total, 8u << 20);
  EXPECT_LE(calls, 129);  // the last one may find zlib's buffer empty
}

TEST(DeflateStreamTest, CorruptInputAndDataAfterTheEndAreErrors) {
  auto d = DeflateStream::Make();
  ASSERT_TRUE(d.ok());
  // Block type 3 is reserved.
  (*d)->Feed(std::string("\xff\xff\xff\xff", 4));
  std::string out;
  EXPECT_FALSE((*d)->Inflate(1024, &out).ok());

  auto e = DeflateStream::Make();
  ASSERT_TRUE(e.ok());
  Peer peer;
  (*e)->Feed(peer.Compress("bye\r\n", Z_FINISH) + "junk");
  out.clear();
  EXPECT_FALSE((*e)->Inflate(1024, &out).ok());
  EXPECT_EQ(out, "bye\r\n");
}

// ---- the connection --------------------------------------------------------------

class CompressionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConnectionOptions options;
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
    conn_->Start(
        [rec](protocols::SessionContext&, protocols::ConnectionInfo&,
              protocols::SessionOutput& out) { return std::make_unique<EchoSession>(out, rec); },
        protocols::SessionContext{});
    EXPECT_EQ(Pump(), "* OK hello\r\n");
  }

  // Ticks and write completions until nothing moves; what went on the wire.
  std::string Pump(bool complete_writes = true) {
    std::string wire;
    for (int i = 0; i < 100000; ++i) {
      bool moved = host_.Tick();
      while (complete_writes && !io_->in_flight.empty() && !io_->closed) {
        std::string w = std::move(io_->in_flight.front());
        io_->in_flight.pop_front();
        wire += w;
        conn_->OnWriteDone(w.size(), 0);
        moved = true;
      }
      if (!moved) break;
    }
    return wire;
  }

  // Sends COMPRESS; returns what came back before compression.
  void StartCompression() {
    conn_->OnRead("COMPRESS\r\n");
    EXPECT_EQ(Pump(), "OK compress\r\n");
    EXPECT_TRUE(rec_->compressed);
    EXPECT_TRUE(conn_->info().compressed);
  }

  FakeHost host_;
  FakeIo* io_ = nullptr;
  std::unique_ptr<Connection> conn_;
  std::shared_ptr<EchoSession::Record> rec_;
  Peer peer_;
};

TEST_F(CompressionTest, BothDirectionsAfterTheAnswer) {
  StartCompression();
  conn_->OnRead(peer_.Compress("hello\r\nworld\r\n"));
  std::string wire = Pump();
  // The two answers of one burst leave with one flush marker.
  ASSERT_GE(wire.size(), 4u);
  EXPECT_EQ(wire.substr(wire.size() - 4), std::string("\x00\x00\xff\xff", 4));
  EXPECT_EQ(wire.find(std::string("\x00\x00\xff\xff", 4)), wire.size() - 4);
  EXPECT_EQ(peer_.Inflate(wire), "ECHO hello\r\nECHO world\r\n");
  // Input split anywhere inside the compressed stream.
  std::string z = peer_.Compress("split\r\n");
  for (char c : z) conn_->OnRead(std::string(1, c));
  EXPECT_EQ(peer_.Inflate(Pump()), "ECHO split\r\n");
  // A second COMPRESS is the session's business; the connection refuses.
  conn_->OnRead(peer_.Compress("COMPRESS\r\n"));
  EXPECT_EQ(peer_.Inflate(Pump()), "OK compress\r\n");
  EXPECT_FALSE(rec_->compressed);
}

TEST_F(CompressionTest, OutputWrittenBeforeCloseIsFlushed) {
  StartCompression();
  conn_->OnRead(peer_.Compress("CLOSE\r\n"));
  std::string wire = Pump();
  EXPECT_EQ(peer_.Inflate(wire), "BYE\r\n");
  EXPECT_TRUE(io_->shutdown);
}

TEST_F(CompressionTest, UnprocessedInputAfterTheCommandIsInflated) {
  // A client that did not wait for the answer: what the session has not
  // been given yet is taken as compressed.
  std::string input = "COMPRESS\r\n" + peer_.Compress("early\r\n");
  conn_->OnRead(input.substr(0, 10));
  std::string wire = Pump();
  EXPECT_EQ(wire, "OK compress\r\n");
  conn_->OnRead(input.substr(10));
  EXPECT_EQ(peer_.Inflate(Pump()), "ECHO early\r\n");
}

TEST_F(CompressionTest, CorruptInputDisconnects) {
  StartCompression();
  conn_->OnRead(std::string("\xff\xff\xff\xff", 4));
  Pump();
  EXPECT_TRUE(io_->closed);
}

TEST_F(CompressionTest, ZipBombStaysCompressedWhileTheSessionIsPaused) {
  StartCompression();
  // PAUSE, then 16 MiB of one byte: about 16 KiB on the wire.
  std::string bomb = peer_.Compress("PAUSE\r\n" + std::string(16u << 20, 'A'));
  ASSERT_LT(bomb.size(), 64u * 1024);
  conn_->OnRead(bomb);
  Pump();
  // The session took the PAUSE line's piece and nothing more was inflated.
  EXPECT_LE(rec_->input.size(), 10 + kMaxBytesPerWakeup);  // "COMPRESS\r\n" + one piece
  EXPECT_LT(conn_->held(), bomb.size() + kMaxBytesPerWakeup + kDeflateStateBytes);
  EXPECT_TRUE(io_->reading);  // the compressed bytes are under the input cap
}

TEST_F(CompressionTest, ZipBombReachesTheSessionInBoundedPieces) {
  StartCompression();
  std::string bomb = peer_.Compress(std::string(16u << 20, 'A'));
  conn_->OnRead(bomb);
  Pump();
  std::size_t total = 0, largest = 0;
  for (std::size_t n : rec_->chunks) {
    total += n;
    largest = std::max(largest, n);
  }
  EXPECT_EQ(rec_->input.size(), std::size_t{10} + (16u << 20));  // "COMPRESS\r\n" + the bomb
  EXPECT_LE(largest, kMaxBytesPerWakeup);
  EXPECT_EQ(total, rec_->input.size());
}

}  // namespace
}  // namespace pillarbox::server
