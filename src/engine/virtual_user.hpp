#pragma once
// A virtual user: a Lua coroutine running the test in a loop, its HTTP connections
// (keep-alive, one per origin), its cookie jar and resource cache. It runs entirely
// on its worker's thread, driven by completions of its own asynchronous operations.
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "credential/credential_client.hpp"
#include "engine/recorder.hpp"
#include "engine/worker.hpp"
#include "http/cookie_jar.hpp"
#include "http/request_writer.hpp"
#include "http/response_parser.hpp"
#include "http/url.hpp"
#include "script/script_state.hpp"
#include "script/vu_state.hpp"

namespace bm::engine {

class Worker;

class VirtualUser final : public script::VuHost {
 public:
  VirtualUser(Worker& worker, int vu_id, int cycle, int cvus, uint64_t max_iterations);
  ~VirtualUser() override;

  void start_at(int64_t start_ns);
  // Open model: run one iteration meant to start at intended_ns (the first one runs
  // setup_vu before); when it ends the user goes back to the worker's ArrivalPool.
  void run_arrival(int64_t intended_ns);
  // Open model: a user waiting in the pool stops (the cycle's starts are over).
  void stop_idle();
  // Runs one bench or cycle hook instead of tests; `done` gets its outcome.
  void run_hook(script::Hook hook, int cycle, int cvus, std::function<void(const script::RunResult&)> done);
  void request_stop(bool abort);
  void check_deadline(int64_t now_ns);
  // Connections open (established) now, for the generator's health figures.
  int open_connections() const noexcept;
  bool done() const { return phase_ == Phase::done; }

  // script::VuHost
  bool begin_page(const script::PageRequest& request, std::string* error) override;
  void begin_sleep(double seconds) override;
  const script::PageOutcome& outcome() const override { return outcome_; }
  const http::ResponseParser& last_response() const override { return main_parser_; }
  http::CookieJar& cookies() override { return cookies_; }
  // The script's way to change headers and credentials: the request bytes kept for
  // reuse are stale from then on.
  script::VuSettings& settings() override {
    ++settings_version_;
    return settings_;
  }
  void log(std::string_view line) override;
  int vu_id() const override { return vu_id_; }
  int cycle() const override { return cycle_; }
  int cvus() const override { return cvus_; }
  uint64_t iteration() const override { return iteration_; }
  bool test_passed() override;
  bool begin_credential(const script::CredentialCall& call) override;
  const script::CredentialAnswer& credential_answer() const override;

 private:
  enum class Phase { waiting_start, setup_vu, setup, test, teardown, between_tests, teardown_vu, hook, done };
  // The step of an exchange a connection is at: what a plain socket waits for, and where
  // an exchange stood when it failed or timed out.
  enum class IoWait : uint8_t { none, connect, handshake, write, read };
  struct Connection;  // plain or TLS, chosen once: virtual_user_connection.hpp

  // Test loop.
  void begin();
  void next_iteration(int64_t now = -1);  // now: the clock, when the caller has just read it
  void handle(const script::RunResult& result);
  void begin_test(int64_t now);
  void end_test(const script::RunResult& result);  // record_test, then after_test
  void record_test(const script::RunResult& result, int64_t now);
  void after_test(int64_t now);  // think time, then the next test
  void test_over(int64_t now);   // the test's leases returned, then after_test
  // The user is done: its leases returned, then the worker told.
  void report_stopped();
  // Leases of the running test (all: the user's too) go back to the credential server,
  // then `then` runs. At once when none is held.
  bool holds_leases(bool all) const;
  void release_leases(bool all, std::function<void()> then);
  void take_credential_answer(script::CredentialCall::Kind kind, bool for_user, credential::ClientReply reply);
  void finish();
  void resume_script();

  // One HTTP exchange of the current page (virtual_user_io.cpp).
  void start_exchange();
  void send_on_connection();
  void connect(Connection& conn);
  int64_t connect_timeout_ns() const;
  void send_request(int64_t now);
  // The connection's events: how each step ended.
  void on_tcp_connected(int64_t now);
  void on_connection_open(int64_t now);
  void on_request_sent();
  bool consume(const char* data, size_t n);  // true when the exchange is over
  void on_peer_closed();
  void on_io_error(IoWait stage, stats::ErrorKind kind, std::string message);
  void exchange_done(int64_t now);
  void fail_exchange(stats::ErrorKind kind, std::string message);
  void fail_timeout(IoWait stage);  // the exchange's deadline passed at this stage
  bool retry_on_fresh_connection();
  void next_resource_or_finish(int64_t now);
  void page_done(int64_t now);
  void flush_page(bool check_failed, int64_t now);
  void after_page();

  Connection& connection_for(const http::Url& url);
  bool status_ok(int status) const;
  void store_cookies(const http::ResponseParser& parser, const http::Url& url);
  std::string_view current_method() const { return method_; }

  Worker& worker_;
  int script_vu_ = -1;
  int vu_id_, cycle_, cvus_;
  uint64_t max_iterations_;
  uint64_t iteration_ = 0;
  Phase phase_ = Phase::waiting_start;
  bool began_ = false;
  bool stop_requested_ = false;
  bool aborted_ = false;
  bool exchange_requested_ = false;  // begin_page ran; handle() starts the exchange
  bool starting_exchange_ = false;   // inside that start: a failure now is synchronous
  bool waited_in_test_ = false;      // the running test has waited for I/O at least once
  int connect_failures_ = 0;         // connect or DNS errors in a row: the back-off's exponent

