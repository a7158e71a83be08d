#include "engine/worker.hpp"

#include "credential/credential_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <lua.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "engine/bench_runner.hpp"
#include "engine/virtual_user.hpp"

namespace bm::engine {

namespace asio = boost::asio;

namespace {
// How often in-flight operations are checked against their deadlines. One sweep
// timer per worker instead of one timer per request: arming a timer per request
// would cost a timerfd system call each time.
constexpr auto kWatchdogPeriod = std::chrono::milliseconds(50);
}  // namespace

Worker::Worker(int index, const EngineSettings& settings, const ClockBase& clock)
    : index_(index),
      settings_(settings),
      clock_(clock),
      recorder_(clock, static_cast<int64_t>(settings.bench.apdex_t_s * 1e6), settings.bench.open_model()),
      random_(settings.seed != 0 ? settings.seed + static_cast<uint64_t>(index)
                                 : static_cast<uint64_t>(mono_ns()) ^ (static_cast<uint64_t>(index) << 32)),
      read_buffer_(new char[kReadBufferSize]),
      watchdog_(io_) {}

Worker::~Worker() { join(); }

credential::CredentialClient* Worker::credential_client(std::string* error) {
  if (credentials_) return credentials_.get();
  const CredentialServerSettings& server = settings_.credential_server;
  if (server.port == 0) {
    *error = "no credential server: name it in the conf's [credential] host and port (and start bench-credential)";
    return nullptr;
  }
  credentials_ = std::make_unique<credential::CredentialClient>(io_, server.host, static_cast<uint16_t>(server.port));
  return credentials_.get();
}

bool Worker::start(std::string* error) {
  std::promise<std::string> loaded;
  auto result = loaded.get_future();
  thread_ = std::thread([this, &loaded] {
    script_ = std::make_unique<script::ScriptState>();
    std::string err;
    if (!script_->load(settings_.test_file, settings_.conf, settings_.identity, &err)) {
      script_.reset();
      loaded.set_value(err);
      return;
    }
    test_function_ = script_->function_ref(settings_.test_function);
    if (test_function_ == LUA_NOREF) {
      script_.reset();
      loaded.set_value(fmt::format("{}: defines no function '{}' (the test to run)",
                                   settings_.test_file.filename().string(), settings_.test_function));
      return;
    }
    loaded.set_value({});
    run();
  });
  *error = result.get();
  if (!error->empty()) {
    thread_.join();
    return false;
  }
  return true;
}

void Worker::run() {
  auto guard = asio::make_work_guard(io_);
  arm_watchdog();
  script_watch_ = std::thread([this] { watch_script(); });
  io_.run();
  {
    std::lock_guard lock(script_watch_mutex_);
    script_watch_stop_ = true;
  }
  script_watch_wake_.notify_all();
  script_watch_.join();
  vus_.clear();
  script_.reset();
}

void Worker::note_control_lag(int64_t lag_ns) {
  int64_t seen = control_lag_ns_.load(std::memory_order_relaxed);
  while (lag_ns > seen && !control_lag_ns_.compare_exchange_weak(seen, lag_ns)) {
  }
}

void Worker::watch_script() {
  constexpr auto kPeriod = std::chrono::milliseconds(100);
  // After Ctrl-C a run that has not yielded for this long is broken too.
  constexpr int64_t kInterruptedLimitNs = 200'000'000;
  const double limit_s = settings_.bench.lua_time_limit_s;
  const int64_t limit_ns = static_cast<int64_t>(limit_s * 1e9);
  uint64_t watched_run = 0;
  int64_t since_ns = 0;
  std::unique_lock lock(script_watch_mutex_);
  while (!script_watch_wake_.wait_for(lock, kPeriod, [this] { return script_watch_stop_; })) {
    const uint64_t run = script_->running_run();
    const int64_t now = mono_ns();
    if (run == 0 || run != watched_run) {
      watched_run = run;
      since_ns = now;
      continue;
    }
    const bool interrupted = g_interrupts.load(std::memory_order_relaxed) > 0;
    const int64_t held_ns = now - since_ns;
    if (interrupted && held_ns >= kInterruptedLimitNs) {
      script_->break_run(run, "stopped: the bench was interrupted while the test ran without waiting", true);
    } else if (limit_ns > 0 && held_ns >= limit_ns) {
      script_->break_run(run, fmt::format("the test ran for {:g} s without waiting for a request or a sleep "
                                          "(lua_time_limit = {:g})", limit_s, limit_s));
    }
  }
}

void Worker::join() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    watchdog_.cancel();
    for (auto& vu : vus_) vu->request_stop(true);
    arrivals_.stop();
    // Let the cancelled operations' handlers run before the virtual users go away.
    asio::post(io_, [this] {
      vus_.clear();
      // Leases the users returned on their way out reach the credential server first.
      if (credentials_) {
        credentials_->when_idle(std::chrono::seconds(2), [this] { io_.stop(); });
      } else {
        io_.stop();
      }
    });
  });
  thread_.join();
}

