// bench-master: argument parsing only; src/master/ does the work (docs/distributed.md).

#include <chrono>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/commands.hpp"
#include "app/test_options.hpp"
#include "master/master.hpp"
#include "monitor/collector.hpp"
#include "master/node_list.hpp"
#include "master/shell.hpp"
#include "master/workspace.hpp"

namespace bm::app {

namespace fs = std::filesystem;

namespace {

std::string self_executable() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.string();
}

}  // namespace

int cmd_master(const Args& args, const std::string& prog) {
  CLI::App app{"Run a bench on many nodes (SSH or local), merge their results exactly and build one report "
               "(Bench Master). See docs/distributed.md.",
               prog};
  std::vector<std::string> operands, node_lists;
  TestOptions bench;
  master::MasterOptions options;
  std::string nodes_file, output_dir = ".";
  int num_nodes = 0;

  app.add_option("operands", operands,
                 "[NODES_FILE] test_Name.lua [FUNCTION]: FUNCTION as with -e (test_fn or FunkLoad's Name.test_fn)")
      ->expected(1, 3)
      ->required();
  // Repeatable options take one value each time, so the test may follow them:
  // `bench-master --nodes web1*2 test_Shop.lua` as well as `bench-master test_Shop.lua --nodes web1*2`.
  app.add_option("--nodes", node_lists,
                 "nodes, comma-separated: local, host, user@host:port, host*K (K processes on host); repeatable")
      ->allow_extra_args(false);
  app.add_option("--num-nodes", num_nodes, "use only the first N nodes")->check(CLI::PositiveNumber);

  auto* b = "Bench options (passed to every node; those not given come from the conf)";
  add_bench_options(app, bench.given, conf::kMasterCommand, b);

  auto* r = "Run";
  app.add_option("-n,--name,--label", options.label, "label of the run (default <Name>-<YYYYmmddTHHMMSS>)")->group(r);
  app.add_option("-w,--working-directory", output_dir, "the master's output folder (default .)")->group(r);
  app.add_option("-x,--node-working-directory", options.node_dir, "the nodes' working folder (default /tmp/bench-node)")
      ->group(r);
  app.add_option("-p,--parallel", options.parallel, "most hosts prepared or collected at once (default 32)")
      ->check(CLI::PositiveNumber)
      ->group(r);
  app.add_option("-s,--node-script", options.node_script,
                 "bench-node on the nodes (default: bench-node on their PATH; local nodes: this program)")
      ->group(r);
  app.add_flag("--push", options.push,
               "send this program, stripped, to each host that lacks it (<x>/.bench-node/<sha256>/) and run that")
      ->group(r);
  app.add_flag("--session-per-node", options.session_per_node,
               "SSH hosts: one SSH session per node process, as before the host agent (default: one session per "
               "host for all its nodes, through bench-node --agent there)")
      ->group(r);
  app.add_flag("--require-all", options.require_all, "stop everything when any node fails")->group(r);
  app.add_option("--barrier-timeout", options.barrier_timeout_s,
                 "seconds the other nodes wait for a node still draining before the next cycle starts without it "
                 "(default 60)")
      ->check(CLI::PositiveNumber)
      ->group(r);
  app.add_option("--hang-timeout", options.hang_timeout_s,
                 "once a node has finished the run, seconds another may stay silent (no output) before it is "
                 "stopped as hung, keeping its finished cycles (default 60)")
      ->check(CLI::PositiveNumber)
      ->group(r);
  app.add_option("--heartbeat-timeout", options.heartbeat_timeout_s,
                 "seconds a running node may go without its heartbeat (one byte a second, sent even while it "
                 "prints nothing) before it is stopped as hung: a stopped process, a frozen host, a cut "
                 "connection (default 10)")
      ->check(CLI::PositiveNumber)
      ->group(r);
  app.add_option("--start-margin", options.start_margin_s,
                 "seconds between every node being up and the common start, beyond the slowest round trip "
                 "(default 0.3)")
      ->check(CLI::NonNegativeNumber)
      ->group(r);

  auto* s = "SSH";
  app.add_option("-i,--identity", options.ssh.identity_file, "private key file (ssh -i)")->group(s);
  app.add_option("-F,--ssh-config", options.ssh.config_file, "ssh configuration file (ssh -F)")->group(s);
  app.add_option("--known-hosts", options.ssh.known_hosts_file, "known_hosts file to check host keys against")
      ->group(s);
  app.add_option("-o,--ssh-option", options.ssh.extra_options,
                 "extra ssh option, e.g. -o Ciphers=aes128-ctr; repeatable")
      ->allow_extra_args(false)
      ->group(s);
  app.add_flag("--accept-new-host-keys", options.ssh.accept_new_host_keys,
               "trust and record unknown host keys (StrictHostKeyChecking=accept-new); changed keys are still refused")
      ->group(s);
  app.add_option("--ssh-connect-timeout", options.ssh.connect_timeout_s, "seconds to connect (default 10)")
      ->check(CLI::PositiveNumber)
      ->group(s);

  add_verdict_options(app, options.verdict, true);
  if (int code = parse_options(app, args, prog); code >= 0) return code;
  bench.given.thresholds = options.verdict.thresholds;

  // Operands: [NODES_FILE] test_Name.lua [FUNCTION]; of two, the test is the one that
  // ends in .lua.
  std::string error;
  const bool test_first = operands.size() == 2 && operands[0].ends_with(".lua") && !operands[1].ends_with(".lua");
  const std::size_t test_at = operands.size() == 3 || (operands.size() == 2 && !test_first) ? 1 : 0;
  if (test_at == 1) nodes_file = operands[0];
  bench.test_file = operands[test_at];
  if (test_at + 1 < operands.size()) bench.function_operand = operands[test_at + 1];
  // Nodes: the file, then --nodes; one local node when none are given.
  if (!nodes_file.empty()) {
    auto nodes = master::read_nodes_file(nodes_file, &error);
    if (!nodes) return fail(prog, error);
    options.nodes = std::move(*nodes);
  }
  for (const auto& list : node_lists) {
    auto nodes = master::parse_nodes_option(list, &error);
    if (!nodes) return fail(prog, error);
    options.nodes.insert(options.nodes.end(), nodes->begin(), nodes->end());
  }
  if (options.nodes.empty()) options.nodes.push_back(master::NodeEntry{master::NodeAddress{true, "", "", 0}, "default"});
  if (num_nodes > 0) {
    if (static_cast<std::size_t>(num_nodes) > options.nodes.size()) {
      return fail(prog, fmt::format("--num-nodes {}: only {} nodes are listed", num_nodes, options.nodes.size()));
    }
    options.nodes.resize(static_cast<std::size_t>(num_nodes));
  }

  // The test must load here as it will on the nodes: bad options fail before any copy.
  bench.load_as_node_0 = true;
  auto test = load_test(bench, conf::Mode::bench, &error);
  if (!test) return fail(prog, error);
  for (const auto& w : test->warnings) std::cerr << prog << ": warning: " << w << '\n';
  // Node 0 will collect from the monitored hosts: a bad [monitor] conf stops here, not there.
  if (!monitor::monitored_hosts(test->conf, &error)) return fail(prog, error);
  options.test_file = fs::absolute(bench.test_file).lexically_normal();
  options.test_file_shown = bench.test_file;
  options.conf_file = bench.given.config.empty()
                          ? options.test_file.parent_path() / (test->engine.identity.test_name + ".conf")
                          : fs::path(bench.given.config);
  options.cycle_count = static_cast<int>(test->engine.bench.cycles.size());
  options.cycle_time_s = test->engine.bench.cycle_time_s;
  options.thresholds = test->engine.bench.thresholds;
  options.apdex_t_s = test->engine.bench.apdex_t_s;
  if (options.verdict.abort_on_fail && options.thresholds.empty()) {
    return fail(prog, "--abort-on-fail: no thresholds (give --threshold or a [thresholds] section)");
  }
  // The nodes run the function named after the test too: they get it as --function.
  if (bench.given.function.empty()) bench.given.function = bench.function_operand;
  options.bench_args = conf::forwarded_args(bench.given);

  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (options.label.empty()) options.label = test->engine.identity.test_name + "-" + master::compact_timestamp(now_us);
  if (std::string problem = label_error("-n/--label", options.label); !problem.empty()) return fail(prog, problem);
  if (options.node_dir.empty() || options.node_dir.find('\0') != std::string::npos) {
    return fail(prog, "-x/--node-working-directory: give a folder");
  }
  options.output_dir = output_dir;
  options.self_executable = self_executable();
  if (options.self_executable.empty() && (options.push || options.nodes.front().address.local)) {
    return fail(prog, "cannot find this program's own file (/proc/self/exe)");
  }
  options.command_line.push_back(prog);
  options.command_line.insert(options.command_line.end(), args.begin(), args.end());
  return master::run_master(options, std::cout, std::cerr);
}

}  // namespace bm::app
