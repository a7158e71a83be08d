#include "agent/host_agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "agent/agent_frames.hpp"

extern char** environ;

namespace bm::agent {

namespace {

// One node process and the agent's ends of its pipes (-1 once closed).
struct NodeProcess {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
  std::string pending_in;         // bytes for its input that its pipe did not take yet
  bool close_after_pending = false;
  bool exited = false;
  std::chrono::steady_clock::time_point exited_at;
  int status = 0;
  bool ended_sent = false;
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int signal_number(std::string_view name) {
  if (name == "TERM") return SIGTERM;
  if (name == "KILL") return SIGKILL;
  if (name == "CONT") return SIGCONT;
  return 0;
}

class Agent {
 public:
  Agent(int in_fd, int out_fd) : in_fd_(in_fd), out_fd_(out_fd) {}

  int run() {
    sigset_t watched;
    sigemptyset(&watched);
    for (int sig : {SIGCHLD, SIGTERM, SIGHUP, SIGINT}) sigaddset(&watched, sig);
    ::pthread_sigmask(SIG_BLOCK, &watched, nullptr);
    ::signal(SIGPIPE, SIG_IGN);  // a master gone is a failed write, not the agent's end
    signal_fd_ = ::signalfd(-1, &watched, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd_ < 0) {
      std::cerr << "bench-node --agent: cannot watch signals: " << std::strerror(errno) << std::endl;
      return 1;
    }
    emit(FrameKind::agent, 0, std::to_string(::getpid()));
    while (input_open_ || !all_ended()) {
      poll_once();
      send_endings();
    }
    close_fd(signal_fd_);
    return exit_code_;
  }

 private:
  bool all_ended() const {
    for (const auto& [num, node] : nodes_) {
      if (!node.ended_sent) return false;
    }
    return true;
  }

  // One frame to the master; after a failed write (the master is gone) nothing more is
  // sent, and every node is told the input ended.
  void emit(FrameKind kind, int node, std::string_view text) {
    if (!output_ok_) return;
    const std::string frame = encode_frame(kind, node, text);
    std::string_view rest = frame;
    while (!rest.empty()) {
      const ssize_t n = ::write(out_fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        output_ok_ = false;
        end_input();
        return;
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // The master's input has ended (or is not to be trusted): each node's input is closed,
  // which stops it (--stop-on-eof), keeping what it finished.
  void end_input() {
    input_open_ = false;
    for (auto& [num, node] : nodes_) {
      node.pending_in.clear();
      close_fd(node.in);
    }
  }

  void signal_all(int sig) {
    for (auto& [num, node] : nodes_) {
      if (!node.exited) ::kill(-node.pid, sig);
    }
  }

  void poll_once() {
    std::vector<pollfd> fds;
    std::vector<std::pair<int, int>> owners;  // (node, which: 0 in, 1 out, 2 err) per entry after the first two
    fds.push_back({signal_fd_, POLLIN, 0});
    fds.push_back({input_open_ ? in_fd_ : -1, POLLIN, 0});
    for (auto& [num, node] : nodes_) {
      if (node.in >= 0 && !node.pending_in.empty()) {
        fds.push_back({node.in, POLLOUT, 0});
        owners.emplace_back(num, 0);
      }
      if (node.out >= 0) {
        fds.push_back({node.out, POLLIN, 0});
        owners.emplace_back(num, 1);
      }
      if (node.err >= 0) {
        fds.push_back({node.err, POLLIN, 0});
        owners.emplace_back(num, 2);
      }
    }
    if (::poll(fds.data(), fds.size(), poll_timeout_ms()) < 0) return;  // EINTR: again
    if (fds[0].revents != 0) on_signals();
    if (fds[1].revents != 0) read_input();
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const auto [num, which] = owners[i - 2];
      NodeProcess& node = nodes_[num];
      if (which == 0) {
        flush_input(num, node);
      } else {
        forward_output(num, which == 1 ? node.out : node.err, which == 1 ? FrameKind::out : FrameKind::err);
      }
    }
  }

  void on_signals() {
    signalfd_siginfo info{};
    bool child = false;
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (info.ssi_signo == SIGCHLD) {
        child = true;
      } else {
        // Asked to end (sshd, the master's kill, Ctrl-C on a terminal): the nodes stop
        // as on the master's stop request, and the agent ends after them.
        signal_all(SIGTERM);
        signal_all(SIGCONT);
        end_input();
      }
    }
    if (!child) return;
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      for (auto& [num, node] : nodes_) {
        if (node.pid == pid) {
          node.exited = true;
          node.exited_at = std::chrono::steady_clock::now();
          node.status = status;
        }
      }
    }
  }

