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

#include "engine/worker.hpp"
#include "http/html_resources.hpp"

namespace bm::engine {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using stats::ErrorKind;

struct VirtualUser::Connection final : ReadyPoller::Watcher {
  explicit Connection(VirtualUser& owner) : owner(owner) {}
  bool serves(const http::Url& url) const { return port == url.port && host == url.host && https == url.tls(); }
  void on_ready(uint32_t events) override { owner.on_socket_ready(*this, events); }

  VirtualUser& owner;
  // The origin it talks to (compared field by field: no string built per request).
  bool https = false;
  std::string host;
  uint16_t port = 0;
  bool open = false;
  uint64_t served = 0;  // responses completed on this connection

  // Plain TCP: a socket of our own in the worker's poller, and what the user waits for.
  using Wait = IoWait;
  int fd = -1;
  Wait wait = Wait::none;
  bool readable = false;  // an input edge came and the socket has not been read dry since
  bool writable = false;  // likewise for output
  bool hung_up = false;   // the peer closed its side: a short read no longer means dry

  // HTTPS: Asio's socket and the TLS stream over it, made for the first https origin.
  struct Tls {
    explicit Tls(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> stream;
  };
  std::unique_ptr<Tls> tls;
};

namespace {

std::string_view error_kind_name(ErrorKind kind) { return stats::to_string(kind); }

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool method_has_query_params(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "DELETE" || method == "OPTIONS";
}

}  // namespace

VirtualUser::VirtualUser(Worker& worker, int vu_id, int cycle, int cvus, uint64_t max_iterations)
    : worker_(worker),
      vu_id_(vu_id),
      cycle_(cycle),
      cvus_(cvus),
      max_iterations_(max_iterations) {
  const auto& bench = worker_.settings().bench;
  settings_.ok_codes = bench.ok_codes;
  settings_.user_agent = bench.user_agent;
  script_vu_ = worker_.script().create_vu(this);
}

VirtualUser::~VirtualUser() {
  for (auto& conn : connections_) close(*conn);
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
  test_pages_ = test_requests_ = 0;
  // Each test is a new visit: FunkLoad cleared the browser's cookies between tests.
  // The resource cache stays with the virtual user, as a returning browser's would.
  cookies_.clear();
}

bool VirtualUser::test_passed() {
  if (aborted_) return false;  // handle() ends it as before
  const int64_t now = mono_ns();
  static const script::RunResult passed;
  record_test(passed, now);
  // The next test starts here only where end_test() would have started it at once: a
  // test that made no request goes back through the loop, so it cannot run forever.
  if (stop_requested_ || !waited_in_test_ || worker_.settings().bench.sleep_time_s > 0 || connect_failures_ > 0 ||
      (max_iterations_ != 0 && iteration_ >= max_iterations_)) {
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
        // A virtual user whose setup failed cannot run its tests: count it once.
        test_start_ns_ = mono_ns();
        end_test(result);
        stop_requested_ = true;
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
        after_test(recorded);
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
      phase_ = Phase::done;
      rare_->hook_done(result);
      return;
    case Phase::teardown_vu:
      phase_ = Phase::done;
      worker_.vu_stopped(began_);
      return;
    default:
      return;
  }
}

void VirtualUser::end_test(const script::RunResult& result) {
  if (aborted_) return;
  const int64_t now = mono_ns();
  record_test(result, now);
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
                               now);
}

void VirtualUser::after_test(int64_t now) {
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
  phase_ = Phase::done;
  for (auto& conn : connections_) close(*conn);
  worker_.vu_stopped(began_);
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
    for (auto& conn : connections_) close(*conn);
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

// ------------------------------------------------------------------ pages

bool VirtualUser::begin_page(const script::PageRequest& request, std::string* error) {
  // One clock reading: the previous page's verdict is known now, and this one starts.
  const int64_t now = mono_ns();
  flush_page(false, now);
  std::string url_error;
  std::string composed;
  // What this page (by its position in the test) resolved to the last time.
  PageMemo* memo = nullptr;
  if (test_pages_ < kPageMemos) {
    if (page_memos_.size() <= static_cast<size_t>(test_pages_)) page_memos_.resize(test_pages_ + 1);
    memo = &page_memos_[test_pages_];
  }
  if (!request.params.empty() && method_has_query_params(request.method)) {
    composed.assign(request.url);
    composed += request.url.find('?') == std::string_view::npos ? '?' : '&';
    std::vector<std::pair<std::string, std::string>> params(request.params.begin(), request.params.end());
    http::append_form_urlencoded(composed, params);
    auto parsed = http::parse_url(composed, &url_error);
    if (!parsed) {
      *error = url_error;
      return false;
    }
    own_url(std::move(*parsed));
  } else if (memo && memo->url && request.url == memo->url->source) {
    url_entry_ = memo->url.get();  // the same URL text as last time: no lookup
    url_ = &url_entry_->url;
    url_text_ = url_entry_->text;
  } else {
    const std::shared_ptr<const Worker::ParsedUrl>* parsed = worker_.parse_url_cached(request.url, &url_error);
    if (parsed == nullptr) {
      *error = url_error;
      return false;
    }
    // The worker's cache entry is shared, not copied; the memo (or the spare) keeps it.
    std::shared_ptr<const Worker::ParsedUrl>& holder = memo ? memo->url : spare_url_;
    if (holder.get() != parsed->get()) {
      holder = *parsed;
      request_memo_.url = nullptr;  // the entry it had may be gone, and its address reused
    }
    url_entry_ = holder.get();
    url_ = &url_entry_->url;
    url_text_ = url_entry_->text;
  }

  method_.assign(request.method);
  if (extras_) {
    extras_->body.clear();
    extras_->content_type.clear();
    extras_->headers.clear();
  }
  if (request.multipart || !request.files.empty()) {
    std::vector<std::pair<std::string, std::string>> fields(request.params.begin(), request.params.end());
    std::vector<http::MultipartFile> files;
    for (const auto& f : request.files) {
      files.push_back(http::MultipartFile{std::string(f.field), std::string(f.filename), std::string(f.content_type),
                                          std::string(f.content)});
    }
    std::string boundary;
    extras().body = http::multipart_body(fields, files, boundary, worker_.random()());
    extras().content_type = "multipart/form-data; boundary=" + boundary;
  } else if (!request.params.empty() && !method_has_query_params(request.method)) {
    std::vector<std::pair<std::string, std::string>> params(request.params.begin(), request.params.end());
    http::append_form_urlencoded(extras().body, params);
    extras().content_type = "application/x-www-form-urlencoded";
  } else if (!request.body.empty()) {
    extras().body.assign(request.body);
  }
  if (!request.content_type.empty()) extras().content_type.assign(request.content_type);
  for (const auto& [name, value] : request.headers) {
    for (char c : name) {
      if (c == '\r' || c == '\n' || c == ':') {
        *error = fmt::format("header name '{}' is not valid", name);
        return false;
      }
    }
    for (char c : value) {
      if (c == '\r' || c == '\n') {
        *error = fmt::format("header '{}' has a line break in its value", name);
        return false;
      }
    }
    extras().headers.emplace_back(name, value);
  }

  const auto& bench = worker_.settings().bench;
  ok_codes_ = request.ok_codes ? *request.ok_codes : settings_.ok_codes;
  follow_redirects_ = request.follow_redirects.value_or(true);
  fetch_resources_ = request.fetch_resources.value_or(bench.fetch_resources);
  timeout_ns_ = static_cast<int64_t>((request.timeout_s > 0 ? request.timeout_s : bench.read_timeout_s) * 1e9);

  outcome_.verdict = script::Verdict::ok;
  outcome_.status = 0;
  outcome_.method = method_;
  // The page's statistics slots: the memo's when its page has the same key (compared
  // without building it), else looked up by key.
  const auto is_page_key = [&](std::string_view key) {
    return request.description.empty() ? key.size() == method_.size() + 1 + request.url.size() &&
                                             key.starts_with(method_) && key[method_.size()] == ' ' &&
                                             key.ends_with(request.url)
                                       : key == request.description;
  };
  Recorder& recorder = worker_.recorder();
  const uint64_t generation = recorder.slots_generation();
  if (memo && memo->slots_generation == generation && is_page_key(recorder.page_key(memo->page_slot))) {
    // outcome_.key holds the previous page's key, the same text when it had this slot.
    if (page_slot_ != memo->page_slot) outcome_.key.assign(recorder.page_key(memo->page_slot));
    page_slot_ = memo->page_slot;
    main_request_slot_ = memo->main_slot;
  } else {
    if (!request.description.empty()) {
      outcome_.key.assign(request.description);
    } else {
      outcome_.key.assign(method_);
      outcome_.key += ' ';
      outcome_.key.append(request.url);
    }
    page_slot_ = recorder.page_slot(outcome_.key);
    main_request_slot_ = recorder.main_request_slot(page_slot_, outcome_.key, method_, url_text_);
    if (memo) {
      memo->page_slot = page_slot_;
      memo->main_slot = main_request_slot_;
      memo->slots_generation = generation;
    }
  }
  outcome_.error_kind.clear();
  outcome_.message.clear();
  outcome_.redirects = outcome_.resources = 0;
  outcome_.connect_us = outcome_.first_byte_us = outcome_.total_us = 0;
  outcome_.body_bytes = outcome_.wire_bytes = 0;
  ++outcome_.sequence;
  page_start_ns_ = now;
  if (rare_) {
    rare_->page_failed_resource = false;
    rare_->resource_failure.clear();
    rare_->pending_resources.clear();
    rare_->next_resource = 0;
  }
  ++test_pages_;

  kind_ = RequestKind::main;
  parser_ = &main_parser_;
  parser_->set_store_body(true);
  request_slot_ = main_request_slot_;
  attempt_ = 0;
  // Started by handle() once the script has yielded: the script is inside lua_resume.
  exchange_requested_ = true;
  return true;
}

VirtualUser::Connection& VirtualUser::connection_for(const http::Url& url) {
  for (auto& conn : connections_) {
    if (conn->serves(url)) return *conn;
  }
  // Browsers keep a few connections per user; so do we, reusing the oldest slot.
  if (connections_.size() < 4) {
    connections_.push_back(std::make_unique<Connection>(*this));
  } else {
    std::rotate(connections_.begin(), connections_.begin() + 1, connections_.end());
    close(*connections_.back());
  }
  Connection& conn = *connections_.back();
  conn.https = url.tls();
  conn.host = url.host;
  conn.port = url.port;
  return conn;
}

void VirtualUser::close(Connection& conn) {
  if (conn.fd >= 0) {
    worker_.poller().remove(conn.fd);
    ::close(conn.fd);
    conn.fd = -1;
  }
  conn.wait = Connection::Wait::none;
  conn.readable = conn.writable = conn.hung_up = false;
  if (conn.tls) {
    boost::system::error_code ignored;
    if (conn.tls->socket.is_open()) {
      conn.tls->socket.shutdown(tcp::socket::shutdown_both, ignored);
      conn.tls->socket.close(ignored);
    }
    conn.tls->stream.reset();
  }
  conn.open = false;
  conn.served = 0;
}

void VirtualUser::start_exchange() {
  if (aborted_) return;
  // A page's main request starts with the page; redirects and resources start now.
  exchange_start_ns_ = kind_ == RequestKind::main ? page_start_ns_ : mono_ns();
  first_byte_ns_ = 0;
  got_bytes_ = false;
  timed_out_ = false;
  sent_ = 0;

  static const RequestExtras no_extras;
  const RequestExtras& extras = extras_ ? *extras_ : no_extras;
  // The same page again (same cached URL, method and headers, no body, no cookies): the
  // bytes already in the buffer are the request.
  const bool plain_page = kind_ == RequestKind::main && url_entry_ != nullptr && url_ == &url_entry_->url &&
                          extras.body.empty() && extras.headers.empty() && extras.content_type.empty() &&
                          cookies_.size() == 0;
  if (plain_page && request_memo_.url == url_entry_ && request_memo_.settings_version == settings_version_ &&
      request_memo_.method == method_) {
    send_on_connection();
    return;
  }
  request_memo_.url = nullptr;

  // The request bytes: kept in one buffer and written with one call. The header views
  // and the Cookie value are scratch shared by the thread's users, since append_request
  // consumes them before this returns.
  static thread_local std::vector<http::Header> header_views;
  static thread_local std::string cookie_scratch;
  header_views.clear();
  bool has_ua = false;
  for (const auto& [name, value] : settings_.default_headers) {
    header_views.push_back({name, value});
    if (strcasecmp(name.c_str(), "user-agent") == 0) has_ua = true;
  }
  for (const auto& [name, value] : extras.headers) {
    header_views.push_back({name, value});
    if (strcasecmp(name.c_str(), "user-agent") == 0) has_ua = true;
  }
  if (!has_ua && !settings_.user_agent.empty()) header_views.push_back({"User-Agent", settings_.user_agent});
  if (!settings_.authorization.empty()) header_views.push_back({"Authorization", settings_.authorization});
  cookie_scratch.clear();
  if (cookies_.size() != 0 &&
      cookies_.append_cookie_header(*url_, cookie_scratch, worker_.clock().epoch_us(exchange_start_ns_) / 1000000)) {
    header_views.push_back({"Cookie", cookie_scratch});
  }
  bool has_body = kind_ != RequestKind::resource && !extras.body.empty();
  if (has_body && !extras.content_type.empty()) header_views.push_back({"Content-Type", extras.content_type});
  request_bytes_.clear();
  std::string_view method = kind_ == RequestKind::resource ? std::string_view("GET") : std::string_view(method_);
  http::append_request(request_bytes_, method, *url_, header_views, has_body ? std::string_view(extras.body) : "");
  if (plain_page) {
    request_memo_.url = url_entry_;
    request_memo_.settings_version = settings_version_;
    request_memo_.method = method_;
  }
  send_on_connection();
}

void VirtualUser::send_on_connection() {
  parser_->reset(kind_ != RequestKind::resource && method_ == "HEAD");
  conn_ = &connection_for(*url_);
  if (conn_->open) {
    send_request(exchange_start_ns_);
  } else {
    connect(*conn_);
  }
}

void VirtualUser::connect(Connection& conn) {
  tcp::endpoint endpoint;
  std::string error;
  if (!worker_.resolve(*url_, &endpoint, &error)) {
    fail_exchange(ErrorKind::dns, error);
    return;
  }
  connect_start_ns_ = mono_ns();
  deadline_ns_ = connect_start_ns_ + static_cast<int64_t>(worker_.settings().bench.connect_timeout_s * 1e9);
  if (url_->tls()) {
    connect_tls(conn, endpoint);
  } else {
    connect_plain(conn, endpoint);
  }
}

namespace {

std::string out_of_descriptors(int err) {
  return fmt::format("out of file descriptors ({}): each virtual user holds a connection; lower the "
                     "concurrency or raise the open-file limit (ulimit -n)",
                     std::strerror(err));
}

}  // namespace

void VirtualUser::connect_plain(Connection& conn, const tcp::endpoint& endpoint) {
  int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    if (err == EMFILE || err == ENFILE) worker_.set_fatal(out_of_descriptors(err));
    fail_exchange(ErrorKind::connect, fmt::format("cannot open a socket: {}", std::strerror(err)));
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  conn.fd = fd;
  conn.readable = conn.writable = conn.hung_up = false;
  int rc = ::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size()));
  int err = rc == 0 ? 0 : errno;
  if (rc != 0 && err != EINPROGRESS) {
    close(conn);
    fail_exchange(ErrorKind::connect, fmt::format("cannot connect to {}: {}", url_->origin(), std::strerror(err)));
    return;
  }
  // Registered after connect(): an unconnected socket polls as hung up.
  if (int add_err = worker_.poller().add(fd, &conn); add_err != 0) {
    close(conn);
    if (add_err == EMFILE || add_err == ENFILE || add_err == ENOSPC) worker_.set_fatal(out_of_descriptors(add_err));
    fail_exchange(ErrorKind::connect, fmt::format("cannot watch a socket: {}", std::strerror(add_err)));
    return;
  }
  conn.wait = Connection::Wait::connect;
  if (rc == 0) plain_connected(conn);
}

