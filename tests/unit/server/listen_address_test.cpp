#include "server/listen_address.h"

#include <gtest/gtest.h>

#include "server/server_loop.h"

namespace pillarbox::server {
namespace {

TEST(ListenAddressTest, Ipv4) {
  auto a = ParseListenAddress("127.0.0.1:1143");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, ListenAddress::Kind::kTcp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 1143);
  EXPECT_FALSE(a->ipv6);
  EXPECT_EQ(a->ToString(), "127.0.0.1:1143");
}

TEST(ListenAddressTest, Ipv6) {
  auto a = ParseListenAddress("[::1]:1143");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->ipv6);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 1143);
  EXPECT_EQ(a->ToString(), "[::1]:1143");
  a = ParseListenAddress("[::]:993");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::");
}

TEST(ListenAddressTest, WildcardsAndLocalhost) {
  EXPECT_EQ(ParseListenAddress("0.0.0.0:143")->host, "0.0.0.0");
  EXPECT_EQ(ParseListenAddress("*:143")->host, "0.0.0.0");
  EXPECT_EQ(ParseListenAddress("localhost:143")->host, "127.0.0.1");
  EXPECT_EQ(ParseListenAddress("127.0.0.1:0")->port, 0);
  EXPECT_EQ(ParseListenAddress("127.0.0.1:65535")->port, 65535);
}

TEST(ListenAddressTest, UnixSocket) {
  auto a = ParseListenAddress("unix:/run/pillarbox/lmtp");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(a->path, "/run/pillarbox/lmtp");
  EXPECT_EQ(a->ToString(), "unix:/run/pillarbox/lmtp");
}

TEST(ListenAddressTest, Rejects) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x",
                          "::1:143", "[::1]", "[::1]143", "[nope]:1", "mail.example:143",
                          "unix:", "unix:relative", "1.2.3:4", "127.0.0.1:-1"}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseListenAddress("unix:/" + std::string(200, 'a')).ok());
}

TEST(ListenAddressTest, ListenersFromConfigNameTheirKeys) {
  config::Config c;
  c.imap.listen = {"127.0.0.1:1"};
  c.imap.tls_listen = {"[::1]:2"};
  c.pop3.listen = {};
  c.pop3.tls_listen = {"127.0.0.1:3"};
  c.lmtp.listen = {"unix:/tmp/x.sock"};
  c.smtp.listen = {"127.0.0.1:4"};
  c.smtp.tls_listen = {};
  c.http.listen = {"127.0.0.1:5"};
  auto l = ListenersFromConfig(c);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_EQ(l->size(), 6u);
  EXPECT_EQ((*l)[0].protocol, "imap");
  EXPECT_FALSE((*l)[0].implicit_tls);
  EXPECT_EQ((*l)[1].key, "imap.tls_listen");
  EXPECT_TRUE((*l)[1].implicit_tls);
  EXPECT_EQ((*l)[2].protocol, "pop3");
  EXPECT_TRUE((*l)[2].implicit_tls);
  EXPECT_EQ((*l)[3].protocol, "lmtp");
  EXPECT_EQ((*l)[4].protocol, "smtp");
  EXPECT_EQ((*l)[5].protocol, "http");
  EXPECT_EQ((*l)[5].key, "http.listen");

  // Postfix's sockets come last, each with its own mode.
  c.lmtp.socket_mode = "0600";
  c.auth.postfix_socket = "/tmp/pb-auth";
  c.delivery.socketmap_socket = "unix:/tmp/pb-map";
  c.delivery.socketmap_socket_mode = "0666";
  l = ListenersFromConfig(c);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_EQ(l->size(), 8u);
  EXPECT_EQ((*l)[3].unix_mode, 0600u);
  EXPECT_EQ((*l)[6].protocol, "postfix-auth");
  EXPECT_EQ((*l)[6].key, "auth.postfix_socket");
  EXPECT_EQ((*l)[6].address.path, "/tmp/pb-auth");
  EXPECT_EQ((*l)[6].unix_mode, 0660u);
  EXPECT_EQ((*l)[7].protocol, "socketmap");
  EXPECT_EQ((*l)[7].address.path, "/tmp/pb-map");
  EXPECT_EQ((*l)[7].unix_mode, 0666u);
  c.auth.postfix_socket = "";
  c.delivery.socketmap_socket = "";

  c.pop3.listen = {"bogus"};
  l = ListenersFromConfig(c);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message().rfind("pop3.listen: ", 0), 0u) << l.status().message();

  c.pop3.listen = {"unix:/tmp/pop"};
  l = ListenersFromConfig(c);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("only supported for lmtp"), std::string::npos);
}

// Regression: a certificate was generated even with no listener needing
// one. Implicit TLS, a configured cert, or STARTTLS for remote clients do.
TEST(ListenAddressTest, NeedsCertificateOnlyForTlsOrRemotePlainListeners) {
  auto needs = [](const config::Config& c) {
    auto specs = ListenersFromConfig(c);
    EXPECT_TRUE(specs.ok());
    return NeedsCertificate(c, *specs);
  };
  config::Config c;
  c.imap.listen = {"127.0.0.1:1143"};
  c.imap.tls_listen = {};
  c.pop3.listen = {"[::1]:1110"};
  c.pop3.tls_listen = {};
  c.lmtp.listen = {"0.0.0.0:24", "unix:/run/pillarbox/lmtp"};
  c.smtp.listen = {};
  c.smtp.tls_listen = {};
  EXPECT_FALSE(needs(c));  // loopback logins and the MTA's LMTP need no STARTTLS
  config::Config tls = c;
  tls.imap.tls_listen = {"127.0.0.1:1993"};
  EXPECT_TRUE(needs(tls));
  config::Config remote = c;
  remote.smtp.listen = {"0.0.0.0:25"};
  EXPECT_TRUE(needs(remote));  // STARTTLS for senders from elsewhere
  config::Config configured = c;
  configured.tls.cert = "/etc/pillarbox/tls/cert.pem";
  configured.tls.key = "/etc/pillarbox/tls/key.pem";
  EXPECT_TRUE(needs(configured));
}

}  // namespace
}  // namespace pillarbox::server
