#include "monitor/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "monitor/proc_reader.hpp"

namespace bm::monitor {

namespace {

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

std::optional<double> parse_value(std::string_view text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Parses one sample line; the error is the problem without its line number.
bool parse_line(std::string_view line, MetricSample* out, std::string* problem) {
  std::size_t i = 0;
  if (line.empty() || !name_start(line[0])) return *problem = "a metric name must start the line", false;
  while (i < line.size() && name_char(line[i])) ++i;
  out->name = std::string(line.substr(0, i));
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (;;) {
      while (i < line.size() && line[i] == ' ') ++i;
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      const std::size_t key_start = i;
      while (i < line.size() && name_char(line[i])) ++i;
      if (i == key_start) return *problem = "a label name is missing", false;
      std::string key(line.substr(key_start, i - key_start));
      if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
        return *problem = fmt::format("label '{}' wants =\"value\"", key), false;
      }
      i += 2;
      std::string value;
      for (;;) {
        if (i >= line.size()) return *problem = "a label value is not closed", false;
        const char c = line[i++];
        if (c == '"') break;
        if (c == '\\') {
          if (i >= line.size()) return *problem = "a label value is not closed", false;
          const char e = line[i++];
          value += e == 'n' ? '\n' : e;  // \\ and \" stand for themselves
        } else {
          value += c;
        }
      }
      out->labels.emplace_back(std::move(key), std::move(value));
      while (i < line.size() && line[i] == ' ') ++i;
      if (i < line.size() && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      return *problem = "labels want ',' or '}' between them", false;
    }
  }
  if (i >= line.size() || (line[i] != ' ' && line[i] != '\t')) return *problem = "a value must follow the name", false;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  std::size_t end = i;
  while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
  const std::optional<double> value = parse_value(line.substr(i, end - i));
  if (!value) return *problem = fmt::format("'{}' is not a number", line.substr(i, std::min<std::size_t>(end - i, 40))), false;
  out->value = *value;
  return true;  // a timestamp may follow; the collector's own clock is used
}

// Counts arrive as doubles, exact up to 2^53; beyond that a value means nothing (and
// llround of one past 2^63 is undefined), so counts saturate there, sums included.
constexpr uint64_t kMaxCount = uint64_t{1} << 53;

uint64_t as_count(double value) {
  if (!(value > 0)) return 0;
  return value >= static_cast<double>(kMaxCount) ? kMaxCount : static_cast<uint64_t>(std::llround(value));
}

// A label value as the format writes it: backslash, double quote and line feed escaped.
std::string escape_label(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? 'n' : c;
    if (c == '\n') out.insert(out.size() - 1, 1, '\\');
  }
  return out;
}

uint64_t add_count(uint64_t a, uint64_t b) { return std::min(a + b, kMaxCount); }  // each at most 2^53

}  // namespace

std::string_view MetricSample::label(std::string_view key) const {
  for (const auto& [k, v] : labels) {
    if (k == key) return v;
  }
  return {};
}

