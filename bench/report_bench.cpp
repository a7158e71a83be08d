// Builds the HTML report of a large synthetic run and prints how long it took and how
// big it is. The bar (issue 4): 20 cycles x 50 pages x 16 nodes in under 2 s, under 5 MB.
//
//   report_bench [--cycles N] [--pages N] [--nodes N] [--requests-per-page N] [-o DIR]

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "report/html_report.hpp"
#include "stats/results.hpp"

namespace {

using namespace bm;
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

constexpr int64_t kEpoch = 1'800'000'000'000'000;  // 2027-01-15, microseconds

// Log-normal latencies around `median_us`, slower with more users.
int64_t latency(std::mt19937_64& rng, double median_us, double load) {
  std::lognormal_distribution<double> dist(std::log(median_us * (1 + load)), 0.45);
  return static_cast<int64_t>(dist(rng));
}

void record_entry(stats::EntryStats& entry, std::mt19937_64& rng, double median_us, double load, int samples,
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

stats::Results node_results(const Shape& shape, int node) {
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

stats::Results synthesize(const Shape& shape) {
  std::vector<stats::Results> nodes;
  for (int n = 0; n < shape.nodes; ++n) nodes.push_back(node_results(shape, n));
  std::string error;
  std::optional<stats::Results> merged = stats::merge_results(nodes, {}, &error);
  if (!merged) {
    std::fprintf(stderr, "merge failed: %s\n", error.c_str());
    std::exit(1);
  }
  // Two monitored hosts, a point every second of the run.
  for (const char* name : {"web1", "db1"}) {
    stats::MonitorHost& host = merged->monitor.hosts.emplace_back();
    host.name = name;
    host.source = "bench-monitor";
    host.interval_s = 1;
    for (int64_t t = kEpoch; t < merged->run.end_epoch_us; t += 1'000'000) {
      stats::MonitorPoint& p = host.points.emplace_back();
      p.t_us = t;
      p.interval_us = 1'000'000;
      const double busy = 0.4 + static_cast<double>((t / 1'000'000) % 30) / 100.0;
      p.cpu = stats::MonitorCpu{busy * 0.7, busy * 0.3, 0, 0, 1 - busy};
      p.load = std::array<double, 3>{1.5, 1.2, 1.0};
      p.memory = stats::MonitorMemory{8ull << 30, 6ull << 30, 2ull << 30, 0, 1ull << 30, 0, 0};
      p.network = stats::MonitorNetwork{3e6, 9e6, 3e3, 9e3, 0, 0};
    }
  }
  return *merged;
}

int parse_args(int argc, char** argv, Shape& shape) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--cycles") shape.cycles = std::atoi(value);
    else if (flag == "--pages") shape.pages = std::atoi(value);
    else if (flag == "--nodes") shape.nodes = std::atoi(value);
    else if (flag == "--requests-per-page") shape.requests_per_page = std::atoi(value);
    else if (flag == "-o") shape.out = value;
    else return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Shape shape;
  if (parse_args(argc, argv, shape) != 0) {
    std::fprintf(stderr, "usage: %s [--cycles N] [--pages N] [--nodes N] [--requests-per-page N] [-o DIR]\n", argv[0]);
    return 2;
  }
  const stats::Results results = synthesize(shape);
  std::string error;
  fs::path written;
  const auto start = std::chrono::steady_clock::now();
  if (!report::build_html_report(results, shape.out, &error, &written)) {
    std::fprintf(stderr, "report failed: %s\n", error.c_str());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double megabytes = static_cast<double>(fs::file_size(written)) / 1e6;
  std::printf("%d cycles x %d pages (%d requests each) x %d nodes: %s built in %.3f s, %.2f MB\n", shape.cycles,
              shape.pages, shape.requests_per_page, shape.nodes, written.c_str(), seconds, megabytes);
  const bool within_bar = seconds < 2.0 && megabytes < 5.0;
  std::printf("bar (under 2 s, under 5 MB): %s\n", within_bar ? "met" : "MISSED");
  return within_bar ? 0 : 1;
}
