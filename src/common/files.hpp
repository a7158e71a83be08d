#pragma once
// Small helpers every part uses the same way: reading a whole file, copying files.
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

namespace bm::common {

// The file's bytes; nullopt with *error_number (errno) set when it cannot be opened or
// read. Callers word the message, naming what the file was for.
std::optional<std::string> read_whole_file(const std::filesystem::path& path, int* error_number);

// std::filesystem::copy_file and copy, started again when a signal interrupted them
// (EINTR): a process that handles SIGCHLD without SA_RESTART (bench-master, through
// Asio) sees that whenever a child ends during a copy.
void copy_file_restarting(const std::filesystem::path& from, const std::filesystem::path& to,
                          std::filesystem::copy_options options, std::error_code& ec);
void copy_restarting(const std::filesystem::path& from, const std::filesystem::path& to,
                     std::filesystem::copy_options options, std::error_code& ec);

}  // namespace bm::common
