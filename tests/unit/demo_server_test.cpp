// The demo server, run in-process on an ephemeral loopback port and checked endpoint by
// endpoint with a Beast client (well-formed HTTP) or a raw socket (hostile behaviours).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "demo/demo_server.hpp"
#include "demo/pages.hpp"
#include "demo/routes.hpp"

namespace bm::demo {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Every client operation gives up after this long, so a server bug fails a test instead
// of hanging it.
constexpr auto kClientTimeout = 5s;

std::string field(const Response& response, http::field name) {
  return std::string(response[name]);
}

std::string field(const Response& response, std::string_view name) {
  return std::string(response[name]);
}

Request make_request(http::verb verb, std::string target, std::string body = {},
                     const Headers& headers = {}) {
  Request request{verb, target, 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::user_agent, "demo-server-test");
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() || verb == http::verb::post) {
    request.body() = std::move(body);
    if (!request.count(http::field::content_type)) {
      request.set(http::field::content_type, "application/x-www-form-urlencoded");
    }
    request.prepare_payload();
  }
  return request;
}

// One HTTP/1.1 client connection (keep-alive unless the request says otherwise).
class Client {
 public:
  explicit Client(std::uint16_t port) {
    const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
    stream_.expires_after(kClientTimeout);
    const beast::error_code error = run([&](auto handler) { stream_.async_connect(server, handler); });
    EXPECT_FALSE(error) << error.message();
  }

  beast::error_code send(Request request) {
    stream_.expires_after(kClientTimeout);
    return run([&](auto handler) { http::async_write(stream_, request, handler); });
  }

  beast::error_code receive(Response& response, bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.header_limit(4 << 20);
    parser.body_limit(128 << 20);
    parser.skip(head);
    stream_.expires_after(kClientTimeout);
    const beast::error_code error =
        run([&](auto handler) { http::async_read(stream_, buffer_, parser, handler); });
    response = parser.release();
    return error;
  }

  Response request(http::verb verb, std::string target, std::string body = {},
                   const Headers& headers = {}) {
    Request request = make_request(verb, std::move(target), std::move(body), headers);
    const beast::error_code sent = send(request);
    EXPECT_FALSE(sent) << sent.message();
    Response response;
    const beast::error_code received = receive(response, verb == http::verb::head);
    EXPECT_FALSE(received) << request.target() << ": " << received.message();
    return response;
  }

  Response get(std::string target, const Headers& headers = {}) {
    return request(http::verb::get, std::move(target), {}, headers);
  }

  Response post(std::string target, std::string form, const Headers& headers = {}) {
    return request(http::verb::post, std::move(target), std::move(form), headers);
  }

  // True when the server has closed the connection (a read finds end of stream).
  bool closed_by_server() {
    std::array<char, 1> byte;
    stream_.expires_after(kClientTimeout);
    const beast::error_code error =
        run([&](auto handler) { stream_.async_read_some(asio::buffer(byte), handler); });
    return error == asio::error::eof || error == asio::error::connection_reset;
  }

 private:
  template <typename Start>
  beast::error_code run(Start start) {
    beast::error_code result;
    start([&result](beast::error_code error, auto&&...) { result = error; });
    io_.restart();
    io_.run();
    return result;
  }

  asio::io_context io_;
  beast::tcp_stream stream_{io_};
  beast::flat_buffer buffer_;
};

// A plain socket, for replies that are not well-formed HTTP.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void send(std::string_view data) {
    ASSERT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }

  bool readable_within(std::chrono::milliseconds timeout) {
    pollfd poll_fd{fd_, POLLIN, 0};
    return ::poll(&poll_fd, 1, static_cast<int>(timeout.count())) == 1;
  }

  // Reads until the server closes, `limit` bytes have come, or nothing came for a while.
  std::string read(std::size_t limit = SIZE_MAX) {
    std::string data;
    std::array<char, 65536> chunk;
    while (data.size() < limit && readable_within(kClientTimeout)) {
      const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
      if (n <= 0) {
        closed_ = true;
        reset_ = n < 0 && errno == ECONNRESET;
        break;
      }
      data.append(chunk.data(), static_cast<std::size_t>(n));
    }
    return data;
  }

  bool closed() const { return closed_; }
  bool reset() const { return reset_; }  // closed by a reset (RST), not an end of stream
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_;
  bool closed_ = false;
  bool reset_ = false;
};

