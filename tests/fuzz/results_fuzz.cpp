// Results files (docs/results-schema.md): parse_results, the strict reader every report
// and the merge use. An input that parses is written again (results_to_string) and must
// read back to the same document; then it is merged with itself, as two nodes' files
// are, which must not fail for a node's file and must double every count: items of
// every table of every cycle, and the per-second series.
#include "stats/results.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace stats = bm::stats;

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "results: %s\n", what);
  abort();
}

struct Totals {
  uint64_t ok = 0, failures = 0, errors = 0, latency = 0, series_ok = 0, series_failed = 0;
  bool operator==(const Totals&) const = default;
};

Totals totals_of(const stats::Results& r) {
  Totals t;
  for (const stats::CycleResults& cycle : r.cycles) {
    for (const stats::EntryTable* table : {&cycle.tests, &cycle.pages, &cycle.requests}) {
      for (const stats::Entry& e : *table) {
        t.ok += e.stats.ok;
        t.failures += e.stats.failures;
        t.errors += e.stats.errors;
        t.latency += e.stats.latency.count();
      }
    }
  }
  for (const stats::SeriesPoint& p : r.series) {
    t.series_ok += p.requests_ok;
    t.series_failed += p.requests_failed;
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  stats::Results results;
  std::string error;
  const bool read = stats::parse_results(input, results, &error);
  // simdjson's fast path must give the reference reader's answer, word for word.
  stats::Results reference;
  std::string reference_error;
  const bool reference_read = stats::parse_results_reference(input, reference, &reference_error);
  if (read != reference_read || error != reference_error) {
    fprintf(stderr, "results: the fast reader says %s, the reference reader %s\n",
            read ? "ok" : error.c_str(), reference_read ? "ok" : reference_error.c_str());
    abort();
  }
  if (!read) {
    check(!error.empty(), "refused without a message");
    return 0;
  }
  check(stats::results_to_string(reference) == stats::results_to_string(results),
        "the fast and the reference reader read the file otherwise");
  const std::string text = stats::results_to_string(results);
  stats::Results again;
  if (!stats::parse_results(text, again, &error)) {
    fprintf(stderr, "results: written again, the file does not read back: %s\n", error.c_str());
    abort();
  }
  check(stats::results_to_string(again) == text, "written again, the file reads back otherwise");

  const auto merged = stats::merge_results({results, results}, {}, &error);
  if (!merged) {
    check(results.merged() || !error.empty(), "a node's file does not merge with itself, and no message says why");
    return 0;
  }
  const Totals one = totals_of(results);
  const Totals two = totals_of(*merged);
  const Totals doubled{2 * one.ok, 2 * one.failures, 2 * one.errors, 2 * one.latency, 2 * one.series_ok,
                       2 * one.series_failed};
  if (!(two == doubled)) {
    fprintf(stderr,
            "results: merged with itself, counts are not doubled: ok %llu -> %llu, failures %llu -> %llu, "
            "errors %llu -> %llu, latency %llu -> %llu, series ok %llu -> %llu, failed %llu -> %llu\n",
            (unsigned long long)one.ok, (unsigned long long)two.ok, (unsigned long long)one.failures,
            (unsigned long long)two.failures, (unsigned long long)one.errors, (unsigned long long)two.errors,
            (unsigned long long)one.latency, (unsigned long long)two.latency, (unsigned long long)one.series_ok,
            (unsigned long long)two.series_ok, (unsigned long long)one.series_failed,
            (unsigned long long)two.series_failed);
    abort();
  }
  (void)stats::results_to_string(*merged);
  return 0;
}
