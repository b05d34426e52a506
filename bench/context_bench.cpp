// CONTEXT=SEARCH / CONTEXT=SORT (RFC 5267) over a 100k-message mailbox in a
// real store, driven through IMAP sessions: the cost, at the NOOP that
// reports it, of one flag change made by another session, with no live
// context, with a SEARCH context (FLAGGED), and with a SORT context over the
// whole mailbox (SUBJECT of UNFLAGGED, 100k results: a message put back
// finds its position by binary search). Beside them, the full UID SEARCH
// and UID SORT that a client without contexts would send again after each
// change.
//
//   cmake --build build --target context_bench
//   build/bench/context_bench
//
// The store lives in $TMPDIR; filling it takes a while (100 group commits).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "protocols/analyzer.h"
#include "protocols/imap/imap_session.h"
#include "tests/support/test_support.h"

namespace pillarbox::imap {
namespace {

constexpr int kMessages = 100000;
constexpr int kAppendBatch = 1000;  // concurrent appends per group commit while filling

std::string MakeMessage(int n) {
  return "From: Sender <s" + std::to_string(n % 997) + "@example.com>\r\nSubject: topic " +
         std::to_string((n * 2654435761u) % 100003) + "\r\n\r\n" + std::string(200, 'x') + "\r\n";
}

struct Client {
  Client(protocols::SessionContext& ctx, protocols::ConnectionInfo i) : info(std::move(i)) {
    session = MakeSession(ctx, info, out);
  }
  protocols::ConnectionInfo info;
  pillarbox::testing::FakeOutput out;
  std::unique_ptr<protocols::Session> session;
};

class Bench {
 public:
  Bench()
      : fx_([](storage::StoreOptions& o) {
          o.analyzer = protocols::MakeMessageAnalyzer();  // sort keys kept, as the server does
          o.initial_map_size = std::size_t{2} << 30;
        }),
        throttle_(config_.auth) {
    ctx_.store = &fx_.store();
    ctx_.config = &config_;
    ctx_.registry = &registry_;
    ctx_.throttle = &throttle_;
    ctx_.timer = timers_.Fn();
    auto made = fx_.Wait<storage::UserRecord>([&](storage::Callback<storage::UserRecord> cb) {
      fx_.store().CreateUser("joe", "{PLAIN}secret", cb);  // no slow hash
    });
    if (!made.ok()) abort();
    const storage::UserRecord user = *made;
    for (int first = 0; first < kMessages; first += kAppendBatch) {
      int left = kAppendBatch;
      for (int i = 0; i < kAppendBatch; ++i) {
        storage::AppendRequest req;
        req.user = user.id;
        req.bytes = std::make_shared<const std::string>(MakeMessage(first + i));
        req.internal_date = 1'790'000'000 + first + i;
        req.origin.protocol = "bench";
        fx_.store().Append(std::move(req), [&](Result<storage::AppendResult> r) {
          if (!r.ok()) abort();
          --left;
        });
      }
      fx_.RunUntil([&] { return left == 0; });
    }
  }

  std::unique_ptr<Client> Selected() {
    protocols::ConnectionInfo info;
    info.peer_ip = "127.0.0.1";
    info.loopback = true;
    auto c = std::make_unique<Client>(ctx_, std::move(info));
    c->session->Start();
    Run(*c, "L LOGIN joe secret\r\n", "L");
    Run(*c, "S SELECT INBOX\r\n", "S");
    return c;
  }
  std::string Run(Client& c, const std::string& input, const std::string& tag) {
    c.out.Take();
    c.session->OnInput(input);
    fx_.RunUntil([&] {
      timers_.Advance(std::chrono::milliseconds(0));
      const std::string& w = c.out.written();
      return w.starts_with(tag + " ") || w.find("\r\n" + tag + " ") != std::string::npos;
    });
    return c.out.Take();
  }

 private:
  pillarbox::testing::StoreFixture fx_;
  config::Config config_;
  protocols::SessionRegistry registry_;
  protocols::AuthThrottle throttle_;
  pillarbox::testing::FakeTimers timers_;
  protocols::SessionContext ctx_;
};

Bench& Shared() {
  static Bench* bench = new Bench();
  return *bench;
}

// One flag change by another session (not timed), then the NOOP that
// reports it (timed). range(0): 0 no context, 1 a SEARCH context, 2 a SORT
// context over every unflagged message (each change removes a result, or
// places it back by binary search).
void BM_NoopAfterFlagChange(benchmark::State& state) {
  Bench& b = Shared();
  auto a = b.Selected();
  auto other = b.Selected();
  if (state.range(0) == 1) b.Run(*a, "c UID SEARCH RETURN (UPDATE COUNT) FLAGGED\r\n", "c");
  if (state.range(0) == 2) {
    b.Run(*a, "c UID SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 UNFLAGGED\r\n", "c");
  }
  int n = 0;
  std::size_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    // Sets \Flagged on a message, then clears it again: every STORE changes
    // something, and every run ends with no message flagged.
    const std::string seq = std::to_string(1 + (n / 2 * 7919) % kMessages);
    b.Run(*other, "o STORE " + seq + (n % 2 ? " -" : " +") + "FLAGS.SILENT (\\Flagged)\r\n", "o");
    ++n;
    state.ResumeTiming();
    bytes += b.Run(*a, "n NOOP\r\n", "n").size();
  }
  state.counters["bytes_per_noop"] =
      static_cast<double>(bytes) / static_cast<double>(std::max<std::int64_t>(1, n));
}
// A fixed count: each iteration also commits (and syncs) the untimed STORE.
BENCHMARK(BM_NoopAfterFlagChange)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(200)
    ->Unit(benchmark::kMicrosecond);

// What a client without contexts does after each change.
void BM_FullSearchFlagged(benchmark::State& state) {
  Bench& b = Shared();
  auto a = b.Selected();
  for (auto _ : state) {
    benchmark::DoNotOptimize(b.Run(*a, "s UID SEARCH RETURN (COUNT) FLAGGED\r\n", "s"));
  }
}
BENCHMARK(BM_FullSearchFlagged)->Iterations(20)->Unit(benchmark::kMicrosecond);

void BM_FullSortUnflagged(benchmark::State& state) {
  Bench& b = Shared();
  auto a = b.Selected();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        b.Run(*a, "s UID SORT RETURN (COUNT) (SUBJECT) UTF-8 UNFLAGGED\r\n", "s"));
  }
}
BENCHMARK(BM_FullSortUnflagged)->Iterations(5)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace pillarbox::imap

BENCHMARK_MAIN();