void VirtualUser::plain_connected(Connection& conn) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) {
    // An output edge left over from this connection's previous socket would look the
    // same as success: ask whether there is a peer.
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    if (::getpeername(conn.fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      if (errno == ENOTCONN) {
        conn.writable = false;
        return;  // still connecting: the real edge is to come
      }
      err = errno;
    }
  }
  conn.wait = Connection::Wait::none;
  deadline_ns_ = 0;
  if (err != 0) {
    fail_exchange(ErrorKind::connect, fmt::format("cannot connect to {}: {}", url_->origin(), std::strerror(err)));
    return;
  }
  const int64_t now = mono_ns();
  outcome_.connect_us += (now - connect_start_ns_) / 1000;
  conn.open = true;
  send_request(now);
}

void VirtualUser::on_socket_ready(Connection& conn, uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) conn.readable = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) conn.hung_up = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) conn.writable = true;
  if (aborted_ || &conn != conn_) return;  // an idle connection: the edges are kept for its next use
  switch (conn.wait) {
    case Connection::Wait::connect:
      if (conn.writable) plain_connected(conn);
      return;
    case Connection::Wait::write:
      if (conn.writable) {
        conn.wait = Connection::Wait::none;
        send_plain();
      }
      return;
    case Connection::Wait::read:
      if (conn.readable) {
        conn.wait = Connection::Wait::none;
        read_plain();
      }
      return;
    case Connection::Wait::none:
      return;
  }
}

