#pragma once
// The exact merge of several nodes' results one node at a time (merge_results, in
// results.hpp, is the same merge of a list): bench-master folds each node's results in
// as it brings them back.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "stats/results.hpp"

namespace bm::stats {

// The same merge, one node at a time: bench-master folds each node's results in as it
// brings them back, and keeps only the merge so far. Nodes added in the order
// merge_results takes its inputs give the same document, byte for byte.
class ResultsMerger {
 public:
  // options.nodes is not used: each node's offset, status and message come with add().
  explicit ResultsMerger(MergeOptions options);
  // Moves `input` onto the master clock and folds it in; false with *error when it
  // cannot be merged with those before (already merged, the same node twice, other
  // cycles or duration), and then nothing changes.
  bool add(Results input, const NodeMergeInfo& info, std::string* error);
  std::size_t size() const noexcept { return inputs_; }
  // The merge of every node added; fails when none was. Ends the merger.
  std::optional<Results> finish(std::string* error);

 private:
  struct CycleWindow {
    std::size_t parts = 0;  // nodes that reached the cycle
    bool timed = false;     // some node's window has both ends
    int64_t latest_open = 0, earliest_open = 0, latest_close = 0, earliest_close = 0;
  };
  MergeOptions options_;
  Results first_;  // the first node's run and config, unmerged
  Results merged_;
  std::vector<CycleWindow> windows_;
  std::set<int> node_nums_;
  std::size_t inputs_ = 0;
  bool all_complete_ = true;
  bool any_running_ = false;
};

}  // namespace bm::stats
