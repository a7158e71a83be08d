#pragma once
// Readiness of the plain-TCP connections of one worker, in an epoll set of their own.
//
// Asio's reactor re-arms a descriptor (epoll_ctl MOD) on every async_wait, and its
// async_read_some tries a read that nearly always fails right after the request was
// sent: either way a keep-alive request costs three system calls. Here a socket is
// registered once, edge-triggered for input and output, and stays registered while it
// is open, so a request costs one send and one recv, plus a share of one epoll_wait.
// The set itself is one descriptor in the worker's Asio loop, re-armed once per batch
// of events, so timers, TLS and posted work keep running on the same thread.
#include <sys/epoll.h>

#include <array>
#include <cstdint>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace bm::engine {

class ReadyPoller {
 public:
  // Told which edges a socket went through: EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP,
  // EPOLLERR. An edge may be stale (the socket was read meanwhile): a watcher reads or
  // writes until EAGAIN, it never assumes that an edge means data.
  class Watcher {
   public:
    virtual void on_ready(uint32_t events) = 0;

   protected:
    ~Watcher() = default;
  };

  explicit ReadyPoller(boost::asio::io_context& io);
  ~ReadyPoller();
  ReadyPoller(const ReadyPoller&) = delete;
  ReadyPoller& operator=(const ReadyPoller&) = delete;

  // Watches a socket until remove(). Returns 0 or an errno value.
  int add(int fd, Watcher* watcher);
  // Forgets a socket before it is closed (a descriptor shared with a child process
  // would otherwise stay in the set and report edges for a watcher that is gone).
  void remove(int fd);

 private:
  void arm();
  void on_set_ready();

  int epoll_fd_ = -1;
  int create_error_ = 0;
  boost::asio::posix::stream_descriptor set_;
  bool armed_ = false;
  std::array<epoll_event, 256> events_{};
};

}  // namespace bm::engine
