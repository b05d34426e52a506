#include "server/connection.h"

#include <uv.h>

#include <algorithm>

#include "common/log.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "server/transcript_book.h"

namespace pillarbox::server {

Connection::Connection(std::uint64_t id, ConnectionOptions options, protocols::ConnectionInfo info,
                       ConnectionHost* host)
    : id_(id), options_(std::move(options)), info_(std::move(info)), host_(host) {
  transcript_.set_imap_literals(options_.protocol == "imap");
  info_.tls_available = options_.tls_context != nullptr;
  last_activity_ = Clock::now();
  std::string label = metrics::Label("protocol", options_.protocol);
  bytes_in_ = &Metrics::Global().Counter("bytes_received_total", label,
                                         "Bytes read from clients (on the wire), by protocol");
  bytes_out_ = &Metrics::Global().Counter("bytes_sent_total", label,
                                          "Bytes written to clients (on the wire), by protocol");
}

Connection::~Connection() {
  // The session goes first: it may still refer to context_ and to us.
  session_.reset();
}

std::string Connection::Tag() const {
  std::string tag = options_.protocol;
  tag += " #";
  tag += std::to_string(id_);
  if (session_) {
    tag += " s";
    tag += std::to_string(session_->id());
  }
  return tag;
}

bool Connection::Logging() const {
  return options_.record_transcript ||
         (options_.transcripts && spdlog::should_log(spdlog::level::debug));
}

void Connection::TranscriptLine(char direction, const std::string& line) {
  if (options_.transcripts) LOG_DEBUG("{} {}: {}", Tag(), direction, line);
  if (options_.record_transcript && session_) {
    TranscriptBook::Global().Add(session_->id(), direction, line);
  }
}

void Connection::Note(std::string_view text) {
  if (Logging()) TranscriptLine('!', LogSafe(text));
}

void Connection::Start(const protocols::SessionFactory& factory,
                       const protocols::SessionContext& context) {
  context_ = context;
  if (options_.implicit_tls) {
    info_.tls_active = false;  // set when the handshake completes
  }
  session_ = factory(context_, info_, *this);
  if (!session_) {
    Fail("no session for protocol " + options_.protocol);
    return;
  }
  if (options_.record_transcript) {
    TranscriptBook::Global().Open(session_->id(), options_.protocol, info_.peer_ip);
  }
  reading_ = true;
  io_->StartReading();
  if (options_.implicit_tls) {
    StartHandshake();
  } else {
    started_ = true;
    session_->Start();
  }
}

void Connection::Refuse(std::string line) {
  // On an implicit-TLS port a refusal would first cost a handshake; such
  // clients are simply disconnected.
  if (options_.implicit_tls) {
    Abort();
    return;
  }
  Enqueue(std::move(line));
  Close();
}

void Connection::StartHandshake() {
  auto t = tls::Transport::Make(options_.tls_context.get(), tls::Transport::Role::kServer);
  if (!t.ok()) {
    Fail(t.status().ToString());
    return;
  }
  tls_ = std::move(*t);
  handshaking_ = true;
  handshake_started_ = Clock::now();
}

void Connection::OnHandshakeDone() {
  handshaking_ = false;
  info_.tls_active = true;
  LOG_DEBUG("{}: TLS established ({})", Tag(), tls_->Describe());
  if (!started_) {
    started_ = true;
    session_->Start();
  } else {
    session_->OnTlsEstablished();
  }
}

void Connection::Fail(const std::string& why) {
  LOG_INFO("{}: {}: disconnecting", Tag(), why);
  Abort();
}

// --- input ---------------------------------------------------------------

void Connection::OnRead(std::string_view bytes) {
  bytes_in_->fetch_add(bytes.size(), std::memory_order_relaxed);
  if (handle_closing_ || closing_) return;
  last_activity_ = Clock::now();
  if (!tls_) {
    Deliver(bytes);
    return;
  }
  std::string plaintext;
  bool was_handshaking = handshaking_;
  Status s = tls_->OnNetworkInput(bytes, &plaintext);
  // Handshake messages, alerts and TLS 1.3 tickets go out whatever happens.
  if (std::string out = tls_->TakeNetworkOutput(); !out.empty()) Enqueue(std::move(out));
  if (!s.ok()) {
    LOG_INFO("{}: {} ({})", Tag(), s.message(), info_.peer_ip);
    // Let a fatal alert reach the peer, then close.
    Close();
    return;
  }
  if (was_handshaking && tls_->handshake_done()) OnHandshakeDone();
  if (!plaintext.empty() && !closing_ && !handle_closing_) Deliver(plaintext);
  if (tls_->peer_closed() && !closing_) OnReadEnd(0);
}

void Connection::Deliver(std::string_view plaintext) {
  if (deflate_) {
    // Inflated as the session takes it (ProcessInput), so that a small
    // input that expands enormously never sits in memory whole.
    deflate_->Feed(plaintext);
  } else {
    if (Logging()) {
      transcript_.Input(plaintext, [&](const std::string& line) { TranscriptLine('C', line); });
    }
    if (in_pos_ == in_.size()) {
      in_.clear();
      in_pos_ = 0;
    }
    in_.append(plaintext);
  }
  UpdateCharge();
  UpdateReading();
  ProcessInput();
}

void Connection::InflateInput(std::size_t max) {
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  std::size_t before = in_.size();
  Status s = deflate_->Inflate(max, &in_);
  if (!s.ok()) {
    Fail(s.message());
    return;
  }
  if (Logging() && in_.size() > before) {
    transcript_.Input(std::string_view(in_).substr(before),
                      [&](const std::string& line) { TranscriptLine('C', line); });
  }
}

bool Connection::InputBlocked() const {
  return paused_ || output_blocked_ || closing_ || handle_closing_ || starttls_pending_ ||
         handshaking_ || !started_;
}

void Connection::UpdateCharge() {
  // A large input buffer left behind by a burst is given back once empty
  // (not while the session reads a view of it).
  if (!processing_ && in_pos_ == in_.size() && in_.capacity() > 4 * kMaxBytesPerWakeup) {
    std::string().swap(in_);
    in_pos_ = 0;
  }
  charge_.Set(in_.size() + QueuedBytes() +
              (deflate_ ? deflate_->pending_input() + kDeflateStateBytes : 0));
}

void Connection::ProcessInput() {
  if (processing_) return;  // the outer call continues
  processing_ = true;
  std::size_t budget = kMaxBytesPerWakeup;
  for (;;) {
    // A client that sends without reading our answers gets no more of its
    // input handled until it has read them: whatever the protocol, input
    // never turns into unbounded queued output.
    if (QueuedBytes() >= options_.output_high_water) output_blocked_ = true;
    if (budget == 0 || InputBlocked()) break;
    // Compressed input is inflated only once the session took the last
    // piece, at most a wake-up's worth at a time.
    if (in_pos_ >= in_.size() && deflate_ && deflate_->input_pending()) {
      InflateInput(budget);
      if (handle_closing_) break;
    }
    if (in_pos_ >= in_.size()) break;
    std::size_t n = std::min(in_.size() - in_pos_, budget);
    std::string_view chunk(in_.data() + in_pos_, n);
    in_pos_ += n;
    budget -= n;
    // The session may call Close(), StartTls() or PauseInput() from here;
    // they only set flags that this loop checks, and the view stays valid
    // because in_ is not touched until the session returns.
    session_->OnInput(chunk);
    if (discard_input_) {
      discard_input_ = false;
      in_.clear();
      in_pos_ = 0;
    }
  }
  processing_ = false;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > kMaxBytesPerWakeup) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  if (HasInput() && !InputBlocked()) {
    host_->ScheduleTick(this);  // the rest after other clients had a turn
  }
  UpdateCharge();
  UpdateReading();
  CloseIfDoneAfterEof();
}

