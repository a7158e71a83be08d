#include "monitor/collector.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/format.hpp"
#include "common/location.hpp"
#include "conf/values.hpp"
#include "monitor/host_counters.hpp"
#include "monitor/http_get.hpp"
#include "monitor/prometheus.hpp"
#include "stats/json_reader.hpp"

namespace bm::monitor {

using namespace std::chrono_literals;

namespace {

constexpr auto kTimeout = 2000ms;               // one exchange with a host
constexpr std::size_t kAnswerLimit = 16 << 20;  // bytes
constexpr double kMonitorPollS = 1.0;           // how often a bench-monitor is asked

int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<std::vector<MonitoredHost>> monitored_hosts(const conf::ConfFile& conf, std::string* error) {
  std::vector<MonitoredHost> hosts;
  const std::optional<std::string> list = conf.get("monitor", "hosts");
  if (!list) return hosts;
  for (const std::string& name : conf::split_names(*list)) {
    if (!conf.has_section(name)) {
      *error = common::located(conf.location_of("monitor", "hosts"), 0,
                               fmt::format("[monitor] hosts: '{}' has no [{}] section", name, name));
      return std::nullopt;
    }
    MonitoredHost host;
    host.name = name;
    host.description = conf.get(name, "description").value_or("");
    if (std::optional<std::string> metrics = conf.get(name, "prometheus")) {
      if (auto interfaces = conf.get(name, "interface")) host.interfaces = conf::split_names(*interfaces);
      host.source = "prometheus";
      host.url = *metrics;
      std::optional<double> interval = conf.get_double(name, "interval", error);
      if (!interval && !error->empty()) return std::nullopt;
      host.interval_s = interval.value_or(1.0);
      if (!(host.interval_s >= 0.1 && host.interval_s <= 3600)) {
        *error = conf.value_error(name, "interval", *conf.get(name, "interval"), "between 0.1 and 3600 seconds");
        return std::nullopt;
      }
      if (!host.url.starts_with("http://")) {
        *error = conf.value_error(name, "prometheus", host.url, "an http:// URL of node_exporter's metrics");
        return std::nullopt;
      }
    } else {
      for (const char* key : {"interface", "interval"}) {
        if (conf.has_key(name, key)) {
          *error = common::located(conf.location_of(name, key), 0,
                                   fmt::format("[{}] {}: a bench-monitor takes it from its own monitor.conf ([server] "
                                               "{}); here it is for prometheus hosts only",
                                               name, key, key));
          return std::nullopt;
        }
      }
      std::optional<long long> port = conf.get_int(name, "port", error);
      if (!port) {
        if (error->empty()) {
          *error = common::located(conf.location_of(name, "port").empty() ? conf.source() : conf.location_of(name, "port"),
                                   conf.section_line(name),
                                   fmt::format("[{}]: a monitored host wants a port (bench-monitor) or prometheus = URL",
                                               name));
        }
        return std::nullopt;
      }
      if (*port < 1 || *port > 65535) {
        *error = conf.value_error(name, "port", std::to_string(*port), "a port (1 to 65535)");
        return std::nullopt;
      }
      const std::string address = conf.get(name, "host").value_or(name);
      host.source = "bench-monitor";
      host.url = address.find(':') != std::string::npos ? fmt::format("http://[{}]:{}", address, *port)
                                                        : fmt::format("http://{}:{}", address, *port);
      host.interval_s = kMonitorPollS;
    }
    hosts.push_back(std::move(host));
  }
  return hosts;
}

struct Collector::HostState {
  MonitoredHost conf;
  std::thread thread;
  // Guarded by the collector's mutex.
  stats::MonitorHost data;
  std::vector<std::string> warnings;
  uint64_t polls = 0;       // polls ended
  bool answered = false;    // the last poll got an answer
  struct Outage {
    int64_t from_us = 0, to_us = 0;  // first failed poll, first answer after (0: none yet)
    std::string reason;
  };
  std::vector<Outage> outages;
  // The host thread's own.
  int64_t since_host_us = 0;  // bench-monitor: the last point's time on the host's clock
  int64_t best_rtt_us = -1;
  int64_t offset_us = 0;      // host clock minus ours
  bool offset_known = false;
  std::optional<HostCounters> previous;  // prometheus: the last scrape
};

Collector::Collector(std::vector<MonitoredHost> hosts) {
  for (MonitoredHost& h : hosts) {
    auto state = std::make_unique<HostState>();
    state->data.name = h.name;
    state->data.description = h.description;
    state->data.source = h.source;
    state->data.address = h.url;
    state->data.interval_s = h.interval_s;
    state->data.interfaces = h.interfaces;
    state->conf = std::move(h);
    hosts_.push_back(std::move(state));
  }
}

Collector::~Collector() { stop(); }

void Collector::start() {
  start_us_ = wall_now_us();
  for (auto& host : hosts_) {
    host->since_host_us = start_us_;  // corrected by the clock offset at the first answer
    host->thread = std::thread([this, h = host.get()] { run_host(*h); });
  }
}

bool Collector::poll_monitor(HostState& host, std::string* error) {
  for (int round = 0; round < 100; ++round) {  // `more`: the host has more to send at once
    const int64_t before = wall_now_us();
    const std::string since = host.offset_known ? std::to_string(host.since_host_us) : "0";
    std::optional<HttpAnswer> answer = http_get(host.conf.url + "/samples?since=" + since, kTimeout, kAnswerLimit, error);
    const int64_t after = wall_now_us();
    if (!answer) return false;
    if (answer->status != 200) {
      *error = fmt::format("{}/samples: HTTP {}", host.conf.url, answer->status);
      return false;
    }
    try {
      const nlohmann::json doc = nlohmann::json::parse(answer->body);
      const stats::JsonObject top(doc, "answer");
      const int64_t host_now = top.int64("now_us");
      const int64_t rtt = after - before;
      if (host.best_rtt_us < 0 || rtt < host.best_rtt_us) {
        host.best_rtt_us = rtt;
        host.offset_us = host_now - (before + after) / 2;
      }
      if (!host.offset_known) {
        host.offset_known = true;
        host.since_host_us = start_us_ + host.offset_us;  // the first answer: only what follows our start
      }
      std::vector<stats::MonitorPoint> points;
      const nlohmann::json& list = top.array("points");
      for (std::size_t i = 0; i < list.size(); ++i) {
        stats::MonitorPoint p = stats::monitor_point_from_json(list[i], stats::json_path_index("points", i));
        if (p.t_us <= host.since_host_us) continue;
        host.since_host_us = p.t_us;
        p.t_us -= host.offset_us;
        points.push_back(std::move(p));
      }
      const bool more = top.boolean("more");
      {
        std::lock_guard lock(mutex_);
        host.data.interval_s = top.number("interval_s");
        host.data.clock_offset_us = host.offset_us;
        host.data.interfaces.clear();  // the daemon's own (its monitor.conf says which)
        for (const auto& n : top.array("interfaces")) {
          if (n.is_string()) host.data.interfaces.push_back(n.get<std::string>());
        }
        for (stats::MonitorPoint& p : points) {
          if (host.data.points.empty() || p.t_us > host.data.points.back().t_us) host.data.points.push_back(std::move(p));
        }
      }
      if (!more) return true;
    } catch (const std::exception& e) {
      *error = fmt::format("{}/samples: not a bench-monitor answer ({})", host.conf.url, e.what());
      return false;
    }
  }
  return true;
}

bool Collector::poll_prometheus(HostState& host, std::string* error) {
  std::optional<HttpAnswer> answer = http_get(host.conf.url, kTimeout, kAnswerLimit, error);
  const int64_t now = wall_now_us();
  if (!answer) return false;
  if (answer->status != 200) {
    *error = fmt::format("{}: HTTP {}", host.conf.url, answer->status);
    return false;
  }
  std::string problem;
  std::optional<std::vector<MetricSample>> samples = parse_exposition(answer->body, &problem);
  if (!samples) {
    *error = fmt::format("{}: {}", host.conf.url, problem);
    return false;
  }
  HostCounters counters = counters_from_metrics(*samples, host.conf.interfaces, now);
  // A scrape asked for out of turn (a fresh snapshot) right after the last one would
  // make a point of a few milliseconds: rates of noise. It waits for the next.
  const int64_t shortest_us = static_cast<int64_t>(host.conf.interval_s * 0.5e6);
  if (host.previous && now - host.previous->t_us < shortest_us) return true;
  if (host.previous && now > host.previous->t_us) {
    stats::MonitorPoint p = point_between(*host.previous, counters);
    std::lock_guard lock(mutex_);
    if (host.data.interfaces.empty()) {
      for (const auto& [name, c] : counters.interfaces) host.data.interfaces.push_back(name);
    }
    host.data.points.push_back(std::move(p));
  }
  host.previous = std::move(counters);
  return true;
}

void Collector::run_host(HostState& host) {
  const auto every = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(host.conf.interval_s));
  auto next = std::chrono::steady_clock::now();
  uint64_t served_flush = 0;
  for (;;) {
    std::string error;
    const bool ok = host.conf.source == "prometheus" ? poll_prometheus(host, &error) : poll_monitor(host, &error);
    const int64_t now = wall_now_us();
    {
      std::lock_guard lock(mutex_);
      if (!ok && (host.outages.empty() || host.outages.back().to_us != 0)) {
        host.outages.push_back({now, 0, error});
      } else if (ok && !host.outages.empty() && host.outages.back().to_us == 0) {
        host.outages.back().to_us = now;
      }
      if (!ok) host.previous.reset();  // the next scrape starts a new interval
      host.answered = ok;
      ++host.polls;
    }
    polled_.notify_all();
    next += every;
    std::unique_lock lock(mutex_);
    if (next < std::chrono::steady_clock::now()) next = std::chrono::steady_clock::now();
    wake_.wait_until(lock, next, [&] { return stopping_ || flush_ != served_flush; });
    if (stopping_ && flush_ == served_flush) return;
    served_flush = flush_;
  }
}

// Gaps come from the points themselves: a bench-monitor that kept sampling while it could
// not be reached sends those points later, and then nothing is missing.
stats::MonitorData Collector::assemble(int64_t now_us) const {
  stats::MonitorData data;
  for (const auto& host : hosts_) {
    stats::MonitorHost h = host->data;
    const int64_t allowed = static_cast<int64_t>(2.5e6 * std::max(h.interval_s, 0.05));
    for (const HostState::Outage& outage : host->outages) {
      const int64_t until = outage.to_us == 0 ? now_us : outage.to_us;
      // The points on either side of the outage.
      const auto after = std::upper_bound(h.points.begin(), h.points.end(), outage.from_us,
                                          [](int64_t t, const stats::MonitorPoint& p) { return t < p.t_us; });
      const int64_t from = after == h.points.begin() ? start_us_ : std::prev(after)->t_us;
      const int64_t to = after == h.points.end() ? now_us : after->t_us;
      const bool ongoing = outage.to_us == 0 && after == h.points.end();  // nothing since it began
      if ((ongoing || to - from > allowed) && (h.gaps.empty() || h.gaps.back().to_us <= from)) {
        h.gaps.push_back({from, to, outage.reason});
        data.warnings.push_back(fmt::format("monitor {} ({}): no samples {} {}{}: {}", host->conf.name, host->conf.url,
                                            after == h.points.end() ? "since" : "from", common::format_clock_us(from),
                                            after == h.points.end() ? "" : " to " + common::format_clock_us(to),
                                            outage.reason));
      } else if (!ongoing && to - from <= allowed) {
        data.warnings.push_back(fmt::format("monitor {} ({}): no answer from {} to {}, its samples fetched later: {}",
                                            host->conf.name, host->conf.url, common::format_clock_us(outage.from_us),
                                            common::format_clock_us(until), outage.reason));
      }
    }
    data.hosts.push_back(std::move(h));
  }
  return data;
}

stats::MonitorData Collector::snapshot(bool fresh) {
  std::unique_lock lock(mutex_);
  if (fresh && !stopping_ && !hosts_.empty()) {
    // Only hosts whose last poll was answered are waited for: one that is down, or not
    // yet heard from, must not hold the bench.
    std::vector<std::pair<const HostState*, uint64_t>> waited;
    for (const auto& host : hosts_) {
      if (host->answered) waited.emplace_back(host.get(), host->polls);
    }
    ++flush_;
    wake_.notify_all();
    polled_.wait_for(lock, kTimeout + 500ms, [&] {
      return std::all_of(waited.begin(), waited.end(), [](const auto& w) { return w.first->polls > w.second; });
    });
  }
  return assemble(wall_now_us());
}

stats::MonitorData Collector::stop() {
  stats::MonitorData last;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return assemble(wall_now_us());
  }
  last = snapshot(true);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& host : hosts_) {
    if (host->thread.joinable()) host->thread.join();
  }
  return last;
}

}  // namespace bm::monitor
