#include "report/monitor_metrics.hpp"

#include <algorithm>

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

}  // namespace bm::report
