// TLS contexts and the in-memory transport: a client and a server
// transport talk through strings, with no socket.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/tls/tls_context.h"
#include "server/tls/tls_transport.h"
#include "tests/support/test_support.h"

namespace pillarbox::server::tls {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs both sides until neither has output. Collects plaintext.
void Pump(Transport& client, Transport& server, std::string* to_client, std::string* to_server,
          Status* client_status = nullptr, Status* server_status = nullptr) {
  for (int i = 0; i < 50; ++i) {
    std::string c = client.TakeNetworkOutput();
    std::string s = server.TakeNetworkOutput();
    if (c.empty() && s.empty()) return;
    if (!c.empty()) {
      Status st = server.OnNetworkInput(c, to_server);
      if (server_status && !st.ok()) *server_status = st;
    }
    if (!s.empty()) {
      Status st = client.OnNetworkInput(s, to_client);
      if (client_status && !st.ok()) *client_status = st;
    }
  }
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto paths = EnsureSelfSignedCertificate(dir_.path() + "/tls", "mail.example.org");
    ASSERT_TRUE(paths.ok()) << paths.status().ToString();
    paths_ = *paths;
  }
  pillarbox::testing::TempDir dir_;
  CertPaths paths_;
};

TEST_F(TlsTest, GeneratedCertificateIsEcdsaP256WithA0600Key) {
  EXPECT_TRUE(paths_.generated);
  struct stat st;
  ASSERT_EQ(::stat(paths_.key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  FILE* f = std::fopen(paths_.cert.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(cert, nullptr);
  EVP_PKEY* key = X509_get0_pubkey(cert);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
  char group[64] = {};
  std::size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof group, &len), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_check_host(cert, "mail.example.org", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  X509_free(cert);
}

TEST_F(TlsTest, FingerprintIsTheSha256OfTheCertificate) {
  ContextHolder holder(paths_.cert, paths_.key, "1.2");
  ASSERT_TRUE(holder.Reload().ok());
  FILE* f = std::fopen(paths_.cert.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(cert, nullptr);
  unsigned char md[32];
  unsigned int n = 0;
  ASSERT_EQ(X509_digest(cert, EVP_sha256(), md, &n), 1);
  X509_free(cert);
  ASSERT_EQ(n, 32u);
  char want[3 * 32] = {};
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(want + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X", md[i]);
  }
  EXPECT_EQ(holder.fingerprint(), std::string(want));
  EXPECT_EQ(CertificateFingerprint(nullptr), "");
}

TEST_F(TlsTest, GeneratedCertificateIsReusedOnTheNextStart) {
  std::string cert = ReadFile(paths_.cert);
  std::string key = ReadFile(paths_.key);
  auto again = EnsureSelfSignedCertificate(dir_.path() + "/tls", "mail.example.org");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->generated);
  EXPECT_EQ(ReadFile(again->cert), cert);
  EXPECT_EQ(ReadFile(again->key), key);
}

TEST_F(TlsTest, ConfiguredCertificateWinsAndNeedsBothFiles) {
  config::TlsConfig tls;
  tls.cert = paths_.cert;
  tls.key = paths_.key;
  auto r = ResolveCertificate(tls, dir_.path() + "/other", "x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cert, paths_.cert);
  EXPECT_FALSE(r->generated);
  tls.key.clear();
  r = ResolveCertificate(tls, dir_.path() + "/other", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tls.key"), std::string::npos);
}

TEST_F(TlsTest, ContextRejectsMismatchedKeyAndBadVersion) {
  auto other = EnsureSelfSignedCertificate(dir_.path() + "/tls2", "other");
  ASSERT_TRUE(other.ok());
  auto ctx = MakeServerContext(paths_.cert, other->key, "1.2");
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.status().message(),
            "tls.key does not match tls.cert (" + other->key + ", " + paths_.cert + ")");
  ctx = MakeServerContext(paths_.cert, paths_.key, "1.1");
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("tls.min_version"), std::string::npos);
  ctx = MakeServerContext(dir_.path() + "/missing.pem", paths_.key, "1.2");
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.status().message(),
            "tls.cert: cannot read " + dir_.path() + "/missing.pem: No such file or directory");
}

// Regression: TLS errors were raw OpenSSL codes ("error:0480006C:PEM
// routines::no start line"); they are sentences now.
TEST_F(TlsTest, CertificateErrorsAreSentences) {
  std::string garbage = dir_.path() + "/garbage.pem";
  {
    std::FILE* f = std::fopen(garbage.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not pem at all\n", f);
    std::fclose(f);
  }
  EXPECT_EQ(CheckCertificateFiles(garbage, paths_.key).message(),
            "tls.cert: not a PEM certificate (" + garbage + ")");
  EXPECT_EQ(CheckCertificateFiles(paths_.cert, garbage).message(),
            "tls.key: not a PEM private key, or one with a passphrase (" + garbage + ")");
  // The key file in place of the certificate, and the other way round.
  EXPECT_EQ(CheckCertificateFiles(paths_.key, paths_.cert).message(),
            "tls.cert: not a PEM certificate (" + paths_.key + ")");
  EXPECT_EQ(CheckCertificateFiles(dir_.path(), paths_.key).message(),
            "tls.cert: cannot read " + dir_.path() + ": Is a directory");
  EXPECT_TRUE(CheckCertificateFiles(paths_.cert, paths_.key).ok());
}

TEST_F(TlsTest, HandshakeAndDataBothWaysInMemory) {
  auto sctx = MakeServerContext(paths_.cert, paths_.key, "1.2");
  ASSERT_TRUE(sctx.ok()) << sctx.status().ToString();
  auto cctx = MakeClientContext();
  ASSERT_TRUE(cctx.ok());
  auto server = Transport::Make(sctx->get(), Transport::Role::kServer);
  auto client = Transport::Make(cctx->get(), Transport::Role::kClient);
  ASSERT_TRUE(server.ok() && client.ok());
  // Written before the handshake: held, then sent.
  ASSERT_TRUE((*server)->Write("* OK early\r\n").ok());
  ASSERT_TRUE((*client)->StartHandshake().ok());
  std::string to_client, to_server;
  Pump(**client, **server, &to_client, &to_server);
  EXPECT_TRUE((*server)->handshake_done());
  EXPECT_TRUE((*client)->handshake_done());
  EXPECT_EQ((*server)->Describe().rfind("TLSv1.3", 0), 0u) << (*server)->Describe();
  EXPECT_EQ(to_client, "* OK early\r\n");

  std::string big(100000, 'm');
  ASSERT_TRUE((*client)->Write(big).ok());
  ASSERT_TRUE((*server)->Write("pong\r\n").ok());
  Pump(**client, **server, &to_client, &to_server);
  EXPECT_EQ(to_server, big);
  EXPECT_EQ(to_client, "* OK early\r\npong\r\n");

  (*server)->Shutdown();
  Pump(**client, **server, &to_client, &to_server);
  EXPECT_TRUE((*client)->peer_closed());
}

TEST_F(TlsTest, HandshakeByteByByte) {
  auto sctx = MakeServerContext(paths_.cert, paths_.key, "1.2");
  auto cctx = MakeClientContext();
  ASSERT_TRUE(sctx.ok() && cctx.ok());
  auto server = Transport::Make(sctx->get(), Transport::Role::kServer);
  auto client = Transport::Make(cctx->get(), Transport::Role::kClient);
  ASSERT_TRUE((*client)->StartHandshake().ok());
  std::string to_client, to_server;
  for (int round = 0; round < 20; ++round) {
    std::string c = (*client)->TakeNetworkOutput();
    for (char ch : c)
      ASSERT_TRUE((*server)->OnNetworkInput(std::string_view(&ch, 1), &to_server).ok());
    std::string s = (*server)->TakeNetworkOutput();
    for (char ch : s)
      ASSERT_TRUE((*client)->OnNetworkInput(std::string_view(&ch, 1), &to_client).ok());
    if (c.empty() && s.empty()) break;
  }
  EXPECT_TRUE((*server)->handshake_done());
  EXPECT_TRUE((*client)->handshake_done());
}

TEST_F(TlsTest, MinVersion13RefusesATls12Client) {
  auto sctx = MakeServerContext(paths_.cert, paths_.key, "1.3");
  ASSERT_TRUE(sctx.ok());
  auto cctx = MakeClientContext();
  ASSERT_TRUE(cctx.ok());
  SSL_CTX_set_max_proto_version(cctx->get(), TLS1_2_VERSION);
  auto server = Transport::Make(sctx->get(), Transport::Role::kServer);
  auto client = Transport::Make(cctx->get(), Transport::Role::kClient);
  ASSERT_TRUE((*client)->StartHandshake().ok());
  std::string a, b;
  Status cs, ss;
  Pump(**client, **server, &a, &b, &cs, &ss);
  EXPECT_FALSE(ss.ok());
  EXPECT_FALSE((*server)->handshake_done());
}

TEST_F(TlsTest, MinVersion12AcceptsATls12Client) {
  auto sctx = MakeServerContext(paths_.cert, paths_.key, "1.2");
  auto cctx = MakeClientContext();
  ASSERT_TRUE(sctx.ok() && cctx.ok());
  SSL_CTX_set_max_proto_version(cctx->get(), TLS1_2_VERSION);
  auto server = Transport::Make(sctx->get(), Transport::Role::kServer);
  auto client = Transport::Make(cctx->get(), Transport::Role::kClient);
  ASSERT_TRUE((*client)->StartHandshake().ok());
  std::string a, b;
  Pump(**client, **server, &a, &b);
  ASSERT_TRUE((*server)->handshake_done());
  EXPECT_EQ((*server)->Describe().rfind("TLSv1.2 ECDHE-ECDSA-", 0), 0u) << (*server)->Describe();
}

TEST_F(TlsTest, PlaintextInsteadOfAClientHelloFails) {
  auto sctx = MakeServerContext(paths_.cert, paths_.key, "1.2");
  ASSERT_TRUE(sctx.ok());
  auto server = Transport::Make(sctx->get(), Transport::Role::kServer);
  std::string out;
  Status s = (*server)->OnNetworkInput("a001 CAPABILITY\r\n", &out);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(out.empty());
}

TEST_F(TlsTest, FailedReloadKeepsThePreviousContext) {
  std::string cert = dir_.path() + "/c.pem";
  std::string key = dir_.path() + "/k.pem";
  std::filesystem::copy_file(paths_.cert, cert);
  std::filesystem::copy_file(paths_.key, key);
  ContextHolder holder(cert, key, "1.2");
  ASSERT_TRUE(holder.Reload().ok());
  SSL_CTX* first = holder.current().get();
  { std::ofstream(cert) << "not a certificate\n"; }
  Status s = holder.Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(holder.current().get(), first);
  // A good file again: a new context.
  std::filesystem::remove(cert);
  std::filesystem::copy_file(paths_.cert, cert);
  ASSERT_TRUE(holder.Reload().ok());
  EXPECT_NE(holder.current().get(), nullptr);
}

}  // namespace
}  // namespace pillarbox::server::tls
