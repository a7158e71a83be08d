#pragma once
// A worker: one thread, one event loop, one Lua state, and the virtual users placed on
// it. Nothing on the request path is shared with other workers. The main thread talks
// to a worker only by posting work onto its loop (call() waits for the answer).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/arrival_pool.hpp"
#include "engine/arrival_schedule.hpp"
#include "engine/clock.hpp"
#include "engine/ready_poller.hpp"
#include "engine/recorder.hpp"
#include "engine/resource_list_cache.hpp"
#include "engine/string_map.hpp"
#include "engine/settings.hpp"
#include "http/url.hpp"
#include "script/script_state.hpp"

namespace bm::credential {
class CredentialClient;
}

namespace bm::engine {

class VirtualUser;

// The TLS client context for a run's settings; nullptr with one line in *error when the
// trusted certificates cannot be loaded (load_test calls it to fail early).
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const conf::BenchSettings& settings, std::string* error);

struct VuStart {
  int vu_id;            // 0..cvus-1 within the cycle
  int64_t start_ns;     // monotonic time to start it
};

class Worker {
 public:
  Worker(int index, const EngineSettings& settings, const ClockBase& clock);
  ~Worker();

  // Starts the thread and loads the test into its Lua state.
  bool start(std::string* error);
  void join();

  // Runs fn on the worker's thread and waits for it. How late it started is noted:
  // control work (stop, window end, harvest) must not wait behind the users' I/O.
  template <class Fn>
  auto call(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto future = task.get_future();
    const int64_t posted_ns = mono_ns();
    boost::asio::post(io_, [this, &task, posted_ns] {
      note_control_lag(mono_ns() - posted_ns);
      task();
    });
    return future.get();
  }
  // The longest wait of a call() since the last take, in µs.
  int64_t take_control_lag_us() { return control_lag_ns_.exchange(0) / 1000; }
  // How late the worker's deadline sweep (a timer every 50 ms) ran at the latest since
  // the last take: a loop short of CPU, or kept busy, runs it late.
  int64_t take_loop_lag_ns() { return loop_lag_ns_.exchange(0, std::memory_order_relaxed); }
  // Connections open at the last sweep.
  uint64_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }

  // Cycle control, from the main thread.
  void begin_cycle(int cycle, int cvus, std::vector<VuStart> starts, int64_t window_start_ns, int64_t window_end_ns,
                   uint64_t max_iterations = 0);
  // Open model: a cycle whose iterations start on `schedule`, on a pool of at most
  // max_users users made as needed (cvus: what the script sees as the cycle's users).
  void begin_open_cycle(int cycle, int cvus, const ArrivalSchedule::Params& schedule, int max_users,
                        int64_t window_start_ns, int64_t window_end_ns);
  void end_window(int64_t window_end_ns);
  // Runs a bench or cycle hook to its end (requests included) with a virtual user of
  // its own. A missing hook succeeds.
  script::RunResult run_hook(script::Hook hook, int cycle, int cvus);
  void stop_vus(bool abort_requests);   // drain: finish the current test, start no other
  stats::CycleResults harvest_cycle();  // after every virtual user has stopped
  std::vector<stats::SeriesPoint> harvest_series(bool include_current);

  int running_vus() const { return running_.load(std::memory_order_acquire); }
  int started_vus() const { return started_.load(std::memory_order_acquire); }
  int stopped_vus() const { return stopped_.load(std::memory_order_acquire); }
  // Users made this cycle: all of them at its start in the closed model, as the pool
  // grows in the open one. Final once stop_vus() has returned.
  int created_vus() const { return created_.load(std::memory_order_acquire); }
  const Recorder::Progress& progress() const { return recorder_.progress(); }
  // The first fatal problem (e.g. out of file descriptors), empty if none.
  std::string fatal_error() const;

  // For virtual users.
  boost::asio::io_context& io() { return io_; }
  ReadyPoller& poller() { return poller_; }
  const EngineSettings& settings() const { return settings_; }
  const ClockBase& clock() const { return clock_; }
  Recorder& recorder() { return recorder_; }
  ResourceListCache& resource_lists() { return resource_lists_; }
  script::ScriptState& script() { return *script_; }
  // The credential server's client on this worker's loop, made on first use; nullptr with
  // one line in *error when the conf names no credential server.
  credential::CredentialClient* credential_client(std::string* error);
  int test_function() const { return test_function_; }
  std::mt19937_64& random() { return random_; }
  char* read_buffer() { return read_buffer_.get(); }
  static constexpr size_t kReadBufferSize = 64 * 1024;
  boost::asio::ssl::context& tls_context();
  // Resolves host:port once per worker (blocking the first time).
  bool resolve(const http::Url& url, boost::asio::ip::tcp::endpoint* endpoint, std::string* error);
  // Parsed URLs by text, so a test that requests the same URLs parses each once.
  struct ParsedUrl {
    http::Url url;
    std::string text;    // url.str(), made once
    std::string source;  // the text it was parsed from
  };
  // Entries are shared: the cache may drop one while a virtual user still fetches it.
  const std::shared_ptr<const ParsedUrl>* parse_url_cached(std::string_view text, std::string* error);
  // Open model: a new user for the pool (its owner starts it).
  VirtualUser& add_user();
  ArrivalPool& arrivals() { return arrivals_; }
  void vu_started();
  void vu_stopped(bool began);
  void set_fatal(std::string message);
  int index() const { return index_; }

 private:
  void run();
  void arm_watchdog();
  void note_control_lag(int64_t lag_ns);
  // Another thread that breaks a test running without waiting past lua_time_limit (at
  // once after Ctrl-C): the worker's own loop cannot, it is the one held.
  void watch_script();

  int index_;
  const EngineSettings& settings_;
  const ClockBase& clock_;
  // One thread runs the loop and only it touches sockets: no per-socket locks in the
  // reactor (other threads still post work, so the scheduler keeps its lock).
  boost::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  ReadyPoller poller_{io_};  // plain-TCP sockets; after io_, so it goes first
  std::thread thread_;
  std::unique_ptr<script::ScriptState> script_;
  int test_function_ = -2;
  Recorder recorder_;
  ResourceListCache resource_lists_;
  std::mt19937_64 random_;
  std::unique_ptr<char[]> read_buffer_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::unordered_map<std::string, boost::asio::ip::tcp::endpoint> resolved_;
  StringMap<std::shared_ptr<const ParsedUrl>> urls_;
  std::vector<std::unique_ptr<VirtualUser>> vus_;
  boost::asio::steady_timer watchdog_;
  std::unique_ptr<credential::CredentialClient> credentials_;
  std::atomic<int> running_{0}, started_{0}, stopped_{0}, created_{0};
  ArrivalPool arrivals_{*this};
  int cycle_ = 0, cycle_users_ = 0;  // the running cycle, for users the pool adds
  std::atomic<int64_t> control_lag_ns_{0};
  std::atomic<int64_t> loop_lag_ns_{0};
  std::atomic<uint64_t> open_connections_{0};
  int64_t watchdog_due_ns_ = 0;
  std::thread script_watch_;
  std::mutex script_watch_mutex_;
  std::condition_variable script_watch_wake_;
  bool script_watch_stop_ = false;
  mutable std::mutex fatal_mutex_;
  std::string fatal_;
};

}  // namespace bm::engine
