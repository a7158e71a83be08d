#include "report/trend_report.hpp"

#include "report/run_settings.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/format.hpp"
#include "report/monitor_metrics.hpp"

namespace bm::report {

using namespace bm::common;  // the shared number and time formatters

namespace {

// Asked rates are the same when they read the same ("400/s", "50→200/s").
bool same_rate(const AskedRate& a, const AskedRate& b) { return format_asked_rate(a) == format_asked_rate(b); }

}  // namespace

const CycleSummary* TrendRun::cycle_with_users(int users) const {
  for (const CycleSummary& cycle : cycles) {
    // The first, if a run repeats a number of users; an open-model cycle's users are its pool.
    if (!cycle.rate && cycle.cvus == users) return &cycle;
  }
  return nullptr;
}

const CycleSummary* TrendRun::cycle_with_rate(const AskedRate& rate) const {
  for (const CycleSummary& cycle : cycles) {
    if (cycle.rate && same_rate(*cycle.rate, rate)) return &cycle;
  }
  return nullptr;
}

namespace {

void comparability(const std::vector<NamedResults>& runs, TrendReport& trend) {
  std::set<std::string> tests;
  std::set<double> durations;
  for (const NamedResults& run : runs) {
    tests.insert(run.results->run.test);
    durations.insert(run.results->config.duration_s);
    if (run.results->run.status != stats::RunStatus::complete) {
      trend.warnings.push_back(
          fmt::format("{} did not complete ({}).", run.name, stats::to_string(run.results->run.status)));
    }
  }
  if (tests.size() > 1) {
    trend.warnings.insert(trend.warnings.begin(), fmt::format("The runs are of different tests: {}.",
                                                              fmt::join(tests, ", ")));
  }
  if (durations.size() > 1) {
    trend.warnings.insert(trend.warnings.begin(),
                          fmt::format("The runs' cycles lasted differently: {} s.", fmt::join(durations, ", ")));
  }
  // Every other setting that shapes the figures.
  std::vector<const stats::Results*> results;
  std::vector<std::string> names;
  for (const NamedResults& run : runs) {
    results.push_back(run.results);
    names.push_back(run.name);
  }
  for (std::string& warning : differing_settings(results, names)) trend.warnings.push_back(std::move(warning));
}

}  // namespace

TrendReport compute_trend(const std::vector<NamedResults>& runs, const ReportOptions& options) {
  TrendReport trend;
  std::set<int> users;
  for (const NamedResults& named : runs) {
    const stats::Results& r = *named.results;
    TrendRun run{named.name, r.run.label, r.run.test, r.run.start_epoch_us, r.run.status,
                 cycle_summaries(r, metric_context(r, options)), {}};
    for (const CycleSummary& cycle : run.cycles) {
      if (!cycle.rate) {
        users.insert(cycle.cvus);
      } else if (std::none_of(trend.rates.begin(), trend.rates.end(),
                              [&](const AskedRate& seen) { return same_rate(seen, *cycle.rate); })) {
        trend.rates.push_back(*cycle.rate);
      }
    }
    trend.runs.push_back(std::move(run));
  }
  std::stable_sort(trend.runs.begin(), trend.runs.end(),
                   [](const TrendRun& a, const TrendRun& b) { return a.start_epoch_us < b.start_epoch_us; });
  trend.users.assign(users.begin(), users.end());
  std::stable_sort(trend.rates.begin(), trend.rates.end(),
                   [](const AskedRate& a, const AskedRate& b) { return a.mean() < b.mean(); });
  // Monitored hosts every run has: their CPU per cycle.
  if (!runs.empty()) {
    for (const stats::MonitorHost& host : runs.front().results->monitor.hosts) {
      const bool everywhere = std::all_of(runs.begin(), runs.end(), [&](const NamedResults& named) {
        return std::any_of(named.results->monitor.hosts.begin(), named.results->monitor.hosts.end(),
                           [&](const stats::MonitorHost& h) { return h.name == host.name; });
      });
      if (everywhere) trend.hosts.push_back(host.name);
    }
  }
  for (TrendRun& run : trend.runs) {
    const NamedResults& named = *std::find_if(runs.begin(), runs.end(), [&](const NamedResults& n) {
      return n.name == run.name && n.results->run.start_epoch_us == run.start_epoch_us;
    });
    for (const stats::CycleResults& cycle : named.results->cycles) {
      std::vector<std::optional<double>>& row = run.host_cpu.emplace_back();
      for (const std::string& name : trend.hosts) {
        const auto& hosts = named.results->monitor.hosts;
        const auto host = std::find_if(hosts.begin(), hosts.end(), [&](const stats::MonitorHost& h) { return h.name == name; });
        row.push_back(host_cycle_figures(*host, cycle).cpu_mean);
      }
    }
  }
  comparability(runs, trend);
  return trend;
}

void render_trend_text(const TrendReport& trend, std::ostream& out, int width) {
  const auto w = static_cast<std::size_t>(std::max(40, width));
  out << fmt::format("Trend of {} runs\n{}\n", trend.runs.size(), std::string(std::min<std::size_t>(w, 80), '='));
  for (const std::string& warning : trend.warnings) out << "WARNING: " << warning << "\n";
  out << "Pages/s and p95 are over every page of the cycle; times in ms.\n\n";
  // Open-model cycles show their asked rate ("50→200/s") where closed ones show users.
  const bool any_open = !trend.rates.empty();
  const int load_width = any_open ? 10 : 8;
  out << fmt::format("{:<4}{:>{}}{:>11}{:>12}{:>10}{:>10}{:>9}", "#",
                     !any_open ? "Users" : trend.users.empty() ? "Rate" : "Users/rate", load_width,
                     "Pages/s", "Requests/s", "Success", "p95", "Apdex");
  for (const std::string& host : trend.hosts) out << fmt::format("  {:>10}", host + " CPU");
  out << '\n';
  for (std::size_t i = 0; i < trend.runs.size(); ++i) {
    const TrendRun& run = trend.runs[i];
    out << fmt::format("{:<4}{}{}, started {}{}\n", i + 1, run.name, run.label.empty() ? "" : " [" + run.label + "]",
                       format_epoch_us(run.start_epoch_us),
                       run.status == stats::RunStatus::complete ? "" : fmt::format(" ({})", stats::to_string(run.status)));
    for (std::size_t c = 0; c < run.cycles.size(); ++c) {
      const CycleSummary& cycle = run.cycles[c];
      out << fmt::format("{:<4}{:>{}}{:>11}{:>12}{:>10}{:>10}{:>9}", "",
                         cycle.rate ? format_asked_rate(*cycle.rate) : std::to_string(cycle.cvus), load_width,
                         format_rate(cycle.pages.ok_per_s),
                         format_rate(cycle.requests.ok_per_s), format_percent(cycle.pages.success_rate),
                         cycle.pages.latency.count ? format_ms(cycle.pages.latency.p95_us) : kNoValue,
                         format_apdex(cycle.pages.apdex_score()));
      if (c < run.host_cpu.size()) {
        for (const std::optional<double>& cpu : run.host_cpu[c]) out << fmt::format("  {:>10}", format_percent(cpu));
      }
      out << '\n';
    }
  }
}

}  // namespace bm::report