void Connection::UpdateReading() {
  bool want = !handle_closing_ && !closing_ && !starttls_pending_ && !peer_eof_ &&
              buffered_input() < kMaxBufferedInput;
  if (want == reading_) return;
  reading_ = want;
  if (want) {
    io_->StartReading();
  } else {
    io_->StopReading();
  }
}

void Connection::OnReadEnd(int error) {
  if (handle_closing_) return;
  if (error != 0) {
    LOG_DEBUG("{}: read error: {}", Tag(), uv_strerror(error));
    Abort();
    return;
  }
  LOG_DEBUG("{}: client closed the connection", Tag());
  peer_eof_ = true;
  UpdateReading();
  // What the client sent before its EOF is still answered (a client may
  // send "QUIT" and half-close); then we close too.
  ProcessInput();
  CloseIfDoneAfterEof();
}

void Connection::CloseIfDoneAfterEof() {
  if (!peer_eof_ || closing_ || handle_closing_) return;
  if (!started_ || handshaking_ || starttls_pending_) {
    Close();
    return;
  }
  if (!HasInput() && !paused_) Close();
}

void Connection::PauseInput() { paused_ = true; }

void Connection::ResumeInput() {
  if (!paused_) return;
  paused_ = false;
  if (HasInput() || peer_eof_) host_->ScheduleTick(this);
  UpdateReading();
}

bool Connection::StartCompression() {
  if (deflate_ || closing_ || handle_closing_ || starttls_pending_ || handshaking_) return false;
  auto d = DeflateStream::Make();
  if (!d.ok()) {
    LOG_WARN("{}: {}", Tag(), d.status().ToString());
    return false;
  }
  deflate_ = std::move(*d);
  info_.compressed = true;
  // Input the session has not been given arrived after the command: it is
  // compressed. in_ itself is not touched (the session may hold a view).
  if (in_pos_ < in_.size()) {
    deflate_->Feed(std::string_view(in_).substr(in_pos_));
    in_pos_ = in_.size();
  }
  UpdateCharge();
  return true;
}

