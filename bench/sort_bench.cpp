// SORT and THREAD over a 100k-message mailbox in a real store, the way
// command_sort.cpp runs them: every message's record read and matched
// against "ALL", the sort keys read from the store, sorted or threaded, and
// the response line built. Also the parts alone, and the path of a store
// made before sort keys were kept (keys computed from each message). Each
// SORT and THREAD runs in three modes: mode:0 reads the keys from the store
// (no cache), mode:1 into a fresh SortKeyCache (the first SORT after
// SELECT), mode:2 from a cache that holds them (a repeated SORT).
//
//   cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release
//   cmake --build build-release --target sort_bench
//   build-release/bench/sort_bench
//
// The store lives in $TMPDIR; filling it takes a while (100 group commits).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <deque>
#include <filesystem>
#include <memory>
#include <string>

#include "protocols/analyzer.h"
#include "protocols/imap/search.h"
#include "protocols/imap/sort.h"
#include "protocols/imap/sort_cache.h"
#include "storage/store.h"

namespace pillarbox::imap {
namespace {

constexpr int kMessages = 100000;
constexpr int kAppendBatch = 1000;  // concurrent appends per group commit while filling
constexpr int kThreadSize = 8;      // messages per conversation

// Conversations of kThreadSize messages: the first starts a subject, the
// others answer the one before (References to all before, "Re: " subject),
// with dates that do not follow arrival order.
std::string MakeMessage(int n) {
  int conv = n / kThreadSize, pos = n % kThreadSize;
  std::string refs;
  for (int p = 0; p < pos; ++p) refs += " <" + std::to_string(conv * kThreadSize + p) + "@bench>";
  int minute = (n * 7919) % (60 * 24 * 28);
  char date[64];
  snprintf(date, sizeof date, "Date: %s, %02d Nov 2026 %02d:%02d:00 +0100\r\n", "Mon",
           1 + minute / (60 * 24), (minute / 60) % 24, minute % 60);
  std::string out = "From: Sender " + std::to_string(n % 211) + " <sender" +
                    std::to_string(n % 997) + "@example.com>\r\nTo: Team " +
                    std::to_string(n % 13) + " <team" + std::to_string(n % 13) +
                    "@example.com>\r\nSubject: " + (pos ? "Re: " : "") + "topic " +
                    std::to_string((conv * 2654435761u) % 100003) + "\r\nMessage-ID: <" +
                    std::to_string(n) + "@bench>\r\n" + date;
  if (pos) out += "References:" + refs + "\r\n";
  return out + "\r\n" + std::string(300, 'x') + "\r\n";
}

class BenchStore {
 public:
  explicit BenchStore(bool keep_sort_keys) {
    const char* base = getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/pillarbox-sort-bench-XXXXXX";
    dir_ = mkdtemp(templ.data()) ? templ : "/tmp/pillarbox-sort-bench";
    storage::StoreOptions o;
    o.dir = dir_ + "/store";
    o.post = ex_.Poster();
    o.analyzer = protocols::MakeMessageAnalyzer();
    if (!keep_sort_keys) {
      o.analyzer = [inner = o.analyzer](std::string_view bytes) {
        storage::AnalyzedMessage a = inner(bytes);
        a.sort_keys.clear();
        return a;
      };
    }
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
    for (int i = 0; i < kMessages; i += kAppendBatch) Append(i, kAppendBatch);
  }
  ~BenchStore() {
    store_->Flush();
    ex_.RunPending();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  storage::Store& store() { return *store_; }
  storage::MailboxId inbox() const { return inbox_; }

 private:
  void Append(int first, int n) {
    int left = n;
    for (int i = 0; i < n; ++i) {
      storage::AppendRequest req;
      req.user = user_;
      req.bytes = std::make_shared<const std::string>(MakeMessage(first + i));
      req.internal_date = 1'790'000'000 + (first + i);
      req.origin.protocol = "bench";
      store_->Append(std::move(req), [&](Result<storage::AppendResult> r) {
        if (!r.ok()) abort();
        --left;
      });
    }
    while (left > 0) ex_.WaitAndRun(100);
  }

  std::string dir_;
  storage::ManualExecutor ex_;
  std::unique_ptr<storage::Store> store_;
  storage::UserId user_ = 0;
  storage::MailboxId inbox_ = 0;
};

BenchStore& Full() {
  static BenchStore* store = new BenchStore(true);
  return *store;
}

// What the command does before sorting: each message of the view read by
// UID and matched against the search program ("ALL").
std::vector<SortInput> Select(storage::ReadView& view, storage::MailboxId mailbox,
                              const std::vector<storage::Uid>& uids) {
  static const SearchProgram program = *ParseSearch({Value::Atom("ALL")}, 0);
  SearchRun run(program);
  std::vector<SortInput> out;
  out.reserve(uids.size());
  SearchContext ctx;
  ctx.max_seq = static_cast<std::uint32_t>(uids.size());
  ctx.max_uid = uids.back();
  ctx.view = &view;
  for (std::size_t i = 0; i < uids.size(); ++i) {
    auto rec = view.GetMessage(mailbox, uids[i]);
    if (!rec.ok()) continue;
    ctx.seq = static_cast<std::uint32_t>(i + 1);
    ctx.record = &*rec;
    if (run.Evaluate(ctx, kSearchSliceWorkBytes) == SearchOutcome::kMatch) {
      out.push_back({ctx.seq, rec->uid, rec->internal_date, rec->size, rec->blob});
    }
  }
  return out;
}

std::vector<storage::Uid> Uids(BenchStore& s) {
  std::vector<storage::Uid> uids;
  for (const auto& m : s.store().Read()->ListMessages(s.inbox())) uids.push_back(m.uid);
  return uids;
}

// How the keys are read: from the store each time (no cache: the path of
// a session without a SortKeyCache), into a fresh cache each time (the
// first SORT after SELECT), from a cache that holds them (a repeated SORT).
enum Mode : int { kNoCache = 0, kFirst = 1, kRepeated = 2 };

void ModeArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("mode")->Arg(kNoCache)->Arg(kFirst)->Arg(kRepeated)->Unit(benchmark::kMillisecond);
}

// The items of `inputs` the way `mode` reads them; `load` keeps them.
std::vector<SortItem> Items(Mode mode, SortKeyCache& cache, BenchStore& s, storage::ReadView& view,
                            const std::vector<SortInput>& inputs,
                            const std::vector<SortKey>& ranked, std::deque<std::string>* arena,
                            SortLoad* load) {
  if (mode == kNoCache) return LoadSortItems(view, inputs, arena);
  SortKeyCache fresh;
  SortKeyCache& c = mode == kFirst ? fresh : cache;
  *load = c.Load(view, s.inbox(), 1, kMessages, inputs, ranked);
  return std::move(load->items);
}

void RunSort(benchmark::State& state, BenchStore& s, std::vector<Value> criteria) {
  auto mode = static_cast<Mode>(state.range(0));
  auto uids = Uids(s);
  auto crit = *ParseSortCriteria(Value::List(std::move(criteria)));
  std::vector<SortKey> ranked;
  for (const auto& c : crit) ranked.push_back(c.key);
  SortKeyCache cache;
  if (mode == kRepeated) {
    auto view = s.store().Read();
    cache.Load(*view, s.inbox(), 1, kMessages, Select(*view, s.inbox(), uids), ranked);
  }
  for (auto _ : state) {
    auto view = s.store().Read();
    std::deque<std::string> arena;
    SortLoad load;
    auto items =
        Items(mode, cache, s, *view, Select(*view, s.inbox(), uids), ranked, &arena, &load);
    auto order = SortOrder(items, crit);
    std::string out = "* SORT";
    for (auto i : order) out += " " + std::to_string(items[i].seq);
    benchmark::DoNotOptimize(out.data());
    if (order.size() != kMessages) state.SkipWithError("wrong count");
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
  if (mode == kRepeated)
    state.counters["cache_MiB"] = static_cast<double>(cache.bytes()) / (1 << 20);
}

void BM_SortDate100k(benchmark::State& state) { RunSort(state, Full(), {Value::Atom("DATE")}); }
BENCHMARK(BM_SortDate100k)->Apply(ModeArgs);

void BM_SortSubject100k(benchmark::State& state) {
  RunSort(state, Full(), {Value::Atom("SUBJECT")});
}
BENCHMARK(BM_SortSubject100k)->Apply(ModeArgs);

void BM_SortReverseFromSize100k(benchmark::State& state) {
  RunSort(state, Full(), {Value::Atom("REVERSE"), Value::Atom("FROM"), Value::Atom("SIZE")});
}
BENCHMARK(BM_SortReverseFromSize100k)->Apply(ModeArgs);

void BM_SortDisplayFrom100k(benchmark::State& state) {
  RunSort(state, Full(), {Value::Atom("DISPLAYFROM")});
}
BENCHMARK(BM_SortDisplayFrom100k)->Apply(ModeArgs);

void RunThread(benchmark::State& state, ThreadAlgorithm algorithm) {
  auto mode = static_cast<Mode>(state.range(0));
  BenchStore& s = Full();
  auto uids = Uids(s);
  std::vector<SortKey> ranked;
  if (algorithm == ThreadAlgorithm::kOrderedSubject) ranked.push_back(SortKey::kSubject);
  SortKeyCache cache;
  if (mode == kRepeated) {
    auto view = s.store().Read();
    cache.Load(*view, s.inbox(), 1, kMessages, Select(*view, s.inbox(), uids), ranked);
  }
  for (auto _ : state) {
    auto view = s.store().Read();
    std::deque<std::string> arena;
    SortLoad load;
    auto items =
        Items(mode, cache, s, *view, Select(*view, s.inbox(), uids), ranked, &arena, &load);
    std::string out = "* THREAD " + Thread(items, algorithm, false);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
}

void BM_ThreadReferences100k(benchmark::State& state) {
  RunThread(state, ThreadAlgorithm::kReferences);
}
BENCHMARK(BM_ThreadReferences100k)->Apply(ModeArgs);

void BM_ThreadOrderedSubject100k(benchmark::State& state) {
  RunThread(state, ThreadAlgorithm::kOrderedSubject);
}
BENCHMARK(BM_ThreadOrderedSubject100k)->Apply(ModeArgs);

// The parts: selecting (records + ALL), loading keys, sorting alone.
void BM_PartSelect100k(benchmark::State& state) {
  BenchStore& s = Full();
  auto uids = Uids(s);
  for (auto _ : state) {
    auto view = s.store().Read();
    benchmark::DoNotOptimize(Select(*view, s.inbox(), uids).data());
  }
}
BENCHMARK(BM_PartSelect100k)->Unit(benchmark::kMillisecond);

void BM_PartLoadKeys100k(benchmark::State& state) {
  BenchStore& s = Full();
  auto uids = Uids(s);
  auto view = s.store().Read();
  auto inputs = Select(*view, s.inbox(), uids);
  for (auto _ : state) {
    std::deque<std::string> arena;
    benchmark::DoNotOptimize(LoadSortItems(*view, inputs, &arena).data());
  }
}
BENCHMARK(BM_PartLoadKeys100k)->Unit(benchmark::kMillisecond);

void BM_PartCacheLoad100k(benchmark::State& state) {
  auto mode = static_cast<Mode>(state.range(0));
  BenchStore& s = Full();
  auto uids = Uids(s);
  auto view = s.store().Read();
  auto inputs = Select(*view, s.inbox(), uids);
  SortKeyCache warm;
  warm.Load(*view, s.inbox(), 1, kMessages, inputs, {SortKey::kSubject});
  for (auto _ : state) {
    SortKeyCache fresh;
    SortKeyCache& c = mode == kFirst ? fresh : warm;
    benchmark::DoNotOptimize(
        c.Load(*view, s.inbox(), 1, kMessages, inputs, {SortKey::kSubject}).items.data());
  }
}
BENCHMARK(BM_PartCacheLoad100k)->Arg(kFirst)->Arg(kRepeated)->Unit(benchmark::kMillisecond);

void BM_PartSortSubjectOnly100k(benchmark::State& state) {
  BenchStore& s = Full();
  auto uids = Uids(s);
  auto view = s.store().Read();
  std::deque<std::string> arena;
  auto items = LoadSortItems(*view, Select(*view, s.inbox(), uids), &arena);
  auto crit = *ParseSortCriteria(Value::List({Value::Atom("SUBJECT")}));
  for (auto _ : state) benchmark::DoNotOptimize(SortOrder(items, crit).data());
}
BENCHMARK(BM_PartSortSubjectOnly100k)->Unit(benchmark::kMillisecond);

// A store without kept keys: every key computed from its message.
void BM_SortDateOldStore100k(benchmark::State& state) {
  static BenchStore* old = new BenchStore(false);
  RunSort(state, *old, {Value::Atom("DATE")});
}
BENCHMARK(BM_SortDateOldStore100k)->Arg(kNoCache)->Arg(kRepeated)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pillarbox::imap

BENCHMARK_MAIN();
