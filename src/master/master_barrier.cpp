// bench-master's side of the node protocol while nodes run: their output lines, and the
// cycle barrier that starts every cycle after the first on every node at once
// (docs/distributed.md#cycles-in-step).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <variant>

#include <boost/asio/write.hpp>

#include "common/format.hpp"
#include "master/master_run.hpp"
#include "report/verdict.hpp"

namespace bm::master::run_detail {

void MasterRun::on_output_line(Node& node, std::string_view line) {
  const protocol::Message message = protocol::parse_line(line);
  if (const auto* point = std::get_if<stats::SeriesPoint>(&message)) {
    stats::SeriesPoint shifted = *point;
    shifted.t -= stats::offset_seconds(node.host->clock_offset_us);
    if (live_) live_->add(shifted);
  } else if (const auto* hello = std::get_if<protocol::NodeHello>(&message)) {
    node.node_pid = hello->pid;
    node.last_heard = std::chrono::steady_clock::now();  // the heartbeat watch starts here
    up_.cancel();  // wait_until_up() looks again
  } else if (const auto* done = std::get_if<protocol::CycleDone>(&message)) {
    on_cycle_done(node, *done);
  } else if (const auto* exit = std::get_if<protocol::ExitCode>(&message)) {
    node.reported_exit = exit->code;
  } else if (const auto* report = std::get_if<protocol::CycleReport>(&message)) {
    node.cycle_reports[report->cycle.index] = report->cycle;
  }
}

// How far ahead of now a start time is sent: the slowest round trip twice over, and
// 100 ms for the node to wake and start its users.
int64_t MasterRun::go_margin_us() const {
  int64_t slowest_rtt = 0;
  for (const auto& [name, host] : hosts_) slowest_rtt = std::max(slowest_rtt, host.clock_rtt_us);
  return 100'000 + 2 * slowest_rtt;
}

void MasterRun::on_cycle_done(Node& node, const protocol::CycleDone& done) {
  if (done.cycle + 1 <= node.cycles_done) return;
  node.cycles_done = done.cycle + 1;
  node.last_drain_end_us = done.end_epoch_us - node.host->clock_offset_us;
  const int next = done.cycle + 1;
  if (!stop_reason_.empty()) {  // the run was ended while this node drained
    send_line(node, protocol::end_line({stop_reason_}));
    return;
  }
  if (next <= released_cycle_ && node.released_to < next) {
    // Late: the others started without it. It starts at once (or at their start time
    // if that is still ahead); its window is out of step and the report says so.
    const int64_t start = std::max(wall_now_us() + go_margin_us(), cycle_starts_us_[next]);
    send_go(node, next, start);
    return;
  }
  check_barrier();
}

MasterRun::Readiness MasterRun::readiness(int cycle) {
  Readiness r;
  for (auto& node : nodes_) {
    if (node.phase != NodePhase::running) continue;
    if (node.cycles_done >= cycle) {
      r.ready.push_back(&node);
      r.last_drain_end_us = std::max(r.last_drain_end_us, node.last_drain_end_us);
    } else {
      r.draining.push_back(&node);
    }
  }
  return r;
}

// Starts `cycle` on the ready nodes: cycle_time after the last drain, as one node would
// pause, and far enough ahead for every node to hear of it.
void MasterRun::release(int cycle, const Readiness& readiness) {
  const int64_t start = std::max(wall_now_us() + go_margin_us(),
                                 readiness.last_drain_end_us + static_cast<int64_t>(options_.cycle_time_s * 1e6));
  released_cycle_ = cycle;
  cycle_starts_us_[cycle] = start;
  for (Node* node : readiness.ready) send_go(*node, cycle, start);
}

void MasterRun::check_barrier() {
  if (!running_phase_ || stopping_ || !stop_reason_.empty()) return;
  const int next = released_cycle_ + 1;
  if (next >= options_.cycle_count) return;
  const Readiness now = readiness(next);
  if (now.ready.empty()) return;
  if (!now.draining.empty()) {
    if (barrier_timer_cycle_ != next) {
      barrier_timer_cycle_ = next;
      asio::co_spawn(io_, barrier_timeout(next), rethrow);
    }
    return;
  }
  barrier_timer_.cancel();
  if (options_.verdict.abort_on_fail) {
    if (std::string reason = judge_cycle(next - 1, now); !reason.empty()) {
      end_run(reason);
      return;
    }
  }
  release(next, now);
}

std::string MasterRun::judge_cycle(int cycle, const Readiness& readiness) {
  std::optional<stats::CycleResults> merged;
  for (const Node* node : readiness.ready) {
    auto it = node->cycle_reports.find(cycle);
    if (it == node->cycle_reports.end()) continue;  // an older node program: judged at the end only
    if (merged) {
      merged->merge(it->second);
    } else {
      merged = it->second;
    }
  }
  if (!merged) return {};
  std::vector<conf::Threshold> thresholds;
  std::string error;
  for (const std::string& text : options_.thresholds) {
    if (auto threshold = conf::parse_threshold(text, &error)) thresholds.push_back(std::move(*threshold));
  }
  report::MetricContext context;
  context.run_apdex_t_us = context.apdex_t_us = std::llround(options_.apdex_t_s * 1e6);
  const auto failed = report::failed_cycle_thresholds(*merged, context, thresholds);
  if (failed.empty()) return {};
  return "threshold failed: " + report::describe_result(thresholds[failed.front().threshold], failed.front());
}

void MasterRun::end_run(const std::string& reason) {
  stop_reason_ = reason;
  say(fmt::format("Stopping after cycle {} (--abort-on-fail): {}", common::cycle_number(released_cycle_), reason));
  const std::string line = protocol::end_line({reason});
  for (Node& node : nodes_) {
    if (node.phase == NodePhase::running) send_line(node, line);
  }
}

asio::awaitable<void> MasterRun::barrier_timeout(int cycle) {
  barrier_timer_.expires_after(std::chrono::microseconds(static_cast<int64_t>(options_.barrier_timeout_s * 1e6)));
  boost::system::error_code ec;
  co_await barrier_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  if (ec || released_cycle_ >= cycle || !running_phase_ || stopping_ || !stop_reason_.empty()) co_return;
  const Readiness now = readiness(cycle);
  if (options_.verdict.abort_on_fail) {
    if (std::string reason = judge_cycle(cycle - 1, now); !reason.empty()) {
      end_run(reason);
      co_return;
    }
  }
  for (Node* node : now.draining) {
    say(fmt::format("{}: still in cycle {} after the others had drained for {:g} s; cycle {} starts without it",
                    node->name(), cycle, options_.barrier_timeout_s, cycle + 1));
  }
  release(cycle, now);
  check_barrier();  // some may be ready for the cycle after already
}

void MasterRun::check_run_end() {
  if (!running_phase_ || stopping_ || run_end_timer_started_) return;
  const bool one_finished = std::any_of(nodes_.begin(), nodes_.end(),
                                        [](const Node& n) { return n.phase == NodePhase::finished; });
  if (!one_finished || nodes_in(NodePhase::running).empty()) return;
  run_end_timer_started_ = true;
  asio::co_spawn(io_, run_end_timeout(), rethrow);
}

asio::awaitable<void> MasterRun::run_end_timeout() {
  using Clock = std::chrono::steady_clock;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.hang_timeout_s));
  const Clock::time_point finished = Clock::now();
  while (running_phase_ && !stopping_) {
    // The earliest moment a running node, not yet being stopped, will have been silent
    // for the timeout (counted from now at the earliest: the finish started the watch).
    std::optional<Clock::time_point> next;
    for (Node* node : nodes_in(NodePhase::running)) {
      if (node->hung) continue;
      const Clock::time_point due = std::max(node->last_output, finished) + timeout;
      if (due <= Clock::now()) {
        node->hung_reason = fmt::format("silent for {:g} s after another node had finished", options_.hang_timeout_s);
        say(fmt::format("{}: {}; stopping it", node->name(), node->hung_reason));
        node->hung = true;
        asio::co_spawn(io_, stop_hung(*node), rethrow);
      } else if (!next || due < *next) {
        next = due;
      }
    }
    if (!next) co_return;
    run_end_timer_.expires_at(*next);
    boost::system::error_code ec;
    co_await run_end_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
  }
}

