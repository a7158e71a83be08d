// The credential server and its client over real loopback sockets.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "credential/credential_client.hpp"
#include "credential/credential_server.hpp"
#include "test_folder.hpp"

namespace bm::credential {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

class CredentialServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(folder.path() / "passwords.txt") << "user1:pass1\nuser2:pass2\nuser3:pass3\n";
    std::ofstream(folder.path() / "groups.txt") << "pair:user1, user2\nsolo:user3\n";
    CredentialServerOptions options;
    options.port = 0;
    options.credentials_file = folder.path() / "passwords.txt";
    options.groups_file = folder.path() / "groups.txt";
    options.lease_s = 30;
    std::string error;
    server = CredentialServer::create(options, &error);
    ASSERT_TRUE(server) << error;
    server->start();
  }

  // One call, run to its end on an io_context of its own.
  ClientReply call(bool post, const std::string& target, std::chrono::milliseconds timeout = 5s) {
    asio::io_context io;
    CredentialClient client(io, "127.0.0.1", server->port());
    ClientReply reply;
    client.call(post, target, timeout, [&](ClientReply r) { reply = std::move(r); });
    io.run();
    return reply;
  }

  testing::TestFolder folder{"credential-server"};
  std::unique_ptr<CredentialServer> server;
};

TEST_F(CredentialServerTest, HandsOutRoundRobinListsAndCounts) {
  EXPECT_EQ(server->summary(), "3 logins, 2 groups");
  EXPECT_EQ(call(false, "/credential?group=pair").body["login"], "user1");
  EXPECT_EQ(call(false, "/credential?group=pair").body["login"], "user2");
  EXPECT_EQ(call(false, "/credential?group=pair").body["login"], "user1");
  const ClientReply solo_reply = call(false, "/credentials?group=solo");
  const nlohmann::json solo = solo_reply.body;
  EXPECT_EQ(solo_reply.error, "");
  EXPECT_EQ(solo, nlohmann::json::parse(R"({"group": "solo", "credentials": [{"login": "user3", "password": "pass3"}]})"));
  EXPECT_EQ(call(false, "/groups").body["groups"], nlohmann::json({"pair", "solo"}));
  EXPECT_EQ(call(false, "/seq").body["seq"], 1);
  EXPECT_EQ(call(false, "/seq").body["seq"], 2);
  const ClientReply unknown = call(false, "/credential?group=nobody");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.error.find("no group 'nobody' (groups: pair, solo)"), std::string::npos) << unknown.error;
  EXPECT_EQ(call(false, "/lease?group=pair").status, 405) << "a lease changes state: POST only";
  EXPECT_EQ(call(true, "/lease?group=pair&wait=abc").status, 400);
}

TEST_F(CredentialServerTest, ALeaseWaitsForARelease) {
  const ClientReply first = call(true, "/lease?group=solo");
  ASSERT_TRUE(first.error.empty()) << first.error;
  EXPECT_EQ(first.body["login"], "user3");

  // None free, no wait: a clear error at once.
  const ClientReply busy = call(true, "/lease?group=solo");
  EXPECT_EQ(busy.status, 503);
  EXPECT_NE(busy.error.find("no free credential in group 'solo' after 0 s (1 of 1 held)"), std::string::npos)
      << busy.error;

  // A waiting client gets it as soon as it is released.
  asio::io_context io;
  CredentialClient client(io, "127.0.0.1", server->port());
  ClientReply waited, released;
  client.call(true, "/lease?group=solo&wait=20", 25s, [&](ClientReply r) {
    waited = std::move(r);
  });
  // Released once the server holds the waiter: /status shows it waiting.
  std::function<void()> release_when_waiting = [&] {
    client.call(false, "/status", 5s, [&](ClientReply status) {
      if (status.body["groups"][2]["waiting"] == 1) {
        client.call(true, "/release?lease=" + first.body["lease"].get<std::string>(), 5s,
                    [&](ClientReply r) { released = std::move(r); });
      } else {
        release_when_waiting();
      }
    });
  };
  release_when_waiting();
  const auto begin = std::chrono::steady_clock::now();
  io.run();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s) << "the wait ended with the release, not its timeout";
  EXPECT_EQ(released.body["released"], 1);
  ASSERT_TRUE(waited.error.empty()) << waited.error;
  EXPECT_EQ(waited.body["login"], "user3");
  EXPECT_NE(waited.body["lease"], first.body["lease"]);
}

