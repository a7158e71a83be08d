// The verdict for other tools: JUnit XML (CI servers show one test case per threshold
// and cycle) and a summary JSON document. Formats in docs/verdicts.md.

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/format.hpp"
#include "report/html_escape.hpp"
#include "report/verdict.hpp"

namespace bm::report {

namespace {

// XML text and attribute values: the HTML reports' escaping serves (markup characters
// as entities, control characters XML 1.0 forbids as U+FFFD).
std::string xml(std::string_view text) { return escape_html(text); }

struct Case {
  std::string name;
  double time_s = 0;
  enum { passed, failed, skipped } outcome = passed;
  std::string message;
};

double window_of(const stats::Results& results, std::optional<int> cycle) {
  double total = 0;
  for (const stats::CycleResults& c : results.cycles) {
    if (!cycle || c.index == *cycle) total += c.window_s;
  }
  return total;
}

std::vector<Case> junit_cases(const stats::Results& results, const Verdict& verdict) {
  std::vector<Case> cases;
  if (verdict.has_thresholds) {
    for (const ThresholdResult& r : verdict.results) {
      const conf::Threshold& t = verdict.thresholds[r.threshold];
      Case c;
      c.name = fmt::format("{} [{}]", t.text, r.cycle ? cycle_label(*r.cycle, r.cvus, r.rate) : "whole run");
      c.time_s = window_of(results, r.cycle);
      c.message = describe_result(t, r);
      c.outcome = !r.judged ? Case::skipped : r.passed ? Case::passed : Case::failed;
      cases.push_back(std::move(c));
    }
    return cases;
  }
  for (const CycleHealth& h : verdict.cycles) {
    Case c;
    c.name = fmt::format("every test succeeded [{}]", h.label());
    c.time_s = window_of(results, h.index);
    c.message = fmt::format("{} of tests failed in {}", common::format_percent(h.tests_failed), h.label());
    c.outcome = !h.complete ? Case::skipped : h.tests_failed.value_or(0) > 0 ? Case::failed : Case::passed;
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string iso_time(int64_t epoch_us) {
  const std::time_t seconds = static_cast<std::time_t>(epoch_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

nlohmann::json optional_number(std::optional<double> value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// p50, p95, p99 and max of a histogram, or null when it is empty.
nlohmann::json latency_figures(const stats::Histogram& histogram) {
  if (histogram.count() == 0) return nullptr;
  return {{"p50", histogram.value_at_percentile(50)},
          {"p95", histogram.value_at_percentile(95)},
          {"p99", histogram.value_at_percentile(99)},
          {"max", histogram.max()}};
}

// Open model: the asked rate as {"from", "to"} (iterations/s); null for a closed-model cycle.
nlohmann::json rate_json(const std::optional<AskedRate>& rate) {
  if (!rate) return nullptr;
  return {{"from", rate->from}, {"to", rate->to}};
}

nlohmann::json cycle_ref(const Verdict& v, std::optional<std::size_t> index) {
  if (!index) return nullptr;
  const CycleHealth& c = v.cycles[*index];
  nlohmann::json ref = {{"cycle", common::cycle_number(c.index)}, {"users", c.cvus}};
  if (c.rate) ref["rate"] = rate_json(c.rate);
  return ref;
}

// The knee as cycle_ref names a cycle (a rate only in open-model runs), and its cause.
nlohmann::json knee_ref(const Verdict& v) {
  if (!v.knee) return nullptr;
  nlohmann::json ref = cycle_ref(v, v.knee);
  ref["cause"] = to_string(v.knee_cause);
  return ref;
}

// Open model: what the cycle's schedule asked for and what it got; null for a
// closed-model cycle. Shares are of the starts due.
nlohmann::json arrivals_json(const stats::CycleResults& cycle) {
  if (!cycle.arrivals) return nullptr;
  const stats::Arrivals& a = *cycle.arrivals;
  const auto share = [&](uint64_t n) {
    return a.due ? nlohmann::json(static_cast<double>(n) / static_cast<double>(a.due)) : nlohmann::json(nullptr);
  };
  return {{"asked_from", a.rate_from},
          {"asked_to", a.rate_to},
          {"achieved", cycle.window_s > 0 ? nlohmann::json(static_cast<double>(a.started) / cycle.window_s)
                                          : nlohmann::json(nullptr)},
          {"due", a.due},
          {"started", a.started},
          {"late", a.late},
          {"late_share", share(a.late)},
          {"missed", a.missed},
          {"missed_share", share(a.missed)},
          {"longest_wait_us", a.max_wait_us},
          {"pool_peak", a.peak_users}};
}

}  // namespace

std::string junit_xml(const stats::Results& results, const Verdict& verdict) {
  const std::vector<Case> cases = junit_cases(results, verdict);
  std::size_t failures = 0, skipped = 0;
  double time_s = 0;
  for (const Case& c : cases) {
    failures += c.outcome == Case::failed ? 1 : 0;
    skipped += c.outcome == Case::skipped ? 1 : 0;
    time_s += c.time_s;
  }
  const std::string suite = results.run.test.empty() ? "benchmaster" : results.run.test;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"benchmaster\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" "
                     "time=\"{:.3f}\">\n",
                     cases.size(), failures, skipped, time_s);
  out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3f}\"",
                     xml(suite), cases.size(), failures, skipped, time_s);
  if (results.run.start_epoch_us > 0) out += fmt::format(" timestamp=\"{}\"", iso_time(results.run.start_epoch_us));
  if (!results.run.host.empty()) out += fmt::format(" hostname=\"{}\"", xml(results.run.host));
  out += ">\n    <properties>\n";
  out += fmt::format("      <property name=\"verdict\" value=\"{}\"/>\n", xml(verdict.headline));
  if (!results.run.label.empty()) out += fmt::format("      <property name=\"label\" value=\"{}\"/>\n", xml(results.run.label));
  if (!results.run.url.empty()) out += fmt::format("      <property name=\"url\" value=\"{}\"/>\n", xml(results.run.url));
  out += "    </properties>\n";
  const std::string classname = fmt::format("benchmaster.{}", suite);
  for (const Case& c : cases) {
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", xml(classname), xml(c.name), c.time_s);
    if (c.outcome == Case::passed) {
      out += "/>\n";
    } else if (c.outcome == Case::failed) {
      out += fmt::format(">\n      <failure message=\"{}\" type=\"threshold\">{}</failure>\n    </testcase>\n",
                         xml(c.message), xml(c.message));
    } else {
      out += fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n", xml(c.message));
    }
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

std::string summary_json(const stats::Results& results, const Verdict& v, const MetricContext& context,
                         int exit_code) {
  nlohmann::json thresholds = nlohmann::json::array();
  for (std::size_t t = 0; t < v.thresholds.size(); ++t) {
    const conf::Threshold& threshold = v.thresholds[t];
    nlohmann::json judged = nlohmann::json::array();
    bool passed = true;
    for (const ThresholdResult& r : v.results) {
      if (r.threshold != t) continue;
      passed = passed && (!r.judged || r.passed);
      nlohmann::json row = {{"cycle", r.cycle ? nlohmann::json(common::cycle_number(*r.cycle)) : nlohmann::json(nullptr)},
                            {"users", r.cvus},
                            {"rate", rate_json(r.rate)},
                            {"value", optional_number(r.value)},
                            {"shown", r.value ? threshold.format_value(*r.value) : r.note},
                            {"judged", r.judged},
                            {"passed", r.passed}};
      if (!r.note.empty()) row["note"] = r.note;
      judged.push_back(std::move(row));
    }
    thresholds.push_back({{"expression", threshold.text},
                          {"description", threshold.describe()},
                          {"over", threshold.over_run ? "run" : "cycle"},
                          {"limit", threshold.limit},
                          {"passed", passed},
                          {"results", std::move(judged)}});
  }
  nlohmann::json cycles = nlohmann::json::array();
  for (std::size_t i = 0; i < results.cycles.size(); ++i) {
    const stats::CycleResults& cycle = results.cycles[i];
    const CycleHealth& h = v.cycles[i];
    const stats::EntryStats pages = sum_entries(cycle.pages);
    const stats::EntryStats requests = sum_entries(cycle.requests);
    const stats::EntryStats tests = sum_entries(cycle.tests);
    auto percentile = [&](double p) -> nlohmann::json {
      return pages.latency.count() ? nlohmann::json(pages.latency.value_at_percentile(p)) : nlohmann::json(nullptr);
    };
    cycles.push_back({{"cycle", common::cycle_number(cycle.index)},
                      {"users", cycle.cvus},
                      {"complete", h.complete},
                      {"window_s", cycle.window_s},
                      {"tests", tests.total()},
                      {"tests_failed", tests.total() - tests.ok},
                      {"pages", pages.total()},
                      {"pages_failed", pages.total() - pages.ok},
                      {"requests", requests.total()},
                      {"requests_failed", requests.total() - requests.ok},
                      {"pages_per_s", h.pages_per_s},
                      {"requests_per_s", cycle.window_s > 0 ? static_cast<double>(requests.ok) / cycle.window_s : 0.0},
                      {"bytes_received", requests.bytes_received},
                      {"page_latency_us",
                       {{"p50", percentile(50)},
                        {"p90", percentile(90)},
                        {"p95", percentile(95)},
                        {"p99", percentile(99)},
                        {"p99.9", percentile(99.9)},
                        {"max", pages.latency.count() ? nlohmann::json(pages.latency.max()) : nlohmann::json(nullptr)}}},
                      {"connections_opened", requests.connect.count()},
                      {"connect_us", latency_figures(requests.connect)},
                      {"first_byte_us", latency_figures(requests.first_byte)},
                      {"page_service_us", latency_figures(pages.service)},
                      {"rate", rate_json(h.rate)},
                      {"arrivals", arrivals_json(cycle)},
                      {"apdex", optional_number(h.apdex)},
                      {"thresholds_met", h.thresholds_met}});
  }
  nlohmann::json doc = {
      {"format", "benchmaster-summary"},
      {"version", 1},
      {"test", results.run.test},
      {"label", results.run.label},
      {"url", results.run.url},
      {"status", stats::to_string(results.run.status)},
      {"model", v.open_model ? "open" : "closed"},
      {"rates", results.config.rates},
      {"passed", v.passed},
      {"exit_code", exit_code},
      {"headline", v.headline},
      {"lines", v.lines},
      {"apdex_t_s", static_cast<double>(context.apdex_t_us) / 1e6},
      {"thresholds", std::move(thresholds)},
      {"capacity", cycle_ref(v, v.capacity)},
      {"knee", knee_ref(v)},
      {"worst_cycle", cycle_ref(v, v.worst)},
      {"highest_load_cycle", cycle_ref(v, v.highest_load)},
      {"tests", {{"count", v.tests}, {"ok", v.tests_ok}, {"success", optional_number(v.tests_success)}}},
      {"pages", {{"count", v.pages}, {"ok", v.pages_ok}, {"success", optional_number(v.pages_success)}}},
      {"cycles", std::move(cycles)}};
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace bm::report
