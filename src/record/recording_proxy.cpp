#include "record/recording_proxy.hpp"

#include <array>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "http/url.hpp"
#include "record/local_ca.hpp"
#include "service/http_service.hpp"

namespace bm::record {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Url = bm::http::Url;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr int kMaxConnections = 1024;
constexpr auto kIdleTimeout = 120s;
constexpr auto kUpstreamTimeout = 120s;

int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Headers that belong to one hop (RFC 9110 section 7.6.1), not to the request or response.
template <class Fields>
void remove_hop_by_hop(Fields& fields) {
  for (const char* name : {"Proxy-Connection", "Connection", "Keep-Alive", "Proxy-Authorization",
                           "Proxy-Authenticate", "TE", "Trailer", "Upgrade"}) {
    fields.erase(name);
  }
}

template <class Fields>
HeaderList header_list(const Fields& fields) {
  HeaderList list;
  for (const auto& field : fields) {
    list.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return list;
}

http::response<http::string_body> plain_answer(unsigned version, http::status status, const std::string& text) {
  http::response<http::string_body> response{status, version};
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.set(http::field::server, "bench-record");
  response.body() = text + "\n";
  response.keep_alive(false);
  response.prepare_payload();
  return response;
}

}  // namespace

struct RecordingProxy::Impl {
  RecordingProxyOptions options;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  bool stopped = false;
  int connections = 0;
  // On the proxy's thread: exchanges between their request sent upstream and their
  // record; stop() waits for them, its timer ended when the last one is noted.
  int exchanges_under_way = 0;
  bool stopping = false;
  asio::steady_timer* drain_wait = nullptr;
  mutable std::mutex mutex;  // what was recorded: read by stop() and tunnels() from other threads
  std::vector<RecordedExchange> recorded;
  std::vector<std::string> tunnel_hosts;
  std::shared_ptr<LocalCa> ca;                     // --intercept
  std::unique_ptr<asio::ssl::context> client_tls;  // to HTTPS servers

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }

  void record(RecordedExchange x) {
    std::size_t count;
    {
      std::lock_guard lock(mutex);
      recorded.push_back(x);
      count = recorded.size();
    }
    if (options.on_exchange) options.on_exchange(x, count);
  }

  // One upstream connection per client connection, kept while the origin stays the same.
  struct Upstream {
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
    std::string origin;
    beast::flat_buffer buffer;
    bool open() const { return plain || tls; }
    void reset() {
      plain.reset();
      tls.reset();
    }
  };

