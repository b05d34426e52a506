#include "server/uv_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common/log.h"

namespace pillarbox::server {
namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;

struct WriteReq {
  uv_write_t req;
  std::string bytes;
  UvStream* stream;
};

// Acknowledges what was just read at once instead of after the delayed-ACK
// timer (40 ms on Linux). A client with Nagle's algorithm on that writes a
// literal and then the CRLF ending the command (Python's imaplib, many
// others) holds that CRLF until the literal is acknowledged, and the server
// has nothing to say before it has the whole command: without this, each such
// command waits for the timer. Linux clears the option by itself after a
// while, so it is set again after every read (Dovecot does the same).
void AckReadsPromptly(uv_handle_t* handle) {
#ifdef TCP_QUICKACK
  if (handle->type != UV_TCP) return;
  uv_os_fd_t fd;
  if (uv_fileno(handle, &fd) != 0) return;
  int on = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
#else
  (void)handle;
#endif
}

}  // namespace

UvStream::UvStream(uv_loop_t* loop, Kind kind) {
  if (kind == Kind::kTcp) {
    auto* tcp = new uv_tcp_t;
    uv_tcp_init(loop, tcp);
    handle_ = reinterpret_cast<uv_handle_t*>(tcp);
  } else {
    auto* pipe = new uv_pipe_t;
    uv_pipe_init(loop, pipe, 0);
    handle_ = reinterpret_cast<uv_handle_t*>(pipe);
  }
  handle_->data = this;
}

UvStream::~UvStream() {
  // The handle must have been closed (OnClose cleared the pointer); if the
  // owner is destroyed early, the handle stays valid and is freed by its
  // close callback.
  if (deferred_ != nullptr) {
    deferred_->data = nullptr;
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(deferred_))) {
      uv_close(reinterpret_cast<uv_handle_t*>(deferred_), OnDeferredClose);
    }
  }
  if (handle_ != nullptr) {
    handle_->data = nullptr;
    if (!closing_) uv_close(handle_, OnClose);
  }
}

void UvStream::StartReading() {
  if (closing_) return;
  int r = uv_read_start(stream(), OnAlloc, OnRead);
  if (r != 0 && r != UV_EALREADY) LOG_DEBUG("uv_read_start: {}", uv_strerror(r));
}

void UvStream::StopReading() {
  if (closing_) return;
  uv_read_stop(stream());
}

void UvStream::Write(std::string bytes) {
  if (closing_) {
    // Reported before the close, as libuv does for a write cancelled by it.
    failed_writes_.push_back({bytes.size(), UV_ECANCELED});
    return;
  }
  auto* w = new WriteReq{{}, std::move(bytes), this};
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  int r = uv_write(&w->req, stream(), &buf, 1, OnWrite);
  if (r != 0) {
    failed_writes_.push_back({w->bytes.size(), r});
    delete w;
    Defer();
  }
}

void UvStream::Shutdown() {
  if (closing_) return;
  auto* req = new uv_shutdown_t;
  req->data = this;
  int r = uv_shutdown(req, stream(), OnShutdown);
  if (r != 0) {
    delete req;
    failed_shutdown_ = r;
    Defer();
  }
}

void UvStream::Close() {
  if (closing_) return;
  closing_ = true;
  if (deferred_ != nullptr) uv_close(reinterpret_cast<uv_handle_t*>(deferred_), OnDeferredClose);
  uv_close(handle_, OnClose);
}

void UvStream::Defer() {
  if (deferred_ == nullptr) {
    deferred_ = new uv_idle_t;
    uv_idle_init(handle_->loop, deferred_);
    deferred_->data = this;
  }
  uv_idle_start(deferred_, OnDeferredCb);
}

void UvStream::RunDeferred() {
  std::vector<FailedWrite> writes;
  writes.swap(failed_writes_);
  std::optional<int> shutdown;
  shutdown.swap(failed_shutdown_);
  if (!conn_) return;
  for (const FailedWrite& f : writes) conn_->OnWriteDone(f.bytes, f.status);
  if (shutdown && !closing_) conn_->OnShutdownDone(*shutdown);
}

void UvStream::OnDeferredCb(uv_idle_t* handle) noexcept {
  uv_idle_stop(handle);
  auto* self = static_cast<UvStream*>(handle->data);
  if (!self || self->closing_) return;  // the close reports them
  try {
    self->RunDeferred();
  } catch (const std::exception& e) {
    LOG_ERROR("connection write handler: {}", e.what());
    if (self->conn_) self->conn_->Abort();
  }
}

void UvStream::OnDeferredClose(uv_handle_t* handle) noexcept {
  auto* self = static_cast<UvStream*>(handle->data);
  delete reinterpret_cast<uv_idle_t*>(handle);
  if (!self) return;
  self->deferred_ = nullptr;
  self->FinishClose();
}

void UvStream::FinishClose() {
  if (handle_ != nullptr || deferred_ != nullptr) return;
  try {
    RunDeferred();
  } catch (const std::exception& e) {
    LOG_ERROR("connection write handler: {}", e.what());
  }
  if (conn_) conn_->OnHandleClosed();  // may destroy this
}

void UvStream::OnAlloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
  auto* self = static_cast<UvStream*>(handle->data);
  if (!self) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  if (!self->read_buf_) self->read_buf_.reset(new char[kReadBufferSize]);
  *buf = uv_buf_init(self->read_buf_.get(), kReadBufferSize);
}

void UvStream::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<UvStream*>(stream->data);
  if (!self || !self->conn_ || self->closing_) return;
  try {
    if (nread > 0) {
      AckReadsPromptly(self->handle_);
      self->conn_->OnRead(std::string_view(buf->base, static_cast<std::size_t>(nread)));
    } else if (nread == UV_EOF) {
      self->conn_->OnReadEnd(0);
    } else if (nread < 0) {
      self->conn_->OnReadEnd(static_cast<int>(nread));
    }
  } catch (const std::exception& e) {
    LOG_ERROR("connection input handler: {}", e.what());
    self->conn_->Abort();
  }
}

void UvStream::OnWrite(uv_write_t* req, int status) noexcept {
  auto* w = static_cast<WriteReq*>(req->data);
  UvStream* self = w->stream;
  std::size_t n = w->bytes.size();
  delete w;
  if (!self->conn_) return;
  try {
    self->conn_->OnWriteDone(n, status);
  } catch (const std::exception& e) {
    LOG_ERROR("connection write handler: {}", e.what());
    self->conn_->Abort();
  }
}

void UvStream::OnShutdown(uv_shutdown_t* req, int status) noexcept {
  auto* self = static_cast<UvStream*>(req->data);
  delete req;
  if (!self->conn_ || status == UV_ECANCELED) return;
  self->conn_->OnShutdownDone(status);
}

void UvStream::OnClose(uv_handle_t* handle) noexcept {
  auto* self = static_cast<UvStream*>(handle->data);
  if (handle->type == UV_TCP) {
    delete reinterpret_cast<uv_tcp_t*>(handle);
  } else {
    delete reinterpret_cast<uv_pipe_t*>(handle);
  }
  if (!self) return;
  self->handle_ = nullptr;
  self->FinishClose();  // may destroy self
}

}  // namespace pillarbox::server
