#pragma once
// Latency histogram with HdrHistogram's log-linear layout (1 µs .. 1 h, 3 significant
// digits), so histograms from every worker and node merge exactly by adding the counts
// of equal bucket indices. Also the Apdex counter that travels with it.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace bm::stats {

namespace detail {
// Number of power-of-two buckets HdrHistogram needs so that `highest` is trackable
// with `sub_bucket_count` linear sub-buckets in the first bucket.
constexpr int buckets_to_cover(int64_t highest, int64_t sub_bucket_count) {
  int64_t smallest_untrackable = sub_bucket_count;
  int buckets = 1;
  while (smallest_untrackable <= highest) {
    smallest_untrackable <<= 1;
    ++buckets;
  }
  return buckets;
}

// Rank (1-based) of the sample that holds percentile p among `count` samples:
// ceil(p/100 × count), at least 1, robust to the binary representation of p.
uint64_t percentile_rank(double percentile, uint64_t count);
}  // namespace detail

class Histogram {
 public:
  // Layout parameters; fixed for every histogram in a results file.
  static constexpr int64_t kLowestDiscernibleUs = 1;
  static constexpr int64_t kHighestTrackableUs = 3'600'000'000;
  static constexpr int kSignificantDigits = 3;
  static constexpr int kSubBucketHalfCountMagnitude = 10;
  static constexpr int32_t kSubBucketHalfCount = 1 << kSubBucketHalfCountMagnitude;  // 1024
  static constexpr int32_t kSubBucketCount = 2 * kSubBucketHalfCount;                 // 2048
  static constexpr int kBucketCount = detail::buckets_to_cover(kHighestTrackableUs, kSubBucketCount);
  static constexpr int32_t kCountsLength = (kBucketCount + 1) * kSubBucketHalfCount;
  static_assert(kBucketCount == 22 && kCountsLength == 23552, "HdrHistogram layout for 1 µs..1 h, 3 digits");

  Histogram() = default;
  Histogram(const Histogram& other);
  Histogram& operator=(const Histogram& other);
  Histogram(Histogram&&) noexcept = default;
  Histogram& operator=(Histogram&&) noexcept = default;
  ~Histogram() = default;

  // Hot path: O(1); allocates only the first time a bucket group is touched.
  // Values outside [0, kHighestTrackableUs] are clamped into it and counted in clamped().
  void record(int64_t value_us) { record_n(value_us, 1); }
  void record_n(int64_t value_us, uint64_t n);

  // Adds every count of `other`; exact (bucket by bucket).
  void merge(const Histogram& other);
  // Zeroes the counts and keeps the allocated groups, so recording stays allocation-free.
  void reset() noexcept;

  uint64_t count() const noexcept { return count_; }
  int64_t min() const noexcept { return count_ ? min_ : 0; }
  int64_t max() const noexcept { return count_ ? max_ : 0; }
  uint64_t sum() const noexcept { return sum_; }
  double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  uint64_t clamped() const noexcept { return clamped_; }
  bool empty() const noexcept { return count_ == 0; }

  // HdrHistogram's value_at_percentile: the highest value equivalent to the sample of
  // rank ceil(p/100 × count), clamped to max(). p <= 0 gives min(), p >= 100 max();
  // an empty histogram gives 0.
  int64_t value_at_percentile(double percentile) const;

  uint64_t count_at_index(int32_t index) const noexcept;

  // Calls fn(int32_t index, uint64_t count) for every non-zero bucket, indices ascending.
  template <class Fn>
  void for_each_nonzero(Fn&& fn) const {
    for (const Pair& p : sparse_) fn(p.index, p.count);
    for (int bucket = 0; bucket < kBucketCount; ++bucket) {
      const uint64_t* group = groups_[bucket].get();
      if (group == nullptr) continue;
      const int32_t base = group_base_index(bucket);
      const int32_t size = group_size(bucket);
      for (int32_t i = 0; i < size; ++i) {
        if (group[i] != 0) fn(base + i, group[i]);
      }
    }
  }

  // Loading: adds `count` to bucket `index` (throws std::out_of_range for a bad index).
  // min/max widen to the bucket's equivalent range and sum grows by count × its lowest
  // value; a loader then restores the exact values stored beside the buckets.
  // A histogram filled this way (or by merging such ones) keeps its few buckets as a
  // list until they outgrow kSparseLimit or it records: a results file's thousands of
  // histograms then cost their buckets, not 8-16 KiB of counters each.
  void add_bucket(int32_t index, uint64_t count);
  void set_exact_summary(int64_t min_us, int64_t max_us, uint64_t sum_us, uint64_t clamped) noexcept;

