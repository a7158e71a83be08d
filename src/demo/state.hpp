// What the demo server remembers across requests: sessions, the request counter and the
// /seq-delay positions. Shared by every connection thread; nothing here is on a path that
// is measured, so plain mutexes are fine.
#pragma once

#include <cstdint>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>

#include "demo/admission.hpp"

namespace bm::demo {

class DemoState {
 public:
  DemoState();

  struct Session {
    std::string user;
    int cart_count = 0;
  };

  // The session log per account: how many sessions each login opened, how many are open,
  // the most open at once, and `overlaps`: logins made while the same account already had
  // a session open (what a load test that shares accounts between users causes).
  struct AccountSessions {
    std::uint64_t sessions = 0;
    int open = 0, max_open = 0;
  };
  struct SessionLog {
    std::map<std::string, AccountSessions, std::less<>> accounts;  // sorted: stable JSON
    std::uint64_t overlaps = 0;
  };
  SessionLog session_log() const;

  // A new session for `user`; returns its id (32 hex digits).
  std::string open_session(std::string_view user);
  std::optional<Session> session(std::string_view id) const;
  // Adds to the session's cart; returns the new count, or nullopt for an unknown session.
  std::optional<int> add_to_cart(std::string_view id, int quantity);
  void close_session(std::string_view id);
  // 32 random hex digits (session ids, form tokens).
  std::string random_token();

  // Counts one request under its path as its response starts being written; returns the
  // counter's epoch, which uncount() needs when the write then fails.
  std::uint64_t count(std::string_view path);
  // Takes back a count() whose response could not be written in full; ignored when the
  // counter was reset in between.
  void uncount(std::string_view path, std::uint64_t epoch);
  struct Counts {
    std::uint64_t total = 0;
    std::map<std::string, std::uint64_t, std::less<>> by_path;  // sorted: stable JSON
  };
  Counts counts() const;
  // Clears the counter, the /seq-delay positions and the session log.
  void reset();

  // The k-th call for one `values` string returns k (0, 1, 2, ...), server-wide.
  std::uint64_t next_sequence_index(std::string_view values);

  // POST /switch?fail=1: every request but the control ones answers 503 until fail=0.
  void set_failing(bool failing) { failing_.store(failing); }
  bool failing() const { return failing_.load(); }
  // POST /switch?stall=MS: for MS milliseconds from now, no request but the control ones
  // is answered; each is held until the stall ends (then answered as usual).
  void stall_for(std::chrono::milliseconds duration) {
    stall_until_ns_.store(steady_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count());
  }
  // How long a reply due now must still wait; 0 when no stall is on.
  std::chrono::nanoseconds stall_left() const {
    return std::chrono::nanoseconds(std::max<int64_t>(0, stall_until_ns_.load() - steady_ns()));
  }

  // --max-concurrent: requests served at once (control endpoints excepted).
  Admission admission;

 private:
  mutable std::mutex sessions_mutex_;
  std::unordered_map<std::string, Session> sessions_;
  SessionLog session_log_;  // under sessions_mutex_
  std::mutex random_mutex_;
  std::mt19937_64 random_;

  mutable std::mutex counts_mutex_;
  Counts counts_;
  std::uint64_t counts_epoch_ = 0;  // advanced by reset()

  static int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::atomic<bool> failing_{false};
  std::atomic<int64_t> stall_until_ns_{0};
  std::mutex sequences_mutex_;
  std::unordered_map<std::string, std::uint64_t> sequences_;
};

}  // namespace bm::demo