std::unique_ptr<DemoServer> start_server(int threads) {
  DemoOptions options;
  options.port = 0;
  options.threads = threads;
  options.quiet = true;
  auto server = std::make_unique<DemoServer>(options);
  server->start();
  return server;
}

class DemoServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = start_server(4);
    port_ = server_->port();
  }
  void TearDown() override { server_->stop(); }

  nlohmann::json counter() { return nlohmann::json::parse(Client(port_).get("/counter").body()); }
  void reset_counter() { EXPECT_EQ(Client(port_).post("/counter/reset", "").result_int(), 200); }

  std::unique_ptr<DemoServer> server_;
  std::uint16_t port_ = 0;
};

// ---- startup ----

TEST_F(DemoServerTest, ListensOnAnEphemeralLoopbackPort) {
  EXPECT_NE(port_, 0);
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(port_));
}

TEST(DemoServerStartup, ABusyPortOrABadHostIsAClearError) {
  auto first = start_server(1);
  DemoOptions options;
  options.port = first->port();
  try {
    DemoServer second(options);
    ADD_FAILURE() << "bound a port already in use";
  } catch (const std::system_error& e) {
    EXPECT_THAT(e.what(), StartsWith("cannot listen on 127.0.0.1:" +
                                     std::to_string(first->port()) + ": "));
  }
  options.host = "localhost";
  EXPECT_THROW(DemoServer{options}, std::invalid_argument);
  options.host = "127.0.0.1";
  options.threads = -1;
  EXPECT_THROW(DemoServer{options}, std::invalid_argument);
}

TEST(DemoServerStartup, RunDemoServerAnnouncesItselfAndExitsZeroOnSigterm) {
  const std::filesystem::path ready =
      std::filesystem::temp_directory_path() / ("bm-demo-ready-" + std::to_string(::getpid()));
  std::filesystem::remove(ready);
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    DemoOptions options;
    options.port = 0;
    options.ready_file = ready.string();
    options.quiet = true;
    ::_exit(run_demo_server(options));
  }
  ::close(out[1]);
  FILE* stdout_of_child = ::fdopen(out[0], "r");
  char line[256] = {};
  ASSERT_NE(std::fgets(line, sizeof line, stdout_of_child), nullptr);
  const std::string announced(line);
  EXPECT_THAT(announced, StartsWith("demo-server listening on http://127.0.0.1:"));
  const std::string url = announced.substr(std::string("demo-server listening on ").size());
  std::string url_in_file;
  std::getline(std::ifstream(ready), url_in_file);
  EXPECT_EQ(url_in_file + "\n", url);

  const auto port = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  EXPECT_EQ(Client(port).get("/").result_int(), 200);

  ::kill(child, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(std::fgets(line, sizeof line, stdout_of_child), nullptr) << "more than one line";
  std::fclose(stdout_of_child);
  std::filesystem::remove(ready);
}

// ---- the shop ----

TEST_F(DemoServerTest, HomePageAndItsResources) {
  Client client(port_);
  const Response home = client.get("/");
  EXPECT_EQ(home.result_int(), 200);
  EXPECT_EQ(field(home, http::field::content_type), "text/html; charset=utf-8");
  EXPECT_THAT(home.body(), HasSubstr("href=\"/login\""));
  const std::map<std::string, std::string> resources{
      {"style.css", "text/css; charset=utf-8"},   {"app.js", "text/javascript; charset=utf-8"},
      {"logo.png", "image/png"},                 {"item-1.png", "image/png"},
      {"item-2.png", "image/png"},               {"item-3.png", "image/png"}};
  for (const auto& [name, type] : resources) {
    EXPECT_THAT(home.body(), HasSubstr("\"/static/" + name + "\"")) << name;
    const Response file = client.get("/static/" + name);
    EXPECT_EQ(file.result_int(), 200) << name;
    EXPECT_EQ(field(file, http::field::content_type), type) << name;
    EXPECT_EQ(file.body(), static_file(name)->body) << name;
    EXPECT_FALSE(file.body().empty());
    if (type == "image/png") {
      EXPECT_THAT(file.body(), StartsWith("\x89PNG\r\n\x1a\n"));
    }
  }
  EXPECT_NE(client.get("/static/item-1.png").body(), client.get("/static/item-2.png").body());
  EXPECT_EQ(client.get("/static/secret.txt").result_int(), 404);
  EXPECT_EQ(client.get("/static/").result_int(), 404);
}

