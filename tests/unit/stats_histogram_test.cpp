#include "stats/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stats/json_reader.hpp"

namespace bm::stats {
namespace {

using nlohmann::json;

// HdrHistogram's counts_index, transcribed from hdr_histogram.c with the parameters
// hdr_init derives from (lowest 1, highest 3.6e9, 3 significant digits).
struct ReferenceLayout {
  int64_t sub_bucket_count_magnitude;
  int64_t sub_bucket_half_count_magnitude;
  int64_t sub_bucket_half_count;
  int64_t sub_bucket_mask;
  int64_t unit_magnitude = 0;

  ReferenceLayout() {
    const int64_t largest_single_unit = 2 * static_cast<int64_t>(std::pow(10, 3));
    sub_bucket_count_magnitude = static_cast<int64_t>(std::ceil(std::log2(static_cast<double>(largest_single_unit))));
    sub_bucket_half_count_magnitude = sub_bucket_count_magnitude - 1;
    sub_bucket_half_count = int64_t{1} << sub_bucket_half_count_magnitude;
    sub_bucket_mask = ((int64_t{1} << sub_bucket_count_magnitude) - 1) << unit_magnitude;
  }
  int32_t counts_index(int64_t value) const {
    const int64_t pow2ceiling = 64 - __builtin_clzll(static_cast<uint64_t>(value | sub_bucket_mask));
    const int64_t bucket_index = pow2ceiling - unit_magnitude - (sub_bucket_half_count_magnitude + 1);
    const int64_t sub_bucket_index = value >> (bucket_index + unit_magnitude);
    return static_cast<int32_t>(((bucket_index + 1) << sub_bucket_half_count_magnitude) +
                                (sub_bucket_index - sub_bucket_half_count));
  }
};

std::vector<int64_t> log_uniform_values(std::size_t n, double lowest, double highest, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(std::log(lowest), std::log(highest));
  std::vector<int64_t> values(n);
  for (int64_t& v : values) v = static_cast<int64_t>(std::exp(exponent(rng)));
  return values;
}

Histogram histogram_of(const std::vector<int64_t>& values) {
  Histogram h;
  for (int64_t v : values) h.record(v);
  return h;
}

TEST(Histogram, LayoutIsHdrHistograms) {
  const ReferenceLayout reference;
  EXPECT_EQ(Histogram::kSubBucketCount, int64_t{1} << reference.sub_bucket_count_magnitude);
  EXPECT_EQ(Histogram::kCountsLength, 23552);
  for (int64_t v : {0L, 1L, 2L, 1023L, 1024L, 2047L, 2048L, 2049L, 4095L, 4096L, 123456L, 999999L, 1000000L,
                    3599999999L, 3600000000L}) {
    EXPECT_EQ(Histogram::counts_index(v), reference.counts_index(v)) << v;
  }
  for (int64_t v : log_uniform_values(100000, 1, 3.6e9, 7)) {
    ASSERT_EQ(Histogram::counts_index(v), reference.counts_index(v)) << v;
  }
}

TEST(Histogram, EquivalentValuesBoundEachIndex) {
  const int32_t last = Histogram::counts_index(Histogram::kHighestTrackableUs);
  for (int32_t index = 0; index <= last; ++index) {
    const int64_t lowest = Histogram::lowest_equivalent_value(index);
    const int64_t highest = Histogram::highest_equivalent_value(index);
    ASSERT_EQ(Histogram::counts_index(lowest), index);
    ASSERT_EQ(Histogram::counts_index(highest), index);
    if (index > 0) {
      ASSERT_EQ(Histogram::counts_index(lowest - 1), index - 1);
    }
    // Three significant digits: a bucket is at most 1/1024 of its values wide.
    ASSERT_LE(static_cast<double>(highest - lowest), std::max<double>(0.0, lowest / 1024.0)) << index;
  }
}

TEST(Histogram, PercentilesWithinOneThousandthOfExactAcrossTheRange) {
  constexpr std::size_t kN = 200000;
  std::vector<int64_t> values = log_uniform_values(kN, 1, 3.6e9, 42);
  const Histogram h = histogram_of(values);
  std::sort(values.begin(), values.end());

  // Percentile p as parts per 100000, so the exact rank is integer arithmetic.
  for (int64_t p_ppm : {100LL, 1000LL, 10000LL, 25000LL, 50000LL, 75000LL, 90000LL, 95000LL, 99000LL, 99900LL,
                        99990LL}) {
    const double p = static_cast<double>(p_ppm) / 1000.0;
    const int64_t rank = (p_ppm * static_cast<int64_t>(kN) + 99999) / 100000;  // ceil
    const int64_t exact = values[static_cast<std::size_t>(rank - 1)];
    const int64_t got = h.value_at_percentile(p);
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(got - exact), 0.001 * static_cast<double>(exact)) << "p" << p;
  }
  uint64_t sum = 0;
  for (int64_t v : values) sum += static_cast<uint64_t>(v);
  EXPECT_EQ(h.count(), kN);
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.sum(), sum);
  EXPECT_DOUBLE_EQ(h.mean(), static_cast<double>(sum) / kN);
  EXPECT_EQ(h.value_at_percentile(0), values.front());
  EXPECT_EQ(h.value_at_percentile(100), values.back());
}

