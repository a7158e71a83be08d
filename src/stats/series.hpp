#pragma once
// Per-second time series: what completed in each wall-clock second of the run, inside
// the logging window or not. A worker owns one SecondAccumulator and rolls it when the
// epoch second changes; the points of several workers or nodes merge by second.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stats/histogram.hpp"

namespace bm::stats {

enum class Phase : uint8_t { startup, window, drain };
std::string_view to_string(Phase phase) noexcept;
std::optional<Phase> parse_phase(std::string_view name) noexcept;

enum class TestOutcome : uint8_t { ok, failure, error };

struct SeriesPoint {
  int64_t t = 0;  // epoch second
  int cycle = 0;
  Phase phase = Phase::startup;
  int64_t cvus = 0;  // virtual users running at the end of the second
  uint64_t requests_ok = 0;
  uint64_t requests_failed = 0;  // failures and errors
  uint64_t pages_ok = 0;
  uint64_t pages_failed = 0;  // failures and errors
  uint64_t tests_ok = 0;
  uint64_t tests_failed = 0;
  uint64_t tests_errors = 0;
  uint64_t bytes_received = 0;
  SparseHistogram latency;  // successful requests of the second

  // Adds another part of the same second: counts, users and latency add; the phase
  // is "window" if either part was in the window, else this point's.
  void merge(const SeriesPoint& other);
  friend bool operator==(const SeriesPoint&, const SeriesPoint&) = default;
};

// Merges `from` into `into`, both sorted by t; the result stays sorted, one point per t.
void merge_series(std::vector<SeriesPoint>& into, const std::vector<SeriesPoint>& from);

class SecondAccumulator {
 public:
  explicit SecondAccumulator(int64_t epoch_second = 0) : second_(epoch_second) {}

  int64_t second() const noexcept { return second_; }

  // Context stamped on the point when it is rolled (values at the end of the second).
  void set_cycle(int cycle, Phase phase) noexcept {
    cycle_ = cycle;
    phase_ = phase;
  }
  void set_cvus(int64_t cvus) noexcept { cvus_ = cvus; }

  // Hot path: O(1), no allocation once the latency groups in use have been touched.
  void record_request_ok(int64_t latency_us) {
    ++requests_ok_;
    latency_.record(latency_us);
    touched_ = true;
  }
  void record_request_failed() noexcept {
    ++requests_failed_;
    touched_ = true;
  }
  void record_page(bool ok) noexcept {
    ++(ok ? pages_ok_ : pages_failed_);
    touched_ = true;
  }
  void record_test(TestOutcome outcome) noexcept {
    ++(outcome == TestOutcome::ok ? tests_ok_ : outcome == TestOutcome::failure ? tests_failed_ : tests_errors_);
    touched_ = true;
  }
  void add_bytes_received(uint64_t bytes) noexcept {
    bytes_received_ += bytes;
    touched_ |= bytes != 0;
  }

  // Ends the current second: returns its point if anything completed in it or users
  // were running (so merged cvus count every worker), then starts `next_epoch_second`
  // empty. The point's sparse latency copy is the one allocation. Roll at least once per
  // second while users run (a timer) to have a point for every second.
  std::optional<SeriesPoint> roll(int64_t next_epoch_second);

 private:
  int64_t second_;
  int cycle_ = 0;
  Phase phase_ = Phase::startup;
  int64_t cvus_ = 0;
  bool touched_ = false;
  uint64_t requests_ok_ = 0;
  uint64_t requests_failed_ = 0;
  uint64_t pages_ok_ = 0;
  uint64_t pages_failed_ = 0;
  uint64_t tests_ok_ = 0;
  uint64_t tests_failed_ = 0;
  uint64_t tests_errors_ = 0;
  uint64_t bytes_received_ = 0;
  Histogram latency_;
};

void to_json(nlohmann::json& json, const SeriesPoint& point);
void read_series_point(const nlohmann::json& json, std::string_view path, SeriesPoint& out);

}  // namespace bm::stats
