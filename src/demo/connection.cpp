#include "demo/connection.hpp"

#include <optional>
#include <algorithm>
#include <array>
#include <chrono>
#include <sstream>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "demo/pages.hpp"
#include "demo/routes.hpp"

namespace bm::demo {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

// Results come back as (error_code, ...) tuples: a closed connection is not exceptional.
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// No co_await inside &&, || or ?: here: GCC 12 was seen to evaluate such an operand even
// when the other one decided the result (`!chunked || co_await ...` wrote a last chunk).

constexpr auto kIdleTimeout = 60s;  // between requests on a keep-alive connection
constexpr auto kWriteTimeout = 60s;  // for each write to a client that stopped reading
constexpr auto kNoResponseHold = 120s;
constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr std::size_t kBodyLimit = 8 * 1024 * 1024;
constexpr std::string_view kGarbage = "NOT HTTP AT ALL\r\n\r\n";
constexpr std::size_t kCloseMidBytes = 10;
constexpr std::string_view kBadRequestPath = "(bad request)";  // counted under this name

using Stream = beast::tcp_stream;

asio::awaitable<bool> write_header(Stream& stream, const Response& response) {
  http::response<http::empty_body> head{response.base()};
  http::response_serializer<http::empty_body> serializer{head};
  stream.expires_after(kWriteTimeout);
  auto [error, written] = co_await http::async_write_header(stream, serializer, kNoThrow);
  co_return !error;
}

template <typename Buffers>
asio::awaitable<bool> write_raw(Stream& stream, const Buffers& buffers) {
  stream.expires_after(kWriteTimeout);
  auto [error, written] = co_await asio::async_write(stream, buffers, kNoThrow);
  co_return !error;
}

// `total` bytes of the /bytes pattern, in 64 KiB writes (chunks when `chunked`).
asio::awaitable<bool> write_pattern(Stream& stream, std::uint64_t total, bool chunked) {
  const std::string_view block = pattern_block();
  for (std::uint64_t sent = 0; sent < total;) {
    const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), total - sent));
    const asio::const_buffer data(block.data(), size);
    bool written = false;
    if (chunked) {
      written = co_await write_raw(stream, http::make_chunk(data));
    } else {
      written = co_await write_raw(stream, data);
    }
    if (!written) co_return false;
    sent += size;
  }
  if (!chunked) co_return true;
  co_return co_await write_raw(stream, http::make_chunk_last());
}

asio::awaitable<bool> wait(Stream& stream, std::chrono::milliseconds duration) {
  asio::steady_timer timer(stream.get_executor(), duration);
  auto [error] = co_await timer.async_wait(kNoThrow);
  co_return !error;
}

asio::awaitable<bool> drip(Stream& stream, std::uint64_t total, std::chrono::milliseconds every) {
  for (std::uint64_t i = 0; i < total; ++i) {
    if (!co_await wait(stream, every)) co_return false;
    if (!co_await write_raw(stream, asio::buffer(&kBytePattern[i % kBytePattern.size()], 1))) {
      co_return false;
    }
  }
  co_return true;
}

asio::awaitable<void> write_forever(Stream& stream) {
  const asio::const_buffer block(pattern_block().data(), pattern_block().size());
  while (co_await write_raw(stream, http::make_chunk(block))) {
  }
}

// The head of `response` with one more line, "X-Long: " and `length` 'x's, in 64 KiB
// writes: a header line of any length at no memory cost.
asio::awaitable<bool> write_long_header_line(Stream& stream, const Response& response, std::uint64_t length) {
  static const std::string kFill(64 * 1024, 'x');
  std::ostringstream head;
  head << response.base();  // the status line and the fields, ending with an empty line
  std::string text = head.str();
  text.resize(text.size() - 2);  // that empty line comes after X-Long
  text += "X-Long: ";
  if (!co_await write_raw(stream, asio::buffer(text))) co_return false;
  for (std::uint64_t sent = 0; sent < length;) {
    const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(kFill.size(), length - sent));
    if (!co_await write_raw(stream, asio::buffer(kFill.data(), size))) co_return false;
    sent += size;
  }
  static constexpr std::string_view kEnd = "\r\n\r\n";
  if (!co_await write_raw(stream, asio::buffer(kEnd.data(), kEnd.size()))) co_return false;
  co_return co_await write_raw(stream, asio::buffer(response.body()));
}

// Holds the connection open without answering until the client closes it or time is up.
asio::awaitable<void> hold_silently(Stream& stream) {
  stream.expires_after(kNoResponseHold);
  std::array<char, 4096> discard;
  for (;;) {
    auto [error, n] = co_await stream.async_read_some(asio::buffer(discard), kNoThrow);
    if (error) co_return;
  }
}

