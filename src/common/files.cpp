#include "common/files.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace bm::common {

std::optional<std::string> read_whole_file(const std::filesystem::path& path, int* error_number) {
  errno = 0;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    *error_number = errno != 0 ? errno : ENOENT;
    return std::nullopt;
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    *error_number = errno != 0 ? errno : EIO;
    return std::nullopt;
  }
  return std::move(text).str();
}

namespace {
constexpr int kCopyAttempts = 100;
}  // namespace

void copy_file_restarting(const std::filesystem::path& from, const std::filesystem::path& to,
                          std::filesystem::copy_options options, std::error_code& ec) {
  for (int attempt = 0; attempt < kCopyAttempts; ++attempt) {
    ec.clear();
    std::filesystem::copy_file(from, to, options | std::filesystem::copy_options::overwrite_existing, ec);
    if (ec != std::errc::interrupted) return;
  }
}

void copy_restarting(const std::filesystem::path& from, const std::filesystem::path& to,
                     std::filesystem::copy_options options, std::error_code& ec) {
  // Again from the start: what the interrupted attempt copied is overwritten.
  for (int attempt = 0; attempt < kCopyAttempts; ++attempt) {
    ec.clear();
    std::filesystem::copy(from, to, attempt == 0 ? options : options | std::filesystem::copy_options::overwrite_existing,
                          ec);
    if (ec != std::errc::interrupted) return;
  }
}

}  // namespace bm::common
