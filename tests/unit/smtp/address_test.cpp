#include "protocols/smtp/address.h"

#include <gtest/gtest.h>

namespace pillarbox::smtp {
namespace {

TEST(ParsePathArgument, PlainAddress) {
  auto r = ParsePathArgument("<alice@example.org>", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->address.null);
  EXPECT_EQ(r->address.text, "alice@example.org");
  EXPECT_EQ(r->address.local, "alice");
  EXPECT_EQ(r->address.domain, "example.org");
  EXPECT_TRUE(r->parameters.empty());
}

TEST(ParsePathArgument, NullPathOnlyWhenAllowed) {
  auto r = ParsePathArgument("<>", true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->address.null);
  EXPECT_FALSE(ParsePathArgument("<>", false).ok());
}

TEST(ParsePathArgument, SpacesBeforePathAndNoBrackets) {
  auto r = ParsePathArgument("  <bob@x.org>", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->address.text, "bob@x.org");
  auto bare = ParsePathArgument("bob@x.org SIZE=10", false);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->address.text, "bob@x.org");
  ASSERT_EQ(bare->parameters.size(), 1u);
  EXPECT_EQ(bare->parameters[0].first, "SIZE");
  EXPECT_EQ(bare->parameters[0].second, "10");
}

TEST(ParsePathArgument, Parameters) {
  auto r = ParsePathArgument("<a@b.c> size=123  BODY=8BITMIME SMTPUTF8", true);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->parameters.size(), 3u);
  EXPECT_EQ(r->parameters[0], (Parameter{"SIZE", "123"}));
  EXPECT_EQ(r->parameters[1], (Parameter{"BODY", "8BITMIME"}));
  EXPECT_EQ(r->parameters[2], (Parameter{"SMTPUTF8", ""}));
  EXPECT_FALSE(ParsePathArgument("<a@b.c> SIZE=", true).ok());
  EXPECT_FALSE(ParsePathArgument("<a@b.c> =1", true).ok());
  EXPECT_FALSE(ParsePathArgument("<a@b.c>SIZE=1", true).ok());
}

TEST(ParsePathArgument, SourceRouteIsIgnored) {
  auto r = ParsePathArgument("<@relay.one,@relay.two:joe@example.org>", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->address.text, "joe@example.org");
  EXPECT_FALSE(ParsePathArgument("<@relay.one joe@example.org>", false).ok());
}

TEST(ParsePathArgument, QuotedLocalPart) {
  auto r = ParsePathArgument("<\"john \\\"q\\\" doe\"@example.org>", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->address.local, "john \"q\" doe");
  EXPECT_EQ(r->address.text, "\"john \\\"q\\\" doe\"@example.org");
  // A '>' inside quotes does not end the path.
  auto gt = ParsePathArgument("<\"a>b\"@x.org>", false);
  ASSERT_TRUE(gt.ok());
  EXPECT_EQ(gt->address.local, "a>b");
}

TEST(ParsePathArgument, LocalOnlyAndTrailingDot) {
  auto r = ParsePathArgument("<Postmaster>", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->address.local, "Postmaster");
  EXPECT_EQ(r->address.domain, "");
  auto dot = ParsePathArgument("<a@example.org.>", false);
  ASSERT_TRUE(dot.ok());
  EXPECT_EQ(dot->address.domain, "example.org");
  EXPECT_EQ(dot->address.text, "a@example.org");
}

TEST(ParsePathArgument, AddressLiteral) {
  auto r = ParsePathArgument("<a@[127.0.0.1]>", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->address.domain, "[127.0.0.1]");
  EXPECT_FALSE(ParsePathArgument("<a@[1.2.3.4>", false).ok());
}

TEST(ParsePathArgument, Malformed) {
  for (const char* bad :
       {"", "   ", "<a@b", "<a b@c>", "<@>", "<a@>", "<.a@b>", "<a..b@c>", "<a.@b>", "<a@b..c>",
        "<a@b,c>", "<a@b>x", "<\"unterminated@b>", "<a@-b_c>"}) {
    EXPECT_FALSE(ParsePathArgument(bad, false).ok()) << bad;
  }
}

TEST(ParsePathArgument, PathLengthLimit) {
  std::string local(240, 'a');
  EXPECT_TRUE(ParsePathArgument("<" + local + "@example.org>", false).ok());
  std::string longer(250, 'a');
  EXPECT_FALSE(ParsePathArgument("<" + longer + "@example.org>", false).ok());
}

TEST(DomainMatches, CaseAndTrailingDot) {
  std::vector<std::string> domains = {"Example.ORG", "mail.test."};
  EXPECT_TRUE(DomainMatches("example.org", domains));
  EXPECT_TRUE(DomainMatches("EXAMPLE.org.", domains));
  EXPECT_TRUE(DomainMatches("mail.test", domains));
  EXPECT_FALSE(DomainMatches("sub.example.org", domains));
  EXPECT_FALSE(DomainMatches("", domains));
}

TEST(SplitSubaddress, Separators) {
  std::string user, detail;
  EXPECT_TRUE(SplitSubaddress("alice+lists", "+", &user, &detail));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(detail, "lists");
  EXPECT_TRUE(SplitSubaddress("bob-x+y", "+-", &user, &detail));
  EXPECT_EQ(user, "bob");
  EXPECT_EQ(detail, "x+y");
  EXPECT_TRUE(SplitSubaddress("carol+", "+", &user, &detail));
  EXPECT_EQ(user, "carol");
  EXPECT_EQ(detail, "");
  EXPECT_FALSE(SplitSubaddress("+x", "+", &user, &detail));
  EXPECT_FALSE(SplitSubaddress("plain", "+", &user, &detail));
  EXPECT_FALSE(SplitSubaddress("a+b", "", &user, &detail));
}

}  // namespace
}  // namespace pillarbox::smtp
