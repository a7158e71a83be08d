#include "service/http_service.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

namespace bm::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
}  // namespace

bool listen_on(tcp::acceptor& acceptor, const std::string& host, uint16_t port, std::string* error) {
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(acceptor.get_executor());
    const auto found = resolver.resolve(host, "", ec);
    if (ec || found.empty()) {
      *error = fmt::format("host: '{}' is neither an IP address nor a name this host resolves", host);
      return false;
    }
    address = found.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = fmt::format("cannot listen on {}:{}: {}", host, port, ec.message());
    return false;
  }
  return true;
}

bool ClientWatch::hung_up() {
  if (gone || fd < 0) return gone;
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) gone = true;
  return gone;
}

Response make_response(const Request& request, int status, std::string_view content_type, std::string body) {
  Response response;
  response.version(11);
  response.result(status);
  response.keep_alive(request.keep_alive());
  response.set(http::field::content_type, content_type);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

struct HttpService::Impl {
  HttpServiceOptions options;
  Handler handler;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  bool stopped = false;
  int connections = 0;  // the service's thread only

  Response error_response(http::status status) const {
    Response response;
    response.version(11);
    response.result(status);
    response.set(http::field::content_type, "text/plain");
    response.body() = std::string(http::obsolete_reason(status)) + "\n";
    response.keep_alive(false);
    response.prepare_payload();
    return response;
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    ++connections;
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(options.header_limit + 1024);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
      parser.body_limit(options.body_limit);
      stream.expires_after(options.idle_timeout);
      auto [error, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      Response response;
      if (error) {
        if (error == http::error::end_of_stream || error == beast::error::timeout ||
            error == asio::error::connection_reset || error == http::error::partial_message) {
          break;
        }
        http::status status = http::status::bad_request;
        if (error == http::error::header_limit) status = http::status::request_header_fields_too_large;
        else if (error == http::error::body_limit) status = http::status::payload_too_large;
        response = error_response(status);
      } else {
        stream.expires_never();  // the handler bounds its own waits
        const Request& request = parser.get();
        // A client that hangs up while its request waits (a lease) is told to the handler:
        // the socket becomes readable with nothing to read.
        auto watch = std::make_shared<ClientWatch>();
        const int fd = stream.socket().native_handle();
        watch->fd = fd;
        stream.socket().async_wait(tcp::socket::wait_read, [watch, fd](const boost::system::error_code& ec) {
          if (ec) return;
          char byte;
          const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            watch->gone = true;
            if (auto on_gone = std::move(watch->on_gone)) on_gone();
          }
        });
        std::string failure;
        try {
          response = co_await handler(request, *watch);
        } catch (const std::exception& e) {
          failure = e.what();
        }
        // A handler's bug is a 500 with its reason, not a dropped connection or a dead server.
        if (!failure.empty()) response = make_response(request, 500, "text/plain", "internal error: " + failure + "\n");
        watch->on_gone = nullptr;
        watch->fd = -1;
        boost::system::error_code ignored;
        stream.socket().cancel(ignored);  // the watch ends with the handler
        if (watch->gone) break;
        if (request.method() == http::verb::head) {
          response.body().clear();
          response.prepare_payload();
        }
      }
      if (!options.server_name.empty()) response.set(http::field::server, options.server_name);
      stream.expires_after(options.idle_timeout);
      auto [write_error, written] = co_await http::async_write(stream, response, kNoThrow);
      if (write_error || !response.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    --connections;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [error, socket] = co_await acceptor.async_accept(kNoThrow);
      if (error) {
        if (error == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        continue;  // EMFILE and the like: the next accept may work
      }
      if (connections >= options.max_connections) {
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        boost::system::error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ignored);
        continue;  // the socket closes here
      }
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }
};

HttpService::HttpService() = default;
HttpService::~HttpService() { stop(); }

std::unique_ptr<HttpService> HttpService::create(const HttpServiceOptions& options, Handler handler,
                                                 std::string* error) {
  std::unique_ptr<HttpService> service(new HttpService());
  service->impl_ = std::make_unique<Impl>();
  Impl& impl = *service->impl_;
  impl.options = options;
  impl.handler = std::move(handler);
  if (!listen_on(impl.acceptor, options.host, options.port, error)) return nullptr;
  return service;
}

asio::io_context& HttpService::io() { return impl_->io; }
uint16_t HttpService::port() const { return impl_->acceptor.local_endpoint().port(); }
int HttpService::connections() const { return impl_->connections; }

std::string HttpService::url() const {
  const asio::ip::address address = impl_->acceptor.local_endpoint().address();
  return address.is_v6() ? fmt::format("http://[{}]:{}", address.to_string(), port())
                         : fmt::format("http://{}:{}", address.to_string(), port());
}

void HttpService::start() {
  Impl& impl = *impl_;
  asio::co_spawn(impl.io, impl.accept_loop(), asio::detached);
  impl.thread = std::thread([&impl] { impl.io.run(); });
}

void HttpService::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace bm::service
