#pragma once
// The load generator's own health, once a second on a thread of its own: the process's
// CPU, the machine's, how long its threads waited for a CPU (/proc/self/task/*/schedstat),
// the latest any worker's event loop ran a due timer, resident memory and open
// connections; each second flagged saturated by stats::is_saturated.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "stats/generator_health.hpp"

namespace bm::engine {

// What the sampler asks the workers each second (the runner gives it their figures).
struct LoopFigures {
  int64_t lag_ns = 0;        // the latest a due timer ran since the last ask
  uint64_t connections = 0;  // open now
};

class GeneratorSampler {
 public:
  // `figures` is called on the sampler's thread; it must be safe there (atomics).
  GeneratorSampler(stats::GeneratorHealth identity, std::function<LoopFigures()> figures);
  ~GeneratorSampler();  // stop()s
  GeneratorSampler(const GeneratorSampler&) = delete;
  GeneratorSampler& operator=(const GeneratorSampler&) = delete;

  void start();
  void stop();
  stats::GeneratorHealth snapshot() const;

  // The cores this process may run on (its CPU affinity).
  static int usable_cores();

 private:
  void run();
  void sample(int64_t second);

  stats::GeneratorHealth health_;
  std::function<LoopFigures()> figures_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  // Previous readings (sampler thread only).
  double process_seconds_ = -1;
  int64_t wait_ns_ = -1;
  double host_busy_ = 0, host_total_ = 0;
  int64_t mono_ns_ = 0;
};

}  // namespace bm::engine
