// The HTML run report: escaping, the metrics it prints (percentiles from histograms,
// rates, Apdex, best cycle), that its tables hold the results' numbers, and that it is
// one self-contained file.

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report/html_assets.hpp"
#include "report/html_escape.hpp"
#include "common/format.hpp"
#include "report/html_metrics.hpp"
#include "report/html_page.hpp"
#include "report/html_report.hpp"
#include "results_fixture.hpp"
#include "stats/results.hpp"

namespace bm::report {

using namespace bm::common;  // the shared number and time formatters
namespace {

namespace fs = std::filesystem;

constexpr int64_t kStartUs = 1'800'000'000'000'000;
constexpr const char* kPayload = "<script>alert(1)</script>";

std::size_t count(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Two cycles (10 and 20 users, 10 s windows) of one test with pages "Home" and "Buy",
// each page one main request, with known latencies and one failure in cycle 2.
stats::Results sample_results() {
  stats::Results r = stats::testing::ResultsBuilder("Shop")
                         .function("test_Shop")
                         .title("Shop title")
                         .url("http://127.0.0.1:1")
                         .span(kStartUs, kStartUs + 40'000'000)
                         .status(stats::RunStatus::complete)
                         .cycles({10, 20}, 10)
                         .cycle_times(kStartUs, 20'000'000, 2'000'000, 2'000'000)
                         .build();
  r.config.apdex_t_s = 1.5;
  const int64_t t = r.config.apdex_t_us();
  for (stats::CycleResults& cycle : r.cycles) {
    const int c = cycle.index;
    for (const char* page : {"Home", "Buy"}) {
      stats::Entry& request = stats::testing::record_page_successes(
          cycle, page, std::string(page) + ".1", 100,
          [&](int i) { return int64_t{(c + 1) * i * 1'000 + (page[0] == 'B' ? 50'000 : 0)}; }, t, 200);
      request.method = "GET";
      request.url = std::string("http://127.0.0.1:1/") + page;
    }
    stats::EntryStats& test = cycle.tests.slot("test_Shop").stats;
    for (int i = 0; i < 50; ++i) test.record_success(500'000 + i * 1'000, t);
    for (int s = 0; s < 14; ++s) {
      stats::SecondAccumulator second(cycle.start_epoch_us / 1'000'000 + s);
      second.set_cycle(c, stats::Phase::window);
      second.set_cvus(cycle.cvus);
      for (int i = 1; i <= 20; ++i) second.record_request_ok(i * 1'000 * (s + 1));
      if (auto point = second.roll(second.second() + 1)) r.series.push_back(std::move(*point));
    }
  }
  stats::CycleResults& second = r.cycles[1];
  second.pages.slot("Buy").stats.record_failure(stats::ErrorKind::status, 2'000);
  second.requests.slot("Buy", "Buy.1").stats.record_failure(stats::ErrorKind::status, 2'000);
  second.errors.record({stats::ErrorKind::status, stats::Verdict::failure, "Buy", "Buy.1", 500, "HTTP 500", {}, {},
                        second.window_start_epoch_us + 1'000'000});
  return r;
}

// Every string a results file can carry set to a payload that would run if not escaped.
stats::Results hostile_results() {
  stats::Results r = sample_results();
  for (std::string* s : {&r.run.title, &r.run.description, &r.run.label, &r.run.url, &r.run.test, &r.run.function,
                         &r.run.test_file, &r.run.conf_file, &r.run.host, &r.tool.version}) {
    *s = kPayload;
  }
  r.run.command_line = {"bench-run", kPayload};
  r.conf[kPayload][kPayload] = kPayload;
  for (stats::CycleResults& cycle : r.cycles) {
    cycle.pages.slot(kPayload).stats.record_success(1'000, r.config.apdex_t_us());
    stats::Entry& request = cycle.requests.slot(kPayload, kPayload);
    request.method = kPayload;
    request.url = kPayload;
    request.stats.record_success(1'000, r.config.apdex_t_us());
    stats::ErrorGroup& group = cycle.errors.record({stats::ErrorKind::assertion, stats::Verdict::failure, kPayload,
                                                    kPayload, 200, kPayload, kPayload, kPayload, kStartUs});
    group.add_example(std::string("body: ") + kPayload, kPayload);
  }
  r.nodes.push_back({0, kPayload, kPayload, stats::NodeStatus::failed, 0, 0, 1, 0, kPayload});
  r.monitor.hosts.push_back(stats::testing::monitor_host(kPayload, kStartUs, 2));
  r.monitor.hosts[0].description = kPayload;
  r.monitor.hosts[0].address = kPayload;
  r.monitor.warnings.push_back(kPayload);
  return r;
}

std::string data_block(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"bm-data\">";
  const std::size_t from = html.find(open);
  EXPECT_NE(from, std::string::npos);
  const std::size_t start = from + open.size();
  return html.substr(start, html.find("</script>", start) - start);
}

// The <tr> of `table_id` for cycle `cycle`, as text.
std::string table_row(const std::string& html, std::string_view table_id, int cycle) {
  const std::size_t table = html.find(fmt::format("id=\"{}\"", table_id));
  EXPECT_NE(table, std::string::npos) << table_id;
  const std::size_t row = html.find(fmt::format("<tr data-cycle=\"{}\">", cycle), table);
  return html.substr(row, html.find("</tr>", row) - row);
}

// ---- Escaping ----------------------------------------------------------------------

TEST(EscapeHtml, ReplacesEveryCharacterThatMeansSomethingInHtml) {
  EXPECT_EQ(escape_html("<a href=\"x\" title='y'>&amp;</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
  EXPECT_EQ(escape_html(kPayload), "&lt;script&gt;alert(1)&lt;/script&gt;");
}

TEST(EscapeHtml, KeepsUtf8TabsAndNewlinesAndReplacesOtherControls) {
  EXPECT_EQ(escape_html("caf\u00e9 \u2603\t\n"), "caf\u00e9 \u2603\t\n");
  EXPECT_EQ(escape_html(std::string("a\0b\x01", 4)), "a\uFFFDb\uFFFD");
  EXPECT_EQ(escape_html(""), "");
}

TEST(EscapeHtml, FormatterEscapesWhatItWraps) {
  EXPECT_EQ(fmt::format("<td>{}</td>", Esc{"<b>&"}), "<td>&lt;b&gt;&amp;</td>");
}

TEST(JsonForScript, NoStringCanCloseTheScriptBlock) {
  const nlohmann::json value = {{"s", "</script><!--<script>&x\u2028\u2029"}, {"n", 1.5}};
  const std::string text = json_for_script(value);
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  EXPECT_EQ(text.find('>'), std::string::npos) << text;
  EXPECT_EQ(text.find('&'), std::string::npos) << text;
  EXPECT_EQ(text.find("\u2028"), std::string::npos) << text;
  EXPECT_NE(text.find("\\u2028"), std::string::npos) << text;
  EXPECT_EQ(nlohmann::json::parse(text), value);
}

TEST(JsonForScript, ReplacesInvalidUtf8InsteadOfFailing) {
  const std::string text = json_for_script({{"s", "a\xff"}});
  EXPECT_EQ(nlohmann::json::parse(text)["s"], "a\uFFFD");
}

// ---- Formatting --------------------------------------------------------------------

TEST(Format, NumbersReadTheSameEverywhere) {
  EXPECT_EQ(format_ms(int64_t{1'234}), "1.23");
  EXPECT_EQ(format_ms(int64_t{123'456}), "123.5");
  EXPECT_EQ(format_ms(int64_t{1'234'567}), "1235");
  EXPECT_EQ(format_rate(9.999), "10.0");
  EXPECT_EQ(format_count(9'999), "9999");
  EXPECT_EQ(format_count(1'234'567), "1\u202F234\u202F567");
  EXPECT_EQ(format_percent(0.995), "99.50 %");
  EXPECT_EQ(format_percent(std::nullopt), kNoValue);
  EXPECT_EQ(format_apdex(0.9375), "0.937");  // cut, as in the text report: never the next rating's "0.940"
  EXPECT_EQ(format_apdex(0.93371), "0.933");
  EXPECT_EQ(format_epoch_us(kStartUs), "2027-01-15 08:00:00 UTC");
  EXPECT_EQ(format_duration_s(3723), "1 h 02 min 03 s");
  EXPECT_EQ(format_signed_percent(0.123), "+12.3 %");
  EXPECT_EQ(format_signed_percent(-0.004), "-0.4 %");
}

// ---- Metrics -----------------------------------------------------------------------

TEST(Format, ChartValuesKeepFourSignificantDigits) {
  EXPECT_DOUBLE_EQ(chart_value(190.079), 190.1);
  EXPECT_DOUBLE_EQ(chart_value(0.604167), 0.6042);
  EXPECT_DOUBLE_EQ(chart_value(-12.3456), -12.35);
  EXPECT_DOUBLE_EQ(chart_value(123456.7), 123457);
  EXPECT_DOUBLE_EQ(chart_value(0), 0);
}

TEST(SummarizeLatency, GivesTheHistogramsOwnPercentilesInOnePass) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(10, 1.5);
  for (int round = 0; round < 20; ++round) {
    stats::Histogram histogram;
    const int n = 1 + static_cast<int>(rng() % 5000);
    for (int i = 0; i < n; ++i) histogram.record(static_cast<int64_t>(dist(rng)));
    const stats::SparseHistogram sparse(histogram);
    for (const LatencySummary& s : {summarize_latency(histogram), summarize_latency(sparse)}) {
      EXPECT_EQ(s.count, histogram.count());
      EXPECT_EQ(s.min_us, histogram.min());
      EXPECT_EQ(s.max_us, histogram.max());
      EXPECT_DOUBLE_EQ(s.mean_us, histogram.mean());
      EXPECT_EQ(s.p50_us, histogram.value_at_percentile(50));
      EXPECT_EQ(s.p90_us, histogram.value_at_percentile(90));
      EXPECT_EQ(s.p95_us, histogram.value_at_percentile(95));
      EXPECT_EQ(s.p99_us, histogram.value_at_percentile(99));
    }
  }
  EXPECT_EQ(summarize_latency(stats::Histogram{}).count, 0u);
  EXPECT_EQ(summarize_latency(stats::Histogram{}).p99_us, 0);
}

TEST(Apdex, StoredCountsForTheRunsThresholdRecountedForAnother) {
  stats::EntryStats entry;
  const int64_t run_t = 1'500'000;
  for (int64_t us : {100'000, 1'000'000, 3'000'000, 10'000'000}) entry.record_success(us, run_t);
  entry.record_failure(stats::ErrorKind::status, 1'000);
  EXPECT_EQ(apdex_for(entry, run_t, run_t), entry.apdex);
  EXPECT_EQ(entry.apdex, (stats::Apdex{2, 1, 2}));
  const stats::Apdex half_second = apdex_for(entry, run_t, 500'000);
  EXPECT_EQ(half_second, (stats::Apdex{1, 1, 3}));
}

TEST(Metrics, RowsAreRatesOverTheWindowAndExactPercentiles) {
  const stats::Results r = sample_results();
  const MetricContext context = metric_context(r, {});
  const stats::CycleResults& cycle = r.cycles[1];
  const stats::EntryStats& buy = cycle.pages.find("Buy")->stats;
  const EntryRow row = entry_row(cycle, buy, context);
  EXPECT_EQ(row.cvus, 20);
  EXPECT_EQ(row.ok, 100u);
  EXPECT_EQ(row.failures, 1u);
  EXPECT_DOUBLE_EQ(row.ok_per_s, 10.0);
  EXPECT_DOUBLE_EQ(*row.success_rate, 100.0 / 101.0);
  EXPECT_EQ(row.latency.p95_us, buy.latency.value_at_percentile(95));

  const std::vector<CycleSummary> summaries = cycle_summaries(r, context);
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[1].pages.ok, 200u);
  EXPECT_DOUBLE_EQ(summaries[1].pages.ok_per_s, 20.0);
  EXPECT_DOUBLE_EQ(summaries[1].tests.ok_per_s, 5.0);
  stats::Histogram all_pages = cycle.pages.find("Home")->stats.latency;
  all_pages.merge(buy.latency);
  EXPECT_EQ(summaries[1].pages.latency.p90_us, all_pages.value_at_percentile(90));
}

TEST(Metrics, BestCycleIsTheFastestWithAGoodApdexElseTheFirst) {
  std::vector<CycleSummary> cycles(3);
  auto set = [](CycleSummary& c, double rate, uint64_t satisfied, uint64_t frustrated) {
    c.pages.ok_per_s = rate;
    c.pages.apdex = {satisfied, 0, frustrated};
  };
  set(cycles[0], 10, 100, 0);
  set(cycles[1], 30, 95, 5);
  set(cycles[2], 50, 50, 50);  // fastest, but Apdex 0.5
  EXPECT_EQ(best_cycle(cycles), 1u);
  set(cycles[1], 30, 10, 90);
  set(cycles[0], 10, 10, 90);
  EXPECT_EQ(best_cycle(cycles), 0u);
  EXPECT_EQ(best_cycle({}), std::nullopt);
}

TEST(Metrics, EntryHistoriesFollowEachKeyThroughTheCycles) {
  const stats::Results r = sample_results();
  const auto requests = entry_histories(r, EntryTableKind::requests, metric_context(r, {}));
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].page, "Buy");
  EXPECT_EQ(requests[1].url, "http://127.0.0.1:1/Buy");
  ASSERT_EQ(requests[1].rows.size(), 2u);
  EXPECT_EQ(requests[1].rows[1].failures, 1u);
}

// ---- The document ------------------------------------------------------------------

TEST(HtmlReport, SummaryTableHoldsTheResultsNumbers) {
  const stats::Results r = sample_results();
  const std::string html = render_html_report(r);
  const std::vector<CycleSummary> summaries = cycle_summaries(r, metric_context(r, {}));
  for (const CycleSummary& s : summaries) {
    const std::string row = table_row(html, "summary-table", s.index);
    const LatencySummary& l = s.pages.latency;
    const std::string expected =
        fmt::format("<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                    "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                    s.cvus, format_rate(s.tests.ok_per_s), format_rate(s.pages.ok_per_s),
                    format_rate(s.requests.ok_per_s), format_percent(s.pages.success_rate), format_ms(l.min_us),
                    format_ms(l.mean_us), format_ms(l.p50_us), format_ms(l.p90_us), format_ms(l.p95_us),
                    format_ms(l.p99_us), format_ms(l.p999_us), format_ms(l.max_us));
    EXPECT_NE(row.find(expected), std::string::npos) << row << "\nwanted " << expected;
    EXPECT_NE(row.find(format_apdex(s.pages.apdex_score())), std::string::npos) << row;
  }
  EXPECT_NE(html.find("id=\"page-1\""), std::string::npos);
  EXPECT_NE(html.find("id=\"request-2\""), std::string::npos);
  EXPECT_NE(html.find("HTTP 500"), std::string::npos);
}

TEST(HtmlReport, ApdexCellsAreColourCodedByRating) {
  stats::Results r = sample_results();
  r.config.apdex_t_s = 0.06;  // Buy pages (50 ms and more) now tolerate
  const std::string html = render_html_report(r, {0.001, std::nullopt});
  EXPECT_NE(html.find("class=\"apdex apdex-U\""), std::string::npos);
  const std::string relaxed = render_html_report(r, {10.0, std::nullopt});
  EXPECT_NE(relaxed.find("class=\"apdex apdex-E\""), std::string::npos);
  EXPECT_EQ(relaxed.find("class=\"apdex apdex-U\""), std::string::npos);
}

TEST(HtmlReport, EveryStringFromTheResultsStaysText) {
  const std::string html = render_html_report(hostile_results());
  // Our own three script blocks (data, uPlot, report) and not one more.
  EXPECT_EQ(count(html, "<script"), 3u);
  EXPECT_EQ(count(html, "alert(1)</script>"), 0u);
  EXPECT_GT(count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), 10u);
  // In the data block the payload is a JSON string with < and > escaped.
  const std::string data = data_block(html);
  EXPECT_EQ(data.find('<'), std::string::npos);
  EXPECT_TRUE(nlohmann::json::accept(data));
}

TEST(HtmlReport, EmbeddedAssetsCannotEndTheirOwnBlocks) {
  auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  for (std::string_view script : {assets::uplot_js(), assets::report_js()}) {
    EXPECT_GT(script.size(), 1000u);
    EXPECT_EQ(lower(script).find("</script"), std::string::npos);
  }
  for (std::string_view style : {assets::uplot_css(), assets::report_css()}) {
    EXPECT_EQ(lower(style).find("</style"), std::string::npos);
  }
}

TEST(HtmlReport, IsOneSelfContainedFileThatLoadsNothing) {
  const std::string html = render_html_report(sample_results());
  EXPECT_EQ(html.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'; script-src 'sha256-"), std::string::npos);
  EXPECT_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=\s*"(https?:)?//)")));
  EXPECT_EQ(count(html, "<link rel=\"stylesheet\""), 0u);
  EXPECT_NE(html.find("uPlot"), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);
}

TEST(HtmlReport, DataBlockHoldsASpecForEveryChartPlaceholder) {
  const std::string html = render_html_report(sample_results());
  const nlohmann::json data = nlohmann::json::parse(data_block(html));
  const std::size_t placeholders = count(html, "class=\"plot\" data-chart=\"");
  EXPECT_EQ(data["charts"].size(), placeholders);
  // summary 6 (throughput, page rate and times, success, Apdex, distribution), timeline 4
  // (throughput, users, times, failures), 2 pages with 3 each, 2 requests with 2 each.
  EXPECT_EQ(placeholders, 6u + 4u + 2 * 3u + 2 * 2u);
  for (const auto& [id, spec] : data["charts"].items()) {
    if (spec.contains("view")) {  // drawn by report.js from shared columns
      const nlohmann::json& columns = data["columns"][spec["columns"].get<std::string>()];
      for (const char* name : {"ok", "failed", "p50", "p90", "p95", "p99", "p999", "mean"}) {
        EXPECT_EQ(columns[name].size(), columns["x"].size()) << id << " " << name;
      }
      continue;
    }
    for (const auto& series : spec["series"]) EXPECT_EQ(series["data"].size(), spec["x"].size()) << id;
  }
  // The page p95 column of the first page holds its histogram's p95 per cycle, in ms.
  const stats::Results r = sample_results();
  const nlohmann::json& home = data["columns"]["s1"];
  EXPECT_EQ(home["x"], (nlohmann::json{10, 20}));
  EXPECT_DOUBLE_EQ(home["p95"][1].get<double>(),
                   chart_value(static_cast<double>(r.cycles[1].pages.find("Home")->stats.latency.value_at_percentile(95)) / 1e3));
}

TEST(HtmlReport, TimelinePercentilesComeFromEachSecondsHistogram) {
  const stats::Results r = sample_results();
  const nlohmann::json data = nlohmann::json::parse(data_block(render_html_report(r)));
  const nlohmann::json* latency = nullptr;
  for (const auto& [id, spec] : data["charts"].items()) {
    if (spec.contains("time") && spec["series"][0]["label"] == "p50") latency = &spec;
  }
  ASSERT_NE(latency, nullptr);
  const stats::SeriesPoint& first = r.series.front();
  EXPECT_EQ((*latency)["x"][0], first.t);
  EXPECT_DOUBLE_EQ((*latency)["series"][1]["data"][0].get<double>(),
                   chart_value(static_cast<double>(first.latency.value_at_percentile(95)) / 1000.0));
  EXPECT_EQ((*latency)["bands"].size(), 2u);
}

TEST(HtmlReport, InterruptedRunsAndFailedNodesAreFlagged) {
  stats::Results r = sample_results();
  r.run.status = stats::RunStatus::interrupted;
  r.cycles[1].status = stats::CycleStatus::incomplete;
  r.nodes = {{0, "load1", "", stats::NodeStatus::complete, 0, 1'200, 10, 0, ""},
             {1, "load2", "", stats::NodeStatus::failed, 0, 0, 0, 0, "ssh: connection refused"}};
  const std::string html = render_html_report(r);
  EXPECT_NE(html.find("Interrupted run."), std::string::npos);
  EXPECT_NE(html.find("1 of 2 nodes did not complete."), std::string::npos);
  EXPECT_NE(html.find("<span class=\"tag tag-warn\">incomplete</span>"), std::string::npos);
  EXPECT_NE(html.find("ssh: connection refused"), std::string::npos);
  EXPECT_NE(html.find("<td>1.20</td>"), std::string::npos);  // start skew in ms
}

// An interrupted cycle whose window lasted 0.2 ms with one request would read as
// 5,000 requests/s: it must not become the peak, nor the best cycle.
TEST(HtmlReport, AnIncompleteCycleNeverFeedsTheHeadline) {
  stats::Results r = sample_results();
  stats::CycleResults& cut = r.cycles[1];
  cut.status = stats::CycleStatus::incomplete;
  cut.window_s = 0.0002;
  const std::string html = render_html_report(r);
  const std::size_t peak = html.find("Peak throughput");
  ASSERT_NE(peak, std::string::npos);
  const std::string card = html.substr(peak, html.find("</div></div>", peak) - peak);
  EXPECT_NE(card.find("C1 ·"), std::string::npos) << card;
  EXPECT_EQ(card.find("C2"), std::string::npos) << card;
  const std::size_t p95 = html.find("Page time p95");
  ASSERT_NE(p95, std::string::npos);
  const std::string p95_card = html.substr(p95, html.find("</div></div>", p95) - p95);
  EXPECT_NE(p95_card.find("C1 ·"), std::string::npos) << p95_card;
  EXPECT_EQ(p95_card.find("C2"), std::string::npos) << p95_card;
}

// The key figures are the worst cycle's, never a best cycle's alone; the verdict comes first.
TEST(HtmlReport, KeyFiguresShowTheWorstCycleAndTheVerdictLeads) {
  stats::Results r = sample_results();
  r.config.thresholds = {"p95 < 1ms"};
  const std::string html = render_html_report(r);
  const std::size_t verdict = html.find("<section id=\"verdict\" class=\"verdict verdict-fail\"");
  ASSERT_NE(verdict, std::string::npos);
  EXPECT_LT(verdict, html.find("Key figures"));
  EXPECT_NE(html.find("<table id=\"thresholds\""), std::string::npos);
  EXPECT_NE(html.find("<code>p95 &lt; 1ms</code>"), std::string::npos);
  const std::vector<CycleSummary> summaries = cycle_summaries(r, metric_context(r, {}));
  int64_t highest = 0;
  for (const CycleSummary& s : summaries) highest = std::max(highest, s.pages.latency.p95_us);
  const std::size_t p95 = html.find("Page time p95");
  ASSERT_NE(p95, std::string::npos);
  const std::string card = html.substr(p95, html.find("</div></div>", p95) - p95);
  EXPECT_NE(card.find(">" + common::format_ms(highest) + "<"), std::string::npos) << card;
  EXPECT_NE(card.find("highest"), std::string::npos) << card;
}

// Journeys that fail on a check while every page answered 200: the page success reads
// 100 %, so the test success stands beside it.
TEST(HtmlReport, TestSuccessStandsBesidePageSuccess) {
  stats::Results r = sample_results();
  uint64_t ok = 0, all = 0;
  for (stats::CycleResults& cycle : r.cycles) {
    stats::EntryStats& test = cycle.tests.slot("test_Shop").stats;
    for (int i = 0; i < 3; ++i) test.record_failure(stats::ErrorKind::assertion, 1000);
    ok += test.ok;
    all += test.ok + test.failures + test.errors;
  }
  const std::string html = render_html_report(r);
  const std::size_t at = html.find("Test success");
  ASSERT_NE(at, std::string::npos);
  ASSERT_LT(at, html.find("Page success")) << "journeys first";
  const std::string card = html.substr(at, html.find("</div></div>", at) - at);
  EXPECT_NE(card.find(fmt::format("{} of {} tests (user journeys)", ok, all)), std::string::npos) << card;
  const std::size_t open = html.rfind("<div class=\"card ", at);
  EXPECT_NE(html.substr(open, at - open).find("card-bad"), std::string::npos) << html.substr(open, at - open);
}

TEST(HtmlReport, NodesWindowSkewIsShownAndWarnedAboveTheBound) {
  stats::Results r = sample_results();
  r.nodes = {{0, "load1", "", stats::NodeStatus::complete, 0, 0, 10, 0, ""},
             {1, "load2", "", stats::NodeStatus::complete, 0, 0, 10, 0, ""}};
  r.cycles[0].window_skew_us = 1'500;
  r.cycles[1].window_skew_us = 80'000;
  const std::string html = render_html_report(r);
  EXPECT_NE(html.find("<span>C1 1.50</span>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"bad\">C2 80.0</span>"), std::string::npos);
  EXPECT_NE(html.find("more than 50 ms apart"), std::string::npos);
  r.cycles[1].window_skew_us = 40'000;
  EXPECT_EQ(render_html_report(r).find("more than 50 ms apart"), std::string::npos);
}

TEST(HtmlReport, MonitorSamplesGetChartsPerHost) {
  stats::Results r = sample_results();
  EXPECT_EQ(render_html_report(r).find("id=\"monitor\""), std::string::npos);
  const std::size_t charts_without = count(render_html_report(r), "class=\"plot\" data-chart=\"");
  r.monitor.hosts.push_back(stats::testing::monitor_host("web1", kStartUs, 5));
  r.monitor.hosts.push_back(stats::testing::monitor_host("db1", kStartUs, 5));
  r.monitor.hosts[1].points[2].network.reset();  // a source without some groups still draws the rest
  const std::string html = render_html_report(r);
  EXPECT_NE(html.find("id=\"monitor\""), std::string::npos);
  EXPECT_NE(html.find("<h3>web1</h3>"), std::string::npos);
  EXPECT_NE(html.find("id=\"monitor-cycles\""), std::string::npos);
  // CPU, load, memory, network, disk and TCP for each host.
  EXPECT_EQ(count(html, "class=\"plot\" data-chart=\""), charts_without + 2 * 6);
}

TEST(HtmlReport, MonitorGapsAndWarningsAreShown) {
  stats::Results r = sample_results();
  r.monitor.hosts.push_back(stats::testing::monitor_host("web1", kStartUs, 5));
  r.monitor.hosts[0].gaps.push_back({kStartUs + 2'100'000, kStartUs + 9'000'000, "connection refused"});
  r.monitor.warnings.push_back("monitor web1: no samples from 12:00:02 to 12:00:09 (connection refused)");
  const std::string html = render_html_report(r);
  EXPECT_NE(html.find("1 gap in its samples"), std::string::npos);
  EXPECT_NE(html.find("no samples from 12:00:02"), std::string::npos);
}

TEST(HtmlReport, ASaturatedGeneratorIsToldFirstAndShadedOnTheTimeline) {
  stats::Results r = sample_results();
  const std::string calm = render_html_report(r);
  EXPECT_EQ(calm.find("id=\"saturation\""), std::string::npos);
  stats::GeneratorHealth g;
  g.host = "gen1";
  g.workers = 2;
  g.cores = 2;
  const stats::CycleResults& cycle = r.cycles.front();
  for (int64_t t = cycle.window_start_epoch_us / 1'000'000; t < cycle.window_end_epoch_us / 1'000'000; ++t) {
    g.points.push_back({t, 1.95, 1.0, 0.4, 75.0, 1 << 20, 10, true});
  }
  r.generators.push_back(g);
  const std::string html = render_html_report(r);
  const std::size_t banner = html.find("id=\"saturation\"");
  ASSERT_NE(banner, std::string::npos);
  EXPECT_LT(banner, html.find("id=\"summary-table\""));
  EXPECT_NE(html.find("Cycle C1: the load generator (gen1) was saturated for"), std::string::npos);
  EXPECT_NE(html.find("its latencies are not trustworthy"), std::string::npos);
  EXPECT_NE(data_block(html).find("\"saturated\",true]"), std::string::npos);
}

TEST(HtmlReport, ARunThatHasNotFinishedACycleStillRenders) {
  stats::Results r;
  r.run.test = "Shop";
  r.run.start_epoch_us = kStartUs;
  r.config.cycles = {10};
  const std::string html = render_html_report(r);
  EXPECT_NE(html.find("Run in progress."), std::string::npos);
  EXPECT_NE(html.find("No cycle has finished."), std::string::npos);
  EXPECT_NE(html.find("no per-second series"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

TEST(HtmlReport, LongRunsAreDrawnWithSeveralSecondsPerPointAndNothingLost) {
  stats::Results r = sample_results();
  r.series.clear();
  const int64_t first = kStartUs / 1'000'000;
  for (int64_t s = 0; s < 10'000; ++s) {
    stats::SecondAccumulator second(first + s);
    second.set_cvus(10);
    for (int i = 0; i < 3; ++i) second.record_request_ok(1'000 * (s % 7 + 1));
    r.series.push_back(*second.roll(second.second() + 1));
  }
  const nlohmann::json data = nlohmann::json::parse(data_block(render_html_report(r)));
  const nlohmann::json* throughput = nullptr;
  for (const auto& [id, spec] : data["charts"].items()) {
    if (spec.contains("time") && spec["series"][0]["label"] == "Requests/s") throughput = &spec;
  }
  ASSERT_NE(throughput, nullptr);
  const std::size_t points = (*throughput)["x"].size();
  EXPECT_LE(points, 3600u);
  EXPECT_EQ(points, 3334u);  // 3 seconds per point
  double requests = 0;
  for (const auto& rate : (*throughput)["series"][0]["data"]) requests += rate.get<double>() * 3;
  EXPECT_DOUBLE_EQ(requests, 30'000.0);
}

// ---- Open model ----------------------------------------------------------------------

// The sample run as an open-model one: 200/s then 400/s from a pool of up to 20; the
// second cycle's pool ran out. Pages are served in 5 ms whatever their time from the
// intended start.
stats::Results open_model_results() {
  stats::Results r = sample_results();
  r.config.rates = "200:400";
  r.config.max_users = 20;
  r.config.arrivals = "constant";
  r.cycles[0].arrivals = stats::Arrivals{200, 200, 2000, 2000, 0, 0, 10, 0};
  r.cycles[1].arrivals = stats::Arrivals{400, 400, 4000, 3000, 900, 1000, 20, 1'250'000};
  for (stats::CycleResults& cycle : r.cycles) {
    for (const stats::Entry& page : cycle.pages) cycle.pages.slot(page.key).stats.service.record_n(5'000, page.stats.ok);
    for (const stats::Entry& request : cycle.requests) {
      cycle.requests.slot(request.page, request.key).stats.service.record_n(5'000, request.stats.ok);
    }
  }
  return r;
}

TEST(HtmlReport, OpenModelRunsShowArrivalsAndServiceTimesNextToTheOthers) {
  const stats::Results r = open_model_results();
  const std::string html = render_html_report(r);
  const std::vector<CycleSummary> summaries = cycle_summaries(r, metric_context(r, {}));
  // The summary names the load by its rate; times from the intended start, then service.
  EXPECT_NE(html.find("<th colspan=\"8\" class=\"group\">From intended start</th><th colspan=\"3\" "
                      "class=\"group\">Service</th>"),
            std::string::npos);
  const std::string row = table_row(html, "summary-table", 1);
  const LatencySummary& l = summaries[1].pages.latency;
  EXPECT_NE(row.find(fmt::format("<td>400/s</td><td>{}</td>", format_rate(summaries[1].tests.ok_per_s))),
            std::string::npos)
      << row;
  EXPECT_NE(row.find(fmt::format("<td>{}</td><td>5.00</td><td>5.00</td><td>5.00</td><td class=\"apdex",
                                 format_ms(l.max_us))),
            std::string::npos)
      << row;
  // Arrivals: asked, achieved, due, started, late (and %), missed (and %), longest wait, pool peak.
  EXPECT_NE(table_row(html, "arrivals-table", 1)
                .find("<td>400/s</td><td>300.0/s</td><td>4000</td><td>3000</td><td class=\"warn\">900</td>"
                      "<td class=\"warn\">22.50 %</td><td class=\"bad\">1000</td><td class=\"bad\">25.00 %</td>"
                      "<td>1250</td><td>20</td>"),
            std::string::npos)
      << table_row(html, "arrivals-table", 1);
  // Each page's table too, and the thresholds' columns and the verdict by rate.
  const std::size_t page = html.find("id=\"page-1\"");
  ASSERT_NE(page, std::string::npos);
  EXPECT_NE(html.find("<td>5.00</td><td>5.00</td><td>5.00</td>", page), std::string::npos);
  EXPECT_NE(html.find("C2 · 400/s: 1000 of 4000 starts missed (the pool of 20 users was full)"), std::string::npos);
  EXPECT_NE(html.find("From intended start, service"), std::string::npos);
  // Charts: against the asked rate, the distribution's lines named by it, service times in the data.
  const nlohmann::json data = nlohmann::json::parse(data_block(html));
  bool rate_axis = false, named = false, service = false;
  for (const auto& [id, spec] : data["charts"].items()) {
    if (spec.value("xlabel", "") == "Rate asked (iterations/s)") rate_axis = spec["x"] == nlohmann::json{200, 400};
    for (const auto& series : spec.value("series", nlohmann::json::array())) {
      named = named || series.value("label", "") == "C2 · 400/s";
    }
  }
  for (const auto& [id, columns] : data["columns"].items()) {
    service = service || (columns.contains("svc99") && columns["xlabel"] == "Rate asked (iterations/s)");
  }
  EXPECT_TRUE(rate_axis);
  EXPECT_TRUE(named);
  EXPECT_TRUE(service);
  EXPECT_NE(html.find("Throughput against the asked rate"), std::string::npos);
  EXPECT_EQ(html.find("Throughput against concurrency"), std::string::npos);
}

TEST(HtmlReport, ClosedModelRunsKeepUsersAndHaveNoArrivals) {
  const std::string html = render_html_report(sample_results());
  EXPECT_EQ(html.find("id=\"arrivals-table\""), std::string::npos);
  EXPECT_EQ(html.find("From intended start"), std::string::npos);
  EXPECT_NE(html.find("Throughput against concurrency"), std::string::npos);
}

TEST(HtmlReport, OpenModelStringsAndNodesStayText) {
  stats::Results r = open_model_results();
  r.config.rates = kPayload;
  r.config.arrivals = kPayload;
  r.nodes = {{0, kPayload, kPayload, stats::NodeStatus::complete, 0, 0, 10, 0, kPayload, 0, 0,
              {stats::Arrivals{100, 100, 1000, 990, 0, 10, 5, 0}, stats::Arrivals{200, 200, 2000, 1500, 0, 500, 10, 0}}},
             {1, "load2", "", stats::NodeStatus::complete, 0, 0, 10, 0, "", 0, 0,
              {stats::Arrivals{100, 100, 1000, 1000, 0, 0, 5, 0}, stats::Arrivals{200, 200, 2000, 1500, 900, 500, 10, 0}}}};
  const std::string html = render_html_report(r);
  EXPECT_EQ(count(html, "<script"), 3u);
  EXPECT_EQ(count(html, "alert(1)</script>"), 0u);
  const std::size_t nodes = html.find("id=\"arrivals-nodes\"");
  ASSERT_NE(nodes, std::string::npos);
  EXPECT_NE(html.find("<td>1</td><td class=\"text\">load2</td><td>200/s</td><td>150.0/s</td><td>2000</td>", nodes),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"text\">&lt;script&gt;alert(1)&lt;/script&gt;</td><td>100/s</td>", nodes),
            std::string::npos);
  EXPECT_TRUE(nlohmann::json::accept(data_block(html)));
}

TEST(BuildHtmlReport, WritesIndexHtmlIntoANewFolder) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("bm-report-test-{}", ::getpid());
  fs::remove_all(dir);
  std::string error;
  fs::path written;
  ASSERT_TRUE(build_html_report(sample_results(), dir / "nested", &error, &written)) << error;
  EXPECT_EQ(written, dir / "nested" / "index.html");
  std::ifstream file(written);
  const std::string text((std::istreambuf_iterator<char>(file)), {});
  EXPECT_NE(text.find("</html>"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "nested" / "index.html.tmp"));

  std::ofstream(dir / "a-file") << "x";
  EXPECT_FALSE(build_html_report(sample_results(), dir / "a-file", &error, &written));
  EXPECT_NE(error.find("a-file"), std::string::npos) << error;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bm::report
