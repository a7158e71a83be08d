// The top of the run report: headline, run identity and configuration, the summary
// table per cycle with its charts; and the table and chart pieces the other sections use.

#include <algorithm>
#include <numeric>

#include "common/format.hpp"
#include "report/html_report_parts.hpp"
#include "report/monitor_metrics.hpp"
#include "report/test_data_text.hpp"

namespace bm::report::html {

using namespace bm::common;  // the shared number and time formatters

namespace {

std::optional<double> fraction(uint64_t part, uint64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

double ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

void card(std::string& out, std::string_view label, std::string_view value_html, std::string_view unit,
          std::string_view sub_html, std::string_view extra_class = {}) {
  put(out,
      "<div class=\"card {}\"><div class=\"card-label\">{}</div><div class=\"card-value\">{}"
      "<span class=\"unit\">{}</span></div><div class=\"card-sub\">{}</div></div>",
      extra_class, label, value_html, unit, sub_html);
}

std::string apdex_class(std::optional<double> score) {
  return score ? fmt::format("apdex-{}", stats::apdex_rating(*score)) : "apdex-none";
}

void headline_cards(std::string& out, const Context& context) {
  const auto& summaries = context.summaries;
  if (summaries.empty()) return;
  out += "<section class=\"cards\" aria-label=\"Key figures\">";
  // An interrupted or cut-short cycle (a window of a few milliseconds) says nothing about
  // the peak: only complete cycles feed it, unless there are none.
  const bool any_complete = std::any_of(summaries.begin(), summaries.end(), [](const auto& s) { return s.complete; });
  auto peak = summaries.end();
  for (auto it = summaries.begin(); it != summaries.end(); ++it) {
    if (any_complete && !it->complete) continue;
    if (peak == summaries.end() || it->requests.ok_per_s > peak->requests.ok_per_s) peak = it;
  }
  card(out, "Peak throughput", format_rate(peak->requests.ok_per_s), "req/s",
       fmt::format("successful requests, {}", Esc{cycle_label(peak->index, peak->cvus, peak->rate)}));
  // Capacity: the most users (open model: the highest rate) that met every threshold,
  // else the knee (verdict.hpp).
  const Verdict& verdict = context.verdict;
  const auto at = [](const CycleHealth& c) { return escape_html(c.label()); };
  // The load a card shows: users, or the asked rate (its mean for a ramp).
  const auto load = [](const CycleHealth& c) {
    return c.rate ? format_rate(c.rate->mean()) : format_count(static_cast<uint64_t>(c.cvus));
  };
  const std::string_view load_unit = context.open ? "iterations/s" : "users";
  if (verdict.capacity) {
    const CycleHealth& c = verdict.cycles[*verdict.capacity];
    card(out, "Capacity", load(c), load_unit,
         fmt::format("the {} that met every threshold, {}", context.open ? "highest rate" : "most users", at(c)),
         "card-good");
  } else if (verdict.has_thresholds) {
    card(out, "Capacity", "none", "", "no cycle met every threshold", "card-bad");
  } else if (verdict.knee) {
    const CycleHealth& c = verdict.cycles[*verdict.knee];
    card(out, "Knee", load(c), load_unit,
         fmt::format("{}; the next cycle: {}", at(c),
                     verdict.knee_cause == KneeCause::throughput ? "throughput stopped rising"
                     : verdict.knee_cause == KneeCause::latency  ? "latency jumped"
                                                                 : "errors jumped"));
  } else if (verdict.knee_searched && verdict.highest_load) {
    const CycleHealth& c = verdict.cycles[*verdict.highest_load];
    card(out, "Knee", verdict.knee_cause == KneeCause::errors ? "none" : fmt::format("> {}", load(c)),
         verdict.knee_cause == KneeCause::errors ? "" : load_unit,
         verdict.knee_cause == KneeCause::errors ? "pages failed from the first cycle"
                                                 : "throughput still rose at the last cycle",
         verdict.knee_cause == KneeCause::errors ? "card-bad" : "");
  }
  // Latency and Apdex: the worst complete cycle, with the range over the others.
  const auto considered = [&](const CycleSummary& s) { return s.complete || !any_complete; };
  const CycleSummary* slowest = nullptr;
  const CycleSummary* fastest = nullptr;
  const CycleSummary* lowest_apdex = nullptr;
  const CycleSummary* highest_apdex = nullptr;
  for (const CycleSummary& s : summaries) {
    if (!considered(s)) continue;
    if (s.pages.latency.count > 0) {
      if (!slowest || s.pages.latency.p95_us > slowest->pages.latency.p95_us) slowest = &s;
      if (!fastest || s.pages.latency.p95_us < fastest->pages.latency.p95_us) fastest = &s;
    }
    const std::optional<double> score = s.pages.apdex_score();
    if (score) {
      if (!lowest_apdex || *score < *lowest_apdex->pages.apdex_score()) lowest_apdex = &s;
      if (!highest_apdex || *score > *highest_apdex->pages.apdex_score()) highest_apdex = &s;
    }
  }
  const auto cycle_at = [](const CycleSummary& s) { return escape_html(cycle_label(s.index, s.cvus, s.rate)); };
  if (slowest) {
    card(out, "Page time p95", format_ms(slowest->pages.latency.p95_us), "ms",
         slowest == fastest ? fmt::format("{}", cycle_at(*slowest))
                            : fmt::format("highest, {}; lowest {} ms at {}", cycle_at(*slowest),
                                          format_ms(fastest->pages.latency.p95_us), cycle_at(*fastest)));
  }
  if (lowest_apdex) {
    const std::optional<double> apdex = lowest_apdex->pages.apdex_score();
    card(out, "Apdex", format_apdex(apdex), apdex_rating_name(stats::apdex_rating(*apdex)),
         fmt::format("T = {} s; lowest, {}{}", format_seconds(static_cast<double>(context.metrics.apdex_t_us) / 1e6),
                     cycle_at(*lowest_apdex),
                     lowest_apdex == highest_apdex
                         ? ""
                         : fmt::format("; highest {} at {}", format_apdex(highest_apdex->pages.apdex_score()),
                                       cycle_at(*highest_apdex))),
         apdex_class(apdex));
  }
  uint64_t pages_ok = 0, pages_all = 0, requests_all = 0, requests_bad = 0, tests_ok = 0, tests_all = 0;
  for (const CycleSummary& s : summaries) {
    tests_ok += s.tests.ok;
    tests_all += s.tests.total();
    pages_ok += s.pages.ok;
    pages_all += s.pages.total();
    requests_all += s.requests.total();
    requests_bad += s.requests.failures + s.requests.errors;
  }
  // A journey fails when any of its pages or checks does: tests first, then pages.
  const std::optional<double> test_success = fraction(tests_ok, tests_all);
  card(out, "Test success", format_percent(test_success), "",
       fmt::format("{} of {} tests (user journeys), all cycles", format_count(tests_ok), format_count(tests_all)),
       !test_success || *test_success >= 0.999 ? "card-good" : *test_success < 0.99 ? "card-bad" : "");
  const std::optional<double> success = fraction(pages_ok, pages_all);
  card(out, "Page success", format_percent(success), "",
       fmt::format("{} of {} pages, all cycles", format_count(pages_ok), format_count(pages_all)),
       !success || *success >= 0.999 ? "card-good" : *success < 0.99 ? "card-bad" : "");
  card(out, "Requests", format_count(requests_all), "",
       fmt::format("{} failed or errored, in the logging windows", format_count(requests_bad)),
       requests_bad * 100 > requests_all ? "card-bad" : "");
  out += "</section>\n";
}

void status_banners(std::string& out, const Context& context) {
  const stats::Results& results = context.results;
  if (results.run.status == stats::RunStatus::interrupted) {
    out += "<div class=\"banner banner-warn\" role=\"alert\"><strong>Interrupted run.</strong> The bench was "
           "stopped before every cycle ran; cycles marked <em>incomplete</em> cover only what finished.</div>\n";
  } else if (results.run.status == stats::RunStatus::running) {
    out += "<div class=\"banner banner-info\" role=\"status\"><strong>Run in progress.</strong> This report shows "
           "the cycles finished when it was built.</div>\n";
  }
  if (!results.run.stop_reason.empty()) {
    put(out,
        "<div class=\"banner banner-warn\" role=\"alert\"><strong>Stopped early.</strong> {} of {} cycles ran: {} "
        "(--abort-on-fail).</div>\n",
        results.cycles.size(), results.config.cycles.size(), Esc{results.run.stop_reason});
  }
  const auto bad_nodes = std::count_if(results.nodes.begin(), results.nodes.end(), [](const stats::NodeRow& node) {
    return node.status != stats::NodeStatus::complete;
  });
  if (bad_nodes > 0) {
    put(out,
        "<div class=\"banner banner-warn\" role=\"alert\"><strong>{} of {} nodes did not complete.</strong> "
        "Their finished cycles are counted; see <a href=\"#nodes\">Nodes</a>.</div>\n",
        bad_nodes, results.nodes.size());
  }
  // A generator short of CPU measured its own queueing: say so before any figure.
  const std::vector<std::string> notes = saturation_notes(
      results, [](const stats::CycleResults& cycle) { return fmt::format("Cycle C{}", cycle_number(cycle.index)); });
  if (!notes.empty()) {
    out += "<div class=\"banner banner-warn\" role=\"alert\" id=\"saturation\"><strong>The load generator was "
           "saturated.</strong><ul>";
    for (const std::string& note : notes) put(out, "<li>{}</li>", Esc{note});
    out += "</ul>Shaded red on the timeline.</div>\n";
  }
}

void definition(std::string& out, std::string_view term, std::string_view value_html) {
  put(out, "<dt>{}</dt><dd>{}</dd>", term, value_html);
}

std::string join_escaped(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out += ' ';
    append_escaped(out, word);
  }
  return out;
}

// "Shop (test_Shop in test_Shop.lua)", leaving out what the results do not say.
std::string test_identity(const stats::RunInfo& run) {
  std::string out = escape_html(run.test);
  if (run.function.empty() && run.test_file.empty()) return out;
  out += " <span class=\"muted\">(";
  append_escaped(out, run.function);
  if (!run.function.empty() && !run.test_file.empty()) out += " in ";
  append_escaped(out, run.test_file);
  return out + ")</span>";
}

std::string cycles_list(const std::vector<int>& cycles) {
  std::string out;
  for (int users : cycles) out += (out.empty() ? "" : ":") + std::to_string(users);
  return out.empty() ? kNoValue : out;
}

std::string codes_list(const std::vector<int>& codes) {
  std::string out;
  for (int code : codes) out += (out.empty() ? "" : ", ") + std::to_string(code);
  return out.empty() ? kNoValue : out;
}

void conf_dump(std::string& out, const stats::ConfMap& conf) {
  if (conf.empty()) return;
  out += "<details class=\"conf\"><summary>The .conf as read</summary><table class=\"data compact\"><thead><tr>"
         "<th>Section</th><th class=\"text\">Key</th><th class=\"text\">Value</th></tr></thead><tbody>";
  for (const auto& [section, keys] : conf) {
    for (const auto& [key, value] : keys) {
      put(out, "<tr><td>{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td></tr>", Esc{section}, Esc{key},
          Esc{value});
    }
  }
  out += "</tbody></table></details>";
}

void summary_charts(std::string& out, Context& context) {
  std::vector<EntryRow> pages;
  for (const CycleSummary& s : context.summaries) pages.push_back(s.pages);
  out += "<div class=\"chart-grid\">";

  // One unit per chart: every rate on one axis, so pages/s lies under requests/s only
  // when there are as many.
  ChartSpec throughput;
  concurrency_axis(context, pages, throughput);
  throughput.y_label = "per second";
  throughput.points = true;
  ChartSeries requests{"Requests/s", {}, {palette::kTeal}}, page_rate{"Pages/s", {}, {palette::kBlue, Dash::dashed}},
      tests{"Tests/s", {}, {palette::kViolet, Dash::dotted}};
  for (const CycleSummary& s : context.summaries) {
    requests.values.push_back(s.requests.ok_per_s);
    page_rate.values.push_back(s.pages.ok_per_s);
    tests.values.push_back(s.tests.ok_per_s);
  }
  throughput.series = {requests, page_rate, tests};
  context.charts.figure(out, fmt::format("Throughput against {}", load_axis_name(context)), throughput,
                        "Successful requests, pages and tests per second of each cycle's window.");

  entry_charts(out, context, pages, "Page");

  ChartSpec success;
  concurrency_axis(context, pages, success);
  success.y_label = "%";
  success.y_max = 100;
  success.points = true;
  ChartSeries page_success{"Page success %", {}, {palette::kGreen}},
      test_success{"Test success %", {}, {palette::kViolet, Dash::dashed}};
  const auto percent = [](const EntryRow& row) {
    return row.success_rate ? std::optional(*row.success_rate * 100.0) : std::nullopt;
  };
  for (const CycleSummary& s : context.summaries) {
    page_success.values.push_back(percent(s.pages));
    test_success.values.push_back(percent(s.tests));
  }
  success.series = {page_success, test_success};
  context.charts.figure(out, fmt::format("Success rate against {}", load_axis_name(context)), success,
                        "Successful pages and tests (user journeys) over all of them.");

  ChartSpec apdex;
  concurrency_axis(context, pages, apdex);
  apdex.y_label = "Apdex";
  apdex.y_max = 1;
  apdex.points = true;
  ChartSeries score{"Page Apdex", {}, {palette::kAmber}};
  for (const EntryRow& row : pages) score.values.push_back(row.apdex_score());
  apdex.series = {score};
  context.charts.figure(out, fmt::format("Apdex against {}", load_axis_name(context)), apdex,
                        fmt::format("T = {} s; 0.94 and up is Excellent, 0.85 Good, 0.70 Fair, 0.50 Poor.",
                                    format_seconds(static_cast<double>(context.metrics.apdex_t_us) / 1e6)));

  // Every page of a cycle together: what a user waited for a page, to the last 0.001 %.
  std::vector<stats::Histogram> merged;
  merged.reserve(context.results.cycles.size());
  for (const stats::CycleResults& cycle : context.results.cycles) merged.push_back(sum_entries(cycle.pages).latency);
  std::vector<CycleLatency> curves;
  for (std::size_t i = 0; i < merged.size(); ++i) curves.push_back({&context.results.cycles[i], &merged[i]});
  context.charts.figure(out, "Page time distribution per cycle", distribution_chart(curves, kSummaryCurveSteps),
                        context.open ? "Successful pages' times from the intended start by percentile, one line per "
                                       "cycle (log scales)."
                                     : "Successful pages' times by percentile, one line per cycle (log scales).");
  out += "</div>\n";
}

// Connections opened and their connect time, and the time to first byte, of every request
// of the cycle together ("–" in files from before they were recorded).
std::string connection_cells(const stats::CycleResults& cycle) {
  stats::Histogram connect, first_byte;
  for (const stats::Entry& entry : cycle.requests) {
    connect.merge(entry.stats.connect);
    first_byte.merge(entry.stats.first_byte);
  }
  const auto ms_at = [](const stats::Histogram& h, double p) {
    return h.empty() ? std::string(kNoValue) : format_ms(h.value_at_percentile(p));
  };
  return fmt::format("<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>", format_count(connect.count()),
                     ms_at(connect, 50), ms_at(connect, 95), ms_at(first_byte, 50), ms_at(first_byte, 95),
                     ms_at(first_byte, 99));
}

void traffic_table(std::string& out, const Context& context) {
  const stats::Results& results = context.results;
  if (results.cycles.empty()) return;
  out += "<h3>Traffic and items outside the windows</h3><p class=\"lead\">Bytes of every request of the window "
         "(headers included). Connections: opened for the window's requests, and the time to open them (TCP, "
         "plus TLS for HTTPS); first byte: from a request's last byte sent to its response's first. Outside the window: completed during start-up or drain, so not counted above. "
         "Abandoned: in flight (the request sent) when the run was stopped, so the server may have answered "
         "them.</p><div class=\"table-wrap\"><table class=\"data\" id=\"traffic-table\"><thead><tr>"
         "<th rowspan=\"2\">Cycle</th>";
  put(out, "<th rowspan=\"2\">{}</th>", context.open ? "Rate" : "Users");
  out += "<th rowspan=\"2\">Requests</th>"
         "<th rowspan=\"2\">Sent</th><th rowspan=\"2\">Received</th><th rowspan=\"2\">Received per second</th>"
         "<th colspan=\"3\" class=\"group\">Connections</th><th colspan=\"3\" class=\"group\">First byte</th>"
         "<th colspan=\"3\" class=\"group\">Outside the window</th><th colspan=\"2\" class=\"group\">Abandoned</th>"
         "</tr><tr><th>Opened</th><th>Connect p50 <span class=\"th-unit\">ms</span></th>"
         "<th>Connect p95 <span class=\"th-unit\">ms</span></th><th>p50 <span class=\"th-unit\">ms</span></th>"
         "<th>p95 <span class=\"th-unit\">ms</span></th><th>p99 <span class=\"th-unit\">ms</span></th>"
         "<th>Tests</th><th>Pages</th><th>Requests</th><th>Tests</th><th>Requests</th></tr></thead><tbody>";
  for (std::size_t i = 0; i < results.cycles.size() && i < context.summaries.size(); ++i) {
    const stats::CycleResults& cycle = results.cycles[i];
    const EntryRow& requests = context.summaries[i].requests;
    put(out, "<tr data-cycle=\"{}\">", cycle.index);
    cycle_cell(out, cycle.index, context.summaries[i].complete, false);
    const auto flagged = [](uint64_t n) { return n ? " class=\"warn\"" : ""; };
    put(out,
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td><td>{}</td><td>{}</td><td{}>{}</td>"
        "<td{}>{}</td></tr>",
        load_value(cycle.cvus, asked_rate(cycle)), format_count(requests.total()),
        format_bytes(static_cast<double>(requests.bytes_sent)),
        format_bytes(static_cast<double>(requests.bytes_received)),
        cycle.window_s > 0 ? format_byte_rate(static_cast<double>(requests.bytes_received) / cycle.window_s)
                           : std::string(kNoValue),
        connection_cells(cycle),
        format_count(cycle.outside_window.tests), format_count(cycle.outside_window.pages),
        format_count(cycle.outside_window.requests), flagged(cycle.abandoned.tests), format_count(cycle.abandoned.tests),
        flagged(cycle.abandoned.requests), format_count(cycle.abandoned.requests));
  }
  out += "</tbody></table></div>";
}

// A header cell with its unit: "p95 ms".
std::string th(std::string_view name, std::string_view unit) {
  return fmt::format("<th>{} <span class=\"th-unit\">{}</span></th>", name, unit);
}

// The latency columns' headers of every per-cycle table, in milliseconds.
std::string latency_heads() {
  std::string out;
  for (std::string_view name : {"Min", "Mean", "p50", "p90", "p95", "p99", "p99.9", "Max"}) out += th(name, "ms");
  return out;
}

// Open model: the service-time columns' headers, under their group.
std::string service_heads() {
  std::string out;
  for (std::string_view name : {"p50", "p95", "p99"}) out += th(name, "ms");
  return out;
}

// Open model: what the times mean, above the first table that shows them.
constexpr std::string_view kOpenModelLead =
    "<p class=\"lead open-model\">Open model: each cycle starts iterations at the rate asked. Times <strong>from "
    "intended start</strong> count from when the schedule meant the iteration to start, so a start that waited "
    "for a free virtual user carries its wait; <strong>service</strong> times count from when the item actually "
    "began (docs/open-model.md).</p>";
// The two header groups over the latency and service columns (the second header row
// holds latency_heads() then service_heads()).
constexpr std::string_view kOpenModelTimeGroups =
    "<th colspan=\"8\" class=\"group\">From intended start</th><th colspan=\"3\" class=\"group\">Service</th>";

// A share of the starts due, "12.50 %", or "–" when none was due.
std::string share_of_due(uint64_t part, uint64_t due) { return format_percent(fraction(part, due)); }

void arrivals_cells(std::string& out, const stats::Arrivals& a, double window_s) {
  put(out,
      "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td{}>{}</td><td{}>{}</td><td{}>{}</td><td>{}</td>"
      "<td>{}</td>",
      Esc{format_asked_rate({a.rate_from, a.rate_to})},
      window_s > 0 ? format_rate(static_cast<double>(a.started) / window_s) + "/s" : std::string(kNoValue),
      format_count(a.due), format_count(a.started), a.late ? " class=\"warn\"" : "", format_count(a.late),
      a.late ? " class=\"warn\"" : "", share_of_due(a.late, a.due), a.missed ? " class=\"bad\"" : "",
      format_count(a.missed), a.missed ? " class=\"bad\"" : "", share_of_due(a.missed, a.due),
      format_ms(a.max_wait_us), format_count(static_cast<uint64_t>(std::max(a.peak_users, 0))));
}

constexpr std::string_view kArrivalsHeads =
    "<th>Asked</th><th>Achieved</th><th>Due</th><th>Started</th><th>Late</th><th>Late %</th><th>Missed</th>"
    "<th>Missed %</th><th>Longest wait <span class=\"th-unit\">ms</span></th><th>Pool peak</th>";

// Open model: per cycle the starts asked for and what became of them; in merged files
// each node's part too (its share of the rate, its own pool).
void arrivals_tables(std::string& out, const Context& context) {
  if (!context.open) return;
  const stats::Results& results = context.results;
  out += "<h3>Arrivals</h3><p class=\"lead\">Asked: iterations to start per second (from→to: a ramp over the "
         "window); achieved: those started per second of the window. Due: starts scheduled in the window; "
         "late: begun after waiting for a free virtual user; missed: never begun, the pool being full until the "
         "window closed (shares of due). Pool peak: the virtual users in use at most.</p>"
         "<div class=\"table-wrap\"><table class=\"data\" id=\"arrivals-table\"><thead><tr><th>Cycle</th>";
  out += kArrivalsHeads;
  out += "</tr></thead><tbody>";
  for (std::size_t i = 0; i < results.cycles.size() && i < context.summaries.size(); ++i) {
    const stats::CycleResults& cycle = results.cycles[i];
    put(out, "<tr data-cycle=\"{}\">", cycle.index);
    cycle_cell(out, cycle.index, context.summaries[i].complete, false);
    if (cycle.arrivals) {
      arrivals_cells(out, *cycle.arrivals, cycle.window_s);
    } else {
      for (int c = 0; c < 10; ++c) put(out, "<td>{}</td>", kNoValue);
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>";
  const bool any_node = std::any_of(results.nodes.begin(), results.nodes.end(),
                                    [](const stats::NodeRow& n) { return !n.arrivals.empty(); });
  if (!results.merged() || !any_node) return;
  out += "<h3>Arrivals per node</h3><div class=\"table-wrap\"><table class=\"data\" id=\"arrivals-nodes\"><thead>"
         "<tr><th>Cycle</th><th>Node</th><th class=\"text\">Host</th>";
  out += kArrivalsHeads;
  out += "</tr></thead><tbody>";
  for (const stats::CycleResults& cycle : results.cycles) {
    for (const stats::NodeRow& node : results.nodes) {
      const auto at = static_cast<std::size_t>(cycle.index);
      if (cycle.index < 0 || at >= node.arrivals.size()) continue;
      put(out, "<tr data-cycle=\"{}\"><td>C{}</td><td>{}</td><td class=\"text\">{}</td>", cycle.index,
          cycle_number(cycle.index), node.node_num, Esc{node.host});
      arrivals_cells(out, node.arrivals[at], cycle.window_s);
      out += "</tr>";
    }
  }
  out += "</tbody></table></div>";
}

}  // namespace

void header_section(std::string& out, const Context& context) {
  const stats::RunInfo& run = context.results.run;
  out += "<section class=\"hero\">";
  put(out, "<h1>{}</h1>", Esc{run.title.empty() ? (run.test.empty() ? "Load test" : run.test) : run.title});
  if (!run.description.empty()) put(out, "<p class=\"description\">{}</p>", Esc{run.description});
  put(out, "<div class=\"chips\"><span class=\"chip chip-status-{0}\">{0}</span>", stats::to_string(run.status));
  if (!run.label.empty()) put(out, "<span class=\"chip chip-label\">{}</span>", Esc{run.label});
  if (!run.test.empty()) put(out, "<span class=\"chip\">test {}</span>", Esc{run.test});
  if (!run.url.empty()) put(out, "<span class=\"chip chip-url\">{}</span>", Esc{run.url});
  if (context.results.merged()) put(out, "<span class=\"chip\">{} nodes</span>", context.results.nodes.size());
  out += "</div>";
  const double duration_s =
      run.end_epoch_us > run.start_epoch_us ? static_cast<double>(run.end_epoch_us - run.start_epoch_us) / 1e6 : 0;
  put(out, "<p class=\"when\">{} → {}{}</p></section>\n", format_epoch_us(run.start_epoch_us),
      run.end_epoch_us ? format_epoch_us(run.end_epoch_us) : "still running",
      duration_s > 0 ? " · " + format_duration_s(duration_s) : "");
  status_banners(out, context);
  verdict_section(out, context);
  headline_cards(out, context);
}

void identity_section(std::string& out, const Context& context) {
  const stats::Results& results = context.results;
  const stats::RunInfo& run = results.run;
  const stats::BenchConfig& config = results.config;
  out += "<section id=\"run\" class=\"panel\"><h2>Run and configuration</h2><div class=\"two-col\">";
  out += "<dl class=\"facts\" id=\"identity\">";
  definition(out, "Title", escape_html(run.title));
  definition(out, "Description", escape_html(run.description));
  definition(out, "Label", escape_html(run.label));
  definition(out, "Test", test_identity(run));
  definition(out, "Conf file", escape_html(run.conf_file));
  definition(out, "Server URL", escape_html(run.url));
  definition(out, "Start", format_epoch_us(run.start_epoch_us));
  definition(out, "End", format_epoch_us(run.end_epoch_us));
  if (run.end_epoch_us > run.start_epoch_us) {
    definition(out, "Duration", format_duration_s(static_cast<double>(run.end_epoch_us - run.start_epoch_us) / 1e6));
  }
  definition(out, "Status", std::string(stats::to_string(run.status)));
  definition(out, "Host", escape_html(run.host));
  definition(out, "Version", fmt::format("{} {}", Esc{results.tool.name}, Esc{results.tool.version}));
  definition(out, "Command line", fmt::format("<code>{}</code>", join_escaped(run.command_line)));
  out += "</dl><dl class=\"facts\" id=\"configuration\">";
  if (context.open) {
    definition(out, "Rates (iterations/s)", config.rates.empty() ? std::string(kNoValue) : escape_html(config.rates));
    definition(out, "Arrivals", config.arrivals.empty() ? std::string(kNoValue) : escape_html(config.arrivals));
    definition(out, "Virtual users", fmt::format("a pool of up to {}{}", config.max_users,
                                                 results.merged() ? " per node" : ""));
  } else {
    definition(out, "Cycles (users)", cycles_list(config.cycles));
  }
  definition(out, "Cycle duration", format_seconds(config.duration_s) + " s");
  definition(out, context.open ? "Warm-up at the rate" : "Start-up delay", format_seconds(config.startup_delay_s) + " s");
  definition(out, "Sleep between tests", format_seconds(config.sleep_time_s) + " s");
  definition(out, "Sleep between pages", fmt::format("{} – {} s", format_seconds(config.sleep_time_min_s),
                                                     format_seconds(config.sleep_time_max_s)));
  definition(out, "Pause between cycles", format_seconds(config.cycle_time_s) + " s");
  definition(out, "Apdex T", format_seconds(static_cast<double>(context.metrics.apdex_t_us) / 1e6) + " s" +
                                 (context.metrics.apdex_t_us != context.metrics.run_apdex_t_us
                                      ? fmt::format(" <span class=\"muted\">(run recorded with {} s)</span>",
                                                    format_seconds(config.apdex_t_s))
                                      : ""));
  definition(out, "Success codes", codes_list(config.ok_codes));
  definition(out, "Page resources", config.fetch_resources ? "fetched" : "not fetched");
  definition(out, "Timeouts", fmt::format("connect {} s, read {} s", format_seconds(config.connect_timeout_s),
                                          format_seconds(config.read_timeout_s)));
  definition(out, "Max redirects", std::to_string(config.max_redirects));
  definition(out, "TLS certificates", config.tls_verify ? "checked" : "not checked");
  definition(out, "Nodes", results.merged() ? std::to_string(results.nodes.size()) : "1 (single node)");
  if (!results.feeders.empty()) {
    std::string feeders;
    for (const stats::FeederUse& feeder : results.feeders) {
      feeders += (feeders.empty() ? "" : "<br>") + escape_html(describe_feeder(feeder));
    }
    definition(out, "Test data", feeders);
  }
  definition(out, "Workers", run.workers > 0 ? std::to_string(run.workers) : kNoValue);
  out += "</dl></div>";
  conf_dump(out, results.conf);
  out += "</section>\n";
}

void summary_section(std::string& out, Context& context) {
  out += "<section id=\"summary\" class=\"panel\"><h2>Summary per cycle</h2>"
         "<p class=\"lead\">Rates are successful items per second of each cycle's logging window. Times are page "
         "times of successful pages, in milliseconds. ★ marks the best cycle.</p>";
  if (context.open) out += kOpenModelLead;
  out += "<div class=\"table-wrap\"><table class=\"data\" id=\"summary-table\"><thead><tr>";
  if (context.open) {
    out += "<th rowspan=\"2\">Cycle</th><th rowspan=\"2\">Rate</th><th rowspan=\"2\">Tests/s</th>"
           "<th rowspan=\"2\">Pages/s</th><th rowspan=\"2\">Requests/s</th><th rowspan=\"2\">Success</th>";
    out += kOpenModelTimeGroups;
    out += "<th rowspan=\"2\">Apdex</th></tr><tr>";
    out += latency_heads();
    out += service_heads();
  } else {
    out += "<th>Cycle</th><th>Users</th><th>Tests/s</th><th>Pages/s</th><th>Requests/s</th><th>Success</th>";
    out += latency_heads();
    out += "<th>Apdex</th>";
  }
  out += "</tr></thead><tbody>";
  for (std::size_t i = 0; i < context.summaries.size(); ++i) {
    const CycleSummary& s = context.summaries[i];
    const LatencySummary& l = s.pages.latency;
    put(out, "<tr data-cycle=\"{}\">", s.index);
    cycle_cell(out, s.index, s.complete, context.best == i);
    put(out,
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        load_value(s.cvus, s.rate), format_rate(s.tests.ok_per_s), format_rate(s.pages.ok_per_s),
        format_rate(s.requests.ok_per_s), format_percent(s.pages.success_rate));
    latency_cells(out, l);
    if (context.open) service_cells(out, s.pages.service);
    apdex_cell(out, s.pages.apdex_score());
    out += "</tr>";
  }
  out += "</tbody></table></div>";
  if (context.summaries.empty()) out += "<p class=\"empty\">No cycle has finished.</p>";
  arrivals_tables(out, context);
  summary_charts(out, context);
  traffic_table(out, context);
  out += "</section>\n";
}

// ---- Shared pieces -----------------------------------------------------------------

void concurrency_axis(const Context& context, const std::vector<EntryRow>& rows, ChartSpec& spec) {
  spec.x_label = context.open ? "Rate asked (iterations/s)" : "Concurrent users";
  spec.span_gaps = true;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (context.ascending) {
      // A ramp sits at its mean: the rate its starts due add up to.
      spec.x.push_back(rows[i].rate ? rows[i].rate->mean() : static_cast<double>(rows[i].cvus));
    } else {
      spec.x.push_back(static_cast<double>(i));
      spec.x_categories.push_back(rows[i].rate ? cycle_label(rows[i].cycle, rows[i].cvus, rows[i].rate)
                                               : fmt::format("C{} · {}", cycle_number(rows[i].cycle), rows[i].cvus));
    }
  }
}

std::string_view load_axis_name(const Context& context) { return context.open ? "the asked rate" : "concurrency"; }

std::string load_value(int cvus, const std::optional<AskedRate>& rate) {
  return rate ? escape_html(format_asked_rate(*rate)) : std::to_string(cvus);
}

void service_cells(std::string& out, const LatencySummary& service) {
  if (service.count == 0) {
    for (int i = 0; i < 3; ++i) put(out, "<td>{}</td>", kNoValue);
    return;
  }
  put(out, "<td>{}</td><td>{}</td><td>{}</td>", format_ms(service.p50_us), format_ms(service.p95_us),
      format_ms(service.p99_us));
}

void latency_cells(std::string& out, const LatencySummary& l) {
  if (l.count == 0) {
    for (int i = 0; i < 8; ++i) put(out, "<td>{}</td>", kNoValue);
    return;
  }
  put(out, "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
      format_ms(l.min_us), format_ms(l.mean_us), format_ms(l.p50_us), format_ms(l.p90_us), format_ms(l.p95_us),
      format_ms(l.p99_us), format_ms(l.p999_us), format_ms(l.max_us));
}

void entry_table(std::string& out, const std::vector<EntryRow>& rows, std::string_view rate_label,
                 std::string_view id, bool per_test) {
  out += "<div class=\"table-wrap\"><table class=\"data\"";
  if (!id.empty()) put(out, " id=\"{}\"", id);
  const bool open = !rows.empty() && rows.front().rate.has_value();
  if (open) {
    // Two header rows: the time columns grouped by what they count from.
    put(out,
        "><thead><tr><th rowspan=\"2\">Cycle</th><th rowspan=\"2\">Rate</th><th rowspan=\"2\">{}</th>"
        "<th rowspan=\"2\">Total</th><th rowspan=\"2\">Success</th><th rowspan=\"2\">Failures</th>"
        "<th rowspan=\"2\">Errors</th>",
        rate_label);
    if (per_test) out += "<th rowspan=\"2\">Pages/test</th><th rowspan=\"2\">Requests/test</th>";
    out += kOpenModelTimeGroups;
    out += "<th rowspan=\"2\">Apdex</th></tr><tr>";
    out += latency_heads();
    out += service_heads();
    out += "</tr></thead><tbody>";
  } else {
    put(out,
        "><thead><tr><th>Cycle</th><th>Users</th><th>{}</th><th>Total</th><th>Success</th><th>Failures</th>"
        "<th>Errors</th>",
        rate_label);
    if (per_test) out += "<th>Pages/test</th><th>Requests/test</th>";
    out += latency_heads();
    out += "<th>Apdex</th></tr></thead><tbody>";
  }
  for (const EntryRow& row : rows) {
    put(out, "<tr data-cycle=\"{}\">", row.cycle);
    cycle_cell(out, row.cycle, row.complete, false);
    put(out, "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td{}>{}</td>", load_value(row.cvus, row.rate),
        format_rate(row.ok_per_s), format_count(row.total()), format_percent(row.success_rate),
        row.failures ? " class=\"bad\"" : "", format_count(row.failures), row.errors ? " class=\"bad\"" : "",
        format_count(row.errors));
    if (per_test) {
      // Per successful test, as the text report's Pages/test and Req/test.
      const auto per = [&row](uint64_t n) {
        return row.ok ? format_per_item(static_cast<double>(n) / static_cast<double>(row.ok)) : std::string(kNoValue);
      };
      put(out, "<td>{}</td><td>{}</td>", per(row.pages), per(row.requests));
    }
    latency_cells(out, row.latency);
    if (open) service_cells(out, row.service);
    apdex_cell(out, row.apdex_score());
    out += "</tr>";
  }
  out += "</tbody></table></div>";
}

void entry_charts(std::string& out, Context& context, const std::vector<EntryRow>& rows, std::string_view noun) {
  ChartSpec axis;
  concurrency_axis(context, rows, axis);
  std::vector<std::optional<double>> ok, failed, p50, p90, p95, p99, p999, mean, service_p95, service_p99;
  for (const EntryRow& row : rows) {
    const bool any = row.latency.count > 0;
    auto value = [any](int64_t us) { return any ? std::optional(ms(us)) : std::nullopt; };
    ok.push_back(row.ok_per_s);
    // Failures and errors per second: the same unit as the successes, on the same axis.
    failed.push_back(row.window_s > 0 ? std::optional(static_cast<double>(row.failures + row.errors) / row.window_s)
                                      : std::nullopt);
    p50.push_back(value(row.latency.p50_us));
    p90.push_back(value(row.latency.p90_us));
    p95.push_back(value(row.latency.p95_us));
    p99.push_back(value(row.latency.p99_us));
    p999.push_back(value(row.latency.p999_us));
    mean.push_back(any ? std::optional(row.latency.mean_us / 1000.0) : std::nullopt);
    const bool served = row.service.count > 0;
    service_p95.push_back(served ? std::optional(ms(row.service.p95_us)) : std::nullopt);
    service_p99.push_back(served ? std::optional(ms(row.service.p99_us)) : std::nullopt);
  }
  nlohmann::json columns = {{"x", axis.x},           {"ok", chart_values(ok)},   {"failed", chart_values(failed)},
                            {"p50", chart_values(p50)}, {"p90", chart_values(p90)}, {"p95", chart_values(p95)},
                            {"p99", chart_values(p99)}, {"p999", chart_values(p999)}, {"mean", chart_values(mean)}};
  if (!axis.x_categories.empty()) columns["cats"] = axis.x_categories;
  if (context.open) {
    // The views' x axis is users unless told; the service times join the times view.
    columns["xlabel"] = axis.x_label;
    columns["svc95"] = chart_values(service_p95);
    columns["svc99"] = chart_values(service_p99);
  }
  const std::string id = context.charts.add_columns(std::move(columns));
  context.charts.view_figure(out, fmt::format("{} throughput", noun), "rate", id);
  context.charts.view_figure(out,
                             context.open ? fmt::format("{} response time percentiles, from intended start and service",
                                                        noun)
                                          : fmt::format("{} response time percentiles", noun),
                             "times", id);
}

ChartSpec distribution_chart(const std::vector<CycleLatency>& cycles, int per_decade) {
  ChartSpec spec;
  spec.x_label = "Percentile";
  spec.y_label = "ms";
  spec.y_log = true;
  spec.height = 280;
  spec.percentiles = distribution_percentiles(per_decade);
  // Positions on a log axis: 4 significant digits are plenty (the legend shows `pct`).
  for (double p : spec.percentiles) spec.x.push_back(chart_value(distribution_x(p)));
  for (const CycleLatency& cycle : cycles) {
    const std::optional<AskedRate> rate = asked_rate(*cycle.cycle);
    ChartSeries line{rate ? cycle_label(cycle.cycle->index, cycle.cycle->cvus, rate)
                          : fmt::format("C{} · {}", cycle_number(cycle.cycle->index), cycle.cycle->cvus),
                     {},
                     palette::nth(static_cast<std::size_t>(cycle.cycle->index))};
    const std::vector<int64_t> values = percentile_values(*cycle.latency, spec.percentiles);
    if (values.empty()) {
      line.values.assign(spec.percentiles.size(), std::nullopt);
    } else {
      // A log axis has no 0: a 0 µs time (only ever a clock's rounding) is drawn at 1 µs.
      for (int64_t us : values) line.values.push_back(std::max<double>(ms(us), 0.001));
    }
    spec.series.push_back(std::move(line));
  }
  return spec;
}

void apdex_cell(std::string& out, std::optional<double> score) {
  if (!score) {
    put(out, "<td class=\"apdex apdex-none\">{}</td>", kNoValue);
    return;
  }
  const char rating = stats::apdex_rating(*score);
  put(out, "<td class=\"apdex apdex-{0}\">{1} <span class=\"rating\">{0}</span></td>", rating, format_apdex(score));
}

void cycle_cell(std::string& out, int index, bool complete, bool best) {
  put(out, "<td>C{}{}{}</td>", cycle_number(index), best ? " <span class=\"best\" title=\"best cycle\">★</span>" : "",
      complete ? "" : " <span class=\"tag tag-warn\">incomplete</span>");
}

std::vector<ChartBand> cycle_bands(const stats::Results& results) {
  std::vector<ChartBand> bands;
  for (const stats::CycleResults& cycle : results.cycles) {
    if (cycle.window_start_epoch_us == 0) continue;
    const int64_t end = cycle.window_end_epoch_us ? cycle.window_end_epoch_us : cycle.end_epoch_us;
    bands.push_back({static_cast<double>(cycle.window_start_epoch_us) / 1e6, static_cast<double>(end) / 1e6,
                     asked_rate(cycle) ? cycle_label(cycle.index, cycle.cvus, asked_rate(cycle))
                                       : fmt::format("C{} · {}", cycle_number(cycle.index), cycle.cvus)});
  }
  for (const auto& [from, to] : saturated_ranges(results)) {
    bands.push_back({static_cast<double>(from), static_cast<double>(to), "saturated", true});
  }
  return bands;
}

}  // namespace bm::report::html
