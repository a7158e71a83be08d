// The two kinds of a virtual user's connection behind one set of operations
// (virtual_user_connection.hpp): plain TCP on a socket of our own in the worker's
// ReadyPoller, TLS through Asio's ssl::stream. What an outcome means for the exchange
// (retry, timeout, failure) is decided by the owner, in virtual_user_io.cpp.
#include "engine/virtual_user_connection.hpp"

#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "engine/worker.hpp"

namespace bm::engine {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using stats::ErrorKind;

namespace {

std::string out_of_descriptors(int err) {
  return fmt::format("out of file descriptors ({}): each virtual user holds a connection; lower the "
                     "concurrency or raise the open-file limit (ulimit -n)",
                     std::strerror(err));
}

}  // namespace

void VirtualUser::Connection::close() {
  if (fd >= 0) {
    owner.worker_.poller().remove(fd);
    ::close(fd);
    fd = -1;
  }
  wait = Wait::none;
  readable = writable = hung_up = false;
  if (tls) {
    boost::system::error_code ignored;
    if (tls->socket.is_open()) {
      tls->socket.shutdown(tcp::socket::shutdown_both, ignored);
      tls->socket.close(ignored);
    }
    tls->stream.reset();
  }
  established = false;
  served = 0;
}

void VirtualUser::Connection::cancel() {
  if (kind == Kind::plain) {
    // Nothing is pending on a plain socket: the step it waits for ends here.
    return owner.on_io_error(wait, ErrorKind::timeout, {});
  }
  // Closing Asio's socket completes the pending operation with an error, which its
  // handler reports.
  boost::system::error_code ignored;
  if (tls) tls->socket.close(ignored);
  established = false;
}

// ---- Plain TCP: write at once (a request fits the socket buffer), then read when the
// socket has input, so a keep-alive request costs one send and one recv.

void VirtualUser::Connection::plain_open(const tcp::endpoint& endpoint) {
  Worker& worker = owner.worker_;
  int sock = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    int err = errno;
    if (err == EMFILE || err == ENFILE) worker.set_fatal(out_of_descriptors(err));
    return owner.on_io_error(Wait::connect, ErrorKind::connect,
                             fmt::format("cannot open a socket: {}", std::strerror(err)));
  }
  int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fd = sock;
  readable = writable = hung_up = false;
  int rc = ::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size()));
  int err = rc == 0 ? 0 : errno;
  if (rc != 0 && err != EINPROGRESS) {
    close();
    return owner.on_io_error(Wait::connect, ErrorKind::connect,
                             fmt::format("cannot connect to {}: {}", owner.url_->origin(), std::strerror(err)));
  }
  // Registered after connect(): an unconnected socket polls as hung up.
  if (int add_err = worker.poller().add(fd, this); add_err != 0) {
    close();
    if (add_err == EMFILE || add_err == ENFILE || add_err == ENOSPC) worker.set_fatal(out_of_descriptors(add_err));
    return owner.on_io_error(Wait::connect, ErrorKind::connect,
                             fmt::format("cannot watch a socket: {}", std::strerror(add_err)));
  }
  wait = Wait::connect;
  if (rc == 0) plain_connected();
}

void VirtualUser::Connection::plain_connected() {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) {
    // An output edge left over from this connection's previous socket would look the
    // same as success: ask whether there is a peer.
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      if (errno == ENOTCONN) {
        writable = false;
        return;  // still connecting: the real edge is to come
      }
      err = errno;
    }
  }
  wait = Wait::none;
  if (err != 0) {
    return owner.on_io_error(Wait::connect, ErrorKind::connect,
                             fmt::format("cannot connect to {}: {}", owner.url_->origin(), std::strerror(err)));
  }
  const int64_t now = mono_ns();
  owner.on_tcp_connected(now);
  owner.on_connection_open(now);
}

void VirtualUser::Connection::on_ready(uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) hung_up = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writable = true;
  if (owner.aborted_ || this != owner.conn_) return;  // an idle connection: the edges are kept for its next use
  switch (wait) {
    case Wait::connect:
      if (writable) plain_connected();
      return;
    case Wait::write:
      if (writable) {
        wait = Wait::none;
        plain_send();
      }
      return;
    case Wait::read:
      if (readable) {
        wait = Wait::none;
        plain_read();
      }
      return;
    case Wait::handshake:
    case Wait::none:
      return;
  }
}

void VirtualUser::Connection::plain_send() {
  const std::string& bytes = owner.request_bytes_;
  size_t& sent = owner.sent_;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      writable = false;
      wait = Wait::write;
      return;
    }
    int err = errno;
    return owner.on_io_error(Wait::write, ErrorKind::reset,
                             fmt::format("cannot send request to {}: {}", owner.url_->origin(), std::strerror(err)));
  }
  owner.on_request_sent();
}

