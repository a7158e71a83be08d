// A virtual user's connections and HTTP exchanges: plain sockets through the worker's
// poller, HTTPS through Asio, the request written, the response read and parsed,
// deadlines and retries on a stale keep-alive connection.
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
