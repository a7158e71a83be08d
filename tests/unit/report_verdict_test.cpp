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

// ---- Open model ----------------------------------------------------------------------

// One open-model cycle: the rate asked (a ramp when rate_to is set), its starts, and `ok`
// pages of "home" at `latency_ms` from the intended start, served in `service_ms`.
struct OpenSpec {
  double rate;
  int ok;
  int64_t latency_ms;
  int64_t service_ms;
  uint64_t late = 0;
  uint64_t missed = 0;
  int pool = 10;
  double rate_to = 0;
};

stats::Results open_run_of(const std::vector<OpenSpec>& specs, double window_s = 10) {
  std::vector<int> users;
  for (const OpenSpec& s : specs) users.push_back(s.pool);
  stats::Results r = ResultsBuilder("Shop").cycles(users, window_s).build();
  r.config.apdex_t_s = 1.5;
  r.config.rates = "open";
  r.config.max_users = 10;
  r.config.arrivals = "constant";
  for (std::size_t c = 0; c < specs.size(); ++c) {
    const OpenSpec& spec = specs[c];
    stats::CycleResults& cycle = r.cycles[c];
    record_page_successes(cycle, "home", "GET /", spec.ok, [&](int) { return spec.latency_ms * 1000; }, kApdexT);
    stats::EntryStats& test = cycle.tests.slot("test_Shop").stats;
    for (int i = 0; i < spec.ok; ++i) {
      test.record_success(spec.latency_ms * 1000, kApdexT);
      cycle.pages.slot("home").stats.service.record(spec.service_ms * 1000);
      cycle.requests.slot("home", "GET /").stats.service.record(spec.service_ms * 1000);
    }
    stats::Arrivals a;
    a.rate_from = spec.rate;
    a.rate_to = spec.rate_to > 0 ? spec.rate_to : spec.rate;
    a.due = static_cast<uint64_t>(a.rate_from * window_s / 2 + a.rate_to * window_s / 2);
    a.missed = spec.missed;
    a.started = a.due - spec.missed;
    a.late = spec.late;
    a.peak_users = spec.pool;
    a.max_wait_us = spec.late > 0 ? 250'000 : 0;
    cycle.arrivals = a;
  }
  return r;
}

TEST(Verdict, OpenModelCyclesAreNamedByTheirRate) {
  EXPECT_EQ(cycle_label(1, 50, AskedRate{400, 400}), "C2 · 400/s");
  EXPECT_EQ(cycle_label(0, 12, AskedRate{50, 200}), "C1 · 50→200/s");
  EXPECT_EQ(cycle_label(2, 7, AskedRate{33.34, 33.34}), "C3 · 33.3/s");
  EXPECT_EQ(cycle_label(2, 1), "C3 · 1 user");
}

TEST(Verdict, OpenModelCapacityIsTheHighestRateMeetingEveryThreshold) {
  // 100/s and 200/s hold; at 400/s the pool of 50 ran out and the target slowed down.
  const stats::Results r = open_run_of(
      {{100, 1000, 10, 9, 0, 0, 5}, {200, 2000, 12, 10, 10, 0, 9}, {400, 2000, 900, 40, 1500, 2000, 50}});
  const Verdict v = judge_run(r, context_of(r), thresholds({"p95 < 100ms", "missed < 1%"}));
  EXPECT_TRUE(v.open_model);
  ASSERT_TRUE(v.capacity);
  EXPECT_EQ(*v.capacity, 1u);
  EXPECT_FALSE(v.passed);
  EXPECT_NE(v.headline.find("p95 of pages < 100 ms: 900 ms in C3 · 400/s"), std::string::npos) << v.headline;
  EXPECT_THAT(v.lines, testing::Contains("Capacity: 200/s met every threshold (C2 · 200/s)."));
  EXPECT_THAT(v.lines, testing::Contains("C3 · 400/s: 2000 of 4000 starts missed (the pool of 50 users was full): "
                                         "the target did not get the rate asked."));
  EXPECT_THAT(v.lines, testing::Contains(testing::StartsWith("C2 · 200/s: 10 of 2000 starts late, waiting up to "
                                                             "250 ms")));
  // The missed share, per cycle: 0, 0 and half the starts due.
  ASSERT_EQ(v.results.size(), 6u);
  EXPECT_DOUBLE_EQ(*v.results[5].value, 0.5);
  EXPECT_TRUE(v.results[4].passed);
  EXPECT_EQ(describe_result(v, v.results[5]), "missed starts < 1.00 %: 50.00 % in C3 · 400/s");
}

