#pragma once
// Internal to the virtual user (src/engine/virtual_user*.cpp): one keep-alive connection.
// virtual_user.cpp runs the test loop, virtual_user_pages.cpp a page (its URL, redirects,
// resources and verdict), virtual_user_io.cpp the connections and HTTP exchanges.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <string>

#include "engine/ready_poller.hpp"
#include "engine/virtual_user.hpp"

namespace bm::engine {

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
    explicit Tls(boost::asio::io_context& io) : socket(io) {}
    boost::asio::ip::tcp::socket socket;
    std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> stream;
  };
  std::unique_ptr<Tls> tls;
};

}  // namespace bm::engine
