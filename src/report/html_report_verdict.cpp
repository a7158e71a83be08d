// The top of the run report: the verdict in words (passed or failed, and what backs it)
// and the thresholds table, from report/verdict.*.

#include "common/format.hpp"
#include "report/html_report_parts.hpp"

namespace bm::report::html {

namespace {

void threshold_table(std::string& out, const Context& context) {
  const Verdict& v = context.verdict;
  const stats::Results& results = context.results;
  const bool any_run = std::any_of(v.thresholds.begin(), v.thresholds.end(), [](const auto& t) { return t.over_run; });
  out += "<div class=\"table-wrap\"><table id=\"thresholds\" class=\"thresholds\"><thead><tr><th>Threshold</th>"
         "<th>Measures</th>";
  for (const stats::CycleResults& cycle : results.cycles) {
    put(out, "<th class=\"num\">C{}<br><span class=\"muted\">{}</span></th>", common::cycle_number(cycle.index),
        Esc{cycle_load_text(cycle.cvus, asked_rate(cycle))});
  }
  if (any_run) out += "<th class=\"num\">Whole run</th>";
  out += "<th>Result</th></tr></thead><tbody>";
  for (std::size_t t = 0; t < v.thresholds.size(); ++t) {
    const conf::Threshold& threshold = v.thresholds[t];
    std::vector<std::string> cells(results.cycles.size() + (any_run ? 1 : 0), "<td class=\"num muted\">–</td>");
    bool passed = true;
    for (const ThresholdResult& r : v.results) {
      if (r.threshold != t) continue;
      passed = passed && (!r.judged || r.passed);
      const std::string shown = r.value ? threshold.format_value(*r.value) : r.note;
      const std::string_view state = !r.judged ? "skip" : r.passed ? "pass" : "fail";
      const std::string_view mark = !r.judged ? "not judged" : r.passed ? "✓" : "✗";
      std::string cell = fmt::format("<td class=\"num th-{}\" title=\"{}\">{} <span class=\"mark\">{}</span></td>",
                                     state, escape_html(describe_result(threshold, r)), escape_html(shown), mark);
      if (!r.cycle) {
        cells.back() = std::move(cell);
        continue;
      }
      for (std::size_t c = 0; c < results.cycles.size(); ++c) {
        if (results.cycles[c].index == *r.cycle) cells[c] = cell;
      }
    }
    put(out, "<tr><td><code>{}</code></td><td>{}</td>", Esc{threshold.text}, Esc{threshold.describe()});
    for (const std::string& cell : cells) out += cell;
    put(out, "<td class=\"th-{}\">{}</td></tr>", passed ? "pass" : "fail", passed ? "passed" : "FAILED");
  }
  out += "</tbody></table></div>";
}

}  // namespace

void verdict_section(std::string& out, const Context& context) {
  const Verdict& v = context.verdict;
  std::string_view word = v.passed ? "Passed" : "Failed";
  std::string_view rest = v.headline;
  if (const std::size_t colon = rest.find(": "); colon != std::string_view::npos) rest.remove_prefix(colon + 2);
  put(out,
      "<section id=\"verdict\" class=\"verdict verdict-{}\" aria-label=\"Verdict\"><p class=\"verdict-head\">"
      "<strong class=\"verdict-word\">{}</strong> <span class=\"verdict-why\">{}</span></p>",
      v.passed ? "pass" : "fail", word, Esc{rest});
  if (!context.threshold_error.empty()) {
    put(out, "<p class=\"banner banner-warn\">Thresholds not judged: {}</p>", Esc{context.threshold_error});
  }
  out += "<ul class=\"verdict-lines\">";
  for (const std::string& line : v.lines) put(out, "<li>{}</li>", Esc{line});
  out += "</ul>";
  if (!v.thresholds.empty()) threshold_table(out, context);
  out += "</section>\n";
}

}  // namespace bm::report::html
