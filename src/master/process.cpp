#include "master/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

extern char** environ;

namespace bm::master {

using asio::use_awaitable;

ChildReaper::ChildReaper(asio::io_context& io) : io_(io), signals_(io, SIGCHLD) { arm(); }

void ChildReaper::arm() {
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap();
    arm();
  });
}

void ChildReaper::reap() {
  for (auto& [pid, state] : children_) {
    if (state.done) continue;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      state.done = true;
      state.status = status;
      if (state.waiter) state.waiter->cancel();
    }
  }
}

void ChildReaper::close() {
  boost::system::error_code ignored;
  signals_.cancel(ignored);
}

void ChildReaper::watch(pid_t pid) { children_[pid]; }

bool ChildReaper::running(pid_t pid) const {
  auto it = children_.find(pid);
  return it != children_.end() && !it->second.done;
}

void ChildReaper::signal_all(int sig) {
  for (const auto& [pid, state] : children_) {
    if (!state.done) ::kill(-pid, sig);
  }
}

asio::awaitable<int> ChildReaper::wait(pid_t pid) {
  reap();  // it may have exited before anyone waited
  State& state = children_[pid];
  while (!state.done) {
    if (!state.waiter) state.waiter = std::make_shared<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
    auto waiter = state.waiter;
    boost::system::error_code ec;
    co_await waiter->async_wait(asio::redirect_error(use_awaitable, ec));
    waiter->expires_at(asio::steady_timer::time_point::max());
  }
  co_return state.status;
}

namespace {

struct Pipe {
  int read = -1, write = -1;
  ~Pipe() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    return true;
  }
  int release_read() { return std::exchange(read, -1); }
  int release_write() { return std::exchange(write, -1); }
};

// The master's environment with spec.env added (replacing variables of the same name).
std::vector<std::string> child_environment(const std::vector<std::string>& additions) {
  std::vector<std::string> env;
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    bool replaced = false;
    for (const auto& add : additions) replaced = replaced || name_of(add) == name_of(entry);
    if (!replaced) env.push_back(std::move(entry));
  }
  env.insert(env.end(), additions.begin(), additions.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

std::optional<Child> spawn_child(asio::io_context& io, ChildReaper& reaper, const SpawnSpec& spec,
                                 std::string* error) {
  if (spec.argv.empty()) {
    *error = "nothing to start";
    return std::nullopt;
  }
  Pipe in, out, err;
  if (!in.open() || !out.open() || !err.open()) {
    *error = fmt::format("cannot make pipes: {}", std::strerror(errno));
    return std::nullopt;
  }
  // The program's path, looked up in the parent: between fork and exec the child may
  // only make async-signal-safe calls.
  std::string program = spec.argv[0];
  if (program.find('/') == std::string::npos) {
    const char* path = std::getenv("PATH");
    std::string_view dirs = path ? path : "/usr/bin:/bin";
    while (true) {
      const auto colon = dirs.find(':');
      std::string candidate(dirs.substr(0, colon));
      candidate = (candidate.empty() ? "." : candidate) + "/" + spec.argv[0];
      if (::access(candidate.c_str(), X_OK) == 0) {
        program = std::move(candidate);
        break;
      }
      if (colon == std::string_view::npos) break;
      dirs.remove_prefix(colon + 1);
    }
  }
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<std::string> env_strings = child_environment(spec.env);
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(env_strings);
  Pipe exec_status;  // close-on-exec: end of file means the exec went through
  if (!exec_status.open()) {
    *error = fmt::format("cannot make pipes: {}", std::strerror(errno));
    return std::nullopt;
  }
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    *error = fmt::format("cannot start {}: {}", spec.argv[0], std::strerror(errno));
    return std::nullopt;
  }
  if (pid == 0) {
    // Own process group: the terminal's Ctrl-C goes to the master only, which then stops
    // nodes in order. If the master dies (even by kill -9), the child is sent SIGTERM:
    // an ssh ControlMaster or a local node never outlives it.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the master died before prctl
    // Signals the master ignores or handles start with their default action.
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT}) ::signal(sig, SIG_DFL);
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    if (::dup2(in.read, 0) < 0 || ::dup2(out.write, 1) < 0 || ::dup2(err.write, 2) < 0) ::_exit(127);
    ::execve(program.c_str(), argv.data(), envp.data());
    const int failure = errno;
    ssize_t ignored = ::write(exec_status.write, &failure, sizeof failure);
    (void)ignored;
    ::_exit(127);
  }
  ::close(exec_status.release_write());
  int failure = 0;
  ssize_t got;
  do {
    got = ::read(exec_status.read, &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof failure)) {
    int ignored_status;
    ::waitpid(pid, &ignored_status, 0);
    *error = fmt::format("cannot start {}: {}", spec.argv[0], std::strerror(failure));
    return std::nullopt;
  }
  reaper.watch(pid);
  Child child;
  child.pid = pid;
  child.in = std::make_unique<asio::posix::stream_descriptor>(io, in.release_write());
  child.out = std::make_unique<asio::posix::stream_descriptor>(io, out.release_read());
  child.err = std::make_unique<asio::posix::stream_descriptor>(io, err.release_read());
  return child;
}