// Sends `reply` as its Delivery says; true when everything meant to be written was.
asio::awaitable<bool> deliver(Stream& stream, Reply& reply) {
  switch (reply.delivery) {
    case Delivery::normal: {
      stream.expires_after(kWriteTimeout);
      auto [error, written] = co_await http::async_write(stream, reply.response, kNoThrow);
      co_return !error;
    }
    case Delivery::pattern_body:
      if (!co_await write_header(stream, reply.response)) co_return false;
      co_return co_await write_pattern(stream, reply.body_bytes, reply.chunked);
    case Delivery::slow_body:
      if (!co_await write_header(stream, reply.response)) co_return false;
      co_return co_await drip(stream, reply.body_bytes, reply.drip_every);
    case Delivery::close_mid_body:
      if (!co_await write_header(stream, reply.response)) co_return false;
      co_return co_await write_raw(stream, asio::buffer(pattern_block().data(), kCloseMidBytes));
    case Delivery::garbage:
      co_return co_await write_raw(stream, asio::buffer(kGarbage.data(), kGarbage.size()));
    case Delivery::endless_chunks:
      if (co_await write_header(stream, reply.response)) co_await write_forever(stream);
      co_return false;
    case Delivery::no_response:
      co_await hold_silently(stream);
      co_return false;
    case Delivery::reset_mid_body: {
      if (!co_await write_header(stream, reply.response)) co_return false;
      co_await write_raw(stream, asio::buffer(pattern_block().data(), kCloseMidBytes));
      // Linger with a zero timeout: close() sends RST instead of FIN.
      beast::error_code ignored;
      stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);
      stream.socket().close(ignored);
      co_return false;
    }
    case Delivery::long_header_line:
      co_return co_await write_long_header_line(stream, reply.response, reply.body_bytes);
    case Delivery::half_close: {
      beast::error_code ignored;
      stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      co_await hold_silently(stream);
      co_return false;
    }
  }
  co_return false;
}

// A request Beast could not parse (as opposed to a connection that closed).
bool is_malformed(const beast::error_code& error) {
  return error.category() == http::make_error_code(http::error::bad_target).category() &&
         error != http::error::end_of_stream && error != http::error::partial_message;
}

asio::awaitable<void> reject(Stream& stream, const beast::error_code& error, DemoState& state) {
  http::status status = http::status::bad_request;
  if (error == http::error::body_limit) status = http::status::payload_too_large;
  if (error == http::error::header_limit) status = http::status::request_header_fields_too_large;
  Response response{status, 11};
  response.set(http::field::server, kServerName);
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.keep_alive(false);
  response.body() = "bad request: " + error.message() + "\n";
  response.prepare_payload();
  stream.expires_after(kWriteTimeout);
  const std::uint64_t epoch = state.count(kBadRequestPath);
  auto [write_error, written] = co_await http::async_write(stream, response, kNoThrow);
  if (write_error) state.uncount(kBadRequestPath, epoch);
}

void close(Stream& stream) {
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.close();
}

}  // namespace

asio::awaitable<void> serve_connection(asio::ip::tcp::socket socket, DemoState& state) {
  Stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    stream.expires_after(kIdleTimeout);
    auto [read_error, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (read_error) {
      if (is_malformed(read_error)) co_await reject(stream, read_error, state);
      break;
    }
    const Request request = parser.release();
    // --max-concurrent: wait for a slot (held until the reply is written).
    std::optional<AdmissionSlot> slot;
    if (state.admission.limit() > 0 && !is_control_path(counted_path(request))) {
      co_await state.admission.acquire();
      slot.emplace(&state.admission);
    }
    Reply reply = route(request, state);
    if (reply.delay > 0ms) {
      if (!co_await wait(stream, reply.delay)) break;
    }
    // POST /switch?stall=MS: held until the stall is over.
    if (const auto left = state.stall_left(); left > 0ns && !is_control_path(counted_path(request))) {
      if (!co_await wait(stream, std::chrono::duration_cast<std::chrono::milliseconds>(left) + 1ms)) break;
    }
    // Counted as the response starts, not after: a client that has its response and
    // then asks /counter on another connection must find it counted.
    const std::string path = counted_path(request);
    const bool counted = reply.counted && reply.delivery != Delivery::no_response;
    const std::uint64_t epoch = counted ? state.count(path) : 0;
    const bool written = co_await deliver(stream, reply);
    if (counted && !written) state.uncount(path, epoch);
    if (!written || !reply.response.keep_alive()) break;
  }
  close(stream);
}

}  // namespace bm::demo
