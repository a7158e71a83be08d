// A virtual user's HTTP exchanges, written once for both kinds of connection
// (virtual_user_connection.hpp): the request written, the response read and parsed,
// deadlines, and retries on a stale keep-alive connection.
#include "engine/virtual_user.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "engine/virtual_user_connection.hpp"
#include "engine/worker.hpp"

namespace bm::engine {

using stats::ErrorKind;

VirtualUser::Connection& VirtualUser::connection_for(const http::Url& url) {
  for (auto& conn : connections_) {
    if (conn->serves(url)) return *conn;
  }
  // Browsers keep a few connections per user; so do we, reusing the oldest slot.
  if (connections_.size() < 4) {
    connections_.push_back(std::make_unique<Connection>(*this));
  } else {
    std::rotate(connections_.begin(), connections_.begin() + 1, connections_.end());
    connections_.back()->close();
  }
  Connection& conn = *connections_.back();
  conn.kind = Connection::kind_for(url);  // plain or TLS, for as long as it serves this origin
  conn.host = url.host;
  conn.port = url.port;
  return conn;
}

void VirtualUser::start_exchange() {
  if (aborted_) return;
  // A page's main request starts with the page; redirects and resources start now.
  exchange_start_ns_ = kind_ == RequestKind::main ? page_start_ns_ : mono_ns();
  first_byte_ns_ = 0;
  request_connect_us_ = -1;
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
  if (conn_->established) {
    send_request(exchange_start_ns_);
  } else {
    connect(*conn_);
  }
}

void VirtualUser::connect(Connection& conn) {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string error;
  if (!worker_.resolve(*url_, &endpoint, &error)) {
    fail_exchange(ErrorKind::dns, error);
    return;
  }
  connect_start_ns_ = mono_ns();
  deadline_ns_ = connect_start_ns_ + connect_timeout_ns();
  conn.open(endpoint);
}

int64_t VirtualUser::connect_timeout_ns() const {
  return static_cast<int64_t>(worker_.settings().bench.connect_timeout_s * 1e9);
}

// ---- The connection's events.

void VirtualUser::on_tcp_connected(int64_t now) {
  outcome_.connect_us += (now - connect_start_ns_) / 1000;
  deadline_ns_ = now + connect_timeout_ns();  // for a TLS handshake, if one follows
}

void VirtualUser::on_connection_open(int64_t now) {
  conn_->established = true;
  request_connect_us_ = (now - connect_start_ns_) / 1000;  // TCP, and TLS when there is one
  send_request(now);
}

// The time the request is handed to the socket is its "sent" time (time to first byte
// counts from it): the send itself takes a microsecond or two, not worth a clock reading.
void VirtualUser::send_request(int64_t now) {
  deadline_ns_ = now + timeout_ns_;
  sent_ns_ = now;
  conn_->send();
}

void VirtualUser::on_request_sent() { conn_->receive(); }

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
  response_done_ns_ = now;  // test_passed() within exchange_done() ends its test at this time
  exchange_done(now);
  response_done_ns_ = -1;
  return true;
}

// The peer closed: that ends a close-delimited body, or the connection went stale.
void VirtualUser::on_peer_closed() {
  if (!got_bytes_ && retry_on_fresh_connection()) return;
  if (parser_->finish_eof() == http::ResponseParser::Result::complete) {
    conn_->established = false;
    return exchange_done(mono_ns());
  }
  fail_exchange(ErrorKind::reset, fmt::format("{} {}: {}", current_method(), url_text_, parser_->error()));
}

void VirtualUser::on_io_error(IoWait stage, ErrorKind kind, std::string message) {
  if (timed_out_) {
    // A handshake cut by its deadline keeps the TLS error's text.
    if (stage != IoWait::handshake) return fail_timeout(stage);
    kind = ErrorKind::timeout;
  }
  if ((stage == IoWait::write || stage == IoWait::read) && retry_on_fresh_connection()) return;
  fail_exchange(kind, std::move(message));
}

// A kept-alive connection the server closed while idle fails on first use; browsers
// retry such a request once on a fresh connection, and so do we.
bool VirtualUser::retry_on_fresh_connection() {
  if (attempt_ > 0 || conn_ == nullptr || conn_->served == 0 || got_bytes_) return false;
  ++attempt_;
  conn_->close();
  parser_->reset(current_method() == "HEAD");
  sent_ = 0;
  connect(*conn_);
  return true;
}

int VirtualUser::open_connections() const noexcept {
  int open = 0;
  for (const auto& connection : connections_) open += connection->established ? 1 : 0;
  return open;
}

void VirtualUser::check_deadline(int64_t now_ns) {
  if (deadline_ns_ == 0 || now_ns < deadline_ns_ || conn_ == nullptr || aborted_) return;
  deadline_ns_ = 0;
  timed_out_ = true;
  conn_->cancel();
}

void VirtualUser::fail_timeout(IoWait stage) {
  switch (stage) {
    case IoWait::connect:
    case IoWait::handshake:
      return fail_exchange(ErrorKind::timeout, fmt::format("connect to {} timed out after {}s", url_->origin(),
                                                           worker_.settings().bench.connect_timeout_s));
    case IoWait::write:
      return fail_exchange(ErrorKind::timeout, "request write timed out");
    case IoWait::none:
    case IoWait::read:
      return fail_exchange(ErrorKind::timeout, fmt::format("no complete response from {} within {:g}s",
                                                           url_->origin(), timeout_ns_ / 1e9));
  }
}

}  // namespace bm::engine
