#include "engine/bench_runner.hpp"

#include "common/format.hpp"

#include "feeder/feeder.hpp"
#include "engine/generator_sampler.hpp"

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

#include "conf/values.hpp"
#include "engine/arrival_schedule.hpp"
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

namespace {

// One bench, step by step: set up (results header, workers, output folder), then for
// each cycle its start (now, or the common start of a distributed run), start-up,
// logging window, drain, and the save; then the end of the run. Steps return false
// when the run must stop; `stopped_` says whether by an interrupt.
class BenchRun {
 public:
  BenchRun(BenchOptions& options, std::ostream& out, stats::Results& results, std::filesystem::path results_file,
           std::string* error)
      : options_(options),
        bench_(options.engine.bench),
        out_(out),
        r_(results),
        results_file_(std::move(results_file)),
        error_(error) {}

  int run() {
    if (!set_up()) return 2;
    if (!hooks_->run(script::Hook::setup_bench, 0, 0, &hook_error_)) {
      *error_ = hook_error_;
      r_.run.status = stats::RunStatus::interrupted;
      r_.run.end_epoch_us = clock_.epoch_us(mono_ns());
      save();
      return 2;
    }
    for (std::size_t ci = 0; ci < bench_.cycles.size() && !stopped_; ++ci) {
      if (!run_cycle(ci)) break;
    }
    return finish();
  }

 private:
  // ---- set-up ------------------------------------------------------------------------

  bool set_up() {
    EngineSettings& engine = options_.engine;
    if (!engine.identity.log_sink) engine.identity.log_sink = [log = log_](std::string_view line) { log->write(line); };
    if (!check_file_limit(*std::max_element(bench_.cycles.begin(), bench_.cycles.end()), error_)) return false;
    describe_run();
    for (int i = 0; i < engine.workers; ++i) {
      workers_.push_back(std::make_unique<Worker>(i, engine, clock_));
      if (!workers_.back()->start(error_)) return false;
    }
    control_ = std::make_unique<Worker>(-1, engine, clock_);
    if (!control_->start(error_)) return false;
    hooks_ = std::make_unique<Hooks>(*control_);
    stats::GeneratorHealth identity;
    identity.node_num = engine.identity.node_num;
    identity.host = r_.run.host;
    identity.workers = engine.workers;
    sampler_ = std::make_unique<GeneratorSampler>(std::move(identity), [this] {
      LoopFigures figures;
      for (auto& w : workers_) {
        figures.lag_ns = std::max(figures.lag_ns, w->take_loop_lag_ns());
        figures.connections += w->open_connections();
      }
      return figures;
    });
    sampler_->start();
    return open_output() && save();
  }

  // The results file's header: what ran, where, with which settings and conf.
  void describe_run() {
    const EngineSettings& engine = options_.engine;
    r_.run.test = engine.identity.test_name;
    r_.run.test_file = engine.test_file.string();
    r_.run.conf_file = engine.conf ? engine.conf->source() : "";
    r_.run.function = engine.test_function;
    r_.run.title = bench_.title;
    r_.run.description = bench_.description;
    r_.run.url = bench_.url;
    r_.run.label = options_.label;
    r_.run.host = host_name();
    r_.run.node_num = engine.identity.node_num;
    r_.run.command_line = options_.command_line;
    r_.run.start_epoch_us = clock_.epoch_us(mono_ns());
    r_.run.status = stats::RunStatus::running;
    r_.run.workers = engine.workers;
    r_.run.pid = static_cast<int64_t>(getpid());
    r_.config.cycles = bench_.cycles;
    r_.config.duration_s = bench_.duration_s;
    r_.config.startup_delay_s = bench_.startup_delay_s;
    r_.config.sleep_time_s = bench_.sleep_time_s;
    r_.config.sleep_time_min_s = bench_.sleep_time_min_s;
    r_.config.sleep_time_max_s = bench_.sleep_time_max_s;
    r_.config.cycle_time_s = bench_.cycle_time_s;
    r_.config.apdex_t_s = bench_.apdex_t_s;
    r_.config.ok_codes = bench_.ok_codes;
    r_.config.fetch_resources = bench_.fetch_resources;
    r_.config.connect_timeout_s = bench_.connect_timeout_s;
    r_.config.read_timeout_s = bench_.read_timeout_s;
    r_.config.max_redirects = bench_.max_redirects;
    r_.config.tls_verify = bench_.tls_verify;
    r_.config.thresholds = bench_.thresholds;
    if (bench_.open_model()) {
      r_.config.rates = conf::format_rates(bench_.rates);
      r_.config.max_users = bench_.max_users;
      r_.config.arrivals = bench_.poisson_arrivals ? "poisson" : "constant";
      r_.config.rate_part = fmt::format("{}/{}", bench_.rate_part_index, bench_.rate_part_count);
    }
    if (engine.conf) {
      for (const auto& section : engine.conf->sections()) {
        for (const auto& key : engine.conf->keys(section)) {
          r_.conf[section][key] = engine.conf->get(section, key).value_or("");
        }
      }
    }
  }

