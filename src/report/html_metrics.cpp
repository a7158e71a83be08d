#include "report/html_metrics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <utility>

#include <fmt/format.h>

namespace bm::report {

namespace {

constexpr std::array<double, 5> kPercentiles = {50, 90, 95, 99, 99.9};

// Calls found(i, value) for each percentile of `percentiles` (ascending), in one pass.
template <class AnyHistogram, class Found>
void each_percentile(const AnyHistogram& histogram, const double* percentiles, std::size_t size, Found found) {
  const uint64_t count = histogram.count();
  if (count == 0 || size == 0) return;
  const int64_t max = histogram.max();
  std::size_t next = 0;
  // 0 % (or below) is the min, as value_at_percentile has it.
  while (next < size && percentiles[next] <= 0.0) found(next++, histogram.min());
  std::vector<uint64_t> ranks(size, 0);
  for (std::size_t i = next; i < size; ++i) ranks[i] = stats::detail::percentile_rank(percentiles[i], count);
  uint64_t seen = 0;
  histogram.for_each_nonzero([&](int32_t index, uint64_t n) {
    seen += n;
    while (next < size && percentiles[next] < 100.0 && seen >= ranks[next]) {
      found(next++, std::min(stats::Histogram::highest_equivalent_value(index), max));
    }
  });
  while (next < size) found(next++, max);  // 100 %, or a rank past the last bucket
}

template <class AnyHistogram>
LatencySummary summarize(const AnyHistogram& histogram) {
  LatencySummary out;
  out.count = histogram.count();
  if (out.count == 0) return out;
  out.min_us = histogram.min();
  out.max_us = histogram.max();
  out.mean_us = histogram.mean();
  const std::array<int64_t*, kPercentiles.size()> values = {&out.p50_us, &out.p90_us, &out.p95_us, &out.p99_us,
                                                            &out.p999_us};
  each_percentile(histogram, kPercentiles.data(), kPercentiles.size(),
                  [&](std::size_t i, int64_t value) { *values[i] = value; });
  return out;
}

template <class AnyHistogram>
std::vector<int64_t> values_at(const AnyHistogram& histogram, const std::vector<double>& percentiles) {
  std::vector<int64_t> out;
  if (histogram.count() == 0) return out;
  out.resize(percentiles.size());
  each_percentile(histogram, percentiles.data(), percentiles.size(),
                  [&](std::size_t i, int64_t value) { out[i] = value; });
  return out;
}

double per_second(uint64_t count, double window_s) {
  return window_s > 0 ? static_cast<double>(count) / window_s : 0.0;
}

std::string rate_number(double value) {
  const double whole = std::round(value);
  if (std::fabs(value - whole) < 0.05) return fmt::format("{:.0f}", whole);
  return fmt::format("{:.1f}", value);
}

}  // namespace

std::optional<AskedRate> asked_rate(const stats::CycleResults& cycle) {
  if (!cycle.arrivals) return std::nullopt;
  return AskedRate{cycle.arrivals->rate_from, cycle.arrivals->rate_to};
}

bool open_model(const stats::Results& results) {
  if (!results.config.rates.empty()) return true;
  return std::any_of(results.cycles.begin(), results.cycles.end(),
                     [](const stats::CycleResults& c) { return c.arrivals.has_value(); });
}

std::string format_asked_rate(const AskedRate& rate) {
  if (rate_number(rate.from) == rate_number(rate.to)) return rate_number(rate.from) + "/s";
  return fmt::format("{}\u2192{}/s", rate_number(rate.from), rate_number(rate.to));
}

std::string cycle_load_text(int cvus, const std::optional<AskedRate>& rate) {
  if (rate) return format_asked_rate(*rate);
  return fmt::format("{} user{}", cvus, cvus == 1 ? "" : "s");
}

LatencySummary summarize_latency(const stats::Histogram& histogram) { return summarize(histogram); }
LatencySummary summarize_latency(const stats::SparseHistogram& histogram) { return summarize(histogram); }

std::vector<int64_t> percentile_values(const stats::Histogram& histogram, const std::vector<double>& percentiles) {
  return values_at(histogram, percentiles);
}
std::vector<int64_t> percentile_values(const stats::SparseHistogram& histogram,
                                       const std::vector<double>& percentiles) {
  return values_at(histogram, percentiles);
}

std::vector<double> distribution_percentiles(int per_decade) {
  constexpr int kDecades = 5;  // up to 99.999 %
  per_decade = std::max(per_decade, 1);
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(kDecades * per_decade + 1));
  for (int step = 0; step <= kDecades * per_decade; ++step) {
    // 100 - 100 / 10^(step/per_decade), exact on whole decades (90, 99, 99.9 ...).
    const double tail = 100.0 * std::pow(10.0, -static_cast<double>(step) / per_decade);
    out.push_back(std::round((100.0 - tail) * 1e4) / 1e4);
  }
  return out;
}

double distribution_x(double percentile) { return 100.0 / (100.0 - std::min(percentile, 99.9999)); }

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
  row.rate = asked_rate(cycle);
  row.complete = cycle.status == stats::CycleStatus::complete;
  row.window_s = cycle.window_s;
  row.ok = stats.ok;
  row.failures = stats.failures;
  row.errors = stats.errors;
  row.ok_per_s = per_second(stats.ok, cycle.window_s);
  if (row.total() > 0) row.success_rate = static_cast<double>(row.ok) / static_cast<double>(row.total());
  row.latency = summarize_latency(stats.latency);
  row.service = summarize_latency(stats.service);
  row.apdex = apdex_for(stats, context.run_apdex_t_us, context.apdex_t_us);
  row.bytes_sent = stats.bytes_sent;
  row.bytes_received = stats.bytes_received;
  row.pages = stats.pages;
  row.requests = stats.requests;
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
    summary.rate = asked_rate(cycle);
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
  const bool open = open_model(results);
  for (std::size_t i = 1; i < results.cycles.size(); ++i) {
    if (open) {
      const std::optional<AskedRate> prev = asked_rate(results.cycles[i - 1]), cur = asked_rate(results.cycles[i]);
      if (!prev || !cur || cur->mean() <= prev->mean()) return false;
    } else if (results.cycles[i].cvus <= results.cycles[i - 1].cvus) {
      return false;
    }
  }
  return true;
}

}  // namespace bm::report
