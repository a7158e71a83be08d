// bench-node: one node's part of a distributed bench, started by bench-master in
// <WORKING_DIR>/<RUN>/node-<NODE_NUM>/, where the master put test_<Name>.lua, its
// tailored <Name>.conf and data files. Runs the bench in-process (bench-run's code path)
// with the master's common start time and prints progress lines for the master:
// (src/protocol/node_protocol.hpp has every message): @node first, so the master can
// stop it; @progress once per finished second; with --barrier, @cycle-done after each
// cycle, then it waits for the master's @go. `bench-node --clock` prints "@clock <epoch
// µs>" at start and once per input line, for the master's clock offset measurement.

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <variant>
#include <filesystem>
#include <optional>
#include <iostream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/commands.hpp"
#include "agent/host_agent.hpp"
#include "app/test_options.hpp"
#include "engine/bench_runner.hpp"
#include "engine/clock.hpp"
#include "engine/cycle_gate.hpp"
#include "protocol/node_protocol.hpp"

namespace bm::app {

namespace fs = std::filesystem;

namespace {

int print_clock() {
  const std::string kernel = protocol::this_kernel_id();
  std::cout << protocol::clock_line({engine::wall_us(), kernel}) << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) std::cout << protocol::clock_line({engine::wall_us(), kernel}) << std::endl;
  return 0;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// The master holds the other end of stdin. It sends "@go" lines there (each cycle's
// common start, with --barrier); end of file means it is gone (or the SSH session
// closed), and the node stops as on Ctrl-C, keeping what it finished.
void read_master_input(engine::CycleGate* gate, bool stop_on_eof) {
  std::thread([gate, stop_on_eof] {
    std::string pending;
    char buffer[4096];
    while (true) {
      ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buffer, static_cast<size_t>(n));
      size_t start = 0, end;
      while ((end = pending.find('\n', start)) != std::string::npos) {
        auto message = protocol::parse_line(std::string_view(pending).substr(start, end - start));
        if (auto* go = std::get_if<protocol::Go>(&message); go && gate) gate->open(go->cycle, go->start_epoch_us);
        if (auto* end = std::get_if<protocol::End>(&message); end && gate) gate->end(end->reason);
        start = end + 1;
      }
      pending.erase(0, start);
      if (pending.size() > 65536) pending.clear();  // not a line from the master
    }
    if (gate) gate->close();
    if (stop_on_eof) engine::request_interrupt();
  }).detach();
}

// --heartbeat: one byte on standard output every `interval_s`, alone in its write() so it
// never splits anything but a line, from a thread that does nothing else. A stopped
// process, a frozen host or a cut connection goes silent; a busy one does not.
void start_heartbeat(double interval_s) {
  std::thread([interval_s] {
    const auto interval = std::chrono::duration<double>(interval_s);
    while (true) {
      std::this_thread::sleep_for(interval);
      if (::write(STDOUT_FILENO, &protocol::kHeartbeat, 1) < 0 && errno == EPIPE) return;  // the master is gone
    }
  }).detach();
}

// The one test_<Name>.lua in the node's folder, when the master did not name it.
std::string find_test_name(const fs::path& folder, std::string* error) {
  std::string found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    std::string file = entry.path().filename().string();
    if (file.rfind("test_", 0) == 0 && entry.path().extension() == ".lua") {
      if (!found.empty()) {
        *error = fmt::format("{}: more than one test_*.lua: give TEST_NAME", folder.string());
        return {};
      }
      found = entry.path().stem().string().substr(5);
    }
  }
  if (found.empty()) *error = fmt::format("{}: no test_*.lua here", folder.string());
  return found;
}

}  // namespace