TEST_F(DemoServerTest, LoginCookieCartAndLogout) {
  Client client(port_);
  const Response form = client.get("/login");
  EXPECT_EQ(form.result_int(), 200);
  EXPECT_THAT(form.body(), HasSubstr("<form action=\"/login\" method=\"post\">"));
  EXPECT_THAT(form.body(), HasSubstr("name=\"user\""));
  EXPECT_THAT(form.body(), HasSubstr("name=\"password\""));
  EXPECT_THAT(form.body(), HasSubstr("type=\"hidden\" name=\"token\" value=\""));

  const Response wrong = client.post("/login", "user=alice&password=guess&token=x");
  EXPECT_EQ(wrong.result_int(), 200);
  EXPECT_THAT(wrong.body(), HasSubstr("Invalid credentials"));
  EXPECT_THAT(wrong.body(), HasSubstr("name=\"password\""));
  EXPECT_EQ(field(wrong, http::field::set_cookie), "");

  EXPECT_EQ(client.post("/cart/add", "item=Tea&qty=1").result_int(), 401);

  const Response ok = client.post("/login", "user=alice&password=secret&token=x");
  EXPECT_EQ(ok.result_int(), 303);
  EXPECT_EQ(field(ok, http::field::location), "/account");
  const std::string set_cookie = field(ok, http::field::set_cookie);
  EXPECT_THAT(set_cookie, ::testing::MatchesRegex("session=[0-9a-f]{32}; Path=/; HttpOnly"));
  const Headers session{{"Cookie", "theme=dark; " + set_cookie.substr(0, set_cookie.find(';'))}};

  const Response account = client.get("/account", session);
  EXPECT_EQ(account.result_int(), 200);
  EXPECT_THAT(account.body(), HasSubstr("Welcome alice"));
  const Response anonymous = client.get("/account");
  EXPECT_EQ(anonymous.result_int(), 302);
  EXPECT_EQ(field(anonymous, http::field::location), "/login");
  EXPECT_EQ(client.get("/account", {{"Cookie", "session=0123"}}).result_int(), 302);

  const Response added = client.post("/cart/add", "item=Green+tea&qty=2", session);
  EXPECT_EQ(added.result_int(), 200);
  EXPECT_THAT(added.body(), HasSubstr("Added 2 x Green tea"));
  EXPECT_THAT(added.body(), HasSubstr("Cart: 2 items"));
  EXPECT_THAT(client.post("/cart/add", "item=Cake&qty=3", session).body(), HasSubstr("Cart: 5 items"));
  EXPECT_THAT(client.post("/cart/add", "item=Cake", session).body(), HasSubstr("Cart: 6 items"));
  EXPECT_EQ(client.post("/cart/add", "qty=3", session).result_int(), 400);
  EXPECT_EQ(client.post("/cart/add", "item=Cake&qty=0", session).result_int(), 400);

  const Response logout = client.post("/logout", "", session);
  EXPECT_EQ(logout.result_int(), 302);
  EXPECT_EQ(field(logout, http::field::location), "/");
  EXPECT_EQ(field(logout, http::field::set_cookie), "session=; Max-Age=0; Path=/; HttpOnly");
  EXPECT_EQ(client.get("/account", session).result_int(), 302);
  EXPECT_EQ(client.get("/logout").result_int(), 302);
}

