#include "engine/ready_poller.hpp"

#include <unistd.h>

#include <cerrno>

#include <boost/asio/post.hpp>

namespace bm::engine {

ReadyPoller::ReadyPoller(boost::asio::io_context& io) : set_(io) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    create_error_ = errno;  // reported by add(), where a connection can fail cleanly
    return;
  }
  boost::system::error_code ec;
  set_.assign(epoll_fd_, ec);
  if (ec) {
    ::close(epoll_fd_);
    epoll_fd_ = -1;
    create_error_ = ec.value();
  }
}

// The stream descriptor owns the epoll descriptor and closes it.
ReadyPoller::~ReadyPoller() = default;

int ReadyPoller::add(int fd, Watcher* watcher) {
  if (epoll_fd_ < 0) return create_error_;
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = watcher;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) return errno;
  if (!armed_) arm();
  return 0;
}

void ReadyPoller::remove(int fd) {
  if (epoll_fd_ >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void ReadyPoller::arm() {
  armed_ = true;
  set_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    armed_ = false;
    if (ec) return;  // the loop is shutting down
    on_set_ready();
  });
}

// One batch per turn of the worker's loop. After a full batch, whatever is left is
// read on the next turn (posted, so work posted before it runs first); looping here
// until a batch came back short starved posted work (stop, window end, harvest) and
// timers for seconds at 10,000 users. A short batch emptied the ready list: wait for
// the set's next edge.
void ReadyPoller::on_set_ready() {
  int n;
  do {
    n = ::epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), 0);
  } while (n < 0 && errno == EINTR);
  for (int i = 0; i < n; ++i) static_cast<Watcher*>(events_[i].data.ptr)->on_ready(events_[i].events);
  if (n == static_cast<int>(events_.size())) {
    armed_ = true;  // on_set_ready is due: add() must not arm a second wait
    boost::asio::post(set_.get_executor(), [this] {
      armed_ = false;
      on_set_ready();
    });
    return;
  }
  arm();
}

}  // namespace bm::engine
