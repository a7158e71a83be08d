#include "credential/credential_files.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "common/files.hpp"
#include "common/location.hpp"

namespace bm::credential {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// Calls fn(line_number, line) for every line that is not blank or a comment; stops at
// the first false.
template <class Fn>
bool for_each_line(std::string_view text, Fn fn) {
  int number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    if (line.empty() || line.front() == '#') continue;
    if (!fn(number, line)) return false;
  }
  return true;
}

bool printable(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::optional<CredentialBook> parse_credentials(std::string_view passwords, const std::string& passwords_name,
                                                std::string_view groups, const std::string& groups_name,
                                                std::string* error) {
  CredentialBook book;
  std::unordered_map<std::string, std::size_t> index_of;
  const auto fail = [&](const std::string& file, int line, std::string message) {
    *error = common::located(file, line, message);
    return false;
  };
  bool ok = for_each_line(passwords, [&](int number, std::string_view line) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return fail(passwords_name, number, "expected login:password");
    }
    const std::string login(trim(line.substr(0, colon)));
    const std::string password(trim(line.substr(colon + 1)));
    if (login.empty()) return fail(passwords_name, number, "empty login before ':'");
    if (!printable(login) || !printable(password)) return fail(passwords_name, number, "control character in the line");
    if (!index_of.emplace(login, book.credentials.size()).second) {
      return fail(passwords_name, number, fmt::format("login '{}' is given twice", login));
    }
    book.credentials.push_back({login, password});
    return true;
  });
  if (!ok) return std::nullopt;
  if (book.credentials.empty()) {
    *error = fmt::format("{}: no credentials (expected login:password lines)", passwords_name);
    return std::nullopt;
  }
  std::vector<std::size_t>& everyone = book.groups[""];
  for (std::size_t i = 0; i < book.credentials.size(); ++i) everyone.push_back(i);

  ok = for_each_line(groups, [&](int number, std::string_view line) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(groups_name, number, "expected group:login1, login2, ...");
    const std::string group(trim(line.substr(0, colon)));
    if (group.empty()) return fail(groups_name, number, "empty group name before ':'");
    if (!printable(group)) return fail(groups_name, number, "control character in the group name");
    std::vector<std::size_t>& members = book.groups[group];
    std::string_view rest = line.substr(colon + 1);
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view login = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (login.empty()) continue;
      const auto found = index_of.find(std::string(login));
      if (found == index_of.end()) {
        return fail(groups_name, number,
                    fmt::format("group '{}': login '{}' is not in {}", group, login, passwords_name));
      }
      if (std::find(members.begin(), members.end(), found->second) == members.end()) members.push_back(found->second);
    }
    if (members.empty()) return fail(groups_name, number, fmt::format("group '{}' has no members", group));
    return true;
  });
  if (!ok) return std::nullopt;
  return book;
}

std::optional<CredentialBook> read_credential_files(const std::filesystem::path& passwords_file,
                                                    const std::filesystem::path& groups_file, std::string* error) {
  const auto read = [&](const std::filesystem::path& path, const char* what) -> std::optional<std::string> {
    int error_number = 0;
    std::optional<std::string> text = common::read_whole_file(path, &error_number);
    if (!text) *error = fmt::format("cannot read the {} file {}: {}", what, path.string(), std::strerror(error_number));
    return text;
  };
  const std::optional<std::string> passwords = read(passwords_file, "credentials");
  if (!passwords) return std::nullopt;
  std::string groups;
  if (!groups_file.empty()) {
    std::optional<std::string> text = read(groups_file, "groups");
    if (!text) return std::nullopt;
    groups = std::move(*text);
  }
  return parse_credentials(*passwords, passwords_file.string(), groups, groups_file.string(), error);
}

}  // namespace bm::credential