  // The output folder is made once the test has loaded, so a test that cannot run
  // leaves nothing behind.
  bool open_output() {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(options_.output_dir, ec);
    if (ec) {
      *error_ = fmt::format("cannot create output folder {}: {}", options_.output_dir.string(), ec.message());
      return false;
    }
    {
      std::lock_guard lock(log_->mutex);
      log_->file.open(options_.output_dir / "bench.log", std::ios::app);
    }
    if (!log_->file) {
      *error_ = fmt::format("cannot write {}", (options_.output_dir / "bench.log").string());
      return false;
    }
    return true;
  }

  bool save() {
    if (options_.monitor) r_.monitor = options_.monitor();
    if (sampler_) r_.generators = {sampler_->snapshot()};
    if (const auto& feeders = options_.engine.identity.feeders) {
      r_.feeders.clear();
      for (const auto& feeder : feeders->all()) {
        const feeder::FeederSpec& spec = feeder->spec();
        stats::FeederUse use;
        use.name = spec.name;
        use.file = spec.file;
        use.order = feeder::to_string(spec.order);
        use.at_end = feeder::to_string(spec.at_end);
        use.partitioned = spec.partition_by_node && !spec.part.empty();
        use.rows = feeder->rows();
        use.handed_out = feeder->handed_out();
        use.exhausted = feeder->exhausted();
        r_.feeders.push_back(std::move(use));
      }
    }
    std::string write_error;
    if (!stats::write_results_atomic(r_, results_file_, &write_error)) {
      *error_ = write_error;
      return false;
    }
    return true;
  }

  // ---- waiting -----------------------------------------------------------------------

  // Ctrl-C, or a worker's fatal error (e.g. out of descriptors).
  bool interrupted() const {
    if (g_interrupts.load() > 0) return true;
    for (const auto& w : workers_) {
      if (!w->fatal_error().empty()) return true;
    }
    return false;
  }

