// The `ssh` transport: the system OpenSSH client in batch mode. One ControlMaster per
// destination, started by open() and kept as the master's child, carries every later
// step (commands, copies, the node run itself, stop requests) as multiplexed sessions.
// Files travel as `cat` over ssh rather than scp, so every remote path goes through
// shell_quote like any other argument (scp's remote-path parsing differs by protocol).

#include <signal.h>
#include <sys/wait.h>

// g++ 12 misreads Asio's coroutine frames (allocated with aligned_alloc, freed by the
// frame's own sized operator delete, which calls free) as mismatched new/delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "master/shell.hpp"

#include "common/files.hpp"
#include "master/transport.hpp"

namespace bm::master {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::vector<std::string> ssh_base_arguments(const NodeAddress& address, const SshSettings& settings,
                                            const fs::path& control_dir) {
  std::vector<std::string> args{"ssh"};
  // ssh keeps the first value it is given for an option: the user's extras go first.
  for (const auto& option : settings.extra_options) {
    args.push_back("-o");
    args.push_back(option);
  }
  if (!settings.config_file.empty()) {
    args.push_back("-F");
    args.push_back(settings.config_file);
  }
  if (!settings.identity_file.empty()) {
    args.push_back("-i");
    args.push_back(settings.identity_file);
  }
  if (!settings.known_hosts_file.empty()) args.push_back("-oUserKnownHostsFile=" + settings.known_hosts_file);
  args.push_back("-oBatchMode=yes");
  args.push_back(fmt::format("-oConnectTimeout={}", settings.connect_timeout_s));
  args.push_back(std::string("-oStrictHostKeyChecking=") + (settings.accept_new_host_keys ? "accept-new" : "yes"));
  args.push_back("-oControlPath=" + (control_dir / "%C").string());
  // A node cut off the network is noticed within ~15 s instead of never.
  args.push_back("-oServerAliveInterval=5");
  args.push_back("-oServerAliveCountMax=3");
  if (address.port != 0) {
    args.push_back("-p");
    args.push_back(std::to_string(address.port));
  }
  if (!address.user.empty()) {
    args.push_back("-l");
    args.push_back(address.user);
  }
  return args;
}

std::string remote_command_line(const NodeCommand& command) {
  std::vector<std::string> words;
  if (!command.env.empty()) {
    words.push_back("env");
    for (const auto& [name, value] : command.env) words.push_back(name + "=" + value);
  }
  words.insert(words.end(), command.argv.begin(), command.argv.end());
  if (!command.report_exit) return "exec " + shell_join(words);
  // The shell stays to say how the program ended: sshd reports a program killed by a
  // signal as exit 255, the same as a lost connection. The program prints its own
  // process id for stop requests (@node), so the shell's does not matter.
  return shell_join(words) + "; s=$?; echo \"@exit $s\"; exit \"$s\"";
}

namespace {

// Named option lists (g++ 12 cannot keep a braced list of literals in a coroutine frame).
const std::vector<std::string> kStartMaster{"-oControlMaster=yes", "-oControlPersist=no", "-N", "-n"};
const std::vector<std::string> kCheckMaster{"-Ocheck"};
const std::vector<std::string> kExitMaster{"-Oexit"};
const std::vector<std::string> kClient{"-oControlMaster=no"};

class SshTransport final : public Transport {
 public:
  SshTransport(Runtime runtime, NodeAddress address, SshSettings settings, fs::path control_dir)
      : runtime_(runtime),
        address_(std::move(address)),
        settings_(std::move(settings)),
        base_(ssh_base_arguments(address_, settings_, control_dir)) {}

  ~SshTransport() override {
    if (master_pid_ > 0 && runtime_.reaper.running(master_pid_)) ::kill(master_pid_, SIGTERM);
  }

  std::string describe() const override { return address_.display(); }

