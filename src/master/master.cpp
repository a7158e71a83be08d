#include "master/master.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <variant>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "common/files.hpp"
#include "master/live_status.hpp"
#include "protocol/node_protocol.hpp"
#include "master/workspace.hpp"
#include "stats/results.hpp"

#include "master/master_run.hpp"

namespace bm::master {

std::vector<std::string> node_program_argv(const std::string& program) {
  if (std::filesystem::path(program).filename() == "bench-node") return {program};
  return {program, "node"};
}

namespace run_detail {

void MasterRun::say(const std::string& line) {
  if (status_shown_ && tty_) out_ << "\r\033[K";
  status_shown_ = false;
  out_ << line << '\n' << std::flush;
}

void MasterRun::fail_node(Node& node, std::string message) {
  node.phase = NodePhase::failed;
  node.message = std::move(message);
  say(fmt::format("{}: {}", node.name(), node.message));
}

NodeCounts MasterRun::counts() const {
  NodeCounts counts;
  for (const auto& node : nodes_) {
    if (node.phase == NodePhase::running) ++counts.running;
    if (node.phase == NodePhase::finished) ++counts.finished;
    if (node.phase == NodePhase::failed) ++counts.failed;
  }
  return counts;
}

std::vector<Node*> MasterRun::nodes_in(NodePhase phase) {
  std::vector<Node*> selected;
  for (auto& node : nodes_) {
    if (node.phase == phase) selected.push_back(&node);
  }
  return selected;
}

int MasterRun::run() {
  ::signal(SIGPIPE, SIG_IGN);  // a node that exits early closes the pipe we write to
  // Each running node holds five descriptors here (its session's three pipes, its out/
  // and err/ files): past ~200 nodes the usual soft limit of 1,024 is too low.
  if (struct rlimit files {}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  std::string error;
  bundle_ = load_test_bundle(options_.test_file, options_.conf_file, &error);
  if (!bundle_) {
    err_ << error << '\n';
    return kExitCouldNotRun;
  }
  if (const std::string problem = check_feeder_parts(*bundle_, static_cast<int>(options_.nodes.size()));
      !problem.empty()) {
    err_ << problem << '\n';
    return kExitCouldNotRun;
  }
  const int64_t now = wall_now_us();
  layout_ = master_layout(options_.output_dir, options_.label, bundle_->name, compact_timestamp(now));
  if (!create_layout(layout_, &error)) {
    err_ << error << '\n';
    return kExitCouldNotRun;
  }
  remove_abandoned_private_dirs();
  std::string private_template = (fs::temp_directory_path() / "bench-master-XXXXXX").string();
  if (::mkdtemp(private_template.data()) == nullptr) {
    err_ << fmt::format("cannot create a private folder in {}: {}\n", fs::temp_directory_path().string(),
                        std::strerror(errno));
    return kExitCouldNotRun;
  }
  private_dir_ = private_template;
  {
    // Whose folder this is: a later run removes it if this master died (kill -9).
    std::ofstream owner(private_dir_ / "master.pid");
    owner << ::getpid() << '\n';
  }

  Runtime runtime{io_, reaper_};
  for (std::size_t i = 0; i < options_.nodes.size(); ++i) {
    const NodeEntry& entry = options_.nodes[i];
    auto [it, inserted] = hosts_.try_emplace(entry.address.display());
    Host& host = it->second;
    if (inserted) {
      host.address = entry.address;
      if (options_.make_transport) {
        host.transport = options_.make_transport(runtime, entry.address, private_dir_);
      } else {
        host.transport = entry.address.local ? make_local_transport(runtime)
                                             : make_ssh_transport(runtime, entry.address, options_.ssh, private_dir_);
      }
      host.index = static_cast<int>(hosts_.size()) - 1;
      if (entry.address.local) {
        host.program = options_.node_script.empty() ? options_.self_executable : options_.node_script;
      } else {
        // --push: replaced by the pushed copy's path once its checksum is known.
        host.program = options_.node_script.empty() ? "bench-node" : options_.node_script;
      }
    }
    Node node;
    node.num = static_cast<int>(i);
    node.entry = entry;
    node.host = &host;
    node.folder = node_folder(options_.node_dir, options_.label, node.num);
    nodes_.push_back(std::move(node));
  }
  for (Node& node : nodes_) node.host->nodes.push_back(&node);

  wait_for_signals();
  asio::co_spawn(io_, main(), [this](std::exception_ptr error) {
    // Nothing is left to wait for: let the event loop end.
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    reaper_.close();
    // The run is over and its results are written: an operation still pending (seen
    // rarely under load: the loop waited on with nothing left to do) must not keep
    // the master alive.
    io_.stop();
    rethrow(error);
  });
  io_.run();
  std::error_code ec;
  fs::remove_all(private_dir_, ec);
  return exit_code_;
}

void MasterRun::wait_for_signals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (collecting_phase_) {
      // Every node has ended: what is left is bringing their files home, the merge and
      // the report (seconds), so the first Ctrl-C lets them finish and the exit code
      // stays that of the results; the second ends the collecting sessions, and what came
      // back is merged.
      if (++late_interrupts_ == 1) {
        say("Interrupted after every node has ended: collecting their last results, then the merge and the report "
            "(Ctrl-C again to stop collecting)");
      } else {
        say("Collecting stopped: what came back is merged");
        reaper_.signal_all(SIGTERM);
      }
      wait_for_signals();
      return;
    }
    ++interrupts_;
    if (interrupts_ == 1 && !running_phase_) {
      say("Interrupted while setting up: nothing will start");
    } else if (interrupts_ == 1) {
      say("Interrupted: stopping every node (Ctrl-C again to kill them at once)");
    } else {
      say("Killing the node processes");
    }
    if (running_phase_) {
      asio::co_spawn(io_, stop_nodes(interrupts_ > 1), rethrow);
    } else if (interrupts_ == 1) {
      // Reaching hosts, pushing, the clock check, the set-up: nothing runs yet. Ending
      // the steps under way (ssh sessions, node programs) ends each at once, instead of
      // at its step timeout; main() then starts nothing.
      reaper_.signal_all(SIGTERM);
    }
    wait_for_signals();
  });
}

