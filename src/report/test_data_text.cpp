#include "report/test_data_text.hpp"

#include <fmt/format.h>

namespace bm::report {

std::string describe_feeder(const stats::FeederUse& f) {
  const std::string sharing = f.partitioned ? fmt::format("split over {} node{}", f.nodes, f.nodes == 1 ? "" : "s")
                              : f.nodes > 1 ? fmt::format("whole file on each of {} nodes", f.nodes)
                                            : std::string("whole file");
  std::string text = fmt::format("{} (feeder {}): {}, at end {}, {}; {} row{}, {} handed out", f.file, f.name, f.order,
                                 f.at_end, sharing, f.rows, f.rows == 1 ? "" : "s", f.handed_out);
  if (f.exhausted > 0) text += fmt::format(", {} draw{} past the end", f.exhausted, f.exhausted == 1 ? "" : "s");
  return text;
}

}  // namespace bm::report
