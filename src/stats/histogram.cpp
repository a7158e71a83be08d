#include "stats/histogram.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stats/json_reader.hpp"

namespace bm::stats {

namespace detail {
uint64_t percentile_rank(double percentile, uint64_t count) {
  // p/100 × count in extended precision; a product within rounding noise of an integer
  // is that integer (99.9 % of 1000 samples is rank 999, not 1000).
  const long double exact = static_cast<long double>(percentile) * static_cast<long double>(count) / 100.0L;
  const long double nearest = std::round(exact);
  const long double tolerance = 1e-12L * std::max<long double>(1.0L, exact);
  const long double rank = std::fabs(exact - nearest) <= tolerance ? nearest : std::ceil(exact);
  if (rank < 1.0L) return 1;
  if (rank >= static_cast<long double>(count)) return count;
  return static_cast<uint64_t>(rank);
}
}  // namespace detail

namespace {
// Adds `count` to bucket `index` of a list of {index, count} kept in ascending order of
// index (a Histogram's list form, a SparseHistogram).
template <class Pair>
void add_to_sorted_list(std::vector<Pair>& list, int32_t index, uint64_t count) {
  if (list.empty() || list.back().index < index) {
    list.push_back(Pair{index, count});  // loading: indices come ascending
    return;
  }
  auto at = std::lower_bound(list.begin(), list.end(), index, [](const Pair& p, int32_t i) { return p.index < i; });
  if (at != list.end() && at->index == index) {
    at->count += count;
  } else {
    list.insert(at, Pair{index, count});
  }
}
}  // namespace

// ---- Histogram ---------------------------------------------------------------------

Histogram::Histogram(const Histogram& other)
    : sparse_(other.sparse_),
      count_(other.count_), sum_(other.sum_), clamped_(other.clamped_), min_(other.min_), max_(other.max_) {
  for (int bucket = 0; bucket < kBucketCount; ++bucket) {
    if (const uint64_t* source = other.groups_[bucket].get()) {
      std::memcpy(allocate_group(bucket), source, sizeof(uint64_t) * group_size(bucket));
    }
  }
}

Histogram& Histogram::operator=(const Histogram& other) {
  if (this != &other) {
    Histogram copy(other);
    *this = std::move(copy);
  }
  return *this;
}

uint64_t* Histogram::allocate_group(int bucket) {
  groups_[bucket] = std::make_unique<uint64_t[]>(static_cast<std::size_t>(group_size(bucket)));  // zeroed
  return groups_[bucket].get();
}

uint64_t* Histogram::group_for_recording(int bucket) {
  if (!sparse_.empty()) make_dense();
  uint64_t* group = groups_[bucket].get();
  return group ? group : allocate_group(bucket);
}

bool Histogram::has_groups() const noexcept {
  return std::any_of(groups_.begin(), groups_.end(), [](const auto& g) { return g != nullptr; });
}

void Histogram::make_dense() {
  std::vector<Pair> list = std::move(sparse_);
  sparse_ = {};
  for (const Pair& p : list) add_to_groups(p.index, p.count);
}

void Histogram::add_to_groups(int32_t index, uint64_t count) {
  const int bucket = bucket_of_index(index);
  uint64_t* group = groups_[bucket].get();
  if (group == nullptr) group = allocate_group(bucket);
  group[index - group_base_index(bucket)] += count;
}

// Adds to the counters only (not count_, min_, ...), keeping the form's invariants.
void Histogram::add_counts(int32_t index, uint64_t count) {
  if (sparse_.empty() && has_groups()) {
    add_to_groups(index, count);
    return;
  }
  // The list form (this histogram has no group).
  add_to_sorted_list(sparse_, index, count);
  if (sparse_.size() > kSparseLimit) make_dense();
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) return;
  if (&other == this) {
    const Histogram copy(other);
    merge(copy);
    return;
  }
  count_ += other.count_;
  sum_ += other.sum_;
  clamped_ += other.clamped_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  if (!other.sparse_.empty()) {
    if (!sparse_.empty() || !has_groups()) {
      // Both lists: one ascending merge in place, from the back, into the union's size.
      std::size_t union_size = sparse_.size() + other.sparse_.size();
      auto a = sparse_.cbegin();
      for (auto b = other.sparse_.cbegin(); a != sparse_.cend() && b != other.sparse_.cend();) {
        if (a->index < b->index) {
          ++a;
        } else if (b->index < a->index) {
          ++b;
        } else {
          --union_size;
          ++a;
          ++b;
        }
      }
      std::size_t mine = sparse_.size(), theirs = other.sparse_.size(), out = union_size;
      sparse_.resize(union_size);
      while (theirs > 0) {
        const Pair& from_other = other.sparse_[theirs - 1];
        if (mine > 0 && sparse_[mine - 1].index > from_other.index) {
          sparse_[--out] = sparse_[--mine];
        } else if (mine > 0 && sparse_[mine - 1].index == from_other.index) {
          sparse_[--out] = Pair{from_other.index, sparse_[--mine].count + from_other.count};
          --theirs;
        } else {
          sparse_[--out] = from_other;
          --theirs;
        }
      }
      if (sparse_.size() > kSparseLimit) make_dense();
    } else {
      for (const Pair& p : other.sparse_) add_to_groups(p.index, p.count);  // a few hundred adds, not whole groups
    }
    return;
  }
  if (!sparse_.empty()) make_dense();
  for (int bucket = 0; bucket < kBucketCount; ++bucket) {
    const uint64_t* source = other.groups_[bucket].get();
    if (source == nullptr) continue;
    const int32_t size = group_size(bucket);
    uint64_t* target = groups_[bucket].get();
    if (target == nullptr) {
      // Groups that were reset to zero need not be copied.
      if (std::all_of(source, source + size, [](uint64_t c) { return c == 0; })) continue;
      target = allocate_group(bucket);
    }
    for (int32_t i = 0; i < size; ++i) target[i] += source[i];
  }
}