asio::awaitable<void> MasterRun::main() {
  say(fmt::format("Bench master: {} on {} node{} ({} host{}), label '{}'", options_.test_file.filename().string(),
                  nodes_.size(), nodes_.size() == 1 ? "" : "s", hosts_.size(), hosts_.size() == 1 ? "" : "s",
                  options_.label));
  // 1. Per host, at most -p at once: reach it, push the program, then at once measure
  //    its clock (and how long the node program takes to start) and lay out every
  //    node's folder there in one step.
  const auto remote = [](const auto& entry) { return !entry.second.address.local; };
  if (options_.push && std::any_of(hosts_.begin(), hosts_.end(), remote)) co_await prepare_push();
  std::vector<Host*> hosts;
  for (auto& [name, host] : hosts_) hosts.push_back(&host);
  co_await for_each_bounded(io_, hosts, options_.parallel,
                            [this](Host& host) -> asio::awaitable<void> { co_await prepare_host(host); });

  auto ready = nodes_in(NodePhase::ready);
  if (interrupts_ > 0 || ready.empty() || (options_.require_all && ready.size() != nodes_.size())) {
    if (interrupts_ == 0) {
      say(ready.empty() ? std::string("No node can run: nothing started")
                        : std::string("--require-all: not every node is ready, nothing started"));
    }
    exit_code_ = interrupts_ > 0 ? kExitInterrupted : kExitCouldNotRun;
    for (auto& [name, host] : hosts_) co_await host.transport->close();
    remove_empty_layout();  // nothing ran: leave no empty folders behind
    co_return;
  }

  // 2. Start every node at once (not bounded by -p); each waits for the master's word
  //    (--start-at go). Once all are up (their @node line), cycle 1 is planned a little
  //    ahead (start_margin_us) and sent to each on its own clock.
  for (Node& node : nodes_) node.settled = node.phase != NodePhase::ready;  // never started: nothing to wait for
  running_phase_ = true;
  const int64_t starting_us = wall_now_us();
  WaitGroup group(io_);
  start_agents();
  for (Node* node : ready) {
    start_node(*node);
    if (node->phase == NodePhase::running) {
      group.add();
      asio::co_spawn(io_, supervise(*node, group), rethrow);
    }
  }
  co_await wait_until_up();
  planned_start_us_ = wall_now_us() + start_margin_us();
  live_.emplace(options_.cycle_count, planned_start_us_);
  merger_.emplace(stats::MergeOptions{{}, planned_start_us_, host_name()});
  write_merge_plan();
  fold_ready_results();  // nodes that ended already
  const auto running = nodes_in(NodePhase::running);
  if (!stopping_) {
    say(fmt::format("Starting {} node{}: up in {:.1f} s; cycle 1 begins in {:.1f} s", running.size(),
                    running.size() == 1 ? "" : "s", (wall_now_us() - starting_us) / 1e6,
                    (planned_start_us_ - wall_now_us()) / 1e6));
    cycle_starts_us_[0] = planned_start_us_;
    for (Node* node : running) send_go(*node, 0, planned_start_us_);
  } else {
    say("Stopped before cycle 1: no node was told to start");
  }
  // 3. Watch them (those being stopped, until they have ended).
  if (!stopping_) asio::co_spawn(io_, show_status(), rethrow);
  asio::co_spawn(io_, watch_heartbeats(), rethrow);
  co_await group.wait();
  running_phase_ = false;
  collecting_phase_ = true;
  pause_here_for_tests("collect");
  {
    // One turn of the event loop (a Ctrl-C that came as the last node ended is answered
    // here, before the merge, which runs without returning to the loop).
    asio::steady_timer turn(io_, std::chrono::milliseconds(10));
    co_await turn.async_wait(use_awaitable);
  }
  tick_.cancel();
  grace_.cancel();
  barrier_timer_.cancel();
  run_end_timer_.cancel();
  heartbeat_timer_.cancel();
  if (status_shown_ && tty_) say(live_->line(counts(), wall_now_us()));

  // 4. The results came home as each node ended (collect_host); the last ones may
  //    still be on their way. Then the merge is complete: report.
  if (collectors_.count() > 0) say("Collecting the last results");
  co_await collectors_.wait();
  co_await end_agents();  // they carried the collecting too
  for (auto& [name, host] : hosts_) co_await host.transport->close();
  exit_code_ = finish();
}

