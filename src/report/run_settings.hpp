#pragma once
// The settings that shape a run's figures besides its cycles, duration, test and Apdex T
// (warned about on their own) and its server (what a diff often compares), named the way
// every report names them, so that diff and trend can warn when runs differ in any.
#include <string>
#include <utility>
#include <vector>

#include "stats/results.hpp"

namespace bm::report {

// One warning per setting whose value is not the same in every run: "Think time between
// pages not the same: A 0 – 0.5 s, B 0 s; a user waits ..." `names` label the runs in the
// same order ("A", "B" for a diff; the runs' own names for a trend).
std::vector<std::string> differing_settings(const std::vector<const stats::Results*>& runs,
                                            const std::vector<std::string>& names);

}  // namespace bm::report
