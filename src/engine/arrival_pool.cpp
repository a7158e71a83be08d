#include "engine/arrival_pool.hpp"

#include <algorithm>
#include <chrono>

#include "engine/clock.hpp"
#include "engine/virtual_user.hpp"
#include "engine/worker.hpp"

namespace bm::engine {

ArrivalPool::ArrivalPool(Worker& worker) : worker_(worker), timer_(worker.io()) {}

void ArrivalPool::begin(const ArrivalSchedule::Params& schedule, int max_users, int64_t window_start_ns,
                        int64_t window_end_ns) {
  schedule_.emplace(schedule);
  max_users_ = max_users;
  users_ = 0;
  idle_.clear();
  queued_.clear();
  window_start_ns_ = window_start_ns;
  window_end_ns_ = window_end_ns;
  counts_ = stats::Arrivals{};
  running_ = true;
  next_ns_ = schedule_->next();
  arm();
}

void ArrivalPool::arm() {
  if (!running_ || !next_ns_) return;
  timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(*next_ns_)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_due();
  });
}

void ArrivalPool::on_due() {
  if (!running_) return;
  // Every start due by now goes out in this turn: a loop that ran late catches up at
  // once, and each start keeps the time it was meant for. Starts due within kBatchNs go
  // out with them, a little early: at high rates a wake-up (and a timer system call) per
  // batch instead of per start. Early, never late: an early start's latency counts from
  // when it began.
  const int64_t now = mono_ns();
  while (running_ && next_ns_ && *next_ns_ <= now + kBatchNs) {
    const int64_t due = *next_ns_;
    next_ns_ = schedule_->next();
    dispatch(due, now);
  }
  arm();
}

void ArrivalPool::dispatch(int64_t intended_ns, int64_t now_ns) {
  if (in_window(intended_ns)) ++counts_.due;
  if (!idle_.empty()) {
    VirtualUser* vu = idle_.back();
    idle_.pop_back();
    start(*vu, intended_ns, now_ns, false);
  } else if (users_ < max_users_) {
    ++users_;
    counts_.peak_users = std::max(counts_.peak_users, users_);
    start(worker_.add_user(), intended_ns, now_ns, false);
  } else if (queued_.size() < kMaxQueued) {
    queued_.push_back(intended_ns);
  } else if (in_window(intended_ns)) {
    ++counts_.missed;
  }
}

void ArrivalPool::start(VirtualUser& vu, int64_t intended_ns, int64_t now_ns, bool from_queue) {
  if (in_window(intended_ns)) {
    ++counts_.started;
    if (from_queue) {
      ++counts_.late;
      counts_.max_wait_us = std::max(counts_.max_wait_us, (now_ns - intended_ns) / 1000);
    }
  }
  vu.run_arrival(intended_ns);
}

void ArrivalPool::user_free(VirtualUser& vu) {
  if (!running_) {
    vu.stop_idle();
    return;
  }
  const int64_t now = mono_ns();
  // A queued start begins only while the window is open; after, it is missed (stop()).
  if (!queued_.empty() && now < window_end_ns_) {
    const int64_t intended = queued_.front();
    queued_.pop_front();
    start(vu, intended, now, true);
    return;
  }
  idle_.push_back(&vu);
}

void ArrivalPool::stop() {
  if (!running_) return;
  running_ = false;
  timer_.cancel();
  for (int64_t intended : queued_) {
    if (in_window(intended)) ++counts_.missed;
  }
  queued_.clear();
  std::vector<VirtualUser*> idle;
  idle.swap(idle_);
  for (VirtualUser* vu : idle) vu->stop_idle();
}

stats::Arrivals ArrivalPool::take() {
  stats::Arrivals out = counts_;
  counts_ = stats::Arrivals{};
  return out;
}

}  // namespace bm::engine
