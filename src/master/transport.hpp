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
  // ssh: the remote shell stays to say how the program ended (@exit); else it becomes
  // the program (exec), whose output is then all its own (the host agent's frames).
  bool report_exit = true;
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
  // Whether the host's node processes run under one host agent (`bench-node --agent` in
  // one spawn_spec session) rather than one session each: what the ssh transport does.
  virtual bool runs_host_agent() const { return false; }
  virtual asio::awaitable<StepResult> make_dir(const std::string& path) = 0;
  // Removes a file or folder tree if it exists (rm -rf).
  virtual asio::awaitable<StepResult> remove_tree(const std::string& path) = 0;
  // Copies a local file to `remote` (written beside it, then renamed into place).
  virtual asio::awaitable<StepResult> put_file(const std::filesystem::path& local, const std::string& remote,
                                               bool executable) = 0;
  // Copies `remote` to `local` (written beside it, then renamed into place).
  virtual asio::awaitable<StepResult> get_file(const std::string& remote, const std::filesystem::path& local) = 0;
  // Lays out the folders of this host's nodes in one step. `stage` (on the master) holds
  // one folder per name in `folders` (node-<i>, symbolic links followed); each replaces
  // the folder of that name under `parent` on the node as a whole, so a failure leaves
  // the node's earlier folder or none, never part of one. Returns one error per folder,
  // empty when it is in place. The default copies file by file (put_file), without
  // that guarantee; the local and ssh transports keep it.
  virtual asio::awaitable<std::vector<std::string>> lay_out(const std::filesystem::path& stage,
                                                            const std::string& parent,
                                                            const std::vector<std::string>& folders);
  // Copies each remote[i] to local[i] (written beside it, then renamed into place), in
  // one step where the transport can (ssh: one session). One error per file, empty when
  // it arrived. The default calls get_file for each.
  virtual asio::awaitable<std::vector<std::string>> get_files(const std::vector<std::string>& remote,
                                                              const std::vector<std::filesystem::path>& local);
  // Whether `path` on the node is an executable file (--push skips a copy already there).
  virtual asio::awaitable<bool> has_executable(const std::string& path);
  // Asks the node process `pid` (as the node printed it) to stop: SIGTERM, then SIGCONT
  // so that a stopped (SIGSTOP, hung) process gets it too.
  virtual asio::awaitable<StepResult> terminate(long long pid) = 0;
  // Ends the node process `pid` at once: SIGKILL.
  virtual asio::awaitable<StepResult> kill(long long pid) = 0;
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

// The POSIX shell script that lays out `folders` under `parent` from a tar stream on its
// standard input (Transport::lay_out): extracted into a temporary folder beside them,
// then each moved into place; one line per folder: "@laid-out NAME" or "@not-laid-out
// NAME". The stream must end with an empty file named kLayOutEnd: GNU tar takes an
// archive cut at a block boundary for a whole one (exit 0), so the script moves
// nothing unless that last entry arrived. Every path is quoted by shell_quote.
inline constexpr const char* kLayOutEnd = ".set-up-end";
std::string lay_out_script(const std::string& parent, const std::vector<std::string>& folders);
// Per folder, the error its line in the script's output says ("" when laid out);
// `failure` for the folders without a line.
std::vector<std::string> lay_out_errors(const std::string& output, const std::vector<std::string>& folders,
                                        const std::string& failure);

// The remote shell's command line for `command`: variables set by env(1), then the
// program; every word quoted by shell_quote.
std::string remote_command_line(const NodeCommand& command);

// control_dir: a private (0700) folder for the ControlMaster sockets.
std::unique_ptr<Transport> make_ssh_transport(Runtime runtime, NodeAddress address, SshSettings settings,
                                              std::filesystem::path control_dir);

}  // namespace bm::master