// How far ahead of now cycle 1 is planned once every node is up: the @go must reach the
// farthest node (twice its round trip, 100 ms: go_margin_us), and --start-margin (0.3 s)
// for the nodes to load the test, all at once. Starting itself, the slow part (a
// session and a program per node, measured per host as "program start"), is over by
// then: it is waited for, not guessed.
int64_t MasterRun::start_margin_us() const {
  return go_margin_us() + static_cast<int64_t>(options_.start_margin_s * 1e6);
}

// Until every started node has said @node (or ended); past the step timeout the run
// goes on, and a node still coming starts late (start skew in the nodes table).
asio::awaitable<void> MasterRun::wait_until_up() {
  const auto deadline = std::chrono::steady_clock::now() + options_.ssh.step_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto running = nodes_in(NodePhase::running);
    if (std::all_of(running.begin(), running.end(), [](const Node* node) { return node->node_pid > 0; })) co_return;
    up_.expires_at(deadline);
    boost::system::error_code ec;
    co_await up_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

asio::awaitable<void> MasterRun::prepare_host(Host& host) {
  if (interrupts_ > 0) {
    host.error = "not started (interrupted)";
    for (Node* node : host.nodes) fail_node(*node, host.error);
    co_return;
  }
  using namespace asio::experimental::awaitable_operators;
  StepResult step = co_await host.transport->open();
  if (step.ok() && options_.push && !host.address.local) step = co_await push_program(host);
  // The clock exchange and the set-up are two sessions on the same connection, at once:
  // neither needs the other.
  if (step.ok()) step = co_await (measure_clock(host) && set_up_nodes(host));
  if (!step.ok()) {
    host.error = step.error;
    for (Node* node : host.nodes) fail_node(*node, host.error);
    co_return;
  }
  int ready = 0;
  for (const Node* node : host.nodes) ready += node->phase == NodePhase::ready ? 1 : 0;
  say(fmt::format("{}: ready, clock offset {} (round trip {:.2f} ms, program start {:.0f} ms); {} of {} "
                  "node{} set up",
                  host.address.display(),
                  host.same_kernel ? std::string("0 (the master's own clock)")
                                   : fmt::format("{:+.1f} ms", host.clock_offset_us / 1e3),
                  host.clock_rtt_us / 1e3, host.spawn_us / 1e3,
                  ready, host.nodes.size(), host.nodes.size() == 1 ? "" : "s"));
}

// --push: one copy of this program for every host, stripped of its symbols (the nodes
// need no debug information; the file is several times smaller), under a folder named
// by its checksum, so a host that has it already is not sent it again. The stripped
// copy and its checksum are kept between runs in ~/.cache/benchmaster/push, by the
// program file's size, time and inode (stripping and summing cost ~1 s here).
asio::awaitable<void> MasterRun::prepare_push() {
  push_file_ = options_.self_executable;
  std::error_code ec;
  fs::path cache;
  std::string key;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') {
    struct stat self {};
    if (::stat(options_.self_executable.c_str(), &self) == 0) {
      cache = fs::path(home) / ".cache" / "benchmaster" / "push";
      key = fmt::format("{}-{}-{}", self.st_size, self.st_mtim.tv_sec * 1'000'000'000LL + self.st_mtim.tv_nsec,
                        self.st_ino);
    }
  }
  std::string digest;
  if (!key.empty()) {
    std::ifstream sum(cache / (key + ".sha256"));
    if (sum >> digest && digest.size() == 64 && fs::is_regular_file(cache / (key + ".bench-node"), ec)) {
      push_file_ = cache / (key + ".bench-node");
    } else {
      digest.clear();
    }
  }
  if (digest.empty()) {
    const fs::path stripped = private_dir_ / "bench-node";
    SpawnSpec strip;
    strip.argv = {"strip", "-o", stripped.string(), options_.self_executable};
    std::string no_input;
    ProcessOutput stripping = co_await run_process(io_, reaper_, std::move(strip), std::move(no_input), 60s);
    if (stripping.ok()) {
      push_file_ = stripped;
    } else {
      err_ << fmt::format("warning: --push: cannot strip {} ({}): the whole file is sent\n",
                          options_.self_executable, stripping.failure())
           << std::flush;
    }
    SpawnSpec checksum;
    checksum.argv = {"sha256sum", "--", push_file_.string()};
    std::string none;
    ProcessOutput summed = co_await run_process(io_, reaper_, std::move(checksum), std::move(none), 60s);
    digest = summed.ok() ? summed.out.substr(0, summed.out.find(' ')) : std::string();
    if (digest.size() == 64 && stripping.ok() && !key.empty()) {
      // Into the cache beside the final names, then renamed: a copy there is whole.
      fs::create_directories(cache, ec);
      const fs::path copy = cache / fmt::format("{}.{}.tmp", key, ::getpid());
      if (!ec) common::copy_file_restarting(stripped, copy, fs::copy_options::overwrite_existing, ec);
      if (!ec) fs::rename(copy, cache / (key + ".bench-node"), ec);
      if (!ec) std::ofstream(cache / (key + ".sha256")) << digest << '\n';
      if (ec) fs::remove(copy, ec);
    }
  }
  if (digest.size() < 16) {
    // No checksum: a folder of this run's own, sent every time.
    digest = fmt::format("{}-{}", options_.label, ::getpid());
  }
  push_program_ = join_remote(join_remote(join_remote(options_.node_dir, ".bench-node"), digest.substr(0, 32)),
                              "bench-node");
}

