#include "credential/credential_client.hpp"

#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

namespace bm::credential {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Idle connections kept, and for how long: well under the server's idle timeout, so a
// pooled connection is not one the server is closing.
constexpr std::size_t kPoolSize = 32;
constexpr auto kPoolIdle = std::chrono::seconds(30);
constexpr auto kReleaseTimeout = std::chrono::milliseconds(10'000);  // a cancelled call's lease going back
}  // namespace

struct CredentialClient::Shared {
  asio::io_context& io;
  std::string host;
  uint16_t port;
  std::string address;
  std::optional<tcp::resolver::results_type> endpoints;
  struct Idle {
    std::unique_ptr<beast::tcp_stream> stream;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<Idle> pool;
  int in_flight = 0;
  std::shared_ptr<asio::steady_timer> idle_timer;  // when_idle()'s

  Shared(asio::io_context& i, std::string h, uint16_t p)
      : io(i), host(std::move(h)), port(p), address(fmt::format("{}:{}", host, port)) {}

  std::unique_ptr<beast::tcp_stream> pooled() {
    const auto now = std::chrono::steady_clock::now();
    while (!pool.empty()) {
      Idle idle = std::move(pool.back());
      pool.pop_back();
      if (now - idle.since < kPoolIdle && idle.stream->socket().is_open()) return std::move(idle.stream);
    }
    return nullptr;
  }

  void give_back(std::unique_ptr<beast::tcp_stream> stream) {
    if (pool.size() >= kPoolSize) return;
    pool.push_back({std::move(stream), std::chrono::steady_clock::now()});
  }
};

namespace {

class CallState final : public CredentialClient::Call {
 public:
  std::function<void(ClientReply)> done;
  std::unique_ptr<beast::tcp_stream> stream;
  bool cancelled = false;
  bool request_out = false;  // the request may have reached the server

