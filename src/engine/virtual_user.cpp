#include "engine/virtual_user.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "engine/virtual_user_connection.hpp"
#include "engine/worker.hpp"
#include "http/html_resources.hpp"


namespace bm::engine {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using stats::ErrorKind;

VirtualUser::VirtualUser(Worker& worker, int vu_id, int cycle, int cvus, uint64_t max_iterations)
    : worker_(worker),
      vu_id_(vu_id),
      cycle_(cycle),
      cvus_(cvus),
      max_iterations_(max_iterations) {
  const auto& bench = worker_.settings().bench;
  settings_.ok_codes = bench.ok_codes;
  settings_.user_agent = bench.user_agent;
  open_model_ = bench.open_model();
  script_vu_ = worker_.script().create_vu(this);
}

VirtualUser::~VirtualUser() {
  if (rare_ && rare_->credential_call) rare_->credential_call->cancel();
  for (auto& conn : connections_) conn->close();
  worker_.script().destroy_vu(script_vu_);
}

asio::steady_timer& VirtualUser::timer() {
  if (!timer_) timer_ = std::make_unique<asio::steady_timer>(worker_.io());
  return *timer_;
}

VirtualUser::RequestExtras& VirtualUser::extras() {
  if (!extras_) extras_ = std::make_unique<RequestExtras>();
  return *extras_;
}

void VirtualUser::own_url(http::Url url) {
  if (!owned_url_) owned_url_ = std::make_unique<OwnedUrl>();
  owned_url_->url = std::move(url);
  owned_url_->text = owned_url_->url.str();
  url_ = &owned_url_->url;
  url_text_ = owned_url_->text;
}

VirtualUser::RareState& VirtualUser::rare() {
  if (!rare_) rare_ = std::make_unique<RareState>();
  return *rare_;
}

void VirtualUser::log(std::string_view line) {
  const auto& sink = worker_.settings().identity.log_sink;
  if (sink) sink(fmt::format("[vu {} cycle {}] {}", vu_id_, cycle_, line));
}

// ------------------------------------------------------------------ test loop

void VirtualUser::start_at(int64_t start_ns) {
  int64_t delay = start_ns - mono_ns();
  if (delay <= 0) {
    asio::post(worker_.io(), [this] { begin(); });
    return;
  }
  timer().expires_after(std::chrono::nanoseconds(delay));
  timer().async_wait([this](const boost::system::error_code& ec) {
    if (ec || stop_requested_) {
      finish();
      return;
    }
    begin();
  });
}

void VirtualUser::run_arrival(int64_t intended_ns) {
  intended_start_ns_ = intended_ns;
  if (phase_ == Phase::waiting_start) {
    begin();
    return;
  }
  next_iteration();
}

void VirtualUser::stop_idle() {
  stop_requested_ = true;
  finish();
}

void VirtualUser::run_hook(script::Hook hook, int cycle, int cvus,
                           std::function<void(const script::RunResult&)> done) {
  phase_ = Phase::hook;
  rare().hook_done = std::move(done);
  handle(worker_.script().start_hook(script_vu_, hook, {static_cast<double>(cycle), static_cast<double>(cvus)}));
}

void VirtualUser::begin() {
  if (stop_requested_) {
    finish();
    return;
  }
  began_ = true;
  worker_.vu_started();
  if (worker_.script().has_hook(script::Hook::setup_vu)) {
    phase_ = Phase::setup_vu;
    handle(worker_.script().start_hook(script_vu_, script::Hook::setup_vu));
    return;
  }
  next_iteration();
}

void VirtualUser::next_iteration(int64_t now) {
  if (stop_requested_ || (max_iterations_ != 0 && iteration_ >= max_iterations_)) {
    finish();
    return;
  }
  begin_test(now >= 0 ? now : mono_ns());
  auto& script = worker_.script();
  if (script.has_hook(script::Hook::setup)) {
    phase_ = Phase::setup;
    handle(script.start_hook(script_vu_, script::Hook::setup));
  } else if (script.has_hook(script::Hook::teardown)) {
    phase_ = Phase::test;
    handle(script.start(script_vu_, worker_.test_function()));
  } else {
    // No hook around the tests: they follow one another inside one resume of the
    // coroutine (test_passed), as long as nothing has to happen in between.
    phase_ = Phase::test;
    handle(script.start_tests(script_vu_, worker_.test_function()));
  }
}

void VirtualUser::begin_test(int64_t now) {
  ++iteration_;
  waited_in_test_ = false;
  test_start_ns_ = now;
  if (open_model_) {
    test_wait_us_ = std::max<int64_t>(0, now - intended_start_ns_) / 1000;
    page_wait_us_ = request_wait_us_ = test_wait_us_;
  }
  test_pages_ = test_requests_ = 0;
  // Each test is a new visit: FunkLoad cleared the browser's cookies between tests.
  // The resource cache stays with the virtual user, as a returning browser's would.
  cookies_.clear();
}

bool VirtualUser::test_passed() {
  if (aborted_) return false;  // handle() ends it as before
  const int64_t now = response_done_ns_ >= 0 ? response_done_ns_ : mono_ns();
  static const script::RunResult passed;
  record_test(passed, now);
  // The next test starts here only where end_test() would have started it at once: a
  // test that made no request goes back through the loop, so it cannot run forever.
  if (open_model_ || stop_requested_ || !waited_in_test_ || worker_.settings().bench.sleep_time_s > 0 ||
      connect_failures_ > 0 ||
      (max_iterations_ != 0 && iteration_ >= max_iterations_) || holds_leases(false)) {
    test_recorded_ns_ = now;  // handle() goes on when the coroutine has returned
    return false;
  }
  begin_test(now);
  return true;
}

void VirtualUser::handle(const script::RunResult& result) {
  using State = script::RunResult::State;
  if (result.state == State::waiting) {
    waited_in_test_ = true;
    // The page the script asked for starts now that lua_resume has returned.
    if (exchange_requested_) {
      exchange_requested_ = false;
      starting_exchange_ = true;
      start_exchange();
      starting_exchange_ = false;
    }
    return;
  }
  auto& script = worker_.script();
  switch (phase_) {
    case Phase::setup_vu:
      if (result.state == State::failed) {
        // A virtual user whose setup failed cannot run its tests: count it once. Stopping
        // first, so that the end of this "test" starts no other.
        test_start_ns_ = mono_ns();
        stop_requested_ = true;
        end_test(result);
        finish();
        return;
      }
      next_iteration();
      return;
    case Phase::setup:
      if (result.state == State::failed) {
        end_test(result);
        return;
      }
      phase_ = Phase::test;
      handle(script.start(script_vu_, worker_.test_function()));
      return;
    case Phase::test:
      if (test_recorded_ns_ >= 0) {
        // The loop of start_tests ended after test_passed() had recorded the test.
        const int64_t recorded = test_recorded_ns_;
        test_recorded_ns_ = -1;
        test_over(recorded);
        return;
      }
      if (script.has_hook(script::Hook::teardown)) {
        rare().test_result = result;
        phase_ = Phase::teardown;
        handle(script.start_hook(script_vu_, script::Hook::teardown));
        return;
      }
      end_test(result);
      return;
    case Phase::teardown:
      end_test(rare_->test_result.state == State::failed ? rare_->test_result : result);
      return;
    case Phase::hook:
      if (holds_leases(true)) {
        // Leases a hook took are its own: back before the hook counts as done.
        release_leases(true, [this, result] {
          phase_ = Phase::done;
          rare_->hook_done(result);
        });
        return;
      }
      phase_ = Phase::done;
      rare_->hook_done(result);
      return;
    case Phase::teardown_vu:
      report_stopped();
      return;
    default:
      return;
  }
}

void VirtualUser::end_test(const script::RunResult& result) {
  if (aborted_) return;
  const int64_t now = mono_ns();
  if (result.state == script::RunResult::State::failed && result.kind == "abandoned") {
    // Broken because the run is stopping: neither a result nor an error of the test.
    if (test_slot_ < 0) test_slot_ = worker_.recorder().test_slot(worker_.settings().test_function);
    worker_.recorder().abandoned(-1, -1, test_slot_);
    stop_requested_ = true;
    finish();
    return;
  }
  if (result.state == script::RunResult::State::failed && result.kind == script::kStopUserKind) {
    // A feeder with at_end = stop_user ran out: this user stops; its test is not counted,
    // the pages it had made are.
    flush_page(false, now);
    stop_requested_ = true;
    test_over(now);
    return;
  }
  record_test(result, now);
  test_over(now);
}

void VirtualUser::test_over(int64_t now) {
  if (holds_leases(false)) {
    phase_ = Phase::between_tests;
    release_leases(false, [this] { after_test(mono_ns()); });
    return;
  }
  after_test(now);
}

void VirtualUser::record_test(const script::RunResult& result, int64_t now) {
  int verdict = 0;
  ErrorKind kind = ErrorKind::other;
  const auto& on_test = worker_.settings().on_test;
  if (result.state == script::RunResult::State::failed) {
    verdict = result.verdict == script::Verdict::failure ? 1 : 2;
    kind = stats::parse_error_kind(result.kind).value_or(ErrorKind::other);
    flush_page(result.verdict == script::Verdict::failure && kind == ErrorKind::assertion, now);
    // Name the request that was running: the failed page, or the last one that passed.
    script::RunResult shown = result;
    bool page_failed = outcome_.verdict != script::Verdict::ok;
    if (outcome_.sequence != 0 && !page_failed) shown.message += fmt::format(" (after page '{}')", outcome_.key);
    worker_.recorder().error_event(kind, verdict == 1, outcome_.sequence ? std::string_view(outcome_.key) : "",
                                   page_failed ? outcome_.final_url : "", page_failed ? outcome_.status : 0,
                                   shown.message, now);
    if (on_test) on_test(iteration_, shown, (now - test_start_ns_) / 1000);
    else if (!result.traceback.empty()) log(shown.message + "\n" + result.traceback);
  } else {
    flush_page(false, now);
    if (on_test && worker_.settings().report_passed_tests) on_test(iteration_, result, (now - test_start_ns_) / 1000);
  }
  if (test_slot_ < 0) test_slot_ = worker_.recorder().test_slot(worker_.settings().test_function);
  worker_.recorder().test_done(test_slot_, verdict, kind, (now - test_start_ns_) / 1000, test_pages_, test_requests_,
                               now, test_wait_us_);
}

void VirtualUser::after_test(int64_t now) {
  if (open_model_) {
    // The arrival rate paces the iterations: no pause, no back-off; the user goes back
    // to the pool (from the loop when the test made no request, so nothing recurses).
    phase_ = Phase::between_tests;
    if (stop_requested_) {
      finish();
    } else if (waited_in_test_) {
      worker_.arrivals().user_free(*this);
    } else {
      asio::post(worker_.io(), [this] {
        if (stop_requested_) finish();
        else worker_.arrivals().user_free(*this);
      });
    }
    return;
  }
  double pause = worker_.settings().bench.sleep_time_s;
  if (connect_failures_ > 0) {
    // The target refuses or cannot be reached: back off (10 ms, doubling to 1 s) rather
    // than spin on connect errors (docs/engine.md).
    const double backoff = std::min(1.0, 0.01 * static_cast<double>(1u << std::min(connect_failures_ - 1, 7)));
    pause = std::max(pause, backoff);
  }
  phase_ = Phase::between_tests;
  if (pause > 0 && !stop_requested_) {
    timer().expires_after(std::chrono::nanoseconds(static_cast<int64_t>(pause * 1e9)));
    timer().async_wait([this](const boost::system::error_code&) { next_iteration(); });
  } else if (waited_in_test_) {
    // Called from the completion of the test's last operation: the loop regains
    // control as soon as the next test waits for its first request.
    next_iteration(now);
  } else {
    // Posted, not called: a test that makes no request must not recurse, and other
    // virtual users on this loop get their turn.
    asio::post(worker_.io(), [this] { next_iteration(); });
  }
}

void VirtualUser::finish() {
  if (phase_ == Phase::done || phase_ == Phase::teardown_vu) return;
  bool started = phase_ != Phase::waiting_start;
  if (started && !aborted_ && worker_.script().has_hook(script::Hook::teardown_vu)) {
    phase_ = Phase::teardown_vu;
    handle(worker_.script().start_hook(script_vu_, script::Hook::teardown_vu));
    return;
  }
  for (auto& conn : connections_) conn->close();
  report_stopped();
}

void VirtualUser::report_stopped() {
  if (!aborted_ && holds_leases(true)) {
    phase_ = Phase::teardown_vu;  // finish() has nothing more to do meanwhile
    release_leases(true, [this] {
      phase_ = Phase::done;
      worker_.vu_stopped(began_);
    });
    return;
  }
  phase_ = Phase::done;
  worker_.vu_stopped(began_);
  // Open model: a user that stopped on its own (setup_vu failed, a feeder ran out) leaves
  // room in the pool for another.
  if (open_model_) worker_.arrivals().user_stopped();
}

void VirtualUser::request_stop(bool abort) {
  stop_requested_ = true;
  if (abort) {
    if (!aborted_ && deadline_ns_ != 0 && sent_ > 0 && conn_ != nullptr && phase_ != Phase::done &&
        phase_ != Phase::hook) {
      // The request is out: the server may answer it, so it is accounted for as dropped.
      if (test_slot_ < 0) test_slot_ = worker_.recorder().test_slot(worker_.settings().test_function);
      worker_.recorder().abandoned(request_slot_, page_slot_, test_slot_);
    }
    aborted_ = true;
    if (rare_ && rare_->credential_call) {
      rare_->credential_call->cancel();
      rare_->credential_call.reset();
    }
    if (holds_leases(true)) release_leases(true, nullptr);  // fire and forget: the run is stopping
    for (auto& conn : connections_) conn->close();
    boost::system::error_code ignored;
    if (timer_) timer_->cancel();
    if (phase_ != Phase::done) {
      phase_ = Phase::done;
      worker_.vu_stopped(began_);
    }
    return;
  }
  if (phase_ == Phase::waiting_start || phase_ == Phase::between_tests) {
    if (timer_) timer_->cancel();
  }
}

void VirtualUser::resume_script() {
  if (aborted_) return;
  handle(worker_.script().resume(script_vu_));
}

void VirtualUser::begin_sleep(double seconds) {
  timer().expires_after(std::chrono::nanoseconds(static_cast<int64_t>(seconds * 1e9)));
  timer().async_wait([this](const boost::system::error_code&) { resume_script(); });
}

}  // namespace bm::engine