TEST(Verdict, MissedStartsAreAWarningNotAFailure) {
  const stats::Results r = open_run_of({{100, 1000, 10, 9}, {200, 1500, 12, 10, 0, 500, 10}});
  const Verdict v = judge_run(r, context_of(r), {});
  EXPECT_TRUE(v.passed) << v.headline;
  EXPECT_THAT(v.lines, testing::Contains(testing::StartsWith("C2 · 200/s: 500 of 2000 starts missed")));
  const Verdict with = judge_run(r, context_of(r), thresholds({"p95 < 1s"}));
  EXPECT_TRUE(with.passed) << with.headline;
  EXPECT_EQ(with.headline, "PASSED: 1 threshold met in 2 complete cycles, up to 200/s.");
}

TEST(Verdict, OpenModelKneeComparesThroughputWithTheRiseInAskedRate) {
  // Asked 100, 200, 400/s; pages/s 100, 200, then 210: the third cycle asked twice as much.
  const stats::Results r =
      open_run_of({{100, 1000, 10, 10}, {200, 2000, 10, 10}, {400, 2100, 15, 10, 0, 1900, 10}});
  const Verdict v = judge_run(r, context_of(r), {});
  ASSERT_TRUE(v.knee_searched);
  ASSERT_TRUE(v.knee);
  EXPECT_EQ(*v.knee, 1u);
  EXPECT_EQ(v.knee_cause, KneeCause::throughput);
  EXPECT_THAT(v.lines, testing::Contains("Knee: C2 · 200/s (200.0 pages/s, page p95 10.0 ms); at C3 · 400/s "
                                         "throughput stopped rising (210.0 pages/s)."));
  // The same pool size in every cycle: users do not rise, the rates do.
  EXPECT_EQ(v.cycles[0].cvus, v.cycles[2].cvus);

  // A ramp counts by its mean: 50→150 (100) then 200/s doubles what is asked.
  const stats::Results ramp = open_run_of({{50, 1000, 10, 10, 0, 0, 10, 150}, {200, 2000, 10, 10}});
  const Verdict scaling = judge_run(ramp, context_of(ramp), {});
  EXPECT_TRUE(scaling.knee_searched);
  EXPECT_FALSE(scaling.knee);
  EXPECT_THAT(scaling.lines, testing::Contains("Scaling: throughput still rose at the last complete cycle, C2 · "
                                               "200/s (200.0 pages/s): no knee yet."));
  const stats::Results falling = open_run_of({{200, 1000, 10, 10}, {100, 500, 10, 10}});
  const Verdict none = judge_run(falling, context_of(falling), {});
  EXPECT_FALSE(none.knee_searched);
  EXPECT_THAT(none.lines, testing::Contains("Scaling: the complete cycles do not rise in asked rate: no knee searched."));
}

