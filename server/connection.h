// Connection: one client socket under one protocol session.
//
// The connection owns the session, an optional TLS transport, and bounded
// input and output buffers. It implements protocols::SessionOutput for its
// session. The socket is reached through StreamIo, so that the buffering,
// backpressure, STARTTLS and close state machine can be driven by a unit
// test with a fake stream (tests/unit/server/connection_test.cpp); the
// server gives it a libuv stream (server/uv_stream.h).
//
// Lifetime: created by the server at accept, destroyed by ConnectionHost
// only from OnHandleClosed() — the close callback of its handle — which
// libuv never runs while a read or write callback is on the stack; so a
// session is never freed inside its own input handler. Close() and Abort()
// are idempotent and only start the close.
//
// Threads: loop thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/memory_budget.h"
#include "protocols/session.h"
#include "server/deflate_stream.h"
#include "server/tls/tls_context.h"
#include "server/tls/tls_transport.h"
#include "server/transcript.h"

namespace pillarbox::server {

// Bytes processed (decrypted and handed to the session) per wake-up, and
// the most one write carries: one fast client cannot hold the loop
// (Redis NET_MAX_WRITES_PER_EVENT).
constexpr std::size_t kMaxBytesPerWakeup = 64 * 1024;
// Input waiting while the session paused it; above this the socket is not
// read until the session takes some.
constexpr std::size_t kMaxBufferedInput = 256 * 1024;
// A completed write at least this big counts as client activity for the
// idle sweep (the client is reading a bulk transfer).
constexpr std::size_t kBulkWriteActivity = 4096;
// Memory zlib keeps for one compressed connection (deflate at its default
// memory level and a 32 KiB window, plus inflate), charged to the budget.
constexpr std::size_t kDeflateStateBytes = 300 * 1024;
// A client that does not read its output for this long after a graceful
// close is cut off.
constexpr std::chrono::seconds kCloseFlushTimeout{30};

// The byte stream under a connection. Completions come back through the
// connection's On* methods, never from inside the call that started them.
class StreamIo {
 public:
  virtual ~StreamIo() = default;
  virtual void StartReading() = 0;
  virtual void StopReading() = 0;
  // -> Connection::OnWriteDone(bytes.size(), status)
  virtual void Write(std::string bytes) = 0;
  // -> Connection::OnShutdownDone(status)
  virtual void Shutdown() = 0;
  // -> Connection::OnHandleClosed(); pending writes complete first with an
  // error status. Called at most once.
  virtual void Close() = 0;
};

class Connection;

// What a connection needs from the server.
class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;
  // Call conn->OnTick() soon (next loop iteration): pending output to flush
  // or input left over after the per-wake-up cap.
  virtual void ScheduleTick(Connection* conn) = 0;
  // The handle is closed and the session told: destroy `conn`.
  virtual void OnConnectionClosed(Connection* conn) = 0;
};

struct ConnectionOptions {
  std::string protocol;  // "imap", "pop3", "lmtp", "smtp": logs
  bool implicit_tls = false;
  tls::SslCtxPtr tls_context;  // null: no TLS (no STARTTLS either)
  std::size_t output_high_water = 256 * 1024;
  std::size_t output_low_water = 64 * 1024;
  // Output queued beyond this (a session ignoring the watermark, a client
  // that never reads) aborts the connection.
  std::size_t output_hard_limit = 128u * 1024 * 1024;
  std::chrono::seconds handshake_timeout{30};
  // From the connection until the session is Authenticated(); input does
  // not extend it ([limits] login_timeout). 0: none.
  std::chrono::seconds login_timeout{0};
  bool transcripts = false;  // log every line at debug level
  // Record every line in TranscriptBook::Global() ([dev] transcripts).
  bool record_transcript = false;
};

class Connection final : public protocols::SessionOutput {
 public:
  using Clock = std::chrono::steady_clock;

  Connection(std::uint64_t id, ConnectionOptions options, protocols::ConnectionInfo info,
             ConnectionHost* host);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // REQUIRES: called once, before Start().
  void AttachIo(std::unique_ptr<StreamIo> io) { io_ = std::move(io); }
  // Creates the session through `factory` (with `context`, which is copied
  // per connection so that its timers die with the connection), then starts
  // it: greeting now, or after the handshake on an implicit-TLS listener.
  void Start(const protocols::SessionFactory& factory, const protocols::SessionContext& context);
  // Instead of a session: writes `line` and closes (connection limits).
  void Refuse(std::string line);

  // --- from the stream -----------------------------------------------------
  void OnRead(std::string_view bytes);
  void OnReadEnd(int error);  // 0: EOF, else a libuv error code
  void OnWriteDone(std::size_t bytes, int status);
  void OnShutdownDone(int status);
  void OnHandleClosed();

  // --- from the server -----------------------------------------------------
  void OnTick();
  // The periodic sweep: login deadline, handshake deadline, stuck graceful
  // close, session idle timeout. `now` is passed in so that tests can move
  // time.
  void Sweep(Clock::time_point now);
  // SIGTERM: the session says goodbye and closes (or we close).
  void Shutdown();
  // Immediate close: pending output is dropped.
  void Abort();

