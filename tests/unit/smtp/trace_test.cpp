#include "protocols/smtp/trace.h"

#include <gtest/gtest.h>

namespace pillarbox::smtp {
namespace {

TEST(Trace, Date) {
  EXPECT_EQ(FormatRfc5322Date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(FormatRfc5322Date(1795000000), "Wed, 18 Nov 2026 11:06:40 +0000");
}

TEST(Trace, ProtocolKeywords) {
  EXPECT_EQ(ProtocolKeyword(false, false, false, false), "SMTP");
  EXPECT_EQ(ProtocolKeyword(false, true, false, false), "ESMTP");
  EXPECT_EQ(ProtocolKeyword(false, true, true, false), "ESMTPS");
  EXPECT_EQ(ProtocolKeyword(false, true, false, true), "ESMTPA");
  EXPECT_EQ(ProtocolKeyword(false, true, true, true), "ESMTPSA");
  EXPECT_EQ(ProtocolKeyword(true, true, false, false), "LMTP");
  EXPECT_EQ(ProtocolKeyword(true, true, true, false), "LMTPS");
}

TEST(Trace, Headers) {
  TraceFields f;
  f.return_path = "sender@example.org";
  f.delivered_to = "alice@example.org";
  f.helo = "mx (evil)\x01";
  f.peer_ip = "192.0.2.1";
  f.hostname = "mail.test";
  f.protocol = "LMTP";
  f.id = "ABC";
  f.for_recipient = "alice@example.org";
  f.time = 0;
  EXPECT_EQ(FormatTraceHeaders(f),
            "Return-Path: <sender@example.org>\r\n"
            "Delivered-To: alice@example.org\r\n"
            "Received: from mx??evil?? ([192.0.2.1])\r\n"
            "\tby mail.test (Pillarbox) with LMTP id ABC\r\n"
            "\tfor <alice@example.org>; Thu, 01 Jan 1970 00:00:00 +0000\r\n");
  f.return_path = "";
  f.delivered_to = "";
  f.for_recipient = "";
  f.peer_ip = "";
  f.helo = "client.example";
  EXPECT_EQ(FormatTraceHeaders(f),
            "Return-Path: <>\r\n"
            "Received: from client.example\r\n"
            "\tby mail.test (Pillarbox) with LMTP id ABC; Thu, 01 Jan 1970 00:00:00 +0000\r\n");
}

}  // namespace
}  // namespace pillarbox::smtp
