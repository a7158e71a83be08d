#include "monitor/http_get.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "http/url.hpp"

namespace bm::monitor {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<HttpAnswer> http_get(const std::string& url, std::chrono::milliseconds timeout, std::size_t limit,
                                   std::string* error) {
  std::optional<bm::http::Url> parsed = bm::http::parse_url(url, error);
  if (!parsed) return std::nullopt;
  if (parsed->scheme != "http") {
    *error = fmt::format("{}: only http:// is supported here", url);
    return std::nullopt;
  }
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::empty_body> request(http::verb::get, parsed->target, 11);
  request.set(http::field::host, parsed->host_header());
  request.set(http::field::user_agent, "benchmaster-collector");
  request.set(http::field::connection, "close");
  http::response_parser<http::string_body> parser;
  parser.body_limit(limit);
  parser.header_limit(64 * 1024);
  beast::error_code failure;
  bool done = false;
  const auto fail = [&](beast::error_code ec) {
    failure = ec;
    done = true;
  };
  stream.expires_after(timeout);
  resolver.async_resolve(parsed->host, std::to_string(parsed->port), [&](beast::error_code ec, tcp::resolver::results_type hosts) {
    if (ec) return fail(ec);
    stream.async_connect(hosts, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return fail(ec);
      http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
        if (ec) return fail(ec);
        http::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
          failure = ec;
          done = true;
        });
      });
    });
  });
  io.run_for(timeout + std::chrono::milliseconds(100));
  if (!done) {
    *error = fmt::format("{}: no answer within {} ms", url, timeout.count());
    return std::nullopt;
  }
  if (failure) {
    *error = fmt::format("{}: {}", url, failure == beast::error::timeout ? "timed out" : failure.message());
    return std::nullopt;
  }
  HttpAnswer answer;
  answer.status = static_cast<int>(parser.get().result_int());
  answer.body = std::move(parser.get().body());
  return answer;
}

}  // namespace bm::monitor