  asio::awaitable<std::string> connect(Upstream& upstream, const Url& url) {
    upstream.reset();
    tcp::resolver resolver(io);
    auto [resolve_error, endpoints] = co_await resolver.async_resolve(url.host, std::to_string(url.port), kNoThrow);
    if (resolve_error) co_return fmt::format("cannot resolve {}: {}", url.host, resolve_error.message());
    auto stream = std::make_unique<beast::tcp_stream>(io);
    stream->expires_after(kUpstreamTimeout);
    auto [connect_error, endpoint] = co_await stream->async_connect(endpoints, kNoThrow);
    if (connect_error) co_return fmt::format("cannot reach {}: {}", url.host_header(), connect_error.message());
    upstream.origin = url.origin();
    upstream.buffer.clear();
    if (!url.tls()) {
      upstream.plain = std::move(stream);
      co_return std::string();
    }
    // The server's certificate is checked, as a browser would (--upstream-ca-file to trust
    // another CA).
    auto tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*stream), *client_tls);
    boost::system::error_code ec;
    asio::ip::make_address(url.host, ec);
    if (ec) SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str());
    tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
    auto [handshake_error] = co_await tls->async_handshake(asio::ssl::stream_base::client, kNoThrow);
    if (handshake_error) {
      co_return fmt::format("TLS with {}: {}", url.host_header(), handshake_error.message());
    }
    upstream.tls = std::move(tls);
    co_return std::string();
  }

  struct Answer {
    // The response's header, read; its body follows on the upstream connection.
    std::unique_ptr<http::response_parser<http::empty_body>> head;
    std::string problem;  // why there is none
  };

  template <class Stream>
  asio::awaitable<std::pair<beast::error_code, bool>> send_and_read_header(
      Stream& stream, beast::flat_buffer& buffer, const http::request<http::string_body>& out,
      http::response_parser<http::empty_body>& parser) {
    beast::get_lowest_layer(stream).expires_after(kUpstreamTimeout);
    auto [write_error, written] = co_await http::async_write(stream, out, kNoThrow);
    if (write_error) co_return std::make_pair(write_error, false);
    auto [read_error, read] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
    co_return std::make_pair(read_error, parser.got_some());
  }

  // Sends the request upstream and reads the answer's header.
  asio::awaitable<Answer> exchange(Upstream& upstream, const Url& url, const http::request<http::string_body>& out) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = upstream.open() && upstream.origin == url.origin() && attempt == 0;
      if (!reused) {
        if (std::string problem = co_await connect(upstream, url); !problem.empty()) {
          upstream.reset();
          co_return Answer{{}, problem};
        }
      }
      auto parser = std::make_unique<http::response_parser<http::empty_body>>();
      parser->header_limit(kHeaderLimit);
      parser->body_limit(boost::none);  // the body is streamed: any length will do
      if (out.method() == http::verb::head) parser->skip(true);
      const auto [error, got_some] =
          upstream.tls ? co_await send_and_read_header(*upstream.tls, upstream.buffer, out, *parser)
                       : co_await send_and_read_header(*upstream.plain, upstream.buffer, out, *parser);
      if (!error) co_return Answer{std::move(parser), {}};
      upstream.reset();
      // A kept connection the server had closed meanwhile: once more on a new one.
      if (reused && !got_some) continue;
      co_return Answer{{}, fmt::format("{} answered badly: {}", url.host_header(), error.message())};
    }
    co_return Answer{{}, fmt::format("cannot reach {}", url.host_header())};
  }

  // A body passed on as it arrives, 64 KiB at a time: downloads of any size cost the
  // proxy no memory; the first kKeptBody bytes go to `keep` when it is given. False when
  // either side failed (the client's connection then ends).
  template <class Source, class Client>
  asio::awaitable<bool> relay(Source& upstream, beast::flat_buffer& buffer,
                              http::response_parser<http::buffer_body>& parser, Client& client, std::string* keep) {
    std::array<char, 64 * 1024> chunk;
    http::response_serializer<http::buffer_body> serializer{parser.get()};
    parser.get().body().data = nullptr;
    parser.get().body().size = 0;
    parser.get().body().more = !parser.is_done();
    beast::get_lowest_layer(client).expires_after(kIdleTimeout);
    auto [header_error, header_written] = co_await http::async_write_header(client, serializer, kNoThrow);
    if (header_error) co_return false;
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      beast::get_lowest_layer(upstream).expires_after(kUpstreamTimeout);
      auto [read_error, read] = co_await http::async_read(upstream, buffer, parser, kNoThrow);
      if (read_error && read_error != http::error::need_buffer) co_return false;
      parser.get().body().size = chunk.size() - parser.get().body().size;
      parser.get().body().data = chunk.data();
      if (keep != nullptr && keep->size() < kKeptBody) {
        keep->append(chunk.data(), std::min(parser.get().body().size, kKeptBody - keep->size()));
      }
      parser.get().body().more = !parser.is_done();
      beast::get_lowest_layer(client).expires_after(kIdleTimeout);
      auto [write_error, written] = co_await http::async_write(client, serializer, kNoThrow);
      if (write_error && write_error != http::error::need_buffer) co_return false;
    }
    if (!serializer.is_done()) {  // the last chunk of a chunked body
      parser.get().body().data = nullptr;
      parser.get().body().size = 0;
      parser.get().body().more = false;
      auto [write_error, written] = co_await http::async_write(client, serializer, kNoThrow);
      if (write_error && write_error != http::error::need_buffer) co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> pipe(beast::tcp_stream& from, beast::tcp_stream& to) {
    std::array<char, 16384> chunk;
    for (;;) {
      from.expires_after(kIdleTimeout);
      auto [read_error, n] = co_await from.async_read_some(asio::buffer(chunk), kNoThrow);
      if (read_error) break;
      to.expires_after(kIdleTimeout);
      auto [write_error, written] = co_await asio::async_write(to, asio::buffer(chunk.data(), n), kNoThrow);
      if (write_error) break;
    }
    beast::error_code ignored;
    to.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // CONNECT host:port: an HTTPS session, passed through unread.
  asio::awaitable<void> tunnel(beast::tcp_stream& client, beast::flat_buffer& buffer, std::string authority,
                               unsigned version) {
    const std::size_t colon = authority.rfind(':');
    const std::string host = authority.substr(0, colon);
    const std::string port = colon == std::string::npos ? "443" : authority.substr(colon + 1);
    tcp::resolver resolver(io);
    auto [resolve_error, endpoints] = co_await resolver.async_resolve(host, port, kNoThrow);
    beast::tcp_stream server(io);
    beast::error_code connect_error = resolve_error;
    if (!connect_error) {
      server.expires_after(kUpstreamTimeout);
      auto [error, endpoint] = co_await server.async_connect(endpoints, kNoThrow);
      connect_error = error;
    }
    if (connect_error) {
      auto answer = plain_answer(version, http::status::bad_gateway,
                                 fmt::format("bench-record: cannot reach {}: {}", authority, connect_error.message()));
      co_await http::async_write(client, answer, kNoThrow);
      co_return;
    }
    {
      std::lock_guard lock(mutex);
      tunnel_hosts.push_back(authority);
    }
    log(fmt::format("CONNECT {}: tunnelled, not recorded (HTTPS)", authority));
    static constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
    auto [write_error, written] = co_await asio::async_write(client, asio::buffer(kEstablished), kNoThrow);
    if (write_error) co_return;
    if (buffer.size() > 0) {
      co_await asio::async_write(server, buffer.data(), kNoThrow);
      buffer.consume(buffer.size());
    }
    using namespace asio::experimental::awaitable_operators;
    co_await (pipe(client, server) && pipe(server, client));
  }

  // Requests from one client connection, forwarded one after another. `origin` is empty
  // for the proxy's own connection (absolute-form targets, CONNECT allowed), or the
  // https://host:port a CONNECT was intercepted for (origin-form targets).
  template <class Stream>
  asio::awaitable<void> handle_requests(Stream& client, beast::flat_buffer& buffer, const std::string& origin) {
    Upstream upstream;
    for (;;) {
      http::request_parser<http::string_body> request_parser;
      request_parser.header_limit(kHeaderLimit);
      request_parser.body_limit(options.body_limit);
      beast::get_lowest_layer(client).expires_after(kIdleTimeout);
      auto [read_error, n] = co_await http::async_read(client, buffer, request_parser, kNoThrow);
      if (read_error) {
        if (read_error == http::error::end_of_stream || read_error == beast::error::timeout ||
            read_error == asio::error::connection_reset || read_error == http::error::partial_message ||
            read_error == asio::ssl::error::stream_truncated) {
          co_return;
        }
        const http::status status = read_error == http::error::body_limit     ? http::status::payload_too_large
                                    : read_error == http::error::header_limit ? http::status::request_header_fields_too_large
                                                                              : http::status::bad_request;
        auto answer = plain_answer(11, status, fmt::format("bench-record: {}", read_error.message()));
        co_await http::async_write(client, answer, kNoThrow);
        co_return;
      }
      http::request<http::string_body> request = request_parser.release();
      const unsigned version = request.version();
      const std::string target(request.target());
      if (request.method() == http::verb::connect && origin.empty()) {
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
          if (ca) {
            co_await intercept(client, buffer, target, version);
          } else {
            co_await tunnel(client, buffer, target, version);
          }
        }
        co_return;
      }
      const std::string absolute = origin.empty() ? target : origin + target;
      std::optional<Url> url = bm::http::parse_url(absolute, nullptr);
      const bool well_formed = origin.empty() ? url && !url->tls() && target.starts_with("http://")
                                              : url && target.starts_with("/");
      if (!well_formed) {
        auto answer = plain_answer(version, http::status::bad_request,
                                   "bench-record is an HTTP proxy: set it as the browser's proxy (requests carry "
                                   "absolute http:// URLs; HTTPS goes through CONNECT)");
        co_await http::async_write(client, answer, kNoThrow);
        co_return;
      }
      if (stopping) co_return;  // no new exchange once stopping
      ++exchanges_under_way;
      struct UnderWay {
        Impl& impl;
        ~UnderWay() {
          if (--impl.exchanges_under_way == 0 && impl.drain_wait) impl.drain_wait->cancel();
        }
      } under_way{*this};
      RecordedExchange x;
      x.method = std::string(request.method_string());
      x.url = url->str();
      x.request_headers = header_list(request);
      x.request_body = request.body();
      x.start_us = wall_now_us();

      http::request<http::string_body> out = request;
      out.target(url->target);
      remove_hop_by_hop(out);
      out.keep_alive(true);
      if (out.find(http::field::host) == out.end()) out.set(http::field::host, url->host_header());
      // Bodies come back uncompressed, so the recording can read the values in them (the
      // recorded request keeps the browser's Accept-Encoding; the engine sends its own).
      out.erase(http::field::accept_encoding);
      Answer answer = co_await exchange(upstream, *url, out);
      if (!answer.head) {
        log(fmt::format("{} {}: {}", x.method, x.url, answer.problem));
        auto bad = plain_answer(version, http::status::bad_gateway, "bench-record: " + answer.problem);
        co_await http::async_write(client, bad, kNoThrow);
        co_return;
      }
      const auto& header = answer.head->get();
      x.status = static_cast<int>(header.result_int());
      x.response_headers = header_list(header);
      const bool upstream_keeps = header.keep_alive();
      // Every body is passed on as it arrives; of a text body (a page, JSON) the first
      // kKeptBody bytes are kept, for the values a later request may echo.
      std::string* keep = is_text_type(header[http::field::content_type]) ? &x.response_body : nullptr;
      http::response_parser<http::buffer_body> streamed(std::move(*answer.head));
      streamed.body_limit(boost::none);
      remove_hop_by_hop(streamed.get());
      streamed.get().keep_alive(request.keep_alive());
      const bool relayed = upstream.tls ? co_await relay(*upstream.tls, upstream.buffer, streamed, client, keep)
                                        : co_await relay(*upstream.plain, upstream.buffer, streamed, client, keep);
      x.end_us = wall_now_us();
      record(std::move(x));
      if (!relayed) {
        upstream.reset();
        co_return;  // the answer was cut: so is the client's connection
      }
      if (!upstream_keeps) upstream.reset();
      if (!request.keep_alive()) co_return;
    }
  }

  // CONNECT host:port with --intercept: TLS ends here, with a certificate for the host
  // signed by the local CA; the requests inside are recorded like any other.
  asio::awaitable<void> intercept(beast::tcp_stream& client, beast::flat_buffer& buffer, std::string authority,
                                  unsigned version) {
    const std::size_t colon = authority.rfind(':');
    std::string host = authority.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string port = colon == std::string::npos ? "443" : authority.substr(colon + 1);
    std::string problem;
    std::shared_ptr<asio::ssl::context> context = ca->server_context(host, &problem);
    if (!context) {
      auto answer = plain_answer(version, http::status::bad_gateway, "bench-record: " + problem);
      co_await http::async_write(client, answer, kNoThrow);
      co_return;
    }
    static constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
    auto [write_error, written] = co_await asio::async_write(client, asio::buffer(kEstablished), kNoThrow);
    if (write_error) co_return;
    beast::ssl_stream<beast::tcp_stream> tls(std::move(client), *context);
    beast::get_lowest_layer(tls).expires_after(kIdleTimeout);
    auto [handshake_error, used] =
        co_await tls.async_handshake(asio::ssl::stream_base::server, buffer.data(), kNoThrow);
    if (handshake_error) {
      log(fmt::format("CONNECT {}: the client refused the local CA's certificate ({}): trust {}", authority,
                      handshake_error.message(), ca->certificate_path().string()));
      co_return;
    }
    buffer.consume(used);
    const std::string origin = port == "443" ? "https://" + authority.substr(0, colon) : "https://" + authority;
    co_await handle_requests(tls, buffer, origin);
    beast::get_lowest_layer(tls).expires_after(std::chrono::seconds(5));
    co_await tls.async_shutdown(kNoThrow);
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    ++connections;
    {
      beast::tcp_stream client(std::move(socket));
      beast::flat_buffer buffer;
      co_await handle_requests(client, buffer, std::string());
      beast::error_code ignored;
      if (client.socket().is_open()) client.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    --connections;
  }

  // The first part of stop(), on the proxy's thread: no new connection or request, and
  // the exchanges under way finish (for at most `grace`).
  asio::awaitable<void> drain(std::chrono::milliseconds grace) {
    stopping = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    if (exchanges_under_way == 0) co_return;
    log(fmt::format("stopping: {} exchange{} under way, waiting for {} (at most {} s)", exchanges_under_way,
                    exchanges_under_way == 1 ? "" : "s", exchanges_under_way == 1 ? "it" : "them",
                    std::chrono::duration<double>(grace).count()));
    asio::steady_timer timer(io, grace);
    drain_wait = &timer;
    co_await timer.async_wait(kNoThrow);
    drain_wait = nullptr;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [error, socket] = co_await acceptor.async_accept(kNoThrow);
      if (error) {
        if (error == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        continue;
      }
      if (connections >= kMaxConnections) continue;  // closed at once: the browser retries
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }
};

RecordingProxy::RecordingProxy() = default;
RecordingProxy::~RecordingProxy() { stop(); }

std::unique_ptr<RecordingProxy> RecordingProxy::create(const RecordingProxyOptions& options, std::string* error) {
  std::unique_ptr<RecordingProxy> proxy(new RecordingProxy());
  proxy->impl_ = std::make_unique<Impl>();
  Impl& impl = *proxy->impl_;
  impl.options = options;
  impl.ca = options.ca;
  impl.client_tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  impl.client_tls->set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  impl.client_tls->set_default_verify_paths(ec);
  if (!options.upstream_ca_file.empty()) {
    impl.client_tls->load_verify_file(options.upstream_ca_file, ec);
    if (ec) {
      *error = fmt::format("--upstream-ca-file {}: {}", options.upstream_ca_file, ec.message());
      return nullptr;
    }
  }
  if (!service::listen_on(impl.acceptor, options.host, options.port, error)) return nullptr;
  return proxy;
}

uint16_t RecordingProxy::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string RecordingProxy::url() const {
  return fmt::format("http://{}:{}", impl_->acceptor.local_endpoint().address().to_string(), port());
}

void RecordingProxy::start() {
  Impl& impl = *impl_;
  asio::co_spawn(impl.io, impl.accept_loop(), asio::detached);
  impl.thread = std::thread([&impl] { impl.io.run(); });
}

std::vector<RecordedExchange> RecordingProxy::stop(std::chrono::milliseconds grace) {
  if (!impl_) return {};
  if (!impl_->stopped) {
    impl_->stopped = true;
    if (impl_->thread.joinable()) {
      auto drained = std::make_shared<std::promise<void>>();
      std::future<void> done = drained->get_future();
      asio::co_spawn(impl_->io, impl_->drain(grace), [drained](std::exception_ptr) { drained->set_value(); });
      done.wait_for(grace + std::chrono::seconds(1));
    }
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
  }
  std::lock_guard lock(impl_->mutex);
  std::vector<RecordedExchange> out = impl_->recorded;
  std::stable_sort(out.begin(), out.end(),
                   [](const RecordedExchange& a, const RecordedExchange& b) { return a.start_us < b.start_us; });
  return out;
}

std::vector<std::string> RecordingProxy::tunnels() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->tunnel_hosts;
}

}  // namespace bm::record
