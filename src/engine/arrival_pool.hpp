#pragma once
// The open model on one worker: starts test iterations at the times an ArrivalSchedule
// gives, each on a free virtual user of a pool that grows up to its bound. When every
// user is busy and the pool is full, a start waits in a queue for the next user to come
// free and is counted late; its latency then counts from the time it was meant to start.
// Starts still queued when the window closes are counted missed. Runs on the worker's
// thread only (docs/open-model.md).
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "engine/arrival_schedule.hpp"
#include "stats/results.hpp"

namespace bm::engine {

class Worker;
class VirtualUser;

class ArrivalPool {
 public:
  explicit ArrivalPool(Worker& worker);

  // A new cycle: starts from `schedule`, at most `max_users` users on this worker; the
  // counts are of starts meant for [window_start_ns, window_end_ns).
  void begin(const ArrivalSchedule::Params& schedule, int max_users, int64_t window_start_ns, int64_t window_end_ns);
  // No more starts: queued ones are missed, idle users stop.
  void stop();
  // `vu` ended an iteration: it takes the oldest queued start, or waits for the next one.
  void user_free(VirtualUser& vu);
  // A user stopped for good while the cycle runs: the pool may make another.
  void user_stopped() {
    if (running_ && users_ > 0) --users_;
  }
  // The cycle's counts (rates are the runner's to fill in).
  stats::Arrivals take();
  bool running() const { return running_; }

 private:
  void arm();
  void on_due();
  void dispatch(int64_t intended_ns, int64_t now_ns);
  void start(VirtualUser& vu, int64_t intended_ns, int64_t now_ns, bool from_queue);
  bool in_window(int64_t t_ns) const { return t_ns >= window_start_ns_ && t_ns < window_end_ns_; }

  // A server that never answers must not grow the queue without bound: past this many
  // waiting starts, a start is missed at once.
  static constexpr std::size_t kMaxQueued = 1'000'000;
  // Starts this close to the one due go out with it (docs/open-model.md).
  static constexpr int64_t kBatchNs = 200'000;

  Worker& worker_;
  boost::asio::steady_timer timer_;
  std::optional<ArrivalSchedule> schedule_;
  std::optional<int64_t> next_ns_;
  std::vector<VirtualUser*> idle_;
  std::deque<int64_t> queued_;
  int max_users_ = 0;
  int users_ = 0;
  int64_t window_start_ns_ = 0, window_end_ns_ = 0;
  bool running_ = false;
  stats::Arrivals counts_;
};

}  // namespace bm::engine