asio::awaitable<StepResult> MasterRun::push_program(Host& host) {
  host.program = push_program_;
  if (co_await host.transport->has_executable(host.program)) co_return StepResult{};
  const std::string folder = fs::path(host.program).parent_path().generic_string();
  StepResult step = co_await host.transport->make_dir(folder);
  if (step.ok()) step = co_await host.transport->put_file(push_file_, host.program, true);
  co_return step;
}

// NTP-style: the node prints its clock when asked; the offset is its reading minus the
// midpoint of the master's readings before and after; the sample with the shortest
// round trip of three is kept.
asio::awaitable<StepResult> MasterRun::measure_clock(Host& host) {
  using namespace asio::experimental::awaitable_operators;
  NodeCommand command{node_program_argv(host.program), {}};
  command.argv.push_back("--clock");
  std::string error;
  auto child = spawn_child(io_, reaper_, host.transport->spawn_spec(command), &error);
  if (!child) co_return StepResult{error};
  asio::steady_timer deadline(io_, options_.ssh.step_timeout);
  deadline.async_wait([pid = child->pid, this](const boost::system::error_code& ec) {
    if (!ec && reaper_.running(pid)) ::kill(-pid, SIGKILL);
  });

  ClockSample best;
  const int64_t spawned_us = wall_now_us();
  int64_t first_word_us = -1;
  std::string errors, buffer, protocol_error, node_kernel;
  auto read_line = [&]() -> asio::awaitable<std::optional<int64_t>> {
    boost::system::error_code ec;
    std::size_t n = co_await asio::async_read_until(*child->out, asio::dynamic_buffer(buffer), '\n',
                                                    asio::redirect_error(use_awaitable, ec));
    if (ec) co_return std::nullopt;
    std::string line = buffer.substr(0, n - 1);
    buffer.erase(0, n);
    const protocol::Message message = protocol::parse_line(line);
    if (const auto* reading = std::get_if<protocol::ClockReading>(&message)) {
      node_kernel = reading->kernel;
      co_return reading->epoch_us;
    }
    // The remote shell's word that the program ended (e.g. 127: not found) is no
    // protocol error: the exit status explains it.
    if (!std::holds_alternative<protocol::ExitCode>(message)) {
      protocol_error = fmt::format("unexpected answer from {}: '{}'", host.program, line.substr(0, 200));
    }
    co_return std::nullopt;
  };
  auto dialogue = [&]() -> asio::awaitable<void> {
    if (!co_await read_line()) co_return;  // the first reading includes the start-up
    first_word_us = wall_now_us();
    for (int i = 0; i < 3; ++i) {
      const int64_t before = wall_now_us();
      boost::system::error_code ec;
      co_await asio::async_write(*child->in, asio::buffer("\n", 1), asio::redirect_error(use_awaitable, ec));
      auto reading = co_await read_line();
      const int64_t after = wall_now_us();
      if (!reading) co_return;
      ClockSample sample{*reading - (before + after) / 2, after - before};
      if (best.rtt_us < 0 || sample.rtt_us < best.rtt_us) best = sample;
    }
    child->in->close();
    co_await read_to_end(*child->out, &buffer);
  };
  co_await (dialogue() && read_to_end(*child->err, &errors));
  child->in->close();
  int status = co_await reaper_.wait(child->pid);
  deadline.cancel();
  if (best.rtt_us < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (!protocol_error.empty()) co_return StepResult{protocol_error};
    std::string detail = last_line(errors);
    std::string hint = WIFEXITED(status) && (WEXITSTATUS(status) == 127 || WEXITSTATUS(status) == 126)
                           ? fmt::format("cannot run the node program '{}' (give its path with -s, or --push)",
                                         host.program)
                           : fmt::format("the node program '{}' failed", host.program);
    co_return StepResult{fmt::format("{} ({}{})", hint, describe_wait_status(status), detail.empty() ? "" : ": " + detail)};
  }
  // A node on the master's own kernel reads the master's own wall clock: its offset is
  // exactly 0, where the exchange can only bound it within half a round trip (a few ms
  // on a loaded machine, which would shift its windows against the others'). A reading
  // that is not 0 within that bound means the node's clock is made to differ (a test's
  // shim, faketime): then the measurement stands.
  host.same_kernel = !node_kernel.empty() && node_kernel == protocol::this_kernel_id() &&
                     std::abs(best.offset_us) <= best.rtt_us / 2 + 1;
  host.clock_offset_us = host.same_kernel ? 0 : best.offset_us;
  host.clock_rtt_us = best.rtt_us;
  host.spawn_us = first_word_us - spawned_us;
  co_return StepResult{};
}

