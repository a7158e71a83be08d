// The `local` transport: node processes are the master's children; files are copied
// with the filesystem, not a subprocess.

#include <signal.h>

#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "master/transport.hpp"

namespace bm::master {

namespace fs = std::filesystem;

namespace {

std::string copy_into_place(const fs::path& from, const fs::path& to, bool executable) {
  std::error_code ec;
  fs::path temporary = to;
  temporary += ".tmp";
  fs::copy_file(from, temporary, fs::copy_options::overwrite_existing, ec);
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

  asio::awaitable<StepResult> terminate(long long pid) override {
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), SIGTERM) != 0) {
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
