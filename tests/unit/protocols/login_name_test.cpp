// The login name -> user name mapping shared by IMAP, POP3 and SMTP AUTH.
#include "protocols/login_name.h"

#include <gtest/gtest.h>

namespace pillarbox::protocols {
namespace {

// Regression: "LOGIN alice@example.org" failed although mail to that
// address was delivered to alice (mail clients' automatic setup logs in
// with the address).
TEST(LoginNameTest, FullAddressInALocalDomainIsTheUser) {
  config::DeliveryConfig d;
  d.domains = {"example.org", "Mail.Example.NET"};
  EXPECT_EQ(LoginUserName("alice", d), "alice");
  EXPECT_EQ(LoginUserName("alice@example.org", d), "alice");
  EXPECT_EQ(LoginUserName("Alice@EXAMPLE.org", d), "Alice");
  EXPECT_EQ(LoginUserName("bob@mail.example.net", d), "bob");
  // Not a local domain: looked up as typed (normally no such user).
  EXPECT_EQ(LoginUserName("alice@other.example", d), "alice@other.example");
  EXPECT_EQ(LoginUserName("alice@example.org.evil", d), "alice@example.org.evil");
  // Degenerate forms stay as they are.
  EXPECT_EQ(LoginUserName("@example.org", d), "@example.org");
  EXPECT_EQ(LoginUserName("alice@", d), "alice@");
  EXPECT_EQ(LoginUserName("a@b@example.org", d), "a@b@example.org");
  EXPECT_EQ(LoginUserName("", d), "");
}

TEST(LoginNameTest, NoDomainsConfiguredMeansEveryDomainIsLocal) {
  config::DeliveryConfig d;
  EXPECT_EQ(LoginUserName("alice@anything.example", d), "alice");
  EXPECT_EQ(LoginUserName("alice", d), "alice");
}

}  // namespace
}  // namespace pillarbox::protocols
