#pragma once
// How every report names a feeder that fed the run, in one sentence.
#include <string>

#include "stats/results.hpp"

namespace bm::report {

// "users.csv: sequence, at end fail, split over 4 nodes; 200 rows, 180 handed out"
// (", 20 draws past the end" when some were).
std::string describe_feeder(const stats::FeederUse& feeder);

}  // namespace bm::report
