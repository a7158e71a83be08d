#pragma once
// Internal to bench-master (src/master/master*.cpp): one run's state and steps. The
// orchestration is in master.cpp, the cycle barrier in master_barrier.cpp, collecting,
// merging and the exit code in master_finish.cpp.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "master/agent_session.hpp"
#include "master/live_status.hpp"
#include "master/master.hpp"
#include "master/workspace.hpp"
#include "protocol/node_protocol.hpp"
#include "stats/merge.hpp"
#include "stats/merge_plan.hpp"
#include "stats/results.hpp"

namespace bm::master::run_detail {

namespace fs = std::filesystem;
using asio::use_awaitable;
using namespace std::chrono_literals;

inline int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string host_name() {
  char buffer[256] = {};
  ::gethostname(buffer, sizeof buffer - 1);
  return buffer;
}

// The private folders (tailored confs, ControlMaster sockets) of masters that died
// without cleaning up: their master.pid names a process that is gone. A folder being
// made right now (no pid file yet) is left alone.
inline void remove_abandoned_private_dirs() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("bench-master-", 0) != 0 || name.size() != 19 || !entry.is_directory(ec)) continue;
    struct stat info {};
    if (::stat(entry.path().c_str(), &info) != 0 || info.st_uid != ::getuid()) continue;
    std::ifstream owner(entry.path() / "master.pid");
    long long pid = 0;
    if (!(owner >> pid) || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    fs::remove_all(entry.path(), ec);
  }
}

inline void rethrow(std::exception_ptr error) {
  if (error) std::rethrow_exception(error);
}

// Counts running coroutines; wait() returns when the count is back to zero.
class WaitGroup {
 public:
  explicit WaitGroup(asio::io_context& io) : timer_(io, asio::steady_timer::time_point::max()) {}
  void add() { ++count_; }
  void done() {
    if (--count_ == 0) timer_.cancel();
  }
  int count() const { return count_; }
  asio::awaitable<void> wait() {
    while (count_ > 0) {
      boost::system::error_code ec;
      timer_.expires_at(asio::steady_timer::time_point::max());
      co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    }
  }

 private:
  int count_ = 0;
  asio::steady_timer timer_;
};

// At most `limit` holders at once (the -p bound on SSH steps that start at any time,
// such as collecting a host's results when its nodes end).
class Lanes {
 public:
  Lanes(asio::io_context& io, int limit) : io_(io), free_(std::max(1, limit)) {}
  asio::awaitable<void> acquire() {
    while (free_ == 0) {
      auto waiter = std::make_shared<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
      waiters_.push_back(waiter);
      boost::system::error_code ec;
      co_await waiter->async_wait(asio::redirect_error(use_awaitable, ec));
    }
    --free_;
  }
  void release() {
    ++free_;
    if (!waiters_.empty()) {
      waiters_.front()->cancel();
      waiters_.pop_front();
    }
  }

 private:
  asio::io_context& io_;
  int free_;
  std::deque<std::shared_ptr<asio::steady_timer>> waiters_;
};

// Runs step(item) for every item, at most `limit` at once.
template <class T, class Step>
asio::awaitable<void> for_each_bounded(asio::io_context& io, std::vector<T*> items, int limit, Step step) {
  std::size_t next = 0;
  WaitGroup group(io);
  const int lanes = std::max(1, std::min<int>(limit, static_cast<int>(items.size())));
  for (int lane = 0; lane < lanes; ++lane) {
    group.add();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          while (next < items.size()) co_await step(*items[next++]);
          group.done();
        },
        rethrow);
  }
  co_await group.wait();
}