  // Most buckets kept as a list before the counters are laid out in groups.
  static constexpr std::size_t kSparseLimit = 1024;  // 16 KiB: two groups
  bool is_sparse() const noexcept { return !sparse_.empty(); }

  // Memory held by the counts (allocated groups, or the list).
  std::size_t allocated_groups() const noexcept;
  std::size_t counts_memory_bytes() const noexcept;

  // HdrHistogram index arithmetic for this layout.
  static int32_t counts_index(int64_t value_us) noexcept;
  static int64_t lowest_equivalent_value(int32_t index) noexcept;
  static int64_t highest_equivalent_value(int32_t index) noexcept;
  static int64_t clamp_value(int64_t value_us) noexcept {
    return std::clamp<int64_t>(value_us, 0, kHighestTrackableUs);
  }

  friend bool operator==(const Histogram& a, const Histogram& b);

 private:
  // Bucket 0 owns counts indices [0, 2048); bucket b > 0 owns [(b+1)·1024, (b+2)·1024).
  static constexpr int32_t group_base_index(int bucket) noexcept {
    return bucket == 0 ? 0 : (bucket + 1) * kSubBucketHalfCount;
  }
  static constexpr int32_t group_size(int bucket) noexcept {
    return bucket == 0 ? kSubBucketCount : kSubBucketHalfCount;
  }
  static int bucket_of(uint64_t value) noexcept {
    const int pow2_ceiling = 64 - std::countl_zero(value | (kSubBucketCount - 1));
    return pow2_ceiling - (kSubBucketHalfCountMagnitude + 1);
  }
  static int bucket_of_index(int32_t index) noexcept {
    return index < kSubBucketCount ? 0 : (index >> kSubBucketHalfCountMagnitude) - 1;
  }
  uint64_t* allocate_group(int bucket);
  // record_n's slow path: the group for `bucket`, after laying out a list form.
  uint64_t* group_for_recording(int bucket);
  // Moves the list form into groups.
  void make_dense();
  bool has_groups() const noexcept;
  void add_counts(int32_t index, uint64_t count);  // counters only, either form
  void add_to_groups(int32_t index, uint64_t count);  // the groups' counter, allocating its group

  struct Pair {
    int32_t index;
    uint64_t count;
  };
  // Either the list form (sparse_ not empty, no group allocated: indices strictly
  // ascending, counts > 0) or the groups; an empty histogram is both.
  std::vector<Pair> sparse_;
  std::array<std::unique_ptr<uint64_t[]>, kBucketCount> groups_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t clamped_ = 0;
  int64_t min_ = std::numeric_limits<int64_t>::max();
  int64_t max_ = 0;
};

inline void Histogram::record_n(int64_t value_us, uint64_t n) {
  if (n == 0) return;
  if (value_us < 0 || value_us > kHighestTrackableUs) [[unlikely]] {
    value_us = clamp_value(value_us);
    clamped_ += n;
  }
  const auto value = static_cast<uint64_t>(value_us);
  const int bucket = bucket_of(value);
  const auto sub_bucket = static_cast<int32_t>(value >> bucket);
  uint64_t* group = groups_[bucket].get();
  if (group == nullptr) [[unlikely]] group = group_for_recording(bucket);
  group[sub_bucket - (bucket == 0 ? 0 : kSubBucketHalfCount)] += n;
  count_ += n;
  sum_ += value * n;
  min_ = std::min(min_, value_us);
  max_ = std::max(max_, value_us);
}

// The same data as a Histogram, stored as the list of its non-zero buckets: the compact
// form for the per-second series, where a full layout per second would cost megabytes.
class SparseHistogram {
 public:
  struct Bucket {
    int32_t index = 0;
    uint64_t count = 0;
    friend bool operator==(const Bucket&, const Bucket&) = default;
  };

  SparseHistogram() = default;
  explicit SparseHistogram(const Histogram& histogram);
  Histogram to_histogram() const;

  void merge(const SparseHistogram& other);

  uint64_t count() const noexcept { return count_; }
  int64_t min() const noexcept { return min_; }
  int64_t max() const noexcept { return max_; }
  uint64_t sum() const noexcept { return sum_; }
  double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  uint64_t clamped() const noexcept { return clamped_; }
  bool empty() const noexcept { return count_ == 0; }
  int64_t value_at_percentile(double percentile) const;