TEST_F(CredentialServerTest, AWaitEndsWithAClearErrorAndLeasesExpire) {
  const ClientReply held = call(true, "/lease?group=solo&ttl=0.5");
  ASSERT_TRUE(held.error.empty()) << held.error;
  // Held, then expired: a client waiting longer than the lease gets it.
  const ClientReply after_expiry = call(true, "/lease?group=solo&wait=10", 15s);
  ASSERT_TRUE(after_expiry.error.empty()) << after_expiry.error;
  EXPECT_EQ(after_expiry.body["login"], "user3");
  const ClientReply unknown = call(true, "/release?lease=" + held.body["lease"].get<std::string>());
  EXPECT_EQ(unknown.body["unknown"], 1) << "the expired lease is gone";
  // Waiting past the wait: 503 with the reason.
  const ClientReply timed_out = call(true, "/lease?group=solo&wait=0.3", 5s);
  EXPECT_EQ(timed_out.status, 503);
  EXPECT_NE(timed_out.error.find("after 0.3 s"), std::string::npos) << timed_out.error;
  EXPECT_EQ(call(false, "/status").body["groups"][2]["expired"], 1);
}

TEST_F(CredentialServerTest, AClientThatLeavesMidWaitCostsNothing) {
  const ClientReply held = call(true, "/lease?group=solo");
  ASSERT_TRUE(held.error.empty());
  {
    asio::io_context io;
    CredentialClient client(io, "127.0.0.1", server->port());
    bool called = false;
    auto pending = client.call(true, "/lease?group=solo&wait=30", 35s, [&](ClientReply) { called = true; });
    // Give the request time to be sent, then hang up.
    io.run_for(300ms);
    pending->cancel();
    io.run();
    EXPECT_FALSE(called) << "a cancelled call does not call back";
  }
  // The server notices the hang-up: the waiter is gone long before its 30 s.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (call(false, "/status").body["groups"][2]["waiting"] != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the waiter that left is still waiting";
    std::this_thread::sleep_for(20ms);
  }
  // So the login released now goes to no one.
  EXPECT_EQ(call(true, "/release?lease=" + held.body["lease"].get<std::string>()).body["released"], 1);
  EXPECT_EQ(call(false, "/status").body["held"], 0);
}

// The race a stopping bench runs into: the server hands the login to a waiting call just
// as that call is cancelled. The answer is already on its way; the client must read it and
// give the lease back, or it stays held until its time runs out.
TEST_F(CredentialServerTest, ALeaseGrantedAsItsCallIsCancelledGoesBack) {
  const ClientReply held = call(true, "/lease?group=solo");
  ASSERT_TRUE(held.error.empty()) << held.error;
  asio::io_context io;
  CredentialClient client(io, "127.0.0.1", server->port());
  bool called = false;
  auto pending = client.call(true, "/lease?group=solo&wait=30", 35s, [&](ClientReply) { called = true; });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (call(false, "/status").body["groups"][2]["waiting"] != 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the call never waited";
    io.run_for(20ms);
  }
  // Released while the client's loop is not running: the server grants the waiter and
  // writes its answer, which nobody has read yet.
  EXPECT_EQ(call(true, "/release?lease=" + held.body["lease"].get<std::string>()).body["released"], 1);
  nlohmann::json status = call(false, "/status").body;
  ASSERT_EQ(status["held"], 1) << status;
  ASSERT_EQ(status["groups"][2]["waiting"], 0) << status;
  pending->cancel();
  io.run();
  EXPECT_FALSE(called) << "a cancelled call does not call back";
  status = call(false, "/status").body;
  EXPECT_EQ(status["held"], 0) << "the lease the cancelled call was given went back: " << status;
}

TEST_F(CredentialServerTest, HostileRequestsGetErrorsAndTheServerGoesOn) {
  for (const std::string& raw : {std::string("GARBAGE\r\n\r\n"), std::string("GET /credential?group=%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
                                "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n",
                                std::string("POST /lease HTTP/1.1\r\nContent-Length: 100000\r\n\r\n")}) {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), server->port()});
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(raw), ec);
    std::string answer(200, '\0');
    const std::size_t n = socket.read_some(asio::buffer(answer), ec);
    answer.resize(n);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 4")) << answer;
  }
  EXPECT_EQ(call(false, "/credential?group=solo").body["login"], "user3");
}

TEST(CredentialClient, ServerDownIsAnErrorNotAHang) {
  // A port nothing listens on: bind one, close it.
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = probe.local_endpoint().port();
  probe.close();
  CredentialClient client(io, "127.0.0.1", port);
  ClientReply reply;
  client.call(true, "/lease", 2s, [&](ClientReply r) { reply = std::move(r); });
  io.run();
  EXPECT_EQ(reply.status, 0);
  EXPECT_EQ(reply.error, "credential server 127.0.0.1:" + std::to_string(port) + ": connect: Connection refused");
}

TEST(CredentialServer, BadFilesAreOneLine) {
  testing::TestFolder folder("credential-bad");
  std::ofstream(folder.path() / "passwords.txt") << "ok:1\nbroken\n";
  CredentialServerOptions options;
  options.port = 0;
  options.credentials_file = folder.path() / "passwords.txt";
  std::string error;
  EXPECT_FALSE(CredentialServer::create(options, &error));
  EXPECT_EQ(error, (folder.path() / "passwords.txt").string() + ":2: expected login:password");
}

}  // namespace
}  // namespace bm::credential
