// bench-monitor's server on a made-up /proc, asked over real sockets, and the collector
// against it as a bench-monitor and as a Prometheus target: points arrive in order, a
// host that stops answering leaves a gap and a warning, and bad requests get 4xx.
#include "monitor/monitor_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "conf/conf_file.hpp"
#include "fake_proc.hpp"
#include "monitor/collector.hpp"
#include "monitor/http_get.hpp"
#include "monitor/prometheus.hpp"
#include "test_folder.hpp"

namespace bm::monitor {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Sends `request` as is and returns the status line of the answer.
std::string status_line_for(uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading everything
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buffer[4096];
  for (ssize_t n; answer.find("\r\n") == std::string::npos && (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) {
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer.substr(0, answer.find("\r\n"));
}

uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);  // nothing listens there now
  return ntohs(address.sin_port);
}

// Waits for `done` (checked every 10 ms) for up to 10 s.
template <typename Predicate>
bool eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class Server : public ::testing::Test {
 protected:
  Server() { proc_.write(); }
  std::unique_ptr<MonitorServer> start(double interval_s = 0.05) {
    MonitorServerOptions options;
    options.port = 0;
    options.interval_s = interval_s;
    options.interfaces = {"lo"};
    options.proc_root = proc_.root();
    std::string error;
    std::unique_ptr<MonitorServer> server = MonitorServer::create(options, &error);
    EXPECT_TRUE(server) << error;
    if (server) server->start();
    return server;
  }
  nlohmann::json samples(const MonitorServer& server, int64_t since) {
    std::string error;
    std::optional<HttpAnswer> answer = http_get(server.url() + "/samples?since=" + std::to_string(since), 2s, 1 << 24, &error);
    EXPECT_TRUE(answer) << error;
    return answer ? nlohmann::json::parse(answer->body) : nlohmann::json();
  }
  bm::testing::TestFolder folder_{"monitor_server_test"};
  testing::FakeProc proc_{folder_.path()};
};

TEST_F(Server, ServesPointsSinceATimeAndTheCountersAsPrometheusText) {
  auto server = start();
  ASSERT_TRUE(server);
  ASSERT_TRUE(eventually([&] { return samples(*server, 0)["points"].size() >= 3; }));
  const nlohmann::json all = samples(*server, 0);
  EXPECT_EQ(all["interfaces"], nlohmann::json::array({"lo"}));
  EXPECT_EQ(all["interval_s"], 0.05);
  EXPECT_FALSE(all["more"].get<bool>());
  const int64_t second = all["points"][1]["t_us"];
  const nlohmann::json later = samples(*server, second);
  ASSERT_GE(later["points"].size(), 1u);
  EXPECT_GT(later["points"][0]["t_us"].get<int64_t>(), second);
  EXPECT_EQ(later["points"][0], all["points"][2]);

  std::string error;
  std::optional<HttpAnswer> metrics = http_get(server->url() + "/metrics", 2s, 1 << 24, &error);
  ASSERT_TRUE(metrics) << error;
  std::optional<std::vector<MetricSample>> parsed = parse_exposition(metrics->body, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(counters_from_metrics(*parsed, {"lo"}, 0).interfaces.at("lo").rx_bytes, proc_.lo_rx);
  std::optional<HttpAnswer> status = http_get(server->url() + "/status", 2s, 1 << 20, &error);
  ASSERT_TRUE(status) << error;
  EXPECT_EQ(nlohmann::json::parse(status->body)["status"], "running");
}

TEST_F(Server, BadRequestsGet4xxAndTheServerGoesOn) {
  auto server = start();
  ASSERT_TRUE(server);
  const uint16_t port = server->port();
  EXPECT_THAT(status_line_for(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), HasSubstr(" 405 "));
  EXPECT_THAT(status_line_for(port, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"), HasSubstr(" 404 "));
  EXPECT_THAT(status_line_for(port, "GET /samples?since=yesterday HTTP/1.1\r\nHost: x\r\n\r\n"), HasSubstr(" 400 "));
  EXPECT_THAT(status_line_for(port, "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"),
              HasSubstr(" 431 "));
  EXPECT_THAT(status_line_for(port, "GET /metrics HTTP/1.1\r\nContent-Length: 5000000\r\n\r\nxxxx"), HasSubstr(" 413 "));
  EXPECT_THAT(status_line_for(port, "NOT HTTP AT ALL\r\n\r\n"), HasSubstr(" 400 "));
  EXPECT_THAT(status_line_for(port, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n"), HasSubstr(" 200 "));
}

TEST_F(Server, CannotStartGivesOneLine) {
  MonitorServerOptions options;
  options.port = 0;
  options.proc_root = proc_.root();
  std::string error;
  options.interfaces = {"wlan9"};
  EXPECT_FALSE(MonitorServer::create(options, &error));
  EXPECT_EQ(error, "interface 'wlan9' is not on this host (it has: lo, eth0)");
  options.interfaces = {};
  options.interval_s = 0;
  EXPECT_FALSE(MonitorServer::create(options, &error));
  EXPECT_THAT(error, StartsWith("interval: 0 s is not between"));
  options.interval_s = 0.5;
  auto first = MonitorServer::create(options, &error);
  ASSERT_TRUE(first) << error;
  options.port = first->port();
  EXPECT_FALSE(MonitorServer::create(options, &error));
  EXPECT_THAT(error, StartsWith("cannot listen on 127.0.0.1:" + std::to_string(first->port()) + ": "));
  options.port = 0;
  options.proc_root = folder_.path() / "no-proc";
  EXPECT_FALSE(MonitorServer::create(options, &error));
  EXPECT_THAT(error, HasSubstr("no-proc/stat: cannot read"));
}

MonitoredHost host(std::string name, std::string source, std::string url, double interval_s = 1.0) {
  MonitoredHost h;
  h.name = std::move(name);
  h.source = std::move(source);
  h.url = std::move(url);
  h.interval_s = interval_s;
  return h;
}

TEST_F(Server, CollectorGathersPointsFromBenchMonitorAndPrometheusAlike) {
  auto server = start();
  ASSERT_TRUE(server);
  Collector collector({host("web", "bench-monitor", server->url()),
                       host("prom", "prometheus", server->url() + "/metrics", 0.1)});
  collector.start();
  ASSERT_TRUE(eventually([&] {
    proc_.cores[0].user += 0.01;  // time passes on the made-up host: CPU shares can be computed
    proc_.cores[1].idle += 0.01;
    proc_.write();
    const stats::MonitorData d = collector.snapshot(true);
    return d.hosts[0].points.size() >= 4 && d.hosts[1].points.size() >= 2 && d.hosts[0].points.back().cpu &&
           d.hosts[1].points.back().cpu;
  }));
  const stats::MonitorData data = collector.stop();
  ASSERT_EQ(data.hosts.size(), 2u);
  const stats::MonitorHost& web = data.hosts[0];
  EXPECT_EQ(web.source, "bench-monitor");
  EXPECT_EQ(web.interval_s, 0.05);  // the monitor's own
  EXPECT_EQ(web.interfaces, std::vector<std::string>{"lo"});
  EXPECT_LT(std::abs(web.clock_offset_us), 1'000'000);  // same machine
  for (std::size_t i = 1; i < web.points.size(); ++i) EXPECT_GT(web.points[i].t_us, web.points[i - 1].t_us);
  EXPECT_TRUE(std::any_of(web.points.begin(), web.points.end(), [](const auto& p) { return p.cpu.has_value(); }));
  EXPECT_TRUE(web.gaps.empty());
  const stats::MonitorHost& prom = data.hosts[1];
  EXPECT_TRUE(std::any_of(prom.points.begin(), prom.points.end(), [](const auto& p) { return p.cpu.has_value(); }));
  EXPECT_TRUE(prom.points.back().memory);
  for (std::size_t i = 1; i < prom.points.size(); ++i) EXPECT_GE(prom.points[i].interval_us, 50'000);
  EXPECT_TRUE(data.warnings.empty());
}

TEST_F(Server, AHostThatStopsAnsweringLeavesAGapAndAWarning) {
  auto server = start();
  ASSERT_TRUE(server);
  Collector collector({host("web", "bench-monitor", server->url()),
                       host("never", "bench-monitor", "http://127.0.0.1:" + std::to_string(unused_port()))});
  collector.start();
  ASSERT_TRUE(eventually([&] { return collector.snapshot(true).hosts[0].points.size() >= 2; }));
  const int64_t last_before = collector.snapshot(false).hosts[0].points.back().t_us;
  server->stop();
  const stats::MonitorData data = collector.stop();
  const stats::MonitorHost& web = data.hosts[0];
  ASSERT_EQ(web.gaps.size(), 1u);
  EXPECT_GE(web.gaps[0].from_us, last_before);
  EXPECT_GT(web.gaps[0].to_us, web.gaps[0].from_us);
  const stats::MonitorHost& never = data.hosts[1];
  EXPECT_TRUE(never.points.empty());
  ASSERT_EQ(never.gaps.size(), 1u);
  ASSERT_EQ(data.warnings.size(), 2u);
  EXPECT_THAT(data.warnings[0], StartsWith("monitor web (" + server->url() + "): no samples since "));
  EXPECT_THAT(data.warnings[1], HasSubstr("monitor never (http://127.0.0.1:"));
}

TEST(MonitoredHosts, ReadFromTheConfAsFunkLoadWroteThem) {
  std::string error;
  auto conf = conf::ConfFile::parse(R"([monitor]
hosts = web db
[web]
host = 127.0.0.2
port = 8008
description = the web server
[db]
prometheus = http://127.0.0.1:9100/metrics
interval = 0.5
interface = eth0, eth1
)", "Shop.conf", &error);
  ASSERT_TRUE(conf) << error;
  auto hosts = monitored_hosts(*conf, &error);
  ASSERT_TRUE(hosts) << error;
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].url, "http://127.0.0.2:8008");
  EXPECT_EQ((*hosts)[0].source, "bench-monitor");
  EXPECT_EQ((*hosts)[0].description, "the web server");
  EXPECT_EQ((*hosts)[1].url, "http://127.0.0.1:9100/metrics");
  EXPECT_EQ((*hosts)[1].interval_s, 0.5);
  EXPECT_EQ((*hosts)[1].interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  auto none = conf::ConfFile::parse("[main]\nurl = http://x\n", "T.conf", &error);
  EXPECT_TRUE(monitored_hosts(*none, &error)->empty());
}

TEST(MonitoredHosts, BadHostsAreOneLineWithTheirPlace) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"[monitor]\nhosts = web\n", "T.conf:2: [monitor] hosts: 'web' has no [web] section"},
      {"[monitor]\nhosts = web\n[web]\nhost = a\n", "T.conf:3: [web]: a monitored host wants a port (bench-monitor) or prometheus = URL"},
      {"[monitor]\nhosts = web\n[web]\nport = 99999\n", "T.conf:4: [web] port: '99999' is not a port (1 to 65535)"},
      {"[monitor]\nhosts = web\n[web]\nprometheus = https://h/metrics\n",
       "T.conf:4: [web] prometheus: 'https://h/metrics' is not an http:// URL of node_exporter's metrics"},
  };
  for (const auto& [text, want] : cases) {
    std::string error;
    auto conf = conf::ConfFile::parse(text, "T.conf", &error);
    ASSERT_TRUE(conf) << error;
    EXPECT_FALSE(monitored_hosts(*conf, &error)) << text;
    EXPECT_EQ(error, want);
  }
}

}  // namespace
}  // namespace bm::monitor
