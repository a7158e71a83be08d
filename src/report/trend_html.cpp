// The HTML form of the trend of many runs.

#include <functional>

#include "common/format.hpp"
#include "report/html_page.hpp"
#include "report/trend_report.hpp"

namespace bm::report {

using namespace bm::common;  // the shared number and time formatters

namespace {

// x = each run's start; one line per number of users, and per asked rate of open-model runs.
ChartSpec per_users_chart(const TrendReport& trend, std::string y_label,
                          const std::function<std::optional<double>(const CycleSummary&)>& value) {
  ChartSpec spec;
  spec.time_axis = true;
  spec.points = true;
  spec.span_gaps = true;  // runs without a cycle of these users
  spec.x_label = "Run start (UTC)";
  spec.y_label = std::move(y_label);
  for (const TrendRun& run : trend.runs) spec.x.push_back(static_cast<double>(run.start_epoch_us) / 1e6);
  for (std::size_t i = 0; i < trend.users.size(); ++i) {
    ChartSeries series{fmt::format("{} users", trend.users[i]), {}, palette::nth(i)};  // distinct up to 40 lines
    for (const TrendRun& run : trend.runs) {
      const CycleSummary* cycle = run.cycle_with_users(trend.users[i]);
      series.values.push_back(cycle ? value(*cycle) : std::nullopt);
    }
    spec.series.push_back(std::move(series));
  }
  for (std::size_t i = 0; i < trend.rates.size(); ++i) {
    ChartSeries series{format_asked_rate(trend.rates[i]), {}, palette::nth(trend.users.size() + i)};
    for (const TrendRun& run : trend.runs) {
      const CycleSummary* cycle = run.cycle_with_rate(trend.rates[i]);
      series.values.push_back(cycle ? value(*cycle) : std::nullopt);
    }
    spec.series.push_back(std::move(series));
  }
  return spec;
}

void trend_charts(std::string& out, ChartRegistry& charts, const TrendReport& trend) {
  out += "<section id=\"charts\" class=\"panel\"><h2>Over time</h2><p class=\"lead\">One point per run, one line per "
         "cycle's number of users (open-model runs: per rate asked).</p><div class=\"chart-grid\">";
  charts.figure(out, "Throughput (successful pages per second)",
                per_users_chart(trend, "pages/s", [](const CycleSummary& c) { return std::optional(c.pages.ok_per_s); }));
  charts.figure(out, "Page time p95", per_users_chart(trend, "ms", [](const CycleSummary& c) {
                  return c.pages.latency.count ? std::optional(static_cast<double>(c.pages.latency.p95_us) / 1000.0)
                                               : std::nullopt;
                }));
  ChartSpec apdex = per_users_chart(trend, "Apdex", [](const CycleSummary& c) { return c.pages.apdex_score(); });
  apdex.y_max = 1;
  charts.figure(out, "Apdex", apdex);
  ChartSpec success = per_users_chart(trend, "%", [](const CycleSummary& c) {
    return c.pages.success_rate ? std::optional(*c.pages.success_rate * 100.0) : std::nullopt;
  });
  success.y_max = 100;
  charts.figure(out, "Page success %", success);
  out += "</div></section>\n";
}

void apdex_cell(std::string& out, std::optional<double> score) {
  if (!score) {
    put(out, "<td>{}</td>", kNoValue);
    return;
  }
  const char rating = stats::apdex_rating(*score);
  put(out, "<td class=\"apdex apdex-{0}\">{1} <span class=\"rating\">{0}</span></td>", rating, format_apdex(score));
}

// What the runs' cycles are named by: users, rates asked (open model), or both.
std::string_view load_heading(const TrendReport& trend) {
  if (trend.rates.empty()) return "Users";
  return trend.users.empty() ? "Rate" : "Users or rate";
}

void runs_table(std::string& out, const TrendReport& trend) {
  put(out, "<section id=\"runs\" class=\"panel\"><h2>Runs</h2><div class=\"table-wrap\"><table class=\"data\" "
         "id=\"trend-table\"><thead><tr><th>#</th><th class=\"text\">Results</th><th class=\"text\">Label</th><th>Start</th>"
         "<th>{}</th>"
         "<th>Pages/s</th><th>Requests/s</th><th>Success</th><th>p50 <span class=\"th-unit\">ms</span></th>"
         "<th>p95 <span class=\"th-unit\">ms</span></th><th>p99 <span class=\"th-unit\">ms</span></th><th>Apdex</th>",
      load_heading(trend));
  for (const std::string& host : trend.hosts) put(out, "<th>{} CPU</th>", Esc{host});
  out += "</tr></thead><tbody>";
  for (std::size_t i = 0; i < trend.runs.size(); ++i) {
    const TrendRun& run = trend.runs[i];
    bool first = true;
    for (std::size_t c = 0; c < run.cycles.size(); ++c) {
      const CycleSummary& cycle = run.cycles[c];
      const LatencySummary& l = cycle.pages.latency;
      put(out, "<tr{} data-run=\"{}\" data-users=\"{}\">", first ? " class=\"group-start\"" : "", i, cycle.cvus);
      if (first) {
        put(out, "<td>{}</td><td class=\"text\">{}{}</td><td class=\"text\">{}</td><td>{}</td>", i + 1, Esc{run.name},
            run.status == stats::RunStatus::complete
                ? ""
                : fmt::format(" <span class=\"tag tag-warn\">{}</span>", stats::to_string(run.status)),
            Esc{run.label}, format_epoch_us(run.start_epoch_us));
      } else {
        out += "<td></td><td></td><td></td><td></td>";
      }
      put(out, "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
          cycle.rate ? escape_html(format_asked_rate(*cycle.rate)) : std::to_string(cycle.cvus),
          format_rate(cycle.pages.ok_per_s), format_rate(cycle.requests.ok_per_s),
          format_percent(cycle.pages.success_rate), l.count ? format_ms(l.p50_us) : kNoValue,
          l.count ? format_ms(l.p95_us) : kNoValue, l.count ? format_ms(l.p99_us) : kNoValue);
      apdex_cell(out, cycle.pages.apdex_score());
      if (c < run.host_cpu.size()) {
        for (const std::optional<double>& cpu : run.host_cpu[c]) put(out, "<td>{}</td>", format_percent(cpu));
      }
      out += "</tr>";
      first = false;
    }
  }
  out += "</tbody></table></div></section>\n";
}

}  // namespace

std::string render_trend_html(const TrendReport& trend) {
  ChartRegistry charts;
  std::string out;
  const std::string title = fmt::format("{} runs", trend.runs.size());
  begin_document(out, title, "Trend report", {{"charts", "Charts"}, {"runs", "Runs"}, {"definitions", "Definitions"}});
  put(out, "<section class=\"hero\"><h1>Trend of {} runs</h1>", trend.runs.size());
  if (!trend.runs.empty()) {
    put(out, "<p class=\"when\">{} → {}</p>", format_epoch_us(trend.runs.front().start_epoch_us),
        format_epoch_us(trend.runs.back().start_epoch_us));
  }
  out += "</section>\n";
  if (!trend.warnings.empty()) {
    out += "<div class=\"banner banner-warn\" role=\"alert\" id=\"trend-warnings\"><strong>Compare with care.</strong><ul>";
    for (const std::string& warning : trend.warnings) put(out, "<li>{}</li>", Esc{warning});
    out += "</ul></div>\n";
  }
  trend_charts(out, charts, trend);
  runs_table(out, trend);
  out += "<section id=\"definitions\" class=\"panel\"><h2>Definitions</h2><dl class=\"definitions\">"
         "<dt>Pages/s, Requests/s</dt><dd>Successful items per second of the cycle's logging window.</dd>"
         "<dt>Success</dt><dd>Successful pages over all pages of the cycle.</dd>"
         "<dt>p50, p95, p99</dt><dd>Page times of successful pages in milliseconds, from each run's exact "
         "histograms.</dd><dt>Apdex</dt><dd>(satisfied + tolerating / 2) / all pages with each run's T (or the one "
         "given with --apdex-t), failures frustrated.</dd></dl></section>\n";
  end_document(out, charts.data(),
               fmt::format("Trend built by benchmaster {}.", Esc{stats::tool_version()}));
  return out;
}

bool build_trend_html_report(const TrendReport& trend, const std::filesystem::path& out_dir, std::string* error,
                             std::filesystem::path* written) {
  const std::filesystem::path path = out_dir / "index.html";
  if (!write_file_atomic(render_trend_html(trend), path, error)) return false;
  if (written) *written = path;
  return true;
}

}  // namespace bm::report