TEST_F(DemoServerTest, NumberedUsersLogIn) {
  Client client(port_);
  const auto login = [&](std::string_view user, std::string_view password) {
    return client.post("/login", fmt::format("user={}&password={}", user, password)).result_int();
  };
  EXPECT_EQ(login("user0", "pass0"), 303);
  EXPECT_EQ(login("user99999", "pass99999"), 303);
  EXPECT_EQ(login("user42", "pass42"), 303);
  EXPECT_EQ(login("user42", "pass43"), 200);
  EXPECT_EQ(login("user100000", "pass100000"), 200);
  EXPECT_EQ(login("user007", "pass007"), 200);
  EXPECT_EQ(login("user", "pass"), 200);
  EXPECT_EQ(login("alice", ""), 200);
  const std::string cookie =
      field(client.post("/login", "user=user7&password=pass7"), http::field::set_cookie);
  const Response welcome = client.get("/account", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  EXPECT_THAT(welcome.body(), HasSubstr("Welcome user7"));
}

TEST_F(DemoServerTest, SessionLogShowsAccountsUsedTwiceAtOnce) {
  Client client(port_);
  reset_counter();
  const auto login = [&](std::string_view user) {
    const std::string cookie =
        field(client.post("/login", fmt::format("user={0}&password=pass{1}", user, user.substr(4))),
              http::field::set_cookie);
    return Headers{{"Cookie", cookie.substr(0, cookie.find(';'))}};
  };
  const auto log = [&] { return nlohmann::json::parse(client.get("/sessions").body()); };
  const Headers first = login("user1");
  client.get("/logout", first);
  const Headers second = login("user1");  // after the first ended: no overlap
  EXPECT_EQ(log()["overlaps"], 0);
  const Headers third = login("user1");  // while the second is open
  login("user2");
  const nlohmann::json shared = log();
  EXPECT_EQ(shared["overlaps"], 1);
  EXPECT_EQ(shared["accounts"]["user1"], nlohmann::json::parse(R"({"sessions": 3, "open": 2, "max_open": 2})"));
  EXPECT_EQ(shared["accounts"]["user2"]["sessions"], 1);
  // A reset starts a new log; sessions still open count as open in it.
  reset_counter();
  EXPECT_EQ(log()["accounts"]["user1"], nlohmann::json::parse(R"({"sessions": 0, "open": 2, "max_open": 2})"));
  client.get("/logout", second);
  client.get("/logout", third);
  EXPECT_EQ(log()["accounts"]["user1"]["open"], 0);
}

TEST_F(DemoServerTest, FeedbackAndSearchEscapeWhatTheyEcho) {
  Client client(port_);
  const Response thanks = client.post("/feedback", "name=Bob+%3Cb%3E&text=hello");
  EXPECT_EQ(thanks.result_int(), 200);
  EXPECT_THAT(thanks.body(), HasSubstr("Thanks Bob &lt;b&gt;"));
  EXPECT_EQ(client.post("/feedback", "text=nameless").result_int(), 400);
  EXPECT_THAT(client.get("/feedback").body(), HasSubstr("action=\"/feedback\""));

  const Response results = client.get("/search?q=tea+%26+%3Cscript%3E");
  EXPECT_EQ(results.result_int(), 200);
  EXPECT_THAT(results.body(), HasSubstr("Results for tea &amp; &lt;script&gt;"));
  EXPECT_THAT(client.get("/search").body(), HasSubstr("Results for "));
}

// ---- test endpoints ----

TEST_F(DemoServerTest, BytesPlainChunkedAndHead) {
  Client client(port_);
  const auto expected = [](std::size_t n) {
    std::string body;
    for (std::size_t i = 0; i < n; ++i) body += kBytePattern[i % kBytePattern.size()];
    return body;
  };
  const Response empty = client.get("/bytes/0");
  EXPECT_EQ(empty.result_int(), 200);
  EXPECT_EQ(empty.body(), "");
  const Response plain = client.get("/bytes/200000");
  EXPECT_EQ(field(plain, http::field::content_length), "200000");
  EXPECT_EQ(field(plain, http::field::content_type), "text/plain; charset=utf-8");
  EXPECT_TRUE(plain.body() == expected(200000)) << "body differs from the pattern";
  const Response chunked = client.get("/bytes/200000?chunked=1");
  EXPECT_TRUE(chunked.chunked());
  EXPECT_TRUE(chunked.body() == expected(200000)) << "body differs from the pattern";
  const Response head = client.request(http::verb::head, "/bytes/1234");
  EXPECT_EQ(field(head, http::field::content_length), "1234");
  EXPECT_EQ(head.body(), "");
  // Still the same keep-alive connection after all of that:
  EXPECT_EQ(client.get("/bytes/5").body(), "abcde");

  EXPECT_EQ(client.get("/bytes/" + std::to_string(kMaxBodyBytes)).body().size(), kMaxBodyBytes);
  EXPECT_EQ(client.get("/bytes/" + std::to_string(kMaxBodyBytes + 1)).result_int(), 400);
  EXPECT_EQ(client.get("/bytes/-1").result_int(), 400);
  EXPECT_EQ(client.get("/bytes/ten").result_int(), 400);
}

TEST_F(DemoServerTest, DelayWaitsAtLeastTheTimeAsked) {
  Client client(port_);
  const auto start = Clock::now();
  const Response response = client.get("/delay/150");
  EXPECT_GE(Clock::now() - start, 150ms);
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "ok");
  EXPECT_EQ(client.get("/delay/0").body(), "ok");
  EXPECT_EQ(client.get("/delay/600001").result_int(), 400);
}

