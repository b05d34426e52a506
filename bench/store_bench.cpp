// Store hot paths: appends with N concurrent submitters (group commit),
// opening a 100k-message mailbox, flag changes.
//
//   cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release
//   cmake --build build-release --target store_bench
//   build-release/bench/store_bench
//
// The store lives in $TMPDIR; numbers depend on its fsync latency.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "protocols/analyzer.h"
#include "storage/store.h"

namespace pillarbox::storage {
namespace {

std::string MakeMessage(int n, std::size_t body) {
  return "From: Bench <bench@example.com>\r\nTo: user@example.com\r\nSubject: message " +
         std::to_string(n) + "\r\nMessage-ID: <" + std::to_string(n) +
         "@bench.example>\r\nDate: Thu, 26 Nov 2026 12:00:00 +0000\r\n\r\n" +
         std::string(body, 'x') + " " + std::to_string(n) + "\r\n";
}

class BenchStore {
 public:
  BenchStore() {
    const char* base = getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/pillarbox-bench-XXXXXX";
    dir_ = mkdtemp(templ.data()) ? templ : "/tmp/pillarbox-bench";
    StoreOptions o;
    o.dir = dir_ + "/store";
    o.post = ex_.Poster();
    o.analyzer = protocols::MakeMessageAnalyzer();
    o.initial_map_size = std::size_t{1} << 30;
    auto s = Store::Open(std::move(o));
    if (!s.ok()) abort();
    store_ = std::move(*s);
    bool done = false;
    store_->CreateUser("bench", "{PLAIN}bench", [&](Result<UserRecord> r) {
      if (!r.ok()) abort();
      user_ = r->id;
      done = true;
    });
    while (!done) ex_.WaitAndRun(100);
    inbox_ = store_->Read()->FindMailbox(user_, "INBOX")->id;
  }
  ~BenchStore() {
    store_->Flush();
    ex_.RunPending();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Submits `n` appends at once and waits for all (n concurrent sessions).
  void AppendBatch(int n, int first, std::size_t body) {
    int pending = n;
    for (int i = 0; i < n; ++i) {
      AppendRequest req;
      req.user = user_;
      req.bytes = std::make_shared<const std::string>(MakeMessage(first + i, body));
      req.origin.protocol = "lmtp";
      store_->Append(std::move(req), [&](Result<AppendResult> r) {
        if (!r.ok()) abort();
        --pending;
      });
    }
    while (pending > 0) ex_.WaitAndRun(100);
  }

  // Appends one message of `body` bytes, in memory or (spill) from a
  // spill file as SMTP/LMTP DATA over 1 MiB does, and waits for it.
  void AppendOne(int n, std::size_t body, bool spill) {
    bool done = false;
    Submit(n, body, spill, 1, [&] { done = true; });
    while (!done) ex_.WaitAndRun(100);
  }
  // Submits one append as session `session`; `done` runs at its commit.
  void Submit(int n, std::size_t body, bool spill, std::uint64_t session,
              std::function<void()> done) {
    AppendRequest req;
    req.user = user_;
    std::string bytes = MakeMessage(n, body);
    if (spill) {
      auto file = SpillFile::Create(dir_ + "/tmp");
      if (!file.ok() || !(*file)->Append(bytes).ok()) abort();
      req.spill = std::move(*file);
    } else {
      req.bytes = std::make_shared<const std::string>(std::move(bytes));
    }
    req.origin.protocol = "lmtp";
    req.origin.session = session;
    store_->Append(std::move(req), [done = std::move(done)](Result<AppendResult> r) {
      if (!r.ok()) abort();
      done();
    });
  }

  Store& store() { return *store_; }
  ManualExecutor& ex() { return ex_; }
  MailboxId inbox() const { return inbox_; }

 private:
  std::string dir_;
  ManualExecutor ex_;
  std::unique_ptr<Store> store_;
  UserId user_ = 0;
  MailboxId inbox_ = 0;
};

// Appends/s with N concurrent submitters: one fsync per batch.
void BM_Append(benchmark::State& state) {
  BenchStore s;
  int submitters = static_cast<int>(state.range(0));
  int n = 0;
  for (auto _ : state) {
    s.AppendBatch(submitters, n, 2000);
    n += submitters;
  }
  state.SetItemsProcessed(n);
  state.counters["appends/s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Append)->Arg(1)->Arg(8)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);

// One append of range(0) bytes; range(1): 1 = from a spill file.
void BM_AppendSize(benchmark::State& state) {
  BenchStore s;
  auto body = static_cast<std::size_t>(state.range(0));
  bool spill = state.range(1) != 0;
  int n = 0;
  for (auto _ : state) s.AppendOne(n++, body, spill);
  state.SetBytesProcessed(static_cast<std::int64_t>(body) * n);
}
BENCHMARK(BM_AppendSize)
    ->Args({100 << 10, 0})
    ->Args({100 << 10, 1})
    ->Args({10 << 20, 0})
    ->Args({10 << 20, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Commit latency of a small append (another session) submitted right after
// a 10 MiB one: the iteration time is the small one's, from submit to its
// completion.
void BM_SmallBehindBig(benchmark::State& state) {
  BenchStore s;
  int n = 0;
  for (auto _ : state) {
    bool big_done = false, small_done = false;
    std::chrono::steady_clock::time_point small_at;
    s.Submit(n++, 10 << 20, state.range(0) != 0, 1, [&] { big_done = true; });
    auto start = std::chrono::steady_clock::now();
    s.Submit(n++, 2000, false, 2, [&] {
      small_done = true;
      small_at = std::chrono::steady_clock::now();
    });
    while (!big_done || !small_done) s.ex().WaitAndRun(100);
    state.SetIterationTime(std::chrono::duration<double>(small_at - start).count());
  }
}
BENCHMARK(BM_SmallBehindBig)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// SELECT of a 100k-message mailbox: one read view, ListMessages.
void BM_ListMessages100k(benchmark::State& state) {
  BenchStore s;
  constexpr int kMessages = 100000;
  for (int i = 0; i < kMessages; i += 1000) s.AppendBatch(1000, i, 200);
  std::size_t listed = 0;
  for (auto _ : state) {
    auto view = s.store().Read();
    auto msgs = view->ListMessages(s.inbox());
    listed += msgs.size();
    benchmark::DoNotOptimize(msgs.data());
  }
  if (listed != static_cast<std::size_t>(kMessages) * state.iterations()) abort();
  state.SetItemsProcessed(static_cast<std::int64_t>(listed));
}
BENCHMARK(BM_ListMessages100k)->UseRealTime()->Unit(benchmark::kMillisecond);

// Flag changes: `range(0)` messages per STORE, one STORE at a time.
void BM_StoreFlags(benchmark::State& state) {
  BenchStore s;
  int per_store = static_cast<int>(state.range(0));
  s.AppendBatch(std::max(per_store, 1), 0, 500);
  std::vector<Uid> uids;
  for (int i = 1; i <= per_store; ++i) uids.push_back(static_cast<Uid>(i));
  bool add = true;
  std::int64_t changed = 0;
  for (auto _ : state) {
    StoreFlagsRequest req;
    req.mailbox = s.inbox();
    req.uids = uids;
    req.op = add ? FlagOp::kAdd : FlagOp::kRemove;
    req.flags.system = kFlagFlagged;
    req.origin.protocol = "imap";
    add = !add;
    bool done = false;
    s.store().StoreFlags(std::move(req), [&](Result<StoreFlagsResult> r) {
      if (!r.ok()) abort();
      changed += static_cast<std::int64_t>(r->changed.size());
      done = true;
    });
    while (!done) s.ex().WaitAndRun(100);
  }
  state.SetItemsProcessed(changed);
  state.counters["flag changes/s"] =
      benchmark::Counter(static_cast<double>(changed), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StoreFlags)->Arg(1)->Arg(1000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pillarbox::storage

BENCHMARK_MAIN();
