// The HTTP API's renderings of service results (server/http_api_ops.cpp).
#include <gtest/gtest.h>

#include "server/http_api_internal.h"

namespace pillarbox::server::api {
namespace {

using services::Code;

TEST(HttpApiTest, EveryOutcomeCodeHasOneHttpStatus) {
  EXPECT_EQ(HttpStatusOf(Code::kOk), 200);
  EXPECT_EQ(HttpStatusOf(Code::kBadInput), 400);
  EXPECT_EQ(HttpStatusOf(Code::kEmptyMessage), 400);
  EXPECT_EQ(HttpStatusOf(Code::kBadMailbox), 400);
  EXPECT_EQ(HttpStatusOf(Code::kNoSuchUser), 404);
  EXPECT_EQ(HttpStatusOf(Code::kExists), 409);
  EXPECT_EQ(HttpStatusOf(Code::kTooBig), 413);
  EXPECT_EQ(HttpStatusOf(Code::kOverQuota), 413);
  EXPECT_EQ(HttpStatusOf(Code::kTemporary), 503);
}

TEST(HttpApiTest, TemporaryFailureKeepsItsDetailInTheLog) {
  http::Response r =
      OutcomeError(7, services::Outcome(Code::kTemporary, "IOError: mdb_put: /data/store full"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body.find("/data/store"), std::string::npos);
  EXPECT_NE(r.body.find("session 7"), std::string::npos);
  r = OutcomeError(7, services::Outcome(Code::kBadInput, "pop3.delete_mode: sometimes"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("pop3.delete_mode: sometimes"), std::string::npos);
}

TEST(HttpApiTest, Pop3StateOfAnInboxRow) {
  services::InboxRow row;
  EXPECT_EQ(Pop3State(row), "visible");
  row.message.pop3.retrieved = 1;
  EXPECT_EQ(Pop3State(row), "retrieved");
  row.message.pop3.hidden = true;
  EXPECT_EQ(Pop3State(row), "hidden");
  row.pending_session = 3;
  EXPECT_EQ(Pop3State(row), "delete_pending");
}

}  // namespace
}  // namespace pillarbox::server::api