void VirtualUser::connect_tls(Connection& conn, const tcp::endpoint& endpoint) {
  if (!conn.tls) conn.tls = std::make_unique<Connection::Tls>(worker_.io());
  tcp::socket& socket = conn.tls->socket;
  boost::system::error_code ec;
  socket.open(endpoint.protocol(), ec);
  if (ec) {
    if (ec.value() == EMFILE || ec.value() == ENFILE) worker_.set_fatal(out_of_descriptors(ec.value()));
    fail_exchange(ErrorKind::connect, fmt::format("cannot open a socket: {}", ec.message()));
    return;
  }
  socket.non_blocking(true, ec);
  socket.set_option(tcp::no_delay(true), ec);
  socket.async_connect(endpoint, [this, &conn](const boost::system::error_code& ec) {
    deadline_ns_ = 0;
    if (aborted_) return;
    if (ec) {
      if (timed_out_) {
        fail_timeout(Connection::Wait::connect);
      } else {
        fail_exchange(ErrorKind::connect, fmt::format("cannot connect to {}: {}", url_->origin(), ec.message()));
      }
      return;
    }
    outcome_.connect_us += (mono_ns() - connect_start_ns_) / 1000;
    conn.tls->stream = std::make_unique<asio::ssl::stream<tcp::socket&>>(conn.tls->socket, worker_.tls_context());
    SSL_set_tlsext_host_name(conn.tls->stream->native_handle(), url_->host.c_str());
    if (worker_.settings().bench.tls_verify) {
      // The chain is checked by the context; the name (or IP address) here.
      conn.tls->stream->set_verify_callback(asio::ssl::host_name_verification(url_->host));
    }
    deadline_ns_ = mono_ns() + static_cast<int64_t>(worker_.settings().bench.connect_timeout_s * 1e9);
    conn.tls->stream->async_handshake(asio::ssl::stream_base::client, [this, &conn](const boost::system::error_code& ec) {
      deadline_ns_ = 0;
      if (aborted_) return;
      if (ec) {
        fail_exchange(timed_out_ ? ErrorKind::timeout : ErrorKind::tls,
                      fmt::format("TLS handshake with {} failed: {}", url_->origin(), ec.message()));
        return;
      }
      conn.open = true;
      send_request(mono_ns());
    });
  });
}

