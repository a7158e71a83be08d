#include "stats/monitor_data.hpp"

#include "stats/json_reader.hpp"

namespace bm::stats {

using json = nlohmann::json;

json monitor_point_to_json(const MonitorPoint& p) {
  json out = {{"t_us", p.t_us}, {"interval_us", p.interval_us}};
  if (p.cpu) {
    out["cpu"] = {{"user", p.cpu->user}, {"system", p.cpu->system}, {"iowait", p.cpu->iowait},
                  {"steal", p.cpu->steal}, {"idle", p.cpu->idle}};
  }
  if (!p.cores.empty()) out["cores"] = p.cores;
  if (p.load) out["load"] = *p.load;
  if (p.memory) {
    const MonitorMemory& m = *p.memory;
    out["memory"] = {{"total", m.total},     {"available", m.available},   {"used", m.used},
                     {"buffers", m.buffers}, {"cached", m.cached},         {"swap_total", m.swap_total},
                     {"swap_used", m.swap_used}};
  }
  if (p.network) {
    const MonitorNetwork& n = *p.network;
    out["network"] = {{"rx_bytes", n.rx_bytes},     {"tx_bytes", n.tx_bytes},   {"rx_packets", n.rx_packets},
                      {"tx_packets", n.tx_packets}, {"rx_errors", n.rx_errors}, {"tx_errors", n.tx_errors}};
  }
  if (p.disk) {
    const MonitorDisk& d = *p.disk;
    out["disk"] = {{"read_bytes", d.read_bytes}, {"write_bytes", d.write_bytes}, {"reads", d.reads},
                   {"writes", d.writes}};
  }
  if (!p.tcp.empty()) out["tcp"] = p.tcp;
  return out;
}

json monitor_to_json(const MonitorData& data) {
  json hosts = json::array();
  for (const MonitorHost& h : data.hosts) {
    json points = json::array();
    for (const MonitorPoint& p : h.points) points.push_back(monitor_point_to_json(p));
    json gaps = json::array();
    for (const MonitorGap& g : h.gaps) gaps.push_back({{"from_us", g.from_us}, {"to_us", g.to_us}, {"reason", g.reason}});
    hosts.push_back({{"name", h.name},
                     {"description", h.description},
                     {"source", h.source},
                     {"address", h.address},
                     {"interval_s", h.interval_s},
                     {"interfaces", h.interfaces},
                     {"clock_offset_us", h.clock_offset_us},
                     {"points", std::move(points)},
                     {"gaps", std::move(gaps)}});
  }
  if (data.hosts.empty() && data.warnings.empty()) return json::object();
  return {{"hosts", std::move(hosts)}, {"warnings", data.warnings}};
}

MonitorPoint monitor_point_from_json(const json& value, const std::string& path) {
  const JsonObject o(value, path);
  MonitorPoint p;
  p.t_us = o.int64("t_us");
  p.interval_us = o.int64("interval_us");
  if (o.find("cpu")) {
    const JsonObject c = o.object("cpu");
    p.cpu = MonitorCpu{c.number("user"), c.number("system"), c.number("iowait"), c.number("steal"), c.number("idle")};
  }
  if (o.find("cores")) {
    const json& cores = o.array("cores");
    for (std::size_t i = 0; i < cores.size(); ++i) {
      p.cores.push_back(json_number(cores[i], json_path_index(o.path_of("cores"), i)));
    }
  }
  if (o.find("load")) {
    const json& load = o.array("load");
    if (load.size() != 3) throw_schema_error(o.path_of("load"), "wants 3 numbers (1, 5, 15 minutes)");
    p.load = std::array<double, 3>{};
    for (std::size_t i = 0; i < 3; ++i) (*p.load)[i] = json_number(load[i], json_path_index(o.path_of("load"), i));
  }
  if (o.find("memory")) {
    const JsonObject m = o.object("memory");
    p.memory = MonitorMemory{m.uint64("total"),  m.uint64("available"),  m.uint64("used"),     m.uint64("buffers"),
                             m.uint64("cached"), m.uint64("swap_total"), m.uint64("swap_used")};
  }
  if (o.find("network")) {
    const JsonObject n = o.object("network");
    p.network = MonitorNetwork{n.number("rx_bytes"),   n.number("tx_bytes"),  n.number("rx_packets"),
                               n.number("tx_packets"), n.number("rx_errors"), n.number("tx_errors")};
  }
  if (o.find("disk")) {
    const JsonObject d = o.object("disk");
    p.disk = MonitorDisk{d.number("read_bytes"), d.number("write_bytes"), d.number("reads"), d.number("writes")};
  }
  if (o.find("tcp")) {
    const JsonObject t = o.object("tcp");
    for (const auto& [state, count] : t.value().items()) p.tcp[state] = json_uint64(count, t.path_of(state));
  }
  return p;
}

MonitorData monitor_from_json(const json& value, const std::string& path) {
  const JsonObject o(value, path);
  MonitorData data;
  if (value.empty()) return data;  // no monitoring configured
  const json& hosts = o.array("hosts");
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    const JsonObject h(hosts[i], json_path_index(o.path_of("hosts"), i));
    MonitorHost& host = data.hosts.emplace_back();
    host.name = h.string("name");
    host.description = h.string("description");
    host.source = h.string("source");
    host.address = h.string("address");
    host.interval_s = h.number("interval_s");
    const json& interfaces = h.array("interfaces");
    for (std::size_t k = 0; k < interfaces.size(); ++k) {
      host.interfaces.push_back(json_string(interfaces[k], json_path_index(h.path_of("interfaces"), k)));
    }
    host.clock_offset_us = h.int64("clock_offset_us");
    const json& points = h.array("points");
    for (std::size_t k = 0; k < points.size(); ++k) {
      host.points.push_back(monitor_point_from_json(points[k], json_path_index(h.path_of("points"), k)));
      if (k > 0 && host.points[k].t_us <= host.points[k - 1].t_us) {
        throw_schema_error(json_path_index(h.path_of("points"), k), "points are not in ascending order of t_us");
      }
    }
    const json& gaps = h.array("gaps");
    for (std::size_t k = 0; k < gaps.size(); ++k) {
      const JsonObject g(gaps[k], json_path_index(h.path_of("gaps"), k));
      host.gaps.push_back({g.int64("from_us"), g.int64("to_us"), g.string("reason")});
    }
  }
  const json& warnings = o.array("warnings");
  for (std::size_t i = 0; i < warnings.size(); ++i) {
    data.warnings.push_back(json_string(warnings[i], json_path_index(o.path_of("warnings"), i)));
  }
  return data;
}

void shift_monitor(MonitorData& data, int64_t offset_us) {
  for (MonitorHost& host : data.hosts) {
    for (MonitorPoint& p : host.points) p.t_us -= offset_us;
    for (MonitorGap& g : host.gaps) {
      g.from_us -= offset_us;
      g.to_us -= offset_us;
    }
  }
}

}  // namespace bm::stats
