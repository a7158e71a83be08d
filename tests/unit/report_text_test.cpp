#include "report/text_report.hpp"

#include <cstdlib>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "results_fixture.hpp"

namespace bm::report {
namespace {

// Options with only the width set (named, so no field is left to aggregate defaults).
TextOptions width_of(int width) {
  TextOptions options;
  options.width = width;
  return options;
}


using stats::CycleResults;
using stats::ErrorKind;
using stats::ErrorOccurrence;
using stats::Results;

constexpr int64_t kStartUs = 1'700'000'000'000'000;  // 2023-11-14 22:13:20 UTC
constexpr int64_t kApdexTUs = 500'000;

void record_error(CycleResults& cycle, ErrorKind kind, stats::Verdict verdict, int status, std::string_view message,
                  std::string_view example, std::string_view location, int64_t epoch_us) {
  ErrorOccurrence o;
  o.kind = kind;
  o.verdict = verdict;
  o.page = "home";
  o.request = "home#1";
  o.status = status;
  o.message = message;
  o.example = example;
  o.location = location;
  o.epoch_us = epoch_us;
  cycle.errors.record(o);
}

// Cycle 1 (index 0): 100 pages of 1..100 ms and one 503; cycle 2 (interrupted): 50 pages of 200 ms.
Results synthetic_results() {
  Results r = stats::testing::ResultsBuilder("Shop")
                  .title("Shop checkout")
                  .function("test_Shop")
                  .url("http://127.0.0.1:8080/")
                  .span(kStartUs, kStartUs + 65'000'000)
                  .status(stats::RunStatus::interrupted)
                  .cycles({10, 20}, 10)
                  .default_limits()
                  .build();
  r.run.test_file = "test_Shop.lua";
  r.run.conf_file = "Shop.conf";
  r.run.description = "Browse the shop and buy one thing";
  r.run.label = "baseline";
  r.run.host = "load0";
  r.run.command_line = {"bench-run", "test_Shop.lua", "-c", "10:20", "-D", "10"};
  r.run.workers = 2;
  r.run.pid = 99;
  r.config.apdex_t_s = 0.5;
  r.config.sleep_time_s = 1;
  r.config.sleep_time_max_s = 2;

  CycleResults& first = r.cycles[0];
  first.window_start_epoch_us = kStartUs + 1'000'000;
  first.window_end_epoch_us = kStartUs + 11'000'000;
  stats::EntryStats& test = first.tests.slot("test_Shop").stats;
  for (int i = 0; i < 40; ++i) {
    test.record_success(2'000'000, kApdexTUs);
    test.add_test_content(3, 9);
  }
  test.record_failure(ErrorKind::assertion, 900'000);
  stats::EntryStats& page = first.pages.slot("home").stats;
  stats::Entry& request = stats::testing::record_page_successes(
      first, "home", "home#1", 100, [](int ms) { return int64_t{ms} * 1000; }, kApdexTUs, 200);
  request.method = "GET";
  request.url = "http://127.0.0.1:8080/";
  for (int i = 0; i < 100; ++i) request.stats.add_bytes(100, 10'240);
  page.record_failure(ErrorKind::status, 5000);
  request.stats.record_failure(ErrorKind::status, 5000);
  request.stats.add_status(503);
  first.outside_window = {1, 2, 3};
  record_error(first, ErrorKind::status, stats::Verdict::failure, 503, "HTTP 503", "HTTP 503 Service Unavailable", "",
               kStartUs + 5'000'000);
  record_error(first, ErrorKind::assertion, stats::Verdict::failure, 200, "expected 'Welcome' in body",
               "expected 'Welcome' in body\x1b[31m", "test_Shop.lua:42", kStartUs + 6'000'000);

  CycleResults& second = r.cycles[1];
  second.status = stats::CycleStatus::incomplete;
  stats::EntryStats& slow = second.pages.slot("home").stats;
  for (int i = 0; i < 50; ++i) slow.record_success(200'000, kApdexTUs);
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Table cells: separated by two spaces or more.
std::vector<std::string> cells_of(const std::string& line) {
  static const std::regex separator(" {2,}");
  std::vector<std::string> cells;
  const std::string trimmed = line.substr(std::min(line.find_first_not_of(' '), line.size()));
  for (std::sregex_token_iterator it(trimmed.begin(), trimmed.end(), separator, -1), end; it != end; ++it) {
    if (!it->str().empty()) cells.push_back(*it);
  }
  return cells;
}

std::size_t find_line(const std::vector<std::string>& lines, std::string_view text, std::size_t from = 0) {
  for (std::size_t i = from; i < lines.size(); ++i) {
    if (lines[i] == text) return i;
  }
  ADD_FAILURE() << "no line '" << text << "'";
  return lines.size();
}

// The cells after the two key columns of every row for `cycle` between lines
// [from, to), concatenated across the blocks a narrow table is split into.
std::vector<std::string> row_cells(const std::vector<std::string>& lines, std::size_t from, std::size_t to,
                                   std::string_view cycle) {
  std::vector<std::string> cells;
  for (std::size_t i = from; i < to && i < lines.size(); ++i) {
    const std::vector<std::string> row = cells_of(lines[i]);
    if (row.size() > 2 && row[0] == cycle) cells.insert(cells.end(), row.begin() + 2, row.end());
  }
  return cells;
}

const std::vector<std::string> kHomeCycle0 = {"10.0",    "101",     "99.01%",  "1.00 ms", "50.5 ms", "50.0 ms",
                                              "90.0 ms", "95.0 ms", "99.0 ms", "100 ms",  "100 ms",  "0.990 E"};

TEST(TextReport, PageTableHoldsTheExactNumbers) {
  const std::vector<std::string> lines = lines_of(render_text_report(synthetic_results(), width_of(200)));
  const std::size_t page = find_line(lines, "Page home");
  const std::size_t request = find_line(lines, "  Request home#1: GET http://127.0.0.1:8080/ (main)", page);
  EXPECT_EQ(row_cells(lines, page, request, "1"), kHomeCycle0);
  const std::vector<std::string> slow = {"5.00",   "50",     "100.00%", "200 ms", "200 ms", "200 ms", "200 ms",
                                         "200 ms", "200 ms", "200 ms",  "200 ms", "1.000 E"};
  EXPECT_EQ(row_cells(lines, page, request, "2*"), slow);
  // The request: the same numbers, in its own table under the page.
  EXPECT_EQ(row_cells(lines, request, find_line(lines, "Traffic", request), "1"), kHomeCycle0);
}

TEST(TextReport, ApdexTOptionRecountsFromTheHistograms) {
  TextOptions options = width_of(200);
  options.apdex_t_s = 0.0505;  // off the histogram's bucket edges near 50 ms and 202 ms
  const std::string report = render_text_report(synthetic_results(), options);
  const std::vector<std::string> lines = lines_of(report);
  const std::size_t page = find_line(lines, "Page home");
  const std::size_t request = find_line(lines, "  Request home#1: GET http://127.0.0.1:8080/ (main)", page);
  // Cycle 1: 1..50 ms satisfied, 51..100 ms tolerating, the 503 frustrated: 75/101.
  const std::vector<std::string> cycle0 = row_cells(lines, page, request, "1");
  ASSERT_FALSE(cycle0.empty());
  EXPECT_EQ(cycle0.back(), "0.742 F");
  // Cycle 2: 200 ms is within 4T: every page tolerating.
  const std::vector<std::string> cycle1 = row_cells(lines, page, request, "2*");
  ASSERT_FALSE(cycle1.empty());
  EXPECT_EQ(cycle1.back(), "0.500 P");
  EXPECT_NE(report.find("(--apdex-t; the run used 0.5 s"), std::string::npos) << report.substr(0, 1500);
}

TEST(TextReport, CycleSummaryAndTestTable) {
  const std::vector<std::string> lines = lines_of(render_text_report(synthetic_results(), width_of(200)));
  const std::size_t cycles = find_line(lines, "Cycles");
  const std::size_t tests = find_line(lines, "Tests", cycles);
  std::vector<std::string> summary = {"4.00", "10.0", "10.0"};
  summary.insert(summary.end(), kHomeCycle0.begin() + 2, kHomeCycle0.end());
  EXPECT_EQ(row_cells(lines, cycles, tests, "1"), summary);
  const std::vector<std::string> test_row = {"4.00", "41", "97.56%", "1", "0", "3.0", "9.0", "2.00 s", "2.00 s",
                                             "2.00 s", "2.00 s"};
  EXPECT_EQ(row_cells(lines, tests, find_line(lines, "Pages and their requests"), "1"), test_row);
}

TEST(TextReport, HeaderTrafficOutsideWindowAndErrors) {
  const std::string report = render_text_report(synthetic_results(), width_of(120));
  const std::vector<std::string> lines = lines_of(report);
  EXPECT_EQ(lines[0], "benchmaster report: Shop checkout");
  EXPECT_NE(report.find("Target      http://127.0.0.1:8080/\n"), std::string::npos);
  EXPECT_NE(report.find("Run         interrupted, started 2023-11-14 22:13:20 UTC, ended 2023-11-14 22:14:25 UTC "
                        "(1 min 05 s)\n"),
            std::string::npos);
  EXPECT_NE(report.find("10:20 virtual users, 10 s window each"), std::string::npos);
  EXPECT_NE(report.find("Apdex T     0.5 s\n"), std::string::npos);
  EXPECT_NE(report.find("Cycle 1 status codes: 200 × 100, 503 × 1\n"), std::string::npos);

  const std::size_t traffic = find_line(lines, "Traffic");
  EXPECT_EQ(row_cells(lines, traffic, traffic + 8, "1"),
            (std::vector<std::string>{"101", "9.77 KiB", "1000 KiB", "100 KiB"}));
  const std::size_t outside = find_line(lines, "Outside the logging window");
  EXPECT_EQ(row_cells(lines, outside, outside + 10, "1"), (std::vector<std::string>{"1", "2", "3", "0", "0"}));

  const std::size_t errors = find_line(lines, "Failures and errors");
  const std::size_t cycle_errors = find_line(lines, "Cycle 1 (10 CUs): 2 occurrences", errors);
  EXPECT_NE(find_line(lines, "status (failure): 1", cycle_errors), lines.size());
  EXPECT_NE(find_line(lines, "        page home, request home#1, HTTP 503", cycle_errors), lines.size());
  EXPECT_NE(find_line(lines, "        - HTTP 503 Service Unavailable", cycle_errors), lines.size());
  // The escape sequence from the message is neutralised, the location kept.
  EXPECT_NE(find_line(lines, "        - test_Shop.lua:42: expected 'Welcome' in body [31m", cycle_errors),
            lines.size());
  EXPECT_EQ(report.find('\x1b'), std::string::npos);
  EXPECT_EQ(report.find("Nodes\n"), std::string::npos);  // not a merged file
}

TEST(TextReport, NarrowWidthStillFitsAndKeepsEveryNumber) {
  for (int width : {40, 60, 80}) {
    const std::string report = render_text_report(synthetic_results(), width_of(width));
    const std::vector<std::string> lines = lines_of(report);
    for (const std::string& line : lines) {
      std::size_t columns = 0;
      for (char c : line) columns += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
      ASSERT_LE(columns, static_cast<std::size_t>(width)) << "width " << width << ": '" << line << "'";
    }
    // Rows for cycle 0 under the page, before its request's block, across all blocks.
    const std::size_t page = find_line(lines, "Page home");
    std::size_t request_heading = page + 1;
    while (request_heading < lines.size() && lines[request_heading].rfind("  Request", 0) != 0) ++request_heading;
    EXPECT_EQ(row_cells(lines, page, request_heading, "1"), kHomeCycle0) << "width " << width;
  }
}

TEST(TextReport, MergedFileShowsTheNodesTable) {
  Results node0 = synthetic_results();
  node0.run.status = stats::RunStatus::complete;
  Results node1 = node0;
  node1.run.node_num = 1;
  node1.run.host = "load1";
  stats::MergeOptions options;
  options.nodes.resize(2);
  options.nodes[1].clock_offset_us = -1'500;
  options.nodes[1].message = "slow to start";
  std::string error;
  const std::optional<Results> merged = stats::merge_results({node0, node1}, options, &error);
  ASSERT_TRUE(merged) << error;

  const std::vector<std::string> lines = lines_of(render_text_report(*merged, width_of(100)));
  const std::size_t nodes = find_line(lines, "Nodes");
  EXPECT_EQ(cells_of(lines[nodes + 6]),
            (std::vector<std::string>{"1", "load1", "baseline", "complete", "-1.50 ms", "0 µs", "101", "1", "41", "1"}));
  EXPECT_NE(find_line(lines, "node 1: slow to start", nodes), lines.size());
  // Counts of the merged cycle are the sum of both nodes'.
  const std::size_t page = find_line(lines, "Page home");
  EXPECT_EQ(row_cells(lines, page, page + 6, "1").at(1), "202");
}

TEST(TextReport, LoadGeneratorsAndMonitoredHostsPerCycle) {
  Results r = synthetic_results();
  const CycleResults& cycle = r.cycles.front();
  stats::GeneratorHealth g;
  g.host = "gen1";
  g.workers = 2;
  g.cores = 2;
  const int64_t first = cycle.window_start_epoch_us / 1'000'000;
  for (int64_t t = first; t < first + 4; ++t) g.points.push_back({t, t == first ? 1.95 : 0.5, 0.9, 0.05, 2.0, 1, 1, t == first});
  r.generators.push_back(g);
  r.monitor.hosts.push_back(stats::testing::monitor_host("db", cycle.window_start_epoch_us + 250'000, 4));
  const std::vector<std::string> lines = lines_of(render_text_report(r, width_of(120)));
  const std::size_t generators = find_line(lines, "Load generators");
  EXPECT_EQ(cells_of(lines[generators + 5]), (std::vector<std::string>{"1", "0", "gen1", "1.95 of 2", "5%", "2.00 ms",
                                                                      "1 s of 4"}));
  bool told = false;
  for (const std::string& line : lines) told = told || line.rfind("warning: cycle 1: the load generator (gen1) was "
                                                                  "saturated for 1 s of 4", 0) == 0;
  EXPECT_TRUE(told);
  const std::size_t hosts = find_line(lines, "Monitored hosts", generators);
  EXPECT_EQ(lines[hosts + 3], "db: the db host, bench-monitor http://127.0.0.1:8008 every 0.5 s, 4 samples");
  // Points 0..3: busy (user + system) 5 %, 15 %, 25 %, 35 %; their mean and peak; load up to 3.5.
  const std::vector<std::string> row = cells_of(lines[hosts + 7]);
  EXPECT_EQ(std::vector<std::string>(row.begin() + 3, row.end()), (std::vector<std::string>{"20.0%", "35.0%", "3.50"}));
}

// An open-model run: 100/s then a ramp 150→250/s, a pool of up to 10; pages of "home"
// at 100 ms from the intended start, served in 40 ms.
Results open_model_results() {
  Results r = stats::testing::ResultsBuilder("Shop")
                  .function("test_Shop")
                  .span(kStartUs, kStartUs + 30'000'000)
                  .status(stats::RunStatus::complete)
                  .cycles({5, 10}, 10)
                  .default_limits()
                  .build();
  r.config.apdex_t_s = 0.5;
  r.config.rates = "100:150->250";
  r.config.max_users = 10;
  r.config.arrivals = "poisson";
  r.config.rate_part = "0/1";
  const std::vector<stats::Arrivals> arrivals = {{100, 100, 1000, 990, 20, 10, 5, 150'000},
                                                 {150, 250, 2000, 2000, 0, 0, 10, 0}};
  for (std::size_t c = 0; c < r.cycles.size(); ++c) {
    CycleResults& cycle = r.cycles[c];
    cycle.arrivals = arrivals[c];
    stats::Entry& request = stats::testing::record_page_successes(
        cycle, "home", "home#1", 100 * static_cast<int>(c + 1), [](int) { return int64_t{100'000}; }, kApdexTUs);
    request.method = "GET";
    request.url = "http://127.0.0.1:8080/";
    stats::EntryStats& test = cycle.tests.slot("test_Shop").stats;
    for (int i = 0; i < 100 * static_cast<int>(c + 1); ++i) {
      cycle.pages.slot("home").stats.service.record(40'000);
      request.stats.service.record(40'000);
      test.record_success(300'000, kApdexTUs);
      test.service.record(250'000);
    }
  }
  return r;
}

TEST(TextReport, OpenModelRunsShowArrivalsRatesAndServiceTimes) {
  const std::string report = render_text_report(open_model_results(), width_of(220));
  const std::vector<std::string> lines = lines_of(report);
  EXPECT_NE(report.find("100:150->250 iterations/s (poisson arrivals, a pool of up to 10 virtual users)"),
            std::string::npos)
      << report.substr(0, 2000);
  // Cycles are named by their rate, and the service times stand next to the others.
  const std::size_t cycles = find_line(lines, "Cycles");
  const std::size_t arrivals = find_line(lines, "Arrivals", cycles);
  std::vector<std::string> head;
  for (std::size_t i = cycles; i < arrivals && head.empty(); ++i) {
    if (cells_of(lines[i]).size() > 1 && cells_of(lines[i])[0] == "Cycle") head = cells_of(lines[i]);
  }
  ASSERT_GE(head.size(), 3u);
  EXPECT_EQ(head[1], "Rate");
  EXPECT_EQ(std::vector<std::string>(head.end() - 3, head.end()),
            (std::vector<std::string>{"Svc P50", "Svc P95", "Svc P99"}));
  const std::vector<std::string> summary = row_cells(lines, cycles, arrivals, "2");
  ASSERT_GE(summary.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(summary.end() - 3, summary.end()),
            (std::vector<std::string>{"40.0 ms", "40.0 ms", "40.0 ms"}));
  EXPECT_NE(report.find("Open model: times count from each iteration's intended start"), std::string::npos);

  // Asked, achieved (started per second of the window), due, started, late, missed.
  const std::size_t tests = find_line(lines, "Tests", arrivals);
  EXPECT_EQ(row_cells(lines, arrivals, tests, "1"),
            (std::vector<std::string>{"99.0/s", "1000", "990", "20", "2.00%", "10", "1.00%", "150 ms", "5"}));
  std::vector<std::string> ramp;
  for (std::size_t i = arrivals; i < tests; ++i) {
    const std::vector<std::string> row = cells_of(lines[i]);
    if (!row.empty() && row[0] == "2") ramp = row;
  }
  ASSERT_GE(ramp.size(), 3u);
  EXPECT_EQ(ramp[1], "150→250/s");
  EXPECT_EQ(ramp[2], "200.0/s");

  // Pages, requests and tests: the rate in the second column, three service columns last.
  const std::size_t page = find_line(lines, "Page home", tests);
  const std::size_t request = find_line(lines, "  Request home#1: GET http://127.0.0.1:8080/ (main)", page);
  std::vector<std::string> page_row;
  for (std::size_t i = page; i < request; ++i) {
    const std::vector<std::string> row = cells_of(lines[i]);
    if (!row.empty() && row[0] == "1") page_row = row;
  }
  ASSERT_EQ(page_row.size(), 17u);
  EXPECT_EQ(page_row[1], "100/s");
  EXPECT_EQ(page_row[9], "100 ms");  // p95 from the intended start
  EXPECT_EQ(page_row[16], "40.0 ms");  // service p99
  const std::vector<std::string> test_row = row_cells(lines, tests, page, "2");
  ASSERT_FALSE(test_row.empty());
  EXPECT_EQ(test_row.back(), "250 ms");

  // The verdict names the cycles by rate; the notes say what "from the intended start" is.
  EXPECT_NE(report.find("C1 · 100/s: 10 of 1000 starts missed (the pool of 5 users was full)"), std::string::npos);
  EXPECT_NE(report.find("From the intended start: an iteration's pages and requests are timed"), std::string::npos);
}

TEST(TextReport, ClosedModelRunsHaveNoArrivalsNorServiceColumns) {
  const std::string report = render_text_report(synthetic_results(), width_of(200));
  EXPECT_EQ(report.find("Arrivals"), std::string::npos);
  EXPECT_EQ(report.find("Svc P95"), std::string::npos);
  EXPECT_EQ(report.find("intended start"), std::string::npos);
}

TEST(TextReport, MergedOpenModelRunShowsEachNodesArrivals) {
  Results node0 = open_model_results();
  node0.run.host = "load0";
  Results node1 = node0;
  node1.run.node_num = 1;
  node1.run.host = "load1";
  node1.cycles[0].arrivals->missed = 30;
  stats::MergeOptions options;
  options.nodes.resize(2);
  std::string error;
  const std::optional<Results> merged = stats::merge_results({node0, node1}, options, &error);
  ASSERT_TRUE(merged) << error;
  const std::vector<std::string> lines = lines_of(render_text_report(*merged, width_of(220)));
  const std::size_t arrivals = find_line(lines, "Arrivals");
  const std::size_t tests = find_line(lines, "Tests", arrivals);
  // The merged cycle: the nodes' rates and counts added.
  EXPECT_EQ(row_cells(lines, arrivals, tests, "1").at(1), "2000");
  std::vector<std::vector<std::string>> node_rows;
  for (std::size_t i = arrivals; i < tests; ++i) {
    const std::vector<std::string> row = cells_of(lines[i]);
    if (row.size() == 12 && row[0] == "1") node_rows.push_back(row);
  }
  ASSERT_EQ(node_rows.size(), 2u);
  EXPECT_EQ(node_rows[1][1], "1");
  EXPECT_EQ(node_rows[1][2], "load1");
  EXPECT_EQ(node_rows[1][3], "100/s");
  EXPECT_EQ(node_rows[1][8], "30");
}

TEST(TextReport, DefaultWidthComesFromColumns) {
  ::setenv("COLUMNS", "77", 1);
  EXPECT_EQ(default_text_width(), 77);
  EXPECT_EQ(TextOptions{}.width, 77);
  ::setenv("COLUMNS", "wide", 1);
  EXPECT_EQ(default_text_width(), 100);
  ::unsetenv("COLUMNS");
  EXPECT_EQ(default_text_width(), 100);
}

}  // namespace
}  // namespace bm::report