void VirtualUser::send_request(int64_t now) {
  deadline_ns_ = now + timeout_ns_;
  if (conn_->https) {
    asio::async_write(*conn_->tls->stream, asio::buffer(request_bytes_),
                      [this](const boost::system::error_code& ec, size_t) {
                        if (aborted_) return;
                        if (ec) {
                          if (timed_out_) return fail_timeout(Connection::Wait::write);
                          if (retry_on_fresh_connection()) return;
                          return fail_exchange(ErrorKind::reset, fmt::format("cannot send request: {}", ec.message()));
                        }
                        sent_ns_ = mono_ns();
                        conn_->tls->stream->async_read_some(
                            asio::buffer(worker_.read_buffer(), Worker::kReadBufferSize),
                            [this](const boost::system::error_code& ec, size_t n) { on_tls_read(ec, n); });
                      });
    return;
  }
  send_plain();
}

// Plain TCP: write at once (a request fits the socket buffer), then read when the
// socket has input, so a keep-alive request costs one write and one read.
void VirtualUser::send_plain() {
  int fd = conn_->fd;
  while (sent_ < request_bytes_.size()) {
    ssize_t n = ::send(fd, request_bytes_.data() + sent_, request_bytes_.size() - sent_, MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      conn_->writable = false;
      conn_->wait = Connection::Wait::write;
      return;
    }
    int err = errno;
    if (retry_on_fresh_connection()) return;
    fail_exchange(ErrorKind::reset, fmt::format("cannot send request to {}: {}", url_->origin(), std::strerror(err)));
    return;
  }
  sent_ns_ = mono_ns();
  wait_readable();
}

