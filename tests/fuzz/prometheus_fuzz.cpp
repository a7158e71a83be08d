// parse_exposition (the monitor's collector reads what a node_exporter or bench-monitor
// serves: input from the network). Never throws; a refused text gets one line; what
// parses gives host counters whose exposition (write_exposition) parses back to the same
// counters.
#include "monitor/prometheus.hpp"
#include "fuzz_check.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

void check(bool ok, const char* what, const std::string& detail = {}) {
  bm::fuzz::check(ok, "prometheus", what, detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    std::string error;
    const auto samples = bm::monitor::parse_exposition(text, &error);
    if (!samples) {
      check(!error.empty() && error.find('\n') == std::string::npos, "the refusal is not one line", error);
      return 0;
    }
    const bm::monitor::HostCounters counters = bm::monitor::counters_from_metrics(*samples, {}, 1'000'000);
    const std::string written = bm::monitor::write_exposition(counters);
    const auto again = bm::monitor::parse_exposition(written, &error);
    check(again.has_value(), "its own exposition does not parse", error);
    check(bm::monitor::counters_from_metrics(*again, {}, 1'000'000) == counters,
          "the counters do not survive their own exposition", written);
  } catch (const std::exception& e) {
    check(false, "threw", e.what());
  }
  return 0;
}
