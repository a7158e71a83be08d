// bench-record Name [-p 8090] [-o DIR] | --from-har FILE: a test from what a browser did
// (docs/recording.md), FunkLoad's fl-record.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/commands.hpp"
#include "common/files.hpp"
#include "conf/bench_settings.hpp"
#include "conf/conf_file.hpp"
#include "record/funkload_import.hpp"
#include "record/har_import.hpp"
#include "record/local_ca.hpp"
#include "record/recording_proxy.hpp"
#include "record/scenario_writer.hpp"

namespace bm::app {

namespace fs = std::filesystem;

namespace {

// Writes both files beside their places, then renames them in: never half a file.
bool write_both(const fs::path& lua_path, const std::string& lua, const fs::path& conf_path, const std::string& conf,
                std::string* error) {
  const auto write = [&](const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) *error = fmt::format("cannot write {}", path.string());
    return static_cast<bool>(out);
  };
  const fs::path lua_temporary = lua_path.string() + ".part";
  const fs::path conf_temporary = conf_path.string() + ".part";
  std::error_code ec;
  if (!write(lua_temporary, lua) || !write(conf_temporary, conf)) {
    fs::remove(lua_temporary, ec);
    fs::remove(conf_temporary, ec);
    return false;
  }
  fs::rename(conf_temporary, conf_path, ec);
  if (!ec) fs::rename(lua_temporary, lua_path, ec);
  if (ec) {
    *error = fmt::format("cannot write {}: {}", lua_path.string(), ec.message());
    fs::remove(lua_temporary, ec);
    fs::remove(conf_temporary, ec);
    return false;
  }
  return true;
}

std::string today() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d", &local);
  return text;
}

std::string summary(const record::Scenario& s, const std::vector<std::string>& tunnels) {
  std::string text = fmt::format("{} request{}", s.pages, s.pages == 1 ? "" : "s");
  if (s.resources_left > 0) {
    text += fmt::format("; {} page resource{} left to resource fetching", s.resources_left,
                        s.resources_left == 1 ? "" : "s");
  }
  if (s.redirects_folded > 0) {
    text += fmt::format("; {} redirect{} left to the engine", s.redirects_folded, s.redirects_folded == 1 ? "" : "s");
  }
  if (s.other_hosts_left > 0) {
    text += fmt::format("; {} request{} to other hosts left out ({})", s.other_hosts_left,
                        s.other_hosts_left == 1 ? "" : "s", fmt::join(s.hosts_left, ", "));
  }
  if (s.tokens > 0) text += fmt::format("; {} value{} read from responses (extract)", s.tokens, s.tokens == 1 ? "" : "s");
  if (!tunnels.empty()) {
    text += fmt::format("; {} HTTPS session{} tunnelled, not recorded ({})", tunnels.size(),
                        tunnels.size() == 1 ? "" : "s", fmt::join(tunnels, ", "));
  }
  return text;
}

