#include "protocols/faults.h"

#include <gtest/gtest.h>

namespace pillarbox::protocols {
namespace {

bool Parses(const char* json) { return ParseFaultRules(json).ok(); }

TEST(FaultRulesTest, SmtpAndLmtpRepliesCarryACode) {
  EXPECT_TRUE(Parses(R"([{"protocol":"lmtp","command":"RCPT","action":"reply",)"
                     R"("reply":"452 4.2.2 injected"}])"));
  EXPECT_TRUE(Parses(R"([{"protocol":"smtp","command":"DATA","action":"reply",)"
                     R"("reply":"554 5.0.0 no"}])"));
  EXPECT_FALSE(Parses(R"([{"protocol":"smtp","action":"reply","reply":"injected"}])"));
  EXPECT_FALSE(Parses(R"([{"protocol":"smtp","action":"reply","reply":"45 short"}])"));
  EXPECT_FALSE(Parses(R"([{"protocol":"smtp","action":"reply","reply":"650 6.0.0 x"}])"));
}

TEST(FaultRulesTest, UntaggedAndByeAreForImap) {
  EXPECT_TRUE(Parses(R"([{"protocol":"imap","command":"IDLE","action":"untagged",)"
                     R"("reply":"BYE going","delay_ms":500}])"));
  EXPECT_FALSE(Parses(R"([{"protocol":"imap","action":"untagged"}])"));  // needs reply
  EXPECT_FALSE(Parses(R"([{"protocol":"pop3","action":"untagged","reply":"x"}])"));
  EXPECT_FALSE(Parses(R"([{"protocol":"smtp","action":"bye"}])"));
  EXPECT_FALSE(Parses(R"([{"protocol":"smtp","action":"disconnect","after_bytes":10}])"));
  auto rules = ParseFaultRules(
      R"([{"protocol":"imap","command":"idle","action":"untagged","reply":"BYE x","delay_ms":5}])");
  ASSERT_TRUE(rules.ok());
  EXPECT_EQ((*rules)[0].command, "IDLE");
  EXPECT_NE(FaultRulesJson(*rules).find("\"delay_ms\": 5"), std::string::npos);
}

TEST(FaultRulesTest, MatchTakesCountsAndUsers) {
  FaultRegistry registry;
  auto rules = ParseFaultRules(R"([{"protocol":"lmtp","command":"RCPT","user":"Bob",)"
                               R"("action":"reply","reply":"452 4.2.2 x","count":1}])");
  ASSERT_TRUE(rules.ok());
  registry.Replace(std::move(*rules));
  EXPECT_FALSE(registry.Match("lmtp", "RCPT", "alice", "").has_value());
  EXPECT_FALSE(registry.Match("smtp", "RCPT", "bob", "").has_value());
  EXPECT_TRUE(registry.Match("lmtp", "RCPT", "bob", "").has_value());
  EXPECT_FALSE(registry.Match("lmtp", "RCPT", "bob", "").has_value());  // used up
}

}  // namespace
}  // namespace pillarbox::protocols