void Histogram::reset() noexcept {
  sparse_.clear();
  for (int bucket = 0; bucket < kBucketCount; ++bucket) {
    if (uint64_t* group = groups_[bucket].get()) std::memset(group, 0, sizeof(uint64_t) * group_size(bucket));
  }
  count_ = sum_ = clamped_ = 0;
  min_ = std::numeric_limits<int64_t>::max();
  max_ = 0;
}

int64_t Histogram::value_at_percentile(double percentile) const {
  if (count_ == 0) return 0;
  if (percentile <= 0.0) return min();
  if (percentile >= 100.0) return max();
  const uint64_t rank = detail::percentile_rank(percentile, count_);
  uint64_t seen = 0;
  for (const Pair& p : sparse_) {
    seen += p.count;
    if (seen >= rank) return std::min(highest_equivalent_value(p.index), max_);
  }
  for (int bucket = 0; bucket < kBucketCount; ++bucket) {
    const uint64_t* group = groups_[bucket].get();
    if (group == nullptr) continue;
    for (int32_t i = 0, size = group_size(bucket); i < size; ++i) {
      seen += group[i];
      if (seen >= rank) return std::min(highest_equivalent_value(group_base_index(bucket) + i), max_);
    }
  }
  return max_;
}

uint64_t Histogram::count_at_index(int32_t index) const noexcept {
  if (index < 0 || index >= kCountsLength) return 0;
  if (!sparse_.empty()) {
    auto at = std::lower_bound(sparse_.begin(), sparse_.end(), index,
                               [](const Pair& p, int32_t i) { return p.index < i; });
    return at != sparse_.end() && at->index == index ? at->count : 0;
  }
  const int bucket = bucket_of_index(index);
  const uint64_t* group = groups_[bucket].get();
  return group ? group[index - group_base_index(bucket)] : 0;
}

