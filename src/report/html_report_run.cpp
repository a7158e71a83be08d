// The run as time goes by and what went wrong: per-second timeline, errors, nodes,
// server monitoring; and the definitions of every metric.

#include <algorithm>
#include <cmath>
#include <map>

#include "common/format.hpp"
#include "report/html_report_parts.hpp"
#include "report/monitor_metrics.hpp"

namespace bm::report::html {

using namespace bm::common;  // the shared number and time formatters

namespace {

// Longer runs are drawn with several seconds per point, merged exactly.
constexpr int64_t kMaxTimelinePoints = 3600;

struct TimelineBucket {
  uint64_t requests_ok = 0;
  uint64_t requests_failed = 0;
  uint64_t pages_ok = 0;
  uint64_t pages_failed = 0;
  uint64_t tests_ok = 0;
  uint64_t tests_failed = 0;
  uint64_t tests_errors = 0;
  int64_t cvus = 0;
  bool seen = false;
  stats::SparseHistogram latency;
};

struct Timeline {
  int64_t first_second = 0;
  int64_t step_s = 1;
  std::vector<TimelineBucket> buckets;
};

Timeline build_timeline(const std::vector<stats::SeriesPoint>& series) {
  Timeline timeline;
  if (series.empty()) return timeline;
  const auto [first, last] = std::minmax_element(series.begin(), series.end(),
                                                 [](const auto& a, const auto& b) { return a.t < b.t; });
  const int64_t span = last->t - first->t + 1;
  timeline.first_second = first->t;
  timeline.step_s = std::max<int64_t>(1, (span + kMaxTimelinePoints - 1) / kMaxTimelinePoints);
  timeline.buckets.resize(static_cast<std::size_t>((span + timeline.step_s - 1) / timeline.step_s));
  for (const stats::SeriesPoint& point : series) {
    TimelineBucket& b = timeline.buckets[static_cast<std::size_t>((point.t - first->t) / timeline.step_s)];
    b.requests_ok += point.requests_ok;
    b.requests_failed += point.requests_failed;
    b.pages_ok += point.pages_ok;
    b.pages_failed += point.pages_failed;
    b.tests_ok += point.tests_ok;
    b.tests_failed += point.tests_failed;
    b.tests_errors += point.tests_errors;
    b.cvus = std::max(b.cvus, point.cvus);
    b.seen = true;
    b.latency.merge(point.latency);
  }
  return timeline;
}

ChartSpec timeline_chart(const Context& context, const Timeline& timeline) {
  ChartSpec spec;
  spec.time_axis = true;
  spec.x_label = "Time (UTC)";
  spec.bands = cycle_bands(context.results);
  for (std::size_t i = 0; i < timeline.buckets.size(); ++i) {
    spec.x.push_back(static_cast<double>(timeline.first_second + static_cast<int64_t>(i) * timeline.step_s));
  }
  return spec;
}

void timeline_charts(std::string& out, Context& context, const Timeline& timeline) {
  const double step = static_cast<double>(timeline.step_s);
  auto rate = [step](uint64_t count) { return std::optional(static_cast<double>(count) / step); };

  // One unit per chart, and the charts stacked on one clock with the same plot width.
  ChartSpec throughput = timeline_chart(context, timeline);
  throughput.y_label = "per second";
  ChartSeries ok{"Requests/s", {}, {palette::kBlue}, true}, pages{"Pages/s", {}, {palette::kTeal, Dash::dashed}},
      failed{"Failed requests/s", {}, {palette::kRed, Dash::dotted}};
  ChartSpec users = timeline_chart(context, timeline);
  users.y_label = "users";
  users.height = 150;
  ChartSeries vus{"Virtual users", {}, {palette::kSlate}, true};
  ChartSpec latency = timeline_chart(context, timeline);
  latency.y_label = "ms";
  ChartSeries p50{"p50", {}, {palette::kGreen}}, p95{"p95", {}, {palette::kAmber, Dash::dashed}},
      p99{"p99", {}, {palette::kViolet, Dash::dotted}};
  ChartSpec errors = timeline_chart(context, timeline);
  errors.y_label = "per second";
  // Four counts that are often equal (a failed request fails its page and its test):
  // each its own dash, so lines that lie on each other still show.
  ChartSeries request_errors{"Requests failed/s", {}, {palette::kRed}, true},
      page_errors{"Pages failed/s", {}, {palette::kAmber, Dash::dashed}},
      test_failures{"Tests failed/s", {}, {palette::kViolet, Dash::dotted}},
      test_errors{"Tests errored/s", {}, {palette::kPink, Dash::dash_dot}};

  for (const TimelineBucket& b : timeline.buckets) {
    ok.values.push_back(rate(b.requests_ok));
    pages.values.push_back(rate(b.pages_ok));
    failed.values.push_back(rate(b.requests_failed));
    vus.values.push_back(b.seen ? std::optional(static_cast<double>(b.cvus)) : std::nullopt);
    request_errors.values.push_back(rate(b.requests_failed));
    page_errors.values.push_back(rate(b.pages_failed));
    test_failures.values.push_back(rate(b.tests_failed));
    test_errors.values.push_back(rate(b.tests_errors));
    if (b.latency.empty()) {
      p50.values.emplace_back();
      p95.values.emplace_back();
      p99.values.emplace_back();
    } else {
      const LatencySummary l = summarize_latency(b.latency);
      p50.values.push_back(static_cast<double>(l.p50_us) / 1000.0);
      p95.values.push_back(static_cast<double>(l.p95_us) / 1000.0);
      p99.values.push_back(static_cast<double>(l.p99_us) / 1000.0);
    }
  }
  throughput.series = {ok, pages, failed};
  users.series = {vus};
  const bool users_known = std::any_of(timeline.buckets.begin(), timeline.buckets.end(),
                                       [](const TimelineBucket& b) { return b.cvus > 0; });
  latency.series = {p50, p95, p99};
  errors.series = {request_errors, page_errors, test_failures, test_errors};
  const std::string note =
      timeline.step_s == 1 ? "" : fmt::format("Each point covers {} seconds (averaged rates, merged percentiles).", timeline.step_s);
  context.charts.figure(out, "Throughput over time", throughput, note);
  if (users_known) {
    context.charts.figure(out, "Virtual users over time", users,
                          context.open ? "Open model: the pool of virtual users as it grew to carry the rate." : "");
  }
  context.charts.figure(out, "Request response time over time (successful requests)", latency,
                        context.open ? note + (note.empty() ? "" : " ") + "Times from the intended start." : note);
  context.charts.figure(out, "Failures and errors over time", errors, note);
}

// Every cycle's error groups joined, the most frequent first.
std::vector<stats::ErrorGroup> all_error_groups(const stats::Results& results) {
  stats::ErrorGroups all;
  for (const stats::CycleResults& cycle : results.cycles) all.merge(cycle.errors);
  std::vector<stats::ErrorGroup> groups(all.begin(), all.end());
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  return groups;
}

void error_groups_table(std::string& out, const std::vector<stats::ErrorGroup>& groups) {
  out += "<div class=\"table-wrap\"><table class=\"data errors sortable\" id=\"error-groups\"><thead><tr>"
         "<th>Count</th><th class=\"text\">Kind</th><th class=\"text\">Verdict</th><th class=\"text\">Page</th>"
         "<th class=\"text\">Request</th><th>HTTP</th><th>First</th><th>Last</th><th class=\"text\">Message and "
         "examples</th></tr></thead><tbody>";
  for (const stats::ErrorGroup& group : groups) {
    put(out,
        "<tr><td>{}</td><td class=\"text\"><span class=\"tag tag-bad\">{}</span></td><td class=\"text\">{}</td>"
        "<td class=\"text\">{}</td>"
        "<td class=\"text\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"text message\"><div>{}</div>",
        format_count(group.count), stats::to_string(group.kind), stats::to_string(group.verdict), Esc{group.page},
        Esc{group.request}, group.status ? std::to_string(group.status) : kNoValue,
        format_clock_us(group.first_epoch_us), format_clock_us(group.last_epoch_us), Esc{group.message});
    if (!group.examples.empty()) {
      out += "<ul class=\"examples\">";
      for (const stats::ErrorExample& example : group.examples) {
        put(out, "<li><code>{}</code>", Esc{example.message});
        if (!example.location.empty()) put(out, " <span class=\"muted\">at {}</span>", Esc{example.location});
        out += "</li>";
      }
      out += "</ul>";
    }
    out += "</td></tr>";
  }
  out += "</tbody></table></div>";
}

void status_codes_table(std::string& out, const Context& context) {
  const stats::Results& results = context.results;
  std::vector<std::map<int, uint64_t>> per_cycle;
  std::map<int, uint64_t> columns;
  for (const stats::CycleResults& cycle : results.cycles) {
    auto& codes = per_cycle.emplace_back();
    for (const stats::Entry& request : cycle.requests) {
      for (const auto& item : request.stats.status_codes.items()) {
        codes[item.code] += item.count;
        columns[item.code] += item.count;
      }
    }
  }
  if (columns.empty()) return;
  out += "<h3>HTTP status codes of requests</h3><div class=\"table-wrap\"><table class=\"data compact\" "
         "id=\"status-codes\"><thead><tr><th>Cycle</th>";
  put(out, "<th>{}</th>", context.open ? "Rate" : "Users");
  for (const auto& [code, total] : columns) put(out, "<th class=\"code-{}xx\">{}</th>", code / 100, code);
  out += "</tr></thead><tbody>";
  for (std::size_t i = 0; i < per_cycle.size(); ++i) {
    put(out, "<tr data-cycle=\"{}\"><td>C{}</td><td>{}</td>", results.cycles[i].index,
        cycle_number(results.cycles[i].index), load_value(results.cycles[i].cvus, asked_rate(results.cycles[i])));
    for (const auto& [code, total] : columns) {
      const auto found = per_cycle[i].find(code);
      put(out, "<td>{}</td>", format_count(found == per_cycle[i].end() ? 0 : found->second));
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>";
}

// A host may report only some of the fields: charts with nothing to draw are left out.
bool has_values(const ChartSpec& chart) {
  return std::any_of(chart.series.begin(), chart.series.end(), [](const ChartSeries& series) {
    return std::any_of(series.values.begin(), series.values.end(), [](const auto& v) { return v.has_value(); });
  });
}

template <typename Group, typename Read>
std::optional<double> field(const std::optional<Group>& group, Read read) {
  return group ? std::optional<double>(read(*group)) : std::nullopt;
}

void host_charts(std::string& out, Context& context, const stats::MonitorHost& host) {
  ChartSpec base;
  base.time_axis = true;
  base.x_label = "Time (UTC)";
  base.height = 200;
  base.bands = cycle_bands(context.results);
  // CPU stacked by kind: each line is the sum of its kind and those below it, the largest
  // drawn first so that each band shows.
  ChartSeries user{"User %", {}, {palette::kBlue}, true};
  ChartSeries system{"+ System %", {}, {palette::kRed}, true};
  ChartSeries iowait{"+ I/O wait %", {}, {palette::kAmber}, true};
  ChartSeries steal{"+ Steal %", {}, {palette::kSlate}, true};
  ChartSeries load{"Load (1 min)", {}, {palette::kViolet}, true};
  ChartSeries used{"Used (MiB)", {}, {palette::kViolet}, true}, cached{"Cached (MiB)", {}, {palette::kTeal, Dash::dashed}};
  ChartSeries swap{"Swap used (MiB)", {}, {palette::kRed, Dash::dotted}};
  ChartSeries rx{"Received (MiB/s)", {}, {palette::kGreen}}, tx{"Sent (MiB/s)", {}, {palette::kBlue, Dash::dashed}};
  ChartSeries read{"Read (MiB/s)", {}, {palette::kTeal}}, write{"Written (MiB/s)", {}, {palette::kPink, Dash::dashed}};
  ChartSeries established{"Established", {}, {palette::kBlue}}, time_wait{"Time-wait", {}, {palette::kAmber, Dash::dashed}};
  const auto mib = [](std::optional<double> bytes) { return bytes ? std::optional(*bytes / 1048576.0) : std::nullopt; };
  const auto percent = [](std::optional<double> share) { return share ? std::optional(*share * 100.0) : std::nullopt; };
  const auto tcp = [](const stats::MonitorPoint& p, const char* state) {
    const auto found = p.tcp.find(state);
    return found == p.tcp.end() ? std::nullopt : std::optional<double>(static_cast<double>(found->second));
  };
  std::vector<ChartSeries*> all{&user, &system, &iowait, &steal, &load, &used, &cached, &swap,
                                &rx,   &tx,     &read,   &write, &established, &time_wait};
  std::size_t gap = 0;
  for (const stats::MonitorPoint& p : host.points) {
    // A gap breaks the lines: one empty point inside it.
    while (gap < host.gaps.size() && host.gaps[gap].to_us <= p.t_us) {
      base.x.push_back(static_cast<double>(host.gaps[gap].from_us + host.gaps[gap].to_us) / 2e6);
      for (ChartSeries* series : all) series->values.emplace_back();
      ++gap;
    }
    base.x.push_back(static_cast<double>(p.t_us) / 1e6);
    user.values.push_back(percent(field(p.cpu, [](const stats::MonitorCpu& c) { return c.user; })));
    system.values.push_back(percent(field(p.cpu, [](const stats::MonitorCpu& c) { return c.user + c.system; })));
    iowait.values.push_back(
        percent(field(p.cpu, [](const stats::MonitorCpu& c) { return c.user + c.system + c.iowait; })));
    steal.values.push_back(
        percent(field(p.cpu, [](const stats::MonitorCpu& c) { return c.user + c.system + c.iowait + c.steal; })));
    load.values.push_back(p.load ? std::optional((*p.load)[0]) : std::nullopt);
    const auto memory = [&p](auto read) { return field(p.memory, read); };
    used.values.push_back(mib(memory([](const stats::MonitorMemory& m) { return static_cast<double>(m.used); })));
    cached.values.push_back(mib(memory([](const stats::MonitorMemory& m) { return static_cast<double>(m.cached); })));
    swap.values.push_back(mib(memory([](const stats::MonitorMemory& m) { return static_cast<double>(m.swap_used); })));
    rx.values.push_back(mib(field(p.network, [](const stats::MonitorNetwork& n) { return n.rx_bytes; })));
    tx.values.push_back(mib(field(p.network, [](const stats::MonitorNetwork& n) { return n.tx_bytes; })));
    read.values.push_back(mib(field(p.disk, [](const stats::MonitorDisk& d) { return d.read_bytes; })));
    write.values.push_back(mib(field(p.disk, [](const stats::MonitorDisk& d) { return d.write_bytes; })));
    established.values.push_back(tcp(p, "established"));
    time_wait.values.push_back(tcp(p, "time_wait"));
  }
  put(out, "<article class=\"entry host\" id=\"host-{}\"><h3>{}</h3>", Esc{host.name}, Esc{host.name});
  put(out, "<p class=\"meta\">{}{}{} every {} s{}</p>", Esc{host.description}, host.description.empty() ? "" : " · ",
      Esc{host.source + " " + host.address}, format_seconds(host.interval_s),
      host.gaps.empty() ? "" : fmt::format(" · <span class=\"bad\">{} gap{} in its samples</span>", host.gaps.size(),
                                           host.gaps.size() == 1 ? "" : "s"));
  out += "<div class=\"chart-grid three\">";
  ChartSpec cpu_chart = base, load_chart = base, memory_chart = base, network_chart = base, disk_chart = base,
            tcp_chart = base;
  cpu_chart.y_label = "CPU % (stacked)";
  cpu_chart.y_max = 100;
  cpu_chart.series = {steal, iowait, system, user};
  load_chart.y_label = "load";
  load_chart.series = {load};
  memory_chart.y_label = "MiB";
  memory_chart.series = {used, cached, swap};
  network_chart.y_label = "MiB/s";
  network_chart.series = {rx, tx};
  disk_chart.y_label = "MiB/s";
  disk_chart.series = {read, write};
  tcp_chart.y_label = "connections";
  tcp_chart.series = {established, time_wait};
  for (const auto& [caption, chart] : {std::pair{"CPU", &cpu_chart}, std::pair{"Load", &load_chart},
                                       std::pair{"Memory", &memory_chart},
                                       std::pair{"Network", &network_chart}, std::pair{"Disk", &disk_chart},
                                       std::pair{"TCP connections", &tcp_chart}}) {
    if (has_values(*chart)) context.charts.figure(out, caption, *chart);
  }
  out += "</div></article>";
}

// Per cycle, each host's CPU next to the cycle's throughput: which host ran out first.
void host_cycle_table(std::string& out, const Context& context) {
  const stats::Results& results = context.results;
  put(out,
      "<div class=\"table-wrap\"><table class=\"data\" id=\"monitor-cycles\"><thead><tr><th>Cycle</th>"
      "<th>{}</th><th>Requests/s</th>",
      context.open ? "Rate" : "Users");
  for (const stats::MonitorHost& host : results.monitor.hosts) {
    put(out, "<th>{0} CPU mean %</th><th>{0} CPU peak %</th><th>{0} busiest core peak %</th><th>{0} load peak</th>"
             "<th>{0} memory used peak</th>",
        Esc{host.name});
  }
  out += "</tr></thead><tbody>";
  for (const stats::CycleResults& cycle : results.cycles) {
    uint64_t ok = 0;
    for (const auto& r : cycle.requests) ok += r.stats.ok;
    put(out, "<tr><td>{}</td><td>{}</td><td>{}</td>", cycle_number(cycle.index), load_value(cycle.cvus, asked_rate(cycle)),
        cycle.window_s > 0 ? format_rate(static_cast<double>(ok) / cycle.window_s) : std::string(kNoValue));
    for (const stats::MonitorHost& host : results.monitor.hosts) {
      const HostCycleFigures f = host_cycle_figures(host, cycle);
      const auto pct = [](std::optional<double> v) { return v ? fmt::format("{:.1f}", *v * 100.0) : std::string(kNoValue); };
      put(out, "<td{}>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
          f.gap_us > 0 ? " class=\"bad\" title=\"samples missing\"" : "", pct(f.cpu_mean), pct(f.cpu_peak),
          pct(f.busiest_core_peak), f.load1_peak ? fmt::format("{:.2f}", *f.load1_peak) : std::string(kNoValue),
          f.memory_used_peak ? format_bytes(*f.memory_used_peak) : std::string(kNoValue));
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>";
}

void node_row(std::string& out, const stats::NodeRow& node) {
  put(out,
      "<tr><td>{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td><td class=\"text\"><span class=\"tag tag-node-{}\">{}</span>"
      "</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td{}>{}</td><td class=\"text\">{}</td></tr>",
      node.node_num, Esc{node.host}, Esc{node.label}, stats::to_string(node.status), stats::to_string(node.status),
      format_ms(node.clock_offset_us), format_ms(node.start_skew_us), format_count(node.requests),
      node.errors ? " class=\"bad\"" : "", format_count(node.errors), format_count(node.tests),
      node.tests_failed ? " class=\"bad\"" : "", format_count(node.tests_failed), Esc{node.message});
}

void definition(std::string& out, std::string_view term, std::string_view text) {
  put(out, "<dt>{}</dt><dd>{}</dd>", term, text);
}

}  // namespace

void timeline_section(std::string& out, Context& context) {
  out += "<section id=\"timeline\" class=\"panel\"><h2>Timeline</h2><p class=\"lead\">Everything that completed in "
         "each second of the run, start-up and drain included. Shaded bands are the cycles' logging windows, "
         "the only time the tables count.</p>";
  const Timeline timeline = build_timeline(context.results.series);
  if (timeline.buckets.empty()) {
    out += "<p class=\"empty\">The results hold no per-second series.</p></section>\n";
    return;
  }
  out += "<div class=\"chart-stack\">";
  timeline_charts(out, context, timeline);
  out += "</div></section>\n";
}

void errors_section(std::string& out, const Context& context) {
  const std::vector<stats::ErrorGroup> groups = all_error_groups(context.results);
  out += "<section id=\"errors\" class=\"panel\"><h2>Failures and errors</h2><p class=\"lead\">A <em>failure</em> "
         "got an answer judged wrong (status, check, resource); an <em>error</em> could not complete (connect, "
         "timeout, reset, …). Grouped by kind, page, request and message over all cycles.</p>";
  if (groups.empty()) {
    out += "<p class=\"all-good\">No failure and no error in any cycle.</p>";
  } else {
    error_groups_table(out, groups);
  }
  status_codes_table(out, context);
  out += "</section>\n";
}

void nodes_section(std::string& out, const Context& context) {
  const stats::Results& results = context.results;
  if (!results.merged()) return;
  out += "<section id=\"nodes\" class=\"panel\"><h2>Nodes</h2><p class=\"lead\">Clock offset is the node's clock "
         "minus the master's (times above are on the master's clock); start skew is when the node began the first "
         "cycle minus the planned start, in milliseconds.</p><div class=\"table-wrap\"><table class=\"data sortable\" "
         "id=\"nodes-table\"><thead><tr><th>Node</th><th class=\"text\">Host</th><th class=\"text\">Label</th>"
         "<th class=\"text\">Status</th><th>Clock offset (ms)</th><th>Start skew (ms)</th><th>Requests</th>"
         "<th>Failed requests</th><th>Tests</th><th>Failed tests</th><th class=\"text\">Message</th></tr></thead><tbody>";
  for (const stats::NodeRow& node : results.nodes) node_row(out, node);
  out += "</tbody></table></div>";
  // How far apart the nodes' windows were in each cycle (docs/statistics.md).
  out += "<p id=\"window-skew\">Window skew between nodes (ms):";
  bool any_over = false;
  for (const stats::CycleResults& cycle : results.cycles) {
    const bool over = cycle.window_skew_us > stats::kWindowSkewWarningUs;
    any_over = any_over || over;
    put(out, " <span{}>C{} {}</span>", over ? " class=\"bad\"" : "", cycle_number(cycle.index), format_ms(cycle.window_skew_us));
  }
  out += "</p>";
  if (any_over) {
    put(out,
        "<div class=\"banner banner-warn\" role=\"alert\">Some cycles' node windows were more than {} ms apart: "
        "their merged figures mix different loads.</div>",
        stats::kWindowSkewWarningUs / 1000);
  }
  out += "</section>\n";
}

bool has_monitor_samples(const stats::Results& results) { return !results.monitor.empty(); }

void monitor_section(std::string& out, Context& context) {
  const stats::MonitorData& monitor = context.results.monitor;
  if (monitor.hosts.empty() && monitor.warnings.empty()) return;
  out += "<section id=\"monitor\" class=\"panel\"><h2>Server monitoring</h2><p class=\"lead\">The monitored "
         "hosts, on the same clock as the timeline; shaded bands are the cycles' logging windows. Per cycle, each "
         "host's CPU over the window next to the cycle's throughput.</p>";
  for (const std::string& warning : monitor.warnings) {
    put(out, "<div class=\"banner banner-warn\" role=\"alert\">{}</div>", Esc{warning});
  }
  if (!monitor.hosts.empty()) host_cycle_table(out, context);
  for (const stats::MonitorHost& host : monitor.hosts) host_charts(out, context, host);
  out += "</section>\n";
}

void definitions_section(std::string& out, const Context& context) {
  const std::string t = format_seconds(static_cast<double>(context.metrics.apdex_t_us) / 1e6);
  out += "<section id=\"definitions\" class=\"panel\"><h2>Definitions</h2><dl class=\"definitions\">";
  definition(out, "Cycle", "A step of the bench with a fixed number of concurrent virtual users (Users). Only what "
                           "completes inside the cycle's logging window is counted in the tables; start-up and drain "
                           "are shown on the timeline only.");
  if (context.open) {
    definition(out, "Rate, open model", "An open-model cycle starts iterations at the rate asked (Rate, iterations "
                                        "per second; from→to: a ramp over the window) from a pool of virtual users "
                                        "that grows as needed up to its bound, whatever the target's answers. A "
                                        "cycle is named by its rate; its users are the pool at its largest.");
    definition(out, "Due, started, late, missed", "Starts scheduled in the window; those begun; of those, the ones "
                                                  "that waited for a free virtual user; and the ones never begun, "
                                                  "the pool being full until the window closed. Achieved: started "
                                                  "per second of the window.");
    definition(out, "From intended start, service", "In an open-model run every time counts from when the schedule "
                                                    "meant the iteration to start: a late start's wait is in its "
                                                    "first page and request, so a stalled target shows in the "
                                                    "percentiles instead of being left out (coordinated omission). "
                                                    "Service time counts from when the item actually began. "
                                                    "docs/open-model.md.");
  }
  definition(out, "Test, page, request", "A test is one run of the scenario; a page is a main request with its "
                                         "redirects and resources; a request is one HTTP exchange.");
  definition(out, "Tests/s, Pages/s, Requests/s", "Successful items divided by the length of the logging window.");
  definition(out, "Total, Failures, Errors", "Items completed in the window; a failure got a wrong answer (status "
                                             "not accepted, failed check, failed resource), an error got none "
                                             "(connect, timeout, reset, protocol, TLS, script error).");
  definition(out, "Success", "Successful items divided by all items of the window.");
  definition(out, "Min, Mean, Max", "Of the response times of successful items, exact.");
  definition(out, "p50, p90, p95, p99, p99.9", "Percentiles of the response times of successful items: the value under "
                                        "which that share of them fall, read from the merged latency histogram "
                                        "(1 µs to 1 h, 3 significant digits, so within 0.1 %). Never averaged "
                                        "across cycles, workers or nodes.");
  put(out, "<dt>Apdex</dt><dd>(satisfied + tolerating / 2) / all, with T = {0} s: satisfied when the time is at "
           "most T, tolerating up to 4T, frustrated above, and every failure or error is frustrated. Ratings: "
           "<span class=\"tag apdex-E\">E</span> Excellent ≥ 0.94, <span class=\"tag apdex-G\">G</span> Good ≥ 0.85, "
           "<span class=\"tag apdex-F\">F</span> Fair ≥ 0.70, <span class=\"tag apdex-P\">P</span> Poor ≥ 0.50, "
           "<span class=\"tag apdex-U\">U</span> Unacceptable below.</dd>",
      t);
  definition(out, "Time distribution", "Each cycle's times of successful pages by percentile: x is the percentile "
                                       "on a log scale of 1 / (1 − p), so 90, 99, 99.9, 99.99 and 99.999 % are "
                                       "equally spaced; y the time in ms, on a log scale. Each point is read from "
                                       "the histogram like the table's percentiles.");
  definition(out, "Outside the window, abandoned", "Items that completed during a cycle's start-up or drain (not "
                                                   "counted in the tables), and items in flight, the request sent, "
                                                   "when a run was stopped: the server may have answered them.");
  definition(out, "Best cycle", "The cycle with the highest Pages/s × Apdex among those with a page Apdex of at "
                                "least 0.85; the first cycle when none reaches it.");
  definition(out, "Timeline", "Per wall-clock second: successful and failed requests, pages and tests that "
                              "completed in it, and percentiles of the successful requests' times of that second.");
  definition(out, "Clock offset, start skew", "Distributed runs: a node's clock minus the master's, and how late "
                                              "it started the first cycle compared with the plan.");
  out += "</dl></section>\n";
}

}  // namespace bm::report::html
