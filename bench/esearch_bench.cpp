// ESEARCH / SEARCHRES hot paths over a 100k-message view, pure functions
// (no store): rendering "ALL" for a large result, the "$" key evaluated for
// every message (binary search in the saved set), and mapping "$" to view
// indexes for FETCH/STORE/COPY.
//
//   build/bench/esearch_bench
#include <benchmark/benchmark.h>

#include <vector>

#include "protocols/imap/commands.h"
#include "protocols/imap/esearch.h"
#include "protocols/imap/sequence_set.h"

namespace pillarbox::imap {
namespace {

constexpr std::uint32_t kMessages = 100000;

// UIDs 1..kMessages with every third missing from the result: the worst
// shape for range compression short of every other one.
std::vector<std::uint32_t> Hits() {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 1; i <= kMessages; ++i) {
    if (i % 3 != 0) out.push_back(i);
  }
  return out;
}

void BM_FormatEsearchAll100k(benchmark::State& state) {
  const auto hits = Hits();
  SearchReturn ret;
  ret.esearch = ret.min = ret.max = ret.all = ret.count = true;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string line = FormatEsearch("A1", true, hits, ret);
    bytes = line.size();
    benchmark::DoNotOptimize(line);
  }
  state.counters["line_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(hits.size()));
}
BENCHMARK(BM_FormatEsearchAll100k)->Unit(benchmark::kMillisecond);

void BM_SavedKeyContains100k(benchmark::State& state) {
  const SequenceSet saved = SequenceSet::FromAscending(Hits());
  for (auto _ : state) {
    std::size_t n = 0;
    for (std::uint32_t uid = 1; uid <= kMessages; ++uid) n += saved.Contains(uid, kMessages);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
}
BENCHMARK(BM_SavedKeyContains100k)->Unit(benchmark::kMillisecond);

void BM_SelectSaved100k(benchmark::State& state) {
  SelectedMailbox sel;
  for (std::uint32_t i = 1; i <= kMessages; ++i) sel.uids.push_back(i);
  sel.saved_search = Hits();
  for (auto _ : state) {
    auto picked = SelectSaved(sel);
    benchmark::DoNotOptimize(picked);
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
}
BENCHMARK(BM_SelectSaved100k)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pillarbox::imap

BENCHMARK_MAIN();
