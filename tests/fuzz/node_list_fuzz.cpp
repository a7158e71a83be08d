// Node lists: a nodes file (pssh's hosts format) and the --nodes option. Checks, besides
// the sanitizers: a refused list gets one line naming where; every node has a host (or
// is local) and a port in 0..65535; the number of nodes stays bounded by the multiplier
// limit; and an address's display() reads back as the same address.
#include "master/node_list.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace master = bm::master;

namespace {

void check(bool ok, const char* what, std::string_view text) {
  if (ok) return;
  fprintf(stderr, "node_list: %s (%.*s)\n", what, static_cast<int>(text.size()), text.data());
  abort();
}

void check_nodes(const std::optional<std::vector<master::NodeEntry>>& nodes, const std::string& error,
                 std::string_view input) {
  if (!nodes) {
    check(!error.empty(), "refused without a message", input);
    check(error.find('\n') == std::string::npos, "message of more than one line", input);
    return;
  }
  // Entries repeated by *K are alike: the first few hundred nodes say enough.
  for (size_t i = 0; i < nodes->size() && i < 300; ++i) {
    const master::NodeEntry& node = (*nodes)[i];
    const master::NodeAddress& a = node.address;
    check(a.local || !a.host.empty(), "a node without a host", input);
    check(a.port >= 0 && a.port <= 65535, "port out of range", input);
    // display() is the key that groups nodes, and what messages show: it brackets an
    // IPv6 address only before a port, so "user@::1" is shown as such and not read back.
    if (a.port == 0 && a.host.find(':') != std::string::npos) continue;
    std::string error_again;
    const std::string shown = a.display();
    const auto again = master::parse_node_entry(shown, &error_again);
    if (!again || again->size() != 1 || !(again->front().address == a)) {
      fprintf(stderr, "node_list: '%s' does not read back as the same node: %s\n", shown.c_str(), error_again.c_str());
      abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Many lines with "*10000" each would make millions of nodes, legitimately: the limit
  // is per entry, so keep inputs to a few entries' worth.
  if (size > 512) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string error;
  check_nodes(master::parse_nodes_text(input, "nodes.txt", &error), error, input);
  error.clear();
  // An entry and a --nodes value are one line (the file reader splits lines first).
  const std::string_view line = input.substr(0, input.find('\n'));
  check_nodes(master::parse_nodes_option(line, &error), error, line);
  error.clear();
  check_nodes(master::parse_node_entry(line, &error), error, line);
  return 0;
}
