#pragma once
// The small HTTP/1.1 server under the tool's own daemons (bench-monitor, bench-credential):
// one thread, one io_context, keep-alive, and the limits every one of them needs against
// hostile or forgetful clients: a bounded request head, a bounded body, an idle timeout,
// and a bound on open connections (503 at once beyond it, so idle clients cannot lock
// the real ones out). A daemon gives it a handler; the handler may wait (a lease that
// waits for a free credential) without holding the thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace bm::service {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct HttpServiceOptions {
  std::string host = "127.0.0.1";  // an IP address, or a name (its first address)
  uint16_t port = 0;               // 0: any free port
  std::string server_name;         // the Server header
  std::size_t header_limit = 8 * 1024;  // beyond: 431
  std::size_t body_limit = 0;           // beyond: 413
  int max_connections = 512;            // beyond: 503 and closed
  std::chrono::seconds idle_timeout{30};
};

// What a handler that waits can learn of its client: whether it hung up meanwhile. The
// service watches the connection while the handler runs; `on_gone` (set by the handler)
// is called once, on the service's thread, when the client closes it.
struct ClientWatch {
  bool gone = false;
  std::function<void()> on_gone;
  int fd = -1;
  // Asks the socket now, rather than waiting for the watch's turn on the loop: true (and
  // `gone`) when the client has closed its side.
  bool hung_up();
};

// Answers one request. Runs on the service's thread; may co_await on its io_context.
using Handler = std::function<boost::asio::awaitable<Response>(const Request&, ClientWatch&)>;

// Opens `acceptor` on host (an address, or a name: its first address) and port, listening;
// one line in *error ("cannot listen on 127.0.0.1:8007: Address already in use").
bool listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host, uint16_t port, std::string* error);

// A plain-text or JSON answer to `request` (keep-alive as it asked).
Response make_response(const Request& request, int status, std::string_view content_type, std::string body);

class HttpService {
 public:
  // Resolves and binds; one line in *error and nullptr when it cannot ("cannot listen on
  // 127.0.0.1:8007: Address already in use").
  static std::unique_ptr<HttpService> create(const HttpServiceOptions& options, Handler handler, std::string* error);
  ~HttpService();  // stop()s
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  boost::asio::io_context& io();
  uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:PORT"
  int connections() const;  // open now (the service's thread)
  void start();             // the serving thread; returns at once
  void stop();              // idempotent; joins the thread

 private:
  HttpService();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bm::service