// Every node of the host in one step: each node's folder is staged here (the tailored
// conf and feeder parts written, the test and data files linked), then the transport
// lays them all out on the host at once (Transport::lay_out: one SSH session).
asio::awaitable<void> MasterRun::set_up_nodes(Host& host) {
  if (interrupts_ > 0) {
    for (Node* node : host.nodes) fail_node(*node, "not started (interrupted)");
    co_return;
  }
  const fs::path stage = private_dir_ / fmt::format("stage-{}", host.index);
  std::vector<std::string> folders;
  std::vector<Node*> staged;
  for (Node* node : host.nodes) {
    const std::string folder = fs::path(node->folder).filename().string();
    if (std::string error = stage_node(*node, stage / folder); !error.empty()) {
      fail_node(*node, error);
      continue;
    }
    folders.push_back(folder);
    staged.push_back(node);
  }
  if (!folders.empty()) {
    const std::string parent = join_remote(options_.node_dir, options_.label);
    const std::vector<std::string> errors = co_await host.transport->lay_out(stage, parent, folders);
    for (std::size_t i = 0; i < staged.size(); ++i) {
      if (i < errors.size() && errors[i].empty()) {
        staged[i]->phase = NodePhase::ready;
      } else {
        fail_node(*staged[i], i < errors.size() ? errors[i] : std::string("not set up"));
      }
    }
  }
  std::error_code ignored;
  fs::remove_all(stage, ignored);
}

