// The merge bench-master does as nodes end: each node's results file read and folded
// into a stats::ResultsMerger, then the merged document finished. Prints the time of
// each part; the bar (issue 17): 64 nodes x 20 cycles x 50 pages merged in under 1 s.
//
//   merge_bench [--cycles N] [--pages N] [--nodes N] [--requests-per-page N] [-o DIR]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "stats/merge.hpp"
#include "stats/results.hpp"
#include "synthetic_results.hpp"

namespace {

using namespace bm;
using namespace bm::bench;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  Shape shape;
  shape.nodes = 64;
  shape.out = fs::temp_directory_path() / "benchmaster-merge-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--cycles") shape.cycles = value;
    else if (flag == "--pages") shape.pages = value;
    else if (flag == "--nodes") shape.nodes = value;
    else if (flag == "--requests-per-page") shape.requests_per_page = value;
    else if (flag == "-o") shape.out = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--cycles N] [--pages N] [--nodes N] [--requests-per-page N] [-o DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  fs::create_directories(shape.out);
  std::vector<fs::path> files;
  std::string error;
  for (int n = 0; n < shape.nodes; ++n) {
    files.push_back(shape.out / fmt::format("node-{}.json", n));
    if (!stats::write_results_atomic(node_results(shape, n), files.back(), &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
  }
  const double megabytes = static_cast<double>(fs::file_size(files.front())) / 1e6;

  // The reader every file went through before simdjson's fast path, on the first file.
  double reference_s = 0;
  {
    std::ifstream in(files.front(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto start = std::chrono::steady_clock::now();
    stats::Results results;
    if (!stats::parse_results_reference(text, results, &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    reference_s = seconds_since(start);
  }

  // As the master does: read a node's file when it arrives, fold it in, let it go.
  double read_s = 0, fold_s = 0, last_node_s = 0;
  stats::ResultsMerger merger(stats::MergeOptions{{}, kEpoch, "master"});
  for (const fs::path& file : files) {
    const auto start = std::chrono::steady_clock::now();
    stats::Results results;
    if (!stats::read_results(file, results, &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    const double read = seconds_since(start);
    const auto fold_start = std::chrono::steady_clock::now();
    if (!merger.add(std::move(results), {}, &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    const double fold = seconds_since(fold_start);
    read_s += read;
    fold_s += fold;
    last_node_s = read + fold;
  }
  const auto finish_start = std::chrono::steady_clock::now();
  std::optional<stats::Results> merged = merger.finish(&error);
  const double finish_s = seconds_since(finish_start);
  if (!merged) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const auto write_start = std::chrono::steady_clock::now();
  if (!stats::write_results_atomic(*merged, shape.out / "results.json", &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const double write_s = seconds_since(write_start);
  for (const fs::path& file : files) fs::remove(file);

  const double merge_s = fold_s + finish_s;
  std::printf("%d nodes x %d cycles x %d pages (%d requests each), %.2f MB per node file\n", shape.nodes, shape.cycles,
              shape.pages, shape.requests_per_page, megabytes);
  std::printf("  reading the %d files:         %.3f s (%.1f ms each)\n", shape.nodes, read_s,
              read_s * 1e3 / shape.nodes);
  std::printf("  (the reference reader:        %.1f ms for one file)\n", reference_s * 1e3);
  std::printf("  folding them in:              %.3f s\n", fold_s);
  std::printf("  finishing the merge:          %.3f s\n", finish_s);
  std::printf("  writing the merged results:   %.3f s\n", write_s);
  std::printf("  after the last node's file:   %.3f s (its read and fold, finish, write)\n",
              last_node_s + finish_s + write_s);
  const bool within_bar = merge_s < 1.0;
  std::printf("bar (the merge of every node in under 1 s: %.3f s): %s\n", merge_s, within_bar ? "met" : "MISSED");
  return within_bar ? 0 : 1;
}