// bench-record --from-funkload test_Name.py [--conf Name.conf]: the test converted, the conf
// kept as it is (benchmaster reads FunkLoad's confs), with one line naming what it ignores.
int convert_funkload(const fs::path& python, std::string conf_file, std::string name, const fs::path& folder,
                     bool force, const std::string& prog) {
  int error_number = 0;
  const std::optional<std::string> text = common::read_whole_file(python, &error_number);
  if (!text) return fail(prog, fmt::format("{}: cannot read: {}", python.string(), std::strerror(error_number)));
  if (text->find('\0') != std::string::npos) return fail(prog, fmt::format("{}: not a Python file", python.string()));
  std::string error;
  record::FunkLoadConversion conversion;
  if (!record::convert_funkload_test(*text, python.filename().string(), &conversion, &error)) return fail(prog, error);
  if (name.empty()) {
    const std::string stem = python.stem().string();
    name = stem.starts_with("test_") ? stem.substr(5) : conversion.class_name;
  }
  if (conf_file.empty()) conf_file = (python.parent_path() / (name + ".conf")).string();
  std::optional<std::string> conf_text = common::read_whole_file(conf_file, &error_number);
  if (!conf_text) return fail(prog, fmt::format("{}: cannot read the test's conf: {}", conf_file, std::strerror(error_number)));
  const std::optional<conf::ConfFile> conf = conf::ConfFile::parse(*conf_text, conf_file, &error);
  if (!conf) return fail(prog, error);
  const fs::path lua_path = folder / ("test_" + name + ".lua");
  const fs::path conf_path = folder / (name + ".conf");
  std::error_code ec;
  for (const fs::path& path : {lua_path, conf_path}) {
    if (fs::equivalent(path, conf_file, ec)) continue;  // the conf converted in place is itself
    if (!force && fs::exists(path, ec)) return fail(prog, fmt::format("{} exists (--force replaces it)", path.string()));
  }
  for (const std::string& warning : conversion.warnings) std::cerr << prog << ": warning: " << warning << '\n';
  std::vector<std::string> ignored;
  for (const std::string& warning : conf::conf_warnings(*conf)) {
    std::string item = warning.substr(warning.find(": ") == std::string::npos ? 0 : warning.find(": ") + 2);
    if (const std::size_t unused = item.find(": FunkLoad key not used"); unused != std::string::npos) item.resize(unused);
    ignored.push_back(item);
  }
  if (!ignored.empty()) {
    std::cerr << fmt::format("{}: warning: {} is kept as it is; benchmaster does not use: {}", prog, conf_file,
                             fmt::join(ignored, ", "))
              << '\n';
  }
  if (!write_both(lua_path, conversion.lua, conf_path, *conf_text, &error)) return fail(prog, error);
  std::cout << fmt::format("Wrote {} and {}: {} of {} statements converted; test function{} {}", lua_path.string(),
                           conf_path.string(), conversion.converted, conversion.statements,
                           conversion.tests.size() == 1 ? "" : "s", fmt::join(conversion.tests, ", "))
            << std::endl;
  std::cout << fmt::format("Run it once: bench-test {}", lua_path.string()) << std::endl;
  return conversion.warnings.empty() ? 0 : 1;
}

}  // namespace

