// Loading a test before a run: the conf beside it, the command line over it, the test
// file loaded once (a syntax error is one file:line line), the test function chosen.
#include "engine/test_loader.hpp"

#include "test_folder.hpp"

#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace bm::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class TestLoader : public ::testing::Test {
 protected:
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::unique_ptr<LoadedTest> load(const std::string& file, conf::Mode mode = conf::Mode::bench) {
    TestSpec spec;
    spec.test_file = (dir_ / file).string();
    error_.clear();
    return load_test(spec, mode, &error_);
  }

  bm::testing::TestFolder folder_{"bm-loader"};
  const fs::path& dir_ = folder_.path();
  std::string error_;
};

TEST_F(TestLoader, ReadsTheConfBesideTheTestAndChoosesItsFunction) {
  write("test_Shop.lua", "function test_Shop(vu) end\n");
  write("Shop.conf", "[main]\nurl = http://127.0.0.1:9\n[bench]\ncycles = 2:4\nduration = 3\n");
  auto test = load("test_Shop.lua");
  ASSERT_TRUE(test) << error_;
  EXPECT_EQ(test->engine.test_function, "test_Shop");
  EXPECT_EQ(test->engine.identity.test_name, "Shop");
  EXPECT_EQ(test->engine.bench.cycles, (std::vector<int>{2, 4}));
  EXPECT_EQ(test->engine.bench.duration_s, 3);
  EXPECT_EQ(test->engine.conf, &test->conf);
}

TEST_F(TestLoader, TheFilesOnlyTestFunctionRunsWhateverItsName) {
  write("test_Shop.lua", "function test_shop(vu) end\nfunction helper() end\n");
  write("Shop.conf", "[main]\nurl = http://127.0.0.1:9\n");
  auto test = load("test_Shop.lua");
  ASSERT_TRUE(test) << error_;
  EXPECT_EQ(test->engine.test_function, "test_shop");
}

TEST_F(TestLoader, ASyntaxErrorIsOneLineWithItsPlace) {
  write("test_Shop.lua", "function test_Shop(vu)\n  if then\nend\n");
  write("Shop.conf", "[main]\nurl = http://127.0.0.1:9\n");
  EXPECT_FALSE(load("test_Shop.lua"));
  EXPECT_THAT(error_, HasSubstr("test_Shop.lua:2:"));
  EXPECT_EQ(error_.find('\n'), std::string::npos) << error_;
}

TEST_F(TestLoader, MissingFilesAndUrlAreNamed) {
  EXPECT_FALSE(load("test_Absent.lua"));
  EXPECT_THAT(error_, HasSubstr("test_Absent.lua: no such test file"));
  write("test_Shop.lua", "function test_Shop(vu) end\n");
  EXPECT_FALSE(load("test_Shop.lua"));
  EXPECT_THAT(error_, HasSubstr("Shop.conf: no such conf file"));
  write("Shop.conf", "[main]\ntitle = no url\n");
  EXPECT_FALSE(load("test_Shop.lua"));
  EXPECT_THAT(error_, HasSubstr("[main] url is not set"));
}

TEST_F(TestLoader, SeveralTestFunctionsAndNoneNamedAreListed) {
  write("test_Shop.lua", "function test_browse(vu) end\nfunction test_buy(vu) end\n");
  write("Shop.conf", "[main]\nurl = http://127.0.0.1:9\n");
  EXPECT_FALSE(load("test_Shop.lua"));
  EXPECT_THAT(error_, HasSubstr("test_browse"));
  EXPECT_THAT(error_, HasSubstr("test_buy"));
}

}  // namespace
}  // namespace bm::engine
