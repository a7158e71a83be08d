// What every transport shares: the per-host steps written once over the per-file ones
// (for transports that have no faster way), and the script that lays out a host's
// workspaces from one tar stream.

// g++ 12 misreads Asio's coroutine frames (allocated with aligned_alloc, freed by the
// frame's own sized operator delete, which calls free) as mismatched new/delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <sstream>

#include <fmt/format.h>

#include "master/shell.hpp"
#include "master/transport.hpp"
#include "master/workspace.hpp"

namespace bm::master {

namespace fs = std::filesystem;

asio::awaitable<std::vector<std::string>> Transport::lay_out(const fs::path& stage, const std::string& parent,
                                                             const std::vector<std::string>& folders) {
  std::vector<std::string> errors;
  for (const std::string& folder : folders) {
    const std::string target = join_remote(parent, folder);
    StepResult step = co_await remove_tree(target);
    if (step.ok()) step = co_await make_dir(target);
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(stage / folder, ec); step.ok() && !ec && it != fs::end(it);
         it.increment(ec)) {
      const std::string remote = join_remote(target, fs::relative(it->path(), stage / folder).generic_string());
      const fs::path local = it->path();
      if (it->is_directory()) {
        step = co_await make_dir(remote);
      } else {
        step = co_await put_file(local, remote, false);
      }
    }
    if (ec && step.ok()) step.error = fmt::format("cannot read {}: {}", (stage / folder).string(), ec.message());
    errors.push_back(step.error);
  }
  co_return errors;
}

asio::awaitable<std::vector<std::string>> Transport::get_files(const std::vector<std::string>& remote,
                                                               const std::vector<fs::path>& local) {
  std::vector<std::string> errors;
  for (std::size_t i = 0; i < remote.size(); ++i) {
    const StepResult step = co_await get_file(remote[i], local[i]);
    errors.push_back(step.error);
  }
  co_return errors;
}

asio::awaitable<bool> Transport::has_executable(const std::string&) { co_return false; }

std::string lay_out_script(const std::string& parent, const std::vector<std::string>& folders) {
  // The temporary folder sits beside the workspaces (same file system: mv is a rename)
  // and goes away however the script ends; a lost connection (HUP) ends it too.
  std::string script = "d=" + shell_quote(parent) + "; t=\"$d/.set-up-$$\"\n";
  script += "trap 'rm -rf -- \"$t\"' EXIT; trap 'exit 1' HUP INT TERM PIPE\n";
  script += "mkdir -p -- \"$d\" && rm -rf -- \"$t\" && mkdir -- \"$t\" || exit 1\n";
  // -o: the files belong to the remote user, whoever owned them on the master.
  script += "tar -x -o -f - -C \"$t\" || exit 1\n";
  script += fmt::format("[ -f \"$t/{}\" ] || {{ echo 'the set-up archive ended early' >&2; exit 1; }}\n", kLayOutEnd);
  script += "for n in " + shell_join(folders) + "; do\n";
  script += "  if [ -d \"$t/$n\" ] && rm -rf -- \"$d/$n\" && mv -- \"$t/$n\" \"$d/$n\"; then echo \"@laid-out $n\";\n";
  script += "  else echo \"@not-laid-out $n\"; fi\n";
  script += "done\n";
  return script;
}

std::vector<std::string> lay_out_errors(const std::string& output, const std::vector<std::string>& folders,
                                        const std::string& failure) {
  std::vector<std::string> errors(folders.size(), failure);
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const bool laid_out = line.starts_with("@laid-out ");
    if (!laid_out && !line.starts_with("@not-laid-out ")) continue;
    const std::string name = line.substr(line.find(' ') + 1);
    for (std::size_t i = 0; i < folders.size(); ++i) {
      if (folders[i] == name) errors[i] = laid_out ? "" : fmt::format("cannot move {} into place", name);
    }
  }
  return errors;
}

}  // namespace bm::master