  // --- SessionOutput ---------------------------------------------------------
  void Write(std::string bytes) override;
  std::size_t QueuedBytes() const override { return queued_bytes_ + in_flight_bytes_; }
  void StartTls() override;
  void Close() override;
  void PauseInput() override;
  void ResumeInput() override;
  void Note(std::string_view text) override;
  bool StartCompression() override;

  std::uint64_t id() const { return id_; }
  const protocols::ConnectionInfo& info() const { return info_; }
  protocols::Session* session() { return session_.get(); }
  bool closing() const { return closing_ || handle_closing_; }
  bool handle_closing() const { return handle_closing_; }
  bool reading() const { return reading_; }
  bool handshaking() const { return handshaking_; }
  // Input not given to the session yet (compressed input counts as is).
  std::size_t buffered_input() const {
    return in_.size() - in_pos_ + (deflate_ ? deflate_->pending_input() : 0);
  }
  // Input is not handed to the session until the client reads its output.
  bool output_blocked() const { return output_blocked_; }
  // Bytes of input and output this connection holds (memory budget).
  std::size_t held() const { return charge_.bytes(); }
  Clock::time_point last_activity() const { return last_activity_; }
  Clock::time_point created() const { return created_; }
  // Past its login phase (protocols::Session::Authenticated()).
  bool authenticated() const { return session_ && started_ && session_->Authenticated(); }
  // For tests: pretend the last input arrived at `t`.
  void set_last_activity(Clock::time_point t) { last_activity_ = t; }

 private:
  void StartHandshake();
  void OnHandshakeDone();
  void Deliver(std::string_view plaintext);
  void ProcessInput();
  void FlushOutput();
  // Session bytes after compression: through TLS when active, then queued.
  void SendPlain(std::string bytes);
  // Ends the pending compressed output with a sync flush (before a write
  // to the socket, and before closing).
  void FlushCompressed();
  // Inflates up to `max` bytes of compressed input into in_.
  void InflateInput(std::size_t max);
  // Input remains for the session: in in_, or compressed.
  bool HasInput() const { return in_pos_ < in_.size() || (deflate_ && deflate_->input_pending()); }
  void Enqueue(std::string bytes);
  void ContinueClose();
  void CloseIfDoneAfterEof();
  void UpdateReading();
  void UpdateCharge();
  // Buffered input must wait (paused, output over high water, closing, TLS).
  bool InputBlocked() const;
  void Fail(const std::string& why);
  std::string Tag() const;
  // Transcript lines go to the debug log ([log] transcripts) and to the
  // transcript book ([dev] transcripts).
  bool Logging() const;
  void TranscriptLine(char direction, const std::string& line);

  const std::uint64_t id_;
  ConnectionOptions options_;
  protocols::ConnectionInfo info_;
  ConnectionHost* host_;
  std::unique_ptr<StreamIo> io_;
  // Declared before session_ so that it outlives the session.
  protocols::SessionContext context_;
  std::unique_ptr<protocols::Session> session_;
  std::unique_ptr<tls::Transport> tls_;
  // COMPRESS=DEFLATE: between the session and TLS; null when off.
  std::unique_ptr<DeflateStream> deflate_;

  // Input not yet given to the session: in_[in_pos_, end).
  std::string in_;
  std::size_t in_pos_ = 0;
  // Output not yet handed to the stream, and bytes handed but not written.
  std::deque<std::string> out_;
  std::size_t out_front_pos_ = 0;  // bytes of out_.front() already taken
  std::size_t queued_bytes_ = 0;
  std::size_t in_flight_bytes_ = 0;
  bool write_in_flight_ = false;
  bool drain_armed_ = false;
  // Output reached the high-water mark; input waits until it is below the
  // low-water mark.
  bool output_blocked_ = false;
  MemoryCharge charge_;

  bool started_ = false;  // session Start() ran
  bool reading_ = false;  // StreamIo is reading
  bool paused_ = false;   // the session paused input
  bool handshaking_ = false;
  bool starttls_pending_ = false;  // flushing plaintext before the handshake
  bool processing_ = false;        // inside ProcessInput (re-entrancy guard)
  bool discard_input_ = false;     // drop in_ once the session returns
  bool peer_eof_ = false;
  bool closing_ = false;  // graceful close requested
  bool shutdown_sent_ = false;
  bool handle_closing_ = false;
  bool closed_ = false;
  Clock::time_point last_activity_;
  const Clock::time_point created_ = Clock::now();
  Clock::time_point handshake_started_;
  Clock::time_point close_started_;
  Transcript transcript_;
  // GET /metrics: bytes of this connection's protocol (before TLS).
  std::atomic<std::uint64_t>* bytes_in_ = nullptr;
  std::atomic<std::uint64_t>* bytes_out_ = nullptr;
};

}  // namespace pillarbox::server
