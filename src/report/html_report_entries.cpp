// Tests, pages and requests: an overview of the best cycle, the slowest requests, then
// one section per page holding its table and charts and, folded, one per request.

#include <algorithm>

#include "common/format.hpp"
#include "report/html_report_parts.hpp"

namespace bm::report::html {

using namespace bm::common;  // the shared number and time formatters

namespace {

constexpr std::size_t kSlowestShown = 5;

// The row of `history` for cycle `cycle`, if the entry ran in it.
const EntryRow* row_in_cycle(const EntryHistory& history, int cycle) {
  for (const EntryRow& row : history.rows) {
    if (row.cycle == cycle) return &row;
  }
  return nullptr;
}

void overview_row(std::string& out, std::string_view link_html, const EntryRow& row) {
  const LatencySummary& l = row.latency;
  put(out,
      "<tr><td class=\"text\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
      "<td>{}</td><td>{}</td>",
      link_html, format_rate(row.ok_per_s), format_count(row.total()), format_percent(row.success_rate),
      format_ms(l.mean_us), format_ms(l.p50_us), format_ms(l.p95_us), format_ms(l.p99_us), format_ms(l.max_us));
  apdex_cell(out, row.apdex_score());
  out += "</tr>";
}

constexpr std::string_view kOverviewHead =
    "<th>Mean <span class=\"th-unit\">ms</span></th><th>p50 <span class=\"th-unit\">ms</span></th>"
    "<th>p95 <span class=\"th-unit\">ms</span></th><th>p99 <span class=\"th-unit\">ms</span></th>"
    "<th>Max <span class=\"th-unit\">ms</span></th><th>Apdex</th></tr></thead><tbody>";

void pages_overview(std::string& out, const Context& context, const std::vector<EntryHistory>& pages) {
  if (context.summaries.empty() || pages.empty()) return;
  const CycleSummary& best = context.summaries[context.best.value_or(0)];
  put(out,
      "<h3>All pages in the best cycle <span class=\"muted\">{}</span></h3>"
      "<div class=\"table-wrap\"><table class=\"data sortable\" id=\"pages-overview\"><thead><tr><th>Page</th>"
      "<th>Pages/s</th><th>Total</th><th>Success</th>{}",
      Esc{cycle_label(best.index, best.cvus, best.rate)}, kOverviewHead);
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const EntryRow* row = row_in_cycle(pages[i], best.index);
    if (row == nullptr) continue;
    overview_row(out, fmt::format("<a href=\"#page-{}\">{}</a>", i + 1, Esc{pages[i].key}), *row);
  }
  out += "</tbody></table></div>";
}

// FunkLoad's "slowest requests", by p95 rather than by mean: the tail users notice.
void slowest_requests(std::string& out, const Context& context, const std::vector<EntryHistory>& requests) {
  if (context.summaries.empty() || requests.empty()) return;
  const CycleSummary& best = context.summaries[context.best.value_or(0)];
  std::vector<std::pair<const EntryRow*, std::size_t>> ranked;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const EntryRow* row = row_in_cycle(requests[i], best.index);
    if (row != nullptr && row->latency.count > 0) ranked.emplace_back(row, i);
  }
  const std::size_t shown = std::min(kSlowestShown, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(shown), ranked.end(),
                    [](const auto& a, const auto& b) { return a.first->latency.p95_us > b.first->latency.p95_us; });
  put(out,
      "<h3>The {} slowest requests by p95 in the best cycle</h3><div class=\"table-wrap\">"
      "<table class=\"data\" id=\"slowest\"><thead><tr><th>Request</th><th>Requests/s</th><th>Total</th>"
      "<th>Success</th>{}",
      shown, kOverviewHead);
  for (std::size_t i = 0; i < shown; ++i) {
    const EntryHistory& request = requests[ranked[i].second];
    overview_row(out,
                 fmt::format("<a href=\"#request-{}\">{} {}</a> <span class=\"muted\">{}</span>",
                             ranked[i].second + 1, Esc{request.method}, Esc{request.url}, Esc{request.page}),
                 *ranked[i].first);
  }
  out += "</tbody></table></div>";
}

