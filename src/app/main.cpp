// benchmaster: one executable, many commands. Called as bench-run, bench-test, ...
// (symlinks) it runs that command; called as benchmaster it takes the command first.
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "app/commands.hpp"

namespace {

struct Command {
  const char* name;
  const char* alias;  // installed program name
  int (*run)(const bm::app::Args&, const std::string&);
  const char* summary;
};

const Command kCommands[] = {
    {"run", "bench-run", bm::app::cmd_run, "run a bench: cycles of concurrent virtual users on this machine"},
    {"test", "bench-test", bm::app::cmd_test, "run a test once (or N times), printing every request"},
    {"master", "bench-master", bm::app::cmd_master, "run a bench on many nodes (SSH or local) and merge the results"},
    {"node", "bench-node", bm::app::cmd_node, "run one node's part of a distributed bench (started by bench-master)"},
    {"report", "bench-report", bm::app::cmd_report, "print or build reports from results files"},
    {"monitor", "bench-monitor", bm::app::cmd_monitor, "watch this host's CPU, memory, network, disk; serve them over HTTP"},
    {"record", "bench-record", bm::app::cmd_record, "record a test through an HTTP proxy, or convert a HAR file"},
    {"credential", "bench-credential", bm::app::cmd_credential, "serve logins to virtual users: round robin and exclusive leases"},
    {"demo-server", "bench-demo-server", bm::app::cmd_demo_server, "serve the bundled demo target"},
};

int usage(std::ostream& out, int code) {
  out << "benchmaster " << BM_VERSION << ": distributed HTTP load testing\n\n"
      << "Usage: benchmaster COMMAND [options]   (or the command's own name, e.g. bench-run)\n\nCommands:\n";
  for (const auto& c : kCommands) out << "  " << c.name << std::string(14 - std::strlen(c.name), ' ') << c.summary << '\n';
  out << "\nEach command has --help. Documentation: README.md and docs/ in the source tree.\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string invoked = std::filesystem::path(argc > 0 ? argv[0] : "benchmaster").filename().string();
  for (const auto& c : kCommands) {
    if (invoked == c.alias) return c.run(bm::app::Args(argv + 1, argv + argc), c.alias);
  }
  if (argc < 2) return usage(std::cerr, 2);
  std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") return usage(std::cout, 0);
  if (first == "--version" || first == "-V") {
    std::cout << "benchmaster " << BM_VERSION << '\n';
    return 0;
  }
  for (const auto& c : kCommands) {
    if (first == c.name || first == c.alias) {
      return c.run(bm::app::Args(argv + 2, argv + argc), "benchmaster " + first);
    }
  }
  std::cerr << "benchmaster: unknown command '" << first << "' (see benchmaster --help)\n";
  return 2;
}
