#include "report/html_metrics.hpp"

#include <array>
#include <cmath>
#include <map>
#include <utility>

namespace bm::report {

namespace {

constexpr std::array<double, 4> kPercentiles = {50, 90, 95, 99};

template <class AnyHistogram>
LatencySummary summarize(const AnyHistogram& histogram) {
  LatencySummary out;
  out.count = histogram.count();
  if (out.count == 0) return out;
  out.min_us = histogram.min();
  out.max_us = histogram.max();
  out.mean_us = histogram.mean();
  std::array<uint64_t, kPercentiles.size()> ranks{};
  for (std::size_t i = 0; i < ranks.size(); ++i) ranks[i] = stats::detail::percentile_rank(kPercentiles[i], out.count);
  std::array<int64_t*, kPercentiles.size()> values = {&out.p50_us, &out.p90_us, &out.p95_us, &out.p99_us};
  for (int64_t* value : values) *value = out.max_us;  // a rank past the last bucket is the max
  std::size_t next = 0;
  uint64_t seen = 0;
  histogram.for_each_nonzero([&](int32_t index, uint64_t count) {
    seen += count;
    while (next < ranks.size() && seen >= ranks[next]) {
      *values[next] = std::min(stats::Histogram::highest_equivalent_value(index), out.max_us);
      ++next;
    }
  });
  return out;
}

double per_second(uint64_t count, double window_s) {
  return window_s > 0 ? static_cast<double>(count) / window_s : 0.0;
}

}  // namespace

LatencySummary summarize_latency(const stats::Histogram& histogram) { return summarize(histogram); }
LatencySummary summarize_latency(const stats::SparseHistogram& histogram) { return summarize(histogram); }

stats::Apdex apdex_for(const stats::EntryStats& stats, int64_t run_t_us, int64_t t_us) {
  if (t_us == run_t_us) return stats.apdex;
  stats::Apdex apdex;
  stats.latency.for_each_nonzero([&](int32_t index, uint64_t count) {
    const int64_t value = stats::Histogram::lowest_equivalent_value(index);
    if (value <= t_us) {
      apdex.satisfied += count;
    } else if (value <= 4 * t_us) {
      apdex.tolerating += count;
    } else {
      apdex.frustrated += count;
    }
  });
  apdex.frustrated += stats.failures + stats.errors;
  return apdex;
}

std::string_view apdex_rating_name(char rating) noexcept {
  switch (rating) {
    case 'E': return "Excellent";
    case 'G': return "Good";
    case 'F': return "Fair";
    case 'P': return "Poor";
    case 'U': return "Unacceptable";
    default: return "";
  }
}

MetricContext metric_context(const stats::Results& results, const ReportOptions& options) {
  MetricContext context;
  context.run_apdex_t_us = results.config.apdex_t_us();
  context.apdex_t_us =
      options.apdex_t_s ? static_cast<int64_t>(std::llround(*options.apdex_t_s * 1e6)) : context.run_apdex_t_us;
  return context;
}

EntryRow entry_row(const stats::CycleResults& cycle, const stats::EntryStats& stats, const MetricContext& context) {
  EntryRow row;
  row.cycle = cycle.index;
  row.cvus = cycle.cvus;
  row.complete = cycle.status == stats::CycleStatus::complete;
  row.window_s = cycle.window_s;
  row.ok = stats.ok;
  row.failures = stats.failures;
  row.errors = stats.errors;
  row.ok_per_s = per_second(stats.ok, cycle.window_s);
  if (row.total() > 0) row.success_rate = static_cast<double>(row.ok) / static_cast<double>(row.total());
  row.latency = summarize_latency(stats.latency);
  row.apdex = apdex_for(stats, context.run_apdex_t_us, context.apdex_t_us);
  row.bytes_received = stats.bytes_received;
  return row;
}

stats::EntryStats sum_entries(const stats::EntryTable& table) {
  stats::EntryStats total;
  for (const stats::Entry& entry : table) total.merge(entry.stats);
  return total;
}

std::vector<CycleSummary> cycle_summaries(const stats::Results& results, const MetricContext& context) {
  std::vector<CycleSummary> out;
  out.reserve(results.cycles.size());
  for (const stats::CycleResults& cycle : results.cycles) {
    CycleSummary summary;
    summary.index = cycle.index;
    summary.cvus = cycle.cvus;
    summary.complete = cycle.status == stats::CycleStatus::complete;
    summary.window_s = cycle.window_s;
    summary.tests = entry_row(cycle, sum_entries(cycle.tests), context);
    summary.pages = entry_row(cycle, sum_entries(cycle.pages), context);
    summary.requests = entry_row(cycle, sum_entries(cycle.requests), context);
    out.push_back(std::move(summary));
  }
  return out;
}

std::optional<std::size_t> best_cycle(const std::vector<CycleSummary>& summaries) {
  if (summaries.empty()) return std::nullopt;
  std::optional<std::size_t> best, first_complete;
  double best_score = -1;
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    if (!summaries[i].complete) continue;  // an incomplete cycle never feeds the headline
    if (!first_complete) first_complete = i;
    const std::optional<double> apdex = summaries[i].pages.apdex_score();
    if (!apdex || *apdex < 0.85) continue;
    const double score = summaries[i].pages.ok_per_s * *apdex;
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return best ? best : first_complete ? first_complete : std::optional<std::size_t>(0);
}

std::vector<EntryHistory> entry_histories(const stats::Results& results, EntryTableKind table,
                                          const MetricContext& context) {
  std::vector<EntryHistory> out;
  std::map<std::pair<std::string_view, std::string_view>, std::size_t> position;
  for (const stats::CycleResults& cycle : results.cycles) {
    const stats::EntryTable& entries = table == EntryTableKind::tests   ? cycle.tests
                                       : table == EntryTableKind::pages ? cycle.pages
                                                                        : cycle.requests;
    for (const stats::Entry& entry : entries) {
      auto [at, added] = position.try_emplace({entry.page, entry.key}, out.size());
      if (added) {
        out.push_back(EntryHistory{entry.key, entry.page, entry.method, entry.url, entry.kind, {}});
      }
      out[at->second].rows.push_back(entry_row(cycle, entry.stats, context));
    }
  }
  return out;
}

bool cycles_ascending(const stats::Results& results) {
  for (std::size_t i = 1; i < results.cycles.size(); ++i) {
    if (results.cycles[i].cvus <= results.cycles[i - 1].cvus) return false;
  }
  return true;
}

}  // namespace bm::report