// Node i's folder as it will be on the node: the test and the data files the conf
// lists (linked: the transport copies what they point to), the conf tailored for it and
// each feeder's file, its part or all of it. Empty, or why not.
std::string MasterRun::stage_node(const Node& node, const fs::path& folder) {
  std::error_code ec;
  const fs::path test_dir = fs::absolute(bundle_->test_file, ec).parent_path();
  fs::create_directories(folder, ec);
  if (ec) return fmt::format("cannot create {}: {}", folder.string(), ec.message());
  const auto write = [](const fs::path& path, const std::string& content) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << content;
    return file.flush() ? std::string() : fmt::format("cannot write {}", path.string());
  };
  const auto link = [&ec](const fs::path& target, const fs::path& path) {
    fs::create_directories(path.parent_path(), ec);
    if (!ec) fs::create_symlink(target, path, ec);
    return ec ? fmt::format("cannot stage {}: {}", target.string(), ec.message()) : std::string();
  };
  const int nodes = static_cast<int>(nodes_.size());
  std::string error = link(fs::absolute(bundle_->test_file), folder / ("test_" + bundle_->name + ".lua"));
  if (error.empty()) error = write(folder / (bundle_->name + ".conf"), tailored_conf(bundle_->conf, node.num, nodes));
  for (const auto& file : bundle_->data_files) {
    if (error.empty()) error = link(test_dir / file, folder / file);
  }
  const std::vector<std::unique_ptr<feeder::Feeder>> no_feeders;
  for (const auto& feeder : bundle_->feeders ? bundle_->feeders->all() : no_feeders) {
    if (!error.empty()) break;
    const fs::path part = folder / feeder->spec().file;
    fs::create_directories(part.parent_path(), ec);
    error = write(part, feeder_file_for(*feeder, node.num, nodes));
  }
  return error;
}

void MasterRun::start_node(Node& node) {
  const std::string label = options_.label;
  node.out = std::make_unique<OutputFile>(layout_.out_dir / fmt::format("node-{}.txt", node.num), err_);
  node.err = std::make_unique<OutputFile>(layout_.err_dir / fmt::format("node-{}.txt", node.num), err_);
  const std::string header =
      fmt::format("=== {} node {} on {} ===\n", layout_.run_dir.filename().string(), node.num, node.entry.address.display());
  node.out->write(header);
  node.err->write(header);

  NodeCommand command{node_program_argv(node.host->program), {}};
  for (const std::string& arg : {options_.node_dir, label, std::to_string(node.num), bundle_->name}) {
    command.argv.push_back(arg);
  }
  command.argv.push_back("--start-at");
  command.argv.push_back("go");
  command.argv.push_back("--stop-on-eof");
  command.argv.push_back("--heartbeat");
  command.argv.push_back(fmt::format("{:g}", std::clamp(options_.heartbeat_timeout_s / 4, 0.01, 1.0)));
  if (options_.cycle_count > 1) command.argv.push_back("--barrier");
  // --abort-on-fail: each cycle's figures come back at its end, to be judged at the barrier.
  if (options_.cycle_count > 1 && options_.verdict.abort_on_fail) command.argv.push_back("--cycle-results");
  if (!options_.test_file_shown.empty()) {
    command.argv.push_back("--test-shown-as");
    command.argv.push_back(options_.test_file_shown);
  }
  command.argv.insert(command.argv.end(), options_.bench_args.begin(), options_.bench_args.end());
  command.env = {{"PSSH_NODENUM", std::to_string(node.num)},
                 {"PSSH_BENCH_RUN", label},
                 {"PSSH_BENCH_WORKING_DIR", options_.node_dir}};
  if (node.host->agent || !node.host->agent_error.empty()) {
    start_node_via_agent(node, command);
    return;
  }
  std::string error;
  node.child = spawn_child(io_, reaper_, node.host->transport->spawn_spec(command), &error);
  if (!node.child) {
    node.err->write(error + "\n");
    fail_node(node, error);
    node.settled = true;  // nothing to collect
    return;
  }
  node.started = true;
  node.phase = NodePhase::running;
}

