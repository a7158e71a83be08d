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
  double cpu_sum = 0, rx_sum = 0, tx_sum = 0;
  std::size_t cpu_n = 0, net_n = 0;
  for (const stats::MonitorPoint& p : host.points) {
    if (p.t_us <= from || p.t_us > to) continue;
    ++f.samples;
    if (p.cpu) {
      cpu_sum += p.cpu->busy();
      ++cpu_n;
      peak(f.cpu_peak, p.cpu->busy());
    }
    for (double core : p.cores) peak(f.busiest_core_peak, core);
    if (p.load) peak(f.load1_peak, (*p.load)[0]);
    if (p.memory) peak(f.memory_used_peak, static_cast<double>(p.memory->used));
    if (p.network) {
      rx_sum += p.network->rx_bytes;
      tx_sum += p.network->tx_bytes;
      ++net_n;
    }
  }
  if (cpu_n > 0) f.cpu_mean = cpu_sum / static_cast<double>(cpu_n);
  if (net_n > 0) {
    f.rx_mean = rx_sum / static_cast<double>(net_n);
    f.tx_mean = tx_sum / static_cast<double>(net_n);
  }
  for (const stats::MonitorGap& gap : host.gaps) {
    const int64_t a = std::max(gap.from_us, from), b = std::min(gap.to_us, to);
    if (b > a) f.gap_us += b - a;
  }
  return f;
}

bool has_monitor_points(const stats::Results& results) {
  return std::any_of(results.monitor.hosts.begin(), results.monitor.hosts.end(),
                     [](const stats::MonitorHost& h) { return !h.points.empty() || !h.gaps.empty(); });
}

}  // namespace bm::report
