// choose_test_function: which function of a test file runs (FunkLoad's test_shop in
// test_Shop.lua, Class.method names, -e), and ScriptState::global_functions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "script/script_state.hpp"
#include "script/test_function.hpp"

namespace bm::script {
namespace {

using ::testing::HasSubstr;

struct Choice {
  std::string function;
  std::string error;
};

Choice choose(std::string_view wanted, const std::vector<std::string>& functions) {
  Choice c;
  c.function = choose_test_function("test_Shop.lua", "Shop", wanted, functions, &c.error);
  EXPECT_NE(c.function.empty(), c.error.empty()) << c.function << " / " << c.error;
  return c;
}

TEST(TestFunction, TestNameWhenDefined) {
  EXPECT_EQ(choose("", {"print", "test_Shop", "test_other"}).function, "test_Shop");
}

TEST(TestFunction, TheOnlyTestFunctionWhateverItsName) {
  // FunkLoad's test_Shop.py held class Shop with method test_shop.
  EXPECT_EQ(choose("", {"helper", "print", "setup", "test_shop"}).function, "test_shop");
}

TEST(TestFunction, SeveralTestFunctionsListedWithHowToChoose) {
  const Choice c = choose("", {"print", "test_browse", "test_buy"});
  EXPECT_EQ(c.function, "");
  EXPECT_EQ(c.error,
            "test_Shop.lua: defines no function 'test_Shop' and several test functions (test_browse, test_buy): "
            "choose one with -e/--function, e.g. -e test_browse (or Shop.test_browse after the test file)");
}

TEST(TestFunction, NoTestFunctionAtAll) {
  EXPECT_EQ(choose("", {"helper", "print"}).error,
            "test_Shop.lua: defines no function 'test_Shop' (the test to run), nor any other test_* function");
}

TEST(TestFunction, NamedFunctionAndClassMethodForm) {
  const std::vector<std::string> functions{"print", "scenario", "test_browse", "test_buy"};
  EXPECT_EQ(choose("test_buy", functions).function, "test_buy");
  EXPECT_EQ(choose("scenario", functions).function, "scenario");
  EXPECT_EQ(choose("Shop.test_buy", functions).function, "test_buy");
  EXPECT_EQ(choose("test_pay", functions).error,
            "test_Shop.lua: defines no function 'test_pay' (its test functions: test_browse, test_buy)");
  EXPECT_THAT(choose("Store.test_buy", functions).error,
              HasSubstr("'Store.test_buy': give the function as Shop.test_name or test_name"));
  EXPECT_THAT(choose("Shop.", functions).error, HasSubstr("'Shop.'"));
}

TEST(TestFunction, GlobalFunctionsOfALoadedFile) {
  const std::filesystem::path file = std::filesystem::path(::testing::TempDir()) / "test_Listed.lua";
  std::ofstream(file) << "local function hidden() end\n"
                         "function test_one(vu) end\n"
                         "helper = function() end\n"
                         "test_value = 3\n"
                         "_G[1] = function() end\n";
  ScriptState state;
  ScriptIdentity identity;
  std::string error;
  ASSERT_TRUE(state.load(file, nullptr, identity, &error)) << error;
  const std::vector<std::string> functions = state.global_functions();
  EXPECT_TRUE(std::is_sorted(functions.begin(), functions.end()));
  for (const char* name : {"test_one", "helper", "conf_get", "print"}) {
    EXPECT_THAT(functions, ::testing::Contains(name));
  }
  for (const char* name : {"hidden", "test_value"}) {
    EXPECT_THAT(functions, ::testing::Not(::testing::Contains(name)));
  }
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace bm::script
