// [auth] plaintext: one rule for IMAP, POP3 and SMTP.
#include <gtest/gtest.h>

#include "protocols/session.h"

namespace pillarbox::protocols {
namespace {

ConnectionInfo Remote() {
  ConnectionInfo info;
  info.peer_ip = "192.0.2.7";
  return info;
}

TEST(PlaintextAllowedTest, EachPolicyOnEachKindOfConnection) {
  config::AuthConfig auth;
  ConnectionInfo remote = Remote();
  ConnectionInfo remote_tls = Remote();
  remote_tls.tls_active = true;
  ConnectionInfo loopback;
  loopback.peer_ip = "127.0.0.1";
  loopback.loopback = true;
  ConnectionInfo unix_socket;
  unix_socket.unix_socket = true;

  auth.plaintext = config::Plaintext::kTlsOrLoopback;
  EXPECT_FALSE(PlaintextAllowed(auth, remote));
  EXPECT_TRUE(PlaintextAllowed(auth, remote_tls));
  EXPECT_TRUE(PlaintextAllowed(auth, loopback));
  EXPECT_TRUE(PlaintextAllowed(auth, unix_socket));

  auth.plaintext = config::Plaintext::kTls;
  EXPECT_FALSE(PlaintextAllowed(auth, loopback));
  EXPECT_FALSE(PlaintextAllowed(auth, unix_socket));
  EXPECT_TRUE(PlaintextAllowed(auth, remote_tls));

  auth.plaintext = config::Plaintext::kNever;
  EXPECT_FALSE(PlaintextAllowed(auth, remote_tls));

  auth.plaintext = config::Plaintext::kAlways;
  EXPECT_TRUE(PlaintextAllowed(auth, remote));
}

}  // namespace
}  // namespace pillarbox::protocols
