// Results files: atomic replacement on write, one-line errors on read.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "stats/results.hpp"

#include "common/files.hpp"

namespace bm::stats {

namespace fs = std::filesystem;

namespace {
bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

std::string errno_text() { return std::strerror(errno); }

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

// Makes the rename itself durable; file systems that cannot fsync a folder are fine.
void sync_directory(const fs::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

bool write_file_atomic(const fs::path& path, std::string_view data, std::string* error) {
  const fs::path temporary = fs::path(path.string() + ".tmp");
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(error, fmt::format("{}: cannot create {}: {}", path.string(), temporary.string(), errno_text()));

  const auto abandon = [&](std::string_view what) {
    const std::string reason = errno_text();
    ::close(fd);
    ::unlink(temporary.c_str());
    return fail(error, fmt::format("{}: {} {}: {}", path.string(), what, temporary.string(), reason));
  };
  if (!write_all(fd, data)) return abandon("cannot write");
  if (::fsync(fd) != 0) return abandon("cannot sync");
  if (::close(fd) != 0) {
    const std::string reason = errno_text();
    ::unlink(temporary.c_str());
    return fail(error, fmt::format("{}: cannot close {}: {}", path.string(), temporary.string(), reason));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(temporary.c_str());
    return fail(error, fmt::format("{}: cannot replace with {}: {}", path.string(), temporary.string(), reason));
  }
  sync_directory(path.has_parent_path() ? path.parent_path() : fs::path("."));
  return true;
}

bool write_results_atomic(const Results& results, const fs::path& path, std::string* error) {
  std::string text;
  try {
    text = results_to_string(results);
  } catch (const std::exception& e) {
    return fail(error, fmt::format("{}: cannot serialise results: {}", path.string(), e.what()));
  }
  return write_file_atomic(path, text, error);
}

bool read_results(const fs::path& path, Results& out, std::string* error) {
  // The whole file is parsed in memory (several times its size): a file past the limit
  // is refused by its size, before a byte is read, rather than exhausting memory.
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0 && S_ISREG(status.st_mode) &&
      static_cast<uint64_t>(status.st_size) > kMaxResultsFileBytes) {
    return fail(error, fmt::format("{}: {} MiB, over the {} MiB a results file may have", path.string(),
                                   static_cast<uint64_t>(status.st_size) >> 20, kMaxResultsFileBytes >> 20));
  }
  int error_number = 0;
  const std::optional<std::string> text = common::read_whole_file(path, &error_number);
  if (!text) return fail(error, fmt::format("{}: cannot open: {}", path.string(), std::strerror(error_number)));

  std::string problem;
  if (!parse_results(*text, out, &problem)) return fail(error, fmt::format("{}: {}", path.string(), problem));
  return true;
}

}  // namespace bm::stats
