#include "engine/test_loader.hpp"

#include "feeder/feeder.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "engine/worker.hpp"
#include "script/script_state.hpp"
#include "script/test_function.hpp"

namespace bm::engine {

namespace fs = std::filesystem;

namespace {

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

// [credential] host, port, lease_wait, lease_time; the [feeder.NAME] files, read once here
// and shared by every worker.
bool read_test_data(const conf::ConfFile& conf, const fs::path& test_file, EngineSettings& e, std::string* error) {
  CredentialServerSettings& server = e.credential_server;
  if (conf.has_key("credential", "port")) {
    if (auto host = conf.get("credential", "host", error); host && !host->empty()) server.host = *host;
    else if (!error->empty()) return false;
    const std::optional<long long> port = conf.get_int("credential", "port", error);
    if (!port) return false;
    if (*port < 1 || *port > 65535) {
      *error = conf.value_error("credential", "port", std::to_string(*port), "a port (1 to 65535)");
      return false;
    }
    server.port = static_cast<int>(*port);
  }
  const auto seconds = [&](const char* key, double low, double high, double& out) {
    const std::optional<double> value = conf.get_seconds("credential", key, low, high, error);
    if (value) out = *value;
    return value || error->empty();
  };
  if (!seconds("lease_wait", 0, 3600, server.lease_wait_s) || !seconds("lease_time", 0, 86400, server.lease_time_s)) {
    return false;
  }
  std::optional<std::vector<feeder::FeederSpec>> specs = feeder::read_feeder_specs(conf, error);
  if (!specs) return false;
  if (specs->empty()) return true;
  std::error_code ec;
  e.identity.feeders = feeder::FeederSet::load(std::move(*specs), fs::absolute(test_file, ec).parent_path(), error);
  return e.identity.feeders != nullptr;
}

}  // namespace

std::unique_ptr<LoadedTest> load_test(const TestSpec& o, conf::Mode mode, std::string* error) {
  const conf::GivenOptions& given = o.given;
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
  fs::path conf_path = given.config.empty() ? test_file.parent_path() / (name + ".conf") : fs::path(given.config);
  auto loaded = std::make_unique<LoadedTest>();
  if (!fs::exists(conf_path, ec)) {
    *error = fmt::format("{}: no such conf file (a test needs Name.conf beside it, or --config)", conf_path.string());
    return nullptr;
  }
  auto conf = conf::ConfFile::load(conf_path, error);
  if (!conf) return nullptr;
  loaded->conf = std::move(*conf);

  std::optional<conf::Overrides> ov = conf::overrides_from(given, error);
  if (!ov) return nullptr;
  // Tests read the URL with conf_get('main', 'url'): the override must reach them too,
  // as FunkLoad's command-line options did.
  if (!given.url.empty()) loaded->conf.set("main", "url", given.url);
  auto settings = conf::resolve_bench_settings(loaded->conf, *ov, mode, error, &loaded->warnings);
  if (!settings) return nullptr;
  if (settings->url.empty()) {
    *error = fmt::format("{}: [main] url is not set (or give -u URL)", conf_path.string());
    return nullptr;
  }

  if (settings->tls_verify && !make_tls_context(*settings, error)) return nullptr;
  EngineSettings& e = loaded->engine;
  e.bench = std::move(*settings);
  e.test_file = test_file;
  e.conf = &loaded->conf;
  e.identity.test_name = name;
  e.identity.test_file_shown = o.test_file_shown.empty() ? o.test_file : o.test_file_shown;
  e.identity.url = e.bench.url;
  e.identity.version = BM_VERSION;
  if (auto node = loaded->conf.get_int("bench", "node_num", error)) e.identity.node_num = static_cast<int>(*node);
  else if (!error->empty()) return nullptr;
  if (!read_test_data(loaded->conf, test_file, e, error)) return nullptr;
  unsigned cores = std::thread::hardware_concurrency();
  e.workers = given.workers > 0 ? given.workers : static_cast<int>(cores == 0 ? 1 : cores);
  e.seed = given.seed;
  std::vector<std::string> functions;
  if (!check_script(*loaded, o.load_as_node_0, &functions, error)) return nullptr;
  // The function to run: the one named (-e, or Name.test_fn after the test file), else
  // test_<Name>, else the file's only test_* function.
  const std::string file_name = test_file.filename().string();
  e.test_function = script::choose_test_function(file_name, name,
                                                 given.function.empty() ? o.function_operand : given.function,
                                                 functions, error);
  if (e.test_function.empty()) return nullptr;
  if (!given.function.empty() && !o.function_operand.empty()) {
    std::string problem;
    const std::string also = script::choose_test_function(file_name, name, o.function_operand, functions, &problem);
    if (also != e.test_function) {
      *error = also.empty() ? problem
                            : fmt::format("command line: -e/--function '{}' and '{}' after the test name different "
                                          "functions",
                                          given.function, o.function_operand);
      return nullptr;
    }
  }
  return loaded;
}

}  // namespace bm::engine
