#include "server/limits.h"

#include <gtest/gtest.h>

namespace pillarbox::server {
namespace {

using V = ConnectionLimiter::Verdict;

TEST(ConnectionLimiterTest, PerIpLimit) {
  ConnectionLimiter l(100, 2);
  EXPECT_EQ(l.TryAcquire("10.0.0.1"), V::kAccept);
  EXPECT_EQ(l.TryAcquire("10.0.0.1"), V::kAccept);
  EXPECT_EQ(l.TryAcquire("10.0.0.1"), V::kTooManyFromIp);
  EXPECT_EQ(l.TryAcquire("10.0.0.2"), V::kAccept);
  EXPECT_EQ(l.from("10.0.0.1"), 2u);
  EXPECT_EQ(l.total(), 3u);
  l.Release("10.0.0.1");
  EXPECT_EQ(l.TryAcquire("10.0.0.1"), V::kAccept);
}

TEST(ConnectionLimiterTest, TotalLimit) {
  ConnectionLimiter l(3, 100);
  EXPECT_EQ(l.TryAcquire("a"), V::kAccept);
  EXPECT_EQ(l.TryAcquire("b"), V::kAccept);
  EXPECT_EQ(l.TryAcquire("c"), V::kAccept);
  EXPECT_EQ(l.TryAcquire("d"), V::kTooManyTotal);
  EXPECT_EQ(l.from("d"), 0u);
  l.Release("b");
  EXPECT_EQ(l.TryAcquire("d"), V::kAccept);
  EXPECT_EQ(l.total(), 3u);
}

TEST(ConnectionLimiterTest, ReleaseForgetsAddresses) {
  ConnectionLimiter l(10, 1);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(l.TryAcquire("x"), V::kAccept);
    l.Release("x");
  }
  EXPECT_EQ(l.total(), 0u);
  EXPECT_EQ(l.from("x"), 0u);
}

TEST(ConnectionLimiterTest, UnixSocketsCountOnlyInTheTotal) {
  ConnectionLimiter l(2, 1);
  EXPECT_EQ(l.TryAcquire(""), V::kAccept);
  EXPECT_EQ(l.TryAcquire(""), V::kAccept);
  EXPECT_EQ(l.TryAcquire(""), V::kTooManyTotal);
}

TEST(ConnectionLimiterTest, ZeroMeansUnlimited) {
  ConnectionLimiter l(0, 0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(l.TryAcquire("x"), V::kAccept);
}

TEST(ConnectionLimiterTest, EachFamilyHasItsOwnBudget) {
  ConnectionLimiter l({2, 1, 1}, 100);
  EXPECT_EQ(l.TryAcquire("a", Family::kImapPop3), V::kAccept);
  EXPECT_EQ(l.TryAcquire("b", Family::kImapPop3), V::kAccept);
  EXPECT_EQ(l.TryAcquire("c", Family::kImapPop3), V::kTooManyTotal);
  // Readers filling their budget leave intake alone.
  EXPECT_EQ(l.TryAcquire("", Family::kLmtp), V::kAccept);
  EXPECT_EQ(l.TryAcquire("", Family::kLmtp), V::kTooManyTotal);
  EXPECT_EQ(l.TryAcquire("d", Family::kSmtp), V::kAccept);
  EXPECT_EQ(l.total(Family::kImapPop3), 2u);
  EXPECT_EQ(l.total(Family::kLmtp), 1u);
  l.Release("", Family::kLmtp);
  EXPECT_EQ(l.TryAcquire("", Family::kLmtp), V::kAccept);
  EXPECT_EQ(FamilyOf("imap"), Family::kImapPop3);
  EXPECT_EQ(FamilyOf("pop3"), Family::kImapPop3);
  EXPECT_EQ(FamilyOf("smtp"), Family::kSmtp);
  EXPECT_EQ(FamilyOf("lmtp"), Family::kLmtp);
  EXPECT_EQ(FamilyOf("postfix-auth"), Family::kLmtp);
  EXPECT_EQ(FamilyOf("socketmap"), Family::kLmtp);
}

TEST(ConnectionLimiterTest, TheAddressIsCheckedBeforeTheTotal) {
  // kTooManyTotal promises that a free slot would admit the client (the
  // server drops a connection for it only then).
  ConnectionLimiter l(1, 1);
  EXPECT_EQ(l.TryAcquire("a"), V::kAccept);
  EXPECT_EQ(l.TryAcquire("a"), V::kTooManyFromIp);
  EXPECT_EQ(l.TryAcquire("b"), V::kTooManyTotal);
  EXPECT_EQ(l.from("b"), 0u);
}

TEST(RefusalLineTest, EachProtocolSpeaksItsOwnLanguage) {
  EXPECT_EQ(RefusalLine("imap", V::kTooManyTotal), "* BYE Too many connections\r\n");
  EXPECT_EQ(RefusalLine("pop3", V::kTooManyTotal), "-ERR [SYS/TEMP] Too many connections\r\n");
  EXPECT_EQ(RefusalLine("smtp", V::kTooManyTotal), "421 4.7.0 Too many connections\r\n");
  EXPECT_EQ(RefusalLine("lmtp", V::kTooManyTotal), "421 4.7.0 Too many connections\r\n");
  EXPECT_EQ(RefusalLine("postfix-auth", V::kTooManyTotal), "");
  EXPECT_EQ(RefusalLine("socketmap", V::kShortOfMemory), "");
  EXPECT_EQ(RefusalLine("imap", V::kTooManyFromIp),
            "* BYE Too many connections from your address\r\n");
}

TEST(RefusalLineTest, ShortOfMemoryIsATemporaryError) {
  EXPECT_EQ(RefusalLine("imap", V::kShortOfMemory),
            "* BYE [UNAVAILABLE] Server is short of memory, try again later\r\n");
  EXPECT_EQ(RefusalLine("pop3", V::kShortOfMemory),
            "-ERR [SYS/TEMP] Server is short of memory, try again later\r\n");
  EXPECT_EQ(RefusalLine("lmtp", V::kShortOfMemory),
            "421 4.3.2 Server is short of memory, try again later\r\n");
}

}  // namespace
}  // namespace pillarbox::server