asio::awaitable<void> MasterRun::supervise(Node& node, WaitGroup& group) {
  using namespace asio::experimental::awaitable_operators;
  std::optional<std::string> lost;  // under an agent: why it ended without a status
  if (node.via_agent) {
    while (!node.agent_ended) {
      boost::system::error_code ec;
      node.agent_wait->expires_at(asio::steady_timer::time_point::max());
      co_await node.agent_wait->async_wait(asio::redirect_error(use_awaitable, ec));
    }
    if (node.agent_status) {
      node.wait_status = *node.agent_status;
    } else {
      lost = node.lost_reason;
    }
  } else {
    co_await (pump(node, *node.child->out, true) && pump(node, *node.child->err, false));
    node.wait_status = co_await reaper_.wait(node.child->pid);
    boost::system::error_code ignored;
    node.child->in->close(ignored);
  }
  const int status = node.wait_status;
  const bool exited = !lost && WIFEXITED(status);
  const int code = exited ? WEXITSTATUS(status) : -1;
  if (node.hung) {
    fail_node(node, fmt::format("hung: {}; stopped ({})", node.hung_reason,
                                lost                      ? *lost
                                : exited && code == 130 ? "its finished cycles saved"
                                                        : describe_wait_status(status)));
  } else if (exited && (code == 0 || code == 1)) {
    node.phase = NodePhase::finished;
    node.message = code == 0 ? "finished" : "finished, some tests failed";
    say(fmt::format("{}: {}", node.name(), node.message));
  } else if (exited && code == 130) {
    node.phase = NodePhase::finished;
    node.message = "stopped";
    say(fmt::format("{}: stopped", node.name()));
  } else {
    std::string detail = last_error_line(node.error_tail);
    std::string how = lost ? *lost : describe_wait_status(status);
    if (!node.entry.address.local && !node.via_agent) {
      // ssh says 255 for a node killed by a signal: the remote shell's @exit tells.
      if (node.reported_exit && *node.reported_exit > 128 && *node.reported_exit != 130) {
        how = describe_wait_status(*node.reported_exit - 128);  // a wait status that says "killed by signal N"
      } else if (!node.reported_exit && exited && code == 255) {
        how = "the SSH connection to it ended (exit 255)";
      }
    }
    fail_node(node, how + (detail.empty() ? "" : ": " + detail));
    if (options_.require_all && !stopping_) {
      require_all_tripped_ = true;
      say("--require-all: a node failed, stopping the others");
      asio::co_spawn(io_, stop_nodes(false), rethrow);
    }
  }
  if (node.stop_wait) node.stop_wait->cancel();
  check_barrier();  // the others need not wait for it
  check_run_end();
  up_.cancel();      // nor those waiting for every node to be up
  queue_collection(node);
  group.done();
}

asio::awaitable<void> MasterRun::pump(Node& node, asio::posix::stream_descriptor& pipe, bool is_stdout) {
  char buffer[16384];
  while (true) {
    boost::system::error_code ec;
    std::size_t n = co_await pipe.async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
    on_node_output(node, buffer, n, is_stdout);
    if (ec) co_return;
  }
}

void MasterRun::on_node_output(Node& node, char* data, std::size_t size, bool is_stdout) {
  if (size == 0) return;
  node.last_heard = std::chrono::steady_clock::now();
  if (is_stdout) size = protocol::remove_heartbeats(data, size);
  if (size == 0) return;
  const std::string_view chunk(data, size);
  node.last_output = node.last_heard;
  (is_stdout ? node.out : node.err)->write(chunk);
  if (is_stdout) {
    node.pending_line.append(chunk);
    std::size_t start = 0, end;
    while ((end = node.pending_line.find('\n', start)) != std::string::npos) {
      on_output_line(node, std::string_view(node.pending_line).substr(start, end - start));
      start = end + 1;
    }
    node.pending_line.erase(0, start);
    // Not a line protocol past 64 MiB (a cycle's figures, @cycle-results, can be MBs).
    if (node.pending_line.size() > (64u << 20)) node.pending_line.clear();
  } else {
    node.error_tail.append(chunk);
    if (node.error_tail.size() > 8192) node.error_tail.erase(0, node.error_tail.size() - 4096);
  }
}

