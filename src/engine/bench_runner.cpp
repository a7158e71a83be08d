#include "engine/bench_runner.hpp"

#include <semaphore.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "engine/clock.hpp"
#include "engine/cycle_gate.hpp"
#include "protocol/node_protocol.hpp"
#include "engine/worker.hpp"

namespace bm::engine {

std::atomic<int> g_interrupts{0};

namespace {

// Posted by the first interrupt: the exit guard's cue.
struct InterruptPosted {
  sem_t sem;
  InterruptPosted() { sem_init(&sem, 0, 0); }
} g_interrupt_posted;

// The first request to stop: counted, and the exit guard told (async-signal-safe).
void on_interrupt_first() {
  int idle = 0;
  if (g_interrupts.compare_exchange_strong(idle, 1)) sem_post(&g_interrupt_posted.sem);
}

void on_interrupt(int) {
  if (g_interrupts.load() == 0) {
    on_interrupt_first();
    return;
  }
  // A second Ctrl-C while results are being saved ends the process at once.
  if (g_interrupts.fetch_add(1) >= 1) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    raise(SIGINT);
  }
}

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// Bench and cycle hooks run in a Lua state of their own, as FunkLoad ran them on a
// separate test instance: they can make requests, but cannot share state with users.
class Hooks {
 public:
  Hooks(Worker& control) : control_(control) {}
  bool run(script::Hook hook, int cycle, int cvus, std::string* error) {
    script::RunResult result = control_.run_hook(hook, cycle, cvus);
    if (result.state == script::RunResult::State::failed) {
      *error = fmt::format("{} failed: {}", script::hook_name(hook), result.message);
      return false;
    }
    return true;
  }

 private:
  Worker& control_;
};

struct LogFile {
  std::mutex mutex;
  std::ofstream file;
  void write(std::string_view line) {
    std::lock_guard lock(mutex);
    if (!file.is_open()) return;  // lines from loading the test, before the folder exists
    file << line << '\n';
    file.flush();
  }
};

// Every virtual user holds a connection: make sure the largest cycle fits under the
// open-file limit (raising the soft limit to the hard one if needed), or say so now
// rather than failing mid-cycle.
bool check_file_limit(int most_users, std::string* error) {
  constexpr int kSpare = 64;  // log, results, Lua, event loop descriptors
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return true;
  rlim_t needed = static_cast<rlim_t>(most_users) + kSpare;
  if (limit.rlim_cur >= needed) return true;
  if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= needed) {
    limit.rlim_cur = needed;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) return true;
  }
  *error = fmt::format(
      "a cycle of {} virtual users needs {} open files, and this process may open at most {} (ulimit -n); "
      "lower the concurrency, raise the limit, or spread the load over more nodes",
      most_users, needed, static_cast<unsigned long long>(limit.rlim_max));
  return false;
}

}  // namespace

void request_interrupt() { on_interrupt_first(); }

