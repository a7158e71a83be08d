#pragma once
// Synthetic node results for the benchmarks: a run of C cycles x P pages (R requests
// each) with log-normal latencies, as one node of a distributed run would bring back.

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

#include <fmt/format.h>

#include "stats/results.hpp"

namespace bm::bench {

namespace fs = std::filesystem;

struct Shape {
  int cycles = 20;
  int pages = 50;
  int nodes = 16;
  int requests_per_page = 3;
  int duration_s = 60;
  int samples_per_entry = 300;  // per node and cycle
  fs::path out = fs::temp_directory_path() / "benchmaster-report-bench";
};

inline constexpr int64_t kEpoch = 1'800'000'000'000'000;  // 2027-01-15, microseconds

// Log-normal latencies around `median_us`, slower with more users.
inline int64_t latency(std::mt19937_64& rng, double median_us, double load) {
  std::lognormal_distribution<double> dist(std::log(median_us * (1 + load)), 0.45);
  return static_cast<int64_t>(dist(rng));
}

inline void record_entry(stats::EntryStats& entry, std::mt19937_64& rng, double median_us, double load, int samples,
                  int64_t apdex_t_us) {
  for (int i = 0; i < samples; ++i) {
    const int64_t us = latency(rng, median_us, load);
    if (rng() % 200 == 0) {
      entry.record_failure(stats::ErrorKind::status, us);
      entry.add_status(503);
    } else {
      entry.record_success(us, apdex_t_us);
      entry.add_status(200);
    }
    entry.add_bytes(300, 12'000);
  }
}

inline stats::Results node_results(const Shape& shape, int node) {
  std::mt19937_64 rng(1234 + node);
  stats::Results r;
  r.run.test = "Shop";
  r.run.title = "Shop under load";
  r.run.description = "Synthetic run for the report benchmark";
  r.run.url = "http://127.0.0.1:8080";
  r.run.host = fmt::format("load{}", node);
  r.run.node_num = node;
  r.run.start_epoch_us = kEpoch;
  r.run.status = stats::RunStatus::complete;
  r.run.command_line = {"bench-master", "test_Shop.lua", "-c", "..."};
  for (int c = 0; c < shape.cycles; ++c) r.config.cycles.push_back(5 * (c + 1));
  r.config.duration_s = shape.duration_s;
  r.config.ok_codes = {200, 301, 302, 303, 307};
  const int64_t apdex_t = r.config.apdex_t_us();
  const int64_t cycle_span_us = (shape.duration_s + 10) * int64_t{1'000'000};
  for (int c = 0; c < shape.cycles; ++c) {
    stats::CycleResults& cycle = r.cycles.emplace_back();
    cycle.index = c;
    cycle.cvus = r.config.cycles[c];
    cycle.start_epoch_us = kEpoch + c * cycle_span_us;
    cycle.window_start_epoch_us = cycle.start_epoch_us + 5'000'000;
    cycle.window_end_epoch_us = cycle.window_start_epoch_us + shape.duration_s * int64_t{1'000'000};
    cycle.end_epoch_us = cycle.window_end_epoch_us + 5'000'000;
    cycle.window_s = shape.duration_s;
    const double load = c / 10.0;
    record_entry(cycle.tests.slot("test_Shop").stats, rng, 3e6, load, shape.samples_per_entry / 10, apdex_t);
    for (int p = 0; p < shape.pages; ++p) {
      const std::string page = fmt::format("Page {:02}", p + 1);
      record_entry(cycle.pages.slot(page).stats, rng, 40'000 + 3'000 * p, load, shape.samples_per_entry, apdex_t);
      for (int q = 0; q < shape.requests_per_page; ++q) {
        stats::Entry& request = cycle.requests.slot(page, fmt::format("{}.{}", p + 1, q + 1));
        request.method = q == 0 ? "GET" : "GET";
        request.url = fmt::format("http://127.0.0.1:8080/shop/{}/{}", p + 1, q);
        request.kind = q == 0 ? stats::RequestKind::main : stats::RequestKind::resource;
        record_entry(request.stats, rng, 15'000 + 1'000 * p, load, shape.samples_per_entry, apdex_t);
      }
    }
    cycle.errors.record({stats::ErrorKind::status, stats::Verdict::failure, "Page 03", "3.1", 503,
                         "503 Service Unavailable", {}, {}, cycle.window_start_epoch_us + 1'000'000});
    for (int s = 0; s < shape.duration_s + 10; ++s) {
      stats::SecondAccumulator second(cycle.start_epoch_us / 1'000'000 + s);
      second.set_cycle(c, s < 5 ? stats::Phase::startup : s < 5 + shape.duration_s ? stats::Phase::window
                                                                                     : stats::Phase::drain);
      second.set_cvus(cycle.cvus);
      for (int i = 0; i < 40; ++i) second.record_request_ok(latency(rng, 20'000, load));
      second.record_request_failed();
      second.record_page(true);
      second.record_test(stats::TestOutcome::ok);
      if (auto point = second.roll(second.second() + 1)) r.series.push_back(std::move(*point));
    }
  }
  r.run.end_epoch_us = kEpoch + shape.cycles * cycle_span_us;
  return r;
}

}  // namespace bm::bench
