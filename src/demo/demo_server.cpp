#include "demo/demo_server.hpp"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "demo/connection.hpp"
#include "demo/state.hpp"

namespace bm::demo {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

tcp::endpoint endpoint_of(const DemoOptions& options) {
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(options.host, error);
  if (error) {
    throw std::invalid_argument(fmt::format("'{}' is not an IP address", options.host));
  }
  return {address, options.port};
}

std::string url_of(const tcp::endpoint& endpoint) {
  const std::string host = endpoint.address().to_string();
  return endpoint.address().is_v6() ? fmt::format("http://[{}]:{}", host, endpoint.port())
                                    : fmt::format("http://{}:{}", host, endpoint.port());
}

int thread_count(int requested) {
  if (requested < 0) throw std::invalid_argument("threads must be 0 (one per core) or more");
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Written to a temporary name and renamed, so a reader never sees half a URL.
bool write_ready_file(const std::string& path, const std::string& url, std::string* error) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << url << '\n';
    if (!out.flush()) {
      *error = fmt::format("cannot write {}", temporary);
      return false;
    }
  }
  std::error_code rename_error;
  std::filesystem::rename(temporary, path, rename_error);
  if (rename_error) {
    *error = fmt::format("cannot rename {} to {}: {}", temporary, path, rename_error.message());
    return false;
  }
  return true;
}

}  // namespace

struct DemoServer::Impl {
  explicit Impl(const DemoOptions& options)
      : options(options), threads_wanted(thread_count(options.threads)), acceptor(io) {
    state.admission.set_limit(options.max_concurrent);
    const tcp::endpoint endpoint = endpoint_of(options);
    try {
      acceptor.open(endpoint.protocol());
      acceptor.set_option(asio::socket_base::reuse_address(true));
      acceptor.bind(endpoint);
      acceptor.listen(asio::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& e) {
      throw std::system_error(e.code(), fmt::format("cannot listen on {}:{}", options.host,
                                                    options.port));
    }
    url = url_of(acceptor.local_endpoint());
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [error, socket] = co_await acceptor.async_accept(asio::make_strand(io), kNoThrow);
      if (error == asio::error::operation_aborted) co_return;
      if (error) {
        // Out of descriptors or similar: say so, and give the clients time to close some.
        if (!options.quiet) fmt::print(stderr, "demo-server: accept: {}\n", error.message());
        asio::steady_timer pause(io, 50ms);
        co_await pause.async_wait(kNoThrow);
        continue;
      }
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      const auto executor = socket.get_executor();
      asio::co_spawn(executor, serve_connection(std::move(socket), state), asio::detached);
    }
  }

  DemoOptions options;
  int threads_wanted;
  DemoState state;           // outlives io: connection frames destroyed with io refer to it
  asio::io_context io;
  tcp::acceptor acceptor;
  std::string url;
  std::mutex lifecycle;      // start() against stop()
  std::vector<std::thread> threads;
};

DemoServer::DemoServer(const DemoOptions& options) : impl_(std::make_unique<Impl>(options)) {}

DemoServer::~DemoServer() { stop(); }

std::uint16_t DemoServer::port() const { return impl_->acceptor.local_endpoint().port(); }

const std::string& DemoServer::url() const { return impl_->url; }

void DemoServer::start() {
  std::lock_guard lock(impl_->lifecycle);
  if (!impl_->threads.empty() || impl_->io.stopped()) return;
  asio::co_spawn(asio::make_strand(impl_->io), impl_->accept_loop(), asio::detached);
  for (int i = 0; i < impl_->threads_wanted; ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

void DemoServer::stop() {
  std::lock_guard lock(impl_->lifecycle);
  impl_->io.stop();
  for (std::thread& thread : impl_->threads) thread.join();
  impl_->threads.clear();
}

int run_demo_server(const DemoOptions& options) {
  // Signals are caught from here on, so one sent right after the ready line is not lost.
  asio::io_context signal_io;
  asio::signal_set signals(signal_io, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int) {});

  std::optional<DemoServer> server;
  try {
    server.emplace(options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "demo-server: {}\n", e.what());
    return 1;
  }
  server->start();
  std::string error;
  if (!options.ready_file.empty() && !write_ready_file(options.ready_file, server->url(), &error)) {
    fmt::print(stderr, "demo-server: {}\n", error);
    return 1;
  }
  fmt::print("demo-server listening on {}\n", server->url());
  std::fflush(stdout);

  signal_io.run();  // returns once a signal has arrived
  server->stop();
  if (!options.quiet) fmt::print(stderr, "demo-server: stopped\n");
  return 0;
}

}  // namespace bm::demo