void VirtualUser::wait_readable() {
  if (conn_->readable) {
    read_plain();  // input came while the user was busy elsewhere
    return;
  }
  conn_->wait = Connection::Wait::read;
}

void VirtualUser::read_plain() {
  int fd = conn_->fd;
  char* buffer = worker_.read_buffer();
  while (true) {
    ssize_t n = ::recv(fd, buffer, Worker::kReadBufferSize, 0);
    if (n > 0) {
      // A short read emptied the socket; say so before consume(), which may complete
      // the exchange and go on to the next request on this connection. After the peer
      // closed, the end of the stream is still to be read, and no edge will announce it.
      bool drained = static_cast<size_t>(n) < Worker::kReadBufferSize && !conn_->hung_up;
      if (drained) conn_->readable = false;
      if (consume(buffer, static_cast<size_t>(n))) return;
      if (drained) break;
      continue;
    }
    if (n == 0) {
      // Peer closed: ends a close-delimited body, or the connection went stale.
      if (!got_bytes_ && retry_on_fresh_connection()) return;
      auto result = parser_->finish_eof();
      if (result == http::ResponseParser::Result::complete) {
        conn_->open = false;
        exchange_done(mono_ns());
      } else {
        fail_exchange(ErrorKind::reset, fmt::format("{} {}: {}", current_method(), url_text_, parser_->error()));
      }
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      conn_->readable = false;
      break;
    }
    int err = errno;
    if (!got_bytes_ && retry_on_fresh_connection()) return;
    fail_exchange(ErrorKind::reset, fmt::format("connection to {} failed: {}", url_->origin(), std::strerror(err)));
    return;
  }
  conn_->wait = Connection::Wait::read;
}

