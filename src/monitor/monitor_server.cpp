#include "monitor/monitor_server.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/string_body.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "monitor/prometheus.hpp"
#include "monitor/proc_reader.hpp"
#include "service/http_service.hpp"

namespace bm::monitor {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kPointsPerAnswer = 2000;

int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// The query's `since` value; 0 when absent, nullopt when malformed.
std::optional<int64_t> since_param(std::string_view target) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return 0;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.starts_with("since=")) {
      const std::string_view digits = pair.substr(6);
      int64_t value = 0;
      if (digits.empty() || digits.size() > 18) return std::nullopt;
      for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
      }
      return value;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return 0;
}

}  // namespace

struct MonitorServer::Impl {
  MonitorServerOptions options;
  ProcReader reader;
  std::string host = host_name();
  int64_t started_us = wall_now_us();
  std::unique_ptr<service::HttpService> http;
  // Touched on the server's thread only.
  std::optional<HostCounters> last;
  std::deque<stats::MonitorPoint> ring;
  std::string last_error;

  Impl(const MonitorServerOptions& o) : options(o), reader(o.proc_root, o.interfaces) {}

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }

  void sample() {
    std::string error;
    std::optional<HostCounters> now = reader.read(wall_now_us(), &error);
    if (!now) {
      if (error != last_error) log("cannot sample: " + error);
      last_error = error;
      return;
    }
    last_error.clear();
    if (last && now->t_us > last->t_us) {
      ring.push_back(point_between(*last, *now));
      while (ring.size() > options.history) ring.pop_front();
    }
    last = std::move(now);
  }

  asio::awaitable<void> sampler() {
    asio::steady_timer timer(http->io());
    const auto every = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options.interval_s));
    // The reading made at creation is the first one: the first point is an interval later.
    auto next = std::chrono::steady_clock::now();
    for (;;) {
      next += every;
      const auto now = std::chrono::steady_clock::now();
      if (next < now) next = now + every;  // fell behind (suspended): start again from now
      timer.expires_at(next);
      auto [error] = co_await timer.async_wait(kNoThrow);
      if (error) co_return;
      sample();
    }
  }

  std::string samples_answer(int64_t since_us) const {
    nlohmann::json points = nlohmann::json::array();
    auto it = std::upper_bound(ring.begin(), ring.end(), since_us,
                               [](int64_t t, const stats::MonitorPoint& p) { return t < p.t_us; });
    std::size_t n = 0;
    for (; it != ring.end() && n < kPointsPerAnswer; ++it, ++n) points.push_back(stats::monitor_point_to_json(*it));
    nlohmann::json answer = {{"host", host},
                             {"now_us", wall_now_us()},
                             {"interval_s", options.interval_s},
                             {"interfaces", nlohmann::json::array()},
                             {"points", std::move(points)},
                             {"more", it != ring.end()}};
    if (last) {
      for (const auto& [name, counters] : last->interfaces) answer["interfaces"].push_back(name);
    }
    return answer.dump();
  }

  service::Response answer(const service::Request& request) const {
    service::Response response;
    response.version(11);
    response.keep_alive(request.keep_alive());
    const auto reply = [&](http::status status, std::string_view type, std::string body) {
      response.result(status);
      response.set(http::field::content_type, type);
      response.body() = std::move(body);
      response.prepare_payload();
      return response;
    };
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      response.set(http::field::allow, "GET, HEAD");
      return reply(http::status::method_not_allowed, "text/plain", "GET only\n");
    }
    const std::string_view target(request.target().data(), request.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/metrics") {
      return reply(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                   last ? write_exposition(*last) : std::string());
    }
    if (path == "/samples") {
      const std::optional<int64_t> since = since_param(target);
      if (!since) return reply(http::status::bad_request, "text/plain", "since: epoch microseconds\n");
      return reply(http::status::ok, "application/json", samples_answer(*since));
    }
    if (path == "/status") {
      const nlohmann::json status = {{"status", "running"},      {"pid", ::getpid()},       {"host", host},
                                     {"started_us", started_us}, {"samples", ring.size()},
                                     {"interval_s", options.interval_s}, {"error", last_error}};
      return reply(http::status::ok, "application/json", status.dump());
    }
    if (path == "/") {
      return reply(http::status::ok, "text/plain",
                   "bench-monitor: GET /metrics (Prometheus), /samples?since=EPOCH_US (JSON), /status\n");
    }
    return reply(http::status::not_found, "text/plain", "not found\n");
  }

};

MonitorServer::MonitorServer() = default;

bool check_sampling(const MonitorServerOptions& options, std::string* error) {
  if (!(options.interval_s >= 0.05 && options.interval_s <= 3600)) {
    *error = fmt::format("interval: {} s is not between 0.05 and 3600", options.interval_s);
    return false;
  }
  if (options.interfaces.empty()) return true;
  const std::vector<std::string> known = ProcReader(options.proc_root).available_interfaces(error);
  if (known.empty() && !error->empty()) return false;
  for (const std::string& name : options.interfaces) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      *error = fmt::format("interface '{}' is not on this host (it has: {})", name, list);
      return false;
    }
  }
  return true;
}

std::unique_ptr<MonitorServer> MonitorServer::create(const MonitorServerOptions& options, std::string* error) {
  if (!check_sampling(options, error)) return nullptr;
  std::unique_ptr<MonitorServer> server(new MonitorServer());
  server->impl_ = std::make_unique<Impl>(options);
  Impl& impl = *server->impl_;
  impl.last = impl.reader.read(wall_now_us(), error);
  if (!impl.last) return nullptr;
  service::HttpServiceOptions http;
  http.host = options.host;
  http.port = options.port;
  http.server_name = "bench-monitor";
  http.body_limit = 0;  // a request with a body: 413
  http.idle_timeout = 30s;
  impl.http = service::HttpService::create(
      http, [&impl](const service::Request& request, service::ClientWatch&) -> asio::awaitable<service::Response> {
        co_return impl.answer(request);
      },
      error);
  if (!impl.http) return nullptr;
  return server;
}

MonitorServer::~MonitorServer() { stop(); }

uint16_t MonitorServer::port() const { return impl_->http->port(); }
std::string MonitorServer::url() const { return impl_->http->url(); }

void MonitorServer::start() {
  asio::co_spawn(impl_->http->io(), impl_->sampler(), asio::detached);
  impl_->http->start();
}

void MonitorServer::stop() {
  if (impl_ && impl_->http) impl_->http->stop();
}

}  // namespace bm::monitor
