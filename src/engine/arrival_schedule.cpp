#include "engine/arrival_schedule.hpp"

#include <cmath>

namespace bm::engine {

ArrivalSchedule::ArrivalSchedule(const Params& params) : p_(params), random_(params.seed) {
  if (p_.stride < 1) p_.stride = 1;
  if (p_.span_ns < 1) p_.span_ns = 1;
  a_ = p_.rate_from / 1e9;
  b_ = (p_.rate_to - p_.rate_from) / 1e9 / static_cast<double>(p_.span_ns);
  // Poisson: this part is a Poisson process of 1/stride of the rate, so its gaps in
  // schedule numbers are stride times a unit exponential; constant: every stride-th.
  count_ = p_.poisson ? static_cast<double>(p_.stride) * gap_(random_) : static_cast<double>(p_.offset);
}

std::optional<int64_t> ArrivalSchedule::offset_of(double count) const {
  // The number of starts by time t is N(t) = a t + b t^2 / 2; solved for t, in the form
  // that stays exact when b is 0 and when a is 0.
  const double disc = a_ * a_ + 2 * b_ * count;
  if (disc < 0) return std::nullopt;
  const double denom = a_ + std::sqrt(disc);
  if (denom <= 0) return count <= 0 ? std::optional<int64_t>(0) : std::nullopt;
  const double t = 2 * count / denom;
  if (!std::isfinite(t) || t > 9e18) return std::nullopt;
  return static_cast<int64_t>(std::llround(t));
}

std::optional<int64_t> ArrivalSchedule::next() {
  if (done_) return std::nullopt;
  std::optional<int64_t> offset = offset_of(count_);
  if (!offset || p_.t0_ns + *offset >= p_.end_ns) {
    done_ = true;
    return std::nullopt;
  }
  count_ += p_.poisson ? static_cast<double>(p_.stride) * gap_(random_) : static_cast<double>(p_.stride);
  return p_.t0_ns + *offset;
}

}  // namespace bm::engine
