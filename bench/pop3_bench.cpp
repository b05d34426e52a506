// POP3 session hot paths against a real store in a temp directory (no
// sockets): RETR throughput over a 10k-message maildrop, and login snapshot,
// STAT and UIDL over 100k messages.
//
//   build-*/bench/pop3_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "protocols/pop3/pop3_session.h"
#include "tests/support/test_support.h"

namespace pillarbox::pop3 {
namespace {

using pillarbox::testing::StoreFixture;

// Counts what the session writes; the client reads instantly.
class NullOutput : public protocols::SessionOutput {
 public:
  void Write(std::string bytes) override {
    bytes_ += bytes.size();
    if (bytes.size() >= 5) tail_ = bytes.substr(bytes.size() - 5);
  }
  std::size_t QueuedBytes() const override { return 0; }
  void StartTls() override {}
  void Close() override {}
  void PauseInput() override {}
  void ResumeInput() override {}
  std::size_t bytes_ = 0;
  std::string tail_;
};

struct Maildrop {
  explicit Maildrop(int messages, std::size_t body_bytes) : throttle(config.auth) {
    config.pop3.lock_session = false;
    auto user = fx.Wait<storage::UserRecord>([&](storage::Callback<storage::UserRecord> cb) {
      fx.store().CreateUser("alice", "{PLAIN}secret", cb);
    });
    std::string body;
    while (body.size() < body_bytes) {
      body += "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
    }
    int done = 0;
    const int kBatch = 2000;  // appends in flight at once (one group commit)
    for (int i = 0; i < messages; ++i) {
      storage::AppendRequest req;
      req.user = user->id;
      req.bytes = std::make_shared<const std::string>(
          "From: bench@example.org\r\nTo: alice@example.org\r\nSubject: message " +
          std::to_string(i) + "\r\nMessage-ID: <" + std::to_string(i) + "@bench>\r\n\r\n" + body);
      req.origin.protocol = "bench";
      fx.store().Append(std::move(req), [&done](Result<storage::AppendResult>) { ++done; });
      if ((i + 1) % kBatch == 0) fx.RunUntil([&] { return done == i + 1; });
    }
    fx.RunUntil([&] { return done == messages; });
    ctx.store = &fx.store();
    ctx.config = &config;
    ctx.registry = &registry;
    ctx.throttle = &throttle;
    info.peer_ip = "127.0.0.1";
    info.loopback = true;
  }

  std::unique_ptr<Pop3Session> Login(NullOutput& out) {
    auto s = std::make_unique<Pop3Session>(ctx, info, out);
    s->Start();
    s->OnInput("USER alice\r\nPASS secret\r\n");
    fx.RunUntil([&] { return !s->WaitingForStore(); });
    return s;
  }

  config::Config config;
  protocols::AuthThrottle throttle;
  StoreFixture fx;
  protocols::SessionRegistry registry;
  protocols::SessionContext ctx;
  protocols::ConnectionInfo info;
};

Maildrop& TenThousand() {
  static Maildrop* m = new Maildrop(10000, 4000);
  return *m;
}

Maildrop& HundredThousand() {
  static Maildrop* m = new Maildrop(100000, 200);
  return *m;
}

void BM_Retr10k(benchmark::State& state) {
  Maildrop& m = TenThousand();
  NullOutput out;
  auto session = m.Login(out);
  std::size_t before = out.bytes_;
  int n = 0;
  for (auto _ : state) {
    session->OnInput("RETR " + std::to_string(n % 10000 + 1) + "\r\n");
    if (++n % 512 == 0) m.fx.RunPending();  // completions of the RETR marks
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(out.bytes_ - before));
  state.counters["messages"] = n;
  m.fx.store().Flush();
  m.fx.RunPending();
  session->OnClosed();
}
BENCHMARK(BM_Retr10k)->Unit(benchmark::kMicrosecond);

void BM_LoginSnapshot100k(benchmark::State& state) {
  Maildrop& m = HundredThousand();
  for (auto _ : state) {
    NullOutput out;
    auto session = m.Login(out);
    session->OnInput("STAT\r\n");
    benchmark::DoNotOptimize(out.bytes_);
    session->OnClosed();
  }
  m.fx.store().Flush();
  m.fx.RunPending();
}
BENCHMARK(BM_LoginSnapshot100k)->Unit(benchmark::kMillisecond);

void BM_Stat100k(benchmark::State& state) {
  Maildrop& m = HundredThousand();
  NullOutput out;
  auto session = m.Login(out);
  for (auto _ : state) session->OnInput("STAT\r\n");
  session->OnClosed();
  m.fx.store().Flush();
  m.fx.RunPending();
}
BENCHMARK(BM_Stat100k)->Unit(benchmark::kNanosecond);

void BM_Uidl100k(benchmark::State& state) {
  Maildrop& m = HundredThousand();
  NullOutput out;
  auto session = m.Login(out);
  for (auto _ : state) {
    session->OnInput("UIDL\r\n");
    if (out.tail_ != "\r\n.\r\n") state.SkipWithError("UIDL did not finish");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(out.bytes_));
  session->OnClosed();
  m.fx.store().Flush();
  m.fx.RunPending();
}
BENCHMARK(BM_Uidl100k)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pillarbox::pop3

BENCHMARK_MAIN();
