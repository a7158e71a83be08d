#pragma once
// How the load generator itself fared, second by second: a generator short of CPU, or
// whose event loops ran late, measures its own queueing as the server's latency. Each
// node (or bench-run) records its health every second and flags the seconds it was
// saturated; the reports say so in words. docs/monitoring.md gives the rule.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bm::stats {

// A second is saturated when the process used at least this share of the cores it can
// run its workers on, or its threads waited for a CPU (runnable, not running) this share
// of the time per worker, or a worker's event loop ran at least this late.
inline constexpr double kSaturatedCpuShare = 0.9;
inline constexpr double kSaturatedCpuWait = 0.25;
inline constexpr double kSaturatedLagMs = 50.0;

struct GeneratorPoint {
  int64_t t = 0;             // epoch second it covers
  double process_cpu = 0;    // cores the process used (1.5 = one and a half)
  double host_cpu = 0;       // busy share of the machine's cores, 0 to 1
  double cpu_wait = 0;       // time the threads waited for a CPU, per worker and second
  double lag_ms = 0;         // the latest any worker's event loop ran a due timer
  uint64_t rss_bytes = 0;    // resident memory at the end of the second
  uint64_t connections = 0;  // open connections at the end of the second
  bool saturated = false;
  bool operator==(const GeneratorPoint&) const = default;
};

struct GeneratorHealth {
  int node_num = 0;
  std::string host;
  int workers = 0;
  int cores = 0;  // cores the process may run on
  std::vector<GeneratorPoint> points;
  bool operator==(const GeneratorHealth&) const = default;
};

// Whether a second with these figures counts as saturated (the rule above).
bool is_saturated(double process_cpu, double cpu_wait, double lag_ms, int workers, int cores);

// Saturated seconds of a generator inside [from_us, to_us) (a cycle's window).
struct SaturationSummary {
  int64_t saturated_s = 0;
  int64_t seconds = 0;        // seconds of the window with a point
  double process_cpu_peak = 0;
  double cpu_wait_peak = 0;
  double lag_ms_peak = 0;
};
SaturationSummary saturation_between(const GeneratorHealth& generator, int64_t from_us, int64_t to_us);

nlohmann::json generator_to_json(const GeneratorHealth& generator);
GeneratorHealth generator_from_json(const nlohmann::json& value, const std::string& path);

}  // namespace bm::stats
