// The threshold grammar (docs/verdicts.md): every metric, selector, operator and unit,
// and one clear line for each malformed form.
#include <gtest/gtest.h>

#include "conf/bench_settings.hpp"
#include "conf/threshold.hpp"
#include "common/format.hpp"

#include <cstdint>

namespace bm::conf {
namespace {

Threshold parse(std::string_view text) {
  std::string error;
  std::optional<Threshold> t = parse_threshold(text, &error);
  EXPECT_TRUE(t.has_value()) << error;
  return t.value_or(Threshold{});
}

std::string error_of(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_threshold(text, &error).has_value()) << text;
  return error;
}

TEST(Threshold, LatencyPercentilesOfPagesByDefault) {
  const Threshold t = parse("  p95 < 300ms ");
  EXPECT_EQ(t.text, "p95 < 300ms");
  EXPECT_EQ(t.metric, ThresholdMetric::percentile);
  EXPECT_DOUBLE_EQ(t.percentile, 95);
  EXPECT_EQ(t.table, ThresholdTable::pages);
  EXPECT_FALSE(t.over_run);
  EXPECT_EQ(t.op, ThresholdOp::less);
  EXPECT_DOUBLE_EQ(t.limit, 300'000);
  EXPECT_TRUE(t.holds(299'999));
  EXPECT_FALSE(t.holds(300'000));
  EXPECT_EQ(t.describe(), "p95 of pages");

  const Threshold tail = parse("p99.9<=1s");
  EXPECT_DOUBLE_EQ(tail.percentile, 99.9);
  EXPECT_EQ(tail.op, ThresholdOp::less_equal);
  EXPECT_DOUBLE_EQ(tail.limit, 1e6);
  EXPECT_TRUE(tail.holds(1e6));
  EXPECT_DOUBLE_EQ(parse("median < 800us").limit, 800);
  EXPECT_DOUBLE_EQ(parse("median < 800us").percentile, 50);
  EXPECT_DOUBLE_EQ(parse("max < 2min").limit, 120e6);
  EXPECT_DOUBLE_EQ(parse("mean < 1.5 s").limit, 1.5e6);
  EXPECT_EQ(parse("p100 < 1s").percentile, 100);
}

TEST(Threshold, SharesRatesAndApdex) {
  const Threshold errors = parse("errors < 0.5%");
  EXPECT_EQ(errors.metric, ThresholdMetric::failed);
  EXPECT_EQ(errors.table, ThresholdTable::requests);
  EXPECT_DOUBLE_EQ(errors.limit, 0.005);
  EXPECT_DOUBLE_EQ(parse("errors < 0.005").limit, 0.005);
  EXPECT_EQ(errors.format_value(0.0052), "0.52 %");
  const Threshold tests = parse("tests_failed{run} < 1%");
  EXPECT_EQ(tests.table, ThresholdTable::tests);
  EXPECT_TRUE(tests.over_run);
  EXPECT_EQ(tests.describe(), "failed tests, whole run");
  EXPECT_EQ(parse("pages_failed <= 0").table, ThresholdTable::pages);
  const Threshold rps = parse("rps > 2000");
  EXPECT_EQ(rps.metric, ThresholdMetric::rate);
  EXPECT_EQ(rps.table, ThresholdTable::requests);
  EXPECT_EQ(rps.op, ThresholdOp::greater);
  EXPECT_TRUE(rps.holds(2000.5));
  EXPECT_FALSE(rps.holds(2000));
  EXPECT_DOUBLE_EQ(parse("rate{pages} >= 50/s").limit, 50);
  EXPECT_EQ(parse("rate{pages} >= 50/s").table, ThresholdTable::pages);
  EXPECT_EQ(parse("tests_per_s > 3").table, ThresholdTable::tests);
  EXPECT_DOUBLE_EQ(parse("apdex >= 0.94").limit, 0.94);
}

TEST(Threshold, SelectorsPickOneEntry) {
  const Threshold page = parse("p95{page=login} < 200ms");
  EXPECT_EQ(page.table, ThresholdTable::pages);
  EXPECT_EQ(page.entry, "login");
  EXPECT_EQ(page.describe(), "p95 of page 'login'");
  const Threshold quoted = parse(R"(errors{request="GET /a,b}", run} < 1%)");
  EXPECT_EQ(quoted.table, ThresholdTable::requests);
  EXPECT_EQ(quoted.entry, "GET /a,b}");
  EXPECT_TRUE(quoted.over_run);
  const Threshold test = parse("p50{ test = test_Shop , cycle } < 2s");
  EXPECT_EQ(test.table, ThresholdTable::tests);
  EXPECT_EQ(test.entry, "test_Shop");
  EXPECT_FALSE(test.over_run);
  EXPECT_EQ(parse("p95{requests} < 1s").table, ThresholdTable::requests);
}

TEST(Threshold, ServiceSelectorReadsTheServiceTimeOfLatencyMetrics) {
  const Threshold pages = parse("p99{pages,service} < 200ms");
  EXPECT_TRUE(pages.service);
  EXPECT_EQ(pages.metric, ThresholdMetric::percentile);
  EXPECT_EQ(pages.table, ThresholdTable::pages);
  EXPECT_DOUBLE_EQ(pages.limit, 200'000);
  EXPECT_EQ(pages.describe(), "p99 service time of pages");
  const Threshold login = parse("mean{ service , page=login, run } < 1s");
  EXPECT_TRUE(login.service);
  EXPECT_EQ(login.entry, "login");
  EXPECT_TRUE(login.over_run);
  EXPECT_EQ(login.describe(), "mean service time of page 'login', whole run");
  EXPECT_EQ(parse("max{service} < 2s").describe(), "longest service time of pages");
  EXPECT_FALSE(parse("p99{pages} < 200ms").service);
  EXPECT_NE(error_of("errors{service} < 1%").find("'service' selects the service time of a latency metric"),
            std::string::npos);
  EXPECT_NE(error_of("apdex{service} > 0.9").find("not of 'apdex'"), std::string::npos);
}

TEST(Threshold, MissedAndLateAreSharesOfTheStartsDue) {
  const Threshold missed = parse("missed < 1%");
  EXPECT_EQ(missed.metric, ThresholdMetric::missed);
  EXPECT_DOUBLE_EQ(missed.limit, 0.01);
  EXPECT_FALSE(missed.over_run);
  EXPECT_EQ(missed.describe(), "missed starts");
  EXPECT_EQ(missed.format_value(0.0125), "1.25 %");
  EXPECT_TRUE(missed.holds(0.009));
  const Threshold late = parse("late{run} <= 0.05");
  EXPECT_EQ(late.metric, ThresholdMetric::late);
  EXPECT_DOUBLE_EQ(late.limit, 0.05);
  EXPECT_TRUE(late.over_run);
  EXPECT_EQ(late.describe(), "late starts, whole run");
  EXPECT_NE(error_of("missed{pages} < 1%").find("'missed' counts the cycle's starts, not pages"), std::string::npos);
  EXPECT_NE(error_of("late{page=home} < 1%").find("only 'run' or 'cycle'"), std::string::npos);
  EXPECT_NE(error_of("missed < 120%").find("0 to 100 %"), std::string::npos);
  EXPECT_NE(error_of("late < 3ms").find("not a share"), std::string::npos);
  EXPECT_NE(error_of("misssed < 1%").find("missed, late"), std::string::npos);
}

TEST(Threshold, MalformedOnesSayWhatIsExpected) {
  EXPECT_NE(error_of("").find("write METRIC OP VALUE"), std::string::npos);
  EXPECT_NE(error_of("p95 300ms").find("expected <, <=, > or >="), std::string::npos);
  EXPECT_NE(error_of("p95 < 300").find("with its unit"), std::string::npos);
  EXPECT_NE(error_of("p95 < 300 parsecs").find("units: us, ms, s, min"), std::string::npos);
  EXPECT_NE(error_of("latency < 3s").find("unknown metric 'latency'"), std::string::npos);
  EXPECT_NE(error_of("p0 < 3s").find("unknown metric"), std::string::npos);
  EXPECT_NE(error_of("p101 < 3s").find("unknown metric"), std::string::npos);
  EXPECT_NE(error_of("errors < 101%").find("0 to 100 %"), std::string::npos);
  EXPECT_NE(error_of("errors < -1%").find("0 to 100 %"), std::string::npos);
  EXPECT_NE(error_of("rps > lots").find("not a rate"), std::string::npos);
  EXPECT_NE(error_of("apdex > 2").find("Apdex score"), std::string::npos);
  EXPECT_NE(error_of("p95{pgae=x} < 1s").find("unknown selector 'pgae'"), std::string::npos);
  EXPECT_NE(error_of("p95{page} < 1s").find("page=NAME"), std::string::npos);
  EXPECT_NE(error_of("p95{page=} < 1s").find("needs a name"), std::string::npos);
  EXPECT_NE(error_of("p95{pages,requests} < 1s").find("two tables"), std::string::npos);
  EXPECT_NE(error_of("tests_failed{pages} < 1%").find("counts tests only"), std::string::npos);
  EXPECT_NE(error_of("p95{page=\"x} < 1s").find("closing"), std::string::npos);
  EXPECT_NE(error_of("p95{run < 1s").find("expected ',' or '}'"), std::string::npos);
  EXPECT_NE(error_of("p95 <").find("no value"), std::string::npos);
  // The expression is quoted in every message.
  EXPECT_EQ(error_of("p95 < 3").rfind("threshold 'p95 < 3': ", 0), 0u);
}

TEST(Threshold, ConfSectionAndCommandLineAreResolvedInOrder) {
  std::string error;
  auto conf = ConfFile::parse("[main]\nurl = http://127.0.0.1:1/\n[thresholds]\nfast = p95 < 300ms\n"
                              "errors = errors < 1%%\n",
                              "Shop.conf", &error);
  ASSERT_TRUE(conf) << error;
  Overrides overrides;
  overrides.thresholds = {"rps > 10"};
  auto settings = resolve_bench_settings(*conf, overrides, Mode::bench, &error);
  ASSERT_TRUE(settings) << error;
  EXPECT_EQ(settings->thresholds, (std::vector<std::string>{"p95 < 300ms", "errors < 1%", "rps > 10"}));

  auto bad = ConfFile::parse("[main]\nurl = http://127.0.0.1:1/\n[thresholds]\nfast = p95 < 300\n", "Shop.conf", &error);
  ASSERT_TRUE(bad) << error;
  EXPECT_FALSE(resolve_bench_settings(*bad, {}, Mode::bench, &error));
  EXPECT_EQ(error.rfind("Shop.conf:4: [thresholds] fast: threshold 'p95 < 300': ", 0), 0u) << error;

  overrides.thresholds = {"rps >"};
  EXPECT_FALSE(resolve_bench_settings(*conf, overrides, Mode::bench, &error));
  EXPECT_EQ(error.rfind("--threshold: threshold 'rps >'", 0), 0u) << error;
}

// Found by the threshold fuzz target (tests/fuzz): a latency limit past what int64 µs
// hold parsed, and showing it (every report does) overflowed, recursing until the stack
// ran out; a threshold written over two conf lines gave a two-line message.
TEST(Threshold, AHugeLatencyLimitIsShownWithoutOverflow) {
  const Threshold t = parse("max < 99999999999999999999999s");
  EXPECT_GT(t.limit, 9e18);
  EXPECT_EQ(t.format_value(t.limit), "1e+23 s");
  EXPECT_EQ(t.format_value(-t.limit), "-1e+23 s");
  EXPECT_EQ(common::format_latency(INT64_MIN).front(), '-');
}

TEST(Threshold, AMessageIsOneLineWhenTheTextSpansLines) {
  const std::string error = error_of("p95 < 1\n  s");
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_NE(error.find("p95 < 1\\n  s"), std::string::npos) << error;
}

}  // namespace
}  // namespace bm::conf
