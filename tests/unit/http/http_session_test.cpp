// The HTTP session: exact bytes out for bytes in, every request whole, byte
// by byte and split at every point; limits; pipelining; backpressure; event
// streams; and the router.
#include "protocols/http/http_session.h"

#include <gtest/gtest.h>

#include "protocols/http/router.h"
#include "tests/support/test_support.h"

namespace pillarbox::http {
namespace {

using pillarbox::testing::FakeOutput;

// What the handler saw of one request.
struct Seen {
  std::string method, path, target, body;
  std::map<std::string, std::string> query;
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpSessionTest : public ::testing::Test {
 protected:
  HttpSessionTest() {
    ctx_.config = &config_;
    ctx_.registry = &registry_;
  }

  // A session whose handler records the request and, unless `defer_`,
  // answers 200 with the body "ok <path>".
  std::unique_ptr<HttpSession> Make() {
    return std::make_unique<HttpSession>(ctx_, info_, out_, [this](HttpSession& s, Request& r) {
      seen_.push_back({r.method, r.path, r.target, r.body, r.query, r.headers});
      if (defer_) return;
      Response resp;
      resp.content_type = "text/plain";
      resp.body = "ok " + r.path;
      s.Respond(std::move(resp));
    });
  }

  config::Config config_;
  protocols::SessionRegistry registry_;
  protocols::SessionContext ctx_;
  protocols::ConnectionInfo info_;
  FakeOutput out_;
  std::vector<Seen> seen_;
  bool defer_ = false;
};

std::string Ok(std::string_view body, bool close = false) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nX-Content-Type-Options: nosniff\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n" + std::string(body);
}

TEST_F(HttpSessionTest, AnswersOneGetWithExactBytes) {
  auto s = Make();
  s->OnInput("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(out_.Take(), Ok("ok /healthz"));
  EXPECT_FALSE(out_.closed());
  EXPECT_TRUE(s->Authenticated());
}

const char kPost[] =
    "POST /api/v1/users?name=a%20b&x=1+2 HTTP/1.1\r\nHost: example\r\n"
    "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"name\":\"alice\"}\n";

void ExpectPostSeen(const std::vector<Seen>& seen) {
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/api/v1/users");
  EXPECT_EQ(seen[0].target, "/api/v1/users?name=a%20b&x=1+2");
  EXPECT_EQ(seen[0].query.at("name"), "a b");
  EXPECT_EQ(seen[0].query.at("x"), "1 2");
  EXPECT_EQ(seen[0].body, "{\"name\":\"alice\"}\n");
  ASSERT_EQ(seen[0].headers.size(), 3u);
  EXPECT_EQ(seen[0].headers[0], (std::pair<std::string, std::string>{"host", "example"}));
  EXPECT_EQ(seen[0].headers[2].first, "content-length");
}

TEST_F(HttpSessionTest, ParsesARequestSplitAtEveryPoint) {
  const std::string req = kPost;
  for (std::size_t cut = 0; cut <= req.size(); ++cut) {
    SCOPED_TRACE(cut);
    seen_.clear();
    out_.Take();
    auto s = Make();
    s->OnInput(req.substr(0, cut));
    s->OnInput(req.substr(cut));
    ExpectPostSeen(seen_);
    EXPECT_EQ(out_.Take(), Ok("ok /api/v1/users"));
  }
}

TEST_F(HttpSessionTest, ParsesARequestByteByByte) {
  auto s = Make();
  for (char c : std::string(kPost)) s->OnInput(std::string_view(&c, 1));
  ExpectPostSeen(seen_);
  EXPECT_EQ(out_.Take(), Ok("ok /api/v1/users"));
}

TEST_F(HttpSessionTest, ChunkedBodyIsJoined) {
  auto s = Make();
  s->OnInput(
      "PATCH /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].body, "abcde");
  EXPECT_EQ(seen_[0].method, "PATCH");
}

TEST_F(HttpSessionTest, PipelinedRequestsWaitForTheAnswerBefore) {
  defer_ = true;
  auto s = Make();
  s->OnInput("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(seen_.size(), 1u);  // /two waits
  EXPECT_EQ(out_.Take(), "");
  defer_ = false;
  Response r;
  r.content_type = "text/plain";
  r.body = "first";
  s->Respond(std::move(r));
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[1].path, "/two");
  EXPECT_EQ(out_.Take(), Ok("first") + Ok("ok /two"));
}

TEST_F(HttpSessionTest, ConnectionCloseClosesAfterTheAnswer) {
  auto s = Make();
  s->OnInput("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(out_.Take(), Ok("ok /x", true));
  EXPECT_TRUE(out_.closed());
}

TEST_F(HttpSessionTest, Http10ClosesAfterTheAnswer) {
  auto s = Make();
  s->OnInput("GET /x HTTP/1.0\r\n\r\n");
  EXPECT_EQ(out_.Take(), Ok("ok /x", true));
  EXPECT_TRUE(out_.closed());
}

TEST_F(HttpSessionTest, HeadGetsTheLengthWithoutTheBody) {
  auto s = Make();
  s->OnInput("HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(seen_[0].method, "GET");
  std::string full = Ok("ok /x");
  EXPECT_EQ(out_.Take(), full.substr(0, full.size() - 5));
}

TEST_F(HttpSessionTest, MalformedRequestGets400AndClose) {
  auto s = Make();
  s->OnInput("NOT HTTP AT ALL\r\n\r\n");
  std::string out = out_.Take();
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 Bad Request\r\n")) << out;
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(out.find("{\"error\":"), std::string::npos);
  EXPECT_TRUE(out_.closed());
  EXPECT_TRUE(seen_.empty());
  s->OnInput("GET / HTTP/1.1\r\n\r\n");  // ignored after the error
  EXPECT_EQ(out_.Take(), "");
}

TEST_F(HttpSessionTest, HeaderOverTheLimitGets431) {
  auto s = Make();
  std::string req = "GET / HTTP/1.1\r\nX-Big: " + std::string(kMaxHeaderBytes, 'a') + "\r\n\r\n";
  for (std::size_t i = 0; i < req.size(); i += 1000) s->OnInput(req.substr(i, 1000));
  std::string out = out_.Take();
  EXPECT_TRUE(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n")) << out;
  EXPECT_TRUE(out_.closed());
  EXPECT_TRUE(seen_.empty());
}

TEST_F(HttpSessionTest, HeaderJustUnderTheLimitPasses) {
  auto s = Make();
  std::string head = "GET / HTTP/1.1\r\nX: ";
  // Counted: the URL "/" plus each field name and value.
  std::string value(kMaxHeaderBytes - 1 - 1, 'a');
  s->OnInput(head + value + "\r\n\r\n");
  EXPECT_EQ(seen_.size(), 1u);
}

TEST_F(HttpSessionTest, DeclaredBodyOverTheLimitGets413WithoutReadingIt) {
  auto s = Make();
  s->OnInput("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kMaxBodyBytes + 1) +
             "\r\n\r\n");
  std::string out = out_.Take();
  EXPECT_TRUE(out.starts_with("HTTP/1.1 413 Content Too Large\r\n")) << out;
  EXPECT_TRUE(out_.closed());
}

TEST_F(HttpSessionTest, ChunkedBodyOverTheLimitGets413) {
  auto s = Make();
  s->OnInput("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", kMaxBodyBytes);
  s->OnInput(std::string(size) + std::string(kMaxBodyBytes, 'a') + "\r\n");
  EXPECT_EQ(out_.written().find("HTTP/1.1 413"), std::string::npos);
  s->OnInput("1\r\nb\r\n");
  EXPECT_TRUE(out_.Take().starts_with("HTTP/1.1 413"));
}

TEST_F(HttpSessionTest, BodyLimitChosenPerRequest) {
  auto s = Make();
  // A larger limit for one path (e.g. seeding a message), the default for the rest.
  s->SetBodyLimit([](const Request& r) { return r.path == "/big" ? kMaxBodyBytes * 2 : 10; });
  const std::string big(kMaxBodyBytes + 1, 'a');
  s->OnInput("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big.size()) +
             "\r\n\r\n" + big);
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].body.size(), big.size());
  EXPECT_EQ(out_.Take(), Ok("ok /big"));

  s->OnInput("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
  const std::string out = out_.Take();
  EXPECT_TRUE(out.starts_with("HTTP/1.1 413 Content Too Large\r\n")) << out;
  EXPECT_NE(out.find("at most 10 bytes"), std::string::npos) << out;
  EXPECT_EQ(seen_.size(), 1u);
}

TEST_F(HttpSessionTest, BodiesAreCountedAgainstTheMemoryBudget) {
  auto& budget = MemoryBudget::Global();
  const std::size_t base = budget.used();
  budget.set_limit(base + 64 * 1024);
  defer_ = true;
  auto s = Make();
  const std::string body(40 * 1024, 'a');
  s->OnInput("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n\r\n" + body);
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_GE(budget.used(), base + body.size());  // held while the request waits

  // A second client's body does not fit in what is left: 503, not a bigger heap.
  FakeOutput out2;
  HttpSession other(ctx_, info_, out2, [](HttpSession&, Request&) {});
  other.OnInput("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n\r\n" + body);
  EXPECT_TRUE(out2.Take().starts_with("HTTP/1.1 503 ")) << out2.written();

  Response r;
  r.body = "done";
  s->Respond(std::move(r));
  EXPECT_EQ(budget.used(), base);  // answered: nothing held
  budget.set_limit(0);
}

TEST_F(HttpSessionTest, ExpectContinueGets100First) {
  auto s = Make();
  s->OnInput("POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(out_.Take(), "HTTP/1.1 100 Continue\r\n\r\n");
  s->OnInput("hi");
  EXPECT_EQ(out_.Take(), Ok("ok /a"));
}

TEST_F(HttpSessionTest, LargeBodyWaitsForTheClientToRead) {
  config_.limits.output_high_water = 100 * 1024;
  auto s = std::make_unique<HttpSession>(ctx_, info_, out_, [](HttpSession& s, Request&) {
    Response r;
    r.content_type = "application/octet-stream";
    r.body = std::string(1 << 20, 'x');
    s.Respond(std::move(r));
  });
  out_.set_queued(200 * 1024);  // the client reads nothing
  s->OnInput("GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string first = out_.Take();
  EXPECT_TRUE(first.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(first.find('x'), std::string::npos);  // no body yet
  out_.set_queued(0);
  s->OnDrained();
  std::string rest = out_.Take();
  // The whole body, then the answer to the pipelined request.
  EXPECT_EQ(rest.substr(0, 1 << 20), std::string(1 << 20, 'x'));
  EXPECT_TRUE(rest.substr(1 << 20).starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpSessionTest, EventStreamKeepsTheConnectionAndIgnoresInput) {
  auto s = std::make_unique<HttpSession>(ctx_, info_, out_, [](HttpSession& s, Request&) {
    Response head;
    head.content_type = "text/event-stream";
    s.StartStream(std::move(head));
  });
  bool closed = false;
  s->SetOnClose([&] { closed = true; });
  s->OnInput("GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(out_.Take(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(s->streaming());
  EXPECT_TRUE(s->Push("data: 1\n\n"));
  s->OnInput("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(out_.Take(), "data: 1\n\n");
  EXPECT_EQ(s->IdleTimeout(), kStreamIdleTimeout);
  s->OnClosed();
  EXPECT_TRUE(closed);
  EXPECT_FALSE(s->Push("x"));
}

TEST_F(HttpSessionTest, BoundCompletionIsDroppedAfterTheSessionIsGone) {
  std::function<void()> later;
  auto s = std::make_unique<HttpSession>(ctx_, info_, out_, [&](HttpSession& s, Request&) {
    later = s.Bind([](HttpSession& s) { s.Respond(Response{}); });
  });
  s->OnInput("GET / HTTP/1.1\r\n\r\n");
  s->OnClosed();
  s.reset();
  later();  // must not touch the freed session
  EXPECT_EQ(out_.Take(), "");
}

TEST_F(HttpSessionTest, LoginTimeoutAnswers408) {
  auto s = Make();
  s->OnInput("GET / HTTP/1.1\r\nHo");
  EXPECT_FALSE(s->Authenticated());
  s->OnLoginTimeout();
  EXPECT_TRUE(out_.Take().starts_with("HTTP/1.1 408 Request Timeout\r\n"));
  EXPECT_TRUE(out_.closed());
}

TEST_F(HttpSessionTest, ShutdownClosesAnIdleConnection) {
  auto s = Make();
  s->OnShutdown();
  EXPECT_TRUE(out_.closed());
}

TEST_F(HttpSessionTest, PipeliningOverTheBufferPausesInput) {
  defer_ = true;
  auto s = Make();
  std::string req = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string many;
  while (many.size() <= kMaxBufferedInput + req.size()) many += req;
  s->OnInput(many);
  EXPECT_TRUE(out_.paused());
  defer_ = false;
  s->Respond(Response{});
  EXPECT_FALSE(out_.paused());
}

TEST(PercentDecodeTest, DecodesAndKeepsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("a%2Fb%20c"), "a/b c");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
}

TEST(RouterTest, MatchesParamsMethodsAndDecodedSegments) {
  Router r;
  int hit = 0;
  r.Add("GET", "/api/v1/users/{name}/mailboxes/{mailbox}",
        [&](HttpSession&, Request&, const Params&) { hit = 1; });
  r.Add("PATCH", "/api/v1/users/{name}/settings",
        [&](HttpSession&, Request&, const Params&) { hit = 2; });
  r.Add("GET", "/api/v1/users/{name}/settings",
        [&](HttpSession&, Request&, const Params&) { hit = 3; });
  auto m = r.Find("GET", "/api/v1/users/al%40ice/mailboxes/Archive%2F2026");
  ASSERT_NE(m.fn, nullptr);
  EXPECT_EQ(m.params.at("name"), "al@ice");
  EXPECT_EQ(m.params.at("mailbox"), "Archive/2026");
  auto put = r.Find("PUT", "/api/v1/users/x/settings");
  EXPECT_EQ(put.fn, nullptr);
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.allow, "PATCH, GET");
  EXPECT_EQ(r.Find("GET", "/api/v1/users/x/other").status, 404);
  EXPECT_EQ(r.Find("GET", "/api/v1/users/x/settings/").status, 200);
}

TEST(JsonErrorTest, QuotesTheMessage) {
  Response r = JsonError(404, "no such user: \"x\"");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\":\"no such user: \\\"x\\\"\"}");
}

}  // namespace
}  // namespace pillarbox::http