void VirtualUser::Connection::plain_receive() {
  if (readable) {
    plain_read();  // input came while the user was busy elsewhere
    return;
  }
  wait = Wait::read;
}

void VirtualUser::Connection::plain_read() {
  char* buffer = owner.worker_.read_buffer();
  while (true) {
    ssize_t n = ::recv(fd, buffer, Worker::kReadBufferSize, 0);
    if (n > 0) {
      // A short read emptied the socket; say so before consume(), which may complete
      // the exchange and go on to the next request on this connection. After the peer
      // closed, the end of the stream is still to be read, and no edge will announce it.
      bool drained = static_cast<size_t>(n) < Worker::kReadBufferSize && !hung_up;
      if (drained) readable = false;
      if (owner.consume(buffer, static_cast<size_t>(n))) return;
      if (drained) break;
      continue;
    }
    if (n == 0) return owner.on_peer_closed();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      readable = false;
      break;
    }
    int err = errno;
    return owner.on_io_error(Wait::read, ErrorKind::reset,
                             fmt::format("connection to {} failed: {}", owner.url_->origin(), std::strerror(err)));
  }
  wait = Wait::read;
}

// ---- TLS: Asio's completions; each handler first checks that its user still runs.

void VirtualUser::Connection::tls_open(const tcp::endpoint& endpoint) {
  Worker& worker = owner.worker_;
  if (!tls) tls = std::make_unique<Tls>(worker.io());
  tcp::socket& socket = tls->socket;
  boost::system::error_code ec;
  socket.open(endpoint.protocol(), ec);
  if (ec) {
    if (ec.value() == EMFILE || ec.value() == ENFILE) worker.set_fatal(out_of_descriptors(ec.value()));
    return owner.on_io_error(Wait::connect, ErrorKind::connect, fmt::format("cannot open a socket: {}", ec.message()));
  }
  socket.non_blocking(true, ec);
  socket.set_option(tcp::no_delay(true), ec);
  socket.async_connect(endpoint, [this](const boost::system::error_code& ec) {
    if (owner.aborted_) return;
    if (ec) {
      return owner.on_io_error(Wait::connect, ErrorKind::connect,
                               fmt::format("cannot connect to {}: {}", owner.url_->origin(), ec.message()));
    }
    owner.on_tcp_connected(mono_ns());
    tls_handshake();
  });
}

void VirtualUser::Connection::tls_handshake() {
  Worker& worker = owner.worker_;
  const http::Url& url = *owner.url_;
  tls->stream = std::make_unique<asio::ssl::stream<tcp::socket&>>(tls->socket, worker.tls_context());
  SSL_set_tlsext_host_name(tls->stream->native_handle(), url.host.c_str());
  if (worker.settings().bench.tls_verify) {
    // The chain is checked by the context; the name (or IP address) here.
    tls->stream->set_verify_callback(asio::ssl::host_name_verification(url.host));
  }
  tls->stream->async_handshake(asio::ssl::stream_base::client, [this](const boost::system::error_code& ec) {
    if (owner.aborted_) return;
    if (ec) {
      return owner.on_io_error(Wait::handshake, ErrorKind::tls,
                               fmt::format("TLS handshake with {} failed: {}", owner.url_->origin(), ec.message()));
    }
    owner.on_connection_open(mono_ns());
  });
}

void VirtualUser::Connection::tls_send() {
  asio::async_write(*tls->stream, asio::buffer(owner.request_bytes_),
                    [this](const boost::system::error_code& ec, size_t n) {
                      if (owner.aborted_) return;
                      if (ec) {
                        return owner.on_io_error(Wait::write, ErrorKind::reset,
                                                 fmt::format("cannot send request: {}", ec.message()));
                      }
                      owner.sent_ = n;  // as on a plain socket: the request is out (a stop counts it abandoned)
                      owner.on_request_sent();
                    });
}

void VirtualUser::Connection::tls_receive() {
  tls->stream->async_read_some(asio::buffer(owner.worker_.read_buffer(), Worker::kReadBufferSize),
                               [this](const boost::system::error_code& ec, size_t n) { on_tls_read(ec, n); });
}

void VirtualUser::Connection::on_tls_read(const boost::system::error_code& ec, size_t n) {
  if (owner.aborted_) return;
  if (n > 0 && owner.consume(owner.worker_.read_buffer(), n)) return;
  if (!ec) return tls_receive();
  if (!owner.timed_out_ && (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)) {
    return owner.on_peer_closed();
  }
  owner.on_io_error(Wait::read, ErrorKind::tls,
                    fmt::format("connection to {} failed: {}", owner.url_->origin(), ec.message()));
}

}  // namespace bm::engine
