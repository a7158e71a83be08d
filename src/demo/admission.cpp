#include "demo/admission.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bm::demo {

namespace asio = boost::asio;

asio::awaitable<void> Admission::acquire() {
  std::shared_ptr<asio::steady_timer> timer;
  {
    std::lock_guard lock(mutex_);
    if (limit_ <= 0 || active_ < limit_) {
      ++active_;
      co_return;
    }
    timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                 asio::steady_timer::time_point::max());
    waiters_.push_back(timer);
  }
  // release() moves the expiry to the past on this connection's strand: the wait ends
  // (aborted, or at once if it had not begun) and the slot it frees is ours.
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
}

void Admission::release() {
  std::shared_ptr<asio::steady_timer> next;
  {
    std::lock_guard lock(mutex_);
    if (waiters_.empty()) {
      --active_;
      return;
    }
    next = std::move(waiters_.front());
    waiters_.pop_front();
  }
  asio::post(next->get_executor(), [next] { next->expires_at(asio::steady_timer::time_point::min()); });
}

}  // namespace bm::demo
