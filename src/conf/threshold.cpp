#include "conf/threshold.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "common/format.hpp"

namespace bm::conf {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<double> number(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// What a metric name means: its metric, and the table an alias fixes (or the default).
struct MetricName {
  ThresholdMetric metric;
  ThresholdTable table;
  bool table_fixed;  // an alias such as tests_failed: no other table may be selected
};

std::optional<MetricName> metric_name(std::string_view name, double* percentile) {
  using M = ThresholdMetric;
  using T = ThresholdTable;
  if (name.size() > 1 && name[0] == 'p' && (name[1] >= '0' && name[1] <= '9')) {
    const std::optional<double> p = number(name.substr(1));
    if (!p || *p <= 0 || *p > 100) return std::nullopt;
    *percentile = *p;
    return MetricName{M::percentile, T::pages, false};
  }
  if (name == "median") {
    *percentile = 50;
    return MetricName{M::percentile, T::pages, false};
  }
  if (name == "mean" || name == "avg") return MetricName{M::mean, T::pages, false};
  if (name == "min") return MetricName{M::min, T::pages, false};
  if (name == "max") return MetricName{M::max, T::pages, false};
  if (name == "apdex") return MetricName{M::apdex, T::pages, false};
  if (name == "errors" || name == "failed") return MetricName{M::failed, T::requests, false};
  if (name == "tests_failed") return MetricName{M::failed, T::tests, true};
  if (name == "pages_failed") return MetricName{M::failed, T::pages, true};
  if (name == "requests_failed") return MetricName{M::failed, T::requests, true};
  if (name == "rate") return MetricName{M::rate, T::requests, false};
  if (name == "rps") return MetricName{M::rate, T::requests, true};
  if (name == "pages_per_s") return MetricName{M::rate, T::pages, true};
  if (name == "tests_per_s") return MetricName{M::rate, T::tests, true};
  // Starts count iterations, not a table's items: no table may be selected.
  if (name == "missed") return MetricName{M::missed, T::tests, true};
  if (name == "late") return MetricName{M::late, T::tests, true};
  return std::nullopt;
}

constexpr std::string_view kMetrics =
    "pNN (p50, p95, p99.9...), median, mean, min, max, apdex, errors, tests_failed, pages_failed, "
    "requests_failed, rate, rps, pages_per_s, tests_per_s, missed, late";

bool is_latency(ThresholdMetric metric) {
  return metric == ThresholdMetric::percentile || metric == ThresholdMetric::mean || metric == ThresholdMetric::min ||
         metric == ThresholdMetric::max;
}

bool is_starts(ThresholdMetric metric) { return metric == ThresholdMetric::missed || metric == ThresholdMetric::late; }

// A share written as 0.5% or 0.005.
std::optional<double> share(std::string_view text) {
  const bool percent = !text.empty() && text.back() == '%';
  const std::optional<double> value = number(trim(percent ? text.substr(0, text.size() - 1) : text));
  if (!value) return std::nullopt;
  const double fraction = percent ? *value / 100 : *value;
  if (fraction < 0 || fraction > 1) return std::nullopt;
  return fraction;
}

// A latency with its unit, in µs.
std::optional<double> latency_us(std::string_view text, std::string* problem) {
  std::size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) {
    ++digits;
  }
  const std::optional<double> value = number(text.substr(0, digits));
  const std::string_view unit = trim(text.substr(digits));
  if (!value || *value < 0) {
    *problem = "a latency such as 300ms, 1.5s or 800us";
    return std::nullopt;
  }
  if (unit == "us" || unit == "µs") return *value;
  if (unit == "ms") return *value * 1e3;
  if (unit == "s") return *value * 1e6;
  if (unit == "m" || unit == "min") return *value * 60e6;
  *problem = unit.empty() ? "a latency with its unit (ms, s or us), such as 300ms"
                          : "a latency such as 300ms, 1.5s or 800us (units: us, ms, s, min)";
  return std::nullopt;
}

struct Cursor {
  std::string_view text;
  std::size_t at = 0;
  void skip_spaces() {
    while (at < text.size() && is_space(text[at])) ++at;
  }
  bool done() const { return at >= text.size(); }
  char peek() const { return at < text.size() ? text[at] : '\0'; }
};

// One selector value: up to ',' or '}', or a double-quoted string (\" and \\ escaped).
bool selector_value(Cursor& cursor, std::string& out, std::string* error) {
  cursor.skip_spaces();
  if (cursor.peek() == '"') {
    ++cursor.at;
    while (!cursor.done() && cursor.peek() != '"') {
      if (cursor.peek() == '\\' && cursor.at + 1 < cursor.text.size()) ++cursor.at;
      out += cursor.text[cursor.at++];
    }
    if (cursor.done()) {
      *error = "a quoted name without its closing '\"'";
      return false;
    }
    ++cursor.at;
    cursor.skip_spaces();
    return true;
  }
  const std::size_t start = cursor.at;
  while (!cursor.done() && cursor.peek() != ',' && cursor.peek() != '}') ++cursor.at;
  out = std::string(trim(cursor.text.substr(start, cursor.at - start)));
  return true;
}

}  // namespace