void Histogram::add_bucket(int32_t index, uint64_t count) {
  if (index < 0 || index >= kCountsLength) {
    throw std::out_of_range(fmt::format("histogram bucket index {} outside [0, {})", index, kCountsLength));
  }
  if (count == 0) return;
  add_counts(index, count);
  const int64_t lowest = lowest_equivalent_value(index);
  count_ += count;
  sum_ += static_cast<uint64_t>(lowest) * count;
  min_ = std::min(min_, lowest);
  max_ = std::max(max_, std::min(highest_equivalent_value(index), kHighestTrackableUs));
}

void Histogram::set_exact_summary(int64_t min_us, int64_t max_us, uint64_t sum_us, uint64_t clamped) noexcept {
  min_ = count_ ? min_us : std::numeric_limits<int64_t>::max();
  max_ = count_ ? max_us : 0;
  sum_ = sum_us;
  clamped_ = clamped;
}

std::size_t Histogram::allocated_groups() const noexcept {
  return static_cast<std::size_t>(std::count_if(groups_.begin(), groups_.end(), [](const auto& g) { return g != nullptr; }));
}

std::size_t Histogram::counts_memory_bytes() const noexcept {
  std::size_t bytes = sparse_.capacity() * sizeof(Pair);
  for (int bucket = 0; bucket < kBucketCount; ++bucket) {
    if (groups_[bucket]) bytes += sizeof(uint64_t) * static_cast<std::size_t>(group_size(bucket));
  }
  return bytes;
}

int32_t Histogram::counts_index(int64_t value_us) noexcept {
  const auto value = static_cast<uint64_t>(clamp_value(value_us));
  const int bucket = bucket_of(value);
  const auto sub_bucket = static_cast<int32_t>(value >> bucket);
  // HdrHistogram: ((bucket + 1) << half_magnitude) + (sub_bucket - half_count)
  return ((bucket + 1) << kSubBucketHalfCountMagnitude) + (sub_bucket - kSubBucketHalfCount);
}

