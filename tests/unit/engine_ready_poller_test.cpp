// The worker's epoll set for plain sockets, on socket pairs and a real io_context: edges
// reach the right watcher through the Asio loop, a removed socket reports nothing, and a
// peer that hangs up is told apart from one that only sent data.
#include "engine/ready_poller.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/post.hpp>

namespace {

using bm::engine::ReadyPoller;

class SocketPair {
 public:
  SocketPair() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_.data()) != 0) fds_ = {-1, -1};
  }
  ~SocketPair() {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  int watched() const { return fds_[0]; }
  int peer() const { return fds_[1]; }
  void send_from_peer(const char* text) const { ASSERT_GT(::write(fds_[1], text, std::strlen(text)), 0); }
  void close_peer() {
    ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  std::array<int, 2> fds_{};
};

struct RecordingWatcher final : ReadyPoller::Watcher {
  void on_ready(uint32_t events) override {
    ++calls;
    seen |= events;
  }
  int calls = 0;
  uint32_t seen = 0;
};

// Runs the loop until `done` holds; a bound on the wait only keeps a broken build from
// hanging, the events themselves end the loop.
void run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < give_up) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
}

// Two socket pairs watched by one poller, past the writable edge a fresh socket reports.
class ReadyPollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(poller.add(first.watched(), &on_first), 0);
    ASSERT_EQ(poller.add(second.watched(), &on_second), 0);
    run_until(io, [&] { return on_first.calls > 0 && on_second.calls > 0; });
    forget_calls();
  }
  void forget_calls() { on_first = on_second = {}; }

  boost::asio::io_context io;
  ReadyPoller poller{io};
  SocketPair first, second;
  RecordingWatcher on_first, on_second;
};

TEST_F(ReadyPollerTest, InputReachesItsWatcherThroughTheLoop) {
  second.send_from_peer("hello");
  run_until(io, [&] { return on_second.calls > 0; });
  EXPECT_EQ(on_second.calls, 1);
  EXPECT_TRUE(on_second.seen & EPOLLIN);
  EXPECT_FALSE(on_second.seen & EPOLLRDHUP);
  EXPECT_EQ(on_first.calls, 0);  // nothing came for the first
}

TEST_F(ReadyPollerTest, EdgesDoNotRepeatUntilMoreDataComes) {
  first.send_from_peer("unread");  // left unread: edge-triggered, it is reported once
  run_until(io, [&] { return on_first.calls > 0; });
  forget_calls();
  second.send_from_peer("m");  // another socket's edge drives the loop once more
  run_until(io, [&] { return on_second.calls > 0; });
  EXPECT_EQ(on_first.calls, 0);

  first.send_from_peer("more");  // new data: a new edge
  run_until(io, [&] { return on_first.calls > 0; });
  EXPECT_EQ(on_first.calls, 1);
}

TEST_F(ReadyPollerTest, ARemovedSocketReportsNothing) {
  poller.remove(first.watched());
  first.send_from_peer("ignored");
  second.send_from_peer("seen");  // sent after: its edge ends the wait
  run_until(io, [&] { return on_second.calls > 0; });
  EXPECT_EQ(on_second.calls, 1);
  EXPECT_EQ(on_first.calls, 0);
}

TEST_F(ReadyPollerTest, APeerThatHangsUpIsReported) {
  first.close_peer();
  run_until(io, [&] { return on_first.calls > 0; });
  EXPECT_TRUE(on_first.seen & (EPOLLRDHUP | EPOLLHUP));
}

// A socket that is ready again as soon as it has been read: its peer answers every read,
// as a fast server answers every request.
struct EchoingWatcher final : ReadyPoller::Watcher {
  void on_ready(uint32_t) override {
    char buffer[64];
    while (::read(pair->watched(), buffer, sizeof buffer) > 0) {
    }
    ++*calls;
    if (on_call) on_call();
    if (*calls < limit) pair->send_from_peer("x");
  }
  std::function<void()> on_call;
  SocketPair* pair = nullptr;
  int* calls = nullptr;
  int limit = 0;
};

// More sockets ready than one batch holds, and all of them ready again at once: work
// posted to the loop (a stop, a window end) must run after the batch in hand, not after
// the sockets go quiet.
TEST(ReadyPollerFairness, PostedWorkRunsBetweenFullBatches) {
  constexpr int kSockets = 600, kLimit = 100'000;
  boost::asio::io_context io;
  ReadyPoller poller{io};
  std::vector<std::unique_ptr<SocketPair>> pairs;
  std::vector<EchoingWatcher> watchers(kSockets);
  int calls = 0;
  for (int i = 0; i < kSockets; ++i) {
    pairs.push_back(std::make_unique<SocketPair>());
    watchers[i].pair = pairs.back().get();
    watchers[i].calls = &calls;
    watchers[i].limit = kLimit;
    ASSERT_EQ(poller.add(pairs.back()->watched(), &watchers[i]), 0);
    pairs.back()->send_from_peer("x");
  }
  // Posted from inside the busy loop, as the main thread posts while users run.
  int posted_at = -1, calls_when_posted_ran = -1;
  for (auto& watcher : watchers) watcher.on_call = [&] {
    if (posted_at < 0 && calls >= 3 * kSockets) {
      posted_at = calls;
      boost::asio::post(io, [&] { calls_when_posted_ran = calls; });
    }
  };
  run_until(io, [&] { return calls_when_posted_ran >= 0; });
  ASSERT_GE(posted_at, 0);
  ASSERT_GE(calls_when_posted_ran, 0);
  const int before = posted_at;
  // At most the batch in hand and the one after it.
  EXPECT_LE(calls_when_posted_ran - before, 2 * 256);
}

}  // namespace
