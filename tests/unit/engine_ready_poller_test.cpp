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

}  // namespace
