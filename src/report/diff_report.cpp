#include "report/diff_report.hpp"
#include "report/text_layout.hpp"

#include "report/run_settings.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "common/format.hpp"
#include "report/monitor_metrics.hpp"

namespace bm::report {

using namespace bm::common;  // the shared number and time formatters

namespace {

// What cycles are joined on: users, or (open model) the mean asked rate in thousandths.
int64_t load_key(const stats::CycleResults& cycle) {
  if (const std::optional<AskedRate> rate = asked_rate(cycle)) return std::llround(rate->mean() * 1000);
  return cycle.cvus;
}

// Pairs of cycle positions (in a, in b) joined on users (open model: the rate asked); by
// position when a run repeats a number of users (then users alone cannot tell its cycles
// apart), or when one run is open-model and the other not.
std::vector<std::pair<std::optional<std::size_t>, std::optional<std::size_t>>> join_cycles(const stats::Results& a,
                                                                                          const stats::Results& b) {
  std::vector<std::pair<std::optional<std::size_t>, std::optional<std::size_t>>> pairs;
  auto users_index = [](const stats::Results& r, std::map<int64_t, std::size_t>& out) {
    for (std::size_t i = 0; i < r.cycles.size(); ++i) {
      if (!out.emplace(load_key(r.cycles[i]), i).second) return false;
    }
    return true;
  };
  std::map<int64_t, std::size_t> in_a, in_b;
  if (open_model(a) != open_model(b) || !users_index(a, in_a) || !users_index(b, in_b)) {
    for (std::size_t i = 0; i < std::max(a.cycles.size(), b.cycles.size()); ++i) {
      pairs.emplace_back(i < a.cycles.size() ? std::optional(i) : std::nullopt,
                         i < b.cycles.size() ? std::optional(i) : std::nullopt);
    }
    return pairs;
  }
  for (std::size_t i = 0; i < a.cycles.size(); ++i) {
    const auto found = in_b.find(load_key(a.cycles[i]));
    pairs.emplace_back(i, found == in_b.end() ? std::nullopt : std::optional(found->second));
  }
  for (std::size_t i = 0; i < b.cycles.size(); ++i) {
    if (!in_a.contains(load_key(b.cycles[i]))) pairs.emplace_back(std::nullopt, i);
  }
  std::stable_sort(pairs.begin(), pairs.end(), [&](const auto& x, const auto& y) {
    auto users = [&](const auto& pair) {
      return pair.first ? load_key(a.cycles[*pair.first]) : load_key(b.cycles[*pair.second]);
    };
    return users(x) < users(y);
  });
  return pairs;
}

std::optional<double> latency_ms(const EntryRow* row, int64_t LatencySummary::*field) {
  if (row == nullptr || row->latency.count == 0) return std::nullopt;
  return static_cast<double>(row->latency.*field) / 1000.0;
}

// The metrics of one row of each side (either may be missing).
std::vector<MetricDiff> row_metrics(const EntryRow* a, const EntryRow* b, const CycleSummary* sa,
                                    const CycleSummary* sb, double same_within) {
  std::vector<MetricDiff> out;
  auto add = [&](std::string_view name, std::string_view unit, Preference preference, auto value) {
    out.push_back(compare(name, unit, preference, value(a, sa), value(b, sb), same_within));
  };
  using P = Preference;
  using Row = const EntryRow*;
  using Sum = const CycleSummary*;
  if (sa != nullptr || sb != nullptr) {
    add("Tests/s", "/s", P::higher_is_better,
        [](Row, Sum s) { return s ? std::optional(s->tests.ok_per_s) : std::nullopt; });
  }
  add("Pages/s", "/s", P::higher_is_better, [](Row r, Sum) { return r ? std::optional(r->ok_per_s) : std::nullopt; });
  if (sa != nullptr || sb != nullptr) {
    add("Requests/s", "/s", P::higher_is_better,
        [](Row, Sum s) { return s ? std::optional(s->requests.ok_per_s) : std::nullopt; });
  }
  add("Success", "%", P::higher_is_better, [](Row r, Sum) { return r ? r->success_rate : std::nullopt; });
  add("Mean", "ms", P::lower_is_better, [](Row r, Sum) {
    return r && r->latency.count ? std::optional(r->latency.mean_us / 1000.0) : std::nullopt;
  });
  add("p50", "ms", P::lower_is_better, [](Row r, Sum) { return latency_ms(r, &LatencySummary::p50_us); });
  add("p90", "ms", P::lower_is_better, [](Row r, Sum) { return latency_ms(r, &LatencySummary::p90_us); });
  add("p95", "ms", P::lower_is_better, [](Row r, Sum) { return latency_ms(r, &LatencySummary::p95_us); });
  add("p99", "ms", P::lower_is_better, [](Row r, Sum) { return latency_ms(r, &LatencySummary::p99_us); });
  add("Apdex", "", P::higher_is_better, [](Row r, Sum) { return r ? r->apdex_score() : std::nullopt; });
  return out;
}

std::string cycles_text(const std::vector<int>& cycles) { return fmt::format("{}", fmt::join(cycles, ":")); }

std::string test_name(const stats::RunInfo& run) {
  return run.function.empty() || run.function == "test_" + run.test ? run.test
                                                                    : fmt::format("{} ({})", run.test, run.function);
}

bool any_incomplete(const stats::Results& r) {
  return r.run.status != stats::RunStatus::complete ||
         std::any_of(r.cycles.begin(), r.cycles.end(),
                     [](const stats::CycleResults& c) { return c.status != stats::CycleStatus::complete; });
}

void comparability(DiffReport& diff, const DiffOptions& options) {
  const stats::Results& a = *diff.a.results;
  const stats::Results& b = *diff.b.results;
  if (open_model(a) != open_model(b)) {
    diff.warnings.push_back(fmt::format("Run {} asked for arrival rates (open model) and run {} for users: cycles are "
                                        "compared by position.",
                                        open_model(a) ? "A" : "B", open_model(a) ? "B" : "A"));
  } else if (open_model(a)) {
    if (a.config.rates != b.config.rates) {
      diff.warnings.push_back(fmt::format("The runs asked different rates: A {}/s, B {}/s. Only cycles with the "
                                          "same rate are compared.",
                                          a.config.rates, b.config.rates));
    }
  } else if (a.config.cycles != b.config.cycles) {
    diff.warnings.push_back(fmt::format("The runs ran different cycles: A {} users, B {} users. Only cycles with "
                                        "the same number of users are compared.",
                                        cycles_text(a.config.cycles), cycles_text(b.config.cycles)));
  }
  if (a.config.duration_s != b.config.duration_s) {
    diff.warnings.push_back(fmt::format("The cycles lasted differently: A {} s, B {} s.",
                                        format_seconds(a.config.duration_s), format_seconds(b.config.duration_s)));
  }
  if (a.run.test != b.run.test || a.run.function != b.run.function) {
    diff.warnings.push_back(
        fmt::format("The runs ran different tests: A {}, B {}.", test_name(a.run), test_name(b.run)));
  }
  for (const auto& [name, run] : {std::pair{"A", &a}, std::pair{"B", &b}}) {
    if (any_incomplete(*run)) {
      diff.warnings.push_back(fmt::format("Run {} did not complete ({}): its incomplete cycles cover only what "
                                          "finished.",
                                          name, stats::to_string(run->run.status)));
    }
  }
  if (!options.report.apdex_t_s && a.config.apdex_t_s != b.config.apdex_t_s) {
    diff.warnings.push_back(fmt::format("Apdex T differs (A {} s, B {} s): Apdex scores are not comparable; "
                                        "pass --apdex-t to score both with one T.",
                                        format_seconds(a.config.apdex_t_s), format_seconds(b.config.apdex_t_s)));
  }
  // Comparing two servers is what a diff is often for: a note, not a warning.
  if (a.run.url != b.run.url) {
    diff.notes.push_back(fmt::format("Server: A {}, B {}.", a.run.url, b.run.url));
  }
  // Every other setting that shapes the figures.
  for (std::string& warning : differing_settings({&a, &b}, {"A", "B"})) diff.warnings.push_back(std::move(warning));
}

}  // namespace

std::string DiffRow::load() const { return rate ? format_asked_rate(*rate) : std::to_string(users); }

std::string_view to_string(Change change) noexcept {
  switch (change) {
    case Change::better: return "better";
    case Change::worse: return "worse";
    case Change::same: return "same";
    case Change::unknown: return "";
  }
  return "";
}

MetricDiff compare(std::string_view name, std::string_view unit, Preference preference, std::optional<double> a,
                   std::optional<double> b, double same_within) {
  MetricDiff m{std::string(name), unit, preference, a, b, std::nullopt, std::nullopt, Change::unknown};
  if (!a || !b) return m;
  m.delta = *b - *a;
  if (*a != 0) m.relative = *m.delta / std::fabs(*a);
  const bool negligible = m.relative ? std::fabs(*m.relative) < same_within : *m.delta == 0;
  if (negligible) {
    m.change = Change::same;
  } else {
    const bool higher = *m.delta > 0;
    m.change = higher == (preference == Preference::higher_is_better) ? Change::better : Change::worse;
  }
  return m;
}

DiffReport compute_diff(const stats::Results& a, std::string name_a, const stats::Results& b, std::string name_b,
                        const DiffOptions& options) {
  DiffReport diff;
  diff.a = {std::move(name_a), &a};
  diff.b = {std::move(name_b), &b};
  diff.same_within = options.same_within;
  comparability(diff, options);

  const std::vector<CycleSummary> sa = cycle_summaries(a, metric_context(a, options.report));
  const std::vector<CycleSummary> sb = cycle_summaries(b, metric_context(b, options.report));
  const auto pairs = join_cycles(a, b);
  for (const auto& [ia, ib] : pairs) {
    const CycleSummary* ca = ia ? &sa[*ia] : nullptr;
    const CycleSummary* cb = ib ? &sb[*ib] : nullptr;
    DiffRow row;
    row.users = ca ? ca->cvus : cb->cvus;
    row.rate = ca ? ca->rate : cb->rate;
    if (ia) row.cycle_a = a.cycles[*ia].index;
    if (ib) row.cycle_b = b.cycles[*ib].index;
    row.metrics = row_metrics(ca ? &ca->pages : nullptr, cb ? &cb->pages : nullptr, ca, cb, options.same_within);
    // Monitored hosts both runs watched (by name): their CPU over the window.
    for (const stats::MonitorHost& host_a : a.monitor.hosts) {
      const auto host_b = std::find_if(b.monitor.hosts.begin(), b.monitor.hosts.end(),
                                       [&](const stats::MonitorHost& h) { return h.name == host_a.name; });
      if (host_b == b.monitor.hosts.end()) continue;
      const auto cpu = [](const stats::MonitorHost& host, const stats::Results& r, std::optional<std::size_t> index) {
        if (!index) return std::optional<double>();
        return host_cycle_figures(host, r.cycles[*index]).cpu_mean;  // a share: "%" metrics are
      };
      row.metrics.push_back(compare(host_a.name + " CPU", "%", Preference::lower_is_better, cpu(host_a, a, ia),
                                    cpu(*host_b, b, ib), options.same_within));
    }
    diff.cycles.push_back(std::move(row));
  }

  const auto pages_a = entry_histories(a, EntryTableKind::pages, metric_context(a, options.report));
  const auto pages_b = entry_histories(b, EntryTableKind::pages, metric_context(b, options.report));
  auto find = [](const std::vector<EntryHistory>& pages, const std::string& key) -> const EntryHistory* {
    for (const EntryHistory& page : pages) {
      if (page.key == key) return &page;
    }
    return nullptr;
  };
  auto row_of = [](const EntryHistory* page, std::optional<int> cycle) -> const EntryRow* {
    if (page == nullptr || !cycle) return nullptr;
    for (const EntryRow& row : page->rows) {
      if (row.cycle == *cycle) return &row;
    }
    return nullptr;
  };
  auto add_page = [&](const std::string& key) {
    const EntryHistory* pa = find(pages_a, key);
    const EntryHistory* pb = find(pages_b, key);
    DiffPage page{key, pa != nullptr, pb != nullptr, {}};
    for (const DiffRow& cycle : diff.cycles) {
      const EntryRow* ra = row_of(pa, cycle.cycle_a);
      const EntryRow* rb = row_of(pb, cycle.cycle_b);
      if (ra == nullptr && rb == nullptr) continue;
      page.rows.push_back({cycle.users, cycle.rate, cycle.cycle_a, cycle.cycle_b,
                           row_metrics(ra, rb, nullptr, nullptr, options.same_within)});
    }
    diff.pages.push_back(std::move(page));
  };
  for (const EntryHistory& page : pages_a) add_page(page.key);
  for (const EntryHistory& page : pages_b) {
    if (find(pages_a, page.key) == nullptr) add_page(page.key);
  }
  return diff;
}

// ---- Text --------------------------------------------------------------------------

std::string format_metric_value(const MetricDiff& m, std::optional<double> value) {
  if (!value) return kNoValue;
  if (m.unit == "%") return format_percent(value);
  if (m.unit == "ms") return format_ms(*value * 1000.0);
  if (m.name == "Apdex") return format_apdex(value);
  return format_rate(*value);
}

std::string format_metric_delta(const MetricDiff& m) {
  if (!m.delta) return kNoValue;
  if (m.unit == "%") return fmt::format("{:+.2f} pt", *m.delta * 100.0);
  if (m.unit == "ms") return format_signed_ms(*m.delta * 1000.0);
  if (m.name == "Apdex") return fmt::format("{:+.3f}", *m.delta);
  return format_signed_rate(*m.delta);
}

namespace {

// Cuts a line to `width` bytes at a UTF-8 character boundary, marking the cut.
std::string fit(std::string text, std::size_t width) {
  if (text.size() <= width) return text;
  std::size_t cut = width > 1 ? width - 1 : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "~";
}

void text_rows(std::ostream& out, const std::vector<DiffRow>& rows) {
  const bool open = !rows.empty() && rows.front().rate.has_value();
  // "50→200/s" is wider than any number of users.
  const int load_width = open ? 10 : 6;
  out << fmt::format("{:>{}}  {:<11}{:>12}{:>12}{:>13}{:>10}  {}\n", open ? "Rate" : "Users", load_width, "Metric", "A",
                     "B", "Change", "%", "");
  for (const DiffRow& row : rows) {
    bool first = true;
    for (const MetricDiff& m : row.metrics) {
      const std::string verdict = m.change == Change::worse ? "WORSE" : std::string(to_string(m.change));
      // Times carry their unit in the metric's name; rates say "/s", shares "%".
      const std::string name = m.unit == "ms" ? m.name + " (ms)" : m.name;
      out << fmt::format("{:>{}}  {:<11}{:>12}{:>12}{:>13}{:>10}  {}\n", first ? row.load() : "", load_width,
                         name, format_metric_value(m, m.a), format_metric_value(m, m.b), format_metric_delta(m),
                         m.relative ? format_signed_percent(m.relative) : kNoValue, verdict);
      first = false;
    }
  }
}

}  // namespace

void render_diff_text(const DiffReport& diff, std::ostream& out, int width) {
  const auto w = static_cast<std::size_t>(std::max(40, width));
  const std::string rule(std::min<std::size_t>(w, 80), '=');
  out << "Diff of two runs\n" << rule << "\n";
  for (const auto& [letter, run] : {std::pair{"A", &diff.a}, std::pair{"B", &diff.b}}) {
    const stats::RunInfo& info = run->results->run;
    out << fit(fmt::format("{} = {}: {}{}, started {}", letter, run->name, info.title.empty() ? info.test : info.title,
                           info.label.empty() ? "" : " [" + info.label + "]", format_epoch_us(info.start_epoch_us)),
               w)
        << "\n";
  }
  // Warnings and notes wrap: cut short, the setting that differs could be lost.
  for (const std::string& warning : diff.warnings) text::write_wrapped(out, "WARNING: " + warning, w, 0);
  for (const std::string& note : diff.notes) text::write_wrapped(out, "Note: " + note, w, 0);
  out << fmt::format("Change is B - A; % is relative to A; within {:g} % counts as same.\n\n", diff.same_within * 100);
  out << "Summary per cycle (every page together)\n";
  text_rows(out, diff.cycles);
  for (const DiffPage& page : diff.pages) {
    out << "\n" << fit(fmt::format("Page {}{}", page.key, !page.in_a ? " (only in B)" : !page.in_b ? " (only in A)" : ""), w)
        << "\n";
    text_rows(out, page.rows);
  }
}

}  // namespace bm::report
