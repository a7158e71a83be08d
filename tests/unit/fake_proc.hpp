#pragma once
// A made-up /proc for the monitor's tests: the files ProcReader reads, with values the
// test chooses (CPU times in seconds, written as clock ticks).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace bm::monitor::testing {

struct FakeCpu {
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
};

class FakeProc {
 public:
  explicit FakeProc(std::filesystem::path root) : root_(std::move(root)) {
    std::filesystem::create_directories(root_ / "net");
    cores = {FakeCpu{}, FakeCpu{}};
  }

  std::vector<FakeCpu> cores;
  double load[3] = {0.5, 0.25, 0.125};
  unsigned long long mem_total_kb = 4 << 20, mem_available_kb = 3 << 20, buffers_kb = 1024, cached_kb = 2048;
  unsigned long long swap_total_kb = 1024, swap_free_kb = 512;
  unsigned long long lo_rx = 1000, lo_tx = 2000, eth_rx = 50, eth_tx = 60;
  unsigned long long sda_sectors_read = 8, sda_reads = 1, sda_sectors_written = 16, sda_writes = 2;
  std::vector<int> tcp_states = {1, 1, 6, 10};  // established ×2, time_wait, listen
  std::vector<int> tcp6_states = {1};

  void write() const {
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const auto ticks = [hz](double seconds) { return static_cast<unsigned long long>(seconds * hz + 0.5); };
    const auto line = [&](const std::string& name, const FakeCpu& c) {
      return fmt::format("{} {} {} {} {} {} {} {} {} 0 0\n", name, ticks(c.user), ticks(c.nice), ticks(c.system),
                         ticks(c.idle), ticks(c.iowait), ticks(c.irq), ticks(c.softirq), ticks(c.steal));
    };
    FakeCpu all;
    for (const FakeCpu& c : cores) {
      all.user += c.user, all.nice += c.nice, all.system += c.system, all.idle += c.idle;
      all.iowait += c.iowait, all.irq += c.irq, all.softirq += c.softirq, all.steal += c.steal;
    }
    std::string stat = line("cpu ", all);
    for (std::size_t i = 0; i < cores.size(); ++i) stat += line(fmt::format("cpu{}", i), cores[i]);
    stat += "intr 12345 0 0\nctxt 999\nbtime 1700000000\n";
    put("stat", stat);
    put("loadavg", fmt::format("{} {} {} 1/123 4567\n", load[0], load[1], load[2]));
    put("meminfo", fmt::format("MemTotal:       {} kB\nMemFree:        100 kB\nMemAvailable:   {} kB\n"
                               "Buffers:        {} kB\nCached:         {} kB\nSwapTotal:      {} kB\n"
                               "SwapFree:       {} kB\n",
                               mem_total_kb, mem_available_kb, buffers_kb, cached_kb, swap_total_kb, swap_free_kb));
    put("net/dev", fmt::format("Inter-|   Receive                                                |  Transmit\n"
                               " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
                               "errs drop fifo colls carrier compressed\n"
                               "    lo: {} 10 0 0 0 0 0 0 {} 20 0 0 0 0 0 0\n"
                               "  eth0: {} 5 1 0 0 0 0 0 {} 6 2 0 0 0 0 0\n",
                               lo_rx, lo_tx, eth_rx, eth_tx));
    put("diskstats", fmt::format("   8       0 sda {} 0 {} 10 {} 0 {} 20 0 30 40\n"
                                 "   8       1 sda1 100 0 800 10 200 0 1600 20 0 30 40\n"
                                 "   7       0 loop0 100 0 800 10 200 0 1600 20 0 30 40\n",
                                 sda_reads, sda_sectors_read, sda_writes, sda_sectors_written));
    put("net/tcp", tcp_table(tcp_states));
    put("net/tcp6", tcp_table(tcp6_states));
  }

  void remove(const std::string& relative) const { std::filesystem::remove(root_ / relative); }
  // Written beside and renamed: a reader on another thread never sees half a file.
  void put(const std::string& relative, const std::string& text) const {
    const std::filesystem::path path = root_ / relative;
    std::ofstream(path.string() + ".new", std::ios::trunc) << text;
    std::filesystem::rename(path.string() + ".new", path);
  }
  const std::filesystem::path& root() const { return root_; }

 private:
  static std::string tcp_table(const std::vector<int>& states) {
    std::string text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    for (std::size_t i = 0; i < states.size(); ++i) {
      text += fmt::format("   {}: 0100007F:1F90 0100007F:C350 {:02X} 00000000:00000000 00:00000000 00000000     0        0 1 1\n",
                          i, states[i]);
    }
    return text;
  }

  std::filesystem::path root_;
};

}  // namespace bm::monitor::testing