std::optional<std::vector<MetricSample>> parse_exposition(std::string_view text, std::string* error) {
  std::vector<MetricSample> samples;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    MetricSample sample;
    std::string problem;
    if (!parse_line(line, &sample, &problem)) {
      *error = fmt::format("line {}: {}", number, problem);
      return std::nullopt;
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

HostCounters counters_from_metrics(const std::vector<MetricSample>& samples, const std::vector<std::string>& interfaces,
                                   int64_t t_us) {
  HostCounters c;
  c.t_us = t_us;
  std::array<double, 3> load{};
  int loads = 0;
  std::map<std::string, double> memory;
  DiskCounters disk;
  bool any_disk = false;
  std::map<std::string, uint64_t> states;
  std::optional<uint64_t> established;
  const auto wanted = [&](std::string_view device) {
    if (interfaces.empty()) return device != "lo";
    return std::find(interfaces.begin(), interfaces.end(), device) != interfaces.end();
  };
  for (const MetricSample& s : samples) {
    // The format allows NaN and ±Inf; as counters or gauges of a host they say nothing.
    if (!std::isfinite(s.value)) continue;
    const std::string& n = s.name;
    if (n == "node_cpu_seconds_total") {
      uint64_t core = 0;
      const std::string_view cpu = s.label("cpu");
      const auto [end, ec] = std::from_chars(cpu.data(), cpu.data() + cpu.size(), core);
      if (ec != std::errc{} || end != cpu.data() + cpu.size() || core > 65535) continue;
      if (c.cores.size() <= core) c.cores.resize(core + 1);
      CpuTimes& t = c.cores[core];
      const std::string_view mode = s.label("mode");
      double* slot = mode == "user" ? &t.user : mode == "nice" ? &t.nice : mode == "system" ? &t.system
                   : mode == "idle" ? &t.idle : mode == "iowait" ? &t.iowait : mode == "irq" ? &t.irq
                   : mode == "softirq" ? &t.softirq : mode == "steal" ? &t.steal : nullptr;
      if (slot) *slot = s.value;
    } else if (n == "node_load1" || n == "node_load5" || n == "node_load15") {
      load[n == "node_load1" ? 0 : n == "node_load5" ? 1 : 2] = s.value;
      ++loads;
    } else if (n.starts_with("node_memory_") && n.ends_with("_bytes")) {
      memory[n.substr(12, n.size() - 12 - 6)] = s.value;
    } else if (n.starts_with("node_network_") && wanted(s.label("device"))) {
      InterfaceCounters& i = c.interfaces[std::string(s.label("device"))];
      const uint64_t v = as_count(s.value);
      if (n == "node_network_receive_bytes_total") i.rx_bytes = v;
      else if (n == "node_network_receive_packets_total") i.rx_packets = v;
      else if (n == "node_network_receive_errs_total") i.rx_errors = v;
      else if (n == "node_network_transmit_bytes_total") i.tx_bytes = v;
      else if (n == "node_network_transmit_packets_total") i.tx_packets = v;
      else if (n == "node_network_transmit_errs_total") i.tx_errors = v;
    } else if (n.starts_with("node_disk_") && is_whole_disk(s.label("device"))) {
      const uint64_t v = as_count(s.value);
      if (n == "node_disk_read_bytes_total") disk.read_bytes = add_count(disk.read_bytes, v), any_disk = true;
      else if (n == "node_disk_written_bytes_total") disk.write_bytes = add_count(disk.write_bytes, v), any_disk = true;
      else if (n == "node_disk_reads_completed_total") disk.reads = add_count(disk.reads, v), any_disk = true;
      else if (n == "node_disk_writes_completed_total") disk.writes = add_count(disk.writes, v), any_disk = true;
    } else if (n == "node_tcp_connection_states") {
      uint64_t& state = states[std::string(s.label("state"))];
      state = add_count(state, as_count(s.value));
    } else if (n == "node_netstat_Tcp_CurrEstab") {
      established = as_count(s.value);
    }
  }
  if (!c.cores.empty()) {
    CpuTimes all;
    for (const CpuTimes& t : c.cores) {
      all.user += t.user, all.nice += t.nice, all.system += t.system, all.idle += t.idle;
      all.iowait += t.iowait, all.irq += t.irq, all.softirq += t.softirq, all.steal += t.steal;
    }
    c.cpu = all;
  }
  if (loads == 3) c.load = load;
  if (memory.contains("MemTotal")) {
    stats::MonitorMemory m;
    const auto bytes = [&](const char* key) { return as_count(memory[key]); };
    m.total = bytes("MemTotal");
    m.available = memory.contains("MemAvailable") ? bytes("MemAvailable")
                                                   : add_count(add_count(bytes("MemFree"), bytes("Buffers")), bytes("Cached"));
    m.used = m.total > m.available ? m.total - m.available : 0;
    m.buffers = bytes("Buffers");
    m.cached = bytes("Cached");
    m.swap_total = bytes("SwapTotal");
    m.swap_used = m.swap_total > bytes("SwapFree") ? m.swap_total - bytes("SwapFree") : 0;
    c.memory = m;
  }
  if (any_disk) c.disk = disk;
  if (!states.empty()) {
    c.tcp = std::move(states);
  } else if (established) {
    c.tcp["established"] = *established;
  }
  return c;
}

std::string write_exposition(const HostCounters& c) {
  std::string out;
  const auto family = [&out](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  if (!c.cores.empty()) {
    family("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.");
    for (std::size_t i = 0; i < c.cores.size(); ++i) {
      const CpuTimes& t = c.cores[i];
      for (const auto& [mode, value] : {std::pair{"idle", t.idle}, {"iowait", t.iowait}, {"irq", t.irq},
                                        {"nice", t.nice}, {"softirq", t.softirq}, {"steal", t.steal},
                                        {"system", t.system}, {"user", t.user}}) {
        out += fmt::format("node_cpu_seconds_total{{cpu=\"{}\",mode=\"{}\"}} {}\n", i, mode, value);
      }
    }
  }
  if (c.load) {
    const char* names[] = {"node_load1", "node_load5", "node_load15"};
    for (int i = 0; i < 3; ++i) {
      family(names[i], "gauge", "Load average.");
      out += fmt::format("{} {}\n", names[i], (*c.load)[static_cast<std::size_t>(i)]);
    }
  }
  if (c.memory) {
    const stats::MonitorMemory& m = *c.memory;
    const uint64_t free_estimate = m.available;  // MemFree is not kept; MemAvailable is the figure that matters
    for (const auto& [key, value] : {std::pair{"MemTotal", m.total}, {"MemAvailable", m.available},
                                     {"MemFree", free_estimate}, {"Buffers", m.buffers}, {"Cached", m.cached},
                                     {"SwapTotal", m.swap_total}, {"SwapFree", m.swap_total - m.swap_used}}) {
      const std::string name = fmt::format("node_memory_{}_bytes", key);
      family(name.c_str(), "gauge", "Memory information field.");
      out += fmt::format("{} {}\n", name, value);
    }
  }
  if (!c.interfaces.empty()) {
    using Field = uint64_t InterfaceCounters::*;
    for (const auto& [name, field] :
         {std::pair<const char*, Field>{"node_network_receive_bytes_total", &InterfaceCounters::rx_bytes},
          {"node_network_receive_packets_total", &InterfaceCounters::rx_packets},
          {"node_network_receive_errs_total", &InterfaceCounters::rx_errors},
          {"node_network_transmit_bytes_total", &InterfaceCounters::tx_bytes},
          {"node_network_transmit_packets_total", &InterfaceCounters::tx_packets},
          {"node_network_transmit_errs_total", &InterfaceCounters::tx_errors}}) {
      family(name, "counter", "Network device statistic.");
      for (const auto& [device, counters] : c.interfaces) {
        out += fmt::format("{}{{device=\"{}\"}} {}\n", name, escape_label(device), counters.*field);
      }
    }
  }
  if (c.disk) {
    // One device, "all": the whole disks added up.
    for (const auto& [name, value] : {std::pair{"node_disk_read_bytes_total", c.disk->read_bytes},
                                      {"node_disk_written_bytes_total", c.disk->write_bytes},
                                      {"node_disk_reads_completed_total", c.disk->reads},
                                      {"node_disk_writes_completed_total", c.disk->writes}}) {
      family(name, "counter", "Disk statistic, all whole disks added up.");
      out += fmt::format("{}{{device=\"all\"}} {}\n", name, value);
    }
  }
  if (!c.tcp.empty()) {
    family("node_tcp_connection_states", "gauge", "Number of TCP connections by state.");
    for (const auto& [state, count] : c.tcp) {
      out += fmt::format("node_tcp_connection_states{{state=\"{}\"}} {}\n", escape_label(state), count);
    }
  }
  return out;
}

}  // namespace bm::monitor
