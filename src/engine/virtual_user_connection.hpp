#pragma once
// Internal to the virtual user (src/engine/virtual_user*.cpp): one keep-alive connection.
// virtual_user.cpp runs the test loop, virtual_user_pages.cpp a page (its URL, redirects,
// resources and verdict), virtual_user_io.cpp the HTTP exchanges, and
// virtual_user_connection.cpp the two kinds of connection.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <string>

#include "engine/ready_poller.hpp"
#include "engine/virtual_user.hpp"

namespace bm::engine {

// A connection's kind (plain TCP or TLS) is chosen once, when connection_for gives the
// slot its origin, and each operation below switches on it: plain sockets of our own in
// the worker's ReadyPoller, TLS through Asio. The exchange logic (virtual_user_io.cpp) is
// written once against these operations, and each operation ends, at once or later, in
// one of the owner's connection events:
//   open(endpoint)  → on_tcp_connected, then on_connection_open; or on_io_error(connect|handshake)
//   send()          → on_request_sent, or on_io_error(write)
//   receive()       → consume (until it says the exchange is over), on_peer_closed, or
//                     on_io_error(read)
//   cancel()        → the exchange's deadline passed (the owner has set timed_out_): the
//                     step in progress ends in on_io_error(its stage), at once (plain: nothing
//                     is pending) or from Asio's handler once the socket is closed (TLS)
//   close()         → back to closed; may be called at any time, and again.
struct VirtualUser::Connection final : ReadyPoller::Watcher {
  enum class Kind : uint8_t { plain, tls };
  static Kind kind_for(const http::Url& url) { return url.tls() ? Kind::tls : Kind::plain; }

  explicit Connection(VirtualUser& owner) : owner(owner) {}
  bool serves(const http::Url& url) const { return port == url.port && host == url.host && kind == kind_for(url); }

  void open(const boost::asio::ip::tcp::endpoint& endpoint) {
    kind == Kind::plain ? plain_open(endpoint) : tls_open(endpoint);
  }
  void send() { kind == Kind::plain ? plain_send() : tls_send(); }
  void receive() { kind == Kind::plain ? plain_receive() : tls_receive(); }
  void cancel();
  void close();

  VirtualUser& owner;
  // The origin it talks to (compared field by field: no string built per request).
  Kind kind = Kind::plain;
  std::string host;
  uint16_t port = 0;
  bool established = false;  // connected (and the TLS handshake done): a request can be sent
  uint64_t served = 0;       // responses completed on this connection

 private:
  // Plain TCP: a socket of our own in the worker's poller, and what the user waits for.
  using Wait = IoWait;
  void plain_open(const boost::asio::ip::tcp::endpoint& endpoint);
  void plain_connected();
  void plain_send();
  void plain_receive();
  void plain_read();
  void on_ready(uint32_t events) override;

  int fd = -1;
  Wait wait = Wait::none;
  bool readable = false;  // an input edge came and the socket has not been read dry since
  bool writable = false;  // likewise for output
  bool hung_up = false;   // the peer closed its side: a short read no longer means dry

  // TLS: Asio's socket and the TLS stream over it, made for the first https origin.
  void tls_open(const boost::asio::ip::tcp::endpoint& endpoint);
  void tls_handshake();
  void tls_send();
  void tls_receive();
  void on_tls_read(const boost::system::error_code& ec, size_t n);

  struct Tls {
    explicit Tls(boost::asio::io_context& io) : socket(io) {}
    boost::asio::ip::tcp::socket socket;
    std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> stream;
  };
  std::unique_ptr<Tls> tls;
};

}  // namespace bm::engine
