// Verdicts on results built by hand: thresholds per cycle and over the run, capacity,
// the knee (each of its causes), the worst cycle, and the JUnit and summary documents.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/verdict.hpp"
#include "results_fixture.hpp"

namespace bm::report {
namespace {

using stats::testing::ResultsBuilder;
using stats::testing::record_page_successes;

constexpr int64_t kApdexT = 1'500'000;

// One cycle per entry: `ok` pages of page "home" at `latency_ms`, plus `failed` failed ones
// (and as many tests: one page per test).
struct CycleSpec {
  int users;
  int ok;
  int64_t latency_ms;
  int failed = 0;
};

stats::Results run_of(const std::vector<CycleSpec>& specs, double window_s = 10) {
  std::vector<int> users;
  for (const CycleSpec& s : specs) users.push_back(s.users);
  stats::Results r = ResultsBuilder("Shop").cycles(users, window_s).build();
  r.config.apdex_t_s = 1.5;
  for (std::size_t c = 0; c < specs.size(); ++c) {
    stats::CycleResults& cycle = r.cycles[c];
    record_page_successes(cycle, "home", "GET /", specs[c].ok, [&](int) { return specs[c].latency_ms * 1000; }, kApdexT);
    stats::EntryStats& test = cycle.tests.slot("test_Shop").stats;
    for (int i = 0; i < specs[c].ok; ++i) test.record_success(specs[c].latency_ms * 1000, kApdexT);
    for (int i = 0; i < specs[c].failed; ++i) {
      cycle.pages.slot("home").stats.record_failure(stats::ErrorKind::status, 1000);
      cycle.requests.slot("home", "GET /").stats.record_failure(stats::ErrorKind::status, 1000);
      test.record_failure(stats::ErrorKind::status, 1000);
    }
  }
  return r;
}

std::vector<conf::Threshold> thresholds(std::initializer_list<std::string_view> texts) {
  std::vector<conf::Threshold> out;
  for (std::string_view text : texts) {
    std::string error;
    out.push_back(*conf::parse_threshold(text, &error));
  }
  return out;
}

MetricContext context_of(const stats::Results& r) { return metric_context(r, {}); }

TEST(Verdict, ThresholdsPerCycleGiveCapacityAndFailure) {
  // Throughput doubles, then the server slows down: p95 300 ms at 40 users.
  const stats::Results r = run_of({{10, 1000, 10}, {20, 2000, 20}, {40, 2100, 300}});
  const Verdict v = judge_run(r, context_of(r), thresholds({"p95 < 100ms", "errors < 1%"}));
  ASSERT_EQ(v.results.size(), 6u);
  EXPECT_TRUE(v.results[0].passed);
  EXPECT_TRUE(v.results[1].passed);
  EXPECT_FALSE(v.results[2].passed);
  EXPECT_NEAR(*v.results[2].value, 300'000, 300);  // 3 significant digits
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.failed_thresholds(), 1u);
  ASSERT_TRUE(v.capacity);
  EXPECT_EQ(v.cycles[*v.capacity].cvus, 20);
  EXPECT_EQ(v.headline.rfind("FAILED: 1 of 2 thresholds failed (", 0), 0u) << v.headline;
  EXPECT_NE(v.headline.find("p95 of pages < 100 ms: 300 ms in C3 · 40 users"), std::string::npos) << v.headline;
  EXPECT_EQ(v.lines.front(), "Capacity: 20 users met every threshold (C2 · 20 users).");
}

TEST(Verdict, PassingThresholdsPass) {
  const stats::Results r = run_of({{10, 1000, 10}, {20, 2000, 12}});
  const Verdict v = judge_run(r, context_of(r), thresholds({"p99.9 < 1s", "rps > 50", "tests_failed{run} < 1%"}));
  EXPECT_TRUE(v.passed) << v.headline;
  EXPECT_EQ(v.headline, "PASSED: 3 thresholds met in 2 complete cycles, up to 20 users.");
  ASSERT_EQ(v.results.size(), 5u);
  EXPECT_FALSE(v.results.back().cycle.has_value());  // the whole-run row
  EXPECT_DOUBLE_EQ(*v.results.back().value, 0.0);
}

TEST(Verdict, EachKindOfThresholdCanFail) {
  const stats::Results r = run_of({{10, 990, 10, 10}});
  const Verdict v = judge_run(r, context_of(r),
                              thresholds({"errors < 0.5%", "tests_failed < 1%", "rps > 200", "apdex > 0.999",
                                          "p95{page=home} < 5ms", "mean < 9ms", "max < 9ms", "min > 11ms",
                                          "p50{page=missing} < 1s", "pages_failed{run} < 0.1%"}));
  for (const ThresholdResult& result : v.results) EXPECT_FALSE(result.passed) << describe_result(v, result);
  EXPECT_EQ(v.results[8].note, "no page 'missing' in this cycle");
  EXPECT_NEAR(*v.results[0].value, 0.01, 1e-12);
  EXPECT_NEAR(*v.results[2].value, 99.0, 1e-9);
  EXPECT_EQ(v.failed_thresholds(), 10u);
}

TEST(Verdict, IncompleteCyclesAreNotJudged) {
  stats::Results r = run_of({{10, 1000, 10}, {20, 100, 500}});
  r.cycles[1].status = stats::CycleStatus::incomplete;
  r.run.status = stats::RunStatus::interrupted;
  const Verdict v = judge_run(r, context_of(r), thresholds({"p95 < 100ms"}));
  ASSERT_EQ(v.results.size(), 2u);
  EXPECT_FALSE(v.results[1].judged);
  EXPECT_TRUE(v.passed);
  EXPECT_EQ(v.lines.back(), "The run was interrupted: incomplete cycles are not judged.");

  r.cycles[0].status = stats::CycleStatus::incomplete;
  const Verdict none = judge_run(r, context_of(r), thresholds({"p95 < 100ms"}));
  EXPECT_FALSE(none.passed);
  EXPECT_EQ(none.headline, "FAILED: no complete cycle to judge the thresholds on.");
}

TEST(Verdict, WithoutThresholdsFailedTestsFail) {
  const stats::Results ok = run_of({{10, 1000, 10}});
  const Verdict pass = judge_run(ok, context_of(ok), {});
  EXPECT_TRUE(pass.passed);
  EXPECT_EQ(pass.headline, "PASSED: every test succeeded in 1 cycle (1000 tests); no thresholds set.");
  const stats::Results bad = run_of({{10, 1000, 10}, {20, 400, 10, 600}});
  const Verdict fail = judge_run(bad, context_of(bad), {});
  EXPECT_FALSE(fail.passed);
  EXPECT_EQ(fail.headline, "FAILED: 600 of 2000 tests failed (30.00 %); no thresholds set.");
  ASSERT_TRUE(fail.worst);
  EXPECT_EQ(fail.cycles[*fail.worst].cvus, 20);
  EXPECT_THAT(fail.lines, testing::Contains(testing::StartsWith("Worst cycle: C2 · 20 users: 60.00 % of pages failed")));
}

TEST(Verdict, KneeWhereThroughputStopsRising) {
  // A server that serves 4 at a time: throughput rises to 4 users, then stays.
  const stats::Results r = run_of({{1, 500, 20}, {2, 1000, 20}, {4, 2000, 20}, {8, 2010, 40}, {16, 2000, 80}});
  const Verdict v = judge_run(r, context_of(r), {});
  ASSERT_TRUE(v.knee);
  EXPECT_EQ(v.cycles[*v.knee].cvus, 4);
  EXPECT_EQ(v.knee_cause, KneeCause::throughput);
  EXPECT_THAT(v.lines, testing::Contains("Knee: C3 · 4 users (200.0 pages/s, page p95 20.0 ms); at C4 · 8 users "
                                         "throughput stopped rising (201.0 pages/s)."));
}

TEST(Verdict, KneeOnLatencyOrErrorsAndNoKnee) {
  const stats::Results slow = run_of({{10, 1000, 10}, {20, 1800, 30}});
  const Verdict latency = judge_run(slow, context_of(slow), {});
  ASSERT_TRUE(latency.knee);
  EXPECT_EQ(latency.knee_cause, KneeCause::latency);
  EXPECT_EQ(latency.cycles[*latency.knee].cvus, 10);

  const stats::Results failing = run_of({{10, 1000, 10}, {20, 1900, 10, 100}});
  const Verdict errors = judge_run(failing, context_of(failing), {});
  ASSERT_TRUE(errors.knee);
  EXPECT_EQ(errors.knee_cause, KneeCause::errors);

  const stats::Results scaling = run_of({{10, 1000, 10}, {20, 2000, 10}, {40, 3900, 11}});
  const Verdict none = judge_run(scaling, context_of(scaling), {});
  EXPECT_TRUE(none.knee_searched);
  EXPECT_FALSE(none.knee);
  EXPECT_THAT(none.lines, testing::Contains("Scaling: throughput still rose at the last complete cycle, C3 · 40 "
                                            "users (390.0 pages/s): no knee yet."));

  const stats::Results falling = run_of({{20, 1000, 10}, {10, 500, 10}});
  EXPECT_FALSE(judge_run(falling, context_of(falling), {}).knee_searched);
}

TEST(Verdict, JunitHasOneCasePerThresholdAndCycle) {
  stats::Results r = run_of({{10, 1000, 10}, {20, 2000, 300}});
  r.run.label = "a<b&\"c\"";
  const Verdict v = judge_run(r, context_of(r), thresholds({"p95 < 100ms", "errors{run} < 1%"}));
  const std::string xml = junit_xml(r, v);
  EXPECT_NE(xml.find("<testsuites name=\"benchmaster\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"0\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"p95 &lt; 100ms [C2 · 20 users]\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"p95 of pages &lt; 100 ms: 300 ms in C2 · 20 users\""), std::string::npos);
  EXPECT_NE(xml.find("name=\"errors{run} &lt; 1% [whole run]\""), std::string::npos);
  EXPECT_NE(xml.find("value=\"a&lt;b&amp;&quot;c&quot;\""), std::string::npos);
}

TEST(Verdict, SummaryJsonCarriesVerdictAndCycles) {
  const stats::Results r = run_of({{10, 1000, 10}, {20, 2000, 300}});
  const Verdict v = judge_run(r, context_of(r), thresholds({"p95 < 100ms"}));
  const nlohmann::json doc = nlohmann::json::parse(summary_json(r, v, context_of(r), 4));
  EXPECT_EQ(doc["format"], "benchmaster-summary");
  EXPECT_EQ(doc["passed"], false);
  EXPECT_EQ(doc["exit_code"], 4);
  EXPECT_EQ(doc["capacity"]["users"], 10);
  EXPECT_EQ(doc["thresholds"][0]["results"][1]["passed"], false);
  EXPECT_EQ(doc["thresholds"][0]["results"][1]["cycle"], 2);
  EXPECT_EQ(doc["cycles"][1]["pages"], 2000);
  EXPECT_EQ(doc["cycles"][1]["thresholds_met"], false);
  EXPECT_TRUE(doc["cycles"][0]["page_latency_us"]["p99.9"].is_number());
}

}  // namespace
}  // namespace bm::report
