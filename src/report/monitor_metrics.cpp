#include "report/monitor_metrics.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/format.hpp"

namespace bm::report {

namespace {

void peak(std::optional<double>& into, double value) { into = into ? std::max(*into, value) : value; }

}  // namespace

HostCycleFigures host_cycle_figures(const stats::MonitorHost& host, const stats::CycleResults& cycle) {
  HostCycleFigures f;
  const int64_t from = cycle.window_start_epoch_us, to = cycle.window_end_epoch_us;
  if (from == 0 || to <= from) return f;
  double cpu_sum = 0;
  std::size_t cpu_n = 0;
  for (const stats::MonitorPoint& p : host.points) {
    if (p.t_us <= from || p.t_us > to) continue;
    if (p.cpu) {
      cpu_sum += p.cpu->busy();
      ++cpu_n;
      peak(f.cpu_peak, p.cpu->busy());
    }
    for (double core : p.cores) peak(f.busiest_core_peak, core);
    if (p.load) peak(f.load1_peak, (*p.load)[0]);
    if (p.memory) peak(f.memory_used_peak, static_cast<double>(p.memory->used));
  }
  if (cpu_n > 0) f.cpu_mean = cpu_sum / static_cast<double>(cpu_n);
  for (const stats::MonitorGap& gap : host.gaps) {
    const int64_t a = std::max(gap.from_us, from), b = std::min(gap.to_us, to);
    if (b > a) f.gap_us += b - a;
  }
  return f;
}

std::vector<std::string> saturation_notes(const stats::Results& results,
                                          const std::function<std::string(const stats::CycleResults&)>& cycle_name) {
  std::vector<std::string> notes;
  for (const stats::CycleResults& cycle : results.cycles) {
    for (const stats::GeneratorHealth& g : results.generators) {
      const stats::SaturationSummary s =
          stats::saturation_between(g, cycle.window_start_epoch_us, cycle.window_end_epoch_us);
      if (s.saturated_s == 0) continue;
      const std::string who = results.merged() ? fmt::format("node {} ({})", g.node_num, g.host)
                                               : fmt::format("the load generator ({})", g.host);
      notes.push_back(fmt::format("{}: {} was saturated for {} s of {} (process CPU up to {:.2f} of {} cores, threads "
                                  "waiting for a CPU up to {:.0f} % of the time, event loop up to {} late): its "
                                  "latencies are not trustworthy",
                                  cycle_name(cycle), who, s.saturated_s, s.seconds, s.process_cpu_peak,
                                  std::min(g.workers, g.cores), s.cpu_wait_peak * 100,
                                  common::format_latency(std::llround(s.lag_ms_peak * 1000))));
    }
  }
  return notes;
}

std::vector<std::pair<int64_t, int64_t>> saturated_ranges(const stats::Results& results) {
  std::vector<int64_t> seconds;
  for (const stats::GeneratorHealth& g : results.generators) {
    for (const stats::GeneratorPoint& p : g.points) {
      if (p.saturated) seconds.push_back(p.t);
    }
  }
  std::sort(seconds.begin(), seconds.end());
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int64_t t : seconds) {
    if (!ranges.empty() && t <= ranges.back().second) {
      ranges.back().second = std::max(ranges.back().second, t + 1);
    } else {
      ranges.emplace_back(t, t + 1);
    }
  }
  return ranges;
}

}  // namespace bm::report