void request_section(std::string& out, Context& context, const EntryHistory& request, std::size_t number) {
  put(out,
      "<details class=\"entry request\" id=\"request-{}\"><summary><span class=\"method\">{}</span> "
      "<span class=\"url\">{}</span>",
      number, Esc{request.method}, Esc{request.url});
  if (request.kind != stats::RequestKind::main) put(out, " <span class=\"tag\">{}</span>", stats::to_string(request.kind));
  // The engine often names a request by its method and URL; show the name only when it says more.
  if (request.key != fmt::format("{} {}", request.method, request.url)) {
    put(out, " <span class=\"muted key\">{}</span>", Esc{request.key});
  }
  out += "</summary>";
  entry_table(out, request.rows, "Requests/s");
  out += "<div class=\"chart-grid\">";
  entry_charts(out, context, request.rows, "Request");
  out += "</div></details>\n";
}

void page_section(std::string& out, Context& context, const EntryHistory& page, std::size_t number,
                  const std::vector<EntryHistory>& requests) {
  put(out, "<article class=\"entry page\" id=\"page-{}\"><h3><span class=\"num\">Page {}</span> {}</h3>", number, number,
      Esc{page.key});
  entry_table(out, page.rows, "Pages/s");
  out += "<div class=\"chart-grid\">";
  entry_charts(out, context, page.rows, "Page");
  std::vector<CycleLatency> curves;
  for (const stats::CycleResults& cycle : context.results.cycles) {
    if (const stats::Entry* entry = cycle.pages.find(page.page, page.key)) curves.push_back({&cycle, &entry->stats.latency});
  }
  context.charts.figure(out, "Page time distribution per cycle", distribution_chart(curves, kPageCurveSteps));
  out += "</div>";
  bool any_request = false;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].page != page.key) continue;
    if (!any_request) out += "<h4>Requests of this page</h4>";
    any_request = true;
    request_section(out, context, requests[i], i + 1);
  }
  out += "</article>\n";
}

// Requests whose page has no page entry (not expected from the engine; shown anyway).
void orphan_requests(std::string& out, Context& context, const std::vector<EntryHistory>& pages,
                     const std::vector<EntryHistory>& requests) {
  bool any = false;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const bool has_page = std::any_of(pages.begin(), pages.end(),
                                      [&](const EntryHistory& page) { return page.key == requests[i].page; });
    if (has_page) continue;
    if (!any) out += "<article class=\"entry page\"><h3>Requests outside any page</h3>";
    any = true;
    request_section(out, context, requests[i], i + 1);
  }
  if (any) out += "</article>\n";
}

}  // namespace

void tests_section(std::string& out, Context& context) {
  const std::vector<EntryHistory> tests = entry_histories(context.results, EntryTableKind::tests, context.metrics);
  if (tests.empty()) return;
  out += "<section id=\"tests\" class=\"panel\"><h2>Tests</h2><p class=\"lead\">A test is one run of the scenario "
         "function by a virtual user; its time is the whole scenario, sleeps included, in milliseconds. "
         "Pages/test and Requests/test: those done by the successful tests, per successful test.";
  if (context.open) out += " Open model: times from the intended start of the iteration, and its service time.";
  out += "</p>";
  for (std::size_t i = 0; i < tests.size(); ++i) {
    put(out, "<article class=\"entry test\" id=\"test-{}\"><h3>{}</h3>", i + 1, Esc{tests[i].key});
    entry_table(out, tests[i].rows, "Tests/s", {}, true);
    out += "</article>";
  }
  out += "</section>\n";
}

void pages_section(std::string& out, Context& context) {
  const std::vector<EntryHistory> pages = entry_histories(context.results, EntryTableKind::pages, context.metrics);
  const std::vector<EntryHistory> requests =
      entry_histories(context.results, EntryTableKind::requests, context.metrics);
  out += "<section id=\"pages\" class=\"panel\"><h2>Pages and requests</h2><p class=\"lead\">A page is the main "
         "request, its redirects and its resources; its time is theirs together. Each request of a page is "
         "folded below it.</p>";
  if (context.open) {
    out += "<p class=\"lead open-model\">Open model: page and request times count <strong>from the intended "
           "start</strong> of their iteration (the first page of a late start carries its wait for a free virtual "
           "user); the <strong>service</strong> columns count from when each one actually began.</p>";
  }
  pages_overview(out, context, pages);
  slowest_requests(out, context, requests);
  for (std::size_t i = 0; i < pages.size(); ++i) page_section(out, context, pages[i], i + 1, requests);
  orphan_requests(out, context, pages, requests);
  if (pages.empty() && requests.empty()) out += "<p class=\"empty\">No page was recorded.</p>";
  out += "</section>\n";
}

}  // namespace bm::report::html
