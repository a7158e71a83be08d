// parse_merge_plan (results/merge-plan.json, read by bench-report to merge the node files
// of a run whose master died). Never throws; a refusal is one line; what it accepts is
// written back and read again to the same plan.
#include "stats/merge_plan.hpp"
#include "fuzz_check.hpp"

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace {

void check(bool ok, const char* what, const std::string& detail = {}) {
  bm::fuzz::check(ok, "merge_plan", what, detail);
}

bool same(const bm::stats::MergePlan& a, const bm::stats::MergePlan& b) {
  if (a.label != b.label || a.host != b.host || a.test_file != b.test_file || a.conf_file != b.conf_file ||
      a.command_line != b.command_line || a.thresholds != b.thresholds ||
      a.planned_start_epoch_us != b.planned_start_epoch_us || a.nodes.size() != b.nodes.size()) {
    return false;
  }
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    if (a.nodes[i].node_num != b.nodes[i].node_num || a.nodes[i].host != b.nodes[i].host ||
        a.nodes[i].clock_offset_us != b.nodes[i].clock_offset_us) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    bm::stats::MergePlan plan;
    std::string error;
    if (!bm::stats::parse_merge_plan(input, "merge-plan.json", plan, &error)) {
      check(!error.empty() && error.find('\n') == std::string::npos, "the refusal is not one line", error);
      return 0;
    }
    // Strings that are not UTF-8 are written with U+FFFD: only valid ones come back alike.
    const std::string text = bm::stats::merge_plan_to_string(plan);
    bm::stats::MergePlan again;
    check(bm::stats::parse_merge_plan(text, "again", again, &error), "its own writing is refused", error);
    if (text.find("\xEF\xBF\xBD") == std::string::npos) check(same(plan, again), "the plan changed on the way back");
  } catch (const std::exception& e) {
    check(false, "threw", e.what());
  }
  return 0;
}
