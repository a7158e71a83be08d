// bench-credential start|startd|stop|restart|status|test [-c credential.conf]: FunkLoad's
// fl-credential-ctl, serving logins to virtual users over HTTP (docs/test-data.md).
#include <filesystem>
#include <iostream>

#include <boost/asio/io_context.hpp>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/commands.hpp"
#include "app/daemon_control.hpp"
#include "conf/conf_file.hpp"
#include "credential/credential_client.hpp"
#include "credential/credential_server.hpp"

namespace bm::app {

namespace fs = std::filesystem;

namespace {

struct CredentialSettings {
  credential::CredentialServerOptions server;
  fs::path pid_file = "bench-credential.pid";
  fs::path log_file = "bench-credential.log";
};

bool read_seconds(const conf::ConfFile& conf, const char* key, double low, double high, double& out,
                  std::string* error) {
  const std::optional<double> value = conf.get_seconds("server", key, low, high, error);
  if (value) out = *value;
  return value || error->empty();
}

// [server] host, port, credentials_path, groups_path, loop_on_first_credentials,
// lease_time, max_wait, pid_path, log_path (FunkLoad's credential.conf, and ours).
bool read_conf(const fs::path& path, CredentialSettings& s, std::string* error) {
  std::optional<conf::ConfFile> conf = conf::ConfFile::load(path, error);
  if (!conf) return false;
  if (!conf->has_section("server")) {
    *error = fmt::format("{}: no [server] section (host, port, credentials_path, groups_path)", path.string());
    return false;
  }
  const fs::path folder = path.parent_path();
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
  if (auto file = conf->get("server", "credentials_path")) s.server.credentials_file = folder / *file;
  if (auto file = conf->get("server", "groups_path"); file && !file->empty()) s.server.groups_file = folder / *file;
  std::optional<long long> first = conf->get_int("server", "loop_on_first_credentials", error);
  if (!first && !error->empty()) return false;
  if (first) {
    if (*first < 0) {
      *error = conf->value_error("server", "loop_on_first_credentials", std::to_string(*first), "0 or more");
      return false;
    }
    s.server.loop_on_first = static_cast<std::size_t>(*first);
  }
  if (!read_seconds(*conf, "lease_time", 0.1, 86400, s.server.lease_s, error)) return false;
  if (!read_seconds(*conf, "max_wait", 0, 3600, s.server.max_wait_s, error)) return false;
  if (auto pid = conf->get("server", "pid_path")) s.pid_file = folder / *pid;
  if (auto log = conf->get("server", "log_path")) s.log_file = folder / *log;
  return true;
}

// Asks the running server for its groups and one credential of each, as FunkLoad's test
// verb did.
int print_test(const CredentialSettings& s, const std::string& prog) {
  boost::asio::io_context io;
  credential::CredentialClient client(io, s.server.host == "0.0.0.0" ? "127.0.0.1" : s.server.host, s.server.port);
  credential::ClientReply status, groups;
  client.call(false, "/status", std::chrono::seconds(5), [&](credential::ClientReply r) { status = std::move(r); });
  client.call(false, "/groups", std::chrono::seconds(5), [&](credential::ClientReply r) { groups = std::move(r); });
  io.run();
  if (!status.error.empty()) return fail(prog, status.error);
  if (!groups.error.empty()) return fail(prog, groups.error);
  std::cout << fmt::format("bench-credential at {}: {} logins, {} held\n", client.address(),
                           status.body.value("logins", 0), status.body.value("held", 0));
  std::vector<std::string> names = {""};
  for (const auto& name : groups.body["groups"]) names.push_back(name.get<std::string>());
  for (const std::string& name : names) {
    credential::ClientReply one;
    client.call(false, "/credential?group=" + credential::CredentialClient::encode(name), std::chrono::seconds(5),
                [&](credential::ClientReply r) { one = std::move(r); });
    io.restart();
    io.run();
    if (!one.error.empty()) return fail(prog, one.error);
    std::cout << fmt::format("  group {:<20} next: {}\n", name.empty() ? "(all)" : name,
                             one.body.value("login", std::string()));
  }
  return 0;
}

}  // namespace

int cmd_credential(const Args& args, const std::string& prog) {
  CLI::App app{"Serve logins to virtual users over HTTP: FunkLoad's round robin per group, and exclusive leases "
               "so no two virtual users hold one account at once (docs/test-data.md).",
               prog};
  std::string action;
  std::string conf_path;
  CredentialSettings s;
  std::optional<std::string> host, credentials, groups, pid_file, log_file;
  std::optional<uint16_t> port;
  std::optional<double> lease_time;
  app.add_option("action", action, "start, startd (in the foreground), stop, restart, status or test")
      ->required()
      ->check(CLI::IsMember({"start", "startd", "stop", "restart", "status", "test"}));
  app.add_option("-c,--config", conf_path,
                 "credential.conf ([server] host, port, credentials_path, groups_path, loop_on_first_credentials, "
                 "lease_time, max_wait, pid_path, log_path)");
  app.add_option("--host", host, "address to bind (default 127.0.0.1: loopback only)");
  app.add_option("-p,--port", port, "port (default 8007; 0: any free port)");
  app.add_option("--credentials", credentials, "passwords file: login:password per line");
  app.add_option("--groups", groups, "groups file: group:login1, login2 per line");
  app.add_option("--lease-time", lease_time, "seconds a lease lasts when the client names none (default 60)");
  app.add_option("--pid-file", pid_file, "pid file (default bench-credential.pid)");
  app.add_option("--log-file", log_file, "log file of the daemon (default bench-credential.log)");
  if (int code = parse_options(app, args, prog); code >= 0) return code;
  std::string error;
  if (!conf_path.empty() && !read_conf(conf_path, s, &error)) return fail(prog, error);
  if (host) s.server.host = *host;
  if (port) s.server.port = *port;
  if (credentials) s.server.credentials_file = *credentials;
  if (groups) s.server.groups_file = *groups;
  if (lease_time) {
    if (!(*lease_time >= 0.1 && *lease_time <= 86400)) return fail(prog, "--lease-time: from 0.1 to 86400 seconds");
    s.server.lease_s = *lease_time;
  }
  if (pid_file) s.pid_file = *pid_file;
  if (log_file) s.log_file = *log_file;
  s.pid_file = fs::absolute(s.pid_file);
  s.log_file = fs::absolute(s.log_file);
  if (!s.server.credentials_file.empty()) s.server.credentials_file = fs::absolute(s.server.credentials_file);
  if (!s.server.groups_file.empty()) s.server.groups_file = fs::absolute(s.server.groups_file);
  if (action == "test") return print_test(s, prog);

  std::unique_ptr<credential::CredentialServer> server;
  Service service;
  service.name = "bench-credential";
  service.command = "credential";  // in "bench-credential ..." and "benchmaster credential ..." alike
  service.pid_file = s.pid_file;
  service.log_file = s.log_file;
  service.start = [&](std::string* problem) -> std::optional<std::string> {
    credential::CredentialServerOptions options = s.server;
    options.log = [](const std::string& line) { log_line(line); };
    server = credential::CredentialServer::create(options, problem);
    if (!server) return std::nullopt;
    server->start();
    return fmt::format("listening on {}, {}", server->url(), server->summary());
  };
  service.stop = [&] {
    if (server) server->stop();
  };
  return run_service_action(action, service, prog);
}

}  // namespace bm::app
