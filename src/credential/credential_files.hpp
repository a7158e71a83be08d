#pragma once
// FunkLoad's credential files, read unchanged:
//   passwords file  `login:password` per line, split at the first ':'
//   groups file     `group:login1, login2, ...`; a group named again gets more members
// Blank lines and lines starting with '#' are skipped; spaces around fields are trimmed.
// Stricter than FunkLoad: a line without ':', an empty login, a login given twice, or a
// group member that has no password is a "file:line: message" error, not skipped.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bm::credential {

struct Credential {
  std::string login;
  std::string password;
  bool operator==(const Credential&) const = default;
};

struct CredentialBook {
  std::vector<Credential> credentials;  // in file order
  // Members of each group, as indexes into `credentials`, in the order the groups file
  // names them. The unnamed group "" holds every credential, in file order.
  std::map<std::string, std::vector<std::size_t>, std::less<>> groups;
};

// `passwords_name` and `groups_name` are what messages call the files.
std::optional<CredentialBook> parse_credentials(std::string_view passwords, const std::string& passwords_name,
                                                std::string_view groups, const std::string& groups_name,
                                                std::string* error);
// groups_file may be empty: then only the unnamed group exists.
std::optional<CredentialBook> read_credential_files(const std::filesystem::path& passwords_file,
                                                    const std::filesystem::path& groups_file, std::string* error);

}  // namespace bm::credential