bool Threshold::holds(double value) const noexcept {
  switch (op) {
    case ThresholdOp::less: return value < limit;
    case ThresholdOp::less_equal: return value <= limit;
    case ThresholdOp::greater: return value > limit;
    case ThresholdOp::greater_equal: return value >= limit;
  }
  return false;
}

std::string_view to_string(ThresholdOp op) noexcept {
  switch (op) {
    case ThresholdOp::less: return "<";
    case ThresholdOp::less_equal: return "<=";
    case ThresholdOp::greater: return ">";
    case ThresholdOp::greater_equal: return ">=";
  }
  return "?";
}

std::string_view to_string(ThresholdTable table) noexcept {
  switch (table) {
    case ThresholdTable::tests: return "tests";
    case ThresholdTable::pages: return "pages";
    case ThresholdTable::requests: return "requests";
  }
  return "?";
}

std::string Threshold::describe() const {
  const std::string_view plural = to_string(table);
  const std::string_view singular = plural.substr(0, plural.size() - 1);
  const std::string items = entry.empty() ? std::string(plural) : fmt::format("{} '{}'", singular, entry);
  const std::string_view time = service ? "service time" : "time";
  std::string out;
  switch (metric) {
    case ThresholdMetric::percentile:
      out = service ? fmt::format("p{:g} service time of {}", percentile, items)
                    : fmt::format("p{:g} of {}", percentile, items);
      break;
    case ThresholdMetric::mean: out = fmt::format("mean {} of {}", time, items); break;
    case ThresholdMetric::min: out = fmt::format("shortest {} of {}", time, items); break;
    case ThresholdMetric::max: out = fmt::format("longest {} of {}", time, items); break;
    case ThresholdMetric::missed: out = "missed starts"; break;
    case ThresholdMetric::late: out = "late starts"; break;
    case ThresholdMetric::apdex: out = fmt::format("Apdex of {}", items); break;
    case ThresholdMetric::failed: out = fmt::format("failed {}", items); break;
    case ThresholdMetric::rate: out = fmt::format("successful {} per second", items); break;
  }
  return over_run ? out + ", whole run" : out;
}

std::string Threshold::format_value(double value) const {
  if (is_latency(metric)) {
    // Past what int64 µs hold (a limit such as '1e23s' parses): llround would overflow.
    if (!(std::fabs(value) < 9e18)) return fmt::format("{:g} s", value / 1e6);
    return common::format_latency(static_cast<int64_t>(std::llround(value)));
  }
  switch (metric) {
    case ThresholdMetric::failed:
    case ThresholdMetric::missed:
    case ThresholdMetric::late: return common::format_percent(value);
    case ThresholdMetric::rate: return common::format_rate(value) + " /s";
    case ThresholdMetric::apdex: return common::format_apdex(value);
    default: return fmt::format("{:g}", value);
  }
}

