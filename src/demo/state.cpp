#include "demo/state.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace bm::demo {

DemoState::DemoState() : random_(std::random_device{}()) {}

std::string DemoState::random_token() {
  std::lock_guard lock(random_mutex_);
  return fmt::format("{:016x}{:016x}", random_(), random_());
}

std::string DemoState::open_session(std::string_view user) {
  std::string id = random_token();
  std::lock_guard lock(sessions_mutex_);
  sessions_[id] = Session{std::string(user), 0};
  auto account = session_log_.accounts.find(user);
  if (account == session_log_.accounts.end()) account = session_log_.accounts.emplace(std::string(user), AccountSessions{}).first;
  if (account->second.open > 0) ++session_log_.overlaps;
  ++account->second.sessions;
  account->second.max_open = std::max(account->second.max_open, ++account->second.open);
  return id;
}

std::optional<DemoState::Session> DemoState::session(std::string_view id) const {
  std::lock_guard lock(sessions_mutex_);
  auto it = sessions_.find(std::string(id));
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

std::optional<int> DemoState::add_to_cart(std::string_view id, int quantity) {
  std::lock_guard lock(sessions_mutex_);
  auto it = sessions_.find(std::string(id));
  if (it == sessions_.end()) return std::nullopt;
  it->second.cart_count += quantity;
  return it->second.cart_count;
}

void DemoState::close_session(std::string_view id) {
  std::lock_guard lock(sessions_mutex_);
  const auto it = sessions_.find(std::string(id));
  if (it == sessions_.end()) return;
  if (auto account = session_log_.accounts.find(it->second.user); account != session_log_.accounts.end()) {
    --account->second.open;
  }
  sessions_.erase(it);
}

DemoState::SessionLog DemoState::session_log() const {
  std::lock_guard lock(sessions_mutex_);
  return session_log_;
}

std::uint64_t DemoState::count(std::string_view path) {
  std::lock_guard lock(counts_mutex_);
  ++counts_.total;
  auto it = counts_.by_path.find(path);
  if (it == counts_.by_path.end()) it = counts_.by_path.emplace(std::string(path), 0).first;
  ++it->second;
  return counts_epoch_;
}

void DemoState::uncount(std::string_view path, std::uint64_t epoch) {
  std::lock_guard lock(counts_mutex_);
  auto it = counts_.by_path.find(path);
  if (epoch != counts_epoch_ || it == counts_.by_path.end()) return;
  --counts_.total;
  if (--it->second == 0) counts_.by_path.erase(it);
}

DemoState::Counts DemoState::counts() const {
  std::lock_guard lock(counts_mutex_);
  return counts_;
}

void DemoState::reset() {
  {
    std::lock_guard lock(counts_mutex_);
    counts_ = Counts{};
    ++counts_epoch_;
  }
  {
    std::lock_guard lock(sequences_mutex_);
    sequences_.clear();
  }
  std::lock_guard lock(sessions_mutex_);
  session_log_ = SessionLog{};
  for (const auto& [id, session] : sessions_) {
    AccountSessions& account = session_log_.accounts[session.user];
    account.max_open = ++account.open;  // still open: a later login with it overlaps
  }
}

std::uint64_t DemoState::next_sequence_index(std::string_view values) {
  std::lock_guard lock(sequences_mutex_);
  return sequences_[std::string(values)]++;
}

}  // namespace bm::demo