  asio::awaitable<StepResult> open() override {
    std::vector<std::string> argv = with_destination(kStartMaster);
    std::string error;
    auto child = spawn_child(runtime_.io, runtime_.reaper, SpawnSpec{argv, {}}, &error);
    if (!child) co_return StepResult{error};
    master_pid_ = child->pid;
    master_ = std::move(*child);
    master_->in->close();
    asio::co_spawn(runtime_.io, read_to_end(*master_->err, &master_errors_, 16384), asio::detached);
    asio::co_spawn(runtime_.io, read_to_end(*master_->out, &master_output_, 16384), asio::detached);

    // Ready when `ssh -O check` answers; failed when the master exits first.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(settings_.connect_timeout_s + 5);
    asio::steady_timer pause(runtime_.io);
    while (true) {
      if (!runtime_.reaper.running(master_pid_)) {
        int status = co_await runtime_.reaper.wait(master_pid_);
        // Let the stderr reader take the last bytes (the pipe is closed: EOF comes at once).
        pause.expires_after(20ms);
        co_await pause.async_wait(asio::use_awaitable);
        std::string detail = last_line(master_errors_);
        co_return StepResult{fmt::format("cannot connect ({}){}", describe_wait_status(status),
                                         detail.empty() ? "" : ": " + detail)};
      }
      SpawnSpec check_spec = spec(kCheckMaster);
      std::string no_input;
      auto check = co_await run_process(runtime_.io, runtime_.reaper, std::move(check_spec), std::move(no_input), 10s);
      if (check.ok()) co_return StepResult{};
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(master_pid_, SIGTERM);
        co_return StepResult{fmt::format("cannot connect: no answer within {} s", settings_.connect_timeout_s + 5)};
      }
      pause.expires_after(50ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
  }

  SpawnSpec spawn_spec(const NodeCommand& command) const override {
    return spec(kClient, remote_command_line(command));
  }

  bool runs_host_agent() const override { return true; }

  asio::awaitable<StepResult> make_dir(const std::string& path) override {
    std::string script = "mkdir -p -- " + shell_quote(path), what = fmt::format("cannot create {}", path);
    co_return co_await shell_step(script, std::string(), what);
  }

  asio::awaitable<StepResult> remove_tree(const std::string& path) override {
    std::string script = "rm -rf -- " + shell_quote(path), what = fmt::format("cannot remove {}", path);
    co_return co_await shell_step(script, std::string(), what);
  }

  asio::awaitable<StepResult> put_file(const fs::path& local, const std::string& remote, bool executable) override {
    int error_number = 0;
    const std::optional<std::string> content = common::read_whole_file(local, &error_number);
    if (!content) co_return StepResult{fmt::format("cannot read {}: {}", local.string(), std::strerror(error_number))};
    // The temporary name is the remote shell's own: hosts sharing a file system (or two
    // masters) may write the same file at once.
    std::string script = "t=" + shell_quote(remote + ".tmp") + ".$$; cat > \"$t\"";
    if (executable) script += " && chmod 755 \"$t\"";
    script += " && mv -f -- \"$t\" " + shell_quote(remote) + " || { rm -f -- \"$t\"; exit 1; }";
    std::string what = fmt::format("cannot copy {} to {}", local.string(), remote);
    co_return co_await shell_step(script, *content, what);
  }

  asio::awaitable<StepResult> get_file(const std::string& remote, const fs::path& local) override {
    SpawnSpec cat = spec(kClient, "cat -- " + shell_quote(remote));
    std::string no_input;
    auto result = co_await run_process(runtime_.io, runtime_.reaper, std::move(cat), std::move(no_input),
                                       settings_.step_timeout);
    if (!result.ok()) co_return StepResult{fmt::format("cannot fetch {}: {}", remote, result.failure())};
    fs::path temporary = local;
    temporary += ".tmp";
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      out << result.out;
      out.flush();
      if (!out) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        co_return StepResult{fmt::format("cannot write {}: {}", temporary.string(), std::strerror(errno))};
      }
    }
    std::error_code ec;
    fs::rename(temporary, local, ec);
    if (ec) co_return StepResult{fmt::format("cannot write {}: {}", local.string(), ec.message())};
    co_return StepResult{};
  }

  // One session for every node of this host: the staged folders as a tar stream (the
  // local tar) into lay_out_script on the node.
  asio::awaitable<std::vector<std::string>> lay_out(const fs::path& stage, const std::string& parent,
                                                    const std::vector<std::string>& folders) override {
    using namespace asio::experimental::awaitable_operators;
    SpawnSpec tar_spec;
    tar_spec.argv = {"tar", "-c", "-h", "-f", "-", "-C", stage.string(), "--"};
    tar_spec.argv.insert(tar_spec.argv.end(), folders.begin(), folders.end());
    // Last in the archive: the remote script moves nothing into place without it.
    std::ofstream(stage / kLayOutEnd).flush();
    tar_spec.argv.push_back(kLayOutEnd);
    SpawnSpec remote = spec(kClient, lay_out_script(parent, folders));
    std::string error;
    auto tar = spawn_child(runtime_.io, runtime_.reaper, tar_spec, &error);
    if (!tar) co_return std::vector<std::string>(folders.size(), error);
    tar->in->close();
    auto session = spawn_child(runtime_.io, runtime_.reaper, remote, &error);
    if (!session) {
      ::kill(-tar->pid, SIGKILL);
      co_await runtime_.reaper.wait(tar->pid);
      co_return std::vector<std::string>(folders.size(), error);
    }
    asio::steady_timer deadline(runtime_.io, settings_.step_timeout);
    bool timed_out = false;
    deadline.async_wait([&timed_out, tar_pid = tar->pid, ssh_pid = session->pid, this](const boost::system::error_code& ec) {
      if (ec) return;
      timed_out = true;
      if (runtime_.reaper.running(tar_pid)) ::kill(-tar_pid, SIGKILL);
      if (runtime_.reaper.running(ssh_pid)) ::kill(-ssh_pid, SIGKILL);
    });
    std::string tar_errors, output, errors;
    co_await (copy_and_close(*tar->out, *session->in) && read_to_end(*tar->err, &tar_errors) &&
              read_to_end(*session->out, &output) && read_to_end(*session->err, &errors));
    const int tar_status = co_await runtime_.reaper.wait(tar->pid);
    const int status = co_await runtime_.reaper.wait(session->pid);
    deadline.cancel();
    std::string failure;
    if (timed_out) {
      failure = fmt::format("cannot set up the nodes' folders: no answer within {} s",
                            settings_.step_timeout.count() / 1000);
    } else if (!WIFEXITED(tar_status) || WEXITSTATUS(tar_status) != 0) {
      const std::string detail = last_line(tar_errors);
      failure = fmt::format("cannot pack the nodes' files ({}{})", describe_wait_status(tar_status),
                            detail.empty() ? "" : ": " + detail);
    } else {
      const std::string detail = last_line(errors);
      failure = fmt::format("cannot set up the node's folder under {} ({}{})", parent, describe_wait_status(status),
                            detail.empty() ? "" : ": " + detail);
    }
    co_return lay_out_errors(output, folders, failure);
  }

