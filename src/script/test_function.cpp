#include "script/test_function.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace bm::script {

namespace {

std::vector<std::string> test_functions_of(const std::vector<std::string>& functions) {
  std::vector<std::string> tests;
  for (const std::string& f : functions) {
    if (f.starts_with("test_")) tests.push_back(f);
  }
  return tests;
}

std::string listed(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

}  // namespace

std::string choose_test_function(std::string_view file_name, std::string_view test_name, std::string_view wanted,
                                 const std::vector<std::string>& functions, std::string* error) {
  const auto defined = [&](std::string_view name) {
    return std::find(functions.begin(), functions.end(), name) != functions.end();
  };
  const std::vector<std::string> tests = test_functions_of(functions);
  const std::string its_tests = tests.empty() ? "it defines no test_* function"
                                              : fmt::format("its test functions: {}", listed(tests));
  if (!wanted.empty()) {
    std::string_view function = wanted;
    if (const std::size_t dot = wanted.rfind('.'); dot != std::string_view::npos) {
      const std::string_view prefix = wanted.substr(0, dot);
      function = wanted.substr(dot + 1);
      if (prefix != test_name || function.empty()) {
        *error = fmt::format("{}: '{}': give the function as {}.test_name or test_name (the test is named {})",
                             file_name, wanted, test_name, test_name);
        return {};
      }
    }
    if (!defined(function)) {
      *error = fmt::format("{}: defines no function '{}' ({})", file_name, function, its_tests);
      return {};
    }
    return std::string(function);
  }
  const std::string default_function = fmt::format("test_{}", test_name);
  if (defined(default_function)) return default_function;
  if (tests.size() == 1) return tests.front();
  if (tests.empty()) {
    *error = fmt::format("{}: defines no function '{}' (the test to run), nor any other test_* function", file_name,
                         default_function);
  } else {
    *error = fmt::format("{}: defines no function '{}' and several test functions ({}): choose one with "
                         "-e/--function, e.g. -e {} (or {}.{} after the test file)",
                         file_name, default_function, listed(tests), tests.front(), test_name, tests.front());
  }
  return {};
}

}  // namespace bm::script