// --- output ----------------------------------------------------------------

void Connection::Write(std::string bytes) {
  if (closing_ || handle_closing_ || bytes.empty()) return;
  if (Logging()) {
    transcript_.Output(bytes, [&](const std::string& line) { TranscriptLine('S', line); });
  }
  if (deflate_) {
    std::string z;
    Status s = deflate_->Compress(bytes, &z);
    if (!s.ok()) {
      Fail(s.message());
      return;
    }
    SendPlain(std::move(z));
    // The sync flush comes at the next tick, after the other Write()s of
    // this round: one flush marker per burst, not per line.
    host_->ScheduleTick(this);
    return;
  }
  SendPlain(std::move(bytes));
}

void Connection::SendPlain(std::string bytes) {
  if (bytes.empty()) return;
  if (tls_) {
    Status s = tls_->Write(bytes);
    if (!s.ok()) {
      Fail(s.message());
      return;
    }
    if (std::string out = tls_->TakeNetworkOutput(); !out.empty()) Enqueue(std::move(out));
  } else {
    Enqueue(std::move(bytes));
  }
}

void Connection::FlushCompressed() {
  if (!deflate_ || !deflate_->flush_needed() || handle_closing_) return;
  std::string z;
  Status s = deflate_->Flush(&z);
  if (!s.ok()) {
    Fail(s.message());
    return;
  }
  SendPlain(std::move(z));
}

void Connection::Enqueue(std::string bytes) {
  if (handle_closing_ || bytes.empty()) return;
  queued_bytes_ += bytes.size();
  out_.push_back(std::move(bytes));
  UpdateCharge();
  if (QueuedBytes() > options_.output_hard_limit) {
    LOG_WARN("{}: {} bytes of output queued: client not reading; disconnecting", Tag(),
             QueuedBytes());
    Abort();
    return;
  }
  if (QueuedBytes() >= options_.output_low_water) drain_armed_ = true;
  // Written at the next tick, so that many small Write()s of one command
  // leave in one system call.
  host_->ScheduleTick(this);
}

void Connection::FlushOutput() {
  if (handle_closing_ || write_in_flight_ || out_.empty()) return;
  // Coalesce small pieces and cut big ones, up to kMaxBytesPerWakeup.
  std::string chunk;
  while (!out_.empty() && chunk.size() < kMaxBytesPerWakeup) {
    std::string& front = out_.front();
    std::size_t avail = front.size() - out_front_pos_;
    std::size_t take = std::min(avail, kMaxBytesPerWakeup - chunk.size());
    if (chunk.empty() && out_front_pos_ == 0 && take == front.size()) {
      chunk = std::move(front);  // the common case: no copy
    } else {
      chunk.append(front, out_front_pos_, take);
    }
    if (take == avail) {
      out_.pop_front();
      out_front_pos_ = 0;
    } else {
      out_front_pos_ += take;
    }
  }
  queued_bytes_ -= chunk.size();
  in_flight_bytes_ += chunk.size();
  write_in_flight_ = true;
  io_->Write(std::move(chunk));
}

void Connection::OnWriteDone(std::size_t bytes, int status) {
  write_in_flight_ = false;
  in_flight_bytes_ -= std::min(bytes, in_flight_bytes_);
  if (status == 0) bytes_out_->fetch_add(bytes, std::memory_order_relaxed);
  UpdateCharge();
  if (handle_closing_) return;
  if (status != 0) {
    LOG_DEBUG("{}: write failed: {}", Tag(), uv_strerror(status));
    Abort();
    return;
  }
  // A client taking a bulk transfer (a large RETR or FETCH) is busy, not
  // idle, though it sends nothing. Small writes (IDLE keepalives) do not
  // count, so an abandoned client still times out.
  if (bytes >= kBulkWriteActivity || QueuedBytes() > 0) last_activity_ = Clock::now();
  if (!out_.empty()) {
    // One write per wake-up; the next one after other clients had a turn.
    host_->ScheduleTick(this);
  }
  if (drain_armed_ && QueuedBytes() < options_.output_low_water && !closing_ && session_ &&
      started_ && !starttls_pending_ && !handshaking_) {
    drain_armed_ = false;
    session_->OnDrained();
  }
  if (output_blocked_ && QueuedBytes() < options_.output_low_water && !handle_closing_) {
    // The client read its answers: its input is handled again.
    output_blocked_ = false;
    if (HasInput() || peer_eof_) host_->ScheduleTick(this);
  }
  if (QueuedBytes() == 0) {
    if (starttls_pending_) {
      starttls_pending_ = false;
      StartHandshake();
      UpdateReading();
    } else if (closing_) {
      ContinueClose();
    }
  }
}