  void read_input() {
    char buffer[65536];
    const ssize_t n = ::read(in_fd_, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      end_input();
      return;
    }
    reader_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    while (std::optional<Frame> frame = reader_.next()) on_frame(*frame);
    if (!reader_.error().empty()) {
      std::cerr << "bench-node --agent: " << reader_.error() << "; stopping every node" << std::endl;
      exit_code_ = 2;
      end_input();
    }
  }

  void on_frame(const Frame& frame) {
    auto found = nodes_.find(frame.node);
    NodeProcess* node = found == nodes_.end() ? nullptr : &found->second;
    switch (frame.kind) {
      case FrameKind::start:
        start_node(frame.node, frame.text);
        return;
      case FrameKind::in:
        if (node && node->in >= 0) {
          node->pending_in.append(frame.text);
          flush_input(frame.node, *node);
        }
        return;
      case FrameKind::close:
        if (node) {
          node->close_after_pending = true;
          if (node->pending_in.empty()) close_fd(node->in);
        }
        return;
      case FrameKind::signal:
        if (const int sig = signal_number(frame.text); node && sig != 0 && !node->exited) ::kill(-node->pid, sig);
        return;
      case FrameKind::fetch:
        send_file(frame.node, frame.text);
        return;
      default:
        std::cerr << "bench-node --agent: a frame the agent does not take: " << frame_word(frame.kind) << std::endl;
        return;
    }
  }

  void start_node(int num, std::string_view json) {
    if (nodes_.contains(num)) {
      emit(FrameKind::not_started, num, fmt::format("node {} was started already", num));
      return;
    }
    std::string error;
    const std::optional<StartRequest> request = parse_start(json, &error);
    if (!request) {
      emit(FrameKind::not_started, num, error);
      return;
    }
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return not_started(num, "cannot make a pipe", errno);
    if (::pipe2(out, O_CLOEXEC) != 0) {
      const int e = errno;
      ::close(in[0]), ::close(in[1]);
      return not_started(num, "cannot make a pipe", e);
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
      const int e = errno;
      ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
      return not_started(num, "cannot make a pipe", e);
    }
    // Its environment: the agent's, with the request's variables set.
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      const std::string_view name = entry.substr(0, entry.find('='));
      bool replaced = false;
      for (const auto& [set_name, value] : request->env) replaced = replaced || set_name == name;
      if (!replaced) env_text.emplace_back(entry);
    }
    for (const auto& [name, value] : request->env) env_text.push_back(name + "=" + value);
    std::vector<char*> envp, argv;
    for (std::string& entry : env_text) envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::vector<std::string> words = request->argv;
    for (std::string& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own process group (signals reach it and nothing else); the signals the agent
    // blocks or ignores are the defaults again there.
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attributes, 0);
    sigset_t none;
    sigemptyset(&none);  // not the agent's: it blocks the signals it reads from signalfd
    posix_spawnattr_setsigmask(&attributes, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGCHLD, SIGTERM, SIGHUP, SIGINT, SIGPIPE}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    pid_t pid = -1;
    const int spawned = ::posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(in[0]), ::close(out[1]), ::close(err[1]);
    if (spawned != 0) {
      ::close(in[1]), ::close(out[0]), ::close(err[0]);
      return not_started(num, fmt::format("cannot start {}", words[0]), spawned);
    }
    NodeProcess& node = nodes_[num];
    node.pid = pid;
    node.in = in[1];
    node.out = out[0];
    node.err = err[0];
    for (int fd : {node.in, node.out, node.err}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (!input_open_) close_fd(node.in);  // started as the master left: it stops at once
    emit(FrameKind::started, num, std::to_string(pid));
  }