std::optional<Threshold> parse_threshold(std::string_view text, std::string* error) {
  Threshold t;
  t.text = std::string(trim(text));
  const auto fail = [&](std::string_view problem) -> std::optional<Threshold> {
    *error = fmt::format("threshold '{}': {}", t.text, problem);
    // A conf value may span lines; the message is one.
    for (std::size_t at = error->find('\n'); at != std::string::npos; at = error->find('\n', at)) {
      error->replace(at, 1, "\\n");
    }
    return std::nullopt;
  };
  if (t.text.empty()) return fail("empty; write METRIC OP VALUE, such as 'p95 < 300ms' or 'errors < 1%'");
  Cursor cursor{t.text};
  const std::size_t name_start = cursor.at;
  while (!cursor.done()) {
    const char c = cursor.peek();
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) break;
    ++cursor.at;
  }
  const std::string_view name = cursor.text.substr(name_start, cursor.at - name_start);
  if (name.empty()) return fail("it must start with a metric: " + std::string(kMetrics));
  const std::optional<MetricName> metric = metric_name(name, &t.percentile);
  if (!metric) return fail(fmt::format("unknown metric '{}'; metrics: {}", name, kMetrics));
  t.metric = metric->metric;
  t.table = metric->table;
  if (cursor.peek() == '{') {
    ++cursor.at;
    bool table_given = false;
    for (;;) {
      cursor.skip_spaces();
      const std::size_t start = cursor.at;
      while (!cursor.done() && (std::isalpha(static_cast<unsigned char>(cursor.peek())) || cursor.peek() == '_')) {
        ++cursor.at;
      }
      const std::string_view word = cursor.text.substr(start, cursor.at - start);
      cursor.skip_spaces();
      std::optional<ThresholdTable> table;
      if (word == "run") {
        t.over_run = true;
      } else if (word == "cycle") {
        t.over_run = false;
      } else if (word == "service") {
        if (!is_latency(t.metric)) {
          return fail(fmt::format("'service' selects the service time of a latency metric (pNN, median, mean, min, "
                                  "max), not of '{}'",
                                  name));
        }
        t.service = true;
      } else if (word == "tests" || word == "test") {
        table = ThresholdTable::tests;
      } else if (word == "pages" || word == "page") {
        table = ThresholdTable::pages;
      } else if (word == "requests" || word == "request") {
        table = ThresholdTable::requests;
      } else {
        return fail(fmt::format("unknown selector '{}' in {{...}}; selectors: run, cycle, tests, pages, requests, "
                                "test=NAME, page=NAME, request=NAME, service",
                                word));
      }
      if (table) {
        if (is_starts(t.metric)) {
          return fail(fmt::format("'{}' counts the cycle's starts, not {}: only 'run' or 'cycle' may be selected", name,
                                  word));
        }
        if (table_given) return fail("two tables selected in {...}: choose one of tests, pages, requests");
        if (metric->table_fixed && *table != metric->table) {
          return fail(fmt::format("'{}' counts {} only; use {}{{{}...}}", name, to_string(metric->table),
                                  t.metric == ThresholdMetric::failed ? "errors" : "rate", word));
        }
        table_given = true;
        t.table = *table;
        const bool singular = word.back() != 's';
        if (cursor.peek() == '=') {
          ++cursor.at;
          std::string problem;
          if (!selector_value(cursor, t.entry, &problem)) return fail(problem);
          if (t.entry.empty()) return fail(fmt::format("'{}=' needs a name", word));
        } else if (singular) {
          return fail(fmt::format("'{}' needs a name: {}=NAME (or '{}s' for all of them)", word, word, word));
        }
      }
      if (cursor.peek() == ',') {
        ++cursor.at;
        continue;
      }
      if (cursor.peek() == '}') {
        ++cursor.at;
        break;
      }
      return fail("expected ',' or '}' in the selectors");
    }
  }
  cursor.skip_spaces();
  const std::string_view rest = cursor.text.substr(cursor.at);
  if (rest.starts_with("<=")) {
    t.op = ThresholdOp::less_equal;
    cursor.at += 2;
  } else if (rest.starts_with(">=")) {
    t.op = ThresholdOp::greater_equal;
    cursor.at += 2;
  } else if (rest.starts_with("<")) {
    t.op = ThresholdOp::less;
    cursor.at += 1;
  } else if (rest.starts_with(">")) {
    t.op = ThresholdOp::greater;
    cursor.at += 1;
  } else {
    return fail(rest.empty() ? "no comparison: write METRIC OP VALUE, such as 'p95 < 300ms'"
                             : fmt::format("expected <, <=, > or >= after the metric, not '{}'", rest));
  }
  const std::string_view value_text = trim(cursor.text.substr(cursor.at));
  if (value_text.empty()) return fail("no value after the comparison");
  std::string problem;
  if (is_latency(t.metric)) {
    const std::optional<double> us = latency_us(value_text, &problem);
    if (!us) return fail(fmt::format("'{}' is not {}", value_text, problem));
    t.limit = *us;
  } else if (t.metric == ThresholdMetric::failed || is_starts(t.metric)) {
    const std::optional<double> fraction = share(value_text);
    if (!fraction) return fail(fmt::format("'{}' is not a share such as 0.5% or 0.005 (0 to 100 %)", value_text));
    t.limit = *fraction;
  } else if (t.metric == ThresholdMetric::rate) {
    std::string_view digits = value_text;
    if (digits.ends_with("/s")) digits = trim(digits.substr(0, digits.size() - 2));
    const std::optional<double> value = number(digits);
    if (!value || *value < 0) return fail(fmt::format("'{}' is not a rate such as 2000 or 2000/s", value_text));
    t.limit = *value;
  } else {
    const std::optional<double> value = number(value_text);
    if (!value || *value < 0 || *value > 1) return fail(fmt::format("'{}' is not an Apdex score (0 to 1)", value_text));
    t.limit = *value;
  }
  return t;
}

}  // namespace bm::conf
