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
  auto l = ListenersFromConfig(c);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_EQ(l->size(), 5u);
  EXPECT_EQ((*l)[0].protocol, "imap");
  EXPECT_FALSE((*l)[0].implicit_tls);
  EXPECT_EQ((*l)[1].key, "imap.tls_listen");
  EXPECT_TRUE((*l)[1].implicit_tls);
  EXPECT_EQ((*l)[2].protocol, "pop3");
  EXPECT_TRUE((*l)[2].implicit_tls);
  EXPECT_EQ((*l)[3].protocol, "lmtp");
  EXPECT_EQ((*l)[4].protocol, "smtp");

  c.pop3.listen = {"bogus"};
  l = ListenersFromConfig(c);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message().rfind("pop3.listen: ", 0), 0u) << l.status().message();

  c.pop3.listen = {"unix:/tmp/pop"};
  l = ListenersFromConfig(c);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("only supported for lmtp"), std::string::npos);
}

}  // namespace
}  // namespace pillarbox::server
