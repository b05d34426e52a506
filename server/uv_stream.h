// StreamIo on a libuv stream (a TCP socket or a unix socket). Owns the
// handle, which is freed only in its close callback; owns each write's bytes
// until that write's callback. A write or shutdown that libuv refuses at
// once is reported from the loop like any other completion (StreamIo's
// promise): an idle handle, made on the first such failure, runs it.
//
// Threads: loop thread only.
#pragma once

#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/connection.h"

namespace pillarbox::server {

class UvStream final : public StreamIo {
 public:
  enum class Kind { kTcp, kPipe };
  // Initializes the handle on `loop`. REQUIRES: Bind() before any other use.
  UvStream(uv_loop_t* loop, Kind kind);
  ~UvStream() override;
  // The connection that receives the callbacks.
  void Bind(Connection* conn) { conn_ = conn; }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(handle_); }
  bool closed() const { return closing_; }

  void StartReading() override;
  void StopReading() override;
  void Write(std::string bytes) override;
  void Shutdown() override;
  void Close() override;

 private:
  static void OnAlloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void OnWrite(uv_write_t* req, int status) noexcept;
  static void OnShutdown(uv_shutdown_t* req, int status) noexcept;
  static void OnClose(uv_handle_t* handle) noexcept;
  static void OnDeferredCb(uv_idle_t* handle) noexcept;
  static void OnDeferredClose(uv_handle_t* handle) noexcept;

  struct FailedWrite {
    std::size_t bytes;
    int status;
  };
  // Queues a failure for the loop's next round.
  void Defer();
  // Reports the queued failures to the connection.
  void RunDeferred();
  // Both handles are closed: the queued failures, then the close.
  void FinishClose();

  // Either a uv_tcp_t or a uv_pipe_t, heap-allocated so that its address is
  // stable; freed in OnClose.
  uv_handle_t* handle_ = nullptr;
  // Runs the deferred failures; null until the first one.
  uv_idle_t* deferred_ = nullptr;
  std::vector<FailedWrite> failed_writes_;
  std::optional<int> failed_shutdown_;
  Connection* conn_ = nullptr;
  bool closing_ = false;
  // One read buffer per stream, reused (reads are copied out at once).
  std::unique_ptr<char[]> read_buf_;
};

}  // namespace pillarbox::server