void install_interrupt_handlers() {
  // The first interrupt ends the process within kStopBound whatever the test does:
  // normally the runner stops the users and saves well before; if something holds it
  // (C code that never returns), the finished cycles are already on disk.
  static bool guard_started = false;
  if (!guard_started) {
    guard_started = true;
    std::thread([] {
      while (sem_wait(&g_interrupt_posted.sem) != 0) {
      }
      std::this_thread::sleep_for(kStopBound);
      const char message[] = "did not stop within 15 s of the interrupt: exiting (finished cycles are saved)\n";
      ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
      (void)ignored;
      std::_Exit(130);
    }).detach();
  }
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

BenchRunner::BenchRunner(BenchOptions options, std::ostream& out) : options_(std::move(options)), out_(out) {}

int BenchRunner::run(std::string* error) {
  namespace fs = std::filesystem;
  const conf::BenchSettings& bench = options_.engine.bench;
  auto log = std::make_shared<LogFile>();
  EngineSettings& engine = options_.engine;
  if (!engine.identity.log_sink) engine.identity.log_sink = [log](std::string_view line) { log->write(line); };

  if (!check_file_limit(*std::max_element(bench.cycles.begin(), bench.cycles.end()), error)) return 2;
  ClockBase clock;
  stats::Results& r = results_;
  r.run.test = engine.identity.test_name;
  r.run.test_file = engine.test_file.string();
  r.run.conf_file = engine.conf ? engine.conf->source() : "";
  r.run.function = engine.test_function;
  r.run.title = bench.title;
  r.run.description = bench.description;
  r.run.url = bench.url;
  r.run.label = options_.label;
  r.run.host = host_name();
  r.run.node_num = engine.identity.node_num;
  r.run.command_line = options_.command_line;
  r.run.start_epoch_us = wall_us();
  r.run.status = stats::RunStatus::running;
  r.run.workers = engine.workers;
  r.run.pid = static_cast<int64_t>(getpid());
  r.config.cycles = bench.cycles;
  r.config.duration_s = bench.duration_s;
  r.config.startup_delay_s = bench.startup_delay_s;
  r.config.sleep_time_s = bench.sleep_time_s;
  r.config.sleep_time_min_s = bench.sleep_time_min_s;
  r.config.sleep_time_max_s = bench.sleep_time_max_s;
  r.config.cycle_time_s = bench.cycle_time_s;
  r.config.apdex_t_s = bench.apdex_t_s;
  r.config.ok_codes = bench.ok_codes;
  r.config.fetch_resources = bench.fetch_resources;
  r.config.connect_timeout_s = bench.connect_timeout_s;
  r.config.read_timeout_s = bench.read_timeout_s;
  r.config.max_redirects = bench.max_redirects;
  r.config.tls_verify = bench.tls_verify;
  if (engine.conf) {
    for (const auto& section : engine.conf->sections()) {
      for (const auto& key : engine.conf->keys(section)) {
        r.conf[section][key] = engine.conf->get(section, key).value_or("");
      }
    }
  }

  const fs::path results_file = results_path();
  auto save = [&]() -> bool {
    std::string write_error;
    if (!stats::write_results_atomic(r, results_file, &write_error)) {
      *error = write_error;
      return false;
    }
    return true;
  };

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < engine.workers; ++i) {
    workers.push_back(std::make_unique<Worker>(i, engine, clock));
    if (!workers.back()->start(error)) return 2;
  }
  Worker control(-1, engine, clock);
  if (!control.start(error)) return 2;
  Hooks hooks(control);
  // The output folder is made once the test has loaded, so a test that cannot run
  // leaves nothing behind.
  std::error_code ec;
  fs::create_directories(options_.output_dir, ec);
  if (ec) {
    *error = fmt::format("cannot create output folder {}: {}", options_.output_dir.string(), ec.message());
    return 2;
  }
  {
    std::lock_guard lock(log->mutex);
    log->file.open(options_.output_dir / "bench.log", std::ios::app);
  }
  if (!log->file) {
    *error = fmt::format("cannot write {}", (options_.output_dir / "bench.log").string());
    return 2;
  }
  if (!save()) return 2;

  // Stops waiting on Ctrl-C, and on a worker's fatal error (e.g. out of descriptors).
  auto interrupted = [&] {
    if (g_interrupts.load() > 0) return true;
    for (auto& w : workers) {
      if (!w->fatal_error().empty()) return true;
    }
    return false;
  };
  // Sleeps until `deadline_ns` in short steps, calling tick between them; false when
  // interrupted first.
  auto wait_until = [&](int64_t deadline_ns, const std::function<void()>& tick) {
    while (true) {
      if (interrupted()) return false;
      int64_t now = mono_ns();
      if (now >= deadline_ns) return true;
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(deadline_ns - now, 100'000'000)));
      if (tick) tick();
    }
  };

  std::string hook_error;
  if (!hooks.run(script::Hook::setup_bench, 0, 0, &hook_error)) {
    *error = hook_error;
    r.run.status = stats::RunStatus::interrupted;
    r.run.end_epoch_us = wall_us();
    save();
    return 2;
  }

  uint64_t printed_ok = 0, printed_failed = 0, printed_errors = 0;
  auto print_test_progress = [&] {
    uint64_t ok = 0, failed = 0, errors = 0;
    for (auto& w : workers) {
      ok += w->progress().tests_ok.load(std::memory_order_relaxed);
      failed += w->progress().tests_failed.load(std::memory_order_relaxed);
      errors += w->progress().tests_errors.load(std::memory_order_relaxed);
    }
    uint64_t d_ok = ok - printed_ok, d_failed = failed - printed_failed, d_errors = errors - printed_errors;
    printed_ok = ok;
    printed_failed = failed;
    printed_errors = errors;
    // One character per test, as FunkLoad printed; past 40 tests in a tick, one
    // character for the whole tick, the worst verdict in it.
    if (d_ok + d_failed + d_errors <= 40) {
      out_ << std::string(d_ok, '.') << std::string(d_failed, 'F') << std::string(d_errors, 'E');
    } else {
      out_ << (d_errors ? 'E' : d_failed ? 'F' : '.');
    }
    out_ << std::flush;
  };

  auto merge_series = [&](bool include_current) {
    for (auto& w : workers) stats::merge_series(r.series, w->harvest_series(include_current));
  };

  // bench-node's live feed for the master: one line per finished second,
  // "@progress {json}" with that second's series point (counts and latency buckets).
  int64_t last_printed_second = 0;
  auto print_progress = [&](int64_t before_second) {
    for (const auto& point : r.series) {
      if (point.t <= last_printed_second || point.t >= before_second) continue;
      out_ << protocol::progress_line(point) << '\n';
      last_printed_second = point.t;
    }
    out_ << std::flush;
  };

  int exit_code = 0;
  bool was_interrupted = false;
  const int nworkers = static_cast<int>(workers.size());
  for (size_t ci = 0; ci < bench.cycles.size() && !was_interrupted; ++ci) {
    const int cycle = static_cast<int>(ci);
    const int cvus = bench.cycles[ci];
    if (!hooks.run(script::Hook::setup_cycle, cycle, cvus, &hook_error)) {
      *error = hook_error;
      exit_code = 2;
      was_interrupted = true;
      break;
    }
    // When the cycle starts: now, or in a distributed run at the time the master gave
    // every node (cycle 1: --start-at; later cycles: through the gate, once every node
    // has drained the one before).
    int64_t t0 = mono_ns() + 20'000'000;
    std::optional<int64_t> common_start_us;
    if (ci == 0 && options_.start_at_epoch_us > 0) {
      common_start_us = options_.start_at_epoch_us;
    } else if (ci > 0 && options_.gate != nullptr) {
      out_ << protocol::cycle_done_line({cycle - 1, r.cycles.back().end_epoch_us}) << '\n' << std::flush;
      common_start_us = options_.gate->wait(cycle, interrupted);
      if (!common_start_us) {
        was_interrupted = true;
        break;
      }
    }
    if (common_start_us) {
      const int64_t start_ns = clock.mono_at_epoch_us(*common_start_us);
      if (ci == 0 && start_ns > mono_ns()) {
        out_ << fmt::format("Waiting {:.1f} s for the common start time\n", (start_ns - mono_ns()) / 1e9) << std::flush;
      }
      if (!wait_until(start_ns, nullptr)) {
        was_interrupted = true;
        break;
      }
      t0 = std::max(start_ns, mono_ns());  // late (a slow hook): start now, the skew shows
    }
    out_ << fmt::format("Cycle #{} with {} virtual users\n", cycle, cvus) << std::flush;

    const int64_t delay_ns = static_cast<int64_t>(bench.startup_delay_s * 1e9);
    const int64_t window_start = t0 + delay_ns * (cvus - 1);
    const int64_t window_end = window_start + static_cast<int64_t>(bench.duration_s * 1e9);
    std::vector<std::vector<VuStart>> starts(nworkers);
    for (int k = 0; k < cvus; ++k) starts[k % nworkers].push_back(VuStart{k, t0 + delay_ns * k});
    for (int w = 0; w < nworkers; ++w) {
      workers[w]->begin_cycle(cycle, cvus, std::move(starts[w]), window_start, window_end);
    }
    stats::CycleResults cycle_results;
    cycle_results.start_epoch_us = clock.epoch_us(t0);
    cycle_results.window_start_epoch_us = clock.epoch_us(window_start);
    cycle_results.window_end_epoch_us = clock.epoch_us(window_end);

    // Start-up: one '.' per virtual user started.
    out_ << fmt::format("* Starting {} virtual users: ", cvus) << std::flush;
    int printed_started = 0;
    auto print_started = [&] {
      int started = 0;
      for (auto& w : workers) started += w->started_vus();
      if (started > printed_started) out_ << std::string(started - printed_started, '.') << std::flush;
      printed_started = std::max(printed_started, started);
    };
    int64_t last_series_ns = mono_ns();
    auto tick_series = [&] {
      if (!options_.progress_json || mono_ns() - last_series_ns < 1'000'000'000) return;
      last_series_ns = mono_ns();
      merge_series(false);
      print_progress(clock.epoch_second(mono_ns()));
    };
    bool ok = wait_until(window_start, [&] {
      print_started();
      tick_series();
    });
    if (ok) {
      // Every user is due by now; the last may be a few microseconds from starting.
      out_ << std::string(cvus - printed_started, '.') << " done.\n";
      out_ << fmt::format("* Logging for {:g} seconds: ", bench.duration_s) << std::flush;
      print_test_progress();
      const int64_t mid = window_start + (window_end - window_start) / 2;
      ok = wait_until(mid, [&] {
        print_test_progress();
        tick_series();
      });
      if (ok && !hooks.run(script::Hook::mid_cycle, cycle, cvus, &hook_error)) log->write(hook_error);
      if (ok) ok = wait_until(window_end, [&] {
        print_test_progress();
        tick_series();
      });
      print_test_progress();
    }
    for (auto& w : workers) {
      if (std::string fatal = w->fatal_error(); !fatal.empty()) {
        *error = fatal;
        exit_code = 2;
        ok = false;
      }
    }
    if (!ok) {
      // Interrupted: close the window now, drop what is in flight.
      const int64_t now = mono_ns();
      for (auto& w : workers) w->end_window(now);
      for (auto& w : workers) w->stop_vus(true);
      cycle_results.window_end_epoch_us = clock.epoch_us(std::max(now, window_start));
      cycle_results.status = stats::CycleStatus::incomplete;
      was_interrupted = true;
      out_ << "\n* Interrupted: stopping.\n" << std::flush;
    } else {
      out_ << " done.\n* Stopping virtual users: " << std::flush;
      for (auto& w : workers) w->stop_vus(false);
    }
    // Drain: each virtual user finishes its test (sleeps included); nothing counts now.
    int printed_stopped = 0;
    auto all_stopped = [&] {
      int stopped = 0, total = 0;
      for (auto& w : workers) {
        stopped += w->stopped_vus();
      }
      total = cvus;
      if (!was_interrupted && stopped > printed_stopped) out_ << std::string(stopped - printed_stopped, '.') << std::flush;
      printed_stopped = std::max(printed_stopped, stopped);
      return stopped >= total;
    };
    while (!all_stopped()) {
      if (!was_interrupted && interrupted()) {
        for (auto& w : workers) w->stop_vus(true);
        cycle_results.status = stats::CycleStatus::incomplete;
        was_interrupted = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      tick_series();
    }
    if (!was_interrupted) out_ << " done.\n" << std::flush;
    cycle_results.end_epoch_us = wall_us();
    cycle_results.window_s =
        (cycle_results.window_end_epoch_us - cycle_results.window_start_epoch_us) / 1e6;
    for (auto& w : workers) cycle_results.merge(w->harvest_cycle());
    for (auto& w : workers) cycle_results.control_lag_us = std::max(cycle_results.control_lag_us, w->take_control_lag_us());
    cycle_results.index = cycle;
    cycle_results.cvus = cvus;  // each worker's part named the whole cycle's users
    merge_series(true);
    if (options_.progress_json) print_progress(clock.epoch_second(mono_ns()) + 1);
    r.cycles.push_back(std::move(cycle_results));
    const stats::CycleResults& done = r.cycles.back();
    if (!save()) return 2;

    const stats::Entry* test = done.tests.empty() ? nullptr : &*done.tests.begin();
    uint64_t t_ok = test ? test->stats.ok : 0, t_failed = test ? test->stats.failures : 0,
             t_errors = test ? test->stats.errors : 0;
    uint64_t requests = 0;  // successful ones: a rate counts successes (docs/statistics.md)
    for (const auto& req : done.requests) requests += req.stats.ok;
    out_ << fmt::format("* Cycle #{} {}: {} tests ok, {} failed, {} errors; {:.1f} successful requests/s\n", cycle,
                        done.status == stats::CycleStatus::complete ? "done" : "incomplete", t_ok, t_failed, t_errors,
                        done.window_s > 0 ? requests / done.window_s : 0.0)
         << std::flush;
    if (t_failed + t_errors > 0 && exit_code == 0) exit_code = 1;
    if (was_interrupted) break;

    if (!hooks.run(script::Hook::teardown_cycle, cycle, cvus, &hook_error)) log->write(hook_error);
    if (ci + 1 < bench.cycles.size() && bench.cycle_time_s > 0 && options_.gate == nullptr) {
      if (!wait_until(mono_ns() + static_cast<int64_t>(bench.cycle_time_s * 1e9), nullptr)) was_interrupted = true;
    }
  }

  if (!was_interrupted && !hooks.run(script::Hook::teardown_bench, 0, 0, &hook_error)) log->write(hook_error);
  r.run.status = was_interrupted ? stats::RunStatus::interrupted : stats::RunStatus::complete;
  r.run.end_epoch_us = wall_us();
  if (!save()) return 2;
  for (auto& w : workers) w->join();
  control.join();
  if (exit_code == 2) return 2;
  if (was_interrupted) return 130;
  return exit_code;
}

}  // namespace bm::engine