void Worker::arm_watchdog() {
  watchdog_due_ns_ = mono_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(kWatchdogPeriod).count();
  watchdog_.expires_after(kWatchdogPeriod);
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    int64_t now = mono_ns();
    const int64_t late = now - watchdog_due_ns_;
    int64_t seen = loop_lag_ns_.load(std::memory_order_relaxed);
    while (late > seen && !loop_lag_ns_.compare_exchange_weak(seen, late, std::memory_order_relaxed)) {
    }
    uint64_t open = 0;
    for (auto& vu : vus_) {
      vu->check_deadline(now);
      open += static_cast<uint64_t>(vu->open_connections());
    }
    open_connections_.store(open, std::memory_order_relaxed);
    arm_watchdog();
  });
}

void Worker::begin_cycle(int cycle, int cvus, std::vector<VuStart> starts, int64_t window_start_ns,
                         int64_t window_end_ns, uint64_t max_iterations) {
  call([&] {
    vus_.clear();
    started_.store(0);
    stopped_.store(0);
    running_.store(0);
    created_.store(static_cast<int>(starts.size()));
    recorder_.begin_cycle(cycle, cvus, window_start_ns, window_end_ns);
    script_->set_users(starts.size());
    vus_.reserve(starts.size());
    for (const VuStart& start : starts) {
      vus_.push_back(std::make_unique<VirtualUser>(*this, start.vu_id, cycle, cvus, max_iterations));
    }
    for (size_t i = 0; i < starts.size(); ++i) vus_[i]->start_at(starts[i].start_ns);
    return 0;
  });
}

void Worker::begin_open_cycle(int cycle, int cvus, const ArrivalSchedule::Params& schedule, int max_users,
                              int64_t window_start_ns, int64_t window_end_ns) {
  call([&] {
    vus_.clear();
    started_.store(0);
    stopped_.store(0);
    running_.store(0);
    created_.store(0);
    cycle_ = cycle;
    cycle_users_ = cvus;
    recorder_.begin_cycle(cycle, cvus, window_start_ns, window_end_ns);
    script_->set_users(static_cast<size_t>(max_users));
    arrivals_.begin(schedule, max_users, window_start_ns, window_end_ns);
    return 0;
  });
}

VirtualUser& Worker::add_user() {
  // Ids unique across workers: worker w's users are w, w + workers, w + 2 workers, ...
  const int id = index_ + std::max(1, settings_.workers) * static_cast<int>(vus_.size());
  vus_.push_back(std::make_unique<VirtualUser>(*this, id, cycle_, cycle_users_, 0));
  created_.fetch_add(1, std::memory_order_acq_rel);
  return *vus_.back();
}

script::RunResult Worker::run_hook(script::Hook hook, int cycle, int cvus) {
  std::promise<script::RunResult> promise;
  auto future = promise.get_future();
  std::unique_ptr<VirtualUser> vu;
  asio::post(io_, [&] {
    if (!script_->has_hook(hook)) {
      promise.set_value({});
      return;
    }
    vu = std::make_unique<VirtualUser>(*this, 0, cycle, cvus, 0);
    vu->run_hook(hook, cycle, cvus, [&promise](const script::RunResult& result) { promise.set_value(result); });
  });
  script::RunResult result = future.get();
  call([&] {
    vu.reset();
    return 0;
  });
  return result;
}

void Worker::end_window(int64_t window_end_ns) {
  call([&] {
    recorder_.set_window_end(window_end_ns);
    return 0;
  });
}

