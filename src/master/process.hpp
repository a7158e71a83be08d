#pragma once
// Child processes for the master's single event loop (Boost.Asio, C++20 coroutines):
// started with posix_spawn (no shell) in a process group of their own, so a Ctrl-C on
// the master's terminal reaches only the master, which then stops nodes in order; their
// pipes are non-blocking asio descriptors; one SIGCHLD handler reaps them all.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

namespace bm::master {

namespace asio = boost::asio;

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it holds no '/'
  std::vector<std::string> env;   // "NAME=value", added to the master's environment
};

// Waits for children. Every child must be watch()ed right after it is spawned, in the
// same handler, so that no exit can be missed.
class ChildReaper {
 public:
  explicit ChildReaper(asio::io_context& io);
  void watch(pid_t pid);
  // The child's wait status once it has exited (at once if it already has).
  asio::awaitable<int> wait(pid_t pid);
  bool running(pid_t pid) const;
  // Sends `sig` to the process group of every child still running (each leads its own).
  void signal_all(int sig);
  // Stops listening for SIGCHLD, so that the event loop can end.
  void close();

 private:
  struct State {
    bool done = false;
    int status = 0;
    std::shared_ptr<asio::steady_timer> waiter;
  };
  void arm();
  void reap();

  asio::io_context& io_;
  asio::signal_set signals_;
  std::map<pid_t, State> children_;
};

// A started child with pipes to its stdin, stdout and stderr.
struct Child {
  pid_t pid = -1;
  std::unique_ptr<asio::posix::stream_descriptor> in, out, err;
};

// nullopt with *error ("cannot start ssh: No such file or directory") when it fails.
std::optional<Child> spawn_child(asio::io_context& io, ChildReaper& reaper, const SpawnSpec& spec,
                                 std::string* error);

// What a short command did.
struct ProcessOutput {
  int status = 0;            // wait status
  std::string out, err;
  bool timed_out = false;
  std::string spawn_error;   // set when the child could not be started

  bool ok() const;            // started and exited with 0
  int exit_code() const;      // 128 + signal when killed, -1 when never started
  // One line: "exit 255: ssh: connect to host 127.0.0.1 port 9: Connection refused".
  std::string failure() const;
};

// Runs a command to the end: writes `input` to its stdin (then closes it), collects
// stdout and stderr; past `timeout` the child's process group is killed.
asio::awaitable<ProcessOutput> run_process(asio::io_context& io, ChildReaper& reaper, SpawnSpec spec,
                                           std::string input, std::chrono::milliseconds timeout);

// Reads until end of file, appending to *text (at most max_bytes kept). Never throws.
asio::awaitable<void> read_to_end(asio::posix::stream_descriptor& pipe, std::string* text,
                                  std::size_t max_bytes = std::size_t(64) << 20);

// Human form of a wait status: "exit 2", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

// The last non-empty line of some process output, trimmed ("" when none).
std::string last_line(const std::string& text);
// The last such line that is not a warning (": warning: "): why a program failed, though
// it warned of something after; the last line when every line is a warning.
std::string last_error_line(const std::string& text);

}  // namespace bm::master
