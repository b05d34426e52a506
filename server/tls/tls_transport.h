// TLS as a transport under a connection: an SSL object on two memory BIOs.
// Network bytes go in with OnNetworkInput(), application bytes come out;
// application bytes go in with Write(), network bytes come out with
// TakeNetworkOutput(). No socket is involved, so a handshake can be run in
// memory against an OpenSSL client in a unit test.
//
// Threads: one owner thread. The transport holds its own reference to the
// SSL_CTX it was made from.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pillarbox::server::tls {

class Transport {
 public:
  enum class Role { kServer, kClient };
  // REQUIRES: ctx != nullptr.
  static Result<std::unique_ptr<Transport>> Make(SSL_CTX* ctx, Role role);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Feeds bytes read from the network, advances the handshake, and appends
  // any decrypted application data to `plaintext`. Returns an error when
  // the handshake fails or the peer sends garbage; the connection must then
  // be closed (after sending TakeNetworkOutput(), which may hold an alert).
  Status OnNetworkInput(std::string_view bytes, std::string* plaintext);
  // For the client role: sends the ClientHello.
  Status StartHandshake();
  bool handshake_done() const { return handshake_done_; }
  // The peer sent close_notify.
  bool peer_closed() const { return peer_closed_; }

  // Encrypts application data; before the handshake completes it is held
  // and sent right after.
  Status Write(std::string_view plaintext);
  // Queues close_notify.
  void Shutdown();

  // Network bytes produced so far (handshake messages, records, alerts).
  std::string TakeNetworkOutput();
  std::size_t PendingNetworkOutput() const;

  // "TLSv1.3 TLS_AES_128_GCM_SHA256", for logs; empty before the handshake.
  std::string Describe() const;
  SSL* ssl() { return ssl_; }

 private:
  Transport() = default;
  Status Advance(std::string* plaintext);
  Status FlushPendingWrites();

  SSL* ssl_ = nullptr;
  BIO* network_in_ = nullptr;   // owned by ssl_
  BIO* network_out_ = nullptr;  // owned by ssl_
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  bool failed_ = false;
  std::string pending_writes_;
};

}  // namespace pillarbox::server::tls