TEST(Verdict, ServiceThresholdsReadTheServiceTimeAndFallBackToLatencyInClosedRuns) {
  const stats::Results open = open_run_of({{100, 1000, 800, 20}});
  const Verdict v = judge_run(open, context_of(open), thresholds({"p99{pages,service} < 100ms", "p99 < 100ms",
                                                                  "max{request=GET /,service,run} < 30ms"}));
  ASSERT_EQ(v.results.size(), 3u);
  EXPECT_TRUE(v.results[0].passed);
  EXPECT_NEAR(*v.results[0].value, 20'000, 20);
  EXPECT_FALSE(v.results[1].passed);
  EXPECT_NEAR(*v.results[1].value, 800'000, 800);
  EXPECT_TRUE(v.results[2].passed);

  // A closed-model run has one time per item: the service threshold reads its latency.
  const stats::Results closed = run_of({{10, 1000, 80}});
  const Verdict c = judge_run(closed, context_of(closed), thresholds({"p99{service} < 100ms", "p99{service} < 50ms"}));
  EXPECT_TRUE(c.results[0].passed);
  EXPECT_FALSE(c.results[1].passed);
  EXPECT_NEAR(*c.results[1].value, 80'000, 80);
}

TEST(Verdict, MissedAndLateOnAClosedRunHaveNoValueAndFail) {
  const stats::Results closed = run_of({{10, 1000, 10}});
  const Verdict v = judge_run(closed, context_of(closed), thresholds({"missed < 1%", "late{run} < 5%"}));
  ASSERT_EQ(v.results.size(), 2u);
  for (const ThresholdResult& r : v.results) {
    EXPECT_FALSE(r.value.has_value());
    EXPECT_FALSE(r.passed);
    EXPECT_EQ(r.note, "no arrival rate (closed model)");
  }
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(describe_result(v, v.results[0]), "missed starts < 1.00 %: no arrival rate (closed model) in C1 · 10 users");

  // Over the run, late starts add up over the cycles: (100 + 300) / (1000 + 2000).
  const stats::Results open = open_run_of({{100, 1000, 10, 10, 100}, {200, 2000, 10, 10, 300}});
  const Verdict late = judge_run(open, context_of(open), thresholds({"late{run} < 10%"}));
  ASSERT_EQ(late.results.size(), 1u);
  EXPECT_NEAR(*late.results[0].value, 400.0 / 3000.0, 1e-12);
  EXPECT_FALSE(late.results[0].passed);
}

TEST(Verdict, OpenModelOutputsCarryRatesArrivalsAndServiceTimes) {
  const stats::Results r = open_run_of({{100, 1000, 10, 9, 0, 0, 5}, {200, 1500, 400, 12, 100, 500, 10}});
  const Verdict v = judge_run(r, context_of(r), thresholds({"p95 < 100ms", "missed{run} < 1%"}));
  const std::string xml = junit_xml(r, v);
  EXPECT_NE(xml.find("name=\"p95 &lt; 100ms [C2 · 200/s]\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"missed starts, whole run &lt; 1.00 %: 16.67 % in the whole run\""),
            std::string::npos)
      << xml;

  const nlohmann::json doc = nlohmann::json::parse(summary_json(r, v, context_of(r), 4));
  EXPECT_EQ(doc["model"], "open");
  EXPECT_EQ(doc["capacity"]["cycle"], 1);
  EXPECT_EQ(doc["capacity"]["rate"]["from"], 100.0);
  const nlohmann::json& c2 = doc["cycles"][1];
  EXPECT_EQ(c2["rate"]["to"], 200.0);
  EXPECT_EQ(c2["arrivals"]["due"], 2000);
  EXPECT_EQ(c2["arrivals"]["started"], 1500);
  EXPECT_EQ(c2["arrivals"]["missed"], 500);
  EXPECT_EQ(c2["arrivals"]["late"], 100);
  EXPECT_DOUBLE_EQ(c2["arrivals"]["achieved"].get<double>(), 150.0);
  EXPECT_DOUBLE_EQ(c2["arrivals"]["missed_share"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(c2["arrivals"]["late_share"].get<double>(), 0.05);
  EXPECT_EQ(c2["arrivals"]["pool_peak"], 10);
  EXPECT_NEAR(c2["page_service_us"]["p95"].get<double>(), 12'000, 12);
  EXPECT_NEAR(c2["page_service_us"]["p99"].get<double>(), 12'000, 12);
  EXPECT_NEAR(c2["page_latency_us"]["p95"].get<double>(), 400'000, 400);
  EXPECT_EQ(doc["thresholds"][0]["results"][1]["rate"]["from"], 200.0);

  // A closed run's summary says so and has no arrivals nor service times.
  const stats::Results closed = run_of({{10, 1000, 10}});
  const nlohmann::json plain =
      nlohmann::json::parse(summary_json(closed, judge_run(closed, context_of(closed), {}), context_of(closed), 0));
  EXPECT_EQ(plain["model"], "closed");
  EXPECT_TRUE(plain["cycles"][0]["arrivals"].is_null());
  EXPECT_TRUE(plain["cycles"][0]["page_service_us"].is_null());
  EXPECT_TRUE(plain["cycles"][0]["rate"].is_null());
}

}  // namespace
}  // namespace bm::report
