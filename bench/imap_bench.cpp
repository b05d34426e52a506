// IMAP engine hot paths on a 100k-message mailbox: FETCH 1:* (FLAGS UID)
// rendering, the SELECT-equivalent message listing, SEARCH over flags and
// headers, ENVELOPE rendering from the stored structure, and APPEND rate.
//
//   cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release
//   cmake --build build-release --target imap_bench
//   build-release/bench/imap_bench
//
// The store lives in $TMPDIR; APPEND numbers depend on its fsync latency.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "protocols/analyzer.h"
#include "protocols/imap/fetch.h"
#include "protocols/imap/search.h"
#include "storage/store.h"

namespace pillarbox::imap {
namespace {

constexpr int kMessages = 100000;
constexpr int kAppendBatch = 1000;  // concurrent appends per group commit while filling

std::string MakeMessage(int n) {
  return "From: Bench Sender <sender" + std::to_string(n % 97) +
         "@example.com>\r\nTo: user@example.com\r\nSubject: message number " + std::to_string(n) +
         "\r\nMessage-ID: <" + std::to_string(n) +
         "@bench.example>\r\nDate: Thu, 26 Nov 2026 12:00:00 +0000\r\n\r\n" +
         std::string(400, 'x') + "\r\n";
}

class BenchStore {
 public:
  BenchStore() {
    const char* base = getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/pillarbox-imap-bench-XXXXXX";
    dir_ = mkdtemp(templ.data()) ? templ : "/tmp/pillarbox-imap-bench";
    storage::StoreOptions o;
    o.dir = dir_ + "/store";
    o.post = ex_.Poster();
    o.analyzer = protocols::MakeMessageAnalyzer();
    o.initial_map_size = std::size_t{2} << 30;
    auto s = storage::Store::Open(std::move(o));
    if (!s.ok()) abort();
    store_ = std::move(*s);
    bool done = false;
    store_->CreateUser("bench", "{PLAIN}bench", [&](Result<storage::UserRecord> r) {
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

  // Submits `n` appends at once and waits for all of them.
  void Append(int first, int n, std::uint32_t flags_every = 3) {
    int left = n;
    for (int i = 0; i < n; ++i) {
      storage::AppendRequest req;
      req.user = user_;
      req.bytes = std::make_shared<const std::string>(MakeMessage(first + i));
      if ((first + i) % flags_every == 0) req.flags.system = storage::kFlagSeen;
      req.origin.protocol = "bench";
      store_->Append(std::move(req), [&](Result<storage::AppendResult> r) {
        if (!r.ok()) abort();
        --left;
      });
    }
    while (left > 0) ex_.WaitAndRun(100);
  }

  storage::Store& store() { return *store_; }
  storage::MailboxId inbox() const { return inbox_; }

 private:
  std::string dir_;
  storage::ManualExecutor ex_;
  std::unique_ptr<storage::Store> store_;
  storage::UserId user_ = 0;
  storage::MailboxId inbox_ = 0;
};

// The 100k-message store, filled once for all benchmarks that read it.
BenchStore& Full() {
  static BenchStore* store = [] {
    auto* s = new BenchStore();
    for (int i = 0; i < kMessages; i += kAppendBatch) s->Append(i, kAppendBatch);
    return s;
  }();
  return *store;
}

void BM_ListMessages100k(benchmark::State& state) {
  BenchStore& s = Full();
  for (auto _ : state) {
    auto view = s.store().Read();
    auto messages = view->ListMessages(s.inbox());
    benchmark::DoNotOptimize(messages.data());
    if (messages.size() != kMessages) state.SkipWithError("wrong count");
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
}
BENCHMARK(BM_ListMessages100k)->Unit(benchmark::kMillisecond);

void BM_FetchFlagsUid100k(benchmark::State& state) {
  BenchStore& s = Full();
  auto messages = s.store().Read()->ListMessages(s.inbox());
  auto spec = ParseFetchItems(Value::List({Value::Atom("FLAGS"), Value::Atom("UID")}));
  std::size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      FetchMessage m{static_cast<std::uint32_t>(i + 1), &messages[i], false};
      auto pieces = RenderFetch(*spec, m, nullptr);
      bytes += (*pieces)[0].bytes.size();
    }
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(messages.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_FetchFlagsUid100k)->Unit(benchmark::kMillisecond);

void BM_FetchEnvelope10k(benchmark::State& state) {
  BenchStore& s = Full();
  auto messages = s.store().Read()->ListMessages(s.inbox());
  messages.resize(10000);
  auto spec = ParseFetchItems(Value::List({Value::Atom("UID"), Value::Atom("ENVELOPE")}));
  for (auto _ : state) {
    auto view = s.store().Read();
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      FetchMessage m{static_cast<std::uint32_t>(i + 1), &messages[i], false};
      auto pieces = RenderFetch(*spec, m, view.get());
      if (!pieces.ok()) state.SkipWithError("render failed");
      bytes += (*pieces)[0].bytes.size();
    }
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_FetchEnvelope10k)->Unit(benchmark::kMillisecond);

void BM_SearchUnseen100k(benchmark::State& state) {
  BenchStore& s = Full();
  auto messages = s.store().Read()->ListMessages(s.inbox());
  auto program = ParseSearch({Value::Atom("UNSEEN"), Value::Atom("UNDELETED")}, 0);
  for (auto _ : state) {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      SearchContext c{static_cast<std::uint32_t>(i + 1),           &messages[i],        false,
                      static_cast<std::uint32_t>(messages.size()), messages.back().uid, nullptr};
      hits += Matches(*program, c);
    }
    benchmark::DoNotOptimize(hits);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(messages.size()));
}
BENCHMARK(BM_SearchUnseen100k)->Unit(benchmark::kMillisecond);

void BM_SearchSubject10k(benchmark::State& state) {
  BenchStore& s = Full();
  auto messages = s.store().Read()->ListMessages(s.inbox());
  messages.resize(10000);
  auto program = ParseSearch({Value::Atom("SUBJECT"), Value::String("number 4242")}, 0);
  for (auto _ : state) {
    auto view = s.store().Read();
    std::size_t hits = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      SearchContext c{static_cast<std::uint32_t>(i + 1),           &messages[i],        false,
                      static_cast<std::uint32_t>(messages.size()), messages.back().uid, view.get()};
      hits += Matches(*program, c);
    }
    if (hits != 1) state.SkipWithError("wrong hits");
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_SearchSubject10k)->Unit(benchmark::kMillisecond);

void BM_SearchBody10k(benchmark::State& state) {
  BenchStore& s = Full();
  auto messages = s.store().Read()->ListMessages(s.inbox());
  messages.resize(10000);
  auto program = ParseSearch({Value::Atom("BODY"), Value::String("needle")}, 0);
  for (auto _ : state) {
    auto view = s.store().Read();
    std::size_t hits = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      SearchContext c{static_cast<std::uint32_t>(i + 1),           &messages[i],        false,
                      static_cast<std::uint32_t>(messages.size()), messages.back().uid, view.get()};
      hits += Matches(*program, c);
    }
    benchmark::DoNotOptimize(hits);
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_SearchBody10k)->Unit(benchmark::kMillisecond);

// APPEND rate: `range(0)` appends submitted at once (as many concurrent
// sessions), one group commit each round.
void BM_Append(benchmark::State& state) {
  static BenchStore* store = new BenchStore();
  int n = static_cast<int>(state.range(0));
  int next = 0;
  for (auto _ : state) {
    store->Append(next, n);
    next += n;
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Append)->Arg(1)->Arg(16)->Arg(128)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pillarbox::imap

BENCHMARK_MAIN();