TEST(Histogram, PercentileRankIsCeilingOfFraction) {
  Histogram h;
  for (int64_t v = 1; v <= 7; ++v) h.record(v * 100);
  EXPECT_EQ(h.value_at_percentile(50), 400);  // ceil(3.5) = 4th sample
  Histogram thousand;
  for (int64_t v = 1; v <= 1000; ++v) thousand.record(v);
  EXPECT_EQ(thousand.value_at_percentile(99.9), 999);  // not 1000: 99.9 is not exact in binary
  EXPECT_EQ(thousand.value_at_percentile(0.1), 1);
  EXPECT_EQ(thousand.value_at_percentile(50), 500);
  EXPECT_EQ(Histogram().value_at_percentile(50), 0);
}

TEST(Histogram, PercentileIsClampedToMax) {
  Histogram h;
  h.record(1'000'001);  // bucket [999936, 1000447] (width 512)
  EXPECT_EQ(h.value_at_percentile(50), 1'000'001);
  h.record(1'000'000);
  EXPECT_EQ(h.value_at_percentile(50), 1'000'001);
}

TEST(Histogram, MergeEqualsHistogramOfTheUnion) {
  const std::vector<int64_t> a = log_uniform_values(50000, 100, 5e6, 1);
  const std::vector<int64_t> b = log_uniform_values(30000, 1000, 3e9, 2);
  Histogram merged = histogram_of(a);
  merged.merge(histogram_of(b));
  std::vector<int64_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  const Histogram expected = histogram_of(both);
  EXPECT_EQ(merged, expected);
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(merged.value_at_percentile(p), expected.value_at_percentile(p));
}

TEST(Histogram, CopyIsDeepAndEqual) {
  Histogram original = histogram_of(log_uniform_values(1000, 1, 1e7, 3));
  Histogram copy = original;
  EXPECT_EQ(copy, original);
  copy.record(5);
  EXPECT_FALSE(copy == original);
  EXPECT_EQ(original.count(), 1000u);
}

TEST(Histogram, SparseJsonRoundTrip) {
  Histogram h;
  h.record(0);
  h.record(3);
  h.record_n(1500, 4);
  h.record(70'000'000);
  h.record(-1);  // clamped to 0
  const json stored = h;
  EXPECT_EQ(stored["count"], 8);
  EXPECT_EQ(stored["min_us"], 0);
  EXPECT_EQ(stored["max_us"], 70'000'000);
  EXPECT_EQ(stored["sum_us"], 3 + 4 * 1500 + 70'000'000);
  EXPECT_EQ(stored["clamped"], 1);
  const json expected_buckets = json::array({{0, 2}, {3, 1}, {1500, 4}, {Histogram::counts_index(70'000'000), 1}});
  EXPECT_EQ(stored["buckets"], expected_buckets);

  const Histogram loaded = stored.get<Histogram>();
  EXPECT_EQ(loaded, h);
  EXPECT_EQ(json(loaded), stored);
  const SparseHistogram sparse = stored.get<SparseHistogram>();
  EXPECT_EQ(json(sparse), stored);
}

TEST(Histogram, EmptyHistogramHasTheSchemaForm) {
  const json stored = Histogram();
  EXPECT_EQ(stored, json::parse(R"({"count": 0, "min_us": 0, "max_us": 0, "sum_us": 0, "buckets": []})"));
  EXPECT_EQ(stored.get<Histogram>(), Histogram());
}