// A node's out/ or err/ file: bytes are appended as they arrive. Opened for each write
// and closed after it, so the master holds no descriptor per node (a few writes a second
// per node: an open and a close each cost microseconds). After a write error (a full
// disk) the master warns once and keeps draining the node's output.
class OutputFile {
 public:
  OutputFile(fs::path path, std::ostream& warnings) : path_(std::move(path)), warnings_(warnings) {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      fail(errno);
    } else {
      ::close(fd);
    }
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(std::string_view bytes) {
    if (failed_ || bytes.empty()) return;
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return fail(errno);
    while (!bytes.empty()) {
      ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int error = n < 0 ? errno : ENOSPC;
        ::close(fd);
        return fail(error);
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    ::close(fd);
  }
  bool failed() const { return failed_; }

 private:
  void fail(int error) {
    failed_ = true;
    warnings_ << fmt::format("warning: cannot write {}: {} (that output is dropped; the run goes on)\n",
                             path_.string(), std::strerror(error))
              << std::flush;
  }

  fs::path path_;
  std::ostream& warnings_;
  bool failed_ = false;
};

struct Node;

struct Host {
  int index = 0;  // in the order of first appearance in the nodes list
  NodeAddress address;
  std::unique_ptr<Transport> transport;
  std::vector<Node*> nodes;
  std::string error;    // why this host's nodes cannot run
  std::string program;  // the node program there
  int64_t clock_offset_us = 0;
  int64_t clock_rtt_us = -1;
  bool same_kernel = false;           // it runs on the master's machine: one clock, offset exactly 0
  int64_t spawn_us = -1;              // from starting the node program (--clock) to its first word
  std::vector<Node*> to_collect;      // ended nodes whose results are still there
  bool collecting = false;            // a collect_host() runs for it
  std::unique_ptr<AgentSession> agent;  // SSH hosts: the one session that runs its nodes
  std::string agent_error;              // why it could not be started
};

enum class NodePhase { pending, ready, running, finished, failed };

struct Node {
  int num = 0;
  NodeEntry entry;
  Host* host = nullptr;
  NodePhase phase = NodePhase::pending;
  std::string message;  // why it failed, or how it ended
  std::string folder;   // on the node
  std::optional<Child> child;  // its own process (local, or ssh); not under a host agent
  bool via_agent = false;      // runs under its host's agent
  bool agent_ended = false;    // ... which said it ended, or lost it
  std::optional<int> agent_status;  // its wait status from the agent; nullopt: lost (lost_reason)
  std::string lost_reason;
  std::shared_ptr<asio::steady_timer> agent_wait;  // supervise() waits on it for agent_ended
  long long node_pid = 0;  // as the node printed it
  bool started = false;
  int wait_status = 0;
  std::unique_ptr<OutputFile> out, err;
  std::string pending_line;
  std::string error_tail;  // the end of its stderr, for messages
  std::optional<stats::Results> results;  // brought back, not yet folded into the merge
  std::string collect_error;
  bool settled = false;     // its results are in, or will never be: the merge need not wait for it
  bool merged = false;      // its results are folded into the merge
  bool ran_through = false; // ... and it finished every cycle
  int cycles_done = 0;               // cycles it has drained (@cycle-done)
  int64_t last_drain_end_us = 0;     // when the last of them ended, master clock
  int released_to = 0;               // the highest cycle it was told to start (cycle 0: --start-at)
  std::optional<int> reported_exit;  // @exit from the remote shell: how the node itself ended
  std::map<int, stats::CycleResults> cycle_reports;  // @cycle-results by cycle index (--abort-on-fail)
  bool hung = false;       // silent (see hung_reason): stopped
  std::string hung_reason;  // "no heartbeat for 10 s", "silent for 60 s after another node had finished"
  std::chrono::steady_clock::time_point last_output;  // its last byte on stdout or stderr, heartbeats aside
  std::chrono::steady_clock::time_point last_heard;   // its last byte, heartbeats included
  asio::steady_timer* stop_wait = nullptr;  // stop_hung()'s wait, ended early when the node ends

  std::string name() const { return fmt::format("node {} ({})", num, entry.address.display()); }
};

struct ClockSample {
  int64_t offset_us = 0;
  int64_t rtt_us = -1;
};

class MasterRun {
 public:
  MasterRun(const MasterOptions& options, std::ostream& out, std::ostream& err)
      : options_(options), out_(out), err_(err), reaper_(io_), signals_(io_, SIGINT, SIGTERM) {}

  int run();

 private:
  asio::awaitable<void> main();
  asio::awaitable<void> prepare_host(Host& host);
  asio::awaitable<StepResult> measure_clock(Host& host);
  asio::awaitable<StepResult> push_program(Host& host);
  asio::awaitable<void> prepare_push();
  asio::awaitable<void> set_up_nodes(Host& host);
  std::string stage_node(const Node& node, const fs::path& folder);
  int64_t start_margin_us() const;
  asio::awaitable<void> wait_until_up();
  void start_node(Node& node);
  asio::awaitable<void> supervise(Node& node, WaitGroup& group);
  asio::awaitable<void> pump(Node& node, asio::posix::stream_descriptor& pipe, bool is_stdout);
  // Bytes from a node's standard output or error (its pipe, or its host agent's frames).
  void on_node_output(Node& node, char* data, std::size_t size, bool is_stdout);
  // SSH hosts (unless --session-per-node): one agent session each, before their nodes.
  void start_agents();
  void start_node_via_agent(Node& node, const NodeCommand& command);
  // Asks a running node to stop (SIGTERM, SIGCONT; else its input is closed); ends one at
  // once (SIGKILL; under an agent, the agent's session too if the node is still there
  // a few seconds later: a frozen host).
  asio::awaitable<void> ask_to_stop(Node& node);
  void kill_node(Node& node);
  asio::awaitable<void> kill_session_if_still_running(Node& node);
  // Once every node has ended: each agent session is ended and waited for.
  asio::awaitable<void> end_agents();
  void on_output_line(Node& node, std::string_view line);
  asio::awaitable<void> show_status();
  asio::awaitable<void> stop_nodes(bool kill_now);
  // Results are fetched as nodes end: one session per host at a time (at most -p hosts
  // at once) takes every node of it that has ended, and each file is folded into the
  // merge in node order as soon as the nodes before it are settled.
  void queue_collection(Node& node);
  asio::awaitable<void> collect_host(Host& host);
  void fold_ready_results();
  void wait_for_signals();
  int finish();
  // The tests' seam for faults in the master's last phases: with BM_TEST_PAUSE_AT=<phase>
  // (collect, merge, report) the master stops itself (SIGSTOP) as that phase begins, for
  // a test to signal or kill it there.
  static void pause_here_for_tests(std::string_view phase);
  stats::MergePlan merge_plan() const;
  void write_merge_plan();
  void remove_empty_layout();

