#include "protocols/sasl/sasl.h"

#include <gtest/gtest.h>

#include "common/base64.h"

namespace pillarbox::sasl {
namespace {

using Kind = SaslExchange::Step::Kind;

std::string Nul(std::string_view a, std::string_view b, std::string_view c) {
  std::string s(a);
  s += '\0';
  s += b;
  s += '\0';
  s += c;
  return s;
}

TEST(SaslMechanism, ParsesCaseInsensitively) {
  EXPECT_EQ(ParseMechanism("PLAIN"), Mechanism::kPlain);
  EXPECT_EQ(ParseMechanism("plain"), Mechanism::kPlain);
  EXPECT_EQ(ParseMechanism("Login"), Mechanism::kLogin);
  EXPECT_FALSE(ParseMechanism("CRAM-MD5").has_value());
  EXPECT_FALSE(ParseMechanism("").has_value());
  EXPECT_FALSE(ParseMechanism("PLAIN ").has_value());
  EXPECT_EQ(MechanismName(Mechanism::kPlain), "PLAIN");
  EXPECT_EQ(MechanismName(Mechanism::kLogin), "LOGIN");
}

TEST(SaslPlain, ParsesMessage) {
  auto c = ParsePlainMessage(Nul("", "tim", "tanstaaftanstaaf"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->authzid, "");
  EXPECT_EQ(c->authcid, "tim");
  EXPECT_EQ(c->password, "tanstaaftanstaaf");
  EXPECT_TRUE(AuthorizationAllowed(*c));

  auto z = ParsePlainMessage(Nul("Ursel", "Kurt", "xipj3plmq"));
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->authzid, "Ursel");
  EXPECT_FALSE(AuthorizationAllowed(*z));
  auto same = ParsePlainMessage(Nul("KURT", "kurt", "pw"));
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(AuthorizationAllowed(*same));

  // Passwords may hold spaces and any octet but NUL.
  auto sp = ParsePlainMessage(Nul("", "u", "a b\x01\xff"));
  ASSERT_TRUE(sp.ok());
  EXPECT_EQ(sp->password, "a b\x01\xff");
}

TEST(SaslPlain, RejectsMalformedMessages) {
  EXPECT_FALSE(ParsePlainMessage("").ok());
  EXPECT_FALSE(ParsePlainMessage("userpass").ok());
  EXPECT_FALSE(ParsePlainMessage(std::string("\0user", 5)).ok());
  EXPECT_FALSE(ParsePlainMessage(Nul("", "", "pass")).ok());
  EXPECT_FALSE(ParsePlainMessage(Nul("", "user", "")).ok());
  EXPECT_FALSE(ParsePlainMessage(Nul("", "user", std::string("pa\0ss", 5))).ok());
  EXPECT_FALSE(ParsePlainMessage(Nul("", std::string(256, 'u'), "p")).ok());
  EXPECT_FALSE(ParsePlainMessage(Nul("", "u", std::string(256, 'p'))).ok());
  EXPECT_FALSE(ParsePlainMessage(Nul(std::string(256, 'z'), "u", "p")).ok());
  EXPECT_TRUE(
      ParsePlainMessage(Nul(std::string(255, 'z'), std::string(255, 'u'), std::string(255, 'p')))
          .ok());
}

TEST(SaslExchange, PlainWithInitialResponse) {
  SaslExchange x(Mechanism::kPlain);
  auto s = x.Start(Base64Encode(Nul("", "alice", "secret")));
  ASSERT_EQ(s.kind, Kind::kDone);
  EXPECT_EQ(s.credentials.authcid, "alice");
  EXPECT_EQ(s.credentials.password, "secret");
  // Nothing more is expected once the exchange is over.
  EXPECT_EQ(x.Continue("AAAA").kind, Kind::kFailed);
}

TEST(SaslExchange, PlainWithoutInitialResponse) {
  SaslExchange x(Mechanism::kPlain);
  auto s = x.Start(std::nullopt);
  ASSERT_EQ(s.kind, Kind::kChallenge);
  EXPECT_EQ(s.challenge, "");
  s = x.Continue(Base64Encode(Nul("alice", "alice", "secret")));
  ASSERT_EQ(s.kind, Kind::kDone);
  EXPECT_EQ(s.credentials.authzid, "alice");
  EXPECT_EQ(s.credentials.authcid, "alice");
}

TEST(SaslExchange, PlainEmptyInitialResponseIsAnEmptyMessage) {
  SaslExchange x(Mechanism::kPlain);
  auto s = x.Start("=");
  EXPECT_EQ(s.kind, Kind::kFailed);
  EXPECT_FALSE(s.error.empty());
}

TEST(SaslExchange, PlainBadBase64) {
  SaslExchange a(Mechanism::kPlain);
  EXPECT_EQ(a.Start("not base64!").kind, Kind::kFailed);
  SaslExchange b(Mechanism::kPlain);
  ASSERT_EQ(b.Start(std::nullopt).kind, Kind::kChallenge);
  EXPECT_EQ(b.Continue("AHVzZXIAcGFzcw=").kind, Kind::kFailed);
}

TEST(SaslExchange, CancelAtAnyStep) {
  SaslExchange p(Mechanism::kPlain);
  ASSERT_EQ(p.Start(std::nullopt).kind, Kind::kChallenge);
  EXPECT_EQ(p.Continue("*").kind, Kind::kCancelled);

  SaslExchange l(Mechanism::kLogin);
  ASSERT_EQ(l.Start(std::nullopt).kind, Kind::kChallenge);
  ASSERT_EQ(l.Continue(Base64Encode("bob")).kind, Kind::kChallenge);
  EXPECT_EQ(l.Continue("*").kind, Kind::kCancelled);
}

TEST(SaslExchange, Login) {
  SaslExchange x(Mechanism::kLogin);
  auto s = x.Start(std::nullopt);
  ASSERT_EQ(s.kind, Kind::kChallenge);
  EXPECT_EQ(*Base64Decode(s.challenge), "Username:");
  s = x.Continue(Base64Encode("bob"));
  ASSERT_EQ(s.kind, Kind::kChallenge);
  EXPECT_EQ(*Base64Decode(s.challenge), "Password:");
  s = x.Continue(Base64Encode("pass word"));
  ASSERT_EQ(s.kind, Kind::kDone);
  EXPECT_EQ(s.credentials.authcid, "bob");
  EXPECT_EQ(s.credentials.password, "pass word");
  EXPECT_EQ(s.credentials.authzid, "");
}

TEST(SaslExchange, LoginWithInitialUserName) {
  SaslExchange x(Mechanism::kLogin);
  auto s = x.Start(Base64Encode("bob"));
  ASSERT_EQ(s.kind, Kind::kChallenge);
  EXPECT_EQ(*Base64Decode(s.challenge), "Password:");
  s = x.Continue(Base64Encode("pw"));
  ASSERT_EQ(s.kind, Kind::kDone);
  EXPECT_EQ(s.credentials.authcid, "bob");
}

TEST(SaslExchange, LoginRejectsEmptyAndNul) {
  SaslExchange a(Mechanism::kLogin);
  EXPECT_EQ(a.Start("=").kind, Kind::kFailed);
  SaslExchange b(Mechanism::kLogin);
  ASSERT_EQ(b.Start(std::nullopt).kind, Kind::kChallenge);
  ASSERT_EQ(b.Continue(Base64Encode("bob")).kind, Kind::kChallenge);
  EXPECT_EQ(b.Continue("").kind, Kind::kFailed);  // empty password
  SaslExchange c(Mechanism::kLogin);
  ASSERT_EQ(c.Start(std::nullopt).kind, Kind::kChallenge);
  EXPECT_EQ(c.Continue(Base64Encode(std::string("b\0b", 3))).kind, Kind::kFailed);
  SaslExchange d(Mechanism::kLogin);
  ASSERT_EQ(d.Start(std::nullopt).kind, Kind::kChallenge);
  EXPECT_EQ(d.Continue(Base64Encode(std::string(256, 'u'))).kind, Kind::kFailed);
}

}  // namespace
}  // namespace pillarbox::sasl