asio::awaitable<void> MasterRun::watch_heartbeats() {
  using Clock = std::chrono::steady_clock;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.heartbeat_timeout_s));
  const auto interval = std::min(timeout / 4, Clock::duration(std::chrono::seconds(1)));
  Clock::time_point last_check = Clock::now();
  while (running_phase_) {
    const Clock::time_point now = Clock::now();
    const bool held_up = now - last_check > 2 * interval;
    last_check = now;
    for (Node* node : nodes_in(NodePhase::running)) {
      if (node->hung || node->node_pid <= 0) continue;  // not up yet: wait_until_up() watches those
      // This thread was held up (a large results file read and folded): the nodes'
      // heartbeats of that time may still wait in the pipes, so none is judged by it.
      if (held_up) node->last_heard = std::max(node->last_heard, now - interval);
      if (Clock::now() - node->last_heard < timeout) continue;
      node->hung_reason = fmt::format("no heartbeat for {:g} s (a stopped process, a frozen host or a cut connection)",
                                      options_.heartbeat_timeout_s);
      say(fmt::format("{}: {}; stopping it", node->name(), node->hung_reason));
      node->hung = true;
      asio::co_spawn(io_, stop_hung(*node), rethrow);
    }
    heartbeat_timer_.expires_after(interval);
    boost::system::error_code ec;
    co_await heartbeat_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
  }
}

