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

TEST(ReadyPoller, InputReachesItsWatcherThroughTheLoop) {
  boost::asio::io_context io;
  ReadyPoller poller(io);
  SocketPair a, b;
  RecordingWatcher wa, wb;
  ASSERT_EQ(poller.add(a.watched(), &wa), 0);
  ASSERT_EQ(poller.add(b.watched(), &wb), 0);
  run_until(io, [&] { return wa.calls > 0; });  // a fresh socket is writable: one edge each
  run_until(io, [&] { return wb.calls > 0; });
  wa = {};
  wb = {};

  b.send_from_peer("hello");
  run_until(io, [&] { return wb.calls > 0; });
  EXPECT_EQ(wb.calls, 1);
  EXPECT_TRUE(wb.seen & EPOLLIN);
  EXPECT_FALSE(wb.seen & EPOLLRDHUP);
  EXPECT_EQ(wa.calls, 0);  // nothing came for a
}

TEST(ReadyPoller, EdgesDoNotRepeatUntilMoreDataComes) {
  boost::asio::io_context io;
  ReadyPoller poller(io);
  SocketPair a, marker;
  RecordingWatcher wa, wm;
  ASSERT_EQ(poller.add(a.watched(), &wa), 0);
  ASSERT_EQ(poller.add(marker.watched(), &wm), 0);
  run_until(io, [&] { return wa.calls > 0 && wm.calls > 0; });
  wa = {};
  wm = {};

  a.send_from_peer("unread");  // left unread: edge-triggered, it is reported once
  run_until(io, [&] { return wa.calls > 0; });
  wa = {};
  wm = {};
  marker.send_from_peer("m");  // another socket's edge drives the loop once more
  run_until(io, [&] { return wm.calls > 0; });
  EXPECT_EQ(wa.calls, 0);

  a.send_from_peer("more");  // new data: a new edge
  run_until(io, [&] { return wa.calls > 0; });
  EXPECT_EQ(wa.calls, 1);
}

TEST(ReadyPoller, ARemovedSocketReportsNothing) {
  boost::asio::io_context io;
  ReadyPoller poller(io);
  SocketPair gone, marker;
  RecordingWatcher wg, wm;
  ASSERT_EQ(poller.add(gone.watched(), &wg), 0);
  ASSERT_EQ(poller.add(marker.watched(), &wm), 0);
  run_until(io, [&] { return wg.calls > 0 && wm.calls > 0; });
  wg = {};
  wm = {};

  poller.remove(gone.watched());
  gone.send_from_peer("ignored");
  marker.send_from_peer("seen");  // sent after: its edge ends the wait
  run_until(io, [&] { return wm.calls > 0; });
  EXPECT_EQ(wm.calls, 1);
  EXPECT_EQ(wg.calls, 0);
}

TEST(ReadyPoller, APeerThatHangsUpIsReported) {
  boost::asio::io_context io;
  ReadyPoller poller(io);
  SocketPair a;
  RecordingWatcher wa;
  ASSERT_EQ(poller.add(a.watched(), &wa), 0);
  run_until(io, [&] { return wa.calls > 0; });
  wa = {};

  a.close_peer();
  run_until(io, [&] { return wa.calls > 0; });
  EXPECT_TRUE(wa.seen & (EPOLLRDHUP | EPOLLHUP));
}

}  // namespace
