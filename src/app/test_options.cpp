#include "app/test_options.hpp"

#include <unistd.h>

#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "conf/values.hpp"
#include "engine/worker.hpp"
#include "script/script_state.hpp"
#include "script/test_function.hpp"

namespace bm::app {

namespace fs = std::filesystem;

const char* const kFunctionHelp =
    "the test function to run (default test_Name, else the file's only test_* function); Name.test_fn also works";

std::string version_string() { return std::string("benchmaster/") + BM_VERSION; }

void add_test_options(CLI::App& app, TestOptions& o, conf::Mode mode) {
  app.add_option("test", o.test_file, "the test file, test_Name.lua (its conf Name.conf sits beside it)")
      ->required();
  app.add_option("function", o.function_operand,
                 "the test function to run, as with -e: test_fn or FunkLoad's Name.test_fn");
  app.add_option("--config", o.config, "the conf file to use instead of Name.conf beside the test");
  app.add_option("-e,--function", o.function, kFunctionHelp);
  app.add_option("-u,--url", o.url, "base URL of the target, overrides [main] url");
  app.add_option("-m,--sleep-time-min", o.sleep_min, "minimum pause after each page, seconds");
  app.add_option("-M,--sleep-time-max", o.sleep_max, "maximum pause after each page, seconds");
  app.add_option("--ok-codes", o.ok_codes, "HTTP codes that count as success, e.g. 200:301:302");
  app.add_option("--connect-timeout", o.connect_timeout, "connect timeout, seconds (default 10)");
  app.add_option("--timeout", o.timeout, "longest a response may take, seconds (default 30)");
  app.add_flag("--simple-fetch", o.simple_fetch, "do not fetch the images, CSS and scripts of HTML pages");
  app.add_flag("--tls-verify", o.tls_verify, "check HTTPS servers' certificates against the system's CAs");
  app.add_option("--tls-ca-file", o.tls_ca_file, "check HTTPS servers' certificates against these CAs (PEM file)");
  app.add_option("--seed", o.seed, "seed for think-time randomness (default: from the clock)");
  if (mode == conf::Mode::bench) {
    app.add_option("-c,--cycles", o.cycles, "virtual users per cycle, e.g. 10:20:30, overrides [bench] cycles");
    app.add_option("-D,--duration", o.duration, "logging window of each cycle, seconds");
    app.add_option("-t,--test-sleep-time", o.test_sleep, "pause between two tests of a virtual user, seconds");
    app.add_option("-s,--startup-delay", o.startup_delay, "pause between two virtual user starts, seconds");
    app.add_option("--cycle-time", o.cycle_time, "pause after each cycle, seconds");
    app.add_flag("-f,--as-fast-as-possible", o.fast, "no pauses at all: same as -m 0 -M 0 -t 0");
    app.add_option("--apdex-t", o.apdex_t, "Apdex threshold T, seconds (default 1.5)");
    app.add_option("--workers", o.workers, "event-loop threads (default: one per core)");
  }
}

namespace {

bool number_option(const std::string& text, const char* name, std::optional<double>& out, std::string* error) {
  if (text.empty()) return true;
  auto value = conf::parse_double(text);
  if (!value) {
    *error = fmt::format("command line: {}: '{}' is not a number", name, text);
    return false;
  }
  out = *value;
  return true;
}

// Loads the test file in a Lua state of its own, as each worker will, so that a syntax
// error (or an error in its top-level code) is one "test_X.lua:12: ..." line before any
// banner is printed or anything starts. `as_node_0`: load it as bench-master's node 0
// will, in the test's folder (data files it opens are relative to it there) and with
// [bench] node_num = 0; then come back.
bool check_script(const LoadedTest& test, bool as_node_0, std::vector<std::string>* functions, std::string* error) {
  fs::path file = test.engine.test_file;
  conf::ConfFile conf = test.conf;
  script::ScriptIdentity identity = test.engine.identity;
  std::error_code ec;
  fs::path here;
  if (as_node_0) {
    if (!conf.has_key("bench", "node_num")) conf.set("bench", "node_num", "0");
    identity.node_num = 0;
    file = fs::absolute(file, ec);
    here = fs::current_path(ec);
    if (!ec) fs::current_path(file.parent_path(), ec);
    if (ec) {
      *error = fmt::format("{}: cannot enter the test's folder: {}", file.parent_path().string(), ec.message());
      return false;
    }
  }
  script::ScriptState probe;
  const bool loaded = probe.load(file, &conf, identity, error);
  if (loaded) *functions = probe.global_functions();
  if (as_node_0) fs::current_path(here, ec);
  return loaded;
}

}  // namespace

std::unique_ptr<LoadedTest> load_test(const TestOptions& o, conf::Mode mode, std::string* error) {
  fs::path test_file = o.test_file;
  std::error_code ec;
  if (!fs::is_regular_file(test_file, ec)) {
    *error = fmt::format("{}: no such test file", o.test_file);
    return nullptr;
  }
  if (access(test_file.c_str(), R_OK) != 0) {
    *error = fmt::format("{}: cannot read the test file: {}", o.test_file, std::strerror(errno));
    return nullptr;
  }
  std::string stem = test_file.stem().string();
  std::string name = stem.rfind("test_", 0) == 0 ? stem.substr(5) : stem;
  if (name.empty() || test_file.extension() != ".lua") {
    *error = fmt::format("{}: a test file is named test_Name.lua", o.test_file);
    return nullptr;
  }
  fs::path conf_path = o.config.empty() ? test_file.parent_path() / (name + ".conf") : fs::path(o.config);
  auto loaded = std::make_unique<LoadedTest>();
  if (!fs::exists(conf_path, ec)) {
    *error = fmt::format("{}: no such conf file (a test needs Name.conf beside it, or --config)", conf_path.string());
    return nullptr;
  }
  auto conf = conf::ConfFile::load(conf_path, error);
  if (!conf) return nullptr;
  loaded->conf = std::move(*conf);

  conf::Overrides ov;
  if (!o.url.empty()) {
    ov.url = o.url;
    // Tests read the URL with conf_get('main', 'url'): the override must reach them too,
    // as FunkLoad's command-line options did.
    loaded->conf.set("main", "url", o.url);
  }
  if (!o.cycles.empty()) {
    auto cycles = conf::parse_cycles(o.cycles);
    if (!cycles) {
      *error = fmt::format("command line: -c/--cycles: '{}' is not a list of positive integers separated by ':'",
                           o.cycles);
      return nullptr;
    }
    ov.cycles = *cycles;
  }
  if (!o.ok_codes.empty()) {
    auto codes = conf::parse_status_codes(o.ok_codes);
    if (!codes) {
      *error = fmt::format("command line: --ok-codes: '{}' is not a list of HTTP status codes separated by ':'",
                           o.ok_codes);
      return nullptr;
    }
    ov.ok_codes = *codes;
  }
  if (!number_option(o.duration, "-D/--duration", ov.duration_s, error) ||
      !number_option(o.startup_delay, "-s/--startup-delay", ov.startup_delay_s, error) ||
      !number_option(o.sleep_min, "-m/--sleep-time-min", ov.sleep_time_min_s, error) ||
      !number_option(o.sleep_max, "-M/--sleep-time-max", ov.sleep_time_max_s, error) ||
      !number_option(o.test_sleep, "-t/--test-sleep-time", ov.sleep_time_s, error) ||
      !number_option(o.cycle_time, "--cycle-time", ov.cycle_time_s, error) ||
      !number_option(o.apdex_t, "--apdex-t", ov.apdex_t_s, error) ||
      !number_option(o.connect_timeout, "--connect-timeout", ov.connect_timeout_s, error) ||
      !number_option(o.timeout, "--timeout", ov.read_timeout_s, error)) {
    return nullptr;
  }
  if (o.fast) {
    ov.sleep_time_min_s = 0;
    ov.sleep_time_max_s = 0;
    ov.sleep_time_s = 0;
  }
  if (o.simple_fetch) ov.fetch_resources = false;
  if (o.tls_verify) ov.tls_verify = true;
  if (!o.tls_ca_file.empty()) ov.tls_ca_file = o.tls_ca_file;
  auto settings = conf::resolve_bench_settings(loaded->conf, ov, mode, error, &loaded->warnings);
  if (!settings) return nullptr;
  if (settings->url.empty()) {
    *error = fmt::format("{}: [main] url is not set (or give -u URL)", conf_path.string());
    return nullptr;
  }

  if (settings->tls_verify && !engine::make_tls_context(*settings, error)) return nullptr;
  engine::EngineSettings& e = loaded->engine;
  e.bench = std::move(*settings);
  e.test_file = test_file;
  e.conf = &loaded->conf;
  e.identity.test_name = name;
  e.identity.url = e.bench.url;
  e.identity.version = BM_VERSION;
  if (auto node = loaded->conf.get_int("bench", "node_num", error)) e.identity.node_num = static_cast<int>(*node);
  else if (!error->empty()) return nullptr;
  unsigned cores = std::thread::hardware_concurrency();
  e.workers = o.workers > 0 ? o.workers : static_cast<int>(cores == 0 ? 1 : cores);
  e.seed = o.seed;
  std::vector<std::string> functions;
  if (!check_script(*loaded, o.load_as_node_0, &functions, error)) return nullptr;
  // The function to run: the one named (-e, or Name.test_fn after the test file), else
  // test_<Name>, else the file's only test_* function.
  const std::string file_name = test_file.filename().string();
  e.test_function = script::choose_test_function(file_name, name, o.function.empty() ? o.function_operand : o.function,
                                                 functions, error);
  if (e.test_function.empty()) return nullptr;
  if (!o.function.empty() && !o.function_operand.empty()) {
    std::string problem;
    const std::string also = script::choose_test_function(file_name, name, o.function_operand, functions, &problem);
    if (also != e.test_function) {
      *error = also.empty() ? problem
                            : fmt::format("command line: -e/--function '{}' and '{}' after the test name different "
                                          "functions",
                                          o.function, o.function_operand);
      return nullptr;
    }
  }
  return loaded;
}

}  // namespace bm::app
