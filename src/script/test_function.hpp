#pragma once
// Which function of a test file bench-test, bench-run and bench-node run, from what the
// file defines and what the user named (docs/lua-api.md, "The test function").
#include <string>
#include <string_view>
#include <vector>

namespace bm::script {

// `file_name` is the test file's name for messages ("test_Shop.lua"), `test_name` its
// Name ("Shop"), `functions` the global functions the loaded file leaves (sorted).
// `wanted` is what the user named, with -e/--function or after the test file: a function,
// or FunkLoad's Class.method form "Shop.test_shop" (the part before the dot must be the
// test's Name). Empty: test_<Name> when the file defines it, else the file's only test_*
// function. Returns the function to run, or "" with one line in *error that lists the
// file's test_* functions and how to choose one.
std::string choose_test_function(std::string_view file_name, std::string_view test_name, std::string_view wanted,
                                 const std::vector<std::string>& functions, std::string* error);

}  // namespace bm::script
