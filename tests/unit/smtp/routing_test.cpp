// RouteRecipient: the one recipient rule of SMTP, LMTP and the socketmap.
#include "protocols/smtp/routing.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace pillarbox::smtp {
namespace {

using Kind = RouteDecision::Kind;

class RoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"alice", "team@example.org"}) {
      auto r = fx_.Wait<storage::UserRecord>(
          [&](auto cb) { fx_.store().CreateUser(name, "{PLAIN}pw", cb); });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (std::string_view(name) == "alice") alice_ = *r;
    }
  }

  RouteDecision Route(std::string_view text, bool lmtp) {
    Address a;
    a.text = std::string(text);
    std::size_t at = text.rfind('@');
    a.local = std::string(text.substr(0, at));
    if (at != std::string_view::npos) a.domain = std::string(text.substr(at + 1));
    auto view = fx_.store().Read();
    return RouteRecipient(*view, cfg_, "mx.test", lmtp, a);
  }

  config::Config cfg_;
  testing::StoreFixture fx_;
  storage::UserRecord alice_;
};

TEST_F(RoutingTest, EmptyDomainsMeanAnyForLmtpAndHostnameForSmtp) {
  EXPECT_EQ(Route("alice@anything.test", true).kind, Kind::kDeliver);
  EXPECT_EQ(Route("alice@anything.test", false).kind, Kind::kNotLocal);
  EXPECT_EQ(Route("alice@MX.test", false).kind, Kind::kDeliver);
  EXPECT_EQ(Route("alice@localhost", false).kind, Kind::kDeliver);
}

TEST_F(RoutingTest, ListedDomainsAndLookupOrder) {
  cfg_.delivery.domains = {"example.org"};
  EXPECT_EQ(Route("alice@other.test", true).kind, Kind::kNotLocal);
  auto d = Route("alice+Lists@example.org", true);
  EXPECT_EQ(d.kind, Kind::kDeliver);
  EXPECT_EQ(d.user.name, "alice");
  EXPECT_EQ(d.mailbox, "INBOX");  // no mailbox of the detail's name yet
  auto made = fx_.Wait<storage::MailboxRecord>([&](auto cb) {
    fx_.store().CreateMailbox(alice_.id, "Lists", storage::SpecialUse::kNone, cb);
  });
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  d = Route("alice+lists@example.org", true);
  EXPECT_EQ(d.mailbox, "Lists");         // any case, spelled as it exists
  d = Route("team@example.org", false);  // the whole address first
  EXPECT_EQ(d.user.name, "team@example.org");
  EXPECT_EQ(Route("nobody@example.org", false).kind, Kind::kUnknownUser);
}

TEST_F(RoutingTest, CatchAllIsSmtpOnly) {
  cfg_.smtp.catch_all = true;
  EXPECT_EQ(Route("nobody@x.test", true).kind, Kind::kUnknownUser);
  EXPECT_EQ(Route("nobody@x.test", false).kind, Kind::kUnknownUser);
  cfg_.dev.auto_create_users = true;
  auto d = Route("new+tag@x.test", false);
  EXPECT_EQ(d.kind, Kind::kCreate);
  EXPECT_EQ(d.create_name, "new");
  cfg_.smtp.catch_all_user = "alice";
  d = Route("whoever@x.test", false);
  EXPECT_EQ(d.kind, Kind::kDeliver);
  EXPECT_EQ(d.user.name, "alice");
  cfg_.smtp.catch_all_user = "ghost";
  EXPECT_EQ(Route("whoever@x.test", false).kind, Kind::kCatchAllMissing);
}

}  // namespace
}  // namespace pillarbox::smtp
