// Results files: atomic replacement on write, one-line errors on read.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "stats/results.hpp"

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

// The file's bytes with kResultsTextPadding more allocated behind them (see
// parse_padded_results), read at the size the file has: no copy, no doubling buffer.
std::optional<std::string> read_padded(const fs::path& path, int* error_number) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error_number = errno;
    return std::nullopt;
  }
  struct stat status {};
  std::size_t expected = 0;
  if (::fstat(fd, &status) == 0 && S_ISREG(status.st_mode)) expected = static_cast<std::size_t>(status.st_size);
  std::string text(expected + kResultsTextPadding + 1, '\0');  // +1: the read that finds the end
  std::size_t used = 0;
  for (;;) {
    if (text.size() - used <= kResultsTextPadding) text.resize(text.size() * 2);  // it grew meanwhile
    const ssize_t got = ::read(fd, text.data() + used, text.size() - used - kResultsTextPadding);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      *error_number = errno;
      ::close(fd);
      return std::nullopt;
    }
    if (got == 0) break;
    used += static_cast<std::size_t>(got);
  }
  ::close(fd);
  text.resize(used);  // the capacity, and so the padding, stays
  return text;
}

}  // namespace

namespace {
using Writer = std::function<bool(std::string_view)>;

// Creates <path>.tmp, lets `produce` write the text into it (in pieces, as it makes
// them), then syncs it, renames it over `path` and syncs the folder. A failure or an
// exception on the way removes the temporary; `path` is left as it was.
bool write_atomically(const fs::path& path, const std::function<bool(const Writer&)>& produce, std::string* error) {
  const fs::path temporary = fs::path(path.string() + ".tmp");
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(error, fmt::format("{}: cannot create {}: {}", path.string(), temporary.string(), errno_text()));

  const auto abandon = [&](std::string_view what, const std::string& reason) {
    ::close(fd);
    ::unlink(temporary.c_str());
    return fail(error, fmt::format("{}: {} {}: {}", path.string(), what, temporary.string(), reason));
  };
  std::string write_error;
  const Writer write = [&](std::string_view data) {
    if (write_all(fd, data)) return true;
    write_error = errno_text();
    return false;
  };
  try {
    if (!produce(write)) return abandon("cannot write", write_error.empty() ? "stopped" : write_error);
  } catch (const std::exception& e) {
    ::close(fd);
    ::unlink(temporary.c_str());
    return fail(error, fmt::format("{}: cannot serialise results: {}", path.string(), e.what()));
  }
  if (::fsync(fd) != 0) return abandon("cannot sync", errno_text());
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
}  // namespace

bool write_file_atomic(const fs::path& path, std::string_view data, std::string* error) {
  return write_atomically(path, [&](const Writer& write) { return write(data); }, error);
}

bool write_results_atomic(const Results& results, const fs::path& path, std::string* error) {
  // Written as it is made: a merged file of 100+ MB is never one string in memory.
  return write_atomically(path, [&](const Writer& write) { return write_results_text(results, write); }, error);
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
  const std::optional<std::string> text = read_padded(path, &error_number);
  if (!text) return fail(error, fmt::format("{}: cannot open: {}", path.string(), std::strerror(error_number)));

  std::string problem;
  if (!parse_padded_results(*text, out, &problem)) return fail(error, fmt::format("{}: {}", path.string(), problem));
  return true;
}

}  // namespace bm::stats
