#include "monitor/proc_reader.hpp"

#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "common/files.hpp"

namespace bm::monitor {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_file(const fs::path& path, std::string* error) {
  int error_number = 0;
  std::optional<std::string> text = common::read_whole_file(path, &error_number);
  if (!text && error) *error = fmt::format("{}: cannot read: {}", path.string(), std::strerror(error_number));
  return text;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool to_u64(std::string_view text, uint64_t* value) {
  if (text.empty()) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *value = v;
  return true;
}

// "cpu  user nice system idle iowait irq softirq steal ..." in clock ticks.
std::optional<CpuTimes> cpu_line(const std::vector<std::string_view>& w, double ticks) {
  if (w.size() < 5) return std::nullopt;
  double v[8] = {};
  for (std::size_t i = 1; i < w.size() && i <= 8; ++i) {
    uint64_t n = 0;
    if (!to_u64(w[i], &n)) return std::nullopt;
    v[i - 1] = static_cast<double>(n) / ticks;
  }
  return CpuTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
}

const char* tcp_state_name(unsigned state) {
  static const char* const kNames[] = {"",          "established", "syn_sent",   "syn_recv",
                                       "fin_wait1", "fin_wait2",   "time_wait",  "close",
                                       "close_wait", "last_ack",   "listen",     "closing"};
  return state < std::size(kNames) ? kNames[state] : "";
}

}  // namespace

bool is_whole_disk(std::string_view name) {
  static const std::regex kIgnored("^(z?ram|loop|fd|(h|s|v|xv)d[a-z]+|nvme\\d+n\\d+p|mmcblk\\d+p)\\d+$");
  return !name.empty() && !std::regex_match(name.begin(), name.end(), kIgnored);
}

ProcReader::ProcReader(fs::path proc_root, std::vector<std::string> interfaces)
    : root_(std::move(proc_root)), interfaces_(std::move(interfaces)) {
  const long ticks = ::sysconf(_SC_CLK_TCK);
  ticks_per_second_ = ticks > 0 ? static_cast<double>(ticks) : 100.0;
}

std::vector<std::string> ProcReader::available_interfaces(std::string* error) const {
  std::vector<std::string> names;
  const std::optional<std::string> dev = read_file(root_ / "net" / "dev", error);
  if (!dev) return names;
  for (std::string_view line : split_lines(*dev)) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::vector<std::string_view> name = words(line.substr(0, colon));
    if (name.size() == 1) names.emplace_back(name[0]);
  }
  return names;
}

