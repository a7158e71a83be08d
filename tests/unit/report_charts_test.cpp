// The HTML report's charts and the tables beside them: one unit per chart (no second
// y axis), a palette that stays distinct for many lines, the latency distribution
// curves (percentiles read from the histograms, never averaged), and the per-cycle
// figures the text report also has (p99.9, bytes, items outside the window, pages and
// requests per test).

#include <random>
#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/format.hpp"
#include "report/html_metrics.hpp"
#include "report/html_page.hpp"
#include "report/html_report.hpp"
#include "report/trend_report.hpp"
#include "results_fixture.hpp"
#include "stats/results.hpp"

namespace bm::report {

using namespace bm::common;
namespace {

constexpr int64_t kStartUs = 1'800'000'000'000'000;

// Three cycles of one test: pages "Home" (one request) and "Search" (two requests), so
// requests/s is 1.5 × pages/s, with known bytes and items outside the windows.
stats::Results sample_results() {
  stats::Results r = stats::testing::ResultsBuilder("Shop")
                         .function("test_Shop")
                         .url("http://127.0.0.1:1")
                         .span(kStartUs, kStartUs + 60'000'000)
                         .status(stats::RunStatus::complete)
                         .cycles({5, 10, 20}, 10)
                         .cycle_times(kStartUs, 20'000'000, 2'000'000, 2'000'000)
                         .build();
  r.config.apdex_t_s = 0.5;
  const int64_t t = r.config.apdex_t_us();
  for (stats::CycleResults& cycle : r.cycles) {
    const int c = cycle.index + 1;
    stats::testing::record_page_successes(cycle, "Home", "Home.1", 200, [&](int i) { return int64_t{c * i * 300}; }, t,
                                          200);
    stats::Entry& search = stats::testing::record_page_successes(
        cycle, "Search", "Search.1", 100, [&](int i) { return int64_t{c * (i * i) * 10 + 5'000}; }, t, 200);
    search.stats.bytes_sent = 10'000 * static_cast<uint64_t>(c);
    search.stats.bytes_received = 1'048'576 * static_cast<uint64_t>(c);
    stats::Entry& second = cycle.requests.slot("Search", "Search.2");
    for (int i = 0; i < 100; ++i) second.stats.record_success(2'000 + i, t);
    stats::EntryStats& test = cycle.tests.slot("test_Shop").stats;
    for (int i = 0; i < 100; ++i) test.record_success(900'000 + i * 1'000, t);
    test.pages = 300;
    test.requests = 400;
    cycle.outside_window = {3, 7, 11};
    cycle.abandoned = {0, 0, static_cast<uint64_t>(cycle.index)};
    for (int s = 0; s < 14; ++s) {
      stats::SecondAccumulator second_of(cycle.start_epoch_us / 1'000'000 + s);
      second_of.set_cycle(cycle.index, stats::Phase::window);
      second_of.set_cvus(cycle.cvus);
      for (int i = 1; i <= 30; ++i) second_of.record_request_ok(i * 1'000 * (s + 1));
      if (auto point = second_of.roll(second_of.second() + 1)) r.series.push_back(std::move(*point));
    }
  }
  return r;
}

std::string data_block(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"bm-data\">";
  const std::size_t start = html.find(open) + open.size();
  return html.substr(start, html.find("</script>", start) - start);
}

// The charts' specs by caption, views resolved to their columns' names.
struct Figure {
  std::string caption;
  nlohmann::json spec;
};

std::vector<Figure> figures(const std::string& html) {
  const nlohmann::json data = nlohmann::json::parse(data_block(html));
  std::vector<Figure> out;
  for (std::size_t at = html.find("<figure class=\"chart\"><figcaption>"); at != std::string::npos;
       at = html.find("<figure class=\"chart\"><figcaption>", at + 1)) {
    const std::size_t from = at + std::string_view("<figure class=\"chart\"><figcaption>").size();
    const std::string caption = html.substr(from, html.find("</figcaption>", from) - from);
    const std::size_t id_at = html.find("data-chart=\"", from) + std::string_view("data-chart=\"").size();
    const std::string id = html.substr(id_at, html.find('"', id_at) - id_at);
    out.push_back({caption, data["charts"][id]});
  }
  return out;
}

const Figure* find_figure(const std::vector<Figure>& all, std::string_view caption, std::size_t nth = 0) {
  for (const Figure& f : all) {
    if (f.caption == caption && nth-- == 0) return &f;
  }
  return nullptr;
}

std::string table_row(const std::string& html, std::string_view table_id, int cycle) {
  const std::size_t table = html.find(fmt::format("id=\"{}\"", table_id));
  EXPECT_NE(table, std::string::npos) << table_id;
  const std::size_t row = html.find(fmt::format("<tr data-cycle=\"{}\">", cycle), table);
  return html.substr(row, html.find("</tr>", row) - row);
}

stats::Histogram random_histogram(std::mt19937_64& rng) {
  std::lognormal_distribution<double> dist(9, 2);
  stats::Histogram histogram;
  const int n = 1 + static_cast<int>(rng() % 20'000);
  for (int i = 0; i < n; ++i) histogram.record(static_cast<int64_t>(dist(rng)));
  return histogram;
}

// ---- Percentiles ---------------------------------------------------------------------

TEST(DistributionPercentiles, FiveDecadesOfTheTailWithRoundPercentilesOnTheDecades) {
  const std::vector<double> fine = distribution_percentiles(20);
  ASSERT_EQ(fine.size(), 101u);
  EXPECT_EQ(fine.front(), 0.0);
  EXPECT_EQ(fine.back(), 99.999);
  for (std::size_t i = 1; i < fine.size(); ++i) EXPECT_LT(fine[i - 1], fine[i]) << i;
  EXPECT_EQ(fine[20], 90.0);
  EXPECT_EQ(fine[40], 99.0);
  EXPECT_EQ(fine[60], 99.9);
  EXPECT_EQ(fine[80], 99.99);
  // Each page's coarser curve is every other point of the summary's.
  const std::vector<double> coarse = distribution_percentiles(10);
  ASSERT_EQ(coarse.size(), 51u);
  for (std::size_t i = 0; i < coarse.size(); ++i) EXPECT_EQ(coarse[i], fine[2 * i]) << i;
  EXPECT_DOUBLE_EQ(distribution_x(0), 1.0);
  EXPECT_NEAR(distribution_x(99.9), 1000.0, 1e-9);
  EXPECT_NEAR(distribution_x(99.999), 100'000.0, 1e-6);
}

TEST(PercentileValues, AreTheHistogramsOwnPercentilesInOnePass) {
  std::mt19937_64 rng(11);
  const std::vector<double> percentiles = distribution_percentiles(20);
  for (int round = 0; round < 10; ++round) {
    const stats::Histogram histogram = random_histogram(rng);
    const stats::SparseHistogram sparse(histogram);
    std::vector<double> with_ends = percentiles;
    with_ends.push_back(100.0);
    for (const std::vector<int64_t>& values :
         {percentile_values(histogram, with_ends), percentile_values(sparse, with_ends)}) {
      ASSERT_EQ(values.size(), with_ends.size());
      for (std::size_t i = 0; i < with_ends.size(); ++i) {
        EXPECT_EQ(values[i], histogram.value_at_percentile(with_ends[i])) << with_ends[i];
        if (i > 0) {
          EXPECT_LE(values[i - 1], values[i]);
        }
      }
      EXPECT_EQ(values.front(), histogram.min());
      EXPECT_EQ(values.back(), histogram.max());
    }
    const LatencySummary summary = summarize_latency(histogram);
    EXPECT_EQ(summary.p999_us, histogram.value_at_percentile(99.9));
    EXPECT_EQ(summary.p99_us, histogram.value_at_percentile(99));
  }
  EXPECT_TRUE(percentile_values(stats::Histogram{}, percentiles).empty());
}

// ---- Palette -------------------------------------------------------------------------

TEST(Palette, TwentyLinesAreTwentyDistinctColoursAndTheSecondTenAreDashed) {
  std::set<std::string> colours;
  std::set<std::pair<std::string, int>> styles;
  for (std::size_t i = 0; i < 40; ++i) {
    const LineStyle style = palette::nth(i);
    if (i < 20) colours.insert(style.color);
    styles.insert({style.color, static_cast<int>(style.dash)});
    EXPECT_EQ(style.dash == Dash::solid, i < 10) << i;
    if (i >= 10 && i < 20) {
      EXPECT_EQ(style.dash, Dash::dashed) << i;
    }
  }
  EXPECT_EQ(colours.size(), 20u);
  EXPECT_EQ(styles.size(), 40u);
  EXPECT_EQ(palette::nth(40), palette::nth(0));
  EXPECT_TRUE(dash_pattern(Dash::solid).empty());
  EXPECT_EQ(dash_pattern(Dash::dashed), (std::vector<int>{7, 4}));
}

TEST(ChartSpec, WritesDashPatternsFixedRangesAndThePercentileAxis) {
  ChartSpec spec;
  spec.y_label = "ms";
  spec.y_log = true;
  spec.y_max = 100;
  spec.percentiles = {0, 90};
  spec.x = {1, 10};
  spec.series = {{"a", {1.0, 2.0}, {"#000000"}}, {"b", {1.0, std::nullopt}, palette::nth(12), true}};
  const nlohmann::json json = spec.to_json();
  EXPECT_EQ(json["ylog"], true);
  EXPECT_EQ(json["ymax"], 100);
  EXPECT_EQ(json["pct"], (nlohmann::json{0, 90}));
  EXPECT_FALSE(json["series"][0].contains("dash"));
  EXPECT_EQ(json["series"][1]["dash"], (nlohmann::json{7, 4}));
  EXPECT_EQ(json["series"][1]["fill"], true);
  EXPECT_EQ(json["series"][1]["data"][1], nullptr);
  EXPECT_FALSE(json.contains("y2label"));
}

// ---- The run report's charts -----------------------------------------------------------

TEST(HtmlCharts, EveryChartHasOneUnitAndDistinctLineStyles) {
  stats::Results r = sample_results();
  r.monitor.hosts.push_back(stats::testing::monitor_host("web1", kStartUs, 8));
  const std::string html = render_html_report(r);
  const nlohmann::json data = nlohmann::json::parse(data_block(html));
  std::size_t checked = 0;
  for (const auto& [id, spec] : data["charts"].items()) {
    if (spec.contains("view")) continue;  // report.js's views: one unit each, see report.js
    EXPECT_FALSE(spec.contains("y2label")) << id;
    EXPECT_FALSE(spec["ylabel"].get<std::string>().empty()) << id;
    std::set<std::string> styles;
    for (const auto& series : spec["series"]) {
      EXPECT_FALSE(series.contains("right")) << id;
      styles.insert(series["color"].dump() + (series.contains("dash") ? series["dash"].dump() : ""));
    }
    EXPECT_EQ(styles.size(), spec["series"].size()) << id << " reuses a line style";
    ++checked;
  }
  EXPECT_GT(checked, 10u);
}

TEST(HtmlCharts, ThroughputRatesShareOneAxisAndUsersHaveTheirOwnChart) {
  const std::string html = render_html_report(sample_results());
  const std::vector<Figure> all = figures(html);
  const Figure* throughput = find_figure(all, "Throughput against concurrency");
  ASSERT_NE(throughput, nullptr);
  EXPECT_EQ(throughput->spec["ylabel"], "per second");
  ASSERT_EQ(throughput->spec["series"].size(), 3u);
  // 400 requests for 300 pages a cycle: on one axis the lines stand apart.
  EXPECT_DOUBLE_EQ(throughput->spec["series"][0]["data"][0].get<double>(), 40.0);
  EXPECT_DOUBLE_EQ(throughput->spec["series"][1]["data"][0].get<double>(), 30.0);

  const Figure* timeline = find_figure(all, "Throughput over time");
  ASSERT_NE(timeline, nullptr);
  for (const auto& series : timeline->spec["series"]) EXPECT_NE(series["label"], "Virtual users");
  const Figure* users = find_figure(all, "Virtual users over time");
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->spec["ylabel"], "users");
  EXPECT_EQ(users->spec["time"], true);

  // Success (%) and Apdex (a score) are two charts with fixed tops.
  const Figure* success = find_figure(all, "Success rate against concurrency");
  const Figure* apdex = find_figure(all, "Apdex against concurrency");
  ASSERT_NE(success, nullptr);
  ASSERT_NE(apdex, nullptr);
  EXPECT_EQ(success->spec["ymax"], 100);
  EXPECT_EQ(apdex->spec["ymax"], 1);
}

TEST(HtmlCharts, DistributionCurvesAreEachCyclesPercentilesOfEveryPageTogether) {
  const stats::Results r = sample_results();
  const std::string html = render_html_report(r);
  const std::vector<Figure> all = figures(html);
  const Figure* summary = find_figure(all, "Page time distribution per cycle");
  ASSERT_NE(summary, nullptr);
  const nlohmann::json& spec = summary->spec;
  EXPECT_EQ(spec["ylog"], true);
  EXPECT_EQ(spec["ylabel"], "ms");
  const std::vector<double> percentiles = spec["pct"].get<std::vector<double>>();
  EXPECT_EQ(percentiles, distribution_percentiles(20));
  ASSERT_EQ(spec["x"].size(), percentiles.size());
  ASSERT_EQ(spec["series"].size(), r.cycles.size());
  for (std::size_t c = 0; c < r.cycles.size(); ++c) {
    const nlohmann::json& line = spec["series"][c];
    EXPECT_EQ(line["label"], fmt::format("C{} · {}", c + 1, r.cycles[c].cvus));
    EXPECT_EQ(line["color"], palette::nth(c).color);
    const stats::Histogram merged = sum_entries(r.cycles[c].pages).latency;
    for (std::size_t i = 0; i < percentiles.size(); ++i) {
      const double expected = static_cast<double>(merged.value_at_percentile(percentiles[i])) / 1000.0;
      EXPECT_DOUBLE_EQ(line["data"][i].get<double>(), chart_value(expected)) << c << " " << percentiles[i];
      EXPECT_DOUBLE_EQ(spec["x"][i].get<double>(), chart_value(distribution_x(percentiles[i])));
    }
  }
  // And one per page, coarser, with the same cycle styles.
  const Figure* home = find_figure(all, "Page time distribution per cycle", 1);
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->spec["pct"].size(), 51u);
  EXPECT_EQ(home->spec["series"][2]["color"], palette::nth(2).color);
  const stats::Histogram& home_latency = r.cycles[2].pages.find("Home")->stats.latency;
  EXPECT_DOUBLE_EQ(home->spec["series"][2]["data"][50].get<double>(),
                   chart_value(static_cast<double>(home_latency.value_at_percentile(99.999)) / 1000.0));
  EXPECT_NE(find_figure(all, "Page time distribution per cycle", 2), nullptr);  // Search
  EXPECT_EQ(find_figure(all, "Page time distribution per cycle", 3), nullptr);
}

TEST(HtmlCharts, ACycleWithoutSuccessesLeavesAGapInTheDistribution) {
  stats::Results r = sample_results();
  for (stats::Entry& page : r.cycles[1].pages) page.stats = stats::EntryStats{};
  const std::vector<Figure> all = figures(render_html_report(r));
  const Figure* summary = find_figure(all, "Page time distribution per cycle");
  ASSERT_NE(summary, nullptr);
  for (const auto& value : summary->spec["series"][1]["data"]) EXPECT_TRUE(value.is_null());
  EXPECT_FALSE(summary->spec["series"][0]["data"][0].is_null());
}

// Every page of every cycle pays for its curve: 20 cycles of a page cost a few kB.
TEST(HtmlCharts, APagesDistributionStaysSmall) {
  stats::Results r = stats::testing::ResultsBuilder("Big")
                         .span(kStartUs, kStartUs + 1)
                         .cycles({1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                  11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
                                 10)
                         .build();
  std::mt19937_64 rng(3);
  for (stats::CycleResults& cycle : r.cycles) cycle.pages.slot("Home").stats.latency = random_histogram(rng);
  const std::vector<Figure> all = figures(render_html_report(r));
  const Figure* home = find_figure(all, "Page time distribution per cycle", 1);
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->spec["series"].size(), 20u);
  EXPECT_LT(home->spec.dump().size(), 9'000u) << home->spec.dump().size();
}

// A trend of runs with 20 cycles each: one line per number of users, 20 styles apart.
TEST(TrendCharts, TwentyLinesOfATrendAllLookDifferent) {
  std::vector<int> users;
  for (int u = 1; u <= 20; ++u) users.push_back(u * 5);
  std::vector<stats::Results> runs;
  for (int run = 0; run < 2; ++run) {
    stats::Results r = stats::testing::ResultsBuilder("Shop")
                           .span(kStartUs + run * 3'600'000'000LL, kStartUs + run * 3'600'000'000LL + 1)
                           .status(stats::RunStatus::complete)
                           .cycles(users, 10)
                           .build();
    for (stats::CycleResults& cycle : r.cycles) {
      stats::testing::record_page_successes(cycle, "Home", "Home.1", 10, [&](int i) { return int64_t{i * 1'000}; },
                                            r.config.apdex_t_us());
    }
    runs.push_back(std::move(r));
  }
  const TrendReport trend = compute_trend({{"a", &runs[0]}, {"b", &runs[1]}});
  const std::vector<Figure> all = figures(render_trend_html(trend));
  ASSERT_FALSE(all.empty());
  for (const Figure& figure : all) {
    ASSERT_EQ(figure.spec["series"].size(), 20u) << figure.caption;
    std::set<std::string> styles;
    for (const auto& series : figure.spec["series"]) {
      styles.insert(series["color"].dump() + (series.contains("dash") ? series["dash"].dump() : ""));
    }
    EXPECT_EQ(styles.size(), 20u) << figure.caption;
  }
}

// ---- Tables ----------------------------------------------------------------------------

TEST(HtmlTables, PerCycleTablesHaveP999AndUnitsInTheirHeaders) {
  const stats::Results r = sample_results();
  const std::string html = render_html_report(r);
  const std::vector<CycleSummary> summaries = cycle_summaries(r, metric_context(r, {}));
  for (const CycleSummary& s : summaries) {
    const LatencySummary& l = s.pages.latency;
    const std::string row = table_row(html, "summary-table", s.index);
    const std::string expected =
        fmt::format("<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                    format_ms(l.min_us), format_ms(l.mean_us), format_ms(l.p50_us), format_ms(l.p90_us),
                    format_ms(l.p95_us), format_ms(l.p99_us), format_ms(l.p999_us), format_ms(l.max_us));
    EXPECT_NE(row.find(expected), std::string::npos) << row;
  }
  const std::size_t head = html.find("id=\"summary-table\"");
  const std::string header = html.substr(head, html.find("</thead>", head) - head);
  EXPECT_NE(header.find("<th>p99.9 <span class=\"th-unit\">ms</span></th>"), std::string::npos) << header;
  EXPECT_NE(header.find("<th>Mean <span class=\"th-unit\">ms</span></th>"), std::string::npos) << header;
  // A page's and a request's own tables too.
  const std::size_t page = html.find("id=\"page-1\"");
  EXPECT_NE(html.find("<th>p99.9 <span class=\"th-unit\">ms</span></th>", page), std::string::npos);
}

TEST(HtmlTables, TrafficAndItemsOutsideTheWindowPerCycle) {
  const stats::Results r = sample_results();
  const std::string html = render_html_report(r);
  for (const stats::CycleResults& cycle : r.cycles) {
    const std::string row = table_row(html, "traffic-table", cycle.index);
    const stats::EntryStats requests = sum_entries(cycle.requests);
    const std::string expected = fmt::format(
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        // No connect or first-byte histogram in this sample: none opened, no times.
        "<td>0</td><td>–</td><td>–</td><td>–</td><td>–</td><td>–</td><td>3</td><td>7</td><td>11</td>",
        cycle.cvus,
        format_count(requests.total()), format_bytes(static_cast<double>(requests.bytes_sent)),
        format_bytes(static_cast<double>(requests.bytes_received)),
        format_byte_rate(static_cast<double>(requests.bytes_received) / cycle.window_s));
    EXPECT_NE(row.find(expected), std::string::npos) << row << "\nwanted " << expected;
  }
  // With connect and first-byte times recorded: the connections opened and their percentiles.
  stats::Results timed = sample_results();
  stats::EntryStats& first = timed.cycles[0].requests.begin()->stats;
  for (int i = 1; i <= 4; ++i) first.connect.record(i * 1000);
  for (int i = 1; i <= 100; ++i) first.first_byte.record(i * 100);
  const std::string timed_row = table_row(render_html_report(timed), "traffic-table", 0);
  EXPECT_NE(timed_row.find(fmt::format("<td>4</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                                       format_ms(first.connect.value_at_percentile(50)),
                                       format_ms(first.connect.value_at_percentile(95)),
                                       format_ms(first.first_byte.value_at_percentile(50)),
                                       format_ms(first.first_byte.value_at_percentile(95)),
                                       format_ms(first.first_byte.value_at_percentile(99)))),
            std::string::npos)
      << timed_row;
    // Cycle 3 abandoned two requests when the run stopped: marked.
  EXPECT_NE(table_row(html, "traffic-table", 2).find("<td class=\"warn\">2</td>"), std::string::npos);
  EXPECT_EQ(format_byte_rate(1'048'576.0 * 3 / 10), "307 KiB/s");
}

TEST(HtmlTables, TestsTableHasPagesAndRequestsPerSuccessfulTest) {
  const std::string html = render_html_report(sample_results());
  const std::size_t tests = html.find("id=\"test-1\"");
  ASSERT_NE(tests, std::string::npos);
  const std::string table = html.substr(tests, html.find("</table>", tests) - tests);
  EXPECT_NE(table.find("<th>Pages/test</th><th>Requests/test</th>"), std::string::npos) << table;
  // 300 pages and 400 requests over 100 successful tests.
  EXPECT_NE(table.find("<td>3.0</td><td>4.0</td>"), std::string::npos) << table;
  EXPECT_NE(html.find("in milliseconds. Pages/test"), std::string::npos);
  EXPECT_EQ(format_per_item(988.26), "988.3");
  EXPECT_EQ(format_per_item(2.0), "2.0");
}

}  // namespace
}  // namespace bm::report
