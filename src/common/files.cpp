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

}  // namespace bm::common