  // One session for several files: for each, "@file SIZE" and its bytes, or "@no-file".
  // The nodes have ended, so the files no longer change between the two.
  asio::awaitable<std::vector<std::string>> get_files(const std::vector<std::string>& remote,
                                                      const std::vector<fs::path>& local) override {
    using namespace asio::experimental::awaitable_operators;
    std::string script = "for f in " + shell_join(remote) + "; do\n";
    script += "  if [ -f \"$f\" ] && [ -r \"$f\" ] && n=$(wc -c < \"$f\"); then echo @file $n; cat -- \"$f\";\n";
    script += "  else echo @no-file; fi\n";
    script += "done\n";
    SpawnSpec session_spec = spec(kClient, script);
    std::string error;
    auto session = spawn_child(runtime_.io, runtime_.reaper, session_spec, &error);
    if (!session) co_return std::vector<std::string>(remote.size(), error);
    session->in->close();
    asio::steady_timer deadline(runtime_.io, settings_.step_timeout);
    bool timed_out = false;
    deadline.async_wait([&timed_out, pid = session->pid, this](const boost::system::error_code& ec) {
      if (ec || !runtime_.reaper.running(pid)) return;
      timed_out = true;
      ::kill(-pid, SIGKILL);
    });
    std::vector<std::string> errors(remote.size());
    std::size_t done = 0;
    std::string errors_text;
    co_await (receive_files(*session->out, remote, local, errors, done) && read_to_end(*session->err, &errors_text));
    const int status = co_await runtime_.reaper.wait(session->pid);
    deadline.cancel();
    if (done < remote.size()) {
      const std::string detail = last_line(errors_text);
      const std::string why = timed_out ? std::string("timed out") : describe_wait_status(status);
      for (std::size_t i = done; i < remote.size(); ++i) {
        errors[i] = fmt::format("cannot fetch {}: {}{}", remote[i], why, detail.empty() ? "" : ": " + detail);
      }
    }
    co_return errors;
  }

  asio::awaitable<bool> has_executable(const std::string& path) override {
    SpawnSpec test = spec(kClient, "test -f " + shell_quote(path) + " && test -x " + shell_quote(path));
    std::string no_input;
    auto result = co_await run_process(runtime_.io, runtime_.reaper, std::move(test), std::move(no_input),
                                       settings_.step_timeout);
    co_return result.ok();
  }

  asio::awaitable<StepResult> terminate(long long pid) override {
    const std::string quoted = shell_quote(std::to_string(pid));
    std::string script = "kill -TERM " + quoted + " && kill -CONT " + quoted,
                what = fmt::format("cannot stop process {}", pid);
    co_return co_await shell_step(script, std::string(), what);
  }

  asio::awaitable<StepResult> kill(long long pid) override {
    std::string script = "kill -KILL " + shell_quote(std::to_string(pid)), what = fmt::format("cannot kill process {}", pid);
    co_return co_await shell_step(script, std::string(), what);
  }

  asio::awaitable<void> close() override {
    if (master_pid_ <= 0) co_return;
    if (runtime_.reaper.running(master_pid_)) {
      SpawnSpec exit_spec = spec(kExitMaster);
      std::string no_input;
      co_await run_process(runtime_.io, runtime_.reaper, std::move(exit_spec), std::move(no_input), 10s);
      if (runtime_.reaper.running(master_pid_)) ::kill(master_pid_, SIGTERM);
    }
    co_await runtime_.reaper.wait(master_pid_);
    master_pid_ = -1;
  }