int cmd_record(const Args& args, const std::string& prog) {
  CLI::App app{"Record a test: browse through this HTTP proxy (or give a HAR file), get test_Name.lua and "
               "Name.conf that bench-test runs as they are (docs/recording.md).",
               prog};
  std::string name;
  std::string output = ".";
  std::string host = "127.0.0.1";
  uint16_t port = 8090;
  std::string har;
  std::size_t stop_after = 0;
  bool all_requests = false, force = false, intercept = false;
  std::string upstream_ca;
  std::vector<std::string> include_hosts;
  double think = 0.5;
  std::string funkload, funkload_conf;
  app.add_option("name", name, "the test's name: test_NAME.lua, NAME.conf (from the file with --from-funkload)");
  app.add_option("--from-funkload", funkload, "convert this FunkLoad test (test_Name.py, with Name.conf beside it)");
  app.add_option("--conf", funkload_conf, "with --from-funkload: the test's conf, if not Name.conf beside it");
  app.add_option("-p,--port", port, "proxy port (default 8090; 0: any free port)");
  app.add_option("--host", host, "address the proxy binds (default 127.0.0.1: loopback only)");
  app.add_option("-o,--output-dir", output, "folder for the test and its conf (default: here)");
  app.add_option("--from-har", har, "convert this HAR file (a browser's \"Save all as HAR\") instead of recording");
  app.add_option("--stop-after", stop_after, "stop after N recorded requests (for scripts; default: at Ctrl-C)");
  app.add_flag("--all-requests", all_requests, "list page resources (images, CSS, scripts) as requests of their own");
  app.add_option("--include-host", include_hosts, "keep requests to this host too (repeatable)");
  app.add_option("--think-time", think, "a pause this long or longer (seconds) becomes vu:sleep (default 0.5)");
  app.add_flag("--intercept", intercept,
               "record HTTPS too: TLS ends at the proxy with certificates of a local CA (bench-record-ca.pem in the "
               "output folder, to be trusted by the browser)");
  app.add_option("--upstream-ca-file", upstream_ca, "with --intercept: trust this CA for the HTTPS servers too");
  app.add_flag("--force", force, "replace test_NAME.lua and NAME.conf if they exist");
  if (int code = parse_options(app, args, prog); code >= 0) return code;

  if (!funkload.empty()) {
    if (!name.empty() && !std::regex_match(name, std::regex("[A-Za-z][A-Za-z0-9_]*"))) {
      return fail(prog, fmt::format("'{}' cannot name a test: letters, digits and '_', starting with a letter", name));
    }
    std::error_code ec;
    if (!fs::is_directory(output, ec)) return fail(prog, fmt::format("{}: no such folder", output));
    return convert_funkload(funkload, funkload_conf, name, output, force, prog);
  }
  if (name.empty()) return fail(prog, "the test's name is missing: bench-record Name (test_Name.lua, Name.conf)");
  if (!std::regex_match(name, std::regex("[A-Za-z][A-Za-z0-9_]*"))) {
    return fail(prog, fmt::format("'{}' cannot name a test: letters, digits and '_', starting with a letter", name));
  }
  const fs::path folder(output);
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return fail(prog, fmt::format("{}: no such folder", output));
  const fs::path lua_path = folder / ("test_" + name + ".lua");
  const fs::path conf_path = folder / (name + ".conf");
  for (const fs::path& path : {lua_path, conf_path}) {
    if (!force && fs::exists(path, ec)) return fail(prog, fmt::format("{} exists (--force replaces it)", path.string()));
  }
  record::ScenarioOptions options;
  options.name = name;
  options.all_requests = all_requests;
  options.include_hosts = include_hosts;
  options.think_threshold_s = think;

  std::vector<record::RecordedExchange> exchanges;
  std::vector<std::string> tunnels;
  if (!har.empty()) {
    int error_number = 0;
    const std::optional<std::string> text = common::read_whole_file(har, &error_number);
    if (!text) return fail(prog, fmt::format("{}: cannot read: {}", har, std::strerror(error_number)));
    std::string error;
    std::optional<std::vector<record::RecordedExchange>> read = record::read_har(*text, har, &error);
    if (!read) return fail(prog, error);
    exchanges = std::move(*read);
    options.source = fmt::format("converted by bench-record from {} on {}", fs::path(har).filename().string(), today());
  } else {
    // SIGINT and SIGTERM end the recording; the proxy's thread asks for the same with SIGUSR1.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before the proxy's thread: it inherits the mask
    record::RecordingProxyOptions proxy_options;
    proxy_options.host = host;
    proxy_options.port = port;
    proxy_options.upstream_ca_file = upstream_ca;
    std::string ca_line;
    if (intercept) {
      std::string problem;
      std::shared_ptr<record::LocalCa> ca = record::LocalCa::load_or_create(folder, &problem);
      if (!ca) return fail(prog, problem);
      ca_line = fmt::format("bench-record: HTTPS is recorded: the browser must trust {} ({}; its key stays beside it, "
                            "readable by you alone)",
                            fs::absolute(ca->certificate_path()).string(), ca->created() ? "made now" : "made before");
      proxy_options.ca = std::move(ca);
    }
    proxy_options.log = [](const std::string& line) { std::cerr << "bench-record: " << line << std::endl; };
    proxy_options.on_exchange = [stop_after](const record::RecordedExchange& x, std::size_t count) {
      std::cout << fmt::format("[{}] {} {} -> {}", count, x.method, x.url, x.status) << std::endl;
      if (stop_after > 0 && count == stop_after) ::kill(::getpid(), SIGUSR1);
    };
    std::string error;
    std::unique_ptr<record::RecordingProxy> proxy = record::RecordingProxy::create(proxy_options, &error);
    if (!proxy) return fail(prog, error);
    proxy->start();
    std::cout << fmt::format("bench-record: recording through {} (set it as the browser's HTTP proxy); {} writes "
                             "{} and {}",
                             proxy->url(), stop_after > 0 ? fmt::format("request {} or Ctrl-C", stop_after) : "Ctrl-C",
                             lua_path.string(), conf_path.string())
              << std::endl;
    if (!ca_line.empty()) std::cout << ca_line << std::endl;
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    exchanges = proxy->stop();
    tunnels = proxy->tunnels();
    options.source = fmt::format("recorded by bench-record on {}", today());
  }
  if (exchanges.empty()) return fail(prog, "nothing was recorded: no file written");
  const record::Scenario scenario = record::write_scenario(exchanges, options);
  std::string error;
  if (!write_both(lua_path, scenario.lua, conf_path, scenario.conf, &error)) return fail(prog, error);
  std::cout << fmt::format("Wrote {} and {}: {}", lua_path.string(), conf_path.string(), summary(scenario, tunnels))
            << std::endl;
  std::cout << fmt::format("Run it once: bench-test {}", lua_path.string()) << std::endl;
  return 0;
}

}  // namespace bm::app
