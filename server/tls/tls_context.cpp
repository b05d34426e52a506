#include "server/tls/tls_context.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>

#include "common/log.h"

namespace pillarbox::server::tls {
namespace {

// TLS 1.2 suites: forward secret AEAD only (Mozilla "intermediate"). TLS 1.3
// suites are OpenSSL's defaults, all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

// Generated certificates are valid this long; a self-signed certificate is
// trusted by pinning, so expiry only forces needless re-pinning.
constexpr long kGeneratedValidityDays = 3650;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

Status WritePemFile(const std::string& path, mode_t mode, const std::function<bool(FILE*)>& write) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError(tmp + ": " + std::strerror(errno));
  std::unique_ptr<FILE, FileCloser> f(::fdopen(fd, "w"));
  if (!f) {
    ::close(fd);
    return Status::IOError(tmp + ": " + std::strerror(errno));
  }
  if (!write(f.get())) return Status::Internal(tmp + ": " + TakeOpenSslError());
  if (std::fflush(f.get()) != 0 || ::fsync(fd) != 0) {
    return Status::IOError(tmp + ": " + std::strerror(errno));
  }
  f.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IOError(path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool ValidDnsName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

// Opens `file` for reading, or says why not as a sentence naming `key`.
Result<std::unique_ptr<FILE, FileCloser>> OpenPem(const char* key, const std::string& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    return Status::InvalidArgument(std::string(key) + ": cannot read " + file + ": Is a directory");
  }
  std::unique_ptr<FILE, FileCloser> f(std::fopen(file.c_str(), "rb"));
  if (!f) {
    return Status::InvalidArgument(std::string(key) + ": cannot read " + file + ": " +
                                   std::strerror(errno));
  }
  return f;
}

}  // namespace

Status CheckCertificateFiles(const std::string& cert_file, const std::string& key_file) {
  ERR_clear_error();
  auto cf = OpenPem("tls.cert", cert_file);
  if (!cf.ok()) return cf.status();
  std::unique_ptr<X509, X509Deleter> cert(PEM_read_X509(cf->get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return Status::InvalidArgument("tls.cert: not a PEM certificate (" + cert_file + ")");
  }
  auto kf = OpenPem("tls.key", key_file);
  if (!kf.ok()) return kf.status();
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      PEM_read_PrivateKey(kf->get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return Status::InvalidArgument("tls.key: not a PEM private key, or one with a passphrase (" +
                                   key_file + ")");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("tls.key does not match tls.cert (" + key_file + ", " +
                                   cert_file + ")");
  }
  return Status::Ok();
}

std::string TakeOpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

Result<int> ParseMinVersion(std::string_view text) {
  if (text == "1.2") return TLS1_2_VERSION;
  if (text == "1.3") return TLS1_3_VERSION;
  return Status::InvalidArgument("tls.min_version: expected 1.2 or 1.3");
}

Result<SslCtxPtr> MakeServerContext(const std::string& cert_file, const std::string& key_file,
                                    std::string_view min_version) {
  auto version = ParseMinVersion(min_version);
  if (!version.ok()) return version.status();
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), SslCtxDeleter());
  if (!ctx) return Status::Internal("SSL_CTX_new: " + TakeOpenSslError());
  SSL_CTX_set_min_proto_version(ctx.get(), *version);
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1) {
    return Status::Internal("cipher list: " + TakeOpenSslError());
  }
  PB_RETURN_IF_ERROR(CheckCertificateFiles(cert_file, key_file));
  static const unsigned char kSessionContext[] = "pillarbox";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    return Status::InvalidArgument("tls.cert: cannot load " + cert_file + ": " +
                                   TakeOpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::InvalidArgument("tls.key: cannot load " + key_file + ": " + TakeOpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return Status::InvalidArgument("tls.key does not match tls.cert (" + key_file + ", " +
                                   cert_file + ")");
  }
  return ctx;
}

Result<SslCtxPtr> MakeClientContext() {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), SslCtxDeleter());
  if (!ctx) return Status::Internal("SSL_CTX_new: " + TakeOpenSslError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

Result<CertPaths> EnsureSelfSignedCertificate(const std::string& dir, const std::string& hostname) {
  CertPaths paths{dir + "/cert.pem", dir + "/key.pem", false};
  std::error_code ec;
  if (std::filesystem::exists(paths.cert, ec) && std::filesystem::exists(paths.key, ec)) {
    return paths;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);

  ERR_clear_error();
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(EVP_EC_gen("P-256"));
  if (!key) return Status::Internal("generating a P-256 key: " + TakeOpenSslError());
  std::unique_ptr<X509, X509Deleter> cert(X509_new());
  if (!cert) return Status::Internal("X509_new: " + TakeOpenSslError());
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Status::Internal(TakeOpenSslError());
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60 * 60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kGeneratedValidityDays * 24 * 60 * 60);
  X509_set_pubkey(cert.get(), key.get());
  std::string cn = ValidDnsName(hostname) ? hostname : "localhost";
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Pillarbox"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = "DNS:" + cn;
  if (cn != "localhost") san += ",DNS:localhost";
  san += ",IP:127.0.0.1,IP:::1";
  if (!AddExtension(cert.get(), cert.get(), NID_subject_alt_name, san.c_str()) ||
      !AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !AddExtension(cert.get(), cert.get(), NID_ext_key_usage, "serverAuth")) {
    return Status::Internal("certificate extensions: " + TakeOpenSslError());
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return Status::Internal("signing the certificate: " + TakeOpenSslError());
  }
  // The key first: a certificate without its key would be reused as is.
  PB_RETURN_IF_ERROR(WritePemFile(paths.key, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  }));
  PB_RETURN_IF_ERROR(
      WritePemFile(paths.cert, 0644, [&](FILE* f) { return PEM_write_X509(f, cert.get()) == 1; }));
  paths.generated = true;
  return paths;
}

Result<CertPaths> ResolveCertificate(const config::TlsConfig& tls, const std::string& generated_dir,
                                     const std::string& hostname) {
  if (!tls.cert.empty() || !tls.key.empty()) {
    if (tls.cert.empty()) return Status::InvalidArgument("tls.cert: required when tls.key is set");
    if (tls.key.empty()) return Status::InvalidArgument("tls.key: required when tls.cert is set");
    return CertPaths{tls.cert, tls.key, false};
  }
  return EnsureSelfSignedCertificate(generated_dir, hostname);
}

std::string CertificateFingerprint(SSL_CTX* ctx) {
  X509* cert = ctx ? SSL_CTX_get0_certificate(ctx) : nullptr;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &n) != 1) return "";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(n * 3);
  for (unsigned int i = 0; i < n; ++i) {
    if (i) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

Status ContextHolder::Reload() {
  auto ctx = MakeServerContext(cert_, key_, min_version_);
  if (!ctx.ok()) return ctx.status();
  ctx_ = std::move(*ctx);
  fingerprint_ = CertificateFingerprint(ctx_.get());
  return Status::Ok();
}

}  // namespace pillarbox::server::tls