int64_t Histogram::lowest_equivalent_value(int32_t index) noexcept {
  if (index < kSubBucketCount) return index;
  const int bucket = (index >> kSubBucketHalfCountMagnitude) - 1;
  const int64_t sub_bucket = (index & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  return sub_bucket << bucket;
}

int64_t Histogram::highest_equivalent_value(int32_t index) noexcept {
  if (index < kSubBucketCount) return index;
  const int bucket = (index >> kSubBucketHalfCountMagnitude) - 1;
  return lowest_equivalent_value(index) + (int64_t{1} << bucket) - 1;
}

bool operator==(const Histogram& a, const Histogram& b) {
  if (a.count_ != b.count_ || a.sum_ != b.sum_ || a.clamped_ != b.clamped_ || a.min() != b.min() ||
      a.max() != b.max()) {
    return false;
  }
  if (!a.sparse_.empty() || !b.sparse_.empty()) {
    std::vector<std::pair<int32_t, uint64_t>> in_a, in_b;
    a.for_each_nonzero([&](int32_t i, uint64_t c) { in_a.emplace_back(i, c); });
    b.for_each_nonzero([&](int32_t i, uint64_t c) { in_b.emplace_back(i, c); });
    return in_a == in_b;
  }
  for (int bucket = 0; bucket < Histogram::kBucketCount; ++bucket) {
    const uint64_t* ga = a.groups_[bucket].get();
    const uint64_t* gb = b.groups_[bucket].get();
    for (int32_t i = 0, size = Histogram::group_size(bucket); i < size; ++i) {
      if ((ga ? ga[i] : 0) != (gb ? gb[i] : 0)) return false;
    }
  }
  return true;
}

// ---- SparseHistogram ---------------------------------------------------------------

SparseHistogram::SparseHistogram(const Histogram& histogram)
    : count_(histogram.count()),
      sum_(histogram.sum()),
      clamped_(histogram.clamped()),
      min_(histogram.min()),
      max_(histogram.max()) {
  histogram.for_each_nonzero([this](int32_t index, uint64_t count) { buckets_.push_back({index, count}); });
}

Histogram SparseHistogram::to_histogram() const {
  Histogram histogram;
  for (const Bucket& b : buckets_) histogram.add_bucket(b.index, b.count);
  histogram.set_exact_summary(min_, max_, sum_, clamped_);
  return histogram;
}

void SparseHistogram::merge(const SparseHistogram& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  std::vector<Bucket> merged;
  merged.reserve(buckets_.size() + other.buckets_.size());
  auto a = buckets_.begin();
  auto b = other.buckets_.begin();
  while (a != buckets_.end() || b != other.buckets_.end()) {
    if (b == other.buckets_.end() || (a != buckets_.end() && a->index < b->index)) {
      merged.push_back(*a++);
    } else if (a == buckets_.end() || b->index < a->index) {
      merged.push_back(*b++);
    } else {
      merged.push_back({a->index, a->count + b->count});
      ++a;
      ++b;
    }
  }
  buckets_ = std::move(merged);
  count_ += other.count_;
  sum_ += other.sum_;
  clamped_ += other.clamped_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

int64_t SparseHistogram::value_at_percentile(double percentile) const {
  if (count_ == 0) return 0;
  if (percentile <= 0.0) return min_;
  if (percentile >= 100.0) return max_;
  const uint64_t rank = detail::percentile_rank(percentile, count_);
  uint64_t seen = 0;
  for (const Bucket& b : buckets_) {
    seen += b.count;
    if (seen >= rank) return std::min(Histogram::highest_equivalent_value(b.index), max_);
  }
  return max_;
}

void SparseHistogram::add_bucket(int32_t index, uint64_t count) {
  if (index < 0 || index >= Histogram::kCountsLength) {
    throw std::out_of_range(fmt::format("histogram bucket index {} outside [0, {})", index, Histogram::kCountsLength));
  }
  if (count == 0) return;
  add_to_sorted_list(buckets_, index, count);
  const int64_t lowest = Histogram::lowest_equivalent_value(index);
  const int64_t highest = std::min(Histogram::highest_equivalent_value(index), Histogram::kHighestTrackableUs);
  min_ = count_ ? std::min(min_, lowest) : lowest;
  max_ = count_ ? std::max(max_, highest) : highest;
  count_ += count;
  sum_ += static_cast<uint64_t>(lowest) * count;
}

void SparseHistogram::set_exact_summary(int64_t min_us, int64_t max_us, uint64_t sum_us, uint64_t clamped) noexcept {
  min_ = count_ ? min_us : 0;
  max_ = count_ ? max_us : 0;
  sum_ = sum_us;
  clamped_ = clamped;
}

// ---- JSON --------------------------------------------------------------------------

namespace {
thread_local bool t_packing_buckets = false;

template <class H>
void write_histogram(nlohmann::json& json, const H& histogram) {
  nlohmann::json buckets;
  if (t_packing_buckets) {
    std::vector<PackedBucket> pairs;
    histogram.for_each_nonzero([&](int32_t index, uint64_t count) {
      pairs.push_back({static_cast<uint64_t>(index), count});
    });
    buckets = packed_buckets(pairs);
  } else {
    buckets = nlohmann::json::array();
    histogram.for_each_nonzero([&](int32_t index, uint64_t count) { buckets.push_back({index, count}); });
  }
  json = nlohmann::json{{"count", histogram.count()},
                        {"min_us", histogram.min()},
                        {"max_us", histogram.max()},
                        {"sum_us", histogram.sum()},
                        {"buckets", std::move(buckets)}};
  if (histogram.clamped() != 0) json["clamped"] = histogram.clamped();
}

// Reads and validates the stored form, then fills `out` (Histogram or SparseHistogram).
template <class H>
void read_histogram_into(const nlohmann::json& json, std::string_view path, H& out) {
  const JsonObject object(json, std::string(path));
  const uint64_t count = object.uint64("count");
  const int64_t min = object.int64("min_us");
  const int64_t max = object.int64("max_us");
  const uint64_t sum = object.uint64("sum_us");
  const nlohmann::json* clamped_json = object.find("clamped");
  const uint64_t clamped = clamped_json ? json_uint64(*clamped_json, object.path_of("clamped")) : 0;
  const nlohmann::json& buckets = object.at("buckets");
  const nlohmann::json::binary_t* packed = buckets.is_binary() ? &buckets.get_binary() : nullptr;
  if (packed == nullptr) json_array(buckets, object.path_of("buckets"));
  const std::size_t size = packed ? packed->size() / sizeof(PackedBucket) : buckets.size();

  H histogram;
  int32_t previous_index = -1;
  int32_t first_index = -1;
  uint64_t bucket_total = 0;
  for (std::size_t i = 0; i < size; ++i) {
    int64_t index = 0;
    uint64_t bucket_count = 0;
    if (packed != nullptr) {
      PackedBucket bucket;
      std::memcpy(&bucket, packed->data() + i * sizeof(PackedBucket), sizeof bucket);
      index = bucket.index < static_cast<uint64_t>(Histogram::kCountsLength) ? static_cast<int64_t>(bucket.index)
                                                                             : Histogram::kCountsLength;
      bucket_count = bucket.count;
      // A file holds millions of buckets: the well-formed ones are read without building
      // the path that only a message needs.
    } else if (const nlohmann::json& pair = buckets[i];
               pair.is_array() && pair.size() == 2 && pair[0].is_number_unsigned() && pair[1].is_number_unsigned() &&
               pair[0].get<uint64_t>() < static_cast<uint64_t>(Histogram::kCountsLength)) [[likely]] {
      index = static_cast<int64_t>(pair[0].get<uint64_t>());
      bucket_count = pair[1].get<uint64_t>();
    } else {
      const std::string bucket_path = json_path_index(object.path_of("buckets"), i);
      json_array(pair, bucket_path);
      if (pair.size() != 2) throw_schema_error(bucket_path, "expected [index, count]");
      index = json_int64(pair[0], bucket_path + "[0]");
      bucket_count = json_uint64(pair[1], bucket_path + "[1]");
    }
    if (index <= previous_index || index >= Histogram::kCountsLength || bucket_count == 0) [[unlikely]] {
      const std::string bucket_path = json_path_index(object.path_of("buckets"), i);
      if (bucket_count == 0 && index > previous_index && index < Histogram::kCountsLength) {
        throw_schema_error(bucket_path, "bucket count 0 (only non-zero buckets are stored)");
      }
      throw_schema_error(bucket_path, fmt::format("bucket index {} out of order or outside [0, {})", index,
                                                  Histogram::kCountsLength));
    }
    histogram.add_bucket(static_cast<int32_t>(index), bucket_count);
    if (i == 0) first_index = static_cast<int32_t>(index);
    previous_index = static_cast<int32_t>(index);
    bucket_total += bucket_count;
  }
  if (bucket_total != count) {
    throw_schema_error(path, fmt::format("bucket counts add up to {}, not count {}", bucket_total, count));
  }
  if (count == 0) {
    if (min != 0 || max != 0 || sum != 0 || clamped != 0) {
      throw_schema_error(path, "an empty histogram has min_us, max_us, sum_us 0");
    }
  } else {
    if (min < 0 || min > max || max > Histogram::kHighestTrackableUs || Histogram::counts_index(min) != first_index ||
        Histogram::counts_index(max) != previous_index || clamped > count) {
      throw_schema_error(path, "min_us/max_us/clamped do not match the buckets");
    }
    const auto wide_sum = static_cast<unsigned __int128>(sum);
    if (wide_sum < static_cast<unsigned __int128>(min) * count || wide_sum > static_cast<unsigned __int128>(max) * count) {
      throw_schema_error(path, "sum_us outside count × [min_us, max_us]");
    }
  }
  histogram.set_exact_summary(min, max, sum, clamped);
  out = std::move(histogram);
}
}  // namespace

bool BucketPacker::on_event(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
  using Event = nlohmann::json::parse_event_t;
  if (event == Event::key) {
    key_is_buckets_ = depth_ < 0 && parsed.is_string() && parsed.get_ref<const std::string&>() == "buckets";
    return true;
  }
  if (depth_ < 0) {
    if (key_is_buckets_ && event == Event::array_start) {
      depth_ = depth;
      deviated_ = false;
      pairs_.clear();
    }
    key_is_buckets_ = false;
    return true;
  }
  if (depth == depth_ && event == Event::array_end) {
    if (!deviated_) {
      parsed = packed_buckets(pairs_);
    } else {
      nlohmann::json rebuilt = nlohmann::json::array();
      for (const PackedBucket& pair : pairs_) rebuilt.push_back(nlohmann::json::array({pair.index, pair.count}));
      for (nlohmann::json& element : parsed) rebuilt.push_back(std::move(element));
      parsed = std::move(rebuilt);
    }
    depth_ = -1;
    return true;
  }
  if (depth != depth_ + 1 || deviated_) return true;
  if (event == Event::array_end && parsed.size() == 2 && parsed[0].is_number_unsigned() &&
      parsed[1].is_number_unsigned() &&
      parsed[0].get<uint64_t>() < static_cast<uint64_t>(Histogram::kCountsLength)) {
    pairs_.push_back({parsed[0].get<uint64_t>(), parsed[1].get<uint64_t>()});
    return false;
  }
  if (event == Event::array_end || event == Event::object_end || event == Event::value) deviated_ = true;
  return true;
}

PackedBucketsScope::PackedBucketsScope() noexcept : before_(t_packing_buckets) { t_packing_buckets = true; }
PackedBucketsScope::~PackedBucketsScope() { t_packing_buckets = before_; }

nlohmann::json packed_buckets(const std::vector<PackedBucket>& buckets) {
  std::vector<std::uint8_t> bytes(buckets.size() * sizeof(PackedBucket));
  if (!buckets.empty()) std::memcpy(bytes.data(), buckets.data(), bytes.size());
  return nlohmann::json::binary(std::move(bytes));
}

void to_json(nlohmann::json& json, const Histogram& histogram) { write_histogram(json, histogram); }
void to_json(nlohmann::json& json, const SparseHistogram& histogram) { write_histogram(json, histogram); }
void from_json(const nlohmann::json& json, Histogram& histogram) { read_histogram(json, "", histogram); }
void from_json(const nlohmann::json& json, SparseHistogram& histogram) { read_histogram(json, "", histogram); }

void read_histogram(const nlohmann::json& json, std::string_view path, Histogram& out) {
  read_histogram_into(json, path, out);
}
void read_histogram(const nlohmann::json& json, std::string_view path, SparseHistogram& out) {
  read_histogram_into(json, path, out);
}

// ---- Apdex -------------------------------------------------------------------------

char apdex_rating(double score) noexcept {
  if (score >= 0.94) return 'E';
  if (score >= 0.85) return 'G';
  if (score >= 0.70) return 'F';
  if (score >= 0.50) return 'P';
  return 'U';
}

void to_json(nlohmann::json& json, const Apdex& apdex) {
  json = nlohmann::json{{"satisfied", apdex.satisfied}, {"tolerating", apdex.tolerating}, {"frustrated", apdex.frustrated}};
}

void from_json(const nlohmann::json& json, Apdex& apdex) { read_apdex(json, "", apdex); }

void read_apdex(const nlohmann::json& json, std::string_view path, Apdex& out) {
  const JsonObject object(json, std::string(path));
  out.satisfied = object.uint64("satisfied");
  out.tolerating = object.uint64("tolerating");
  out.frustrated = object.uint64("frustrated");
}

}  // namespace bm::stats