  // Sleeps until `deadline_ns` in steps of at most 100 ms, calling tick between them;
  // false when interrupted first.
  bool wait_until(int64_t deadline_ns, const std::function<void()>& tick) {
    while (true) {
      if (interrupted()) return false;
      const int64_t now = mono_ns();
      if (now >= deadline_ns) return true;
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(deadline_ns - now, 100'000'000)));
      if (tick) tick();
    }
  }

  // ---- one cycle ---------------------------------------------------------------------

  struct Cycle {
    int index = 0;
    int cvus = 0;
    int64_t t0 = 0, window_start = 0, window_end = 0;  // monotonic ns
    stats::CycleResults results;
  };

  bool run_cycle(std::size_t ci) {
    Cycle cycle;
    cycle.index = static_cast<int>(ci);
    cycle.cvus = bench_.cycles[ci];
    if (!hooks_->run(script::Hook::setup_cycle, cycle.index, cycle.cvus, &hook_error_)) {
      *error_ = hook_error_;
      exit_code_ = 2;
      stopped_ = true;
      return false;
    }
    if (!start_time(ci, cycle)) {
      stopped_ = !ended_by_master_;
      return false;
    }
    if (bench_.open_model()) {
      out_ << fmt::format("Cycle #{} at {} iterations/s ({} arrivals, up to {} virtual users)\n",
                          common::cycle_number(cycle.index), describe_rate(ci), arrivals_name(), bench_.max_users)
           << std::flush;
    } else {
      out_ << fmt::format("Cycle #{} with {} virtual users\n", common::cycle_number(cycle.index), cycle.cvus)
           << std::flush;
    }
    start_users(cycle);
    bool ok = wait_for_window(cycle) && log_window(cycle);
    print_test_progress();
    ok = check_fatal() && ok;
    if (!ok) {
      interrupt_cycle(cycle);
    } else {
      out_ << " done.\n* Stopping virtual users: " << std::flush;
      for (auto& w : workers_) w->stop_vus(false);
    }
    drain(cycle);
    if (!save_cycle(cycle)) return false;
    if (stopped_) return false;
    if (!hooks_->run(script::Hook::teardown_cycle, cycle.index, cycle.cvus, &hook_error_)) log_->write(hook_error_);
    if (options_.cycle_check && ci + 1 < bench_.cycles.size()) {
      std::string reason = options_.cycle_check(r_.cycles.back());
      if (!reason.empty()) {
        out_ << "* Stopping the bench after cycle #" << common::cycle_number(cycle.index) << ": " << reason << '\n'
             << std::flush;
        log_->write("stopping the bench: " + reason);
        r_.run.stop_reason = std::move(reason);
        return false;
      }
    }
    pause_after(ci);
    return !stopped_;
  }

  // When the cycle starts: now, or in a distributed run at the time the master gave every
  // node (cycle 1: --start-at; later cycles: through the gate, once every node has
  // drained the one before). False when interrupted while waiting.
  bool start_time(std::size_t ci, Cycle& cycle) {
    cycle.t0 = mono_ns() + 20'000'000;
    std::optional<int64_t> common_start_us;
    if (ci == 0 && options_.start_at_epoch_us > 0) {
      common_start_us = options_.start_at_epoch_us;
    } else if (ci > 0 && options_.gate != nullptr) {
      if (options_.cycle_results) out_ << protocol::cycle_results_line(r_.cycles.back()) << '\n';
      out_ << protocol::cycle_done_line({cycle.index - 1, r_.cycles.back().end_epoch_us}) << '\n' << std::flush;
      common_start_us = options_.gate->wait(cycle.index, [this] { return interrupted(); });
      if (!common_start_us) {
        // The master ended the run (a threshold failed): complete, as far as it went.
        if (std::optional<std::string> reason = options_.gate->end_reason(); reason && !interrupted()) {
          out_ << "* The master ended the bench before cycle #" << common::cycle_number(cycle.index) << ": " << *reason
               << '\n' << std::flush;
          log_->write("the master ended the bench: " + *reason);
          r_.run.stop_reason = *reason;
          ended_by_master_ = true;
        }
        return false;
      }
    }
    if (!common_start_us) return true;
    const int64_t start_ns = clock_.mono_at_epoch_us(*common_start_us);
    if (ci == 0 && start_ns > mono_ns()) {
      out_ << fmt::format("Waiting {:.1f} s for the common start time\n", (start_ns - mono_ns()) / 1e9) << std::flush;
    }
    if (!wait_until(start_ns, nullptr)) return false;
    cycle.t0 = std::max(start_ns, mono_ns());  // late (a slow hook): start now, the skew shows
    return true;
  }

  // This node's part of cycle ci's rate, as "100" or "50->200".
  std::string describe_rate(std::size_t ci) const {
    const conf::RateStep step = node_rate(ci);
    return conf::format_rates({step});
  }
  const char* arrivals_name() const { return bench_.poisson_arrivals ? "poisson" : "constant"; }
  conf::RateStep node_rate(std::size_t ci) const {
    const double share = 1.0 / bench_.rate_part_count;
    return {bench_.rates[ci].from * share, bench_.rates[ci].to * share};
  }

  // Open model: the window opens startup_delay after the cycle's start (a warm-up at the
  // rate); each worker takes its interleaved part of the node's part of the schedule.
  void start_arrivals(Cycle& cycle) {
    const int nworkers = static_cast<int>(workers_.size());
    const auto ci = static_cast<std::size_t>(cycle.index);
    cycle.window_start = cycle.t0 + static_cast<int64_t>(bench_.startup_delay_s * 1e9);
    cycle.window_end = cycle.window_start + static_cast<int64_t>(bench_.duration_s * 1e9);
    // Fewer users than workers: only as many workers take part, one user each.
    const int active = std::min(nworkers, bench_.max_users);
    for (int w = 0; w < nworkers; ++w) {
      ArrivalSchedule::Params p;
      p.rate_from = bench_.rates[ci].from;
      p.rate_to = bench_.rates[ci].to;
      p.t0_ns = cycle.t0;
      p.span_ns = cycle.window_end - cycle.t0;
      p.end_ns = w < active ? cycle.window_end : cycle.t0;  // an idle worker starts nothing
      p.stride = bench_.rate_part_count * active;
      p.offset = bench_.rate_part_index + bench_.rate_part_count * w;
      p.poisson = bench_.poisson_arrivals;
      p.seed = (options_.engine.seed != 0 ? options_.engine.seed : static_cast<uint64_t>(wall_us())) * 1000003u +
               static_cast<uint64_t>(p.offset) * 7919u + static_cast<uint64_t>(cycle.index);
      // The pool bound is the node's: each worker takes its share.
      const int users = w < active ? bench_.max_users / active + (w < bench_.max_users % active ? 1 : 0) : 0;
      workers_[w]->begin_open_cycle(cycle.index, cycle.cvus, p, users, cycle.window_start, cycle.window_end);
    }
    cycle.results.start_epoch_us = clock_.epoch_us(cycle.t0);
    cycle.results.window_start_epoch_us = clock_.epoch_us(cycle.window_start);
    cycle.results.window_end_epoch_us = clock_.epoch_us(cycle.window_end);
  }

  // Users start startup_delay apart, spread over the workers in turn; the window opens
  // when the last has started.
  void start_users(Cycle& cycle) {
    if (bench_.open_model()) {
      start_arrivals(cycle);
      return;
    }
    const int nworkers = static_cast<int>(workers_.size());
    const int64_t delay_ns = static_cast<int64_t>(bench_.startup_delay_s * 1e9);
    cycle.window_start = cycle.t0 + delay_ns * (cycle.cvus - 1);
    cycle.window_end = cycle.window_start + static_cast<int64_t>(bench_.duration_s * 1e9);
    std::vector<std::vector<VuStart>> starts(nworkers);
    for (int k = 0; k < cycle.cvus; ++k) starts[k % nworkers].push_back(VuStart{k, cycle.t0 + delay_ns * k});
    for (int w = 0; w < nworkers; ++w) {
      workers_[w]->begin_cycle(cycle.index, cycle.cvus, std::move(starts[w]), cycle.window_start, cycle.window_end);
    }
    cycle.results.start_epoch_us = clock_.epoch_us(cycle.t0);
    cycle.results.window_start_epoch_us = clock_.epoch_us(cycle.window_start);
    cycle.results.window_end_epoch_us = clock_.epoch_us(cycle.window_end);
  }

  // Start-up: one '.' per virtual user started.
  bool wait_for_window(const Cycle& cycle) {
    if (bench_.open_model()) {
      if (cycle.window_start <= mono_ns()) return !interrupted();
      out_ << fmt::format("* Warming up for {:g} seconds at the rate: ", bench_.startup_delay_s) << std::flush;
      const bool ok = wait_until(cycle.window_start, [this] { tick_series(); });
      if (ok) out_ << "done.\n";
      return ok;
    }
    out_ << fmt::format("* Starting {} virtual users: ", cycle.cvus) << std::flush;
    int printed_started = 0;
    const bool ok = wait_until(cycle.window_start, [&] {
      int started = 0;
      for (auto& w : workers_) started += w->started_vus();
      if (started > printed_started) out_ << std::string(started - printed_started, '.') << std::flush;
      printed_started = std::max(printed_started, started);
      tick_series();
    });
    // Every user is due by now; the last may be a few microseconds from starting.
    if (ok) out_ << std::string(cycle.cvus - printed_started, '.') << " done.\n";
    return ok;
  }

  // The logging window, with the mid_cycle hook half-way.
  bool log_window(const Cycle& cycle) {
    out_ << fmt::format("* Logging for {:g} seconds: ", bench_.duration_s) << std::flush;
    print_test_progress();
    const auto tick = [this] {
      print_test_progress();
      tick_series();
    };
    const int64_t mid = cycle.window_start + (cycle.window_end - cycle.window_start) / 2;
    bool ok = wait_until(mid, tick);
    if (ok && !hooks_->run(script::Hook::mid_cycle, cycle.index, cycle.cvus, &hook_error_)) log_->write(hook_error_);
    if (ok) ok = wait_until(cycle.window_end, tick);
    return ok;
  }

  // A worker's fatal error ends the run: false then.
  bool check_fatal() {
    bool ok = true;
    for (auto& w : workers_) {
      if (std::string fatal = w->fatal_error(); !fatal.empty()) {
        *error_ = fatal;
        exit_code_ = 2;
        ok = false;
      }
    }
    return ok;
  }

  // Interrupted: close the window now, drop what is in flight (counted as abandoned).
  void interrupt_cycle(Cycle& cycle) {
    const int64_t now = mono_ns();
    for (auto& w : workers_) w->end_window(now);
    for (auto& w : workers_) w->stop_vus(true);
    cycle.results.window_end_epoch_us = clock_.epoch_us(std::max(now, cycle.window_start));
    cycle.results.status = stats::CycleStatus::incomplete;
    stopped_ = true;
    out_ << "\n* Interrupted: stopping.\n" << std::flush;
  }

  // Each virtual user finishes its test (sleeps included); nothing counts now. An
  // interrupt meanwhile drops the rest.
  void drain(Cycle& cycle) {
    int printed_stopped = 0;
    const auto all_stopped = [&] {
      int stopped = 0, created = 0;
      for (auto& w : workers_) {
        stopped += w->stopped_vus();
        created += w->created_vus();
      }
      if (!stopped_ && stopped > printed_stopped) out_ << std::string(stopped - printed_stopped, '.') << std::flush;
      printed_stopped = std::max(printed_stopped, stopped);
      return stopped >= created;
    };
    while (!all_stopped()) {
      if (!stopped_ && interrupted()) {
        for (auto& w : workers_) w->stop_vus(true);
        cycle.results.status = stats::CycleStatus::incomplete;
        stopped_ = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      tick_series();
    }
    if (!stopped_) out_ << " done.\n" << std::flush;
  }

  // The cycle's figures from every worker, into the results file.
  bool save_cycle(Cycle& cycle) {
    stats::CycleResults& results = cycle.results;
    results.end_epoch_us = clock_.epoch_us(mono_ns());  // the run's one mapping: a wall-clock step mid-run moves nothing
    results.window_s = (results.window_end_epoch_us - results.window_start_epoch_us) / 1e6;
    for (auto& w : workers_) results.merge(w->harvest_cycle());
    for (auto& w : workers_) results.control_lag_us = std::max(results.control_lag_us, w->take_control_lag_us());
    results.index = cycle.index;
    results.cvus = cycle.cvus;  // each worker's part named the whole cycle's users
    if (results.arrivals) {
      // The open model's users are the pool at its largest; the rate is this node's part.
      results.cvus = results.arrivals->peak_users;
      const conf::RateStep rate = node_rate(static_cast<std::size_t>(cycle.index));
      results.arrivals->rate_from = rate.from;
      results.arrivals->rate_to = rate.to;
    }
    merge_series(true);
    if (options_.progress_json) print_progress(clock_.epoch_second(mono_ns()) + 1);
    r_.cycles.push_back(std::move(results));
    if (!save()) {
      exit_code_ = 2;
      save_failed_ = true;
      return false;
    }
    print_cycle_summary(r_.cycles.back());
    return true;
  }

  void print_cycle_summary(const stats::CycleResults& done) {
    const stats::Entry* test = done.tests.empty() ? nullptr : &*done.tests.begin();
    const uint64_t t_ok = test ? test->stats.ok : 0, t_failed = test ? test->stats.failures : 0,
                   t_errors = test ? test->stats.errors : 0;
    uint64_t requests = 0;  // successful ones: a rate counts successes (docs/statistics.md)
    for (const auto& req : done.requests) requests += req.stats.ok;
    out_ << fmt::format("* Cycle #{} {}: {} tests ok, {} failed, {} errors; {:.1f} successful requests/s\n",
                        common::cycle_number(done.index),
                        done.status == stats::CycleStatus::complete ? "done" : "incomplete", t_ok,
                        t_failed, t_errors, done.window_s > 0 ? requests / done.window_s : 0.0);
    if (const auto& a = done.arrivals) {
      out_ << fmt::format("  iterations started {:.1f}/s of {}/s asked: {} of {} due, {} late (waited for a free "
                          "user, longest {:.1f} ms), {} missed; pool of {} users at most\n",
                          done.window_s > 0 ? a->started / done.window_s : 0.0,
                          conf::format_rates({conf::RateStep{a->rate_from, a->rate_to}}), a->started, a->due, a->late,
                          a->max_wait_us / 1000.0, a->missed, a->peak_users);
    }
    out_ << std::flush;
    if (t_failed + t_errors > 0 && exit_code_ == 0) exit_code_ = 1;
  }

  // cycle_time between cycles; a distributed run's common start includes it.
  void pause_after(std::size_t ci) {
    if (ci + 1 < bench_.cycles.size() && bench_.cycle_time_s > 0 && options_.gate == nullptr) {
      if (!wait_until(mono_ns() + static_cast<int64_t>(bench_.cycle_time_s * 1e9), nullptr)) stopped_ = true;
    }
  }

  // ---- the end -----------------------------------------------------------------------

  int finish() {
    if (save_failed_) return 2;
    if (!stopped_ && !hooks_->run(script::Hook::teardown_bench, 0, 0, &hook_error_)) log_->write(hook_error_);
    r_.run.status = stopped_ ? stats::RunStatus::interrupted : stats::RunStatus::complete;
    r_.run.end_epoch_us = clock_.epoch_us(mono_ns());
    if (!save()) return 2;
    for (auto& w : workers_) w->join();
    control_->join();
    if (exit_code_ == 2) return 2;
    if (stopped_) return 130;
    return exit_code_;
  }

  // ---- progress ----------------------------------------------------------------------

  // One character per test, as FunkLoad printed; past 40 tests in a tick, one character
  // for the whole tick, the worst verdict in it.
  void print_test_progress() {
    uint64_t ok = 0, failed = 0, errors = 0;
    for (auto& w : workers_) {
      ok += w->progress().tests_ok.load(std::memory_order_relaxed);
      failed += w->progress().tests_failed.load(std::memory_order_relaxed);
      errors += w->progress().tests_errors.load(std::memory_order_relaxed);
    }
    const uint64_t d_ok = ok - printed_ok_, d_failed = failed - printed_failed_, d_errors = errors - printed_errors_;
    printed_ok_ = ok;
    printed_failed_ = failed;
    printed_errors_ = errors;
    if (d_ok + d_failed + d_errors <= 40) {
      out_ << std::string(d_ok, '.') << std::string(d_failed, 'F') << std::string(d_errors, 'E');
    } else {
      out_ << (d_errors ? 'E' : d_failed ? 'F' : '.');
    }
    out_ << std::flush;
  }

  void merge_series(bool include_current) {
    for (auto& w : workers_) stats::merge_series(r_.series, w->harvest_series(include_current));
  }

  // bench-node's live feed for the master: one @progress line per finished second.
  void print_progress(int64_t before_second) {
    for (const auto& point : r_.series) {
      if (point.t <= last_printed_second_ || point.t >= before_second) continue;
      out_ << protocol::progress_line(point) << '\n';
      last_printed_second_ = point.t;
    }
    out_ << std::flush;
  }

  void tick_series() {
    if (!options_.progress_json || mono_ns() - last_series_ns_ < 1'000'000'000) return;
    last_series_ns_ = mono_ns();
    merge_series(false);
    print_progress(clock_.epoch_second(mono_ns()));
  }

  BenchOptions& options_;
  const conf::BenchSettings& bench_;
  std::ostream& out_;
  stats::Results& r_;
  std::filesystem::path results_file_;
  std::string* error_;
  std::shared_ptr<LogFile> log_ = std::make_shared<LogFile>();
  ClockBase clock_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Worker> control_;
  std::unique_ptr<Hooks> hooks_;
  std::unique_ptr<GeneratorSampler> sampler_;  // declared after the workers it reads: stopped first
  std::string hook_error_;
  int exit_code_ = 0;
  bool ended_by_master_ = false;  // @end: no further cycle, the run is complete
  bool stopped_ = false;      // interrupted (or a fatal error): no further cycle
  bool save_failed_ = false;  // the results file could not be written
  uint64_t printed_ok_ = 0, printed_failed_ = 0, printed_errors_ = 0;
  int64_t last_printed_second_ = 0;
  int64_t last_series_ns_ = mono_ns();
};

}  // namespace

int BenchRunner::run(std::string* error) {
  BenchRun run(options_, out_, results_, results_path(), error);
  return run.run();
}

}  // namespace bm::engine
