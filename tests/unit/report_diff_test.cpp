// Diff and trend reports: the maths of a change, better/worse judgement and its colour,
// joining cycles on users, the warnings for runs that are not comparable, and the trend's
// ordering and series.

#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report/diff_report.hpp"
#include "common/format.hpp"
#include "report/trend_report.hpp"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "results_fixture.hpp"
#include "stats/results.hpp"

namespace bm::report {

using namespace bm::common;  // the shared number and time formatters
namespace {

constexpr int64_t kStartUs = 1'800'000'000'000'000;

// One page "Home" per cycle; `scale` multiplies every latency, `ok` is the number of
// successful pages per cycle (window 10 s).
stats::Results run(std::vector<int> users, double scale, int ok, int64_t start_us = kStartUs) {
  stats::Results r = stats::testing::ResultsBuilder("Shop")
                         .function("test_Shop")
                         .url("http://127.0.0.1:1")
                         .span(start_us)
                         .status(stats::RunStatus::complete)
                         .cycles(std::move(users), 10)
                         .build();
  for (stats::CycleResults& cycle : r.cycles) {
    const auto c = static_cast<double>(cycle.index);
    stats::testing::record_page_successes(
        cycle, "Home", "Home.1", ok, [&](int i) { return static_cast<int64_t>(scale * (1'000 * i + 10'000 * c)); },
        r.config.apdex_t_us());
    cycle.tests.slot("test_Shop").stats.record_success(1'000'000, r.config.apdex_t_us());
  }
  return r;
}

const MetricDiff& metric(const DiffRow& row, std::string_view name) {
  for (const MetricDiff& m : row.metrics) {
    if (m.name == name) return m;
  }
  throw std::out_of_range(std::string(name));
}

TEST(Compare, JudgesByDirectionAndIgnoresNoise) {
  const auto faster = compare("p95", "ms", Preference::lower_is_better, 100.0, 80.0, 0.02);
  EXPECT_DOUBLE_EQ(*faster.delta, -20.0);
  EXPECT_DOUBLE_EQ(*faster.relative, -0.2);
  EXPECT_EQ(faster.change, Change::better);
  EXPECT_EQ(compare("p95", "ms", Preference::lower_is_better, 100.0, 120.0, 0.02).change, Change::worse);
  EXPECT_EQ(compare("Pages/s", "/s", Preference::higher_is_better, 100.0, 120.0, 0.02).change, Change::better);
  EXPECT_EQ(compare("Pages/s", "/s", Preference::higher_is_better, 100.0, 80.0, 0.02).change, Change::worse);
  EXPECT_EQ(compare("p95", "ms", Preference::lower_is_better, 100.0, 101.9, 0.02).change, Change::same);
  EXPECT_EQ(compare("p95", "ms", Preference::lower_is_better, 100.0, 102.1, 0.02).change, Change::worse);
  const auto missing = compare("p95", "ms", Preference::lower_is_better, std::nullopt, 5.0, 0.02);
  EXPECT_EQ(missing.change, Change::unknown);
  EXPECT_FALSE(missing.delta);
  const auto from_zero = compare("Pages/s", "/s", Preference::higher_is_better, 0.0, 5.0, 0.02);
  EXPECT_FALSE(from_zero.relative);
  EXPECT_EQ(from_zero.change, Change::better);
}

TEST(Compare, FormatsValuesAndChangesInTheirUnits) {
  const auto p95 = compare("p95", "ms", Preference::lower_is_better, 12.5, 10.0, 0.02);
  EXPECT_EQ(format_metric_value(p95, p95.a), "12.5");
  EXPECT_EQ(format_metric_delta(p95), "-2.50");
  const auto success = compare("Success", "%", Preference::higher_is_better, 0.99, 0.995, 0.02);
  EXPECT_EQ(format_metric_value(success, success.b), "99.50 %");
  EXPECT_EQ(format_metric_delta(success), "+0.50 pt");
}

TEST(Diff, ComputesTheChangeOfEveryCycleFromBothRunsNumbers) {
  const stats::Results a = run({10, 20}, 1.0, 100);
  const stats::Results b = run({10, 20}, 1.5, 150);
  const DiffReport diff = compute_diff(a, "A", b, "B");
  EXPECT_TRUE(diff.warnings.empty());
  ASSERT_EQ(diff.cycles.size(), 2u);
  const DiffRow& second = diff.cycles[1];
  EXPECT_EQ(second.users, 20);
  const MetricDiff& rate = metric(second, "Pages/s");
  EXPECT_DOUBLE_EQ(*rate.a, 10.0);
  EXPECT_DOUBLE_EQ(*rate.b, 15.0);
  EXPECT_DOUBLE_EQ(*rate.relative, 0.5);
  EXPECT_EQ(rate.change, Change::better);
  const MetricDiff& p95 = metric(second, "p95");
  EXPECT_DOUBLE_EQ(*p95.a, static_cast<double>(a.cycles[1].pages.find("Home")->stats.latency.value_at_percentile(95)) / 1e3);
  EXPECT_DOUBLE_EQ(*p95.b, static_cast<double>(b.cycles[1].pages.find("Home")->stats.latency.value_at_percentile(95)) / 1e3);
  EXPECT_DOUBLE_EQ(*p95.delta, *p95.b - *p95.a);
  EXPECT_EQ(p95.change, Change::worse);
  ASSERT_EQ(diff.pages.size(), 1u);
  EXPECT_EQ(diff.pages[0].key, "Home");
  EXPECT_EQ(metric(diff.pages[0].rows[0], "p50").change, Change::worse);
}

TEST(Diff, JoinsCyclesOnUsersAndWarnsWhenCyclesDiffer) {
  const stats::Results a = run({10, 20, 30}, 1.0, 100);
  const stats::Results b = run({20, 30, 40}, 1.0, 100);
  const DiffReport diff = compute_diff(a, "A", b, "B");
  ASSERT_EQ(diff.cycles.size(), 4u);
  EXPECT_EQ(diff.cycles[0].users, 10);
  EXPECT_FALSE(diff.cycles[0].cycle_b);
  EXPECT_EQ(diff.cycles[1].cycle_a, 1);
  EXPECT_EQ(diff.cycles[1].cycle_b, 0);
  EXPECT_EQ(diff.cycles[3].users, 40);
  EXPECT_FALSE(diff.cycles[3].cycle_a);
  EXPECT_EQ(metric(diff.cycles[3], "p95").change, Change::unknown);
  ASSERT_EQ(diff.warnings.size(), 1u);
  EXPECT_NE(diff.warnings[0].find("10:20:30"), std::string::npos) << diff.warnings[0];
}

// The run as an open-model one: cycle c asked for rates[c] iterations/s (its pool: the users).
stats::Results open_run(std::vector<double> rates, double scale, int ok, int64_t start_us = kStartUs) {
  std::vector<int> pools(rates.size(), 10);
  stats::Results r = run(pools, scale, ok, start_us);
  std::string text;
  for (std::size_t c = 0; c < rates.size(); ++c) {
    r.cycles[c].arrivals = stats::Arrivals{rates[c], rates[c], static_cast<uint64_t>(rates[c] * 10),
                                           static_cast<uint64_t>(rates[c] * 10), 0, 0, 10, 0};
    text += (text.empty() ? "" : ":") + fmt::format("{:g}", rates[c]);
  }
  r.config.rates = text;
  return r;
}

TEST(Diff, OpenModelRunsAreJoinedOnTheRateAsked) {
  // Every cycle has a pool of 10: joined on users, they could not be told apart.
  const stats::Results a = open_run({100, 200}, 1.0, 100);
  const stats::Results b = open_run({200, 400}, 1.0, 100);
  const DiffReport diff = compute_diff(a, "a", b, "b");
  ASSERT_EQ(diff.cycles.size(), 3u);
  EXPECT_EQ(diff.cycles[0].load(), "100/s");
  EXPECT_FALSE(diff.cycles[0].cycle_b);
  EXPECT_EQ(diff.cycles[1].load(), "200/s");
  EXPECT_EQ(diff.cycles[1].cycle_a, 1);
  EXPECT_EQ(diff.cycles[1].cycle_b, 0);
  EXPECT_FALSE(diff.cycles[2].cycle_a);
  ASSERT_FALSE(diff.warnings.empty());
  EXPECT_EQ(diff.warnings[0], "The runs asked different rates: A 100:200/s, B 200:400/s. Only cycles with the same "
                              "rate are compared.");
  std::ostringstream text;
  render_diff_text(diff, text, 100);
  EXPECT_NE(text.str().find("      Rate  Metric"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("     200/s  Tests/s"), std::string::npos) << text.str();
  const std::string html = render_diff_html(diff);
  EXPECT_NE(html.find("<th>Rate</th><th>Metric</th>"), std::string::npos);
  EXPECT_NE(html.find("<th>400/s</th>"), std::string::npos);
  EXPECT_NE(html.find("Rate asked (iterations/s)"), std::string::npos);

  // An open-model run against a closed one: by position, with a warning.
  const DiffReport mixed = compute_diff(a, "a", run({10, 20}, 1.0, 100), "c");
  ASSERT_EQ(mixed.cycles.size(), 2u);
  EXPECT_EQ(mixed.cycles[1].cycle_b, 1);
  EXPECT_EQ(mixed.warnings[0], "Run A asked for arrival rates (open model) and run B for users: cycles are compared "
                               "by position.");
}

TEST(Diff, WarnsWhenDurationTestOrApdexThresholdDiffer) {
  const stats::Results a = run({10}, 1.0, 100);
  stats::Results b = run({10}, 1.0, 100);
  b.config.duration_s = 30;
  b.run.test = "Other";
  b.run.function = "test_Other";
  b.config.apdex_t_s = 0.5;
  b.run.url = "http://127.0.0.1:2";
  const DiffReport diff = compute_diff(a, "A", b, "B");
  ASSERT_EQ(diff.warnings.size(), 3u);
  EXPECT_NE(diff.warnings[0].find("A 10 s, B 30 s"), std::string::npos) << diff.warnings[0];
  EXPECT_NE(diff.warnings[1].find("A Shop, B Other"), std::string::npos) << diff.warnings[1];
  EXPECT_NE(diff.warnings[2].find("Apdex T"), std::string::npos) << diff.warnings[2];
  ASSERT_EQ(diff.notes.size(), 1u);
  DiffOptions one_threshold;
  one_threshold.report.apdex_t_s = 1.0;
  EXPECT_EQ(compute_diff(a, "A", b, "B", one_threshold).warnings.size(), 2u);
  stats::Results interrupted = run({10}, 1.0, 100);
  interrupted.run.status = stats::RunStatus::interrupted;
  EXPECT_EQ(compute_diff(a, "A", interrupted, "B").warnings.size(), 1u);
}

TEST(Diff, HtmlColoursBetterAndWorseAndShowsTheWarnings) {
  const stats::Results a = run({10}, 1.0, 100);
  stats::Results b = run({10}, 2.0, 100);
  b.config.duration_s = 20;
  const std::string html = render_diff_html(compute_diff(a, "<A>", b, "B"));
  const std::size_t p95 = html.find("data-metric=\"p95\"");
  ASSERT_NE(p95, std::string::npos);
  const std::string row = html.substr(p95, html.find("</tr>", p95) - p95);
  EXPECT_NE(row.find("<td class=\"worse\">+100.0 %</td>"), std::string::npos) << row;
  const std::size_t requests = html.find("data-metric=\"Requests/s\"");
  const std::string same = html.substr(requests, html.find("</tr>", requests) - requests);
  EXPECT_NE(same.find("<td class=\"same\">0.0 %</td>"), std::string::npos) << same;
  EXPECT_NE(html.find("id=\"diff-warnings\""), std::string::npos);
  EXPECT_NE(html.find("The cycles lasted differently"), std::string::npos);
  EXPECT_EQ(html.find("<A>"), std::string::npos);
  EXPECT_NE(html.find("&lt;A&gt;"), std::string::npos);
}

TEST(Diff, TextMarksWorseChangesAndWarnings) {
  const stats::Results a = run({10}, 1.0, 100);
  stats::Results b = run({10}, 2.0, 50);
  b.run.test = "Other";
  std::ostringstream text;
  render_diff_text(compute_diff(a, "out/a", b, "out/b"), text, 100);
  EXPECT_NE(text.str().find("WARNING: The runs ran different tests"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("WORSE"), std::string::npos);
  EXPECT_NE(text.str().find("-50.0 %"), std::string::npos) << text.str();  // pages/s halved
}

TEST(Diff, WarnsOnEverySettingThatShapesTheFigures) {
  const stats::Results a = run({10}, 1.0, 100);
  stats::Results b = run({10}, 1.0, 100);
  b.config.sleep_time_min_s = 0.5;
  b.config.sleep_time_max_s = 1.5;
  b.config.read_timeout_s = 5;
  b.run.conf_file = "Other.conf";
  b.nodes.resize(4);
  const DiffReport diff = compute_diff(a, "A", b, "B");
  const auto warned = [&](const std::string& text) {
    for (const std::string& w : diff.warnings) {
      if (w.find(text) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(warned("Think time between pages not the same: A 0 s, B 0.5 – 1.5 s")) << fmt::format("{}", fmt::join(diff.warnings, "\n"));
  EXPECT_TRUE(warned("Timeouts not the same: A connect 0 s, read 0 s, B connect 0 s, read 5 s"));
  EXPECT_TRUE(warned("Conf file not the same"));
  EXPECT_TRUE(warned("Nodes not the same: A 1 node, B 4 nodes"));
  EXPECT_EQ(diff.warnings.size(), 4u);
  // The text wraps a long warning instead of cutting it, and every time has its unit.
  std::ostringstream text;
  render_diff_text(diff, text, 60);
  EXPECT_EQ(text.str().find('~'), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("sends at another rate."), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("Mean (ms)"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("p95 (ms)"), std::string::npos);
  // A trend names each run.
  const TrendReport trend = compute_trend({{"monday", &a}, {"tuesday", &b}});
  EXPECT_EQ(trend.warnings.size(), 4u);
  EXPECT_NE(trend.warnings[3].find("monday 1 node, tuesday 4 nodes"), std::string::npos) << trend.warnings[3];
}

TEST(Trend, OrdersRunsByStartAndFollowsEveryNumberOfUsers) {
  const stats::Results late = run({10, 20}, 1.0, 100, kStartUs + 3'600'000'000);
  const stats::Results early = run({10, 30}, 2.0, 50, kStartUs);
  const TrendReport trend = compute_trend({{"late", &late}, {"early", &early}});
  ASSERT_EQ(trend.runs.size(), 2u);
  EXPECT_EQ(trend.runs[0].name, "early");
  EXPECT_EQ(trend.users, (std::vector<int>{10, 20, 30}));
  EXPECT_TRUE(trend.warnings.empty());
  EXPECT_EQ(trend.runs[0].cycle_with_users(20), nullptr);
  EXPECT_DOUBLE_EQ(trend.runs[1].cycle_with_users(20)->pages.ok_per_s, 10.0);

  const std::string html = render_trend_html(trend);
  const std::string open = "id=\"bm-data\">";
  const std::size_t at = html.find(open) + open.size();
  const nlohmann::json data = nlohmann::json::parse(html.substr(at, html.find("</script>", at) - at));
  const nlohmann::json& throughput = data["charts"]["c0"];
  EXPECT_EQ(throughput["x"], (nlohmann::json{kStartUs / 1e6, (kStartUs + 3'600'000'000) / 1e6}));
  ASSERT_EQ(throughput["series"].size(), 3u);
  EXPECT_EQ(throughput["series"][1]["label"], "20 users");
  EXPECT_TRUE(throughput["series"][1]["data"][0].is_null());
  EXPECT_EQ(throughput["series"][1]["data"][1], 10.0);
  EXPECT_NE(html.find("data-run=\"1\" data-users=\"20\""), std::string::npos);
}

TEST(Trend, FollowsEveryRateAskedOfOpenModelRuns) {
  // Every cycle has a pool of 10: by users they would all be one line.
  const stats::Results first = open_run({100, 200}, 1.0, 100, kStartUs);
  const stats::Results second = open_run({200, 400}, 1.0, 50, kStartUs + 3'600'000'000);
  const TrendReport trend = compute_trend({{"first", &first}, {"second", &second}});
  EXPECT_TRUE(trend.users.empty());
  ASSERT_EQ(trend.rates.size(), 3u);
  EXPECT_DOUBLE_EQ(trend.rates[2].from, 400);
  EXPECT_EQ(trend.runs[0].cycle_with_users(10), nullptr);
  ASSERT_NE(trend.runs[1].cycle_with_rate({200, 200}), nullptr);
  EXPECT_EQ(trend.runs[1].cycle_with_rate({200, 200})->index, 0);

  const std::string html = render_trend_html(trend);
  const std::string open = "id=\"bm-data\">";
  const std::size_t at = html.find(open) + open.size();
  const nlohmann::json data = nlohmann::json::parse(html.substr(at, html.find("</script>", at) - at));
  const nlohmann::json& throughput = data["charts"]["c0"];
  ASSERT_EQ(throughput["series"].size(), 3u);
  EXPECT_EQ(throughput["series"][1]["label"], "200/s");
  EXPECT_EQ(throughput["series"][1]["data"], (nlohmann::json{10.0, 5.0}));
  EXPECT_NE(html.find("<th>Rate</th>"), std::string::npos);
  std::ostringstream text;
  render_trend_text(trend, text, 100);
  EXPECT_NE(text.str().find("#         Rate"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("         400/s"), std::string::npos) << text.str();
}

// Both cycles' windows set, and a monitored host "db" whose CPU is busy_a in cycle 0 and
// busy_b in cycle 1 (one point in the middle of each window).
stats::Results monitored(double busy_0, double busy_1, int64_t start_us = kStartUs) {
  stats::Results r = run({10, 20}, 1.0, 100, start_us);
  for (stats::CycleResults& cycle : r.cycles) {
    cycle.window_start_epoch_us = start_us + cycle.index * 20'000'000;
    cycle.window_end_epoch_us = cycle.window_start_epoch_us + 10'000'000;
  }
  stats::MonitorHost host = stats::testing::monitor_host("db", start_us + 5'000'000, 1);
  host.points.push_back(host.points[0]);
  host.points[1].t_us = start_us + 25'000'000;
  host.points[0].cpu = stats::MonitorCpu{busy_0, 0, 0, 0, 1 - busy_0};
  host.points[1].cpu = stats::MonitorCpu{busy_1, 0, 0, 0, 1 - busy_1};
  r.monitor.hosts.push_back(host);
  return r;
}

TEST(Diff, ComparesTheCpuOfHostsBothRunsMonitored) {
  const stats::Results a = monitored(0.40, 0.80);
  stats::Results b = monitored(0.20, 0.90);
  b.monitor.hosts.push_back(stats::testing::monitor_host("web", kStartUs, 3));  // B alone: not compared
  const DiffReport diff = compute_diff(a, "A", b, "B");
  ASSERT_EQ(diff.cycles.size(), 2u);
  const MetricDiff& first = metric(diff.cycles[0], "db CPU");
  EXPECT_DOUBLE_EQ(*first.a, 0.40);
  EXPECT_DOUBLE_EQ(*first.b, 0.20);
  EXPECT_EQ(first.change, Change::better);
  EXPECT_EQ(metric(diff.cycles[1], "db CPU").change, Change::worse);
  EXPECT_THROW(metric(diff.cycles[0], "web CPU"), std::out_of_range);
  std::ostringstream text;
  render_diff_text(diff, text, 100);
  EXPECT_NE(text.str().find("db CPU"), std::string::npos);
  EXPECT_NE(text.str().find("-20.00 pt"), std::string::npos);
}

TEST(Trend, FollowsTheCpuOfHostsEveryRunMonitored) {
  const stats::Results first = monitored(0.40, 0.80);
  const stats::Results second = monitored(0.30, 0.70, kStartUs + 3'600'000'000);
  const stats::Results none = run({10, 20}, 1.0, 100, kStartUs + 7'200'000'000);
  const TrendReport both = compute_trend({{"first", &first}, {"second", &second}});
  EXPECT_EQ(both.hosts, std::vector<std::string>{"db"});
  ASSERT_EQ(both.runs[1].host_cpu.size(), 2u);
  EXPECT_DOUBLE_EQ(*both.runs[1].host_cpu[1][0], 0.70);
  std::ostringstream text;
  render_trend_text(both, text, 120);
  EXPECT_NE(text.str().find("db CPU"), std::string::npos);
  EXPECT_NE(text.str().find("70.00 %"), std::string::npos);
  EXPECT_NE(render_trend_html(both).find("<th>db CPU</th>"), std::string::npos);
  EXPECT_TRUE(compute_trend({{"first", &first}, {"none", &none}}).hosts.empty());
}

TEST(Trend, WarnsAboutRunsOfDifferentTests) {
  const stats::Results a = run({10}, 1.0, 100);
  stats::Results b = run({10}, 1.0, 100, kStartUs + 1);
  b.run.test = "Other";
  const TrendReport trend = compute_trend({{"a", &a}, {"b", &b}});
  ASSERT_EQ(trend.warnings.size(), 1u);
  EXPECT_NE(trend.warnings[0].find("Other, Shop"), std::string::npos) << trend.warnings[0];
  std::ostringstream text;
  render_trend_text(trend, text, 100);
  EXPECT_NE(text.str().find("WARNING: The runs are of different tests"), std::string::npos) << text.str();
}

}  // namespace
}  // namespace bm::report
