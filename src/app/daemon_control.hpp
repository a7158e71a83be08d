#pragma once
// start | startd | stop | restart | status for the tool's small servers (bench-monitor,
// and the credential server after it), as FunkLoad's *-ctl commands had them: a daemon
// with a pid file and a log file, started so that an error (port in use, bad conf)
// is still one line on the terminal that asked for it.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace bm::app {

struct Service {
  std::string name;                   // "bench-monitor"
  std::string command;                // "monitor": its command line holds this word
  std::filesystem::path pid_file;
  std::filesystem::path log_file;
  // Binds and starts serving; the line that says where ("listening on http://..."), or
  // nullopt with one line in *error. Runs in the daemon (or here, for startd).
  std::function<std::optional<std::string>(std::string* error)> start;
  // Stops serving, after SIGTERM or SIGINT.
  std::function<void()> stop;
};

// Writes "<time> <line>" to stderr (the log file, in a daemon).
void log_line(const std::string& line);

// start: detaches a daemon, prints "<name> started, pid N, <where>" once it serves, or its
// error; 1 when it is already running or could not start. startd (foreground): serves
// here until SIGINT or SIGTERM; it too writes the pid file, so status and stop see it.
int service_start(const Service& service, bool foreground, const std::string& prog);
// SIGTERM to the pid in the pid file, waiting up to 10 s for it to end. 0 also when it
// was not running (said so).
int service_stop(const Service& service, const std::string& prog);
// 0 and "<name> running, pid N" when it runs; 3 and "<name> not running" when not.
int service_status(const Service& service);

// One of the verbs every daemon takes: status, stop, restart, start or startd.
int run_service_action(const std::string& action, const Service& service, const std::string& prog);

}  // namespace bm::app
