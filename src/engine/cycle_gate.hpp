#pragma once
// Distributed runs: every cycle after the first starts when the master says, on every
// node at once. The node's input reader opens the gate for a cycle with the start time
// the master chose; the runner waits on it after reporting the end of its drain.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace bm::engine {

class CycleGate {
 public:
  void open(int cycle, int64_t start_epoch_us) {
    {
      std::lock_guard lock(mutex_);
      starts_[cycle] = start_epoch_us;
    }
    changed_.notify_all();
  }
  // No further cycle: the run ends as complete, for `reason` (the master's @end).
  void end(std::string reason) {
    {
      std::lock_guard lock(mutex_);
      end_reason_ = std::move(reason);
    }
    changed_.notify_all();
  }
  std::optional<std::string> end_reason() {
    std::lock_guard lock(mutex_);
    return end_reason_;
  }
  // No more starts will come (the master is gone).
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    changed_.notify_all();
  }
  // The start time of `cycle` (node clock, epoch µs) once the master has sent it;
  // nullopt when the gate closed or `stop()` became true first (checked every 50 ms).
  template <class Stop>
  std::optional<int64_t> wait(int cycle, Stop stop) {
    std::unique_lock lock(mutex_);
    while (true) {
      if (auto it = starts_.find(cycle); it != starts_.end()) return it->second;
      if (closed_ || end_reason_ || stop()) return std::nullopt;
      changed_.wait_for(lock, std::chrono::milliseconds(50));
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int, int64_t> starts_;
  bool closed_ = false;
  std::optional<std::string> end_reason_;
};

}  // namespace bm::engine