  const std::vector<Bucket>& buckets() const noexcept { return buckets_; }
  template <class Fn>
  void for_each_nonzero(Fn&& fn) const {
    for (const Bucket& b : buckets_) fn(b.index, b.count);
  }

  // Loading, as Histogram::add_bucket / set_exact_summary.
  void add_bucket(int32_t index, uint64_t count);
  void set_exact_summary(int64_t min_us, int64_t max_us, uint64_t sum_us, uint64_t clamped) noexcept;

  friend bool operator==(const SparseHistogram&, const SparseHistogram&) = default;

 private:
  std::vector<Bucket> buckets_;  // indices strictly ascending, counts > 0
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t clamped_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
};

// Schema form: {"count", "min_us", "max_us", "sum_us", "buckets": [[index, count], ...]}
// plus "clamped" when non-zero. from_json validates and throws SchemaError (json_reader.hpp).
void to_json(nlohmann::json& json, const Histogram& histogram);
void from_json(const nlohmann::json& json, Histogram& histogram);
void to_json(nlohmann::json& json, const SparseHistogram& histogram);
void from_json(const nlohmann::json& json, SparseHistogram& histogram);
// The same, naming `path` (e.g. "cycles[0].pages[1].latency") in errors.
void read_histogram(const nlohmann::json& json, std::string_view path, Histogram& out);
void read_histogram(const nlohmann::json& json, std::string_view path, SparseHistogram& out);

// The results-file reader (parse_results) keeps a histogram's well-formed buckets as
// one JSON binary value of PackedBuckets instead of a tree node per [index, count]:
// read_histogram takes either form, with the same checks and messages.
struct PackedBucket {
  uint64_t index;
  uint64_t count;
};
nlohmann::json packed_buckets(const std::vector<PackedBucket>& buckets);

// A parser callback's part (nlohmann::json::parse(text, callback)): the [index, count]
// pairs of every `buckets` array are taken out of the tree as they complete and stored
// packed (a tree node per number costs an allocation each, and a results file holds
// millions). An element that is not a well-formed pair stops it for that array: the
// array is then rebuilt in full, so a reader sees what the text held and says the same
// about it.
class BucketPacker {
 public:
  // Returns whether the parser keeps the value (false: it is dropped from the tree).
  bool on_event(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed);

 private:
  bool key_is_buckets_ = false;  // the last key read was "buckets"
  int depth_ = -1;               // the depth of the buckets array being packed; -1: none
  bool deviated_ = false;
  std::vector<PackedBucket> pairs_;
};

// While one lives on this thread, to_json(Histogram) stores the buckets packed the same
// way: the results-file writer (results_to_string) builds its tree so and prints the
// pairs itself, sparing a tree node per number.
class PackedBucketsScope {
 public:
  PackedBucketsScope() noexcept;
  ~PackedBucketsScope();
  PackedBucketsScope(const PackedBucketsScope&) = delete;
  PackedBucketsScope& operator=(const PackedBucketsScope&) = delete;

 private:
  bool before_;
};

// Apdex counters for one threshold T (apdex.org): satisfied d <= T, tolerating
// T < d <= 4T, frustrated above 4T or failed.
struct Apdex {
  uint64_t satisfied = 0;
  uint64_t tolerating = 0;
  uint64_t frustrated = 0;

  void record(int64_t value_us, int64_t t_us) noexcept {
    if (value_us <= t_us) {
      ++satisfied;
    } else if (value_us <= 4 * t_us) {
      ++tolerating;
    } else {
      ++frustrated;
    }
  }
  void record_frustrated() noexcept { ++frustrated; }
  void merge(const Apdex& other) noexcept {
    satisfied += other.satisfied;
    tolerating += other.tolerating;
    frustrated += other.frustrated;
  }
  uint64_t total() const noexcept { return satisfied + tolerating + frustrated; }
  // (S + T/2) / N; empty when nothing was recorded.
  std::optional<double> score() const noexcept {
    if (total() == 0) return std::nullopt;
    return (static_cast<double>(satisfied) + static_cast<double>(tolerating) / 2.0) /
           static_cast<double>(total());
  }
  friend bool operator==(const Apdex&, const Apdex&) = default;
};

// FunkLoad's rating letters: E >= 0.94, G >= 0.85, F >= 0.70, P >= 0.50, else U.
char apdex_rating(double score) noexcept;

void to_json(nlohmann::json& json, const Apdex& apdex);
void from_json(const nlohmann::json& json, Apdex& apdex);
void read_apdex(const nlohmann::json& json, std::string_view path, Apdex& out);

}  // namespace bm::stats