void Worker::stop_vus(bool abort_requests) {
  call([&] {
    for (auto& vu : vus_) vu->request_stop(abort_requests);
    arrivals_.stop();  // after: users it finishes have their stop already requested
    return 0;
  });
}

stats::CycleResults Worker::harvest_cycle() {
  return call([&] {
    stats::CycleResults results = recorder_.take_cycle();
    if (settings_.bench.open_model()) results.arrivals = arrivals_.take();
    return results;
  });
}

std::vector<stats::SeriesPoint> Worker::harvest_series(bool include_current) {
  return call([&] {
    recorder_.set_running_vus(running_.load());
    return recorder_.take_series(include_current);
  });
}

void Worker::vu_started() {
  started_.fetch_add(1, std::memory_order_acq_rel);
  recorder_.set_running_vus(running_.fetch_add(1, std::memory_order_acq_rel) + 1);
}

void Worker::vu_stopped(bool began) {
  if (began) recorder_.set_running_vus(running_.fetch_sub(1, std::memory_order_acq_rel) - 1);
  stopped_.fetch_add(1, std::memory_order_acq_rel);
}

std::string Worker::fatal_error() const {
  std::lock_guard lock(fatal_mutex_);
  return fatal_;
}

void Worker::set_fatal(std::string message) {
  std::lock_guard lock(fatal_mutex_);
  if (fatal_.empty()) fatal_ = std::move(message);
}

std::unique_ptr<asio::ssl::context> make_tls_context(const conf::BenchSettings& settings, std::string* error) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  // Load generators talk to test servers, often with self-made certificates: they are
  // checked only when asked to (docs/http.md).
  if (!settings.tls_verify) {
    context->set_verify_mode(asio::ssl::verify_none);
    return context;
  }
  boost::system::error_code ec;
  context->set_verify_mode(asio::ssl::verify_peer, ec);
  if (!ec) {
    if (settings.tls_ca_file.empty()) {
      context->set_default_verify_paths(ec);
    } else {
      context->load_verify_file(settings.tls_ca_file, ec);
    }
  }
  if (ec) {
    *error = settings.tls_ca_file.empty()
                 ? fmt::format("cannot load the system's trusted certificates: {}", ec.message())
                 : fmt::format("tls_ca_file: cannot load '{}': {}", settings.tls_ca_file, ec.message());
    return nullptr;
  }
  return context;
}

asio::ssl::context& Worker::tls_context() {
  if (!tls_) {
    std::string error;
    tls_ = make_tls_context(settings_.bench, &error);
    if (!tls_) {
      // Checked before the run started; if the file went away since, say so and go on
      // with a context that verifies nothing it cannot, so every handshake fails.
      set_fatal(error);
      tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      tls_->set_verify_mode(asio::ssl::verify_peer);
    }
  }
  return *tls_;
}

bool Worker::resolve(const http::Url& url, asio::ip::tcp::endpoint* endpoint, std::string* error) {
  std::string key = url.host + ":" + std::to_string(url.port);
  if (auto it = resolved_.find(key); it != resolved_.end()) {
    *endpoint = it->second;
    return true;
  }
  asio::ip::tcp::resolver resolver(io_);
  boost::system::error_code ec;
  auto results = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec || results.empty()) {
    *error = fmt::format("cannot resolve host '{}': {}", url.host, ec ? ec.message() : "no address");
    return false;
  }
  *endpoint = results.begin()->endpoint();
  resolved_.emplace(std::move(key), *endpoint);
  return true;
}

const std::shared_ptr<const Worker::ParsedUrl>* Worker::parse_url_cached(std::string_view text,
                                                                         std::string* error) {
  if (auto it = urls_.find(text); it != urls_.end()) return &it->second;
  auto parsed = http::parse_url(text, error);
  if (!parsed) return nullptr;
  // Tests that build unique URLs would grow the cache without bound: cap it.
  if (urls_.size() >= 10000) urls_.clear();
  auto entry = std::make_shared<ParsedUrl>();
  entry->text = parsed->str();
  entry->source.assign(text);
  entry->url = std::move(*parsed);
  auto [it, inserted] = urls_.emplace(std::string(text), std::move(entry));
  return &it->second;
}

}  // namespace bm::engine
