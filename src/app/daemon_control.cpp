#include "app/daemon_control.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "app/commands.hpp"
#include "common/files.hpp"
#include "common/format.hpp"

namespace bm::app {

namespace fs = std::filesystem;

namespace {

// The pid in the file when that process is alive and is this program; else 0.
pid_t running_pid(const Service& service) {
  int error_number = 0;
  const std::optional<std::string> text = common::read_whole_file(service.pid_file, &error_number);
  if (!text) return 0;
  char* end = nullptr;
  const long pid = std::strtol(text->c_str(), &end, 10);
  if (pid <= 0 || end == text->c_str()) return 0;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return 0;
  // A pid file left by a crash may name a pid that another program now has.
  const std::optional<std::string> cmdline =
      common::read_whole_file(fmt::format("/proc/{}/cmdline", pid), &error_number);
  if (cmdline && cmdline->find(service.command) == std::string::npos) {
    return 0;
  }
  return static_cast<pid_t>(pid);
}

bool write_pid_file(const fs::path& path, pid_t pid, std::string* error) {
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << pid << '\n';
    if (!out) {
      *error = fmt::format("{}: cannot write the pid file", path.string());
      return false;
    }
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) *error = fmt::format("{}: cannot write the pid file: {}", path.string(), ec.message());
  return !ec;
}

// Serves until SIGINT or SIGTERM; `ready` gets "ok <where>" or "error <line>".
// In the foreground the log is this terminal: `ready` alone says why it could not start.
int serve(const Service& service, const std::function<void(const std::string&)>& ready, bool write_pid,
          bool foreground = false) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread: they inherit it
  std::string error;
  const std::optional<std::string> where = service.start(&error);
  if (!where) {
    if (!foreground) log_line("cannot start: " + error);
    ready("error " + error);
    return 1;
  }
  if (write_pid && !write_pid_file(service.pid_file, ::getpid(), &error)) {
    service.stop();
    log_line(error);
    ready("error " + error);
    return 1;
  }
  log_line(fmt::format("{} pid {}: {}", service.name, ::getpid(), *where));
  ready("ok " + *where);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  log_line(fmt::format("stopping on signal {}", signal_number));
  service.stop();
  if (write_pid) {
    std::error_code ec;
    fs::remove(service.pid_file, ec);
  }
  log_line("stopped");
  return 0;
}

}  // namespace

void log_line(const std::string& line) {
  const auto now = std::chrono::system_clock::now();
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::cerr << common::format_epoch_us(us) << ' ' << line << std::endl;
}

int service_start(const Service& service, bool foreground, const std::string& prog) {
  if (const pid_t pid = running_pid(service)) {
    std::cerr << prog << ": " << service.name << " is already running, pid " << pid << " (" << service.pid_file.string()
              << ")\n";
    return 1;
  }
  if (foreground) {
    return serve(service, [&](const std::string& line) {
      if (line.starts_with("error ")) {
        std::cerr << prog << ": " << line.substr(6) << std::endl;
      } else {
        std::cout << service.name << " " << line.substr(3) << " (Ctrl-C stops it)" << std::endl;
      }
    }, true, true);
  }
  // Open the log here: a log that cannot be written is this terminal's error.
  const int log_fd = ::open(service.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return fail(prog, fmt::format("{}: cannot write the log file: {}", service.log_file.string(),
                                                std::strerror(errno)));
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail(prog, fmt::format("pipe: {}", std::strerror(errno)));
  std::cout << std::flush;
  std::cerr << std::flush;
  const pid_t child = ::fork();
  if (child < 0) return fail(prog, fmt::format("fork: {}", std::strerror(errno)));
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::setsid();
    if (::fork() != 0) ::_exit(0);  // the daemon is the grandchild: no terminal can come back
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::umask(022);
    const int ready_fd = pipe_fds[1];
    const int code = serve(service, [ready_fd](const std::string& line) {
      const std::string text = line + "\n";
      [[maybe_unused]] ssize_t n = ::write(ready_fd, text.data(), text.size());
      ::close(ready_fd);
    }, true);
    ::_exit(code);
  }
  ::close(pipe_fds[1]);
  ::close(log_fd);
  int status = 0;
  ::waitpid(child, &status, 0);
  std::string answer;
  char buffer[512];
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0) {
      answer.append(buffer, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  ::close(pipe_fds[0]);
  if (!answer.empty() && answer.back() == '\n') answer.pop_back();
  if (answer.starts_with("ok ")) {
    std::cout << fmt::format("{} started, pid {}, {} (log: {})", service.name, running_pid(service), answer.substr(3),
                             service.log_file.string())
              << std::endl;
    return 0;
  }
  if (answer.starts_with("error ")) {
    std::cerr << prog << ": " << answer.substr(6) << '\n';
  } else {
    std::cerr << prog << ": " << service.name << " did not start; see " << service.log_file.string() << '\n';
  }
  return 1;
}

int service_stop(const Service& service, const std::string& prog) {
  const pid_t pid = running_pid(service);
  if (pid == 0) {
    std::cout << service.name << " is not running\n";
    std::error_code ec;
    fs::remove(service.pid_file, ec);  // a stale one
    return 0;
  }
  if (::kill(pid, SIGTERM) != 0) return fail(prog, fmt::format("cannot stop pid {}: {}", pid, std::strerror(errno)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::kill(pid, 0) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(prog, fmt::format("{} (pid {}) did not stop within 10 s", service.name, pid));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // not our child: nothing to wait on
  }
  std::cout << service.name << " stopped (pid " << pid << ")\n";
  return 0;
}

int service_status(const Service& service) {
  if (const pid_t pid = running_pid(service)) {
    std::cout << service.name << " running, pid " << pid << '\n';
    return 0;
  }
  std::cout << service.name << " not running\n";
  return 3;
}

int run_service_action(const std::string& action, const Service& service, const std::string& prog) {
  if (action == "status") return service_status(service);
  if (action == "stop") return service_stop(service, prog);
  if (action == "restart") {
    if (int code = service_stop(service, prog); code != 0) return code;
  }
  return service_start(service, action == "startd", prog);
}

}  // namespace bm::app