  void say(const std::string& line);
  void fail_node(Node& node, std::string message);
  // The cycle barrier: the next cycle starts on every node at once, when each running
  // node has drained the one before, or when the barrier timeout passes.
  void on_cycle_done(Node& node, const protocol::CycleDone& done);
  struct Readiness {
    std::vector<Node*> ready, draining;  // running nodes that have drained the cycle before, or not yet
    int64_t last_drain_end_us = 0;       // the latest drain end among the ready, master clock
  };
  Readiness readiness(int cycle);
  void release(int cycle, const Readiness& readiness);
  void check_barrier();
  asio::awaitable<void> barrier_timeout(int cycle);
  // The end of the run: once a node has finished it, another that stays silent (no
  // output) for --hang-timeout is hung (SIGSTOP, stuck) and is stopped.
  void check_run_end();
  asio::awaitable<void> run_end_timeout();
  asio::awaitable<void> stop_hung(Node& node);
  // Any time after @node: a node that misses its heartbeat for --heartbeat-timeout is
  // stopped, so a run whose every node hangs still ends.
  asio::awaitable<void> watch_heartbeats();
  void send_go(Node& node, int cycle, int64_t start_master_us);
  // One protocol line to the node's standard input (nothing if it is closed).
  void send_line(Node& node, const std::string& line);
  // --abort-on-fail: why `cycle` (merged over the ready nodes' reports) fails a per-cycle
  // threshold, or empty.
  std::string judge_cycle(int cycle, const Readiness& readiness);
  // Tells every running node to finish after the cycle it ended (@end).
  void end_run(const std::string& reason);
  int64_t go_margin_us() const;
  NodeCounts counts() const;
  std::vector<Node*> nodes_in(NodePhase phase);

  const MasterOptions& options_;
  std::ostream& out_;
  std::ostream& err_;
  asio::io_context io_;
  ChildReaper reaper_;
  asio::signal_set signals_;
  asio::steady_timer grace_{io_};  // how long stopping nodes may take
  asio::steady_timer tick_{io_};   // the live status line's refresh
  asio::steady_timer up_{io_};     // woken when a node says @node or ends (wait_until_up)
  std::map<std::string, Host> hosts_;
  std::vector<Node> nodes_;
  Lanes collect_lanes_{io_, options_.parallel};
  WaitGroup collectors_{io_};
  WaitGroup agents_{io_};  // agent sessions whose run() has not returned
  std::optional<stats::ResultsMerger> merger_;
  std::size_t next_fold_ = 0;  // the first node not yet folded into the merge (or skipped)
  std::string merge_error_;
  fs::path push_file_;         // --push: the (stripped) copy of this program sent to each host
  std::string push_program_;   // ... and where it goes on each host
  std::optional<TestBundle> bundle_;
  MasterLayout layout_;
  fs::path private_dir_;  // ControlMaster sockets and tailored confs
  int64_t planned_start_us_ = 0;
  int released_cycle_ = 0;                 // the highest cycle the barrier has released
  std::map<int, int64_t> cycle_starts_us_;  // the start time it gave each, master clock
  asio::steady_timer barrier_timer_{io_};
  int barrier_timer_cycle_ = -1;           // the cycle whose timer runs
  asio::steady_timer run_end_timer_{io_};  // check_run_end()
  bool run_end_timer_started_ = false;
  asio::steady_timer heartbeat_timer_{io_};  // watch_heartbeats()
  std::optional<LiveStatus> live_;
  int interrupts_ = 0;
  bool running_phase_ = false;
  bool collecting_phase_ = false;  // every node has ended: the last files, the merge, the report
  int late_interrupts_ = 0;        // Ctrl-C in that phase
  bool stopping_ = false;
  std::string stop_reason_;  // a threshold failed and ended the run (--abort-on-fail)
  bool require_all_tripped_ = false;
  bool status_shown_ = false;
  bool tty_ = ::isatty(STDOUT_FILENO) == 1;
  int exit_code_ = kExitOk;
};


}  // namespace bm::master::run_detail
