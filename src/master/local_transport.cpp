// The `local` transport: node processes are the master's children; files are copied
// with the filesystem, not a subprocess.

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <system_error>

// g++ 12 misreads Asio's coroutine frames (allocated with aligned_alloc, freed by the
// frame's own sized operator delete, which calls free) as mismatched new/delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>

#include "common/files.hpp"
#include "master/transport.hpp"

namespace bm::master {

namespace fs = std::filesystem;

namespace {

std::string copy_into_place(const fs::path& from, const fs::path& to, bool executable) {
  std::error_code ec;
  fs::path temporary = to;
  temporary += ".tmp";
  common::copy_file_restarting(from, temporary, fs::copy_options::overwrite_existing, ec);
  if (!ec && executable) {
    fs::permissions(temporary, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                   fs::perms::others_read | fs::perms::others_exec, ec);
  }
  if (!ec) fs::rename(temporary, to, ec);
  if (ec) {
    fs::remove(temporary);
    return fmt::format("cannot copy {} to {}: {}", from.string(), to.string(), ec.message());
  }
  return {};
}

class LocalTransport final : public Transport {
 public:
  explicit LocalTransport(Runtime runtime) : runtime_(runtime) {}

  std::string describe() const override { return "local"; }

  asio::awaitable<StepResult> open() override { co_return StepResult{}; }

  SpawnSpec spawn_spec(const NodeCommand& command) const override {
    SpawnSpec spec;
    spec.argv = command.argv;
    for (const auto& [name, value] : command.env) spec.env.push_back(name + "=" + value);
    return spec;
  }

  asio::awaitable<StepResult> make_dir(const std::string& path) override {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) co_return StepResult{fmt::format("cannot create {}: {}", path, ec.message())};
    co_return StepResult{};
  }

  asio::awaitable<StepResult> remove_tree(const std::string& path) override {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) co_return StepResult{fmt::format("cannot remove {}: {}", path, ec.message())};
    co_return StepResult{};
  }

  asio::awaitable<StepResult> put_file(const fs::path& local, const std::string& remote, bool executable) override {
    co_return StepResult{copy_into_place(local, remote, executable)};
  }

  asio::awaitable<StepResult> get_file(const std::string& remote, const fs::path& local) override {
    std::error_code ec;
    if (!fs::exists(remote, ec)) co_return StepResult{fmt::format("{}: no such file", remote)};
    co_return StepResult{copy_into_place(remote, local, false)};
  }

  // Copied into a temporary folder beside the workspaces, then each renamed into place.
  asio::awaitable<std::vector<std::string>> lay_out(const fs::path& stage, const std::string& parent,
                                                    const std::vector<std::string>& folders) override {
    std::vector<std::string> errors(folders.size());
    std::error_code ec;
    const fs::path temporary = fs::path(parent) / fmt::format(".set-up-{}", ::getpid());
    fs::create_directories(parent, ec);
    if (!ec) fs::remove_all(temporary, ec);
    if (!ec) fs::create_directory(temporary, ec);
    for (std::size_t i = 0; i < folders.size() && !ec; ++i) {
      // Symbolic links in the stage are followed: the node gets the files.
      common::copy_restarting(stage / folders[i], temporary / folders[i], fs::copy_options::recursive, ec);
    }
    if (ec) {
      const std::string failure = fmt::format("cannot set up the node's folder under {}: {}", parent, ec.message());
      fs::remove_all(temporary, ec);
      co_return std::vector<std::string>(folders.size(), failure);
    }
    for (std::size_t i = 0; i < folders.size(); ++i) {
      const fs::path target = fs::path(parent) / folders[i];
      fs::remove_all(target, ec);
      if (!ec) fs::rename(temporary / folders[i], target, ec);
      if (ec) errors[i] = fmt::format("cannot move {} into place: {}", target.string(), ec.message());
    }
    fs::remove_all(temporary, ec);
    co_return errors;
  }

  asio::awaitable<bool> has_executable(const std::string& path) override {
    co_return ::access(path.c_str(), X_OK) == 0 && fs::is_regular_file(path);
  }

  asio::awaitable<StepResult> terminate(long long pid) override {
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), SIGTERM) != 0) {
      co_return StepResult{fmt::format("cannot signal process {}: {}", pid, std::strerror(errno))};
    }
    ::kill(static_cast<pid_t>(pid), SIGCONT);
    co_return StepResult{};
  }

  asio::awaitable<StepResult> kill(long long pid) override {
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), SIGKILL) != 0) {
      co_return StepResult{fmt::format("cannot signal process {}: {}", pid, std::strerror(errno))};
    }
    co_return StepResult{};
  }

  asio::awaitable<void> close() override { co_return; }

 private:
  Runtime runtime_;
};

}  // namespace

std::unique_ptr<Transport> make_local_transport(Runtime runtime) { return std::make_unique<LocalTransport>(runtime); }

}  // namespace bm::master
