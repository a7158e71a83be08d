// One client connection of the demo server: reads requests, routes them, writes replies
// (keep-alive until either side closes), and keeps the request counter (DemoState).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "demo/state.hpp"

namespace bm::demo {

// Runs on the socket's executor (a strand when several threads share the io_context).
boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket,
                                              DemoState& state);

}  // namespace bm::demo
