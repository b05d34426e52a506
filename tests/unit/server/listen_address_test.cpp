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

  c.pop3.listen = {"bogus"};
  l = ListenersFromConfig(c);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message().rfind("pop3.listen: ", 0), 0u) << l.status().message();

  c.pop3.listen = {"unix:/tmp/pop"};
  l = ListenersFromConfig(c);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("only supported for lmtp"), std::string::npos);
}

TEST(RetentionRulesTest, Parse) {
  auto r = ParseRetentionRules({"Trash=30", "\\Junk=7", "Lists/Old=365", "a=b=2"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].mailbox, "Trash");
  EXPECT_EQ((*r)[0].days, 30);
  EXPECT_EQ((*r)[1].mailbox, "\\Junk");
  EXPECT_EQ((*r)[1].days, 7);
  EXPECT_EQ((*r)[2].mailbox, "Lists/Old");
  EXPECT_EQ((*r)[3].mailbox, "a=b");
  for (const char* bad : {"Trash", "Trash=", "=3", "Trash=0", "Trash=-1", "Trash=3d"}) {
    auto e = ParseRetentionRules({bad});
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().message().rfind("retention.expire_after", 0), 0u);
  }
}

}  // namespace
}  // namespace pillarbox::server