TEST(DemoServerDelay, ADelayDoesNotHoldTheOnlyThread) {
  auto server = start_server(1);
  RawConnection waiting(server->port());
  waiting.send("GET /delay/3000 HTTP/1.1\r\nHost: x\r\n\r\n");
  // The one server thread must serve other connections while the delay runs.
  EXPECT_EQ(Client(server->port()).get("/delay/0").body(), "ok");
  EXPECT_FALSE(waiting.readable_within(0ms));
  server->stop();
}

TEST_F(DemoServerTest, SeqDelayCyclesThroughItsValuesServerWide) {
  reset_counter();
  std::vector<std::string> delays;
  for (int i = 0; i < 6; ++i) {
    Client client(port_);  // a new connection each time: the position is server-wide
    const Response response = client.get("/seq-delay?values=5,10,20,0");
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(response.body(), "ok");
    EXPECT_EQ(field(response, "X-Sequence-Index"), std::to_string(i));
    delays.push_back(field(response, "X-Delay-Ms"));
  }
  EXPECT_THAT(delays, ::testing::ElementsAre("5", "10", "20", "0", "5", "10"));
  Client client(port_);
  EXPECT_EQ(field(client.get("/seq-delay?values=1,2"), "X-Delay-Ms"), "1");  // its own sequence
  reset_counter();
  EXPECT_EQ(field(client.get("/seq-delay?values=5,10,20,0"), "X-Sequence-Index"), "0");
  EXPECT_EQ(client.get("/seq-delay").result_int(), 400);
  EXPECT_EQ(client.get("/seq-delay?values=").result_int(), 400);
  EXPECT_EQ(client.get("/seq-delay?values=5,x").result_int(), 400);
  EXPECT_EQ(client.get("/seq-delay?values=5,").result_int(), 400);
}