void VirtualUser::on_tls_read(const boost::system::error_code& ec, size_t n) {
  if (aborted_) return;
  if (n > 0 && consume(worker_.read_buffer(), n)) return;
  if (ec) {
    if (timed_out_) return fail_timeout(Connection::Wait::read);
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      if (!got_bytes_ && retry_on_fresh_connection()) return;
      if (parser_->finish_eof() == http::ResponseParser::Result::complete) {
        conn_->open = false;
        return exchange_done(mono_ns());
      }
      return fail_exchange(ErrorKind::reset, fmt::format("{} {}: {}", current_method(), url_text_, parser_->error()));
    }
    if (!got_bytes_ && retry_on_fresh_connection()) return;
    return fail_exchange(ErrorKind::tls, fmt::format("connection to {} failed: {}", url_->origin(), ec.message()));
  }
  conn_->tls->stream->async_read_some(asio::buffer(worker_.read_buffer(), Worker::kReadBufferSize),
                                      [this](const boost::system::error_code& ec, size_t n) { on_tls_read(ec, n); });
}

bool VirtualUser::consume(const char* data, size_t n) {
  const int64_t now = mono_ns();
  if (!got_bytes_) {
    got_bytes_ = true;
    first_byte_ns_ = now;
  }
  size_t used = 0;
  auto result = parser_->feed(data, n, &used);
  if (result == http::ResponseParser::Result::need_more) return false;
  if (result == http::ResponseParser::Result::error) {
    const std::string& err = parser_->error();
    ErrorKind kind = err.find("larger than") != std::string::npos ? ErrorKind::too_large : ErrorKind::protocol;
    fail_exchange(kind, fmt::format("{} {}: {}", current_method(), url_text_, err));
    return true;
  }
  exchange_done(now);
  return true;
}

// A kept-alive connection the server closed while idle fails on first use; browsers
// retry such a request once on a fresh connection, and so do we.
bool VirtualUser::retry_on_fresh_connection() {
  if (attempt_ > 0 || conn_ == nullptr || conn_->served == 0 || got_bytes_) return false;
  ++attempt_;
  close(*conn_);
  parser_->reset(current_method() == "HEAD");
  sent_ = 0;
  connect(*conn_);
  return true;
}

bool VirtualUser::status_ok(int status) const {
  return std::find(ok_codes_.begin(), ok_codes_.end(), status) != ok_codes_.end();
}

void VirtualUser::store_cookies(const http::ResponseParser& parser, const http::Url& url) {
  if (!parser.has_set_cookie()) return;
  int64_t now_s = 0;
  for (size_t i = 0, n = parser.header_count(); i < n; ++i) {
    std::string_view name = parser.header_name(i);
    if (name.size() == 10 && strncasecmp(name.data(), "set-cookie", 10) == 0) {
      if (now_s == 0) now_s = wall_us() / 1000000;
      cookies_.store(url, parser.header_at(i).second, now_s);
    }
  }
}

