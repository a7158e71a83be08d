#pragma once
// How the master reaches a node: the `local` transport runs node processes as its own
// children; the `ssh` transport runs them through the system OpenSSH client over one
// multiplexed connection per host. Everything else in the master is the same for both.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "master/node_list.hpp"
#include "master/process.hpp"

namespace bm::master {

// The master's event loop and its child reaper, shared by every transport.
struct Runtime {
  asio::io_context& io;
  ChildReaper& reaper;
};

struct StepResult {
  std::string error;  // empty: done
  bool ok() const { return error.empty(); }
};

// A program to run on a node, with variables set in its environment.
struct NodeCommand {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // "local" or the SSH destination, e.g. "bench@web1:2222".
  virtual std::string describe() const = 0;
  // Reaches the node (SSH: opens the connection every later step reuses).
  virtual asio::awaitable<StepResult> open() = 0;
  // The local process that runs `command` on the node, its stdio connected to ours.
  virtual SpawnSpec spawn_spec(const NodeCommand& command) const = 0;
  virtual asio::awaitable<StepResult> make_dir(const std::string& path) = 0;
  // Removes a file or folder tree if it exists (rm -rf).
  virtual asio::awaitable<StepResult> remove_tree(const std::string& path) = 0;
  // Copies a local file to `remote` (written beside it, then renamed into place).
  virtual asio::awaitable<StepResult> put_file(const std::filesystem::path& local, const std::string& remote,
                                               bool executable) = 0;
  // Copies `remote` to `local` (written beside it, then renamed into place).
  virtual asio::awaitable<StepResult> get_file(const std::string& remote, const std::filesystem::path& local) = 0;
  // Asks the node process `pid` (as the node printed it) to stop: SIGTERM.
  virtual asio::awaitable<StepResult> terminate(long long pid) = 0;
  // Ends the connection (SSH: stops its ControlMaster). Idempotent.
  virtual asio::awaitable<void> close() = 0;
};

std::unique_ptr<Transport> make_local_transport(Runtime runtime);

struct SshSettings {
  std::string identity_file;      // -i
  std::string config_file;        // -F
  std::string known_hosts_file;   // -o UserKnownHostsFile=
  std::vector<std::string> extra_options;  // each passed as -o OPTION, before ours (they win)
  bool accept_new_host_keys = false;       // StrictHostKeyChecking=accept-new instead of yes
  int connect_timeout_s = 10;
  std::chrono::milliseconds step_timeout{60'000};  // one copy or command
};

// The ssh and its options every step of this destination uses (without the command).
std::vector<std::string> ssh_base_arguments(const NodeAddress& address, const SshSettings& settings,
                                            const std::filesystem::path& control_dir);

// The remote shell's command line for `command`: variables set by env(1), then the
// program; every word quoted by shell_quote.
std::string remote_command_line(const NodeCommand& command);

// control_dir: a private (0700) folder for the ControlMaster sockets.
std::unique_ptr<Transport> make_ssh_transport(Runtime runtime, NodeAddress address, SshSettings settings,
                                              std::filesystem::path control_dir);

}  // namespace bm::master
