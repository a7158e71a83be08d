// The request handling of the tool's own servers (src/service's HttpService under
// bench-credential's and bench-monitor's, Boost.Beast's request parser, their handlers)
// and of bench-record's proxy, over real loopback sockets: what a hostile or broken
// client may send them. Each input goes to a fresh connection, which is then half-closed.
// The server must answer with well-formed HTTP responses (checked with the engine's own
// ResponseParser; a JSON body must parse) and close within a bound, and still serve a
// known request afterwards. A sanitizer report, a hang or a malformed answer is a finding.
//
// Input: byte 0 picks the server (its value modulo 3: bench-credential, bench-monitor,
// the proxy); the rest is sent as it is.
//
// The proxy connects to whatever host a request names. So the target runs in a network
// namespace of its own, made at start, where only loopback exists (a fuzzed name cannot
// reach beyond it: no route, no name server); there the servers have fixed ports, which
// the seeds name: bench-credential 8007, bench-monitor 8008, the proxy 8090. Without the
// right to make one (not root), the proxy is not fuzzed and the ports are any free ones.
#include "credential/credential_server.hpp"
#include "fuzz_check.hpp"
#include "http/response_parser.hpp"
#include "monitor/monitor_server.hpp"
#include "record/recording_proxy.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fake_proc.hpp"

namespace {

namespace fs = std::filesystem;
using bm::http::ResponseParser;

void check(bool ok, const char* what, const std::string& detail = {}) {
  bm::fuzz::check(ok, "services", what, detail);
}

// Set by LLVMFuzzerInitialize: this process has a network namespace of its own.
bool isolated = false;

// A network namespace with loopback only, for this process and the threads it starts
// from now on. False (nothing changed) when it may not make one.
bool isolate_network() {
  if (::unshare(CLONE_NEWNET) != 0) return false;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  const bool up = fd >= 0 && ::ioctl(fd, SIOCGIFFLAGS, &request) == 0 &&
                  (request.ifr_flags |= IFF_UP, ::ioctl(fd, SIOCSIFFLAGS, &request) == 0);
  if (fd >= 0) ::close(fd);
  check(up, "cannot bring loopback up in the target's network namespace", std::strerror(errno));
  // The proxy's connections to the servers come from 127.0.0.1 and are closed by the
  // proxy first: at hundreds a second their TIME_WAITs would use up its ports within a
  // minute. These settings are the namespace's own.
  std::ofstream("/proc/sys/net/ipv4/tcp_tw_reuse") << "1\n";
  std::ofstream("/proc/sys/net/ipv4/ip_local_port_range") << "1024 65000\n";
  return true;
}

// The servers, started once for the whole run, on a folder of their own.
struct Servers {
  fs::path folder;
  std::unique_ptr<bm::credential::CredentialServer> credential;
  std::unique_ptr<bm::monitor::MonitorServer> monitor;
  std::unique_ptr<bm::record::RecordingProxy> proxy;

