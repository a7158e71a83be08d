#pragma once
// Reads a Linux host's counters from /proc (stat, loadavg, meminfo, net/dev, diskstats,
// net/tcp and tcp6). The folder is a parameter so that tests can hand it a made-up one.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "monitor/host_counters.hpp"

namespace bm::monitor {

class ProcReader {
 public:
  // `interfaces`: the network interfaces to watch; empty: every one but lo.
  explicit ProcReader(std::filesystem::path proc_root = "/proc", std::vector<std::string> interfaces = {});

  // The interfaces /proc/net/dev lists now.
  std::vector<std::string> available_interfaces(std::string* error) const;
  // nullopt with one line in *error when a file cannot be read or makes no sense; the
  // optional groups (disk, tcp) are left out quietly when their files are missing.
  std::optional<HostCounters> read(int64_t t_us, std::string* error) const;

 private:
  std::filesystem::path root_;
  std::vector<std::string> interfaces_;
  double ticks_per_second_;
};

// Whether a /proc/diskstats name is a whole disk (sda, nvme0n1, vda, mmcblk0, dm-0, md0)
// rather than a partition or a RAM, loop or floppy device: node_exporter's default rule.
bool is_whole_disk(std::string_view name);

}  // namespace bm::monitor
