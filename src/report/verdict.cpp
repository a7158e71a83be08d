#include "report/verdict.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/format.hpp"

namespace bm::report {

namespace {

using conf::Threshold;
using conf::ThresholdMetric;
using conf::ThresholdTable;
using common::cycle_number;

// Knee rules (docs/statistics.md#knee).
constexpr double kScaleShare = 0.25;        // a cycle must gain this share of what its added users promise
constexpr double kLatencyJump = 2.0;        // page p95 more than doubled ...
constexpr int64_t kLatencyJumpFloorUs = 1000;  // ... and by at least 1 ms
constexpr double kFailureFloor = 0.01;      // 1 % of pages failing is a break ...
constexpr double kFailureJump = 2.0;        // ... when it is more than twice the previous share

const stats::EntryTable& table_of(const stats::CycleResults& cycle, ThresholdTable table) {
  switch (table) {
    case ThresholdTable::tests: return cycle.tests;
    case ThresholdTable::pages: return cycle.pages;
    case ThresholdTable::requests: return cycle.requests;
  }
  return cycle.pages;
}

// The threshold's items of one cycle added into *into; false when the named entry is absent.
bool gather(const Threshold& t, const stats::CycleResults& cycle, stats::EntryStats& into) {
  bool found = t.entry.empty();
  for (const stats::Entry& entry : table_of(cycle, t.table)) {
    if (!t.entry.empty() && entry.key != t.entry) continue;
    into.merge(entry.stats);
    found = true;
  }
  return found;
}

std::string_view singular(ThresholdTable table) {
  switch (table) {
    case ThresholdTable::tests: return "test";
    case ThresholdTable::pages: return "page";
    case ThresholdTable::requests: return "request";
  }
  return "item";
}

// The starts of the cycles gathered for a `missed` or `late` threshold.
struct Starts {
  bool scheduled = false;  // some cycle had an arrival schedule (open model)
  uint64_t due = 0, late = 0, missed = 0;
  void add(const stats::CycleResults& cycle) {
    if (!cycle.arrivals) return;
    scheduled = true;
    due += cycle.arrivals->due;
    late += cycle.arrivals->late;
    missed += cycle.arrivals->missed;
  }
};

// The metric's value on the gathered items, or a note saying why there is none.
// `open`: the items come from open-model cycles, whose service time a {service}
// threshold reads (a closed-model cycle's only time is its latency).
std::optional<double> measure(const Threshold& t, const stats::EntryStats& s, const Starts& starts, bool open,
                              double window_s, const MetricContext& context, std::string& note) {
  switch (t.metric) {
    case ThresholdMetric::percentile:
    case ThresholdMetric::mean:
    case ThresholdMetric::min:
    case ThresholdMetric::max: {
      const stats::Histogram& times = t.service && open ? s.service : s.latency;
      if (times.count() == 0) {
        note = fmt::format("no successful {}", conf::to_string(t.table));
        return std::nullopt;
      }
      if (t.metric == ThresholdMetric::percentile) return static_cast<double>(times.value_at_percentile(t.percentile));
      if (t.metric == ThresholdMetric::mean) return times.mean();
      if (t.metric == ThresholdMetric::min) return static_cast<double>(times.min());
      return static_cast<double>(times.max());
    }
    case ThresholdMetric::missed:
    case ThresholdMetric::late:
      if (!starts.scheduled) {
        note = "no arrival rate (closed model)";
        return std::nullopt;
      }
      if (starts.due == 0) {
        note = "no start due";
        return std::nullopt;
      }
      return static_cast<double>(t.metric == ThresholdMetric::missed ? starts.missed : starts.late) /
             static_cast<double>(starts.due);
    case ThresholdMetric::apdex: {
      const std::optional<double> score = apdex_for(s, context.run_apdex_t_us, context.apdex_t_us).score();
      if (!score) note = fmt::format("no {}", conf::to_string(t.table));
      return score;
    }
    case ThresholdMetric::failed:
      if (s.total() == 0) {
        note = fmt::format("no {}", conf::to_string(t.table));
        return std::nullopt;
      }
      return static_cast<double>(s.failures + s.errors) / static_cast<double>(s.total());
    case ThresholdMetric::rate:
      if (window_s <= 0) {
        note = "no logging window";
        return std::nullopt;
      }
      return static_cast<double>(s.ok) / window_s;
  }
  return std::nullopt;
}

ThresholdResult judge_cycle(const Threshold& t, std::size_t index, const stats::CycleResults& cycle,
                            const MetricContext& context) {
  ThresholdResult r;
  r.threshold = index;
  r.cycle = cycle.index;
  r.cvus = cycle.cvus;
  r.rate = asked_rate(cycle);
  stats::EntryStats items;
  Starts starts;
  starts.add(cycle);
  if (!gather(t, cycle, items)) {
    r.note = fmt::format("no {} '{}' in this cycle", singular(t.table), t.entry);
  } else {
    r.value = measure(t, items, starts, cycle.arrivals.has_value(), cycle.window_s, context, r.note);
  }
  r.passed = r.value && t.holds(*r.value);
  return r;
}

std::optional<double> share(uint64_t part, uint64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

CycleHealth health_of(const stats::CycleResults& cycle, const MetricContext& context) {
  CycleHealth h;
  h.index = cycle.index;
  h.cvus = cycle.cvus;
  h.rate = asked_rate(cycle);
  h.arrivals = cycle.arrivals;
  h.complete = cycle.status == stats::CycleStatus::complete;
  const stats::EntryStats pages = sum_entries(cycle.pages);
  const stats::EntryStats tests = sum_entries(cycle.tests);
  h.pages_per_s = cycle.window_s > 0 ? static_cast<double>(pages.ok) / cycle.window_s : 0;
  h.page_p95_us = pages.latency.value_at_percentile(95);
  h.pages_failed = share(pages.failures + pages.errors, pages.total());
  h.tests_failed = share(tests.failures + tests.errors, tests.total());
  h.apdex = apdex_for(pages, context.run_apdex_t_us, context.apdex_t_us).score();
  return h;
}

std::string percent(std::optional<double> fraction) { return common::format_percent(fraction); }

// Finds the knee over the complete cycles, which must rise in users (open model: in
// asked rate; a cycle then promises as much more throughput as it asks more starts).
void find_knee(Verdict& v) {
  std::vector<std::size_t> complete;
  for (std::size_t i = 0; i < v.cycles.size(); ++i) {
    if (v.cycles[i].complete) complete.push_back(i);
  }
  for (std::size_t k = 1; k < complete.size(); ++k) {
    if (v.cycles[complete[k]].load() <= v.cycles[complete[k - 1]].load()) return;  // not rising: no knee
  }
  if (complete.size() < 2) return;
  v.knee_searched = true;
  const CycleHealth& first = v.cycles[complete[0]];
  if (first.pages_failed.value_or(0) >= kFailureFloor) {
    v.knee_cause = KneeCause::errors;  // no knee: it failed from the first cycle on
    return;
  }
  for (std::size_t k = 1; k < complete.size(); ++k) {
    const CycleHealth& prev = v.cycles[complete[k - 1]];
    const CycleHealth& cur = v.cycles[complete[k]];
    const double prev_failed = prev.pages_failed.value_or(0);
    const double cur_failed = cur.pages_failed.value_or(0);
    const double promised = cur.load() / prev.load() - 1.0;
    KneeCause cause = KneeCause::none;
    if (cur_failed >= kFailureFloor && cur_failed > kFailureJump * prev_failed) {
      cause = KneeCause::errors;
    } else if (cur.pages_per_s < prev.pages_per_s * (1.0 + kScaleShare * promised)) {
      cause = KneeCause::throughput;
    } else if (prev.page_p95_us > 0 &&
               static_cast<double>(cur.page_p95_us) > kLatencyJump * static_cast<double>(prev.page_p95_us) &&
               cur.page_p95_us - prev.page_p95_us >= kLatencyJumpFloorUs) {
      cause = KneeCause::latency;
    }
    if (cause != KneeCause::none) {
      v.knee = complete[k - 1];
      v.knee_cause = cause;
      return;
    }
  }
}

std::string knee_line(const Verdict& v) {
  if (!v.knee_searched) {
    const std::string_view load = v.open_model ? "rates" : "users";
    return v.cycles.size() < 2
               ? fmt::format("Scaling: one cycle, no knee to find (run several cycles of rising {}).", load)
               : fmt::format("Scaling: the complete cycles do not rise in {}: no knee searched.",
                             v.open_model ? "asked rate" : "users");
  }
  if (!v.knee) {
    if (v.knee_cause == KneeCause::errors) {
      for (const CycleHealth& c : v.cycles) {
        if (c.complete) {
          return fmt::format("Scaling: no knee: {} of pages failed from the first cycle ({}).", percent(c.pages_failed),
                             c.label());
        }
      }
    }
    const CycleHealth* last = nullptr;
    for (const CycleHealth& c : v.cycles) {
      if (c.complete) last = &c;
    }
    return fmt::format("Scaling: throughput still rose at the last complete cycle, {} ({} pages/s): no knee yet.",
                       last->label(), common::format_rate(last->pages_per_s));
  }
  const CycleHealth& knee = v.cycles[*v.knee];
  const CycleHealth* next = nullptr;
  for (std::size_t i = *v.knee + 1; i < v.cycles.size(); ++i) {
    if (v.cycles[i].complete) {
      next = &v.cycles[i];
      break;
    }
  }
  std::string why;
  switch (v.knee_cause) {
    case KneeCause::throughput:
      why = fmt::format("throughput stopped rising ({} pages/s)", common::format_rate(next->pages_per_s));
      break;
    case KneeCause::latency:
      why = fmt::format("page p95 jumped to {}", common::format_latency(next->page_p95_us));
      break;
    case KneeCause::errors: why = fmt::format("{} of pages failed", percent(next->pages_failed)); break;
    case KneeCause::none: break;
  }
  return fmt::format("Knee: {} ({} pages/s, page p95 {}); at {} {}.", knee.label(),
                     common::format_rate(knee.pages_per_s), common::format_latency(knee.page_p95_us),
                     next->label(), why);
}

// Open model: a cycle whose pool ran out says so; starts it missed never reached the
// target, so the figures are of a lower rate than asked (a warning, not a failure).
std::optional<std::string> starts_line(const CycleHealth& c) {
  if (!c.arrivals) return std::nullopt;
  const stats::Arrivals& a = *c.arrivals;
  if (a.missed > 0) {
    return fmt::format("{}: {} of {} starts missed (the pool of {} users was full): the target did not get the rate "
                       "asked.",
                       c.label(), common::format_count(a.missed), common::format_count(a.due), a.peak_users);
  }
  if (a.late > 0) {
    return fmt::format("{}: {} of {} starts late, waiting up to {} for a free user of the pool of {}: their times "
                       "count from the intended start.",
                       c.label(), common::format_count(a.late), common::format_count(a.due),
                       common::format_latency(a.max_wait_us), a.peak_users);
  }
  return std::nullopt;
}

std::string load_text(const CycleHealth& c) { return cycle_load_text(c.cvus, c.rate); }

}  // namespace

std::string cycle_label(int index, int cvus, const std::optional<AskedRate>& rate) {
  return fmt::format("C{} · {}", cycle_number(index), cycle_load_text(cvus, rate));
}

std::string CycleHealth::label() const { return cycle_label(index, cvus, rate); }

std::string_view to_string(KneeCause cause) noexcept {
  switch (cause) {
    case KneeCause::none: return "none";
    case KneeCause::throughput: return "throughput";
    case KneeCause::latency: return "latency";
    case KneeCause::errors: return "errors";
  }
  return "none";
}

std::size_t Verdict::failed_thresholds() const {
  std::size_t failed = 0;
  for (std::size_t t = 0; t < thresholds.size(); ++t) {
    const bool any = std::any_of(results.begin(), results.end(), [&](const ThresholdResult& r) {
      return r.threshold == t && r.judged && !r.passed;
    });
    if (any) ++failed;
  }
  return failed;
}

std::optional<std::vector<conf::Threshold>> run_thresholds(const stats::Results& results,
                                                           const std::vector<std::string>* override,
                                                           std::string* error) {
  const std::vector<std::string>& texts = override != nullptr ? *override : results.config.thresholds;
  std::vector<conf::Threshold> out;
  for (const std::string& text : texts) {
    std::optional<conf::Threshold> t = conf::parse_threshold(text, error);
    if (!t) return std::nullopt;
    out.push_back(std::move(*t));
  }
  return out;
}

std::string describe_result(const conf::Threshold& t, const ThresholdResult& r) {
  const std::string where = r.cycle ? cycle_label(*r.cycle, r.cvus, r.rate) : "the whole run";
  const std::string value = r.value ? t.format_value(*r.value) : r.note;
  return fmt::format("{} {} {}: {} in {}", t.describe(), conf::to_string(t.op), t.format_value(t.limit), value, where);
}

std::string describe_result(const Verdict& verdict, const ThresholdResult& result) {
  return describe_result(verdict.thresholds[result.threshold], result);
}

std::vector<ThresholdResult> failed_cycle_thresholds(const stats::CycleResults& cycle, const MetricContext& context,
                                                     const std::vector<conf::Threshold>& thresholds) {
  std::vector<ThresholdResult> failed;
  for (std::size_t t = 0; t < thresholds.size(); ++t) {
    if (thresholds[t].over_run) continue;
    ThresholdResult r = judge_cycle(thresholds[t], t, cycle, context);
    if (!r.passed) failed.push_back(std::move(r));
  }
  return failed;
}

Verdict judge_run(const stats::Results& results, const MetricContext& context,
                  const std::vector<conf::Threshold>& thresholds) {
  Verdict v;
  v.thresholds = thresholds;
  v.has_thresholds = !thresholds.empty();
  v.open_model = open_model(results);
  for (const stats::CycleResults& cycle : results.cycles) v.cycles.push_back(health_of(cycle, context));
  const bool any_complete = std::any_of(v.cycles.begin(), v.cycles.end(), [](const auto& c) { return c.complete; });

  // Thresholds: per cycle (complete ones judged), or once over every cycle together.
  for (std::size_t t = 0; t < thresholds.size(); ++t) {
    const Threshold& threshold = thresholds[t];
    if (threshold.over_run) {
      stats::EntryStats items;
      Starts starts;
      double window_s = 0;
      bool found = false;
      for (const stats::CycleResults& cycle : results.cycles) {
        found = gather(threshold, cycle, items) || found;
        starts.add(cycle);
        window_s += cycle.window_s;
      }
      ThresholdResult r;
      r.threshold = t;
      if (results.cycles.empty()) {
        r.note = "no cycle ran";
      } else if (!found) {
        r.note = fmt::format("no {} '{}' in the run", singular(threshold.table), threshold.entry);
      } else {
        r.value = measure(threshold, items, starts, v.open_model, window_s, context, r.note);
      }
      r.passed = r.value && threshold.holds(*r.value);
      v.results.push_back(std::move(r));
      continue;
    }
    for (std::size_t c = 0; c < results.cycles.size(); ++c) {
      ThresholdResult r = judge_cycle(threshold, t, results.cycles[c], context);
      if (!v.cycles[c].complete) {
        r.judged = false;
        if (r.note.empty()) r.note = "incomplete cycle, not judged";
      }
      if (r.judged && !r.passed) v.cycles[c].thresholds_met = false;
      v.results.push_back(std::move(r));
    }
  }

  // Totals, worst and highest-load cycles: complete cycles, or all when none is.
  for (const stats::CycleResults& cycle : results.cycles) {
    const stats::EntryStats tests = sum_entries(cycle.tests);
    const stats::EntryStats pages = sum_entries(cycle.pages);
    v.tests += tests.total();
    v.tests_ok += tests.ok;
    v.pages += pages.total();
    v.pages_ok += pages.ok;
  }
  v.tests_success = share(v.tests_ok, v.tests);
  v.pages_success = share(v.pages_ok, v.pages);
  for (std::size_t i = 0; i < v.cycles.size(); ++i) {
    const CycleHealth& c = v.cycles[i];
    if (any_complete && !c.complete) continue;
    if (!v.worst) {
      v.worst = i;
    } else {
      const CycleHealth& w = v.cycles[*v.worst];
      const double cf = c.pages_failed.value_or(0), wf = w.pages_failed.value_or(0);
      if (cf > wf || (cf == wf && c.page_p95_us > w.page_p95_us)) v.worst = i;
    }
    if (!v.highest_load || c.load() >= v.cycles[*v.highest_load].load()) v.highest_load = i;
  }
  find_knee(v);

  const std::size_t cycle_count = results.cycles.size();
  const std::size_t complete_count =
      static_cast<std::size_t>(std::count_if(v.cycles.begin(), v.cycles.end(), [](const auto& c) { return c.complete; }));
  if (v.has_thresholds) {
    for (std::size_t i = 0; i < v.cycles.size(); ++i) {
      if (v.cycles[i].complete && v.cycles[i].thresholds_met &&
          (!v.capacity || v.cycles[i].load() >= v.cycles[*v.capacity].load())) {
        v.capacity = i;
      }
    }
    const std::size_t failed = v.failed_thresholds();
    const bool judged_any = std::any_of(v.results.begin(), v.results.end(), [](const auto& r) { return r.judged; });
    v.passed = failed == 0 && judged_any;
    if (!judged_any) {
      v.headline = "FAILED: no complete cycle to judge the thresholds on.";
    } else if (v.passed) {
      v.headline = fmt::format("PASSED: {} threshold{} met in {} complete cycle{}{}.", thresholds.size(),
                               thresholds.size() == 1 ? "" : "s", complete_count, complete_count == 1 ? "" : "s",
                               v.highest_load ? fmt::format(", up to {}", load_text(v.cycles[*v.highest_load])) : "");
    } else {
      const auto first_failed = std::find_if(v.results.begin(), v.results.end(),
                                             [](const auto& r) { return r.judged && !r.passed; });
      v.headline = fmt::format("FAILED: {} of {} threshold{} failed ({}).", failed, thresholds.size(),
                               thresholds.size() == 1 ? "" : "s", describe_result(v, *first_failed));
    }
    if (v.capacity) {
      const CycleHealth& c = v.cycles[*v.capacity];
      v.lines.push_back(fmt::format("Capacity: {} met every threshold ({}).", load_text(c), c.label()));
    } else if (complete_count > 0 &&
               std::any_of(thresholds.begin(), thresholds.end(), [](const Threshold& t) { return !t.over_run; })) {
      v.lines.push_back("Capacity: no cycle met every threshold.");
    }
  } else {
    const uint64_t failed_tests = v.tests - v.tests_ok;
    v.passed = failed_tests == 0 && cycle_count > 0;
    if (cycle_count == 0) {
      v.headline = "FAILED: no cycle ran.";
    } else if (v.passed) {
      v.headline = fmt::format("PASSED: every test succeeded in {} cycle{} ({} tests); no thresholds set.",
                               cycle_count, cycle_count == 1 ? "" : "s", common::format_count(v.tests));
    } else {
      v.headline = fmt::format("FAILED: {} of {} tests failed ({}); no thresholds set.", common::format_count(failed_tests),
                               common::format_count(v.tests), percent(share(failed_tests, v.tests)));
    }
  }
  if (!v.cycles.empty()) v.lines.push_back(knee_line(v));
  for (const CycleHealth& c : v.cycles) {
    if (std::optional<std::string> line = starts_line(c)) v.lines.push_back(std::move(*line));
  }
  if (v.worst) {
    const CycleHealth& w = v.cycles[*v.worst];
    v.lines.push_back(fmt::format("Worst cycle: {}: {} of pages failed, {} of tests failed, page p95 {}, Apdex {}.",
                                  w.label(), percent(w.pages_failed), percent(w.tests_failed),
                                  w.page_p95_us > 0 ? common::format_latency(w.page_p95_us) : "n/a",
                                  common::format_apdex(w.apdex)));
  }
  if (v.highest_load && v.highest_load != v.worst) {
    const CycleHealth& h = v.cycles[*v.highest_load];
    v.lines.push_back(fmt::format("Highest load: {}: {} of pages failed, page p95 {}, {} pages/s.",
                                  h.label(), percent(h.pages_failed),
                                  h.page_p95_us > 0 ? common::format_latency(h.page_p95_us) : "n/a",
                                  common::format_rate(h.pages_per_s)));
  }
  v.lines.push_back(fmt::format("Success: {} of tests (user journeys), {} of pages, over every cycle.",
                                percent(v.tests_success), percent(v.pages_success)));
  if (!results.run.stop_reason.empty()) {
    v.aborted = true;
    v.lines.push_back(fmt::format("Stopped early (--abort-on-fail) after {} of {} cycles: {}.", results.cycles.size(),
                                  results.config.cycles.size(), results.run.stop_reason));
  }
  if (results.run.status == stats::RunStatus::interrupted) {
    v.lines.push_back("The run was interrupted: incomplete cycles are not judged.");
  }
  return v;
}

}  // namespace bm::report