  // Test state.
  int64_t test_start_ns_ = 0;
  int64_t test_recorded_ns_ = -1;
  // Open model: when the running iteration was meant to start, and how long it waited
  // for this user past that; the test, its first page and first request carry the wait.
  bool open_model_ = false;
  int64_t intended_start_ns_ = 0;
  int64_t test_wait_us_ = 0, page_wait_us_ = 0, request_wait_us_ = 0;  // test_passed() recorded the test and ended the loop
  // While consume() handles a response: the time it arrived. A test that passes in the
  // same call (its last page was that response) ends then, without another clock reading.
  int64_t response_done_ns_ = -1;
  int test_pages_ = 0, test_requests_ = 0;
  int test_slot_ = -1;

  // Page state.
  script::PageOutcome outcome_;
  int page_slot_ = -1;
  int main_request_slot_ = -1;
  // What the test's n-th page resolved to when it last ran: most tests ask for the same
  // pages in the same order. Each memo is checked against the page before it is used.
  struct PageMemo {
    std::shared_ptr<const Worker::ParsedUrl> url;
    int page_slot = -1, main_slot = -1;
    uint64_t slots_generation = ~uint64_t{0};  // the recorder's, when the slots were looked up
  };
  static constexpr int kPageMemos = 16;
  std::vector<PageMemo> page_memos_;  // by position of the page in its test
  struct PendingPage {
    int slot = -1;
    bool ok = true;
    stats::ErrorKind kind = stats::ErrorKind::other;
    int status = 0;
    int64_t latency_us = 0, done_ns = 0, wait_us = 0;
  } pending_page_;
  bool has_pending_page_ = false;
  int64_t page_start_ns_ = 0;
  std::vector<int> ok_codes_;
  bool follow_redirects_ = true;
  bool fetch_resources_ = true;
  bool keep_body_ = true;
  int64_t timeout_ns_ = 0;

  // Exchange state.
  RequestKind kind_ = RequestKind::main;
  // The URL being fetched: the worker's parsed copy of the page's URL text when the
  // script passed a plain URL (no copy per request), otherwise one of our own (query
  // parameters, redirects, resources).
  const http::Url* url_ = nullptr;
  std::string_view url_text_;  // url_->str()
  const Worker::ParsedUrl* url_entry_ = nullptr;      // kept alive by a PageMemo or spare_url_
  std::shared_ptr<const Worker::ParsedUrl> spare_url_;  // for pages past the memos
  struct OwnedUrl {
    http::Url url;
    std::string text;
  };
  std::unique_ptr<OwnedUrl> owned_url_;
  void own_url(http::Url url);
  std::string method_;
  // A body, content type and headers of the request's own, for the pages that have them.
  struct RequestExtras {
    std::string body;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  RequestExtras& extras();
  std::unique_ptr<RequestExtras> extras_;
  std::string request_bytes_;
  // What request_bytes_ was made from, when it can be sent again as it is.
  struct RequestMemo {
    const void* url = nullptr;  // the worker's cache entry; nullptr: not reusable
    uint64_t settings_version = 0;
    std::string method;
  } request_memo_;
  uint64_t settings_version_ = 0;
  size_t sent_ = 0;
  int request_slot_ = -1;
  int attempt_ = 0;
  int64_t exchange_start_ns_ = 0, sent_ns_ = 0, first_byte_ns_ = 0, connect_start_ns_ = 0;
  int64_t request_connect_us_ = -1;  // this exchange opened its connection in this long; -1: reused one
  int64_t deadline_ns_ = 0;
  bool timed_out_ = false;
  bool got_bytes_ = false;
  Connection* conn_ = nullptr;
  std::vector<std::unique_ptr<Connection>> connections_;
  http::ResponseParser main_parser_;
  http::ResponseParser* parser_ = &main_parser_;

  // State that most users never touch (teardown and bench hooks, pages with resources),
  // allocated on first use: at 10,000 users every byte of VirtualUser counts.
  struct RareState {
    script::RunResult test_result;  // the test's own result while its teardown runs
    std::function<void(const script::RunResult&)> hook_done;
    bool page_failed_resource = false;
    std::string resource_failure;
    std::vector<http::Url> pending_resources;
    size_t next_resource = 0;
    std::unordered_set<std::string> fetched_resources;  // resources cached for the user's life
    std::unique_ptr<http::ResponseParser> resource_parser;
    // Test data from the credential server (docs/test-data.md).
    script::CredentialAnswer credential_answer;
    std::shared_ptr<credential::CredentialClient::Call> credential_call;  // the one in flight
    struct HeldLease {
      std::string id, login;
      bool for_user;  // taken outside a test (setup_vu, a hook): held until the user stops
    };
    std::vector<HeldLease> leases;
  };
  RareState& rare();
  bool has_pending_resource() const { return rare_ && rare_->next_resource < rare_->pending_resources.size(); }
  std::unique_ptr<RareState> rare_;

  // Per-user settings and browser state.
  script::VuSettings settings_;
  http::CookieJar cookies_;
  // Start delays and think times only: created when first needed.
  boost::asio::steady_timer& timer();
  std::unique_ptr<boost::asio::steady_timer> timer_;
};

}  // namespace bm::engine
