#include "stats/generator_health.hpp"

#include <algorithm>

#include "stats/json_reader.hpp"

namespace bm::stats {

using json = nlohmann::json;

bool is_saturated(double process_cpu, double cpu_wait, double lag_ms, int workers, int cores) {
  const int usable = std::max(1, std::min(workers > 0 ? workers : cores, cores > 0 ? cores : workers));
  return process_cpu >= kSaturatedCpuShare * usable || cpu_wait >= kSaturatedCpuWait || lag_ms >= kSaturatedLagMs;
}

SaturationSummary saturation_between(const GeneratorHealth& generator, int64_t from_us, int64_t to_us) {
  SaturationSummary s;
  if (to_us <= from_us) return s;
  for (const GeneratorPoint& p : generator.points) {
    // The second [t, t+1) counts when its middle is inside the window.
    const int64_t middle = p.t * 1'000'000 + 500'000;
    if (middle < from_us || middle >= to_us) continue;
    ++s.seconds;
    if (p.saturated) ++s.saturated_s;
    s.process_cpu_peak = std::max(s.process_cpu_peak, p.process_cpu);
    s.cpu_wait_peak = std::max(s.cpu_wait_peak, p.cpu_wait);
    s.lag_ms_peak = std::max(s.lag_ms_peak, p.lag_ms);
  }
  return s;
}

json generator_to_json(const GeneratorHealth& g) {
  json points = json::array();
  for (const GeneratorPoint& p : g.points) {
    points.push_back({{"t", p.t},
                      {"process_cpu", p.process_cpu},
                      {"host_cpu", p.host_cpu},
                      {"cpu_wait", p.cpu_wait},
                      {"lag_ms", p.lag_ms},
                      {"rss_bytes", p.rss_bytes},
                      {"connections", p.connections},
                      {"saturated", p.saturated}});
  }
  return {{"node_num", g.node_num}, {"host", g.host}, {"workers", g.workers}, {"cores", g.cores},
          {"points", std::move(points)}};
}

GeneratorHealth generator_from_json(const json& value, const std::string& path) {
  const JsonObject o(value, path);
  GeneratorHealth g;
  g.node_num = o.integer("node_num");
  g.host = o.string("host");
  g.workers = o.integer("workers");
  g.cores = o.integer("cores");
  const json& points = o.array("points");
  for (std::size_t i = 0; i < points.size(); ++i) {
    const JsonObject p(points[i], json_path_index(o.path_of("points"), i));
    g.points.push_back({p.int64("t"), p.number("process_cpu"), p.number("host_cpu"), p.number("cpu_wait"),
                        p.number("lag_ms"), p.uint64("rss_bytes"), p.uint64("connections"), p.boolean("saturated")});
    if (i > 0 && g.points[i].t <= g.points[i - 1].t) {
      throw_schema_error(json_path_index(o.path_of("points"), i), "points are not in ascending order of t");
    }
  }
  return g;
}

}  // namespace bm::stats
