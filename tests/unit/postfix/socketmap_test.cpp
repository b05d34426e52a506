// Transcripts of the Postfix socketmap session against a store in a temp
// directory, exact bytes, input split at every point.
#include "protocols/postfix/socketmap.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace pillarbox::postfix {
namespace {

using testing::FakeOutput;
using testing::StoreFixture;

class SocketmapTest : public ::testing::Test {
 protected:
  SocketmapTest() { cfg_.delivery.domains = {"example.org"}; }

  void SetUp() override {
    for (const char* name : {"alice", "Bob"}) {
      auto r = fx_.Wait<storage::UserRecord>(
          [&](auto cb) { fx_.store().CreateUser(name, "{PLAIN}pw", cb); });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }

  void Open() {
    out_ = std::make_unique<FakeOutput>();
    ctx_.store = &fx_.store();
    ctx_.config = &cfg_;
    ctx_.registry = &registry_;
    ctx_.hostname = "mx.test";
    info_.unix_socket = true;
    session_ = MakeSocketmapSession(ctx_, info_, *out_);
    session_->Start();
  }

  std::string Send(std::string_view input) {
    session_->OnInput(input);
    return out_->Take();
  }

  config::Config cfg_;
  protocols::SessionRegistry registry_;
  StoreFixture fx_;
  protocols::SessionContext ctx_;
  protocols::ConnectionInfo info_;
  std::unique_ptr<FakeOutput> out_;
  std::unique_ptr<protocols::Session> session_;
};

TEST(NetstringTest, Encodes) {
  EXPECT_EQ(Netstring(""), "0:,");
  EXPECT_EQ(Netstring("OK alice"), "8:OK alice,");
}

TEST_F(SocketmapTest, KnownUsersAreOkUnknownNotFound) {
  Open();
  EXPECT_EQ(Send("25:virtual alice@example.org,"), "8:OK alice,");
  EXPECT_EQ(Send("23:virtual BOB@example.org,"), "6:OK Bob,");  // the name as stored
  EXPECT_EQ(Send("26:virtual nobody@example.org,"), "9:NOTFOUND ,");
  // Any map name.
  EXPECT_EQ(Send("26:anything alice@EXAMPLE.ORG,"), "8:OK alice,");
  EXPECT_FALSE(out_->closed());
}

TEST_F(SocketmapTest, DomainsAndSubaddressesFollowDelivery) {
  Open();
  EXPECT_EQ(Send("23:virtual alice@other.org,"), "9:NOTFOUND ,");
  EXPECT_EQ(Send("30:virtual alice+news@example.org,"), "8:OK alice,");
  // Postfix's wildcard lookup of the domain, and a bare local part.
  EXPECT_EQ(Send("20:virtual @example.org,"), "9:NOTFOUND ,");
  EXPECT_EQ(Send("13:virtual alice,"), "8:OK alice,");
}

TEST_F(SocketmapTest, EmptyDomainsAcceptAnyDomainAsLmtpDoes) {
  cfg_.delivery.domains.clear();
  Open();
  EXPECT_EQ(Send("23:virtual alice@other.org,"), "8:OK alice,");
}

TEST_F(SocketmapTest, SmtpCatchAllDoesNotApplyToLmtpDelivery) {
  cfg_.smtp.catch_all = true;
  cfg_.dev.auto_create_users = true;
  Open();
  EXPECT_EQ(Send("26:virtual nobody@example.org,"), "9:NOTFOUND ,");
}

TEST_F(SocketmapTest, RequestWithoutKeyIsPerm) {
  Open();
  EXPECT_EQ(Send("7:virtual,"), "24:PERM expected \"name key\",");
  EXPECT_EQ(Send("6: alice,"), "24:PERM expected \"name key\",");
  EXPECT_EQ(Send("8:virtual ,"), "9:NOTFOUND ,");
  EXPECT_FALSE(out_->closed());
}

TEST_F(SocketmapTest, PipelinedRequestsSplitAtEveryPoint) {
  const std::string input =
      "25:virtual alice@example.org,26:virtual nobody@example.org,23:virtual bob@example.org,";
  const std::string want = "8:OK alice,9:NOTFOUND ,6:OK Bob,";
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    Open();
    std::string got = Send(std::string_view(input).substr(0, cut));
    got += Send(std::string_view(input).substr(cut));
    EXPECT_EQ(got, want) << "cut at " << cut;
    EXPECT_FALSE(out_->closed());
  }
  // Byte by byte.
  Open();
  std::string got;
  for (char c : input) got += Send(std::string_view(&c, 1));
  EXPECT_EQ(got, want);
}

TEST_F(SocketmapTest, BrokenFramingCloses) {
  const std::vector<std::string> cases = {
      "abc",          // no length
      ":virtual a,",  // empty length
      "5:hello!",     // no comma after the payload
      "1234567",      // a length longer than the limit can be
      "100001:",      // over kMaxSocketmapRequest
      "3x:abc,",      // not a number
  };
  for (const auto& input : cases) {
    Open();
    EXPECT_EQ(Send(input), "") << input;
    EXPECT_TRUE(out_->closed()) << input;
    EXPECT_EQ(Send("25:virtual alice@example.org,"), "");
  }
}

TEST_F(SocketmapTest, ARequestOfTheMaximumLengthIsAnswered) {
  Open();
  std::string payload =
      "virtual " + std::string(kMaxSocketmapRequest - 8 - 12, 'a') + "@example.org";
  ASSERT_EQ(payload.size(), kMaxSocketmapRequest);
  EXPECT_EQ(Send(Netstring(payload)), "9:NOTFOUND ,");
  EXPECT_FALSE(out_->closed());
}

TEST_F(SocketmapTest, StopsReadingAboveTheHighWaterMark) {
  Open();
  out_->set_queued(cfg_.limits.output_high_water + 1);
  EXPECT_EQ(Send("25:virtual alice@example.org,25:virtual alice@example.org,"), "");
  EXPECT_TRUE(out_->paused());
  out_->set_queued(0);
  session_->OnDrained();
  EXPECT_FALSE(out_->paused());
  EXPECT_EQ(out_->Take(), "8:OK alice,8:OK alice,");
}

}  // namespace
}  // namespace pillarbox::postfix
