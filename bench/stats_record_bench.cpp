// Cost of recording one latency on the load generator's hot path, and proof that it
// does not allocate: this binary replaces the global operator new with a counting one,
// and every benchmark fails (exit code 1) if anything was allocated inside its timed
// loop. The value spread is given in decades: O(1) recording costs the same whatever
// the spread (apart from cache effects of touching more bucket groups).

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "stats/entry.hpp"
#include "stats/histogram.hpp"
#include "stats/series.hpp"

namespace {
std::atomic<uint64_t> g_allocations{0};
std::atomic<bool> g_hot_path_allocated{false};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
// The replaced operator new allocates with malloc, so free is the matching release.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

using bm::stats::EntryStats;
using bm::stats::Histogram;
using bm::stats::SecondAccumulator;

constexpr std::size_t kValues = 1 << 14;
constexpr int64_t kApdexTUs = 500'000;

// Latencies log-uniform over `decades` decades from 100 µs.
std::vector<int64_t> latencies(int64_t decades) {
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> exponent(std::log(100.0), std::log(100.0 * std::pow(10.0, decades)));
  std::vector<int64_t> values(kValues);
  for (int64_t& v : values) v = static_cast<int64_t>(std::exp(exponent(rng)));
  return values;
}

// Runs `record(value)` in the timed loop over pre-generated values, after one warm-up
// pass has touched every bucket group those values need.
template <class Record>
void run_recording(benchmark::State& state, Record&& record) {
  const std::vector<int64_t> values = latencies(state.range(0));
  for (int64_t v : values) record(v);
  const uint64_t before = g_allocations.load(std::memory_order_relaxed);
  std::size_t i = 0;
  for (auto _ : state) {
    record(values[i++ & (kValues - 1)]);
  }
  const uint64_t allocated = g_allocations.load(std::memory_order_relaxed) - before;
  state.counters["allocs"] = static_cast<double>(allocated);
  state.SetItemsProcessed(state.iterations());
  if (allocated != 0) {
    g_hot_path_allocated = true;
    state.SkipWithError("allocated inside the timed loop");
  }
}

void BM_HistogramRecord(benchmark::State& state) {
  Histogram histogram;
  run_recording(state, [&](int64_t v) { histogram.record(v); });
  benchmark::DoNotOptimize(histogram.count());
}

void BM_EntryRecordSuccess(benchmark::State& state) {
  EntryStats entry;
  run_recording(state, [&](int64_t v) { entry.record_success(v, kApdexTUs); });
  benchmark::DoNotOptimize(entry.apdex.satisfied);
}

// What the engine does per request: the entry plus the per-second series.
void BM_EntryAndSecondRecord(benchmark::State& state) {
  EntryStats entry;
  SecondAccumulator second(0);
  run_recording(state, [&](int64_t v) {
    entry.record_success(v, kApdexTUs);
    entry.add_status(200);
    entry.add_bytes(120, 4096);
    second.record_request_ok(v);
  });
  benchmark::DoNotOptimize(entry.ok);
}

BENCHMARK(BM_HistogramRecord)->Arg(1)->Arg(3)->Arg(6);
BENCHMARK(BM_EntryRecordSuccess)->Arg(1)->Arg(3)->Arg(6);
BENCHMARK(BM_EntryAndSecondRecord)->Arg(1)->Arg(3)->Arg(6);

}  // namespace

// The zero-allocation check means something only if the counter sees allocations.
static bool allocation_counter_works() {
  const uint64_t before = g_allocations.load();
  std::vector<int> probe(16);
  benchmark::DoNotOptimize(probe.data());
  return g_allocations.load() > before;
}

int main(int argc, char** argv) {
  if (!allocation_counter_works()) {
    std::fprintf(stderr, "FAIL: the replaced operator new is not in effect\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (g_hot_path_allocated) {
    std::fprintf(stderr, "FAIL: recording allocated on the hot path\n");
    return 1;
  }
  return 0;
}