TEST(Histogram, ReaderRejectsInconsistentFiles) {
  const auto error_of = [](const char* text) {
    try {
      (void)json::parse(text).get<Histogram>();
    } catch (const SchemaError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error_of(R"({"count": 1, "min_us": 5, "max_us": 5, "buckets": [[5, 1]]})"), "missing key 'sum_us'");
  EXPECT_EQ(error_of(R"({"count": 2, "min_us": 5, "max_us": 5, "sum_us": 10, "buckets": [[5, 1]]})"),
            "bucket counts add up to 1, not count 2");
  EXPECT_EQ(error_of(R"({"count": 2, "min_us": 5, "max_us": 7, "sum_us": 12, "buckets": [[7, 1], [5, 1]]})"),
            "buckets[1]: bucket index 5 out of order or outside [0, 23552)");
  EXPECT_EQ(error_of(R"({"count": 1, "min_us": 5, "max_us": 5, "sum_us": 5, "buckets": [[5, "1"]]})"),
            "buckets[0][1]: expected a non-negative integer, got string");
  EXPECT_EQ(error_of(R"({"count": 1, "min_us": 4, "max_us": 5, "sum_us": 5, "buckets": [[5, 1]]})"),
            "min_us/max_us/clamped do not match the buckets");
  EXPECT_EQ(error_of(R"({"count": 1, "min_us": 5, "max_us": 5, "sum_us": 6, "buckets": [[5, 1]]})"),
            "sum_us outside count × [min_us, max_us]");
  EXPECT_EQ(error_of(R"([1, 2])"), "expected an object, got array");
}

TEST(Histogram, CountsAreAllocatedLazilyPerBucketGroup) {
  Histogram h;
  EXPECT_EQ(h.allocated_groups(), 0u);
  EXPECT_EQ(h.counts_memory_bytes(), 0u);
  // Two decades, 1 ms .. 100 ms: buckets 0 (up to 2047 µs) .. 6 (up to 131071 µs).
  for (int64_t v = 1000; v <= 100'000; v += 7) h.record(v);
  EXPECT_EQ(h.allocated_groups(), 7u);
  EXPECT_EQ(h.counts_memory_bytes(), (2048u + 6u * 1024u) * sizeof(uint64_t));  // 64 KiB, not 184 KiB
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.allocated_groups(), 7u);  // kept, so recording again does not allocate
  EXPECT_EQ(h, Histogram());
  h.record(50'000);
  EXPECT_EQ(h.allocated_groups(), 7u);
  h.record(1);  // already in group 0
  h.record(2'000'000);
  EXPECT_EQ(h.allocated_groups(), 8u);
}

// A histogram read from a file (add_bucket) keeps its few buckets as a list.
Histogram loaded_copy(const Histogram& recorded) {
  return json(recorded).get<Histogram>();
}

TEST(Histogram, LoadedHistogramsKeepFewBucketsAsAList) {
  const Histogram recorded = histogram_of(log_uniform_values(40, 1000, 5e6, 21));
  const Histogram loaded = loaded_copy(recorded);
  EXPECT_TRUE(loaded.is_sparse());
  EXPECT_EQ(loaded.allocated_groups(), 0u);
  EXPECT_LE(loaded.counts_memory_bytes(), 64u * 16u);  // 40 buckets (the list's capacity): not 8-16 KiB a group
  EXPECT_EQ(loaded, recorded);
  EXPECT_EQ(recorded, loaded);
  for (double p : {0.0, 10.0, 50.0, 90.0, 99.0, 100.0}) {
    EXPECT_EQ(loaded.value_at_percentile(p), recorded.value_at_percentile(p)) << p;
  }
  recorded.for_each_nonzero([&](int32_t index, uint64_t count) { EXPECT_EQ(loaded.count_at_index(index), count); });
  EXPECT_EQ(loaded.count_at_index(0), 0u);
}

TEST(Histogram, MergesOfListsEqualTheHistogramOfTheUnion) {
  // Many small node histograms folded one by one, as the master merges: the list grows
  // past kSparseLimit and turns into groups; at every step it equals the recorded union.
  Histogram merged;
  std::vector<int64_t> all;
  for (uint32_t node = 0; node < 60; ++node) {
    const std::vector<int64_t> values = log_uniform_values(30, 100, node % 2 ? 1e5 : 1e8, 100 + node);
    merged.merge(loaded_copy(histogram_of(values)));
    all.insert(all.end(), values.begin(), values.end());
    const Histogram expected = histogram_of(all);
    ASSERT_EQ(merged, expected) << node;
    ASSERT_EQ(merged.value_at_percentile(99), expected.value_at_percentile(99)) << node;
  }
  EXPECT_FALSE(merged.is_sparse());  // 1,800 values over seven decades: more buckets than the limit
  EXPECT_GT(merged.allocated_groups(), 0u);
}

TEST(Histogram, ListAndGroupFormsMergeEitherWay) {
  const std::vector<int64_t> a = log_uniform_values(50, 10, 1e7, 31);
  const std::vector<int64_t> b = log_uniform_values(5000, 10, 1e7, 32);
  std::vector<int64_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  const Histogram expected = histogram_of(both);

  Histogram list_into_groups = histogram_of(b);
  list_into_groups.merge(loaded_copy(histogram_of(a)));
  EXPECT_EQ(list_into_groups, expected);

  Histogram groups_into_list = loaded_copy(histogram_of(a));
  groups_into_list.merge(histogram_of(b));
  EXPECT_FALSE(groups_into_list.is_sparse());
  EXPECT_EQ(groups_into_list, expected);

  Histogram list_into_reset = histogram_of(b);
  list_into_reset.reset();
  list_into_reset.merge(loaded_copy(histogram_of(a)));
  EXPECT_EQ(list_into_reset, histogram_of(a));

  Histogram self = loaded_copy(histogram_of(a));
  self.merge(self);
  Histogram twice = histogram_of(a);
  twice.merge(histogram_of(a));
  EXPECT_EQ(self, twice);
}

TEST(Histogram, RecordingIntoALoadedHistogramLaysOutItsGroups) {
  const std::vector<int64_t> a = log_uniform_values(20, 10, 1e7, 41);
  Histogram loaded = loaded_copy(histogram_of(a));
  ASSERT_TRUE(loaded.is_sparse());
  loaded.record(777);
  EXPECT_FALSE(loaded.is_sparse());
  Histogram expected = histogram_of(a);
  expected.record(777);
  EXPECT_EQ(loaded, expected);
  loaded.reset();
  EXPECT_EQ(loaded, Histogram());
  Histogram copy = loaded_copy(histogram_of(a));
  const Histogram copied = copy;
  EXPECT_TRUE(copied.is_sparse());
  EXPECT_EQ(copied, histogram_of(a));
}

TEST(Histogram, OutOfRangeValuesAreClampedAndCounted) {
  Histogram h;
  h.record(-20);
  h.record(Histogram::kHighestTrackableUs + 1);
  h.record_n(std::numeric_limits<int64_t>::max(), 2);
  h.record(10);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.clamped(), 4u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), Histogram::kHighestTrackableUs);
  EXPECT_EQ(h.value_at_percentile(100), Histogram::kHighestTrackableUs);
  EXPECT_EQ(h.sum(), 3 * static_cast<uint64_t>(Histogram::kHighestTrackableUs) + 10);
}

