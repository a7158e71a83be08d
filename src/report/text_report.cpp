#include "report/text_report.hpp"
#include "report/verdict.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "common/format.hpp"
#include "report/monitor_metrics.hpp"
#include "report/test_data_text.hpp"
#include "report/text_layout.hpp"
#include "report/html_metrics.hpp"

namespace bm::report {

using namespace bm::common;  // the shared number and time formatters

namespace {

using text::Align;
using text::Column;
using text::clean;
using text::display_width;
using text::TextTable;
using text::truncate;
using text::wrap;
using text::write_wrapped;
using stats::CycleResults;
using stats::Entry;
using stats::EntryStats;
using stats::EntryTable;
using stats::ErrorGroup;
using stats::Results;

constexpr int kMinWidth = 40;
constexpr std::string_view kNoValue = "-";
constexpr std::size_t kLabelWidth = 12;  // "Description " in the header block
constexpr std::string_view kOpenModelTimes =
    "Open model: times count from each iteration's intended start, so a start that waited for a free virtual "
    "user carries its wait (no coordinated omission); Svc P50/P95/P99: the service time, from when the item "
    "actually began (docs/open-model.md).";

// ---- Numbers ----------------------------------------------------------------------

std::string rate(uint64_t count, double window_s) {
  return window_s > 0 ? format_rate(static_cast<double>(count) / window_s) : std::string(kNoValue);
}

// "12.5/s", as the asked rates are written.
std::string per_second(uint64_t count, double window_s) {
  return window_s > 0 ? rate(count, window_s) + "/s" : std::string(kNoValue);
}

std::string percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return std::string(kNoValue);
  return fmt::format("{:.2f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

// The score as every report prints it (report::format_apdex), and its rating's letter.
std::string format_apdex(const stats::Apdex& apdex) {
  const std::optional<double> score = apdex.score();
  if (!score) return std::string(kNoValue);
  return fmt::format("{} {}", report::format_apdex(score), stats::apdex_rating(*score));
}


// A conf value in seconds with its unit: "0.5 s" (common::format_seconds without it).
std::string seconds_text(double seconds) { return format_seconds(seconds) + " s"; }


std::string format_duration(int64_t us) {
  const int64_t total = (us + 500'000) / 1'000'000;
  if (total < 60) return fmt::format("{} s", total);
  if (total < 3600) return fmt::format("{} min {:02} s", total / 60, total % 60);
  return fmt::format("{} h {:02} min {:02} s", total / 3600, total / 60 % 60, total % 60);
}

std::string join_ints(const std::vector<int>& values, std::string_view separator) {
  return fmt::format("{}", fmt::join(values, separator));
}

// ---- Numbers of one row -----------------------------------------------------------

std::string cycle_label(const CycleResults& cycle) {
  return fmt::format("{}{}", cycle_number(cycle.index), cycle.status == stats::CycleStatus::incomplete ? "*" : "");
}

// The column that says what load a cycle ran: its users (CUs), or, open model, the
// arrival rate it asked for.
Column load_column(bool open) { return {open ? "Rate" : "CUs", Align::right, true}; }

std::string load_cell(const CycleResults& cycle) {
  if (const std::optional<AskedRate> asked = asked_rate(cycle)) return format_asked_rate(*asked);
  return std::to_string(cycle.cvus);
}

// Open model: service-time percentiles next to the times from the intended start.
std::vector<Column> service_columns() { return {{"Svc P50"}, {"Svc P95"}, {"Svc P99"}}; }

void append_service(std::vector<std::string>& row, const stats::Histogram& service) {
  for (double p : {50.0, 95.0, 99.0}) {
    row.push_back(service.empty() ? std::string(kNoValue) : format_latency(service.value_at_percentile(p)));
  }
}

std::vector<Column> latency_columns() {
  return {{"Min"}, {"Mean"}, {"P50"}, {"P90"}, {"P95"}, {"P99"}, {"P99.9"}, {"Max"}};
}

void append_latency(std::vector<std::string>& row, const stats::Histogram& latency) {
  if (latency.empty()) {
    row.insert(row.end(), 8, std::string(kNoValue));
    return;
  }
  row.push_back(format_latency(latency.min()));
  row.push_back(format_latency(std::llround(latency.mean())));
  for (double p : {50.0, 90.0, 95.0, 99.0, 99.9}) row.push_back(format_latency(latency.value_at_percentile(p)));
  row.push_back(format_latency(latency.max()));
}

EntryStats sum_of(const EntryTable& table) {
  EntryStats sum;
  for (const Entry& entry : table) sum.merge(entry.stats);
  return sum;
}

// An entry followed through the cycles: (page, key) in first-seen order.
struct EntryId {
  std::string page;
  std::string key;
  auto operator<=>(const EntryId&) const = default;
};

std::vector<EntryId> entry_ids(const Results& results, EntryTable CycleResults::*table) {
  std::vector<EntryId> ids;
  for (const CycleResults& cycle : results.cycles) {
    for (const Entry& entry : cycle.*table) {
      EntryId id{entry.page, entry.key};
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
    }
  }
  return ids;
}

// ---- The report -------------------------------------------------------------------

class TextReport {
 public:
  TextReport(const Results& results, std::ostream& out, const TextOptions& options)
      : results_(results),
        out_(out),
        width_(static_cast<std::size_t>(std::max(options.width, kMinWidth))),
        metrics_(metric_context(results, ReportOptions{options.apdex_t_s, std::nullopt})),
        open_(open_model(results)) {
    std::string error;
    const std::optional<std::vector<conf::Threshold>> thresholds =
        run_thresholds(results, options.thresholds ? &*options.thresholds : nullptr, &error);
    if (!thresholds) threshold_error_ = error;
    verdict_ = judge_run(results, metrics_, thresholds.value_or(std::vector<conf::Threshold>{}));
  }

  void render() {
    header();
    cycles();
    thresholds();
    tests();
    pages_and_requests();
    traffic();
    outside_window();
    errors();
    nodes();
    window_skew();
    generators();
    monitor();
    notes();
  }

 private:
  void title(std::string_view text, char underline) {
    const std::string clean_text = clean(text);
    out_ << '\n';
    write_wrapped(out_, clean_text, width_, 0);
    out_ << std::string(std::min(display_width(clean_text), width_), underline) << "\n\n";
  }

  void field(std::string_view label, std::string_view value) {
    if (value.empty()) return;
    const std::vector<std::string> lines = wrap(clean(value), width_ - kLabelWidth);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      out_ << fmt::format("{:<{}}", i == 0 ? label : "", kLabelWidth) << lines[i] << '\n';
    }
  }

  void header() {
    const stats::RunInfo& run = results_.run;
    const stats::BenchConfig& config = results_.config;
    const std::string name = run.title.empty() ? run.test : run.title;
    const std::string heading = "benchmaster report: " + clean(name);
    write_wrapped(out_, heading, width_, 0);
    out_ << std::string(std::min(display_width(heading), width_), '=') << "\n\n";
    verdict();

    field("Test", fmt::format("{} ({} in {}{})", run.test, run.function, run.test_file,
                              run.conf_file.empty() ? "" : ", conf " + run.conf_file));
    field("Description", run.description);
    field("Target", run.url);
    for (const stats::FeederUse& feeder : results_.feeders) field("Test data", describe_feeder(feeder));
    field("Label", run.label);
    if (results_.merged()) {
      std::size_t complete = 0;
      for (const stats::NodeRow& node : results_.nodes) complete += node.status == stats::NodeStatus::complete;
      if (complete == results_.nodes.size()) {
        field("Nodes", fmt::format("{} nodes merged; {} workers in all", results_.nodes.size(), run.workers));
      } else {
        field("Nodes", fmt::format("{} of {} nodes complete, {} failed, missing or partial (see Nodes); {} workers in all",
                                   complete, results_.nodes.size(), results_.nodes.size() - complete, run.workers));
      }
    } else {
      field("Host", fmt::format("{}, node {}, {} workers, pid {}", run.host, run.node_num, run.workers, run.pid));
    }
    std::string span = "started " + format_epoch_us(run.start_epoch_us);
    if (run.end_epoch_us != 0) {
      span += fmt::format(", ended {} ({})", format_epoch_us(run.end_epoch_us),
                          format_duration(run.end_epoch_us - run.start_epoch_us));
    }
    std::string status(to_string(run.status));
    if (results_.merged()) {
      std::size_t complete = 0;
      for (const stats::NodeRow& node : results_.nodes) complete += node.status == stats::NodeStatus::complete;
      if (complete != results_.nodes.size()) status = fmt::format("{} on {} of {} nodes", status, complete, results_.nodes.size());
    }
    field("Run", fmt::format("{}, {}", status, span));
    field("Command", fmt::format("{}", fmt::join(run.command_line, " ")));
    if (open_) {
      field("Cycles", fmt::format("{} iterations/s ({} arrivals, a pool of up to {} virtual users{}), {} window "
                                  "each; warm-up at the rate {}; pause after a cycle {}",
                                  config.rates.empty() ? "-" : config.rates,
                                  config.arrivals.empty() ? "constant" : config.arrivals, config.max_users,
                                  results_.merged() ? " per node" : "", seconds_text(config.duration_s),
                                  seconds_text(config.startup_delay_s), seconds_text(config.cycle_time_s)));
    } else {
      field("Cycles", fmt::format("{} virtual users, {} window each; start-up delay {}; pause after a cycle {}",
                                  join_ints(config.cycles, ":"), seconds_text(config.duration_s),
                                  seconds_text(config.startup_delay_s), seconds_text(config.cycle_time_s)));
    }
    field("Think time", fmt::format("{} between tests; {} to {} after each page", seconds_text(config.sleep_time_s),
                                    seconds_text(config.sleep_time_min_s), seconds_text(config.sleep_time_max_s)));
    if (metrics_.apdex_t_us == metrics_.run_apdex_t_us) {
      field("Apdex T", seconds_text(config.apdex_t_s));
    } else {
      field("Apdex T", fmt::format("{} (--apdex-t; the run used {}, Apdex recounted from the histograms)",
                                   seconds_text(static_cast<double>(metrics_.apdex_t_us) / 1e6),
                                   seconds_text(config.apdex_t_s)));
    }
    field("Requests", fmt::format("OK codes {}; page resources {}; timeouts: connect {}, read {}; up to {} redirects; "
                                  "TLS certificates {}",
                                  join_ints(config.ok_codes, " "), config.fetch_resources ? "fetched" : "not fetched",
                                  seconds_text(config.connect_timeout_s), seconds_text(config.read_timeout_s),
                                  config.max_redirects, config.tls_verify ? "checked" : "not checked"));
    field("Tool", fmt::format("{} {}", results_.tool.name, results_.tool.version));
  }

  // The verdict first: whether the run held, and what backs the word.
  void verdict() {
    if (!threshold_error_.empty()) write_wrapped(out_, "warning: thresholds not judged: " + clean(threshold_error_), width_, 0);
    write_wrapped(out_, verdict_.headline, width_, 0);
    for (const std::string& line : verdict_.lines) {
      const std::vector<std::string> lines = wrap(line, width_ - 2);
      for (std::size_t i = 0; i < lines.size(); ++i) out_ << (i == 0 ? "- " : "  ") << lines[i] << '\n';
    }
    out_ << '\n';
  }

  // One row per threshold, a column per cycle (and one for the whole run).
  void thresholds() {
    if (verdict_.thresholds.empty()) return;
    title("Thresholds", '=');
    std::vector<Column> columns = {{"Threshold", Align::left, true}};
    for (const CycleResults& cycle : results_.cycles) columns.push_back({cycle_label(cycle)});
    const bool any_run = std::any_of(verdict_.thresholds.begin(), verdict_.thresholds.end(),
                                     [](const conf::Threshold& t) { return t.over_run; });
    if (any_run) columns.push_back({"Run"});
    columns.push_back({"Result"});
    TextTable table(std::move(columns));
    for (std::size_t t = 0; t < verdict_.thresholds.size(); ++t) {
      const conf::Threshold& threshold = verdict_.thresholds[t];
      std::vector<std::string> row{threshold.text};
      std::vector<std::string> cells(results_.cycles.size() + (any_run ? 1 : 0), "");
      bool passed = true;
      for (const ThresholdResult& r : verdict_.results) {
        if (r.threshold != t) continue;
        std::string cell = r.value ? threshold.format_value(*r.value) : std::string(kNoValue);
        cell += !r.judged ? " (not judged)" : r.passed ? " ok" : " FAIL";
        passed = passed && (!r.judged || r.passed);
        if (!r.cycle) {
          cells.back() = std::move(cell);
          continue;
        }
        for (std::size_t c = 0; c < results_.cycles.size(); ++c) {
          if (results_.cycles[c].index == *r.cycle) cells[c] = cell;
        }
      }
      for (std::string& cell : cells) row.push_back(cell.empty() ? std::string(kNoValue) : std::move(cell));
      row.push_back(passed ? "passed" : "FAILED");
      table.add_row(std::move(row));
    }
    write_wrapped(out_,
                  "Each threshold judged per cycle on the merged figures (Run: once over every cycle together); "
                  "incomplete cycles are not judged. docs/verdicts.md has the grammar.",
                  width_, 0);
    out_ << '\n';
    table.render(out_, width_, 0);
    for (const ThresholdResult& r : verdict_.results) {
      if (r.judged && !r.passed && !r.value) write_wrapped(out_, "- " + describe_result(verdict_, r), width_, 2);
    }
  }

  void cycles() {
    title("Cycles", '=');
    if (results_.cycles.empty()) {
      out_ << "No cycle has started.\n";
      return;
    }
    std::vector<Column> columns = {{"Cycle", Align::right, true}, load_column(open_),
                                   {"Tests/s"}, {"Pages/s"}, {"Req/s"}, {"Success"}};
    for (Column& c : latency_columns()) columns.push_back(std::move(c));
    columns.push_back({"Apdex"});
    if (open_) {
      for (Column& c : service_columns()) columns.push_back(std::move(c));
    }
    TextTable table(std::move(columns));
    for (const CycleResults& cycle : results_.cycles) {
      const EntryStats pages = sum_of(cycle.pages);
      std::vector<std::string> row = {cycle_label(cycle),
                                      load_cell(cycle),
                                      rate(sum_of(cycle.tests).ok, cycle.window_s),
                                      rate(pages.ok, cycle.window_s),
                                      rate(sum_of(cycle.requests).ok, cycle.window_s),
                                      percent(pages.ok, pages.total())};
      append_latency(row, pages.latency);
      row.push_back(format_apdex(apdex_of(pages)));
      if (open_) append_service(row, pages.service);
      table.add_row(std::move(row));
    }
    write_wrapped(out_,
                  "Successful tests, pages and requests per second of the logging window; success, latency and "
                  "Apdex of all pages together.",
                  width_, 0);
    if (open_) write_wrapped(out_, kOpenModelTimes, width_, 0);
    out_ << '\n';
    table.render(out_, width_, 0);
    arrivals();
  }

  // Open model: per cycle, the starts the schedule asked for and what became of them;
  // merged files, each node's part too.
  void arrivals() {
    if (!open_) return;
    title("Arrivals", '=');
    write_wrapped(out_,
                  "Asked: iterations to start per second (a ramp from→to over the window); achieved: those started "
                  "per second of the window. Due: starts scheduled in the window; late: begun after waiting for a "
                  "free virtual user; missed: never begun, the pool being full until the window closed (shares of "
                  "due). Pool peak: the virtual users in use at most.",
                  width_, 0);
    out_ << '\n';
    TextTable table({{"Cycle", Align::right, true}, {"Asked"}, {"Achieved"}, {"Due"}, {"Started"}, {"Late"},
                     {"Late %"}, {"Missed"}, {"Missed %"}, {"Longest wait"}, {"Pool peak"}});
    for (const CycleResults& cycle : results_.cycles) {
      if (!cycle.arrivals) {
        table.add_row({cycle_label(cycle)});
        continue;
      }
      const stats::Arrivals& a = *cycle.arrivals;
      table.add_row({cycle_label(cycle), format_asked_rate({a.rate_from, a.rate_to}),
                     per_second(a.started, cycle.window_s), std::to_string(a.due), std::to_string(a.started),
                     std::to_string(a.late), percent(a.late, a.due), std::to_string(a.missed),
                     percent(a.missed, a.due), format_latency(a.max_wait_us), std::to_string(a.peak_users)});
    }
    table.render(out_, width_, 0);
    if (!results_.merged()) return;
    const bool any_node = std::any_of(results_.nodes.begin(), results_.nodes.end(),
                                      [](const stats::NodeRow& n) { return !n.arrivals.empty(); });
    if (!any_node) return;
    out_ << '\n';
    write_wrapped(out_, "Each node's part of the schedule (its share of the rate asked), over the merged window:",
                  width_, 0);
    out_ << '\n';
    TextTable nodes({{"Cycle", Align::right, true}, {"Node", Align::right, true}, {"Host", Align::left}, {"Asked"},
                     {"Achieved"}, {"Due"}, {"Started"}, {"Late"}, {"Missed"}, {"Missed %"}, {"Longest wait"},
                     {"Pool peak"}});
    for (const CycleResults& cycle : results_.cycles) {
      for (const stats::NodeRow& node : results_.nodes) {
        const auto at = static_cast<std::size_t>(cycle.index);
        if (cycle.index < 0 || at >= node.arrivals.size()) continue;
        const stats::Arrivals& a = node.arrivals[at];
        nodes.add_row({cycle_label(cycle), std::to_string(node.node_num), node.host,
                       format_asked_rate({a.rate_from, a.rate_to}), per_second(a.started, cycle.window_s),
                       std::to_string(a.due), std::to_string(a.started), std::to_string(a.late),
                       std::to_string(a.missed), percent(a.missed, a.due), format_latency(a.max_wait_us),
                       std::to_string(a.peak_users)});
      }
    }
    nodes.render(out_, width_, 0);
  }

  // One table per entry with a row per cycle the entry appears in.
  template <class Columns, class Row>
  void entry_table(const EntryId& id, EntryTable CycleResults::*table_of, std::size_t indent, Columns columns, Row row) {
    TextTable table(columns());
    for (const CycleResults& cycle : results_.cycles) {
      if (const Entry* entry = (cycle.*table_of).find(id.page, id.key)) table.add_row(row(cycle, *entry));
    }
    table.render(out_, width_, indent);
  }

  std::vector<Column> entry_columns(std::string rate_header) const {
    std::vector<Column> columns = {{"Cycle", Align::right, true}, load_column(open_),
                                   {std::move(rate_header)}, {"Total"}, {"Success"}};
    for (Column& c : latency_columns()) columns.push_back(std::move(c));
    columns.push_back({"Apdex"});
    if (open_) {
      for (Column& c : service_columns()) columns.push_back(std::move(c));
    }
    return columns;
  }

  stats::Apdex apdex_of(const EntryStats& stats) const {
    return apdex_for(stats, metrics_.run_apdex_t_us, metrics_.apdex_t_us);
  }

  std::vector<std::string> entry_row(const CycleResults& cycle, const EntryStats& stats) const {
    std::vector<std::string> row = {cycle_label(cycle), load_cell(cycle), rate(stats.ok, cycle.window_s),
                                    std::to_string(stats.total()), percent(stats.ok, stats.total())};
    append_latency(row, stats.latency);
    row.push_back(format_apdex(apdex_of(stats)));
    if (open_) append_service(row, stats.service);
    return row;
  }

  void tests() {
    const std::vector<EntryId> ids = entry_ids(results_, &CycleResults::tests);
    if (ids.empty()) return;
    title("Tests", '=');
    if (open_) write_wrapped(out_, kOpenModelTimes, width_, 0);
    for (const EntryId& id : ids) {
      title("Test " + id.key, '-');
      entry_table(
          id, &CycleResults::tests, 0,
          [this] {
            std::vector<Column> columns{{"Cycle", Align::right, true}, load_column(open_),
                                        {"Tests/s"}, {"Total"}, {"Success"}, {"Failures"}, {"Errors"},
                                        {"Pages/test"}, {"Req/test"}, {"Mean"}, {"P50"}, {"P95"}, {"Max"}};
            if (open_) {
              for (Column& c : service_columns()) columns.push_back(std::move(c));
            }
            return columns;
          },
          [this](const CycleResults& cycle, const Entry& entry) {
            const EntryStats& s = entry.stats;
            const auto per_test = [&](uint64_t n) {
              return s.ok ? fmt::format("{:.1f}", static_cast<double>(n) / static_cast<double>(s.ok))
                          : std::string(kNoValue);
            };
            const auto latency = [&](int64_t us) { return s.latency.empty() ? std::string(kNoValue) : format_latency(us); };
            std::vector<std::string> row{cycle_label(cycle), load_cell(cycle), rate(s.ok, cycle.window_s),
                                         std::to_string(s.total()), percent(s.ok, s.total()),
                                         std::to_string(s.failures), std::to_string(s.errors), per_test(s.pages),
                                         per_test(s.requests), latency(std::llround(s.latency.mean())),
                                         latency(s.latency.value_at_percentile(50)),
                                         latency(s.latency.value_at_percentile(95)), latency(s.latency.max())};
            if (open_) append_service(row, s.service);
            return row;
          });
    }
  }

  void pages_and_requests() {
    const std::vector<EntryId> pages = entry_ids(results_, &CycleResults::pages);
    const std::vector<EntryId> requests = entry_ids(results_, &CycleResults::requests);
    if (pages.empty() && requests.empty()) return;
    title("Pages and their requests", '=');
    write_wrapped(out_,
                  "A page is one call of the scenario with its redirects and resources; its latency runs from its "
                  "first request's start to its last response's end.",
                  width_, 0);
    if (open_) write_wrapped(out_, kOpenModelTimes, width_, 0);
    const auto page_columns = [this] { return entry_columns("Pages/s"); };
    const auto request_columns = [this] { return entry_columns("Req/s"); };
    const auto row = [this](const CycleResults& cycle, const Entry& entry) { return entry_row(cycle, entry.stats); };

    std::vector<std::string> page_keys;
    for (const EntryId& page : pages) {
      page_keys.push_back(page.key);
      title("Page " + page.key, '-');
      entry_table(page, &CycleResults::pages, 0, page_columns, row);
      for (const EntryId& request : requests) {
        if (request.page == page.key) request_block(request, request_columns, row);
      }
    }
    bool orphans_titled = false;
    for (const EntryId& request : requests) {
      if (std::find(page_keys.begin(), page_keys.end(), request.page) != page_keys.end()) continue;
      if (!orphans_titled) title("Requests outside any page", '-');
      orphans_titled = true;
      request_block(request, request_columns, row);
    }
  }

  template <class Columns, class Row>
  void request_block(const EntryId& id, Columns columns, Row row) {
    const Entry* first = nullptr;
    for (const CycleResults& cycle : results_.cycles) {
      if ((first = cycle.requests.find(id.page, id.key))) break;
    }
    std::string heading = "Request " + id.key;
    if (first && !first->method.empty()) {
      heading += fmt::format(": {} {} ({})", first->method, first->url, to_string(first->kind));
    }
    out_ << '\n';
    write_wrapped(out_, clean(heading), width_, 2);
    entry_table(id, &CycleResults::requests, 2, columns, row);
  }

  void traffic() {
    if (results_.cycles.empty()) return;
    title("Traffic", '=');
    TextTable table({{"Cycle", Align::right, true}, load_column(open_), {"Requests"}, {"Sent"},
                     {"Received"}, {"Received/s"}});
    for (const CycleResults& cycle : results_.cycles) {
      const EntryStats requests = sum_of(cycle.requests);
      table.add_row({cycle_label(cycle), load_cell(cycle), std::to_string(requests.total()),
                     format_bytes(static_cast<double>(requests.bytes_sent)), format_bytes(static_cast<double>(requests.bytes_received)),
                     cycle.window_s > 0 ? format_bytes(static_cast<uint64_t>(
                                              std::llround(static_cast<double>(requests.bytes_received) / cycle.window_s)))
                                        : std::string(kNoValue)});
    }
    table.render(out_, width_, 0);
    out_ << '\n';
    for (const CycleResults& cycle : results_.cycles) {
      const std::vector<stats::StatusCounts::Item> codes = sum_of(cycle.requests).status_codes.sorted();
      if (codes.empty()) continue;
      std::vector<std::string> parts;
      for (const auto& item : codes) parts.push_back(fmt::format("{} × {}", item.code, item.count));
      write_wrapped(out_, fmt::format("Cycle {} status codes: {}", cycle_label(cycle), fmt::join(parts, ", ")), width_, 0);
    }
    connections();
  }

  // Connect time (requests that opened a connection) and time to first byte (every
  // response), all requests together; files from before they were recorded have neither.
  void connections() {
    const bool any = std::any_of(results_.cycles.begin(), results_.cycles.end(), [](const CycleResults& c) {
      return std::any_of(c.requests.begin(), c.requests.end(),
                         [](const Entry& e) { return e.stats.first_byte.count() + e.stats.connect.count() != 0; });
    });
    if (!any) return;
    out_ << '\n';
    write_wrapped(out_,
                  "Connections opened and their connect time (TCP, plus the TLS handshake for HTTPS), and the time "
                  "from a request's last byte sent to its response's first byte, all requests together.",
                  width_, 0);
    out_ << '\n';
    TextTable table({{"Cycle", Align::right, true}, load_column(open_), {"Opened"}, {"Connect p50"},
                     {"Connect p95"}, {"Connect max"}, {"1st byte p50"}, {"1st byte p95"}, {"1st byte p99"},
                     {"1st byte max"}});
    const auto at = [](const stats::Histogram& h, double p) {
      return h.empty() ? std::string(kNoValue) : format_latency(h.value_at_percentile(p));
    };
    for (const CycleResults& cycle : results_.cycles) {
      const EntryStats requests = sum_of(cycle.requests);
      table.add_row({cycle_label(cycle), load_cell(cycle), std::to_string(requests.connect.count()),
                     at(requests.connect, 50), at(requests.connect, 95), at(requests.connect, 100),
                     at(requests.first_byte, 50), at(requests.first_byte, 95), at(requests.first_byte, 99),
                     at(requests.first_byte, 100)});
    }
    table.render(out_, width_, 0);
  }

  void outside_window() {
    const bool any = std::any_of(results_.cycles.begin(), results_.cycles.end(), [](const CycleResults& c) {
      return c.outside_window.tests + c.outside_window.pages + c.outside_window.requests + c.abandoned.requests != 0;
    });
    if (!any) return;
    title("Outside the logging window", '=');
    write_wrapped(out_,
                  "Completed during start-up or drain, so not counted above; abandoned: in flight (the request sent) "
                  "when the run was stopped, so the server may have answered them.",
                  width_, 0);
    out_ << '\n';
    TextTable table({{"Cycle", Align::right, true}, load_column(open_), {"Tests"}, {"Pages"}, {"Requests"},
                     {"Abandoned tests"}, {"Abandoned requests"}});
    for (const CycleResults& cycle : results_.cycles) {
      table.add_row({cycle_label(cycle), load_cell(cycle), std::to_string(cycle.outside_window.tests),
                     std::to_string(cycle.outside_window.pages), std::to_string(cycle.outside_window.requests),
                     std::to_string(cycle.abandoned.tests), std::to_string(cycle.abandoned.requests)});
    }
    table.render(out_, width_, 0);
  }

  // Merged runs: how far apart the nodes' windows were, cycle by cycle.
  void window_skew() {
    if (!results_.merged() || results_.cycles.empty()) return;
    std::vector<std::string> parts;
    std::vector<std::string> warnings;
    for (const CycleResults& cycle : results_.cycles) {
      parts.push_back(fmt::format("cycle {}: {}", cycle_label(cycle), format_latency(cycle.window_skew_us)));
      if (cycle.window_skew_us > stats::kWindowSkewWarningUs) {
        warnings.push_back(fmt::format(
            "warning: cycle {}: the nodes' windows were {} apart (more than {}): its merged figures mix loads",
            cycle_label(cycle), format_latency(cycle.window_skew_us), format_latency(stats::kWindowSkewWarningUs)));
      }
    }
    out_ << '\n';
    write_wrapped(out_, fmt::format("Window skew between nodes: {}", fmt::join(parts, ", ")), width_, 0);
    for (const std::string& warning : warnings) write_wrapped(out_, warning, width_, 0);
  }

  void errors() {
    title("Failures and errors", '=');
    bool any = false;
    for (const CycleResults& cycle : results_.cycles) {
      if (cycle.errors.empty()) continue;
      any = true;
      title(fmt::format("Cycle {} ({}): {} occurrences", cycle_label(cycle),
                        asked_rate(cycle) ? load_cell(cycle) : fmt::format("{} CUs", cycle.cvus), cycle.errors.total()),
            '-');
      cycle_errors(cycle);
    }
    if (!any) out_ << "None.\n";
  }

  void cycle_errors(const CycleResults& cycle) {
    // Kinds by their count, then groups by theirs.
    std::map<std::pair<stats::ErrorKind, stats::Verdict>, std::vector<const ErrorGroup*>> by_kind;
    for (const ErrorGroup& group : cycle.errors) by_kind[{group.kind, group.verdict}].push_back(&group);
    using KindGroups = std::pair<std::pair<stats::ErrorKind, stats::Verdict>, std::vector<const ErrorGroup*>>;
    std::vector<KindGroups> kinds(by_kind.begin(), by_kind.end());
    const auto count_of = [](const std::vector<const ErrorGroup*>& groups) {
      uint64_t n = 0;
      for (const ErrorGroup* g : groups) n += g->count;
      return n;
    };
    std::stable_sort(kinds.begin(), kinds.end(),
                     [&](const KindGroups& a, const KindGroups& b) { return count_of(a.second) > count_of(b.second); });
    for (auto& [kind, groups] : kinds) {
      out_ << fmt::format("{} ({}): {}\n", to_string(kind.first), to_string(kind.second), count_of(groups));
      std::stable_sort(groups.begin(), groups.end(),
                       [](const ErrorGroup* a, const ErrorGroup* b) { return a->count > b->count; });
      for (const ErrorGroup* group : groups) error_group(*group);
    }
  }

  void error_group(const ErrorGroup& group) {
    std::string where;
    if (!group.page.empty()) where += "page " + group.page;
    if (!group.request.empty()) where += (where.empty() ? "" : ", ") + std::string("request ") + group.request;
    if (group.status != 0) where += (where.empty() ? "" : ", ") + fmt::format("HTTP {}", group.status);
    const std::string count = std::to_string(group.count);
    const std::size_t indent = 2 + std::max<std::size_t>(count.size(), 5) + 1;
    const std::vector<std::string> lines = wrap(clean(group.message), width_ - indent);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      out_ << "  " << fmt::format("{:>{}} ", i == 0 ? count : "", indent - 3) << lines[i] << '\n';
    }
    if (!where.empty()) write_wrapped(out_, clean(where), width_, indent);
    write_wrapped(out_, fmt::format("first {}, last {}", format_clock_us(group.first_epoch_us), format_clock_us(group.last_epoch_us)),
                  width_, indent);
    for (const stats::ErrorExample& example : group.examples) {
      const std::string text = example.location.empty() ? example.message : example.location + ": " + example.message;
      const std::vector<std::string> example_lines = wrap(clean(text), width_ - indent - 2);
      for (std::size_t i = 0; i < example_lines.size(); ++i) {
        out_ << std::string(indent, ' ') << (i == 0 ? "- " : "  ") << example_lines[i] << '\n';
      }
    }
  }

  void nodes() {
    if (!results_.merged()) return;
    title("Nodes", '=');
    TextTable table({{"Node", Align::right, true}, {"Host", Align::left}, {"Label", Align::left},
                     {"Status", Align::left}, {"Clock offset"}, {"Start skew"}, {"Requests"}, {"Failed"},
                     {"Tests"}, {"Failed"}});
    for (const stats::NodeRow& node : results_.nodes) {
      table.add_row({std::to_string(node.node_num), node.host, node.label, std::string(to_string(node.status)),
                     format_signed_latency(node.clock_offset_us), format_signed_latency(node.start_skew_us),
                     std::to_string(node.requests), std::to_string(node.errors), std::to_string(node.tests),
                     std::to_string(node.tests_failed)});
    }
    table.render(out_, width_, 0);
    for (const stats::NodeRow& node : results_.nodes) {
      if (!node.message.empty()) write_wrapped(out_, fmt::format("node {}: {}", node.node_num, clean(node.message)), width_, 0);
    }
  }

  // The load generators' own health: peaks per cycle and the cycles they were saturated.
  void generators() {
    if (results_.generators.empty()) return;
    title("Load generators", '=');
    TextTable table({{"Cycle", Align::right, true}, {"Node", Align::right, true}, {"Host", Align::left},
                     {"CPU peak"}, {"CPU wait peak"}, {"Loop lag peak"}, {"Saturated"}});
    for (const CycleResults& cycle : results_.cycles) {
      for (const stats::GeneratorHealth& g : results_.generators) {
        const stats::SaturationSummary s =
            stats::saturation_between(g, cycle.window_start_epoch_us, cycle.window_end_epoch_us);
        table.add_row({cycle_label(cycle), std::to_string(g.node_num), g.host,
                       fmt::format("{:.2f} of {}", s.process_cpu_peak, std::min(g.workers, g.cores)),
                       fmt::format("{:.0f}%", s.cpu_wait_peak * 100), format_latency(std::llround(s.lag_ms_peak * 1000)),
                       fmt::format("{} s of {}", s.saturated_s, s.seconds)});
      }
    }
    table.render(out_, width_, 0);
    const std::vector<std::string> notes =
        saturation_notes(results_, [](const CycleResults& c) { return "cycle " + cycle_label(c); });
    if (notes.empty()) {
      write_wrapped(out_, "No load generator was saturated in a logging window.", width_, 0);
    }
    for (const std::string& note : notes) write_wrapped(out_, "warning: " + note, width_, 0);
    write_wrapped(out_, fmt::format("A second is saturated when the process used {:.0f} % or more of the cores its "
                                    "workers can run on, or its threads waited for a CPU {:.0f} % or more of the time "
                                    "(per worker), or a worker's event loop ran {:.0f} ms or more late.",
                                    stats::kSaturatedCpuShare * 100, stats::kSaturatedCpuWait * 100,
                                    stats::kSaturatedLagMs),
                  width_, 0);
  }

  // Per cycle and monitored host: CPU over the window next to the cycle's throughput.
  void monitor() {
    const stats::MonitorData& monitor = results_.monitor;
    if (monitor.empty()) return;
    title("Monitored hosts", '=');
    for (const stats::MonitorHost& host : monitor.hosts) {
      write_wrapped(out_,
                    fmt::format("{}: {}{}{} every {}, {} samples{}", host.name, host.description,
                                host.description.empty() ? "" : ", ", host.source + " " + host.address,
                                seconds_text(host.interval_s), host.points.size(),
                                host.gaps.empty() ? "" : fmt::format(", {} gap(s)", host.gaps.size())),
                    width_, 0);
    }
    if (!monitor.hosts.empty()) {
      std::vector<Column> columns{{"Cycle", Align::right, true}, {open_ ? "Rate" : "Users", Align::right, true},
                                  {"Req/s"}};
      for (const stats::MonitorHost& host : monitor.hosts) {
        columns.push_back({host.name + " CPU"});
        columns.push_back({host.name + " peak"});
        columns.push_back({host.name + " load"});
      }
      TextTable table(columns);
      for (const CycleResults& cycle : results_.cycles) {
        uint64_t ok = 0;
        for (const Entry& r : cycle.requests) ok += r.stats.ok;
        std::vector<std::string> row{cycle_label(cycle), load_cell(cycle), rate(ok, cycle.window_s)};
        for (const stats::MonitorHost& host : monitor.hosts) {
          const HostCycleFigures f = host_cycle_figures(host, cycle);
          const auto pct = [](std::optional<double> v) {
            return v ? fmt::format("{:.1f}%", *v * 100.0) : std::string(kNoValue);
          };
          row.push_back(pct(f.cpu_mean) + (f.gap_us > 0 ? " (gap)" : ""));
          row.push_back(pct(f.cpu_peak));
          row.push_back(f.load1_peak ? fmt::format("{:.2f}", *f.load1_peak) : std::string(kNoValue));
        }
        table.add_row(std::move(row));
      }
      out_ << '\n';
      table.render(out_, width_, 0);
      write_wrapped(out_, "CPU: mean busy share over the cycle's window (user, system, steal); peak: the highest sample; "
                          "load: the highest 1-minute load average.", width_, 0);
    }
    for (const std::string& warning : monitor.warnings) write_wrapped(out_, "warning: " + clean(warning), width_, 0);
  }

  void notes() {
    title("Notes", '=');
    for (std::string_view note : {
             "Only what completed inside a cycle's logging window counts; rates divide by the window's length.",
             "Latency columns cover successful items. Percentiles come from histograms with 3 significant digits "
             "(within 0.1 %), merged exactly across workers and nodes.",
             "Apdex: satisfied within T, tolerating within 4T, failures and errors frustrated; "
             "E >= 0.94, G >= 0.85, F >= 0.70, P >= 0.50, else U.",
             "A cycle marked * is incomplete: it was interrupted and its numbers cover what finished."}) {
      const std::vector<std::string> lines = wrap(note, width_ - 2);
      for (std::size_t i = 0; i < lines.size(); ++i) out_ << (i == 0 ? "- " : "  ") << lines[i] << '\n';
    }
    if (!open_) return;
    for (std::string_view note : {
             "Open model: each cycle starts iterations at the rate asked, whatever the target's answers; a cycle "
             "is named by that rate (Rate), and its users are the pool at its largest.",
             "From the intended start: an iteration's pages and requests are timed from when the schedule meant "
             "the iteration to start, so waiting for a free virtual user counts (its first page carries the wait); "
             "service time (Svc) is from when each item actually began. docs/open-model.md."}) {
      const std::vector<std::string> lines = wrap(note, width_ - 2);
      for (std::size_t i = 0; i < lines.size(); ++i) out_ << (i == 0 ? "- " : "  ") << lines[i] << '\n';
    }
  }

  const Results& results_;
  std::ostream& out_;
  std::size_t width_;
  MetricContext metrics_;
  bool open_;  // arrival-rate cycles (docs/open-model.md)
  Verdict verdict_;
  std::string threshold_error_;
};

}  // namespace

int default_text_width() {
  if (const char* columns = std::getenv("COLUMNS")) {
    int value = 0;
    const std::string_view text(columns);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc{} && end == text.data() + text.size() && value > 0) return value;
  }
  return 100;
}

std::string render_text_report(const Results& results, const TextOptions& options) {
  std::ostringstream out;
  TextReport(results, out, options).render();
  // Sections end and start with a blank line; keep one where two meet.
  std::string text = out.str();
  for (std::size_t at; (at = text.find("\n\n\n")) != std::string::npos;) text.erase(at, 1);
  return text;
}

void render_text_report(const Results& results, std::ostream& out, const TextOptions& options) {
  out << render_text_report(results, options);
}

}  // namespace bm::report
