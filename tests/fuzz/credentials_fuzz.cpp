// parse_credentials (bench-credential's passwords and groups files). Never throws; a
// refused file gets one line; every group holds indexes of credentials that exist; the
// unnamed group holds each credential once, in file order.
//
// Input: the passwords file, then, after the first NUL byte, the groups file.
#include "credential/credential_files.hpp"
#include "fuzz_check.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

void check(bool ok, const char* what, const std::string& detail = {}) {
  bm::fuzz::check(ok, "credentials", what, detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string_view passwords = input.substr(0, split);
  const std::string_view groups = split == std::string_view::npos ? std::string_view() : input.substr(split + 1);
  try {
    std::string error;
    const auto book = bm::credential::parse_credentials(passwords, "passwords.txt", groups, "groups.txt", &error);
    if (!book) {
      check(!error.empty() && error.find('\n') == std::string::npos, "the refusal is not one line", error);
      return 0;
    }
    const auto all = book->groups.find("");
    check(all != book->groups.end(), "no unnamed group");
    check(all->second.size() == book->credentials.size(), "the unnamed group is not every credential");
    for (size_t i = 0; i < all->second.size(); ++i) check(all->second[i] == i, "the unnamed group is out of order");
    for (const auto& [name, members] : book->groups) {
      for (size_t index : members) check(index < book->credentials.size(), "a group names a credential that is not there", name);
    }
  } catch (const std::exception& e) {
    check(false, "threw", e.what());
  }
  return 0;
}
