#pragma once
// At most N requests served at once (demo-server --max-concurrent): the others wait,
// first come first served, as a server with N worker processes would make them. Gives
// tests a target with a known capacity, so the knee of a run is known in advance.
#include <deque>
#include <memory>
#include <mutex>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace bm::demo {

class Admission {
 public:
  // 0: no limit (the default).
  void set_limit(int limit) { limit_ = limit; }
  int limit() const { return limit_; }
  // Returns once the request may be served; each completed acquire() needs a release().
  boost::asio::awaitable<void> acquire();
  // Frees the slot, handing it to the oldest waiter if there is one.
  void release();

 private:
  std::mutex mutex_;
  int limit_ = 0;
  int active_ = 0;
  std::deque<std::shared_ptr<boost::asio::steady_timer>> waiters_;  // under mutex_
};

// Releases a slot when the request's coroutine leaves its scope, however it leaves.
class AdmissionSlot {
 public:
  AdmissionSlot() = default;
  explicit AdmissionSlot(Admission* admission) : admission_(admission) {}
  AdmissionSlot(const AdmissionSlot&) = delete;
  AdmissionSlot& operator=(const AdmissionSlot&) = delete;
  ~AdmissionSlot() {
    if (admission_ != nullptr) admission_->release();
  }

 private:
  Admission* admission_ = nullptr;
};

}  // namespace bm::demo
