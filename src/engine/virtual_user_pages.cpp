// A page of a virtual user: its URL and options made into a request, redirects followed,
// resources of an HTML page fetched, and the verdict the script sees.
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

#include "conf/values.hpp"
#include "engine/virtual_user_connection.hpp"
#include "engine/worker.hpp"
#include "http/html_resources.hpp"


namespace bm::engine {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using stats::ErrorKind;

namespace {

std::string_view error_kind_name(ErrorKind kind) { return stats::to_string(kind); }

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Text that would end a request header line early (and start another of the script's
// making) if written as it is.
bool has_line_break(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

bool method_has_query_params(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "DELETE" || method == "OPTIONS";
}

}  // namespace

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

  if (method_ != request.method) method_.assign(request.method);  // the same as the last page's, mostly
  if (extras_) {
    extras_->body.clear();
    extras_->content_type.clear();
    extras_->headers.clear();
  }
  if (request.multipart || !request.files.empty()) {
    std::vector<std::pair<std::string, std::string>> fields(request.params.begin(), request.params.end());
    std::vector<http::MultipartFile> files;
    for (const auto& f : request.files) {
      if (has_line_break(f.content_type)) {
        *error = fmt::format("the content type of file '{}' has a line break", conf::one_line(f.filename));
        return false;
      }
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
  if (!request.content_type.empty()) {
    if (has_line_break(request.content_type)) {
      *error = "the content type has a line break";
      return false;
    }
    extras().content_type.assign(request.content_type);
  }
  for (const auto& [name, value] : request.headers) {
    if (has_line_break(name) || name.find(':') != std::string_view::npos) {
      *error = fmt::format("header name '{}' is not valid", conf::one_line(name));
      return false;
    }
    if (has_line_break(value)) {
      *error = fmt::format("header '{}' has a line break in its value", conf::one_line(name));
      return false;
    }
    extras().headers.emplace_back(name, value);
  }

  const auto& bench = worker_.settings().bench;
  ok_codes_ = request.ok_codes ? *request.ok_codes : settings_.ok_codes;
  follow_redirects_ = request.follow_redirects.value_or(true);
  fetch_resources_ = request.fetch_resources.value_or(bench.fetch_resources);
  keep_body_ = request.keep_body;
  timeout_ns_ = static_cast<int64_t>((request.timeout_s > 0 ? request.timeout_s : bench.read_timeout_s) * 1e9);

  outcome_.verdict = script::Verdict::ok;
  outcome_.status = 0;
  if (outcome_.method != method_) outcome_.method = method_;
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
  parser_->set_store_body(keep_body_);
  request_slot_ = main_request_slot_;
  attempt_ = 0;
  // Started by handle() once the script has yielded: the script is inside lua_resume.
  exchange_requested_ = true;
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
  if (!parser_->keep_alive()) conn_->close();
  int status = parser_->status();
  ++test_requests_;

  RequestSample sample;
  sample.status = status;
  sample.latency_us = (now - exchange_start_ns_) / 1000;
  sample.wait_us = request_wait_us_;
  request_wait_us_ = 0;
  sample.connect_us = request_connect_us_;
  if (got_bytes_) sample.first_byte_us = (first_byte_ns_ - sent_ns_) / 1000;
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
    for (const http::Url& resource : worker_.resource_lists().resources(parser_->body(), *url_, url_text_)) {
      RareState& r = rare();
      std::string key = resource.str();
      if (r.fetched_resources.insert(key).second) r.pending_resources.push_back(resource);
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
  if (conn_ != nullptr) conn_->close();
  if (aborted_) return;
  if (kind == ErrorKind::connect || kind == ErrorKind::dns) ++connect_failures_;
  ++test_requests_;
  RequestSample sample;
  sample.ok = false;
  sample.error = kind;
  sample.latency_us = (now - exchange_start_ns_) / 1000;
  sample.wait_us = request_wait_us_;
  request_wait_us_ = 0;
  sample.connect_us = request_connect_us_;
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
  pending_page_.wait_us = page_wait_us_;
  page_wait_us_ = 0;
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
                               pending_page_.latency_us, pending_page_.done_ns, now, pending_page_.wait_us);
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

}  // namespace bm::engine