void Connection::OnTick() {
  if (handle_closing_) return;
  FlushCompressed();
  FlushOutput();
  if (starttls_pending_ && QueuedBytes() == 0) {
    starttls_pending_ = false;
    StartHandshake();
    UpdateReading();
  }
  if (closing_) {
    ContinueClose();
    return;
  }
  ProcessInput();
}

// --- STARTTLS ----------------------------------------------------------------

void Connection::StartTls() {
  if (closing_ || handle_closing_ || tls_ || starttls_pending_) return;
  if (!options_.tls_context) {
    Fail("STARTTLS without a TLS context");
    return;
  }
  // Whatever the client pipelined after the command is plaintext it must
  // not be able to inject into the TLS session: drop it, and read nothing
  // more until our answer is flushed; from then on every byte is TLS.
  starttls_pending_ = true;
  if (processing_) {
    discard_input_ = true;
  } else {
    in_.clear();
    in_pos_ = 0;
  }
  UpdateReading();
  host_->ScheduleTick(this);
}

// --- closing -------------------------------------------------------------------

void Connection::Close() {
  if (closing_ || handle_closing_) return;
  closing_ = true;
  close_started_ = Clock::now();
  if (processing_) {
    discard_input_ = true;
  } else {
    in_.clear();
    in_pos_ = 0;
  }
  UpdateReading();
  // The goodbye the session just wrote leaves before close_notify.
  FlushCompressed();
  if (tls_ && tls_->handshake_done()) {
    tls_->Shutdown();
    if (std::string out = tls_->TakeNetworkOutput(); !out.empty()) Enqueue(std::move(out));
  }
  host_->ScheduleTick(this);
}

void Connection::ContinueClose() {
  if (handle_closing_) return;
  if (QueuedBytes() > 0) {
    FlushOutput();
    return;
  }
  if (shutdown_sent_) return;
  shutdown_sent_ = true;
  io_->Shutdown();
}

void Connection::OnShutdownDone(int /*status*/) {
  // Closing right after uv_shutdown's callback: the FIN has been sent
  // after all our data.
  Abort();
}

void Connection::Abort() {
  if (handle_closing_) return;
  handle_closing_ = true;
  closing_ = true;
  reading_ = false;
  io_->Close();
  // Nothing more is read or handed to the session.
  if (processing_) {
    discard_input_ = true;
  } else {
    std::string().swap(in_);
    in_pos_ = 0;
  }
  UpdateCharge();
}

void Connection::OnHandleClosed() {
  if (closed_) return;
  closed_ = true;
  if (session_) session_->OnClosed();
  if (session_ && options_.record_transcript) TranscriptBook::Global().Close(session_->id());
  if (deflate_) {
    LOG_DEBUG("{}: compressed: out {} -> {} bytes, in {} -> {} bytes", Tag(), deflate_->plain_out(),
              deflate_->wire_out(), deflate_->wire_in(), deflate_->plain_in());
  }
  LOG_DEBUG("{}: closed", Tag());
  host_->OnConnectionClosed(this);  // destroys this
}

void Connection::Shutdown() {
  if (closing_ || handle_closing_) return;
  if (session_ && started_ && !handshaking_ && !starttls_pending_) {
    session_->OnShutdown();
    // A session that did not close itself is closed for it.
    Close();
  } else {
    Abort();
  }
}

void Connection::Sweep(Clock::time_point now) {
  if (handle_closing_) return;
  if (closing_) {
    if (now - close_started_ > kCloseFlushTimeout) {
      LOG_DEBUG("{}: output not drained after close; cutting off", Tag());
      Abort();
    }
    return;
  }
  if (options_.login_timeout.count() > 0 && !authenticated() &&
      now - created_ > options_.login_timeout) {
    LOG_INFO("{}: not logged in {} s after connecting ({}): disconnecting", Tag(),
             options_.login_timeout.count(), info_.peer_ip);
    if (session_ && started_ && !handshaking_ && !starttls_pending_) {
      session_->OnLoginTimeout();
      Close();  // a session that did not close itself is closed for it
    } else {
      Abort();
    }
    return;
  }
  if (handshaking_ || starttls_pending_) {
    auto since = handshaking_ ? handshake_started_ : last_activity_;
    if (now - since > options_.handshake_timeout) {
      Fail("TLS handshake timed out");
    }
    return;
  }
  if (session_ && started_ && now - last_activity_ > session_->IdleTimeout()) {
    LOG_DEBUG("{}: idle for {} s", Tag(),
              std::chrono::duration_cast<std::chrono::seconds>(now - last_activity_).count());
    last_activity_ = now;  // one notice per timeout period
    session_->OnIdleTimeout();
  }
}

}  // namespace pillarbox::server