void VirtualUser::exchange_done(int64_t now) {
  deadline_ns_ = 0;
  connect_failures_ = 0;  // the server answers: no back-off
  ++conn_->served;
  if (!parser_->keep_alive()) close(*conn_);
  int status = parser_->status();
  ++test_requests_;

  RequestSample sample;
  sample.status = status;
  sample.latency_us = (now - exchange_start_ns_) / 1000;
  sample.bytes_sent = request_bytes_.size();
  sample.bytes_received = parser_->wire_bytes();
  sample.done_ns = now;
  bool followable = kind_ != RequestKind::resource && follow_redirects_ && is_redirect(status) &&
                    !parser_->header("location").empty();
  sample.ok = status_ok(status) || followable;
  if (!sample.ok) sample.error = kind_ == RequestKind::resource ? ErrorKind::resource : ErrorKind::status;
  worker_.recorder().request_done(request_slot_, sample);
  if (const auto& trace = worker_.settings().trace) {
    std::string_view url = url_text_;
    trace(TraceEvent{kind_ == RequestKind::main ? "page" : kind_ == RequestKind::redirect ? "redirect" : "resource",
                     kind_ == RequestKind::resource ? "GET" : method_, url, status, sample.latency_us,
                     parser_->wire_bytes(), sample.ok ? "" : "status not in ok_codes"});
  }
  outcome_.wire_bytes += parser_->wire_bytes();
  store_cookies(*parser_, *url_);

  if (kind_ == RequestKind::resource) {
    RareState& r = rare();
    if (!sample.ok && !r.page_failed_resource) {
      r.page_failed_resource = true;
      r.resource_failure = fmt::format("resource {} returned status {}", url_text_, status);
    }
    next_resource_or_finish(now);
    return;
  }

  if (kind_ == RequestKind::main) outcome_.first_byte_us = (first_byte_ns_ - sent_ns_) / 1000;
  if (followable) {
    if (outcome_.redirects >= worker_.settings().bench.max_redirects) {
      outcome_.status = status;
      outcome_.verdict = script::Verdict::failure;
      outcome_.error_kind = "status";
      outcome_.message = fmt::format("{} {}: more than {} redirects", method_, outcome_.key,
                                     worker_.settings().bench.max_redirects);
      page_done(now);
      return;
    }
    std::string error;
    auto next = http::resolve_url(*url_, parser_->header("location"), &error);
    if (!next) {
      outcome_.status = status;
      outcome_.verdict = script::Verdict::failure;
      outcome_.error_kind = "protocol";
      outcome_.message = fmt::format("{} {}: bad redirect: {}", method_, url_text_, error);
      page_done(now);
      return;
    }
    ++outcome_.redirects;
    // 301/302/303 turn a POST into a GET, as browsers do; 307/308 keep method and body.
    if (status == 303 || ((status == 301 || status == 302) && method_ == "POST")) {
      if (method_ != "HEAD") method_ = "GET";
      if (extras_) {
        extras_->body.clear();
        extras_->content_type.clear();
      }
    }
    own_url(std::move(*next));
    kind_ = RequestKind::redirect;
    std::string key = method_ + " ";
    key += url_text_;
    request_slot_ = worker_.recorder().request_slot(page_slot_, key, method_, url_text_, kind_);
    attempt_ = 0;
    start_exchange();
    return;
  }

  outcome_.status = status;
  outcome_.final_url = url_text_;
  outcome_.body_bytes = parser_->body_bytes();
  if (!sample.ok) {
    outcome_.verdict = script::Verdict::failure;
    outcome_.error_kind = "status";
    std::string codes;
    for (int c : ok_codes_) codes += (codes.empty() ? "" : ":") + std::to_string(c);
    outcome_.message = fmt::format("{} {}: status {} is not one of ok_codes {}", method_, url_text_, status, codes);
    page_done(now);
    return;
  }
  if (fetch_resources_ && http::looks_like_html(parser_->content_type(), parser_->body())) {
    for (auto& resource : http::extract_resources(parser_->body(), *url_)) {
      RareState& r = rare();
      std::string key = resource.str();
      if (r.fetched_resources.insert(key).second) r.pending_resources.push_back(std::move(resource));
    }
  }
  next_resource_or_finish(now);
}

void VirtualUser::next_resource_or_finish(int64_t now) {
  if (!has_pending_resource()) {
    if (rare_ && rare_->page_failed_resource && outcome_.verdict == script::Verdict::ok) {
      outcome_.verdict = script::Verdict::failure;
      outcome_.error_kind = "resource";
      outcome_.message = rare_->resource_failure;
    }
    page_done(now);
    return;
  }
  own_url(rare_->pending_resources[rare_->next_resource++]);
  ++outcome_.resources;
  kind_ = RequestKind::resource;
  if (!rare_->resource_parser) rare_->resource_parser = std::make_unique<http::ResponseParser>();
  parser_ = rare_->resource_parser.get();
  parser_->set_store_body(false);
  std::string key = "GET ";
  key += url_text_;
  request_slot_ = worker_.recorder().request_slot(page_slot_, key, "GET", url_text_, kind_);
  attempt_ = 0;
  start_exchange();
}

