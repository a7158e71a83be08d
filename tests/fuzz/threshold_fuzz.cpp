// parse_threshold (the grammar of docs/verdicts.md). Checks, besides the sanitizers: a
// refused expression gets one line; an accepted one keeps its text trimmed, has a
// percentile in (0, 100] when it is one, and reads back from its own text as the same
// threshold; describe(), format_value() and holds() work on any value.
#include "conf/threshold.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

using bm::conf::Threshold;

namespace {

void check(bool ok, const char* what, std::string_view input) {
  if (ok) return;
  fprintf(stderr, "threshold: %s (input '%.*s')\n", what, static_cast<int>(input.size()), input.data());
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto t = bm::conf::parse_threshold(input, &error);
  if (!t) {
    check(!error.empty(), "refused without a message", input);
    check(error.find('\n') == std::string::npos, "message of more than one line", input);
    return 0;
  }
  if (t->metric == bm::conf::ThresholdMetric::percentile) {
    check(t->percentile > 0 && t->percentile <= 100, "percentile out of (0, 100]", input);
  }
  check(!std::isnan(t->limit), "NaN limit", input);
  const auto again = bm::conf::parse_threshold(t->text, &error);
  check(again.has_value(), "its own text does not parse", input);
  check(*again == *t, "its own text parses to another threshold", input);
  (void)t->describe();
  (void)bm::conf::to_string(t->op);
  (void)bm::conf::to_string(t->table);
  for (double v : {0.0, -1.0, 0.5, 1e6, 1e300, -1e300, std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN(), t->limit}) {
    (void)t->holds(v);
    (void)t->format_value(v);
  }
  return 0;
}
