// Transcripts of the Dovecot auth protocol session (Postfix SASL) against a
// store in a temp directory, exact bytes, input split at every point.
#include "protocols/postfix/dovecot_auth.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace pillarbox::postfix {
namespace {

using testing::FakeOutput;
using testing::FakeTimers;
using testing::StoreFixture;

constexpr const char* kHandshake =
    "VERSION\t1\t2\n"
    "MECH\tPLAIN\tplaintext\n"
    "MECH\tLOGIN\tplaintext\n"
    "SPID\t4242\n"
    "CUID\t1\n"
    "COOKIE\t0123456789abcdef0123456789abcdef\n"
    "DONE\n";
// What Postfix's smtpd sends first, then a request as it sends one.
constexpr const char* kHello = "VERSION\t1\t0\nCPID\t977\n";
// "\0alice\0secret"
constexpr const char* kAliceRequest =
    "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1\t"
    "resp=AGFsaWNlAHNlY3JldA==\n";

class DovecotAuthTest : public ::testing::Test {
 protected:
  DovecotAuthTest() {
    cfg_.auth.failure_delay = std::chrono::milliseconds(2000);
    cfg_.auth.lockout_failures = 3;
  }

  void SetUp() override {
    // {PLAIN} hashes keep the tests fast (yescrypt is slow by design).
    auto r = fx_.Wait<storage::UserRecord>(
        [&](auto cb) { fx_.store().CreateUser("alice", "{PLAIN}secret", cb); });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  void Open() {
    out_ = std::make_unique<FakeOutput>();
    ctx_.store = &fx_.store();
    ctx_.config = &cfg_;
    ctx_.registry = &registry_;
    ctx_.throttle = &throttle_;
    ctx_.timer = timers_.Fn();
    info_.unix_socket = true;
    AuthSessionOptions options;
    options.server_pid = 4242;
    options.cookie = [] { return std::string("0123456789abcdef0123456789abcdef"); };
    session_ = MakeAuthSession(ctx_, info_, *out_, options);
    session_->Start();
    greeting_ = out_->Take();
  }

  // Feeds `input` and waits (bounded) until `lines` answer lines are out:
  // password checks finish on the store's hashing threads.
  std::string SendUntil(std::string_view input, int lines) {
    session_->OnInput(input);
    std::string got;
    fx_.RunUntil([&] {
      got += out_->Take();
      return std::count(got.begin(), got.end(), '\n') >= lines || out_->closed();
    });
    return got;
  }

  // Feeds `input` when no answer needs the store.
  std::string Send(std::string_view input) {
    session_->OnInput(input);
    return out_->Take();
  }

  config::Config cfg_;
  protocols::SessionRegistry registry_;
  StoreFixture fx_;
  protocols::AuthThrottle throttle_{cfg_.auth};
  FakeTimers timers_;
  protocols::SessionContext ctx_;
  protocols::ConnectionInfo info_;
  std::unique_ptr<FakeOutput> out_;
  std::unique_ptr<protocols::Session> session_;
  std::string greeting_;
};

TEST_F(DovecotAuthTest, HandshakeIsSentAtOnce) {
  Open();
  EXPECT_EQ(greeting_, kHandshake);
  EXPECT_TRUE(session_->Authenticated());  // no login deadline for the MTA
}

TEST_F(DovecotAuthTest, PlainWithInitialResponse) {
  Open();
  EXPECT_EQ(Send(kHello), "");
  EXPECT_EQ(SendUntil(kAliceRequest, 1), "OK\t1\tuser=alice\n");
  EXPECT_FALSE(out_->closed());
}

TEST_F(DovecotAuthTest, PlainSplitAtEveryPoint) {
  std::string input = std::string(kHello) + kAliceRequest;
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    Open();
    session_->OnInput(std::string_view(input).substr(0, cut));
    std::string got = SendUntil(std::string_view(input).substr(cut), 1);
    EXPECT_EQ(got, "OK\t1\tuser=alice\n") << "cut at " << cut;
    session_->OnClosed();
    session_.reset();
  }
}

TEST_F(DovecotAuthTest, LoginMechanismAndAddressLogin) {
  cfg_.delivery.domains = {"example.org"};
  Open();
  Send(kHello);
  EXPECT_EQ(Send("AUTH\t2\tLOGIN\tservice=smtp\trip=127.0.0.1\n"), "CONT\t2\tVXNlcm5hbWU6\n");
  // "alice@example.org", as mail clients' setup logs in.
  EXPECT_EQ(Send("CONT\t2\tYWxpY2VAZXhhbXBsZS5vcmc=\n"), "CONT\t2\tUGFzc3dvcmQ6\n");
  EXPECT_EQ(SendUntil("CONT\t2\tc2VjcmV0\n", 1), "OK\t2\tuser=alice\n");
}

TEST_F(DovecotAuthTest, PlainWithoutInitialResponseAsksForIt) {
  Open();
  Send(kHello);
  EXPECT_EQ(Send("AUTH\t3\tPLAIN\tservice=smtp\trip=::1\n"), "CONT\t3\t\n");
  EXPECT_EQ(SendUntil("CONT\t3\tAGFsaWNlAHNlY3JldA==\n", 1), "OK\t3\tuser=alice\n");
}

TEST_F(DovecotAuthTest, WrongPasswordAndUnknownUserFailAlikeAfterTheDelay) {
  Open();
  Send(kHello);
  // "\0alice\0wrong"
  session_->OnInput("AUTH\t4\tPLAIN\tservice=smtp\trip=127.0.0.1\tresp=AGFsaWNlAHdyb25n\n");
  fx_.RunUntil([&] { return timers_.pending() > 0; });
  EXPECT_EQ(out_->Take(), "");
  timers_.Advance(std::chrono::milliseconds(1999));
  EXPECT_EQ(out_->Take(), "");
  timers_.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(out_->Take(), "FAIL\t4\tuser=alice\n");
  // "\0nobody\0secret"
  session_->OnInput("AUTH\t5\tPLAIN\tservice=smtp\trip=127.0.0.2\tresp=AG5vYm9keQBzZWNyZXQ=\n");
  fx_.RunUntil([&] { return timers_.pending() > 0; });
  timers_.Advance(std::chrono::milliseconds(2000));
  EXPECT_EQ(out_->Take(), "FAIL\t5\tuser=nobody\n");
  EXPECT_FALSE(out_->closed());
}

TEST_F(DovecotAuthTest, LockoutIsATemporaryFailure) {
  cfg_.auth.failure_delay = std::chrono::milliseconds(0);
  Open();
  Send(kHello);
  for (int i = 1; i <= 3; ++i) {
    std::string req = "AUTH\t" + std::to_string(i) +
                      "\tPLAIN\tservice=smtp\trip=192.0.2.9\tsecured\tresp=AGFsaWNlAHdyb25n\n";
    EXPECT_EQ(SendUntil(req, 1), "FAIL\t" + std::to_string(i) + "\tuser=alice\n");
  }
  EXPECT_EQ(Send("AUTH\t9\tPLAIN\tservice=smtp\trip=192.0.2.9\tsecured\t"
                 "resp=AGFsaWNlAHNlY3JldA==\n"),
            "FAIL\t9\tuser=alice\ttemp\treason=Too many failed authentication attempts, try "
            "again later\n");
  // Another client address is not locked out.
  EXPECT_EQ(SendUntil("AUTH\t10\tPLAIN\tservice=smtp\trip=192.0.2.10\tsecured\t"
                      "resp=AGFsaWNlAHNlY3JldA==\n",
                      1),
            "OK\t10\tuser=alice\n");
}

TEST_F(DovecotAuthTest, PlaintextRuleAppliesToTheEndClient) {
  Open();
  Send(kHello);
  // A remote client without TLS to Postfix: refused under tls_or_loopback.
  EXPECT_EQ(Send("AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.1\tresp=AGFsaWNlAHNlY3JldA==\n"),
            "FAIL\t1\treason=Plaintext authentication disallowed on non-secure connections\n");
  EXPECT_EQ(SendUntil("AUTH\t2\tPLAIN\tservice=smtp\trip=192.0.2.1\tsecured\t"
                      "resp=AGFsaWNlAHNlY3JldA==\n",
                      1),
            "OK\t2\tuser=alice\n");
}

TEST_F(DovecotAuthTest, BadRequestsGetFail) {
  Open();
  Send(kHello);
  EXPECT_EQ(Send("AUTH\t1\tCRAM-MD5\tservice=smtp\n"),
            "FAIL\t1\treason=Unsupported authentication mechanism\n");
  EXPECT_EQ(Send("AUTH\t2\tPLAIN\trip=127.0.0.1\n"), "FAIL\t2\treason=Missing service\n");
  EXPECT_EQ(Send("AUTH\t3\tPLAIN\tservice=smtp\trip=127.0.0.1\tresp=!!!\n").substr(0, 7),
            "FAIL\t3\t");
  // "bob\0alice\0secret": acting as someone else.
  EXPECT_EQ(SendUntil("AUTH\t4\tPLAIN\tservice=smtp\trip=127.0.0.1\t"
                      "resp=Ym9iAGFsaWNlAHNlY3JldA==\n",
                      0),
            "");
  fx_.RunUntil([&] { return timers_.pending() > 0; });
  timers_.Advance(std::chrono::milliseconds(2000));
  EXPECT_EQ(out_->Take(), "FAIL\t4\tuser=alice\n");
  EXPECT_EQ(Send("AUTH\t5\tLOGIN\tservice=smtp\trip=127.0.0.1\n"), "CONT\t5\tVXNlcm5hbWU6\n");
  EXPECT_EQ(Send("CONT\t5\t*\n"), "FAIL\t5\treason=Authentication aborted by client\n");
  EXPECT_FALSE(out_->closed());
}

TEST_F(DovecotAuthTest, PendingRequestsAreBounded) {
  Open();
  Send(kHello);
  for (std::size_t i = 1; i <= kMaxPendingRequests; ++i) {
    EXPECT_EQ(Send("AUTH\t" + std::to_string(i) + "\tPLAIN\tservice=smtp\trip=127.0.0.1\n"),
              "CONT\t" + std::to_string(i) + "\t\n");
  }
  EXPECT_EQ(Send("AUTH\t99\tPLAIN\tservice=smtp\trip=127.0.0.1\n"),
            "FAIL\t99\ttemp\treason=Too many pending authentication requests\n");
  EXPECT_EQ(SendUntil("CONT\t1\tAGFsaWNlAHNlY3JldA==\n", 1), "OK\t1\tuser=alice\n");
  EXPECT_EQ(Send("AUTH\t100\tPLAIN\tservice=smtp\trip=127.0.0.1\n"), "CONT\t100\t\n");
}

// Each of these breaks the protocol: the connection closes, nothing else.
TEST_F(DovecotAuthTest, ProtocolViolationsClose) {
  const std::vector<std::string> cases = {
      "CPID\t1\n",                                             // no VERSION first
      "VERSION\t2\t0\n",                                       // another major version
      "VERSION\n",                                             // no version numbers
      std::string(kHello) + "HELLO\n",                         // unknown command
      std::string(kHello) + "AUTH\t0\tPLAIN\tservice=smtp\n",  // id 0
      std::string(kHello) + "AUTH\tx\tPLAIN\tservice=smtp\n",  // not a number
      std::string(kHello) + "AUTH\t1\n",                       // no mechanism
      std::string(kHello) + "CONT\t1\tAAAA\n",                 // no such request
      std::string(kHello) + "AUTH\t1\tPLAIN\tservice=smtp\trip=127.0.0.1\n" +
          "AUTH\t1\tPLAIN\tservice=smtp\n",  // id in use
      std::string(kHello) + std::string(kMaxAuthLineLength + 1, 'A') + "\n",
      std::string(kHello) + std::string(kMaxAuthLineLength + 1, 'A'),  // no LF yet
  };
  for (const auto& input : cases) {
    Open();
    session_->OnInput(input);
    std::string got = out_->Take();
    EXPECT_TRUE(out_->closed()) << input.substr(0, 60);
    EXPECT_EQ(got.find("OK"), std::string::npos) << input.substr(0, 60);
    session_->OnInput(kAliceRequest);  // ignored once closed
    EXPECT_EQ(out_->Take(), "");
    session_->OnClosed();
    session_.reset();
  }
}

TEST_F(DovecotAuthTest, ALineOfExactlyTheLimitIsRead) {
  Open();
  Send(kHello);
  std::string line = "AUTH\t1\tCRAM-MD5\tservice=smtp\tx=";
  line += std::string(kMaxAuthLineLength - line.size(), 'a');
  EXPECT_EQ(Send(line + "\n"), "FAIL\t1\treason=Unsupported authentication mechanism\n");
  EXPECT_FALSE(out_->closed());
}

TEST_F(DovecotAuthTest, AnswerAfterCloseIsDropped) {
  Open();
  Send(kHello);
  session_->OnInput(kAliceRequest);
  session_->OnClosed();
  session_.reset();  // the store's completion finds no session
  fx_.RunUntil([&] { return true; });
  fx_.store().Flush();
  fx_.RunPending();
  EXPECT_EQ(out_->Take(), "");
}

TEST(DovecotAuthEscapeTest, RoundTrip) {
  std::string raw("a\tb\nc\rd\001e\0f", 11);
  std::string escaped = AuthEscape(raw);
  EXPECT_EQ(escaped, std::string("a\001tb\001nc\001rd\0011e\0010f"));
  EXPECT_EQ(AuthUnescape(escaped), raw);
  EXPECT_EQ(AuthUnescape("x\001ly"), "x\ny");  // \001l is LF too
  EXPECT_EQ(AuthUnescape("x\001"), "x");
  EXPECT_EQ(AuthUnescape("\001q"), "q");
}

}  // namespace
}  // namespace pillarbox::postfix