asio::awaitable<void> MasterRun::show_status() {
  int64_t last_plain_us = 0;
  while (running_phase_) {
    const int64_t now = wall_now_us();
    if (tty_) {
      out_ << "\r\033[K" << live_->line(counts(), now) << std::flush;
      status_shown_ = true;
    } else if (now - last_plain_us >= 10'000'000) {
      out_ << live_->line(counts(), now) << '\n' << std::flush;
      last_plain_us = now;
    }
    tick_.expires_after(1s);
    boost::system::error_code ec;
    co_await tick_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

asio::awaitable<void> MasterRun::stop_nodes(bool kill_now) {
  const bool first_request = !stopping_;
  stopping_ = true;
  for (Node* node : nodes_in(NodePhase::running)) {
    if (kill_now) {
      kill_node(*node);
      continue;
    }
    if (first_request) co_await ask_to_stop(*node);
  }
  if (kill_now || !first_request || !running_phase_) co_return;
  // A node saves its results and exits within its drain; past a minute it is killed.
  // main() cancels the wait when every node has ended.
  grace_.expires_after(60s);
  boost::system::error_code ec;
  co_await grace_.async_wait(asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;
  for (Node* node : nodes_in(NodePhase::running)) {
    say(fmt::format("{}: did not stop within 60 s, killing it", node->name()));
    kill_node(*node);
  }
}

asio::awaitable<void> MasterRun::ask_to_stop(Node& node) {
  if (node.via_agent) {
    // The agent signals it there: no session of its own.
    node.host->agent->signal(node.num, "TERM");
    node.host->agent->signal(node.num, "CONT");
    co_return;
  }
  const long long pid = node.entry.address.local ? node.child->pid : node.node_pid;
  StepResult step;
  step.error = "no process id yet";
  if (pid > 0) step = co_await node.host->transport->terminate(pid);
  if (!step.ok() && node.phase == NodePhase::running) {
    // Not known yet or not reachable: closing its input stops it too (bench-node --stop-on-eof).
    boost::system::error_code ignored;
    node.child->in->close(ignored);
  }
}

void MasterRun::kill_node(Node& node) {
  if (node.phase != NodePhase::running) return;
  if (!node.via_agent) {
    ::kill(-node.child->pid, SIGKILL);  // the local process group: the node itself or its ssh client
    return;
  }
  node.host->agent->signal(node.num, "KILL");
  asio::co_spawn(io_, kill_session_if_still_running(node), rethrow);
}

// A node its agent was told to kill and that has not ended after 5 s: the host or the
// agent does not answer (frozen, cut off). Its session is ended here, which ends every
// node of that host still running (lost, with the reason).
asio::awaitable<void> MasterRun::kill_session_if_still_running(Node& node) {
  asio::steady_timer wait(io_, std::chrono::seconds(5));
  boost::system::error_code ec;
  co_await wait.async_wait(asio::redirect_error(use_awaitable, ec));
  if (node.phase == NodePhase::running && node.host->agent && !node.host->agent->over()) {
    say(fmt::format("{}: its host's agent did not end it within 5 s: ending that host's session", node.name()));
    node.host->agent->kill();
  }
}

void MasterRun::start_agents() {
  if (options_.session_per_node) return;
  for (auto& [name, host] : hosts_) {
    const bool any_ready = std::any_of(host.nodes.begin(), host.nodes.end(),
                                       [](const Node* node) { return node->phase == NodePhase::ready; });
    if (!any_ready || !host.transport->runs_host_agent()) continue;
    NodeCommand command{node_program_argv(host.program), {}, false};
    command.argv.push_back("--agent");
    auto session = std::make_unique<AgentSession>(io_, reaper_);
    std::string error;
    if (!session->start(host.transport->spawn_spec(command), &error)) {
      host.agent_error = "cannot start the host agent's session: " + error;
      continue;
    }
    host.agent = std::move(session);
    agents_.add();
    AgentSession& agent = *host.agent;  // a structured binding cannot be captured (clang)
    asio::co_spawn(
        io_,
        [this, &agent]() -> asio::awaitable<void> {
          co_await agent.run();
          agents_.done();
        },
        rethrow);
  }
}

void MasterRun::start_node_via_agent(Node& node, const NodeCommand& command) {
  if (!node.host->agent) {
    node.err->write(node.host->agent_error + "\n");
    fail_node(node, node.host->agent_error);
    node.settled = true;  // nothing to collect
    return;
  }
  node.via_agent = true;
  node.agent_wait = std::make_shared<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
  agent::StartRequest request{command.argv, command.env};
  AgentSession::NodeEvents events;
  // Its process id comes with its @node line, as without an agent: from that line on
  // its heartbeat is watched.
  events.started = [](long long) {};
  events.output = [this, &node](std::string_view bytes, bool is_stdout) {
    std::string copy(bytes);  // heartbeats are taken out in place
    on_node_output(node, copy.data(), copy.size(), is_stdout);
  };
  events.ended = [&node](std::optional<int> status, const std::string& why) {
    node.agent_ended = true;
    node.agent_status = status;
    node.lost_reason = why;
    node.agent_wait->cancel();
  };
  node.host->agent->start_node(node.num, request, std::move(events));
  node.started = true;
  node.phase = NodePhase::running;
}

asio::awaitable<void> MasterRun::end_agents() {
  for (auto& [name, host] : hosts_) {
    if (host.agent) host.agent->end();
  }
  // Every node has ended, so each agent exits at once; one that does not (a frozen
  // host) is not waited for past 10 s.
  asio::steady_timer limit(io_, std::chrono::seconds(10));
  limit.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    for (auto& [name, host] : hosts_) {
      if (host.agent && !host.agent->over()) host.agent->kill();
    }
  });
  co_await agents_.wait();
  limit.cancel();
}

}  // namespace run_detail

int run_master(const MasterOptions& options, std::ostream& out, std::ostream& err) {
  run_detail::MasterRun run(options, out, err);
  return run.run();
}

}  // namespace bm::master
