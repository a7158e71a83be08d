// The request handling of the tool's own servers, bench-credential's and bench-monitor's
// (src/service's HttpService under each, Boost.Beast's request parser, their handlers),
// over real loopback sockets: what a hostile or broken client may send them. Each input
// goes to a fresh connection, which is then half-closed. The server must answer with
// well-formed HTTP responses (checked with the engine's own ResponseParser; a JSON body
// must parse) and close within a bound, and still answer GET /status afterwards. A
// sanitizer report, a hang or a malformed answer is a finding.
//
// Input: byte 0 picks the server (even: credential, odd: monitor); the rest is sent as
// it is. The recorder's proxy is not a target here: the requests it takes name the
// hosts it connects to, and fuzzed names would reach beyond this machine.
#include "credential/credential_server.hpp"
#include "fuzz_check.hpp"
#include "http/response_parser.hpp"
#include "monitor/monitor_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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

// Both servers, started once for the whole run, on a folder of their own.
struct Servers {
  fs::path folder;
  std::unique_ptr<bm::credential::CredentialServer> credential;
  std::unique_ptr<bm::monitor::MonitorServer> monitor;

  Servers() {
    char pattern[] = "/tmp/bm-services-fuzz.XXXXXX";
    check(::mkdtemp(pattern) != nullptr, "no temporary folder");
    folder = pattern;
    std::ofstream(folder / "passwords.txt") << "user1:pass1\nuser2:pass2\nuser3:pass3\n";
    std::ofstream(folder / "groups.txt") << "pair:user1, user2\nsolo:user3\n";
    bm::credential::CredentialServerOptions credential_options;
    credential_options.port = 0;
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
    monitor_options.port = 0;
    monitor_options.proc_root = folder / "proc";
    monitor_options.interval_s = 0.5;
    monitor_options.history = 16;
    monitor = bm::monitor::MonitorServer::create(monitor_options, &error);
    check(monitor != nullptr, "the monitor server did not start", error);
    monitor->start();
  }
  ~Servers() {
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
std::string exchange(uint16_t port, std::string_view request) {
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
  check(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0, "cannot connect");
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before it read everything
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    check(left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) == 1,
          "the server neither answered nor closed within 5 s", std::string(request.substr(0, 200)));
    char buffer[16384];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Servers& s = servers();
  const uint16_t port = (data[0] & 1) ? s.monitor->port() : s.credential->port();
  const std::string_view request(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string answer = exchange(port, request);
  // An answer to HEAD has no body whatever its Content-Length says: which of several
  // pipelined answers is one is not known here, so those are not read.
  if (request.find("HEAD") == std::string_view::npos) check_answers(answer, request);
  // Still serving.
  const std::string status = exchange(port, "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  check(status.starts_with("HTTP/1.1 200 "), "GET /status is not answered after the input",
        std::string(request.substr(0, 200)) + " -> " + status.substr(0, 200));
  return 0;
}
