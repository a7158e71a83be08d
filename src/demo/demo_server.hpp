// The demo target: a small "shop" plus test endpoints (delays, sizes, status codes,
// redirects, an echo, a request counter, hostile behaviours) that the README's demo, the
// examples and the integration tests run against. docs/demo-server.md lists them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace bm::demo {

struct DemoOptions {
  std::string host = "127.0.0.1";  // an IP address (v4 or v6)
  std::uint16_t port = 8080;       // 0: any free port
  int threads = 1;                 // 0: one per core
  std::string ready_file;          // if set, the URL is written there once listening
  bool quiet = false;              // no diagnostics on stderr, only fatal errors
  int max_concurrent = 0;          // requests served at once, the rest wait (0: no limit)
};

class DemoServer {
 public:
  // Binds and listens. Throws std::system_error when the address cannot be bound and
  // std::invalid_argument for a host that is not an IP address or threads < 0.
  explicit DemoServer(const DemoOptions& options);
  ~DemoServer();  // stop()s
  DemoServer(const DemoServer&) = delete;
  DemoServer& operator=(const DemoServer&) = delete;

  std::uint16_t port() const;  // the bound port, also when options.port was 0
  const std::string& url() const;  // "http://127.0.0.1:PORT"

  // Starts the worker threads; returns at once.
  void start();
  // Stops serving: open connections are dropped, pending delays abandoned; joins the
  // threads. Idempotent; call it from any thread except the server's own.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `benchmaster demo-server`: serves until SIGINT or SIGTERM. Prints exactly one line,
// "demo-server listening on http://127.0.0.1:PORT", to stdout once ready. Returns 0 after
// a signal, 1 (with one line on stderr) when it cannot start.
int run_demo_server(const DemoOptions& options);

}  // namespace bm::demo
