#include "monitor/host_counters.hpp"

namespace bm::monitor {

namespace {

double grew(uint64_t before, uint64_t after) {
  return static_cast<double>(after >= before ? after - before : after);  // a reset counts from 0
}
double grew(double before, double after) { return after >= before ? after - before : after; }

CpuTimes delta(const CpuTimes& a, const CpuTimes& b) {
  return {grew(a.user, b.user),     grew(a.nice, b.nice),       grew(a.system, b.system), grew(a.idle, b.idle),
          grew(a.iowait, b.iowait), grew(a.irq, b.irq), grew(a.softirq, b.softirq), grew(a.steal, b.steal)};
}

}  // namespace

stats::MonitorPoint point_between(const HostCounters& prev, const HostCounters& cur) {
  stats::MonitorPoint p;
  p.t_us = cur.t_us;
  p.interval_us = cur.t_us - prev.t_us;
  const double seconds = static_cast<double>(p.interval_us) / 1e6;
  if (prev.cpu && cur.cpu) {
    const CpuTimes d = delta(*prev.cpu, *cur.cpu);
    if (const double total = d.total(); total > 0) {
      p.cpu = stats::MonitorCpu{(d.user + d.nice) / total, (d.system + d.irq + d.softirq) / total, d.iowait / total,
                                d.steal / total, d.idle / total};
    }
  }
  if (prev.cores.size() == cur.cores.size()) {
    for (std::size_t i = 0; i < cur.cores.size(); ++i) {
      const CpuTimes d = delta(prev.cores[i], cur.cores[i]);
      const double total = d.total();
      p.cores.push_back(total > 0 ? (total - d.idle - d.iowait) / total : 0.0);
    }
  }
  p.load = cur.load;
  p.memory = cur.memory;
  if (seconds > 0 && !cur.interfaces.empty()) {
    stats::MonitorNetwork n;
    bool any = false;
    for (const auto& [name, c] : cur.interfaces) {
      const auto before = prev.interfaces.find(name);
      if (before == prev.interfaces.end()) continue;
      const InterfaceCounters& b = before->second;
      n.rx_bytes += grew(b.rx_bytes, c.rx_bytes) / seconds;
      n.tx_bytes += grew(b.tx_bytes, c.tx_bytes) / seconds;
      n.rx_packets += grew(b.rx_packets, c.rx_packets) / seconds;
      n.tx_packets += grew(b.tx_packets, c.tx_packets) / seconds;
      n.rx_errors += grew(b.rx_errors, c.rx_errors) / seconds;
      n.tx_errors += grew(b.tx_errors, c.tx_errors) / seconds;
      any = true;
    }
    if (any) p.network = n;
  }
  if (seconds > 0 && prev.disk && cur.disk) {
    p.disk = stats::MonitorDisk{grew(prev.disk->read_bytes, cur.disk->read_bytes) / seconds,
                                grew(prev.disk->write_bytes, cur.disk->write_bytes) / seconds,
                                grew(prev.disk->reads, cur.disk->reads) / seconds,
                                grew(prev.disk->writes, cur.disk->writes) / seconds};
  }
  p.tcp = cur.tcp;
  return p;
}

}  // namespace bm::monitor
