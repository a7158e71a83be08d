// bench-monitor start|startd|stop|restart|status|test [-c monitor.conf]: FunkLoad's
// fl-monitor-ctl, serving this host's figures over HTTP (docs/monitoring.md).
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/commands.hpp"
#include "app/daemon_control.hpp"
#include "conf/conf_file.hpp"
#include "conf/values.hpp"
#include "monitor/monitor_server.hpp"
#include "monitor/proc_reader.hpp"

namespace bm::app {

namespace fs = std::filesystem;

namespace {

struct MonitorSettings {
  monitor::MonitorServerOptions server;
  fs::path pid_file = "bench-monitor.pid";
  fs::path log_file = "bench-monitor.log";
};

// [server] host, port, interval, interface, pid_path, log_path (FunkLoad's monitor.conf).
bool read_conf(const fs::path& path, MonitorSettings& s, std::string* error) {
  std::optional<conf::ConfFile> conf = conf::ConfFile::load(path, error);
  if (!conf) return false;
  if (!conf->has_section("server")) {
    *error = fmt::format("{}: no [server] section (host, port, interval, interface)", path.string());
    return false;
  }
  if (auto host = conf->get("server", "host")) s.server.host = *host;
  std::optional<long long> port = conf->get_int("server", "port", error);
  if (!port && !error->empty()) return false;
  if (port) {
    if (*port < 0 || *port > 65535) {
      *error = conf->value_error("server", "port", std::to_string(*port), "a port (0 to 65535)");
      return false;
    }
    s.server.port = static_cast<uint16_t>(*port);
  }
  std::optional<double> interval = conf->get_double("server", "interval", error);
  if (!interval && !error->empty()) return false;
  if (interval) s.server.interval_s = *interval;
  if (auto interfaces = conf->get("server", "interface")) s.server.interfaces = conf::split_names(*interfaces);
  const fs::path folder = path.parent_path();
  if (auto pid = conf->get("server", "pid_path")) s.pid_file = folder / *pid;
  if (auto log = conf->get("server", "log_path")) s.log_file = folder / *log;
  return true;
}

// Two readings an interval apart, printed as the point a collector would get.
int print_test_sample(const MonitorSettings& s, const std::string& prog) {
  std::string error;
  if (!monitor::check_sampling(s.server, &error)) return fail(prog, error);
  monitor::ProcReader reader(s.server.proc_root, s.server.interfaces);
  const auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::optional<monitor::HostCounters> first = reader.read(now_us(), &error);
  if (!first) return fail(prog, error);
  std::this_thread::sleep_for(std::chrono::duration<double>(s.server.interval_s));  // the interval is what is measured
  std::optional<monitor::HostCounters> second = reader.read(now_us(), &error);
  if (!second) return fail(prog, error);
  std::cout << stats::monitor_point_to_json(monitor::point_between(*first, *second)).dump(2) << std::endl;
  return 0;
}

}  // namespace

int cmd_monitor(const Args& args, const std::string& prog) {
  CLI::App app{"Watch this host (CPU, load, memory, network, disk, TCP) and serve the figures over HTTP: "
               "Prometheus text at /metrics, JSON samples at /samples for bench-run's collector.",
               prog};
  std::string action;
  std::string conf_path;
  MonitorSettings s;
  std::optional<std::string> host, interfaces, pid_file, log_file;
  std::optional<uint16_t> port;
  std::optional<double> interval;
  app.add_option("action", action, "start, startd (in the foreground), stop, restart, status or test")
      ->required()
      ->check(CLI::IsMember({"start", "startd", "stop", "restart", "status", "test"}));
  app.add_option("-c,--config", conf_path, "monitor.conf ([server] host, port, interval, interface, pid_path, log_path)");
  app.add_option("--host", host, "address to bind (default 127.0.0.1: loopback only)");
  app.add_option("-p,--port", port, "port (default 8008; 0: any free port)");
  app.add_option("--interval", interval, "seconds between samples (default 0.5)");
  app.add_option("--interface", interfaces, "network interfaces to watch, comma-separated (default: all but lo)");
  app.add_option("--pid-file", pid_file, "pid file (default bench-monitor.pid)");
  app.add_option("--log-file", log_file, "log file of the daemon (default bench-monitor.log)");
  if (int code = parse_options(app, args, prog); code >= 0) return code;
  std::string error;
  if (!conf_path.empty() && !read_conf(conf_path, s, &error)) return fail(prog, error);
  if (host) s.server.host = *host;
  if (port) s.server.port = *port;
  if (interval) s.server.interval_s = *interval;
  if (interfaces) s.server.interfaces = conf::split_names(*interfaces);
  if (pid_file) s.pid_file = *pid_file;
  if (log_file) s.log_file = *log_file;
  s.pid_file = fs::absolute(s.pid_file);
  s.log_file = fs::absolute(s.log_file);
  if (action == "test") return print_test_sample(s, prog);

  std::unique_ptr<monitor::MonitorServer> server;
  Service service;
  service.name = "bench-monitor";
  service.command = "monitor";  // in "bench-monitor ..." and "benchmaster monitor ..." alike
  service.pid_file = s.pid_file;
  service.log_file = s.log_file;
  service.start = [&](std::string* problem) -> std::optional<std::string> {
    monitor::MonitorServerOptions options = s.server;
    options.log = [](const std::string& line) { log_line(line); };
    server = monitor::MonitorServer::create(options, problem);
    if (!server) return std::nullopt;
    server->start();
    return fmt::format("listening on {}", server->url());
  };
  service.stop = [&] {
    if (server) server->stop();
  };
  return run_service_action(action, service, prog);
}

}  // namespace bm::app