// SIGTERM and SIGCONT: a node that was only stopped saves what it finished and exits.
// One that does not end within 10 s is killed, there and here.
asio::awaitable<void> MasterRun::stop_hung(Node& node) {
  node.hung = true;
  const long long pid = node.via_agent ? 0 : node.entry.address.local ? node.child->pid : node.node_pid;
  if (node.via_agent) {
    co_await ask_to_stop(node);
  } else if (pid > 0) {
    co_await node.host->transport->terminate(pid);
  }
  asio::steady_timer wait(io_, std::chrono::seconds(10));
  if (node.phase == NodePhase::running) {
    node.stop_wait = &wait;  // supervise() cancels it when the node ends
    boost::system::error_code ec;
    co_await wait.async_wait(asio::redirect_error(use_awaitable, ec));
    node.stop_wait = nullptr;
  }
  if (node.phase != NodePhase::running) co_return;
  say(fmt::format("{}: did not stop within 10 s, killing it", node.name()));
  if (node.via_agent) {
    kill_node(node);
    co_return;
  }
  if (pid > 0 && !node.entry.address.local) co_await node.host->transport->kill(pid);
  ::kill(-node.child->pid, SIGKILL);
}

void MasterRun::send_go(Node& node, int cycle, int64_t start_master_us) {
  node.released_to = cycle;
  send_line(node, protocol::go_line({cycle, start_master_us + node.host->clock_offset_us}));
}

void MasterRun::send_line(Node& node, const std::string& line) {
  if (node.via_agent) {
    if (!node.agent_ended) node.host->agent->send(node.num, line + "\n");
    return;
  }
  if (!node.child || !node.child->in || !node.child->in->is_open()) return;
  auto text = std::make_shared<std::string>(line + "\n");
  asio::async_write(*node.child->in, asio::buffer(*text),
                    [text](const boost::system::error_code&, std::size_t) {});  // a node gone is seen by supervise
}

}  // namespace bm::master::run_detail