std::optional<HostCounters> ProcReader::read(int64_t t_us, std::string* error) const {
  HostCounters c;
  c.t_us = t_us;
  const fs::path stat_path = root_ / "stat";
  const std::optional<std::string> stat = read_file(stat_path, error);
  if (!stat) return std::nullopt;
  for (std::string_view line : split_lines(*stat)) {
    if (!line.starts_with("cpu")) continue;
    const std::vector<std::string_view> w = words(line);
    std::optional<CpuTimes> times = cpu_line(w, ticks_per_second_);
    if (!times) {
      *error = fmt::format("{}: cannot read the line '{}'", stat_path.string(), line.substr(0, 60));
      return std::nullopt;
    }
    if (w[0] == "cpu") {
      c.cpu = times;
    } else {
      uint64_t index = 0;
      if (!to_u64(w[0].substr(3), &index) || index > 65535) continue;
      if (c.cores.size() <= index) c.cores.resize(index + 1);
      c.cores[index] = *times;
    }
  }
  if (!c.cpu) {
    *error = fmt::format("{}: no 'cpu' line", stat_path.string());
    return std::nullopt;
  }

  if (const std::optional<std::string> loadavg = read_file(root_ / "loadavg", error)) {
    std::istringstream in(*loadavg);
    std::array<double, 3> load{};
    if (in >> load[0] >> load[1] >> load[2]) c.load = load;
  } else {
    return std::nullopt;
  }

  const std::optional<std::string> meminfo = read_file(root_ / "meminfo", error);
  if (!meminfo) return std::nullopt;
  std::map<std::string_view, uint64_t> kb;
  for (std::string_view line : split_lines(*meminfo)) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::vector<std::string_view> w = words(line.substr(colon + 1));
    uint64_t value = 0;
    if (!w.empty() && to_u64(w[0], &value)) kb[line.substr(0, colon)] = value * 1024;
  }
  if (kb.contains("MemTotal")) {
    stats::MonitorMemory m;
    m.total = kb["MemTotal"];
    // MemAvailable since Linux 3.14; before it, free + buffers + cached is the usual estimate.
    m.available = kb.contains("MemAvailable") ? kb["MemAvailable"] : kb["MemFree"] + kb["Buffers"] + kb["Cached"];
    m.used = m.total > m.available ? m.total - m.available : 0;
    m.buffers = kb["Buffers"];
    m.cached = kb["Cached"];
    m.swap_total = kb["SwapTotal"];
    m.swap_used = m.swap_total > kb["SwapFree"] ? m.swap_total - kb["SwapFree"] : 0;
    c.memory = m;
  }

  // "  eth0: rx_bytes rx_packets rx_errs drop fifo frame compressed multicast tx_bytes tx_packets tx_errs ..."
  const std::optional<std::string> dev = read_file(root_ / "net" / "dev", error);
  if (!dev) return std::nullopt;
  for (std::string_view line : split_lines(*dev)) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::vector<std::string_view> name = words(line.substr(0, colon));
    if (name.size() != 1) continue;
    const std::string iface(name[0]);
    const bool wanted = interfaces_.empty() ? iface != "lo"
                                            : std::find(interfaces_.begin(), interfaces_.end(), iface) != interfaces_.end();
    if (!wanted) continue;
    const std::vector<std::string_view> w = words(line.substr(colon + 1));
    uint64_t v[11] = {};
    if (w.size() < 11) continue;
    bool ok = true;
    for (std::size_t i = 0; i < 11; ++i) ok = ok && to_u64(w[i], &v[i]);
    if (ok) c.interfaces[iface] = InterfaceCounters{v[0], v[1], v[2], v[8], v[9], v[10]};
  }

  // diskstats: major minor name reads merged sectors_read ms writes merged sectors_written ...
  std::string ignored;
  if (const std::optional<std::string> disks = read_file(root_ / "diskstats", &ignored)) {
    DiskCounters d;
    for (std::string_view line : split_lines(*disks)) {
      const std::vector<std::string_view> w = words(line);
      if (w.size() < 10 || !is_whole_disk(w[2])) continue;
      uint64_t reads = 0, sectors_read = 0, writes = 0, sectors_written = 0;
      if (!to_u64(w[3], &reads) || !to_u64(w[5], &sectors_read) || !to_u64(w[7], &writes) ||
          !to_u64(w[9], &sectors_written)) {
        continue;
      }
      d.reads += reads;
      d.writes += writes;
      d.read_bytes += sectors_read * 512;  // diskstats sectors are 512 bytes whatever the device's
      d.write_bytes += sectors_written * 512;
    }
    c.disk = d;
  }

  // net/tcp and tcp6: "sl local_address rem_address st ..." with st in hex.
  bool any_tcp_file = false;
  for (const char* file : {"tcp", "tcp6"}) {
    const std::optional<std::string> table = read_file(root_ / "net" / file, &ignored);
    if (!table) continue;
    any_tcp_file = true;
    bool header = true;
    for (std::string_view line : split_lines(*table)) {
      if (header) {
        header = false;
        continue;
      }
      const std::vector<std::string_view> w = words(line);
      if (w.size() < 4) continue;
      unsigned state = 0;
      bool hex = w[3].size() <= 2;
      for (char ch : w[3]) {
        const int digit = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        hex = hex && digit >= 0;
        state = state * 16 + static_cast<unsigned>(digit < 0 ? 0 : digit);
      }
      if (!hex) continue;
      const char* name = tcp_state_name(state);
      if (*name) ++c.tcp[name];
    }
  }
  if (any_tcp_file) c.tcp.try_emplace("established", 0);
  return c;
}

}  // namespace bm::monitor
