#pragma once
// The master's end of one host's agent (`bench-node --agent`, agent/host_agent.hpp): one
// session (for an SSH host, one local `ssh` process over the host's ControlMaster) that
// starts every node process of that host and carries their standard streams as frames
// (agent/agent_frames.hpp). The master then holds one process and three pipes per host,
// and the host starts one remote shell, however many node processes it runs.

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/agent_frames.hpp"
#include "master/process.hpp"

namespace bm::master {

class AgentSession {
 public:
  struct NodeEvents {
    // The node's process id there.
    std::function<void(long long pid)> started;
    // Bytes from its standard output (heartbeats included) or its standard error.
    std::function<void(std::string_view bytes, bool is_stdout)> output;
    // It has ended: its wait status; or nullopt with why it is lost (not started, or the
    // session ended before it did).
    std::function<void(std::optional<int> status, const std::string& why)> ended;
  };

  AgentSession(asio::io_context& io, ChildReaper& reaper) : io_(io), reaper_(reaper) {}
  AgentSession(const AgentSession&) = delete;
  AgentSession& operator=(const AgentSession&) = delete;
  ~AgentSession();

  // Starts the session's local process (`spec`: the transport's command for the agent);
  // false with *error when it cannot be started.
  bool start(const SpawnSpec& spec, std::string* error);
  // Reads the agent's frames until the session ends; then every node that has not
  // ended is lost. Run it once, after start().
  asio::awaitable<void> run();

  void start_node(int num, const agent::StartRequest& request, NodeEvents events);
  // Bytes for the node's standard input (nothing once it has ended).
  void send(int num, std::string_view bytes);
  void close_input(int num);
  // "TERM", "KILL" or "CONT" to the node's process group there.
  void signal(int num, std::string_view name);
  // Copies `remote` (a path on the host) to `local` through the agent: written beside it,
  // then renamed into place. Empty when it arrived, else why not (and no file).
  asio::awaitable<std::string> fetch(const std::string& remote, const std::filesystem::path& local,
                                     std::chrono::milliseconds timeout);
  // Ends the session's input once what is queued is written: the agent closes every
  // node's input (each stops, keeping its results) and exits after the last.
  void end();
  // SIGKILL to the local process of the session: the nodes still running are lost (the
  // agent, its input gone, stops them there).
  void kill();

  // run() has returned: the session is over.
  bool over() const { return over_; }
  // The last line the session's process wrote on its standard error (ssh's complaint).
  std::string last_error_line() const;

 private:
  void queue(std::string frame);
  asio::awaitable<void> write_queued();
  asio::awaitable<void> read_errors();
  void on_frame(const agent::Frame& frame);
  struct Fetch {
    std::filesystem::path part, local;
    int fd = -1;
    std::string error;
    bool done = false;
    std::shared_ptr<asio::steady_timer> signal;
  };
  void on_file_frame(const agent::Frame& frame);
  void finish_fetch(int id, std::string error);
  void lose_all(const std::string& why);

  asio::io_context& io_;
  ChildReaper& reaper_;
  std::optional<Child> child_;
  agent::FrameReader reader_;
  std::map<int, NodeEvents> nodes_;  // started and not ended
  std::map<int, std::shared_ptr<Fetch>> fetches_;  // under way
  int next_fetch_ = 0;
  std::deque<std::string> queued_;
  bool writing_ = false;
  bool ending_ = false;
  bool over_ = false;
  std::string error_tail_;
};

}  // namespace bm::master
