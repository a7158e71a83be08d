#pragma once
// bench-record's HTTP forward proxy, on one thread: a browser (or curl) set to use it sends
// absolute-form requests (GET http://host/path HTTP/1.1); each is forwarded to its server
// on a keep-alive connection of the client connection's own, the answer streams back as it
// came (status, headers, chunked or not), and the exchange is recorded. CONNECT (HTTPS)
// is tunnelled byte for byte and counted, not recorded. A server that refuses or resets
// gets the client a 502 with the reason; a client that hangs up costs nothing; the proxy
// keeps serving. With a local CA (--intercept) CONNECT is ended here instead, and the
// HTTPS requests inside are recorded.
#include <cstdint>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "record/recording.hpp"

namespace bm::record {

class LocalCa;

struct RecordingProxyOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8090;  // 0: any free port
  std::size_t body_limit = 64 * 1024 * 1024;  // a request body beyond: 413 (answers are streamed)
  // Called on the proxy's thread after each recorded exchange (a progress line, a stop
  // after N requests).
  std::function<void(const RecordedExchange&, std::size_t recorded)> on_exchange;
  std::function<void(const std::string&)> log;
  // --intercept: HTTPS (CONNECT) is ended here with certificates from this CA and recorded;
  // null: tunnelled and not recorded.
  std::shared_ptr<LocalCa> ca;
  std::string upstream_ca_file;  // trusted for HTTPS servers, beside the system's CAs
};

class RecordingProxy {
 public:
  static std::unique_ptr<RecordingProxy> create(const RecordingProxyOptions& options, std::string* error);
  ~RecordingProxy();
  RecordingProxy(const RecordingProxy&) = delete;
  RecordingProxy& operator=(const RecordingProxy&) = delete;

  uint16_t port() const;
  std::string url() const;
  void start();
  // Stops serving and returns what was recorded, in the order the requests started.
  // Exchanges under way (a request sent upstream, its answer not yet all relayed) are
  // finished first, for at most `grace`: the browser may have its answer already while
  // the proxy has yet to note it.
  std::vector<RecordedExchange> stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // CONNECT tunnels opened (HTTPS sessions that were not recorded), and their hosts.
  std::vector<std::string> tunnels() const;

 private:
  RecordingProxy();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bm::record