int cmd_node(const Args& args, const std::string& prog) {
  CLI::App app{"Run one node's part of a distributed bench (started by bench-master).", prog};
  TestOptions options;
  std::vector<std::string> operands;
  std::string start_at;
  bool clock = false, agent = false, stop_on_eof = false, barrier = false, cycle_results = false;
  double heartbeat_s = 0;
  add_test_options(app, options, conf::Mode::bench);
  // The test is found in the node's folder, not given on the command line.
  app.remove_option(app.get_option("test"));
  app.remove_option(app.get_option("function"));
  app.add_option("operands", operands,
                 "WORKING_DIR RUN NODE_NUM [TEST_NAME] (default: $PSSH_BENCH_WORKING_DIR, $PSSH_BENCH_RUN, "
                 "$PSSH_NODENUM; the folder's only test)")
      ->expected(0, 4);
  app.add_option("--start-at", start_at,
                 "wall-clock time (epoch µs) to begin cycle 1, or 'go': when the master's @go for it comes on "
                 "standard input");
  app.add_option("--test-shown-as", options.test_file_shown,
                 "how messages name the test file (bench-master gives the path its user typed)");
  app.add_flag("--clock", clock, "print this machine's clock (epoch µs), then again for each line read");
  app.add_flag("--agent", agent,
               "be this host's agent for bench-master: start its node processes as the master asks and carry "
               "their standard streams over this one session (docs/distributed.md)");
  app.add_option("--heartbeat", heartbeat_s,
                 "print one byte 0x06 every S seconds from @node on, so the master knows the process lives "
                 "(it removes these bytes before reading lines)")
      ->check(CLI::Range(0.01, 3600.0));
  app.add_flag("--stop-on-eof", stop_on_eof, "stop (keeping results) when standard input closes");
  app.add_flag("--barrier", barrier,
               "after each cycle print @cycle-done and start the next at the time an @go line on standard input gives");
  app.add_flag("--cycle-results", cycle_results,
               "with --barrier: print each cycle's figures (@cycle-results) before @cycle-done, for the master to "
               "judge its thresholds");
  if (int code = parse_options(app, args, prog); code >= 0) return code;
  if (clock) return print_clock();
  if (agent) return agent::run_host_agent(STDIN_FILENO, STDOUT_FILENO);
  if (operands.size() == 1 || operands.size() == 2) {
    return fail(prog, "give WORKING_DIR RUN NODE_NUM [TEST_NAME], or none (then the PSSH_* variables)");
  }
  const std::string working_dir = operands.size() > 0 ? operands[0] : env_or("PSSH_BENCH_WORKING_DIR", "");
  const std::string run_name = operands.size() > 1 ? operands[1] : env_or("PSSH_BENCH_RUN", "");
  const std::string node_text = operands.size() > 2 ? operands[2] : env_or("PSSH_NODENUM", "");
  if (working_dir.empty() || run_name.empty() || node_text.empty()) {
    return fail(prog, "no node given: WORKING_DIR RUN NODE_NUM, or PSSH_BENCH_WORKING_DIR, PSSH_BENCH_RUN, PSSH_NODENUM");
  }
  char* end = nullptr;
  const long node_num = std::strtol(node_text.c_str(), &end, 10);
  if (*end != '\0' || node_num < 0) return fail(prog, fmt::format("NODE_NUM: '{}' is not a node number", node_text));
  const fs::path folder = fs::absolute(fs::path(working_dir) / run_name / fmt::format("node-{}", node_num));
  std::error_code ec;
  fs::current_path(folder, ec);  // data files the test opens are relative to its folder
  if (ec) return fail(prog, fmt::format("{}: {}", folder.string(), ec.message()));

  std::string error;
  const std::string name = operands.size() > 3 ? operands[3] : find_test_name(folder, &error);
  if (name.empty()) return fail(prog, error);
  options.test_file = (folder / ("test_" + name + ".lua")).string();

  BenchRun run;
  run.label = run_name;
  run.output_dir = (folder / "results").string();
  run.progress_json = true;
  run.command_line.push_back(prog);
  run.command_line.insert(run.command_line.end(), args.begin(), args.end());
  const bool start_on_go = start_at == "go";
  if (!start_at.empty() && !start_on_go) {
    run.start_at_epoch_us = std::strtoll(start_at.c_str(), &end, 10);
    if (*end != '\0') {
      return fail(prog, fmt::format("--start-at: '{}' is neither a time in epoch microseconds nor 'go'", start_at));
    }
  }
  std::cout << protocol::node_line({static_cast<long long>(::getpid()), static_cast<int>(node_num)}) << std::endl;
  if (heartbeat_s > 0) start_heartbeat(heartbeat_s);
  engine::CycleGate gate;
  if (barrier) run.gate = &gate;
  run.cycle_results = barrier && cycle_results;
  if (stop_on_eof || barrier || start_on_go) read_master_input(barrier || start_on_go ? &gate : nullptr, stop_on_eof);
  if (start_on_go) {
    // The master starts every node first and picks cycle 1's start once all of them
    // are up (@node), so the start need not be guessed ahead of a slow session.
    engine::install_interrupt_handlers();
    const std::optional<int64_t> start = gate.wait(0, [] { return engine::g_interrupts.load() > 0; });
    if (!start) {
      std::cout << std::flush;
      std::_Exit(gate.end_reason() ? 0 : 130);  // told to end, or stopped, before cycle 1
    }
    run.start_at_epoch_us = *start;
  }
  const int code = run_bench(options, run, prog);
  std::cout << std::flush;
  // The input reader may still be blocked in read(): leave without waiting for it.
  std::_Exit(code);
}

}  // namespace bm::app
