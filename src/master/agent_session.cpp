#include "master/agent_session.hpp"

#include <signal.h>
#include <sys/wait.h>

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
  if (frame.kind == FrameKind::agent) {
    up_ = true;
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
