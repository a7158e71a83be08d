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
#include "synthetic_results.hpp"

namespace {

using namespace bm;
namespace fs = std::filesystem;

using namespace bm::bench;

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
