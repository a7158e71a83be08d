#pragma once
// Small helpers every part uses the same way: reading a whole file.
#include <filesystem>
#include <optional>
#include <string>

namespace bm::common {

// The file's bytes; nullopt with *error_number (errno) set when it cannot be opened or
// read. Callers word the message, naming what the file was for.
std::optional<std::string> read_whole_file(const std::filesystem::path& path, int* error_number);

}  // namespace bm::common
