#pragma once
// What the engine needs to run a test: resolved settings, never raw conf text.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "conf/bench_settings.hpp"
#include "script/script_state.hpp"

namespace bm::engine {

// One line of bench-test's trace: a request as it completed.
struct TraceEvent {
  std::string_view kind;     // "page", "redirect", "resource"
  std::string_view method;
  std::string_view url;
  int status = 0;
  int64_t latency_us = 0;
  uint64_t bytes = 0;
  std::string_view error;    // empty when ok
};

// [credential] host, port, lease_wait, lease_time: where credential(), lease_credential()
// and vu:release_credential() go (docs/test-data.md).
struct CredentialServerSettings {
  std::string host = "127.0.0.1";
  int port = 0;               // 0: the conf names no credential server
  double lease_wait_s = 10;   // how long lease_credential() waits for a free login
  double lease_time_s = 0;    // how long a lease lasts; 0: the server's lease_time
};

struct EngineSettings {
  conf::BenchSettings bench;
  std::filesystem::path test_file;
  std::string test_function;           // e.g. "test_Simple"
  const conf::ConfFile* conf = nullptr;
  CredentialServerSettings credential_server;
  script::ScriptIdentity identity;
  int workers = 1;
  uint64_t seed = 0;                   // think-time randomness; 0 = from the clock
  std::function<void(const TraceEvent&)> trace;   // bench-test: called on the worker thread
  // bench-test: called on the worker thread when a test ends (failed or not).
  // After each failed test, and after each passed one too when report_passed_tests is set
  // (a call per test is a measurable share of a one-request test's cost).
  std::function<void(uint64_t iteration, const script::RunResult&, int64_t duration_us)> on_test;
  bool report_passed_tests = true;
};

}  // namespace bm::engine