  void cancel() override {
    cancelled = true;
    done = nullptr;
    if (!stream) return;
    beast::error_code ignored;
    if (request_out) {
      // Hang up the sending side only: a server still waiting drops the call when it
      // reads the end, and an answer it already sent (a lease) can still be read and
      // given back.
      stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
    } else {
      stream->socket().close(ignored);
    }
  }
};

std::shared_ptr<CallState> start_call(const std::shared_ptr<CredentialClient::Shared>& shared, bool post,
                                      std::string target, std::chrono::milliseconds timeout,
                                      std::function<void(ClientReply)> done);

std::string failure(const std::string& address, std::string_view step, const beast::error_code& error) {
  if (error == beast::error::timeout) return fmt::format("credential server {}: no answer in time ({})", address, step);
  return fmt::format("credential server {}: {}: {}", address, step, error.message());
}

asio::awaitable<void> run_call(std::shared_ptr<CredentialClient::Shared> shared, std::shared_ptr<CallState> call,
                               http::verb method, std::string target, std::chrono::milliseconds timeout) {
  // in_flight was counted by start_call.
  struct InFlight {
    CredentialClient::Shared& shared;
    ~InFlight() {
      if (--shared.in_flight == 0 && shared.idle_timer && !shared.io.stopped()) shared.idle_timer->cancel();
    }
  } in_flight{*shared};
  ClientReply reply;
  const auto finish = [&] {
    if (!call->cancelled && call->done) {
      auto done = std::move(call->done);
      done(std::move(reply));
    }
  };
  call->stream = shared->pooled();
  if (!call->stream) {
    if (!shared->endpoints) {
      tcp::resolver resolver(shared->io);
      auto [error, found] = co_await resolver.async_resolve(shared->host, std::to_string(shared->port), kNoThrow);
      if (call->cancelled) co_return;
      if (error || found.empty()) {
        reply.error = failure(shared->address, "resolve", error);
        finish();
        co_return;
      }
      shared->endpoints = found;
    }
    call->stream = std::make_unique<beast::tcp_stream>(shared->io);
    call->stream->expires_after(timeout);
    auto [error, endpoint] = co_await call->stream->async_connect(*shared->endpoints, kNoThrow);
    if (call->cancelled) co_return;
    if (error) {
      reply.error = failure(shared->address, "connect", error);
      finish();
      co_return;
    }
    call->stream->socket().set_option(tcp::no_delay(true));
  }
  call->stream->expires_after(timeout);
  http::request<http::empty_body> request{method, target, 11};
  request.set(http::field::host, shared->address);
  request.set(http::field::user_agent, "benchmaster");
  request.keep_alive(true);
  call->request_out = true;
  auto [write_error, written] = co_await http::async_write(*call->stream, request, kNoThrow);
  if (call->cancelled && write_error) co_return;
  if (write_error) {
    reply.error = failure(shared->address, "send", write_error);
    finish();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  auto [read_error, read] = co_await http::async_read(*call->stream, buffer, parser, kNoThrow);
  if (call->cancelled) {
    // A lease granted as its call was cancelled: nobody will use it, so it goes back now
    // rather than when its time runs out.
    if (!read_error && target.starts_with("/lease") && parser.get().result_int() == 200) {
      const nlohmann::json body = nlohmann::json::parse(parser.get().body(), nullptr, false);
      if (body.is_object() && body.contains("lease") && body["lease"].is_string()) {
        start_call(shared, true, "/release?lease=" + CredentialClient::encode(body["lease"].get<std::string>()),
                   kReleaseTimeout, nullptr);
      }
    }
    co_return;
  }
  if (read_error) {
    reply.error = failure(shared->address, "answer", read_error);
    finish();
    co_return;
  }
  const http::response<http::string_body>& response = parser.get();
  reply.status = static_cast<int>(response.result_int());
  reply.body = nlohmann::json::parse(response.body(), nullptr, false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  if (reply.status < 200 || reply.status > 299) {
    const nlohmann::json* message = reply.body.is_object() && reply.body.contains("error") ? &reply.body["error"] : nullptr;
    std::string text = message && message->is_string() ? message->get<std::string>() : response.body();
    text = text.substr(0, std::min(text.find('\n'), std::size_t{300}));
    reply.error = fmt::format("credential server {}: HTTP {}{}{}", shared->address, reply.status,
                              text.empty() ? "" : ": ", text);
  } else if (reply.body.is_null()) {
    reply.error = fmt::format("credential server {}: the answer is not JSON", shared->address);
  }
  if (response.keep_alive() && buffer.size() == 0) {
    call->stream->expires_never();
    shared->give_back(std::move(call->stream));
  }
  finish();
}

std::shared_ptr<CallState> start_call(const std::shared_ptr<CredentialClient::Shared>& shared, bool post,
                                      std::string target, std::chrono::milliseconds timeout,
                                      std::function<void(ClientReply)> done) {
  auto call = std::make_shared<CallState>();
  call->done = std::move(done);
  // Counted now, not when the coroutine first runs: when_idle() must not see a gap
  // between a cancelled lease and the release it sends.
  ++shared->in_flight;
  asio::co_spawn(shared->io, run_call(shared, call, post ? http::verb::post : http::verb::get, std::move(target), timeout),
                 asio::detached);
  return call;
}

}  // namespace

CredentialClient::CredentialClient(asio::io_context& io, std::string host, uint16_t port)
    : shared_(std::make_shared<Shared>(io, std::move(host), port)) {}

CredentialClient::~CredentialClient() = default;

const std::string& CredentialClient::address() const { return shared_->address; }

std::shared_ptr<CredentialClient::Call> CredentialClient::call(bool post, std::string target,
                                                               std::chrono::milliseconds timeout,
                                                               std::function<void(ClientReply)> done) {
  return start_call(shared_, post, std::move(target), timeout, std::move(done));
}

void CredentialClient::when_idle(std::chrono::milliseconds limit, std::function<void()> done) {
  if (shared_->in_flight == 0) {
    done();
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(shared_->io, limit);
  shared_->idle_timer = timer;
  timer->async_wait([timer, done = std::move(done)](const boost::system::error_code&) { done(); });
}

std::string CredentialClient::encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace bm::credential
