#pragma once
// Latency comes from the monotonic clock; wall-clock time only names moments. One
// pair of readings taken at start maps the first onto the second for the whole run,
// so every worker's timestamps agree.
#include <chrono>
#include <cstdint>

namespace bm::engine {

inline int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ClockBase {
 public:
  ClockBase() : mono0_ns_(mono_ns()), wall0_us_(wall_us()) {}
  int64_t epoch_us(int64_t mono) const { return wall0_us_ + (mono - mono0_ns_) / 1000; }
  int64_t mono_at_epoch_us(int64_t epoch) const { return mono0_ns_ + (epoch - wall0_us_) * 1000; }
  int64_t epoch_second(int64_t mono) const { return epoch_us(mono) / 1'000'000; }

 private:
  int64_t mono0_ns_;
  int64_t wall0_us_;
};

}  // namespace bm::engine
