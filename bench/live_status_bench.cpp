// The master's live status at fleet scale: every node prints one @progress line per
// second (its counts and latency histogram); the master parses each, merges it into the
// seconds it keeps and redraws one line. Prints the CPU time of one second of that for N
// nodes; the bar (issue 17, "cheap at 1,000 nodes"): under 100 ms of the master's one
// thread per second (10 %).
//
//   live_status_bench [--nodes N] [--seconds S] [--requests R]

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "master/live_status.hpp"
#include "protocol/node_protocol.hpp"
#include "stats/series.hpp"

namespace {

// CPU time of this process: what the master's one thread spends, whatever else runs.
double cpu_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bm;
  int nodes = 1000, seconds = 20, requests = 200;  // requests per node per second
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--nodes") nodes = value;
    else if (flag == "--seconds") seconds = value;
    else if (flag == "--requests") requests = value;
    else {
      std::fprintf(stderr, "usage: %s [--nodes N] [--seconds S] [--requests R]\n", argv[0]);
      return 2;
    }
  }
  constexpr int64_t kStart = 1'800'000'000;  // epoch seconds
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(std::log(20'000.0), 0.6);
  // Every node's lines, made up front: only the master's side is timed.
  std::vector<std::vector<std::string>> lines(static_cast<std::size_t>(seconds));
  for (int s = 0; s < seconds; ++s) {
    for (int n = 0; n < nodes; ++n) {
      stats::SecondAccumulator second(kStart + s);
      second.set_cycle(0, stats::Phase::window);
      second.set_cvus(10);
      for (int r = 0; r < requests; ++r) second.record_request_ok(static_cast<int64_t>(latency(rng)));
      second.record_test(stats::TestOutcome::ok);
      if (auto point = second.roll(kStart + s + 1)) lines[static_cast<std::size_t>(s)].push_back(protocol::progress_line(*point));
    }
  }
  master::LiveStatus status(1, kStart * 1'000'000);
  const master::NodeCounts counts{nodes, 0, 0};
  double total_s = 0, worst_s = 0;
  std::size_t shown = 0;
  for (int s = 0; s < seconds; ++s) {
    const double start = cpu_seconds();
    for (const std::string& line : lines[static_cast<std::size_t>(s)]) {
      const protocol::Message message = protocol::parse_line(line);
      if (const auto* point = std::get_if<stats::SeriesPoint>(&message)) status.add(*point);
    }
    shown += status.line(counts, (kStart + s + 2) * 1'000'000).size();
    const double spent = cpu_seconds() - start;
    total_s += spent;
    worst_s = std::max(worst_s, spent);
  }
  const double mean_ms = total_s * 1e3 / seconds;
  std::printf("%d nodes, %d requests each per second, %d seconds: %.1f ms of CPU per second on average, %.1f ms at worst "
              "(%zu bytes of status shown)\n",
              nodes, requests, seconds, mean_ms, worst_s * 1e3, shown);
  const bool within_bar = mean_ms < 100;
  std::printf("bar (under 100 ms per second): %s\n", within_bar ? "met" : "MISSED");
  return within_bar ? 0 : 1;
}
