// Maps a request to the reply the demo server sends. Pure apart from DemoState: the
// connection (connection.cpp) does the I/O that each Delivery asks for.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "demo/state.hpp"

namespace bm::demo {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// How the connection sends a reply.
enum class Delivery {
  normal,          // `response` as it is
  pattern_body,    // `response`'s header, then `body_bytes` of kBytePattern (chunked or not)
  slow_body,       // header with Content-Length `body_bytes`, then one byte every `drip_every`
  close_mid_body,  // header with Content-Length 1000, 10 bytes, then close
  garbage,         // "NOT HTTP AT ALL\r\n\r\n", then close
  endless_chunks,  // chunked header, then 64 KiB chunks until the client goes away
  no_response,     // nothing; close when the client does or after 120 s
  reset_mid_body,  // header with Content-Length 1000, 10 bytes, then a reset (RST)
  half_close,      // no answer: our side shut (FIN), reading on until the client closes
  long_header_line,  // `response`'s head with one more header, X-Long, of `body_bytes` 'x's
};

struct Reply {
  Response response;
  Delivery delivery = Delivery::normal;
  std::chrono::milliseconds delay{0};  // wait before writing anything
  std::uint64_t body_bytes = 0;
  bool chunked = false;
  std::chrono::milliseconds drip_every{0};
  bool counted = true;  // false for /counter and /counter/reset
};

Reply route(const Request& request, DemoState& state);

// The path a request is counted under: its target up to '?'.
std::string counted_path(const Request& request);
// The endpoints tests steer the target with: never failed by /switch, never kept waiting
// by --max-concurrent.
bool is_control_path(std::string_view path);

inline constexpr std::string_view kServerName = "benchmaster-demo";  // the Server header
inline constexpr std::uint64_t kMaxBodyBytes = 64ull << 20;        // /bytes/<n> limit
inline constexpr std::uint64_t kMaxHugeBodyBytes = 1ull << 40;     // /hostile/huge-body?bytes=
inline constexpr std::uint64_t kMaxHeaderLineBytes = 64ull << 20;  // /hostile/huge-headers?line=
inline constexpr std::chrono::milliseconds kMaxDelay{600'000};

}  // namespace bm::demo