  // A file the master fetches (a node's results), in frames of at most kMaxFrameData.
  // Read here at once: a local file, while the nodes' output waits in their pipes.
  void send_file(int fetch, std::string_view json) {
    const std::optional<std::string> path = parse_fetch(json);
    if (!path) {
      emit(FrameKind::file_error, fetch, "a fetch request the agent cannot read");
      return;
    }
    const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      emit(FrameKind::file_error, fetch, fmt::format("cannot read {}: {}", *path, std::strerror(errno)));
      return;
    }
    std::string buffer(kMaxFrameData, '\0');
    while (output_ok_) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        emit(FrameKind::file_error, fetch, fmt::format("cannot read {}: {}", *path, std::strerror(errno)));
        break;
      }
      if (n == 0) {
        emit(FrameKind::file_end, fetch, {});
        break;
      }
      emit(FrameKind::file, fetch, std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    }
    ::close(fd);
  }

  void not_started(int num, const std::string& what, int error_number) {
    emit(FrameKind::not_started, num, fmt::format("{}: {}", what, std::strerror(error_number)));
  }

  void flush_input(int /*num*/, NodeProcess& node) {
    while (node.in >= 0 && !node.pending_in.empty()) {
      const ssize_t n = ::write(node.in, node.pending_in.data(), node.pending_in.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // when its pipe has room
      if (n <= 0) {  // it closed its input or ended: nothing more reaches it
        node.pending_in.clear();
        close_fd(node.in);
        return;
      }
      node.pending_in.erase(0, static_cast<std::size_t>(n));
    }
    if (node.close_after_pending) close_fd(node.in);
  }

  // What a pipe holds now is sent, then it is closed (non-blocking: nothing is waited for).
  void drain_now(int num, int& fd, FrameKind kind) {
    while (fd >= 0) {
      char buffer[65536];
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      emit(kind, num, std::string_view(buffer, static_cast<std::size_t>(n)));
    }
    close_fd(fd);
  }

  void forward_output(int num, int& fd, FrameKind kind) {
    char buffer[65536];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      close_fd(fd);
      return;
    }
    emit(kind, num, std::string_view(buffer, static_cast<std::size_t>(n)));
  }

  // A process the node left behind may hold its output open after it exited: past this
  // grace, what it wrote so far is sent and the node has ended.
  static constexpr std::chrono::milliseconds kOutputGrace{2000};

  // Until the next exited node's grace ends, or -1: no such node.
  int poll_timeout_ms() const {
    int timeout = -1;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& [num, node] : nodes_) {
      if (node.ended_sent || !node.exited || (node.out < 0 && node.err < 0)) continue;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(node.exited_at + kOutputGrace - now);
      const int ms = static_cast<int>(std::max<int64_t>(0, left.count()) + 1);
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    }
    return timeout;
  }

  // A node has ended once it exited and both its outputs are read to their end (or its
  // grace has passed): its last bytes reach the master before the word that it ended.
  void send_endings() {
    const auto now = std::chrono::steady_clock::now();
    for (auto& [num, node] : nodes_) {
      if (node.ended_sent || !node.exited) continue;
      if ((node.out >= 0 || node.err >= 0) && now - node.exited_at >= kOutputGrace) {
        drain_now(num, node.out, FrameKind::out);
        drain_now(num, node.err, FrameKind::err);
      }
      if (node.out >= 0 || node.err >= 0) continue;
      node.ended_sent = true;
      close_fd(node.in);
      emit(FrameKind::ended, num, std::to_string(node.status));
    }
  }

  int in_fd_, out_fd_;
  int signal_fd_ = -1;
  bool input_open_ = true;
  bool output_ok_ = true;
  int exit_code_ = 0;
  FrameReader reader_;
  std::map<int, NodeProcess> nodes_;
};

}  // namespace

int run_host_agent(int in_fd, int out_fd) {
  Agent agent(in_fd, out_fd);
  return agent.run();
}

}  // namespace bm::agent
