#pragma once
// The list of bench nodes: a nodes file in pssh's hosts format (as Bench Master used),
// --nodes entries, or the default single local node.
//
// One entry a line (or a comma-separated --nodes item):
//   host[:port] [user]        pssh's form
//   [user@]host[:port]        ssh's form; IPv6 addresses in brackets: [::1]:2222
//   local                     a node process on the master's machine, without SSH
//   ...*K                     K node processes on that host, e.g. web1*4, local*2
// '#' starts a comment; blank lines are skipped. A repeated host is several nodes on it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bm::master {

struct NodeAddress {
  bool local = false;
  std::string user;  // empty: ssh's default (or the ssh config's)
  std::string host;  // without brackets
  int port = 0;      // 0: ssh's default

  // "local", "host", "user@host:port", "[::1]:22": also the key that groups the nodes
  // sharing one SSH connection.
  std::string display() const;
  friend bool operator==(const NodeAddress&, const NodeAddress&) = default;
};

struct NodeEntry {
  NodeAddress address;
  std::string origin;  // "nodes.txt:3" or "--nodes item 2", for error messages
};

// One entry (without comment), expanded by its *K multiplier. nullopt with *error
// (without location) when malformed.
std::optional<std::vector<NodeEntry>> parse_node_entry(std::string_view text, std::string* error);

// A whole nodes file; errors read "nodes.txt:3: ...".
std::optional<std::vector<NodeEntry>> parse_nodes_text(std::string_view text, std::string_view source,
                                                       std::string* error);
std::optional<std::vector<NodeEntry>> read_nodes_file(const std::string& path, std::string* error);

// --nodes "a,b*2,user@c:2222"; errors read "--nodes: item 2: ...".
std::optional<std::vector<NodeEntry>> parse_nodes_option(std::string_view list, std::string* error);

}  // namespace bm::master
