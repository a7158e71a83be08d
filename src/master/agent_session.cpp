#include "master/agent_session.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <charconv>

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace bm::master {

using asio::use_awaitable;
using agent::FrameKind;

namespace {

template <class Number>
std::optional<Number> number(std::string_view text) {
  Number value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

AgentSession::~AgentSession() {
  if (child_ && reaper_.running(child_->pid)) ::kill(-child_->pid, SIGKILL);
}

bool AgentSession::start(const SpawnSpec& spec, std::string* error) {
  child_ = spawn_child(io_, reaper_, spec, error);
  return child_.has_value();
}

asio::awaitable<void> AgentSession::run() {
  asio::co_spawn(io_, read_errors(), asio::detached);
  char buffer[65536];
  while (true) {
    boost::system::error_code ec;
    const std::size_t n =
        co_await child_->out->async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
    if (n > 0) {
      reader_.feed(std::string_view(buffer, n));
      while (std::optional<agent::Frame> frame = reader_.next()) on_frame(*frame);
      if (!reader_.error().empty()) {
        // Not the agent speaking (a login banner on standard output, another program):
        // the session is of no use; its nodes are lost, and it is ended.
        kill();
        break;
      }
    }
    if (ec) break;
  }
  const int status = co_await reaper_.wait(child_->pid);
  boost::system::error_code ignored;
  child_->in->close(ignored);
  std::string why;
  if (!reader_.error().empty()) {
    why = "the host agent's session did not speak its protocol (" + reader_.error() + ")";
  } else {
    const std::string detail = last_error_line();
    const bool by_signal = WIFSIGNALED(status);
    why = by_signal ? fmt::format("the session to the host agent was ended (signal {})", WTERMSIG(status))
                    : fmt::format("the session to the host agent ended (exit {})", WEXITSTATUS(status));
    if (!detail.empty()) why += ": " + detail;
  }
  lose_all(why);
  over_ = true;
}

asio::awaitable<void> AgentSession::read_errors() {
  char buffer[4096];
  while (true) {
    boost::system::error_code ec;
    const std::size_t n =
        co_await child_->err->async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
    error_tail_.append(buffer, n);
    if (error_tail_.size() > 8192) error_tail_.erase(0, error_tail_.size() - 4096);
    if (ec) co_return;
  }
}

std::string AgentSession::last_error_line() const {
  std::string_view text = error_tail_;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  const std::size_t start = text.find_last_of('\n');
  return std::string(start == std::string_view::npos ? text : text.substr(start + 1));
}

void AgentSession::on_frame(const agent::Frame& frame) {
  if (frame.kind == FrameKind::agent) return;  // it is up: nothing waits for that word
  if (frame.kind == FrameKind::file || frame.kind == FrameKind::file_end || frame.kind == FrameKind::file_error) {
    on_file_frame(frame);
    return;
  }
  auto found = nodes_.find(frame.node);
  if (found == nodes_.end()) return;  // not a node of this run, or one that ended
  NodeEvents& events = found->second;
  switch (frame.kind) {
    case FrameKind::started:
      if (const auto pid = number<long long>(frame.text); pid && events.started) events.started(*pid);
      return;
    case FrameKind::out:
    case FrameKind::err:
      if (events.output) events.output(frame.text, frame.kind == FrameKind::out);
      return;
    case FrameKind::not_started:
    case FrameKind::ended: {
      const NodeEvents ended = std::move(events);
      nodes_.erase(found);
      if (frame.kind == FrameKind::not_started) {
        ended.ended(std::nullopt, frame.text);
      } else if (const auto status = number<int>(frame.text)) {
        ended.ended(*status, {});
      } else {
        ended.ended(std::nullopt, "the host agent gave no exit status");
      }
      return;
    }
    default:
      return;
  }
}

void AgentSession::lose_all(const std::string& why) {
  std::map<int, NodeEvents> lost;
  lost.swap(nodes_);
  for (auto& [num, events] : lost) events.ended(std::nullopt, why);
  std::vector<int> fetches;
  for (const auto& [id, fetch] : fetches_) fetches.push_back(id);
  for (int id : fetches) finish_fetch(id, why);
}

void AgentSession::on_file_frame(const agent::Frame& frame) {
  auto found = fetches_.find(frame.node);
  if (found == fetches_.end()) return;  // given up (timed out)
  Fetch& fetch = *found->second;
  if (frame.kind == FrameKind::file_error) return finish_fetch(frame.node, frame.text);
  if (frame.kind == FrameKind::file_end) return finish_fetch(frame.node, {});
  std::string_view rest = frame.text;
  while (fetch.error.empty() && !rest.empty()) {
    const ssize_t n = ::write(fetch.fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fetch.error = fmt::format("cannot write {}: {}", fetch.part.string(), std::strerror(n < 0 ? errno : ENOSPC));
      break;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void AgentSession::finish_fetch(int id, std::string error) {
  auto found = fetches_.find(id);
  if (found == fetches_.end()) return;
  std::shared_ptr<Fetch> fetch = found->second;
  fetches_.erase(found);
  if (error.empty()) error = fetch->error;
  if (fetch->fd >= 0 && ::close(fetch->fd) != 0 && error.empty()) {
    error = fmt::format("cannot write {}: {}", fetch->part.string(), std::strerror(errno));
  }
  fetch->fd = -1;
  std::error_code ec;
  if (error.empty()) {
    std::filesystem::rename(fetch->part, fetch->local, ec);
    if (ec) error = fmt::format("cannot move {} into place: {}", fetch->part.string(), ec.message());
  }
  if (!error.empty()) std::filesystem::remove(fetch->part, ec);
  fetch->error = std::move(error);
  fetch->done = true;
  fetch->signal->cancel();
}

asio::awaitable<std::string> AgentSession::fetch(const std::string& remote, const std::filesystem::path& local,
                                                 std::chrono::milliseconds timeout) {
  if (over_ || !child_ || ending_) co_return std::string("the session to the host agent has ended");
  auto fetch = std::make_shared<Fetch>();
  fetch->local = local;
  fetch->part = local;
  fetch->part += fmt::format(".part.{}", ::getpid());
  fetch->fd = ::open(fetch->part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fetch->fd < 0) co_return fmt::format("cannot write {}: {}", fetch->part.string(), std::strerror(errno));
  fetch->signal = std::make_shared<asio::steady_timer>(io_, timeout);
  const int id = next_fetch_++;
  fetches_[id] = fetch;
  queue(agent::encode_fetch(id, remote));
  boost::system::error_code ec;
  co_await fetch->signal->async_wait(asio::redirect_error(use_awaitable, ec));
  if (!fetch->done) finish_fetch(id, fmt::format("{}: not received within {} s", remote, timeout.count() / 1000));
  co_return fetch->error;
}

void AgentSession::start_node(int num, const agent::StartRequest& request, NodeEvents events) {
  if (over_) {
    events.ended(std::nullopt, "the session to the host agent has ended");
    return;
  }
  nodes_[num] = std::move(events);
  queue(agent::encode_start(num, request));
}

void AgentSession::send(int num, std::string_view bytes) {
  if (!nodes_.contains(num)) return;
  while (!bytes.empty()) {
    const std::string_view piece = bytes.substr(0, agent::kMaxFrameData);
    queue(agent::encode_frame(FrameKind::in, num, piece));
    bytes.remove_prefix(piece.size());
  }
}

void AgentSession::close_input(int num) {
  if (nodes_.contains(num)) queue(agent::encode_frame(FrameKind::close, num, {}));
}

void AgentSession::signal(int num, std::string_view name) {
  if (nodes_.contains(num)) queue(agent::encode_frame(FrameKind::signal, num, name));
}

void AgentSession::end() {
  ending_ = true;
  if (!writing_ && child_ && child_->in->is_open()) {
    boost::system::error_code ignored;
    child_->in->close(ignored);
  }
}

void AgentSession::kill() {
  if (child_ && reaper_.running(child_->pid)) ::kill(-child_->pid, SIGKILL);
}

void AgentSession::queue(std::string frame) {
  if (!child_ || ending_ || !child_->in->is_open()) return;
  queued_.push_back(std::move(frame));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(io_, write_queued(), asio::detached);
  }
}

// One writer at a time: frames from several nodes must not interleave on the pipe.
asio::awaitable<void> AgentSession::write_queued() {
  while (!queued_.empty() && child_->in->is_open()) {
    const std::string frame = std::move(queued_.front());
    queued_.pop_front();
    boost::system::error_code ec;
    co_await asio::async_write(*child_->in, asio::buffer(frame), asio::redirect_error(use_awaitable, ec));
    if (ec) {
      queued_.clear();  // the session is going: run() sees its end
      break;
    }
  }
  writing_ = false;
  if (ending_ && child_->in->is_open()) {
    boost::system::error_code ignored;
    child_->in->close(ignored);
  }
}

}  // namespace bm::master