TEST_F(DemoServerTest, SeqDelayPositionsAreExactUnderConcurrency) {
  reset_counter();
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::vector<int>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client client(port_);
      for (int i = 0; i < kEach; ++i) {
        const std::string index = field(client.get("/seq-delay?values=0,0,0"), "X-Sequence-Index");
        seen[t].push_back(index.empty() ? -1 : std::stoi(index));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<int> all;
  for (const auto& indexes : seen) all.insert(all.end(), indexes.begin(), indexes.end());
  std::sort(all.begin(), all.end());
  for (int i = 0; i < kThreads * kEach; ++i) ASSERT_EQ(all[static_cast<std::size_t>(i)], i);
}

TEST_F(DemoServerTest, StatusAnswersWithTheCodeAsked) {
  Client client(port_);
  for (int code : {200, 201, 302, 404, 418, 500, 503}) {
    const Response response = client.get("/status/" + std::to_string(code));
    EXPECT_EQ(response.result_int(), code);
    EXPECT_THAT(response.body(), StartsWith(std::to_string(code) + " "));
  }
  EXPECT_EQ(client.get("/status/599").result_int(), 599);
  EXPECT_EQ(client.get("/status/299").body(), "299 Unknown\n");  // a code with no name
  const Response no_content = client.get("/status/204");
  EXPECT_EQ(no_content.result_int(), 204);
  EXPECT_EQ(no_content.body(), "");
  EXPECT_EQ(client.post("/status/422", "").result_int(), 422);
  EXPECT_EQ(client.get("/status/100").result_int(), 400);
  EXPECT_EQ(client.get("/status/199").result_int(), 400);
  EXPECT_EQ(client.get("/status/600").result_int(), 400);
}

TEST_F(DemoServerTest, RedirectChainsEndAtTheirTarget) {
  Client client(port_);
  std::vector<std::string> hops;
  std::string target = "/redirect/3";
  for (Response response = client.get(target); response.result_int() == 302;
       response = client.get(target)) {
    target = field(response, http::field::location);
    hops.push_back(target);
    ASSERT_LE(hops.size(), 5u);
  }
  EXPECT_THAT(hops, ::testing::ElementsAre("/redirect/2", "/redirect/1", "/redirect/0", "/"));

  const Response permanent = client.get("/redirect/2?code=308");
  EXPECT_EQ(permanent.result_int(), 308);
  EXPECT_EQ(field(permanent, http::field::location), "/redirect/1?code=308");
  const Response to_echo = client.post("/redirect/0?code=307&to=/echo", "a=1");
  EXPECT_EQ(to_echo.result_int(), 307);
  EXPECT_EQ(field(to_echo, http::field::location), "/echo");
  EXPECT_EQ(client.get("/redirect/0?code=303").result_int(), 303);
  EXPECT_EQ(client.get("/redirect/0?code=301").result_int(), 301);
  EXPECT_EQ(client.get("/redirect/1?code=304").result_int(), 400);
  EXPECT_EQ(client.get("/redirect/1?to=//elsewhere.test/").result_int(), 400);
  EXPECT_EQ(client.get("/redirect/1001").result_int(), 400);
}

TEST_F(DemoServerTest, EchoReturnsWhatTheClientSent) {
  Client client(port_);
  const std::string multipart = "--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--";
  const Response response = client.request(
      http::verb::put, "/echo?x=1", multipart,
      {{"Content-Type", "multipart/form-data; boundary=b"},
       {"Cookie", "a=1"},
       {"Authorization", "Basic YWxpY2U6c2VjcmV0"}});
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(field(response, http::field::content_type), "application/json");
  const nlohmann::json echo = nlohmann::json::parse(response.body());
  EXPECT_EQ(echo["method"], "PUT");
  EXPECT_EQ(echo["target"], "/echo?x=1");
  EXPECT_EQ(echo["version"], "HTTP/1.1");
  EXPECT_EQ(echo["body"], multipart);
  EXPECT_EQ(echo["body_size"], multipart.size());
  const auto has_header = [&](const std::string& name, const std::string& value) {
    for (const auto& pair : echo["headers"]) {
      if (pair[0] == name && pair[1] == value) return true;
    }
    return false;
  };
  EXPECT_TRUE(has_header("User-Agent", "demo-server-test"));
  EXPECT_TRUE(has_header("Cookie", "a=1"));
  EXPECT_TRUE(has_header("Authorization", "Basic YWxpY2U6c2VjcmV0"));
  EXPECT_TRUE(has_header("Content-Type", "multipart/form-data; boundary=b"));
  EXPECT_EQ(nlohmann::json::parse(client.get("/echo").body())["method"], "GET");
}

TEST_F(DemoServerTest, UnknownPathsAndWrongMethods) {
  Client client(port_);
  EXPECT_EQ(client.get("/nope").result_int(), 404);
  EXPECT_EQ(client.get("/login/extra").result_int(), 404);
  const Response wrong = client.request(http::verb::delete_, "/login");
  EXPECT_EQ(wrong.result_int(), 405);
  EXPECT_EQ(field(wrong, http::field::allow), "GET, HEAD, POST");
  EXPECT_EQ(field(client.post("/", ""), http::field::allow), "GET, HEAD");
}

TEST_F(DemoServerTest, MalformedRequestsGet400AndAClose) {
  RawConnection raw(port_);
  raw.send("GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n");
  EXPECT_THAT(raw.read(), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_TRUE(raw.closed());
  RawConnection bad_target(port_);
  bad_target.send("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(bad_target.read(12), StartsWith("HTTP/1.1 400"));
}

TEST_F(DemoServerTest, OversizedRequestsAreRefused) {
  RawConnection headers(port_);
  headers.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70'000, 'a') + "\r\n\r\n");
  const std::string refused = headers.read();
  EXPECT_THAT(refused, StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  EXPECT_THAT(refused, HasSubstr("\r\nServer: benchmaster-demo\r\n"));
  RawConnection body(port_);
  body.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000\r\n\r\n");
  EXPECT_THAT(body.read(), StartsWith("HTTP/1.1 413 Payload Too Large\r\n"));
  EXPECT_TRUE(body.closed());
}

TEST_F(DemoServerTest, Http10GetsAnHttp10ReplyAndAClose) {
  RawConnection raw(port_);
  raw.send("GET /delay/0 HTTP/1.0\r\n\r\n");
  const std::string reply = raw.read();
  EXPECT_THAT(reply, StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(reply, ::testing::EndsWith("\r\n\r\nok"));
  EXPECT_TRUE(raw.closed());
}

// ---- the counter ----

TEST_F(DemoServerTest, CounterIsExactUnderConcurrency) {
  reset_counter();
  constexpr int kThreads = 4, kEach = 500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const bool keep_alive = t % 2 == 0;
      std::optional<Client> client;
      for (int i = 0; i < kEach; ++i) {
        if (!client || !keep_alive) client.emplace(port_);
        const std::string target = i % 2 == 0 ? "/search?q=" + std::to_string(i) : "/static/app.js";
        const Headers headers = keep_alive ? Headers{} : Headers{{"Connection", "close"}};
        if (client->get(target, headers).result_int() != 200) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  const nlohmann::json counts = counter();
  EXPECT_EQ(counts["requests"], kThreads * kEach);
  EXPECT_EQ(counts["by_path"], (nlohmann::json{{"/search", kThreads * kEach / 2},
                                               {"/static/app.js", kThreads * kEach / 2}}));
  EXPECT_EQ(counter()["requests"], kThreads * kEach);  // reading it is not counted
}

TEST_F(DemoServerTest, CounterCountsErrorsAndBadRequestsButNotItsReset) {
  reset_counter();
  Client client(port_);
  client.get("/nope");
  client.get("/status/500");
  client.get("/status/500?again");
  RawConnection garbage(port_);
  garbage.send("GET /hostile/garbage HTTP/1.1\r\nHost: x\r\n\r\n");
  garbage.read();
  RawConnection malformed(port_);
  malformed.send("NOT A REQUEST LINE\r\n\r\n");
  malformed.read();
  const nlohmann::json counts = counter();
  EXPECT_EQ(counts["by_path"]["/nope"], 1);
  EXPECT_EQ(counts["by_path"]["/status/500"], 2);
  EXPECT_EQ(counts["by_path"]["/hostile/garbage"], 1);
  EXPECT_EQ(counts["by_path"]["(bad request)"], 1);
  EXPECT_EQ(counts["requests"], 5);
  EXPECT_FALSE(counts["by_path"].contains("/counter"));
  EXPECT_FALSE(counts["by_path"].contains("/counter/reset"));
  reset_counter();
  EXPECT_EQ(counter(), (nlohmann::json{{"requests", 0}, {"by_path", nlohmann::json::object()}}));
}

// ---- hostile endpoints ----

std::pair<std::string, std::string> split_head(const std::string& reply) {
  const std::size_t end = reply.find("\r\n\r\n");
  if (end == std::string::npos) return {reply, ""};
  return {reply.substr(0, end + 4), reply.substr(end + 4)};
}

TEST_F(DemoServerTest, CloseMidPromisesMoreThanItSends) {
  RawConnection raw(port_);
  raw.send("GET /hostile/close-mid HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto [head, body] = split_head(raw.read());
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, HasSubstr("Content-Length: 1000\r\n"));
  EXPECT_EQ(body.size(), 10u);
  EXPECT_TRUE(raw.closed());
}

TEST_F(DemoServerTest, ResetMidSendsPartOfTheBodyThenAReset) {
  RawConnection raw(port_);
  raw.send("GET /hostile/reset-mid HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto [head, body] = split_head(raw.read());
  EXPECT_THAT(head, HasSubstr("Content-Length: 1000\r\n"));
  EXPECT_EQ(body.size(), 10u);
  EXPECT_TRUE(raw.closed());
  EXPECT_TRUE(raw.reset());
  RawConnection fin(port_);
  fin.send("GET /hostile/close-mid HTTP/1.1\r\nHost: x\r\n\r\n");
  fin.read();
  EXPECT_TRUE(fin.closed());
  EXPECT_FALSE(fin.reset());  // close-mid ends with FIN
}

TEST_F(DemoServerTest, HalfCloseEndsItsSideWithoutAnswering) {
  RawConnection raw(port_);
  raw.send("GET /hostile/half-close HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(raw.read(), "");
  EXPECT_TRUE(raw.closed());
  EXPECT_FALSE(raw.reset());
  raw.send("still open for reading\r\n");  // the server's side reads on: no reset
  EXPECT_EQ(Client(port_).get("/").result_int(), 200);
}

TEST_F(DemoServerTest, GarbageIsNotHttp) {
  RawConnection raw(port_);
  raw.send("GET /hostile/garbage HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(raw.read(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_TRUE(raw.closed());
}

TEST_F(DemoServerTest, EndlessNeverEnds) {
  RawConnection raw(port_);
  raw.send("GET /hostile/endless HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string start = raw.read(4 << 20);
  EXPECT_GE(start.size(), 4u << 20);
  EXPECT_FALSE(raw.closed());
  EXPECT_THAT(split_head(start.substr(0, 4096)).first, HasSubstr("Transfer-Encoding: chunked\r\n"));
  EXPECT_EQ(split_head(start).second.substr(0, 7), "10000\r\n");  // 64 KiB chunks
  EXPECT_EQ(Client(port_).get("/").result_int(), 200);  // others are still served
}

TEST_F(DemoServerTest, HugeHeadersAreOverOneMebibyte) {
  RawConnection raw(port_);
  raw.send("GET /hostile/huge-headers HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto [head, body] = split_head(raw.read());
  EXPECT_GE(head.size(), 1u << 20);
  EXPECT_EQ(head.substr(0, 17), "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(body, "ok");
}

TEST_F(DemoServerTest, HugeHeadersCanBeOneLongLine) {
  RawConnection raw(port_);
  raw.send("GET /hostile/huge-headers?line=300000 HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto [head, body] = split_head(raw.read());
  // (Not EXPECT_THAT: a failure would print the 300 kB head.)
  EXPECT_NE(head.find("\r\nX-Long: " + std::string(300000, 'x') + "\r\n"), std::string::npos) << head.size();
  EXPECT_EQ(head.substr(0, 17), "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(body, "ok");
  Client client(port_);
  EXPECT_EQ(client.get("/hostile/huge-headers?line=" + std::to_string(kMaxHeaderLineBytes + 1)).result_int(), 400);
}

TEST_F(DemoServerTest, HugeBodyIsTheBytesPatternPastItsLimit) {
  Client client(port_);
  const Response plain = client.get("/hostile/huge-body?bytes=100000");
  EXPECT_EQ(field(plain, http::field::content_length), "100000");
  EXPECT_TRUE(plain.body() == client.get("/bytes/100000").body());
  const Response chunked = client.get("/hostile/huge-body?bytes=70000&chunked=1");
  EXPECT_TRUE(chunked.chunked());
  EXPECT_EQ(chunked.body().size(), 70000u);
  const Response head = client.request(http::verb::head, "/hostile/huge-body");
  EXPECT_EQ(field(head, http::field::content_length), "1073741824");  // 1 GiB by default
  EXPECT_EQ(client.get("/hostile/huge-body?bytes=" + std::to_string(kMaxHugeBodyBytes + 1)).result_int(), 400);
}

TEST_F(DemoServerTest, NoResponseAnswersNothingAndClosesWhenTheClientDoes) {
  RawConnection raw(port_);
  raw.send("GET /hostile/no-response HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(raw.readable_within(300ms));
  raw.shutdown_write();
  EXPECT_EQ(raw.read(), "");
  EXPECT_TRUE(raw.closed());
}

TEST_F(DemoServerTest, SlowBodyDripsOneByteAtATime) {
  RawConnection raw(port_);
  const auto start = Clock::now();
  raw.send("GET /hostile/slow-body?ms=40&bytes=4 HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto [head, body] = split_head(raw.read());
  EXPECT_GE(Clock::now() - start, 160ms);
  EXPECT_THAT(head, HasSubstr("Content-Length: 4\r\n"));
  EXPECT_EQ(body, "abcd");
  EXPECT_TRUE(raw.closed());
  Client client(port_);
  EXPECT_EQ(client.get("/hostile/slow-body?ms=60001").result_int(), 400);
  EXPECT_EQ(client.get("/hostile/slow-body?bytes=0").result_int(), 400);
}

// ---- stopping ----

TEST(DemoServerStop, StopDropsPendingWorkPromptly) {
  auto server = start_server(2);
  RawConnection silent(server->port());
  silent.send("GET /hostile/no-response HTTP/1.1\r\nHost: x\r\n\r\n");
  RawConnection delayed(server->port());
  delayed.send("GET /delay/600000 HTTP/1.1\r\nHost: x\r\n\r\n");
  RawConnection endless(server->port());
  endless.send("GET /hostile/endless HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_GT(endless.read(1 << 20).size(), 0u);  // all three are being served now
  const auto start = Clock::now();
  server->stop();
  EXPECT_LT(Clock::now() - start, 2s);
  server.reset();  // frees the connections
  EXPECT_EQ(delayed.read(), "");
  EXPECT_TRUE(delayed.closed());
  EXPECT_EQ(silent.read(), "");
  EXPECT_TRUE(silent.closed());
  server = start_server(1);
  server->stop();
  server->stop();  // idempotent
}

}  // namespace
}  // namespace bm::demo