asio::awaitable<void> read_to_end(asio::posix::stream_descriptor& pipe, std::string* text, std::size_t max_bytes) {
  char buffer[16384];
  while (true) {
    boost::system::error_code ec;
    std::size_t n = co_await pipe.async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
    if (n > 0 && text->size() < max_bytes) text->append(buffer, std::min(n, max_bytes - text->size()));
    if (ec) co_return;
  }
}

namespace {
asio::awaitable<void> write_and_close(asio::posix::stream_descriptor& pipe, const std::string& input) {
  if (!input.empty()) {
    boost::system::error_code ec;  // a child that exits without reading is not an error here
    co_await asio::async_write(pipe, asio::buffer(input), asio::redirect_error(use_awaitable, ec));
  }
  boost::system::error_code ignored;
  pipe.close(ignored);
}
}  // namespace

asio::awaitable<ProcessOutput> run_process(asio::io_context& io, ChildReaper& reaper, SpawnSpec spec,
                                           std::string input, std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  ProcessOutput result;
  auto child = spawn_child(io, reaper, spec, &result.spawn_error);
  if (!child) co_return result;

  // The deadline kills the whole process group; `finished` keeps a late timer from
  // signalling a reused process id.
  struct Deadline {
    bool finished = false;
    bool fired = false;
  };
  auto deadline = std::make_shared<Deadline>();
  asio::steady_timer timer(io, timeout);
  timer.async_wait([deadline, pid = child->pid](const boost::system::error_code& ec) {
    if (ec || deadline->finished) return;
    deadline->fired = true;
    ::kill(-pid, SIGKILL);
  });
  co_await (write_and_close(*child->in, input) && read_to_end(*child->out, &result.out) &&
            read_to_end(*child->err, &result.err));
  result.status = co_await reaper.wait(child->pid);
  deadline->finished = true;
  timer.cancel();
  result.timed_out = deadline->fired;
  co_return result;
}

bool ProcessOutput::ok() const {
  return spawn_error.empty() && !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int ProcessOutput::exit_code() const {
  if (!spawn_error.empty()) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("wait status {}", status);
}

std::string last_line(const std::string& text) {
  std::string_view rest = text;
  while (!rest.empty()) {
    auto end = rest.find_last_not_of(" \t\r\n");
    if (end == std::string_view::npos) return {};
    rest = rest.substr(0, end + 1);
    auto start = rest.find_last_of('\n');
    std::string_view line = rest.substr(start == std::string_view::npos ? 0 : start + 1);
    auto first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos) return std::string(line.substr(first));
    rest = rest.substr(0, start == std::string_view::npos ? 0 : start);
  }
  return {};
}

std::string last_error_line(const std::string& text) {
  std::string_view rest = text;
  while (true) {
    std::string line = last_line(std::string(rest));
    if (line.empty()) return last_line(text);
    if (line.find(": warning: ") == std::string::npos && !line.starts_with("warning: ")) return line;
    const auto at = rest.rfind(line);
    rest = rest.substr(0, at == std::string_view::npos ? 0 : at);
  }
}

std::string ProcessOutput::failure() const {
  if (!spawn_error.empty()) return spawn_error;
  std::string what = timed_out ? std::string("timed out") : describe_wait_status(status);
  std::string detail = last_line(err);
  if (detail.empty()) detail = last_line(out);
  return detail.empty() ? what : what + ": " + detail;
}

}  // namespace bm::master