 private:
  std::vector<std::string> with_destination(const std::vector<std::string>& options, std::string remote = {}) const {
    std::vector<std::string> argv = base_;
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("--");
    argv.push_back(address_.host);
    if (!remote.empty()) argv.push_back(std::move(remote));
    return argv;
  }

  // Built outside coroutine expressions: g++ 12 mishandles braced temporaries in co_await.
  SpawnSpec spec(const std::vector<std::string>& options, std::string remote = {}) const {
    SpawnSpec spawn;
    spawn.argv = with_destination(options, std::move(remote));
    return spawn;
  }

  asio::awaitable<StepResult> shell_step(std::string script, std::string input, std::string what) {
    SpawnSpec step = spec(kClient, script);
    auto result = co_await run_process(runtime_.io, runtime_.reaper, std::move(step), std::move(input),
                                       settings_.step_timeout);
    if (!result.ok()) co_return StepResult{what + ": " + result.failure()};
    co_return StepResult{};
  }

  // Reads get_files' stream: each file is written to <local>.tmp as its bytes arrive,
  // then renamed into place; `done` counts the files answered for.
  static asio::awaitable<void> receive_files(asio::posix::stream_descriptor& pipe, const std::vector<std::string>& remote,
                                             const std::vector<fs::path>& local, std::vector<std::string>& errors,
                                             std::size_t& done) {
    std::string buffer;
    char chunk[65536];
    bool in_file = false;
    uint64_t left = 0;
    std::ofstream file;
    fs::path temporary;
    while (done < remote.size()) {
      if (!in_file) {
        const auto end = buffer.find('\n');
        if (end != std::string::npos) {
          const std::string line = buffer.substr(0, end);
          buffer.erase(0, end + 1);
          if (line == "@no-file") {
            errors[done] = fmt::format("{}: no such file", remote[done]);
            ++done;
            continue;
          }
          if (!line.starts_with("@file ")) {
            errors[done] = fmt::format("cannot fetch {}: unexpected answer '{}'", remote[done], line.substr(0, 200));
            co_return;
          }
          left = std::strtoull(line.c_str() + 6, nullptr, 10);
          temporary = local[done];
          temporary += ".tmp";
          file.open(temporary, std::ios::binary | std::ios::trunc);
          in_file = true;
        }
      }
      if (in_file) {
        const std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(left, buffer.size()));
        file.write(buffer.data(), static_cast<std::streamsize>(take));
        buffer.erase(0, take);
        left -= take;
        if (left == 0) {
          file.close();
          std::error_code ec;
          if (!file) {
            errors[done] = fmt::format("cannot write {}: {}", temporary.string(), std::strerror(errno));
            fs::remove(temporary, ec);
          } else {
            fs::rename(temporary, local[done], ec);
            if (ec) errors[done] = fmt::format("cannot write {}: {}", local[done].string(), ec.message());
          }
          file.clear();
          in_file = false;
          ++done;
          continue;
        }
      }
      boost::system::error_code ec;
      const std::size_t n =
          co_await pipe.async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
      buffer.append(chunk, n);
      if (ec) {
        if (in_file) {
          file.close();
          std::error_code ignored;
          fs::remove(temporary, ignored);
        }
        co_return;
      }
    }
    // Past the last file: drain, so the session can end.
    std::string rest;
    co_await read_to_end(pipe, &rest, 0);
  }

  // Bytes from a local program's output into another's input, which is then closed.
  static asio::awaitable<void> copy_and_close(asio::posix::stream_descriptor& from, asio::posix::stream_descriptor& to) {
    char chunk[65536];
    bool writing = true;
    while (true) {
      boost::system::error_code ec;
      const std::size_t n =
          co_await from.async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
      if (n > 0 && writing) {
        boost::system::error_code write_error;
        co_await asio::async_write(to, asio::buffer(chunk, n), asio::redirect_error(asio::use_awaitable, write_error));
        writing = !write_error;  // the remote end gave up: keep draining so the producer ends
      }
      if (ec) break;
    }
    boost::system::error_code ignored;
    to.close(ignored);
  }

  Runtime runtime_;
  NodeAddress address_;
  SshSettings settings_;
  std::vector<std::string> base_;
  std::optional<Child> master_;
  pid_t master_pid_ = -1;
  std::string master_errors_, master_output_;
};

}  // namespace

std::unique_ptr<Transport> make_ssh_transport(Runtime runtime, NodeAddress address, SshSettings settings,
                                              fs::path control_dir) {
  return std::make_unique<SshTransport>(runtime, std::move(address), std::move(settings), std::move(control_dir));
}

}  // namespace bm::master
