#pragma once
// The open model's clock: when each test iteration of a cycle is meant to start. The
// whole run's schedule is one sequence of starts (evenly spaced, or a Poisson process)
// at a rate that may ramp linearly over the cycle; each node, and each worker on it,
// takes every stride-th start of that sequence, so the parts interleave exactly and add
// up to the rate asked (docs/open-model.md). Pure arithmetic: no clock is read here.
#include <cstdint>
#include <optional>
#include <random>

namespace bm::engine {

class ArrivalSchedule {
 public:
  struct Params {
    double rate_from = 0;  // the whole schedule's rate at t0, iterations/s
    double rate_to = 0;    // at t0 + span (= rate_from: constant)
    int64_t t0_ns = 0;     // the cycle's start
    int64_t span_ns = 1;   // over which the rate ramps (start-up + window)
    int64_t end_ns = 0;    // no start at or after this
    int stride = 1;        // this part takes starts offset, offset + stride, ...
    int offset = 0;        // 0 <= offset < stride
    bool poisson = false;  // random starts, exponential gaps of the same mean
    uint64_t seed = 1;
  };

  explicit ArrivalSchedule(const Params& params);

  // The next intended start (monotonic ns), or nullopt when there is none before end_ns.
  std::optional<int64_t> next();
  // The whole schedule's start number `count` (0 = the first) in ns after t0; nullopt
  // when a ramp down to 0 never gets there.
  std::optional<int64_t> offset_of(double count) const;

 private:
  Params p_;
  double a_ = 0;      // starts per ns at t0
  double b_ = 0;      // change of that per ns
  double count_ = 0;  // the next start's number in the whole schedule
  bool done_ = false;
  std::mt19937_64 random_;
  std::exponential_distribution<double> gap_{1.0};
};

}  // namespace bm::engine
