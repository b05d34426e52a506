#include "server/tls/tls_transport.h"

#include <openssl/err.h>

#include "server/tls/tls_context.h"

namespace pillarbox::server::tls {
namespace {

// Bytes decrypted per SSL_read call.
constexpr int kReadChunk = 16 * 1024;

}  // namespace

Result<std::unique_ptr<Transport>> Transport::Make(SSL_CTX* ctx, Role role) {
  ERR_clear_error();
  std::unique_ptr<Transport> t(new Transport());
  t->ssl_ = SSL_new(ctx);
  if (!t->ssl_) return Status::Internal("SSL_new: " + TakeOpenSslError());
  t->network_in_ = BIO_new(BIO_s_mem());
  t->network_out_ = BIO_new(BIO_s_mem());
  if (!t->network_in_ || !t->network_out_) {
    BIO_free(t->network_in_);
    BIO_free(t->network_out_);
    return Status::Internal("BIO_new: " + TakeOpenSslError());
  }
  // An empty input BIO means "wait for more", not end of file.
  BIO_set_mem_eof_return(t->network_in_, -1);
  SSL_set_bio(t->ssl_, t->network_in_, t->network_out_);
  if (role == Role::kServer) {
    SSL_set_accept_state(t->ssl_);
  } else {
    SSL_set_connect_state(t->ssl_);
  }
  return t;
}

Transport::~Transport() { SSL_free(ssl_); }

Status Transport::StartHandshake() {
  std::string ignored;
  return Advance(&ignored);
}

Status Transport::OnNetworkInput(std::string_view bytes, std::string* plaintext) {
  if (failed_) return Status::IOError("TLS connection already failed");
  while (!bytes.empty()) {
    int n = BIO_write(network_in_, bytes.data(),
                      static_cast<int>(std::min<std::size_t>(bytes.size(), 1u << 30)));
    if (n <= 0) {
      failed_ = true;
      return Status::Internal("BIO_write failed");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Advance(plaintext);
}

Status Transport::Advance(std::string* plaintext) {
  ERR_clear_error();
  if (!handshake_done_) {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Status::Ok();
      failed_ = true;
      if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
        return Status::IOError("TLS handshake: connection closed by peer");
      }
      return Status::IOError("TLS handshake: " + TakeOpenSslError());
    }
    handshake_done_ = true;
    PB_RETURN_IF_ERROR(FlushPendingWrites());
  }
  char buf[kReadChunk];
  while (!peer_closed_) {
    int r = SSL_read(ssl_, buf, sizeof buf);
    if (r > 0) {
      plaintext->append(buf, static_cast<std::size_t>(r));
      continue;
    }
    int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      break;
    }
    failed_ = true;
    return Status::IOError("TLS: " + TakeOpenSslError());
  }
  return Status::Ok();
}

Status Transport::FlushPendingWrites() {
  if (pending_writes_.empty()) return Status::Ok();
  std::string pending = std::move(pending_writes_);
  pending_writes_.clear();
  return Write(pending);
}

Status Transport::Write(std::string_view plaintext) {
  if (failed_) return Status::IOError("TLS connection already failed");
  if (!handshake_done_) {
    pending_writes_.append(plaintext);
    return Status::Ok();
  }
  ERR_clear_error();
  while (!plaintext.empty()) {
    // SSL_write on a memory BIO always completes whole records; chunking
    // keeps the int conversion safe for huge buffers.
    int chunk = static_cast<int>(std::min<std::size_t>(plaintext.size(), 1u << 20));
    int r = SSL_write(ssl_, plaintext.data(), chunk);
    if (r <= 0) {
      failed_ = true;
      return Status::IOError("TLS write: " + TakeOpenSslError());
    }
    plaintext.remove_prefix(static_cast<std::size_t>(r));
  }
  return Status::Ok();
}

void Transport::Shutdown() {
  if (failed_ || !handshake_done_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string Transport::TakeNetworkOutput() {
  std::string out;
  std::size_t pending = BIO_ctrl_pending(network_out_);
  if (pending == 0) return out;
  out.resize(pending);
  int n = BIO_read(network_out_, out.data(), static_cast<int>(pending));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

std::size_t Transport::PendingNetworkOutput() const { return BIO_ctrl_pending(network_out_); }

std::string Transport::Describe() const {
  if (!handshake_done_) return {};
  std::string out = SSL_get_version(ssl_);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl_)) {
    out += ' ';
    out += SSL_CIPHER_get_name(c);
  }
  return out;
}

}  // namespace pillarbox::server::tls
