// TLS server contexts (OpenSSL 3): loading a certificate chain and key,
// the minimum protocol version and cipher policy, and the self-signed
// ECDSA P-256 certificate generated when none is configured.
//
// Threads: loop thread only. A context is shared: every SSL made from it
// holds its own reference, so a reload (SIGHUP) swaps the context for new
// connections while existing ones keep theirs.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/status.h"
#include "config/config.h"

namespace pillarbox::server::tls {

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::shared_ptr<SSL_CTX>;

// The last OpenSSL error(s) as text, clearing the error queue.
std::string TakeOpenSslError();

// "1.2" -> TLS1_2_VERSION, "1.3" -> TLS1_3_VERSION.
Result<int> ParseMinVersion(std::string_view text);

// Checks that the certificate (first PEM certificate of the chain) and the
// private key can be read, parse, and match. Errors are sentences:
// "tls.cert: cannot read /x: No such file or directory", "tls.cert: not a
// PEM certificate (/x)", "tls.key does not match tls.cert (/k, /c)".
Status CheckCertificateFiles(const std::string& cert_file, const std::string& key_file);

// A server context from PEM files: the certificate chain (leaf first) and
// the private key, which must match. TLS min_version and later, modern
// AEAD ciphers only, no compression, no renegotiation.
Result<SslCtxPtr> MakeServerContext(const std::string& cert_file, const std::string& key_file,
                                    std::string_view min_version);

// A client context for the healthcheck and tests: no certificate checks
// (the server's certificate may well be self-signed).
Result<SslCtxPtr> MakeClientContext();

// The SHA-256 fingerprint of the context's certificate (the leaf), as
// colon-separated upper-case hex pairs ("AB:CD:..."), the form browsers and
// `openssl x509 -fingerprint -sha256` show; empty when there is none.
std::string CertificateFingerprint(SSL_CTX* ctx);

struct CertPaths {
  std::string cert;
  std::string key;
  bool generated = false;  // created by this call
};

// Returns <dir>/cert.pem and <dir>/key.pem, creating them first when either
// is missing: a self-signed ECDSA P-256 certificate for `hostname`,
// "localhost", 127.0.0.1 and ::1, valid 10 years; the key written with mode
// 0600. Existing files are reused as they are.
Result<CertPaths> EnsureSelfSignedCertificate(const std::string& dir, const std::string& hostname);

// The certificate and key the server uses: [tls] cert/key when set,
// otherwise the generated pair under `generated_dir`.
Result<CertPaths> ResolveCertificate(const config::TlsConfig& tls, const std::string& generated_dir,
                                     const std::string& hostname);

// Holds the current server context; Reload() replaces it only on success.
class ContextHolder {
 public:
  ContextHolder(std::string cert, std::string key, std::string min_version)
      : cert_(std::move(cert)), key_(std::move(key)), min_version_(std::move(min_version)) {}
  // Loads the files (again). On failure the previous context stays.
  Status Reload();
  const SslCtxPtr& current() const { return ctx_; }
  const std::string& cert_file() const { return cert_; }
  // The current certificate's SHA-256 fingerprint (CertificateFingerprint).
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  std::string cert_;
  std::string key_;
  std::string min_version_;
  SslCtxPtr ctx_;
  std::string fingerprint_;
};

}  // namespace pillarbox::server::tls