void VirtualUser::fail_exchange(ErrorKind kind, std::string message) {
  deadline_ns_ = 0;
  int64_t now = mono_ns();
  if (conn_ != nullptr) close(*conn_);
  if (aborted_) return;
  if (kind == ErrorKind::connect || kind == ErrorKind::dns) ++connect_failures_;
  ++test_requests_;
  RequestSample sample;
  sample.ok = false;
  sample.error = kind;
  sample.latency_us = (now - exchange_start_ns_) / 1000;
  sample.bytes_sent = sent_;
  sample.bytes_received = 0;
  sample.done_ns = now;
  if (request_slot_ >= 0) worker_.recorder().request_done(request_slot_, sample);
  if (const auto& trace = worker_.settings().trace) {
    std::string_view url = url_text_;
    trace(TraceEvent{kind_ == RequestKind::main ? "page" : kind_ == RequestKind::redirect ? "redirect" : "resource",
                     kind_ == RequestKind::resource ? "GET" : method_, url, 0, sample.latency_us, 0, message});
  }
  if (kind_ == RequestKind::resource) {
    RareState& r = rare();
    if (!r.page_failed_resource) {
      r.page_failed_resource = true;
      r.resource_failure = fmt::format("resource {}: {}", url_text_, message);
    }
    next_resource_or_finish(now);
    return;
  }
  outcome_.verdict = script::Verdict::error;
  outcome_.error_kind = std::string(error_kind_name(kind));
  outcome_.message = std::move(message);
  outcome_.final_url = url_text_;
  page_done(now);
}

void VirtualUser::page_done(int64_t now) {
  outcome_.total_us = (now - page_start_ns_) / 1000;
  parser_ = &main_parser_;
  pending_page_.slot = page_slot_;
  pending_page_.ok = outcome_.verdict == script::Verdict::ok;
  pending_page_.kind = pending_page_.ok ? ErrorKind::other
                                        : stats::parse_error_kind(outcome_.error_kind).value_or(ErrorKind::other);
  pending_page_.status = outcome_.status;
  pending_page_.latency_us = outcome_.total_us;
  pending_page_.done_ns = now;
  has_pending_page_ = true;
  after_page();
}

// The page is counted when the script moves on: a check that fails right after it
// (assert on its body) makes it a failed page, attributed where it belongs.
void VirtualUser::flush_page(bool check_failed, int64_t now) {
  if (!has_pending_page_) return;
  has_pending_page_ = false;
  if (check_failed && pending_page_.ok) {
    pending_page_.ok = false;
    pending_page_.kind = ErrorKind::assertion;
  }
  worker_.recorder().page_done(pending_page_.slot, pending_page_.ok, pending_page_.kind, pending_page_.status,
                               pending_page_.latency_us, pending_page_.done_ns, now);
}

// Think time after each page, as FunkLoad did: uniform in [sleep_time_min, max].
void VirtualUser::after_page() {
  const auto& bench = worker_.settings().bench;
  double lo = bench.sleep_time_min_s, hi = bench.sleep_time_max_s;
  if (hi > 0 && outcome_.verdict == script::Verdict::ok) {
    double pause = lo;
    if (hi > lo) pause = lo + (hi - lo) * std::uniform_real_distribution<double>(0.0, 1.0)(worker_.random());
    begin_sleep(pause);
    return;
  }
  if (starting_exchange_) {
    // The page failed before any I/O (no socket, unknown host): resume from the loop,
    // so a script that catches the error and retries cannot grow the stack.
    asio::post(worker_.io(), [this] { resume_script(); });
    return;
  }
  resume_script();
}

void VirtualUser::check_deadline(int64_t now_ns) {
  if (deadline_ns_ == 0 || now_ns < deadline_ns_ || conn_ == nullptr || aborted_) return;
  deadline_ns_ = 0;
  timed_out_ = true;
  if (conn_->https) {
    // Closing Asio's socket completes the pending operation with an error, which its
    // handler reports as a timeout.
    boost::system::error_code ignored;
    if (conn_->tls) conn_->tls->socket.close(ignored);
    conn_->open = false;
    return;
  }
  // A plain socket has no pending operation to cancel: fail the exchange here.
  fail_timeout(conn_->wait);
}

void VirtualUser::fail_timeout(IoWait stage) {
  switch (stage) {
    case Connection::Wait::connect:
      return fail_exchange(ErrorKind::timeout, fmt::format("connect to {} timed out after {}s", url_->origin(),
                                                           worker_.settings().bench.connect_timeout_s));
    case Connection::Wait::write:
      return fail_exchange(ErrorKind::timeout, "request write timed out");
    case Connection::Wait::none:
    case Connection::Wait::read:
      return fail_exchange(ErrorKind::timeout, fmt::format("no complete response from {} within {:g}s",
                                                           url_->origin(), timeout_ns_ / 1e9));
  }
}

}  // namespace bm::engine