  Servers() {
    char pattern[] = "/tmp/bm-services-fuzz.XXXXXX";
    check(::mkdtemp(pattern) != nullptr, "no temporary folder");
    folder = pattern;
    std::ofstream(folder / "passwords.txt") << "user1:pass1\nuser2:pass2\nuser3:pass3\n";
    std::ofstream(folder / "groups.txt") << "pair:user1, user2\nsolo:user3\n";
    bm::credential::CredentialServerOptions credential_options;
    credential_options.port = isolated ? 8007 : 0;
    credential_options.credentials_file = folder / "passwords.txt";
    credential_options.groups_file = folder / "groups.txt";
    credential_options.lease_s = 0.2;
    credential_options.max_lease_s = 0.5;
    // A lease may wait for a login, and a 4 KiB input holds ~120 pipelined leases, all
    // answered in turn: at 0.05 s each that came close to the 5 s bound below (and passed
    // it under the sanitizers on a loaded machine). At 5 ms they take under a second.
    credential_options.max_wait_s = 0.005;
    std::string error;
    credential = bm::credential::CredentialServer::create(credential_options, &error);
    check(credential != nullptr, "the credential server did not start", error);
    credential->start();

    bm::monitor::testing::FakeProc proc(folder / "proc");
    proc.write();
    bm::monitor::MonitorServerOptions monitor_options;
    monitor_options.port = isolated ? 8008 : 0;
    monitor_options.proc_root = folder / "proc";
    monitor_options.interval_s = 0.5;
    monitor_options.history = 16;
    monitor = bm::monitor::MonitorServer::create(monitor_options, &error);
    check(monitor != nullptr, "the monitor server did not start", error);
    monitor->start();

    if (isolated) {
      bm::record::RecordingProxyOptions proxy_options;
      proxy_options.port = 8090;
      proxy_options.body_limit = 64 * 1024;
      proxy = bm::record::RecordingProxy::create(proxy_options, &error);
      check(proxy != nullptr, "the proxy did not start", error);
      proxy->start();
    }
  }
  ~Servers() {
    if (proxy) proxy->stop(std::chrono::milliseconds(0));
    proxy.reset();
    monitor.reset();
    credential.reset();
    std::error_code ignored;
    fs::remove_all(folder, ignored);
  }
};

Servers& servers() {
  static Servers instance;
  return instance;
}

// Sends `request`, half-closes, and returns everything the server sent until it closed.
std::string send_and_read(uint16_t port, std::string_view request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(fd >= 0, "no socket");
  // The client half-closes first, so each connection leaves a TIME_WAIT on its side for a
  // minute: hundreds a second would use up one address's ports (and make connects slow
  // long before that). Spread over 4,096 loopback addresses, each keeps a few dozen.
  static uint32_t next_source = 0;
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7f010000u | (next_source++ % 4096u));  // 127.1.0.0 .. 127.1.15.255
  check(::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) == 0, "cannot bind a loopback address");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // libFuzzer's SIGALRM (its -timeout watch, every timeout/2 + 1 s) interrupts whatever
  // call this thread is in: each one below goes on after EINTR. Read as a failure, it
  // once passed for a server that did not answer.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    check(errno == EINTR, "cannot connect", std::strerror(errno));
    pollfd p{fd, POLLOUT, 0};  // an interrupted connect goes on by itself
    while (::poll(&p, 1, 5000) < 0 && errno == EINTR) {
    }
    int error = ETIMEDOUT;
    socklen_t length = sizeof error;
    if (p.revents != 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    check(error == 0, "cannot connect", std::strerror(error));
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may answer and close before it read everything
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    check(ready == 1, "the server neither answered nor closed within 5 s", std::string(request.substr(0, 200)));
    char buffer[16384];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
    check(answer.size() < (64u << 20), "an answer of more than 64 MiB");
  }
  ::close(fd);
  return answer;
}

// Every byte the server sent is whole responses, each with a status it may send and, when
// it says JSON, a body that parses.
void check_answers(std::string_view answer, std::string_view request) {
  ResponseParser parser;
  while (!answer.empty()) {
    parser.reset(false);
    size_t consumed = 0;
    ResponseParser::Result result = parser.feed(answer.data(), answer.size(), &consumed);
    if (result == ResponseParser::Result::need_more) result = parser.finish_eof();
    const std::string context = std::string(request.substr(0, 200)) + " -> " + std::string(answer.substr(0, 300));
    check(result == ResponseParser::Result::complete, "a malformed answer", parser.error() + ": " + context);
    check(parser.status() >= 200 && parser.status() <= 599, "an answer with an odd status", context);
    if (parser.content_type().starts_with("application/json")) {
      check(nlohmann::json::accept(parser.body()), "a JSON answer that does not parse", context);
    }
    answer.remove_prefix(consumed);
    if (consumed == 0) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  isolated = isolate_network();
  if (!isolated) {
    fprintf(stderr, "services: no network namespace of its own (%s): the proxy is not fuzzed\n", std::strerror(errno));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Servers& s = servers();
  const int which = data[0] % 3;
  if (which == 2 && !s.proxy) return 0;
  const uint16_t port = which == 0 ? s.credential->port() : which == 1 ? s.monitor->port() : s.proxy->port();
  const std::string_view request(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string answer = send_and_read(port, request);
  // An answer to HEAD has no body whatever its Content-Length says, and a CONNECT's
  // tunnel carries whatever the other end sends: which of several pipelined answers is
  // one is not known here, so those are not read.
  if (request.find("HEAD") == std::string_view::npos && request.find("CONNECT") == std::string_view::npos) {
    check_answers(answer, request);
  }
  // Still serving: the proxy relays a request to bench-credential.
  const std::string known =
      which == 2 ? "GET http://127.0.0.1:" + std::to_string(s.credential->port()) +
                       "/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                 : std::string("GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string status = send_and_read(port, known);
  check(status.starts_with("HTTP/1.1 200 "), "GET /status is not answered after the input",
        std::string(request.substr(0, 200)) + " -> " + status.substr(0, 200));
  return 0;
}
