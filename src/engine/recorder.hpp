#pragma once
// A worker's statistics for the running cycle. Keys are interned once per worker and
// then recorded through stable slot numbers, so recording a request is a few counter
// increments and two histogram updates: no allocation, no lock. The main thread takes
// the figures with harvest() while the worker is idle between cycles, or takes the
// finished per-second points at any time through the worker's own thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/clock.hpp"
#include "engine/string_map.hpp"
#include "stats/entry.hpp"
#include "stats/results.hpp"
#include "stats/series.hpp"

namespace bm::engine {

using RequestKind = stats::RequestKind;

struct RequestSample {
  int status = 0;                  // 0: no response
  bool ok = true;
  stats::ErrorKind error = stats::ErrorKind::other;  // when !ok
  int64_t latency_us = 0;
  int64_t connect_us = -1;         // opening the connection it needed; -1: it reused one
  int64_t first_byte_us = -1;      // sent to first byte of the response; -1: no response
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  int64_t done_ns = 0;             // monotonic completion time
  // Open model: how long the iteration waited for a free user before this, its first
  // request, could be sent; latency counts from the intended start, so it adds this.
  int64_t wait_us = 0;
};

class Recorder {
 public:
  static constexpr size_t kMaxPages = 1000;
  static constexpr size_t kMaxRequests = 10000;

  // open_model: latencies count from the intended start, and service times are kept too.
  Recorder(const ClockBase& clock, int64_t apdex_t_us, bool open_model = false);

  // A new cycle: clears the figures and sets the logging window (monotonic ns).
  void begin_cycle(int cycle, int cvus, int64_t window_start_ns, int64_t window_end_ns);
  void set_window_end(int64_t window_end_ns) { window_end_ns_ = window_end_ns; }
  bool in_window(int64_t t_ns) const { return t_ns >= window_start_ns_ && t_ns < window_end_ns_; }

  int page_slot(std::string_view key);
  int request_slot(int page, std::string_view key, std::string_view method, std::string_view url, RequestKind kind);
  // request_slot() of a page's main request, whose key is the page's own: remembered per
  // page, so the usual request costs no hashing here.
  int main_request_slot(int page, std::string_view key, std::string_view method, std::string_view url);
  int test_slot(std::string_view key);

  void request_done(int slot, const RequestSample& sample);
  // A page is recorded once its verdict is known (a check after it may fail it):
  // done_ns decides the window, verdict_ns the second of the series.
  // latency_us is the service time; wait_us (open model) what preceded it since the
  // intended start.
  void page_done(int slot, bool ok, stats::ErrorKind error, int status, int64_t latency_us, int64_t done_ns,
                 int64_t verdict_ns, int64_t wait_us = 0);
  // verdict: 0 ok, 1 failure, 2 error.
  void test_done(int slot, int verdict, stats::ErrorKind kind, int64_t latency_us, int pages, int requests,
                 int64_t done_ns, int64_t wait_us = 0);
  // A stopped run dropped a request in flight (already sent) and the page and test it
  // belonged to; a slot of -1 is not counted.
  void abandoned(int request_slot, int page_slot, int test_slot);
  // Failures and errors grouped for the report.
  void error_event(stats::ErrorKind kind, bool failure, std::string_view page, std::string_view request, int status,
                   std::string_view message, int64_t t_ns);

  void set_running_vus(int n) { running_vus_ = n; }
  // The cycle's figures (moves them out) and the per-second points finished so far.
  stats::CycleResults take_cycle();
  // Changes whenever the slots above are forgotten (a new cycle, a harvest): a slot
  // number kept by a caller is valid while this stays the same.
  uint64_t slots_generation() const { return slots_generation_; }
  std::string_view page_key(int slot) const { return cycle_results_.pages[static_cast<size_t>(slot)].key; }
  std::vector<stats::SeriesPoint> take_series(bool include_current);

  // Progress counters read by the main thread while the cycle runs.
  // Single writer (the worker), so a relaxed load+store is enough and costs a plain move.
  struct Progress {
    std::atomic<uint64_t> tests_ok{0}, tests_failed{0}, tests_errors{0}, requests{0};
    static void bump(std::atomic<uint64_t>& n) { n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  };
  const Progress& progress() const { return progress_; }

 private:
  // Called three times per request: the monotonic times of the current second are kept,
  // so that a time inside it costs two comparisons instead of the epoch arithmetic.
  void roll_second(int64_t t_ns) {
    if (t_ns >= second_begin_ns_ && t_ns < second_end_ns_) return;
    roll_second_slow(t_ns);
  }
  void roll_second_slow(int64_t t_ns);

  const ClockBase& clock_;
  int64_t apdex_t_us_;
  bool open_model_;
  int cycle_ = 0;
  int64_t window_start_ns_ = 0, window_end_ns_ = 0;
  int running_vus_ = 0;
  stats::CycleResults cycle_results_;
  StringMap<int> page_index_, request_index_, test_index_;
  std::vector<int> main_request_of_page_;  // by page slot, -1 until known
  uint64_t slots_generation_ = 0;
  std::string scratch_key_;
  stats::SecondAccumulator second_;
  int64_t current_second_ = 0;
  int64_t second_begin_ns_ = 0, second_end_ns_ = 0;  // monotonic [begin, end) of current_second_; empty: unknown
  std::vector<stats::SeriesPoint> finished_points_;
  Progress progress_;
};

}  // namespace bm::engine
