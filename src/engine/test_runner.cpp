#include "engine/test_runner.hpp"

#include <limits>
#include <mutex>
#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "common/format.hpp"
#include "engine/bench_runner.hpp"
#include "engine/worker.hpp"

namespace bm::engine {

int run_functional_test(FunctionalOptions options, std::ostream& out, std::string* error,
                        stats::CycleResults* figures) {
  std::mutex out_mutex;
  EngineSettings& engine = options.engine;
  engine.workers = 1;
  if (options.verbose) {
    engine.trace = [&](const TraceEvent& e) {
      std::lock_guard lock(out_mutex);
      std::string indent = e.kind == "page" ? "" : "  ";
      if (e.error.empty() || e.status != 0) {
        out << fmt::format("{}{} {} -> {} in {}, {} bytes{}{}\n", indent, e.method, e.url, e.status,
                           common::format_latency(e.latency_us), e.bytes, e.kind == "page" ? "" : fmt::format(" ({})", e.kind),
                           e.error.empty() ? "" : fmt::format(" [{}]", e.error));
      } else {
        out << fmt::format("{}{} {} -> error after {}: {}\n", indent, e.method, e.url, common::format_latency(e.latency_us),
                           e.error);
      }
    };
  }
  // log() lines go where the caller says (a log file), else to the output unless quiet.
  if (!engine.identity.log_sink && options.verbose) {
    engine.identity.log_sink = [&](std::string_view line) {
      std::lock_guard lock(out_mutex);
      out << "log: " << line << '\n';
    };
  }
  int failed = 0;
  // Quiet (-q): failures and the summary only, so passed tests cost no call at all, which
  // also keeps bench/'s fixed-count measurements free of a line per test. The passed
  // tests are counted from the results.
  engine.report_passed_tests = options.verbose;
  engine.on_test = [&](uint64_t iteration, const script::RunResult& result, int64_t duration_us) {
    std::lock_guard lock(out_mutex);
    if (result.state == script::RunResult::State::failed) {
      ++failed;
      out << fmt::format("{} {} #{}: {} ({}): {}\n", result.verdict == script::Verdict::failure ? "FAIL" : "ERROR",
                         engine.test_function, iteration, result.kind,
                         result.verdict == script::Verdict::failure ? "F" : "E", result.message);
      if (!result.traceback.empty()) out << result.traceback << '\n';
    } else {
      out << fmt::format("ok {} #{} in {}\n", engine.test_function, iteration, common::format_latency(duration_us));
    }
    out << std::flush;
  };

  ClockBase clock;
  Worker worker(0, engine, clock);
  if (!worker.start(error)) return 2;
  std::vector<VuStart> starts;
  for (int vu = 0; vu < options.users; ++vu) starts.push_back(VuStart{vu, mono_ns()});
  worker.begin_cycle(0, options.users, std::move(starts), 0, std::numeric_limits<int64_t>::max(),
                     static_cast<uint64_t>(options.iterations));
  bool interrupted = false;
  while (worker.stopped_vus() < options.users) {
    if (g_interrupts.load() > 0 && !interrupted) {
      interrupted = true;
      worker.stop_vus(true);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stats::CycleResults results = worker.harvest_cycle();
  worker.join();
  uint64_t passed = 0;
  for (const auto& test : results.tests) passed += test.stats.ok;
  if (figures) *figures = std::move(results);
  out << fmt::format("{}: {} passed, {} failed\n", engine.test_function, passed, failed);
  if (interrupted) return 130;
  return failed > 0 || passed == 0 ? 1 : 0;
}

}  // namespace bm::engine