TEST(SparseHistogram, MatchesTheFullHistogram) {
  const std::vector<int64_t> a = log_uniform_values(20000, 10, 1e8, 11);
  const std::vector<int64_t> b = log_uniform_values(20000, 10, 1e6, 12);
  Histogram full = histogram_of(a);
  SparseHistogram sparse(full);
  EXPECT_EQ(sparse.to_histogram(), full);
  sparse.merge(SparseHistogram(histogram_of(b)));
  full.merge(histogram_of(b));
  EXPECT_EQ(sparse.to_histogram(), full);
  for (double p : {0.0, 1.0, 50.0, 99.0, 99.99, 100.0}) {
    EXPECT_EQ(sparse.value_at_percentile(p), full.value_at_percentile(p)) << p;
  }
  EXPECT_EQ(sparse.count(), full.count());
  EXPECT_EQ(sparse.sum(), full.sum());
  SparseHistogram empty;
  empty.merge(sparse);
  EXPECT_EQ(empty, sparse);
}

TEST(Apdex, CountsAgainstTAndFourT) {
  Apdex apdex;
  EXPECT_FALSE(apdex.score().has_value());
  const int64_t t = 500'000;
  apdex.record(t, t);            // satisfied: d <= T
  apdex.record(t + 1, t);        // tolerating
  apdex.record(4 * t, t);        // tolerating: d <= 4T
  apdex.record(4 * t + 1, t);    // frustrated
  apdex.record_frustrated();     // a failed item
  EXPECT_EQ(apdex, (Apdex{1, 2, 2}));
  EXPECT_DOUBLE_EQ(*apdex.score(), (1 + 2 / 2.0) / 5);
  Apdex other{3, 0, 0};
  other.merge(apdex);
  EXPECT_EQ(other, (Apdex{4, 2, 2}));
  EXPECT_EQ(json(other), json::parse(R"({"satisfied": 4, "tolerating": 2, "frustrated": 2})"));
  EXPECT_EQ(json(other).get<Apdex>(), other);
}

TEST(Apdex, RatingLettersUseFunkLoadThresholds) {
  EXPECT_EQ(apdex_rating(1.0), 'E');
  EXPECT_EQ(apdex_rating(0.94), 'E');
  EXPECT_EQ(apdex_rating(0.9399), 'G');
  EXPECT_EQ(apdex_rating(0.85), 'G');
  EXPECT_EQ(apdex_rating(0.8499), 'F');
  EXPECT_EQ(apdex_rating(0.70), 'F');
  EXPECT_EQ(apdex_rating(0.6999), 'P');
  EXPECT_EQ(apdex_rating(0.50), 'P');
  EXPECT_EQ(apdex_rating(0.4999), 'U');
  EXPECT_EQ(apdex_rating(0.0), 'U');
}

}  // namespace
}  // namespace bm::stats
