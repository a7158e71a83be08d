// The HTML form of the diff of two runs.

#include <map>

#include "report/diff_report.hpp"
#include "common/format.hpp"
#include "report/html_page.hpp"

namespace bm::report {

using namespace bm::common;  // the shared number and time formatters

namespace {

constexpr const char* kColorA = palette::kBlue;
constexpr const char* kColorB = palette::kAmber;

std::string change_class(Change change) {
  return change == Change::unknown ? "" : fmt::format(" class=\"{}\"", to_string(change));
}

void banners(std::string& out, const DiffReport& diff) {
  if (!diff.warnings.empty()) {
    out += "<div class=\"banner banner-bad\" role=\"alert\" id=\"diff-warnings\"><strong>These runs are not "
           "directly comparable.</strong><ul>";
    for (const std::string& warning : diff.warnings) put(out, "<li>{}</li>", Esc{warning});
    out += "</ul></div>\n";
  }
  if (!diff.notes.empty()) {
    out += "<div class=\"banner banner-info\" role=\"status\"><ul>";
    for (const std::string& note : diff.notes) put(out, "<li>{}</li>", Esc{note});
    out += "</ul></div>\n";
  }
}

void fact_row(std::string& out, std::string_view field, const std::string& a, const std::string& b) {
  const std::string_view differs = a == b ? "" : " differs";
  put(out, "<tr><td>{0}</td><td class=\"text{3}\">{1}</td><td class=\"text{3}\">{2}</td></tr>", field, Esc{a}, Esc{b},
      differs);
}

std::string duration(const stats::RunInfo& run) {
  return run.end_epoch_us > run.start_epoch_us
             ? format_duration_s(static_cast<double>(run.end_epoch_us - run.start_epoch_us) / 1e6)
             : kNoValue;
}

void runs_section(std::string& out, const DiffReport& diff) {
  const stats::Results& a = *diff.a.results;
  const stats::Results& b = *diff.b.results;
  out += "<section id=\"runs\" class=\"panel\"><h2>The two runs</h2><div class=\"table-wrap\"><table class=\"data\" "
         "id=\"runs-table\"><thead><tr><th></th><th class=\"text run-a\">A</th><th class=\"text run-b\">B</th></tr></thead>"
         "<tbody>";
  fact_row(out, "Results", diff.a.name, diff.b.name);
  fact_row(out, "Title", a.run.title, b.run.title);
  fact_row(out, "Label", a.run.label, b.run.label);
  fact_row(out, "Test", a.run.test, b.run.test);
  fact_row(out, "Server URL", a.run.url, b.run.url);
  fact_row(out, "Start", format_epoch_us(a.run.start_epoch_us), format_epoch_us(b.run.start_epoch_us));
  fact_row(out, "Duration", duration(a.run), duration(b.run));
  fact_row(out, "Status", std::string(stats::to_string(a.run.status)), std::string(stats::to_string(b.run.status)));
  if (open_model(a) || open_model(b)) {
    fact_row(out, "Rates (iterations/s)", a.config.rates, b.config.rates);
  } else {
    fact_row(out, "Cycles (users)", fmt::format("{}", fmt::join(a.config.cycles, ":")),
             fmt::format("{}", fmt::join(b.config.cycles, ":")));
  }
  fact_row(out, "Cycle duration", format_seconds(a.config.duration_s) + " s", format_seconds(b.config.duration_s) + " s");
  fact_row(out, "Nodes", std::to_string(std::max<std::size_t>(1, a.nodes.size())),
           std::to_string(std::max<std::size_t>(1, b.nodes.size())));
  fact_row(out, "Apdex T", format_seconds(a.config.apdex_t_s) + " s", format_seconds(b.config.apdex_t_s) + " s");
  fact_row(out, "Version", a.tool.version, b.tool.version);
  out += "</tbody></table></div></section>\n";
}

void diff_table(std::string& out, const std::vector<DiffRow>& rows, std::string_view id) {
  const bool open = !rows.empty() && rows.front().rate.has_value();
  put(out,
      "<div class=\"table-wrap\"><table class=\"data diff\"{}><thead><tr><th>{}</th><th>Metric</th>"
      "<th class=\"run-a\">A</th><th class=\"run-b\">B</th><th>Change</th><th>%</th></tr></thead><tbody>",
      id.empty() ? "" : fmt::format(" id=\"{}\"", id), open ? "Rate" : "Users");
  for (const DiffRow& row : rows) {
    bool first = true;
    for (const MetricDiff& m : row.metrics) {
      put(out, "<tr{} data-users=\"{}\" data-metric=\"{}\"><td>{}</td><td class=\"text\">{}{}</td><td>{}</td><td>{}</td>",
          first ? " class=\"group-start\"" : "", row.users, m.name, first ? escape_html(row.load()) : "", m.name,
          m.unit == "ms" ? " <span class=\"muted\">ms</span>" : "", format_metric_value(m, m.a),
          format_metric_value(m, m.b));
      put(out, "<td{0}>{1}</td><td{0}>{2}</td></tr>", change_class(m.change), format_metric_delta(m),
          format_signed_percent(m.relative));
      first = false;
    }
  }
  out += "</tbody></table></div>";
}

const MetricDiff* metric(const DiffRow& row, std::string_view name) {
  for (const MetricDiff& m : row.metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

// Users (open model: the rate asked) on the x axis: numeric when they rise, else one
// category per row.
void users_axis(const std::vector<DiffRow>& rows, ChartSpec& spec) {
  bool rising = true;
  for (std::size_t i = 1; i < rows.size(); ++i) rising = rising && rows[i].load_value() > rows[i - 1].load_value();
  spec.x_label = !rows.empty() && rows.front().rate ? "Rate asked (iterations/s)" : "Concurrent users";
  spec.points = true;
  spec.span_gaps = true;  // a cycle only the other run had
  for (std::size_t i = 0; i < rows.size(); ++i) {
    spec.x.push_back(rising ? rows[i].load_value() : static_cast<double>(i));
    if (!rising) spec.x_categories.push_back(rows[i].load());
  }
}

ChartSeries side(const std::vector<DiffRow>& rows, std::string_view name, bool b, std::string label, bool dashed) {
  ChartSeries series{std::move(label), {}, {b ? kColorB : kColorA, dashed ? Dash::dotted : b ? Dash::dashed : Dash::solid}};
  for (const DiffRow& row : rows) {
    const MetricDiff* m = metric(row, name);
    series.values.push_back(m ? (b ? m->b : m->a) : std::nullopt);
  }
  return series;
}

void summary_charts(std::string& out, ChartRegistry& charts, const std::vector<DiffRow>& rows) {
  out += "<div class=\"chart-grid\">";
  ChartSpec throughput;
  users_axis(rows, throughput);
  throughput.y_label = "pages per second";
  throughput.series = {side(rows, "Pages/s", false, "A pages/s", false), side(rows, "Pages/s", true, "B pages/s", false)};
  charts.figure(out, "Throughput: A against B", throughput);
  ChartSpec times;
  users_axis(rows, times);
  times.y_label = "ms";
  times.series = {side(rows, "p95", false, "A p95", false), side(rows, "p95", true, "B p95", false),
                  side(rows, "p50", false, "A p50", true), side(rows, "p50", true, "B p50", true)};
  charts.figure(out, "Page time percentiles: A against B", times);
  out += "</div>";
}

// Pages down, users across: the p95 change of each page in each cycle, coloured.
void page_matrix(std::string& out, const DiffReport& diff) {
  if (diff.pages.empty()) return;
  out += "<h3>p95 change of every page</h3><div class=\"table-wrap\"><table class=\"data compact\" id=\"page-matrix\">"
         "<thead><tr><th>Page</th>";
  for (const DiffRow& cycle : diff.cycles) {
    put(out, "<th>{}</th>", Esc{cycle.rate ? cycle.load() : fmt::format("{} users", cycle.users)});
  }
  out += "</tr></thead><tbody>";
  for (std::size_t i = 0; i < diff.pages.size(); ++i) {
    const DiffPage& page = diff.pages[i];
    put(out, "<tr><td class=\"text\"><a href=\"#diff-page-{}\">{}</a></td>", i + 1, Esc{page.key});
    for (const DiffRow& cycle : diff.cycles) {
      const DiffRow* row = nullptr;
      for (const DiffRow& r : page.rows) {
        if (r.users == cycle.users && r.cycle_a == cycle.cycle_a) row = &r;
      }
      const MetricDiff* m = row ? metric(*row, "p95") : nullptr;
      if (m == nullptr) {
        put(out, "<td>{}</td>", kNoValue);
      } else {
        put(out, "<td{}>{}</td>", change_class(m->change), format_signed_percent(m->relative));
      }
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>";
}

void page_sections(std::string& out, ChartRegistry& charts, const DiffReport& diff) {
  for (std::size_t i = 0; i < diff.pages.size(); ++i) {
    const DiffPage& page = diff.pages[i];
    put(out, "<details class=\"entry request\" id=\"diff-page-{}\"><summary><span class=\"num\">Page {}</span> {}{}</summary>",
        i + 1, i + 1, Esc{page.key},
        !page.in_a ? " <span class=\"tag tag-warn\">only in B</span>"
                   : !page.in_b ? " <span class=\"tag tag-warn\">only in A</span>" : "");
    diff_table(out, page.rows, {});
    ChartSpec times;
    users_axis(page.rows, times);
    times.y_label = "ms";
    times.height = 220;
    times.series = {side(page.rows, "p95", false, "A p95", false), side(page.rows, "p95", true, "B p95", false)};
    out += "<div class=\"chart-grid\">";
    charts.figure(out, "p95: A against B", times);
    out += "</div></details>\n";
  }
}

}  // namespace

std::string render_diff_html(const DiffReport& diff) {
  ChartRegistry charts;
  std::string out;
  out.reserve(1 << 19);
  const std::string title = fmt::format("{} vs {}", diff.a.name, diff.b.name);
  begin_document(out, title, "Diff report",
                 {{"runs", "Runs"}, {"summary", "Summary"}, {"pages", "Pages"}, {"definitions", "Definitions"}});
  put(out, "<section class=\"hero\"><h1>Diff: <span class=\"run-a\">A</span> {} → <span class=\"run-b\">B</span> {}</h1>"
      "<p class=\"when\">Change is B − A; % is relative to A; a change within {:g} % counts as the same. Green is "
      "better (more throughput, success and Apdex; less time), red is worse.</p></section>\n",
      Esc{diff.a.name}, Esc{diff.b.name}, diff.same_within * 100);
  banners(out, diff);
  runs_section(out, diff);
  out += "<section id=\"summary\" class=\"panel\"><h2>Summary per cycle</h2><p class=\"lead\">Every page together, "
         "cycles joined on the number of users (open-model runs: on the rate asked).</p>";
  diff_table(out, diff.cycles, "diff-summary");
  summary_charts(out, charts, diff.cycles);
  out += "</section>\n<section id=\"pages\" class=\"panel\"><h2>Pages</h2>";
  page_matrix(out, diff);
  page_sections(out, charts, diff);
  out += "</section>\n<section id=\"definitions\" class=\"panel\"><h2>Definitions</h2><dl class=\"definitions\">"
         "<dt>Pages/s, Tests/s, Requests/s</dt><dd>Successful items per second of the cycle's logging window.</dd>"
         "<dt>Success</dt><dd>Successful pages over all pages; its change is in percentage points (pt).</dd>"
         "<dt>Mean, p50 … p99</dt><dd>Page times of successful pages in milliseconds, percentiles read from the "
         "exact merged histograms of each run.</dd><dt>Apdex</dt><dd>(satisfied + tolerating / 2) / all pages, "
         "failures frustrated.</dd></dl></section>\n";
  end_document(out, charts.data(),
               fmt::format("Diff built by benchmaster {}.", Esc{stats::tool_version()}));
  return out;
}

bool build_diff_html_report(const DiffReport& diff, const std::filesystem::path& out_dir, std::string* error,
                            std::filesystem::path* written) {
  const std::filesystem::path path = out_dir / "index.html";
  if (!write_file_atomic(render_diff_html(diff), path, error)) return false;
  if (written) *written = path;
  return true;
}

}  // namespace bm::report
