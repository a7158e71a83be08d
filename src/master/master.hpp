#pragma once
// bench-master: deploys a test to every node, starts them together, streams their
// output, shows one live status line, collects their results, merges them exactly and
// builds the report. docs/distributed.md describes it for users.

#include <filesystem>
#include <functional>
#include <memory>
#include <iosfwd>
#include <string>
#include <vector>

#include "report/verdict_gate.hpp"
#include "master/node_list.hpp"
#include "master/transport.hpp"

namespace bm::master {

// Makes the transport to one host; the default chooses local or ssh by the address.
// Tests inject their own (a fake node behind a shell script).
using TransportFactory =
    std::function<std::unique_ptr<Transport>(Runtime runtime, const NodeAddress& address,
                                             const std::filesystem::path& control_dir)>;

struct MasterOptions {
  std::vector<NodeEntry> nodes;           // node i is nodes[i]
  std::filesystem::path test_file;        // test_Name.lua
  std::string test_file_shown;            // as the user typed it: the nodes' messages name it so
  std::filesystem::path conf_file;        // Name.conf beside it, or --config
  std::vector<std::string> bench_args;    // bench options the user gave, passed to every node
  int cycle_count = 1;                    // as resolved from the conf and options
  double cycle_time_s = 0;                // pause between cycles, as resolved
  double barrier_timeout_s = 60;          // how long a node still draining is waited for
  double hang_timeout_s = 60;             // once a node has finished: how long another may stay silent
  double heartbeat_timeout_s = 10;        // how long a node up and running may miss its heartbeat
  std::string label;
  std::filesystem::path output_dir = ".";  // -w
  std::string node_dir = "/tmp/bench-node";  // -x, on the nodes
  int parallel = 32;                      // -p: SSH operations at once
  std::string node_script;                // -s; empty: bench-node on the node's PATH (local: this executable)
  bool push = false;                      // send this executable (stripped, once per checksum) to each host
  bool session_per_node = false;          // SSH hosts: a session per node process instead of one host agent
  SshSettings ssh;
  bool require_all = false;
  double start_margin_s = 0.3;            // once every node is up: for the nodes to load the test
  std::string self_executable;            // this program (readlink /proc/self/exe)
  TransportFactory make_transport;        // empty: local or ssh by the address
  std::vector<std::string> command_line;
  // The run's thresholds as resolved (conf [thresholds] and --threshold), kept in the
  // merged results; the verdict's files (--junit, --summary-json).
  std::vector<std::string> thresholds;
  report::VerdictOptions verdict;
  double apdex_t_s = 1.5;  // as resolved: the Apdex thresholds are judged at
};

// Exit codes of bench-master.
inline constexpr int kExitOk = 0;            // every node finished every cycle, every test passed
inline constexpr int kExitTestsFailed = 1;   // every node finished every cycle, some tests failed
inline constexpr int kExitCouldNotRun = 2;   // bad input, no node could run, or no results to merge
inline constexpr int kExitPartial = 3;       // some node failed or is missing, or a cycle is incomplete
inline constexpr int kExitThresholdFailed = report::kExitThresholdFailed;  // 4: a threshold failed
inline constexpr int kExitInterrupted = 130; // stopped by Ctrl-C (what finished is merged and reported)

int run_master(const MasterOptions& options, std::ostream& out, std::ostream& err);

// The reports of a merged run folder: report.txt, and the HTML report. Returns the path
// to show the user (the HTML page when there is one); empty with *error on failure.
std::filesystem::path build_reports(const std::filesystem::path& run_dir, std::string* error);

// How a node's program is called: "bench-node ARGS" when its file is named bench-node,
// else "PROGRAM node ARGS" (benchmaster's node subcommand).
std::vector<std::string> node_program_argv(const std::string& program);

}  // namespace bm::master
