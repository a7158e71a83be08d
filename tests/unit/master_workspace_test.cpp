// What bench-master sends each node of a feeder: its part or the whole file, and the
// conf line that says which part it is.
#include <gtest/gtest.h>

#include <fstream>

#include "master/workspace.hpp"
#include "test_folder.hpp"

namespace bm::master {
namespace {

TEST(MasterWorkspace, FeedersAreSplitByNodeUnlessWhole) {
  testing::TestFolder folder("master-workspace");
  std::ofstream(folder.path() / "test_Shop.lua") << "function test_Shop(vu) end\n";
  std::ofstream(folder.path() / "Shop.conf")
      << "[main]\nurl = http://127.0.0.1:1/\n[feeder.users]\nfile = users.csv\n"
         "[feeder.items]\nfile = items.csv\npartition = whole\n[distribute]\nfiles = users.csv\n";
  std::ofstream(folder.path() / "users.csv") << "login\nu0\nu1\nu2\nu3\nu4\n";
  std::ofstream(folder.path() / "items.csv") << "item\n\"a, b\"\n";
  std::string error;
  std::optional<TestBundle> bundle =
      load_test_bundle(folder.path() / "test_Shop.lua", folder.path() / "Shop.conf", &error);
  ASSERT_TRUE(bundle) << error;
  EXPECT_TRUE(bundle->data_files.empty()) << "a feeder's file is sent by the feeder's rule, not twice";
  ASSERT_TRUE(bundle->feeders);
  const feeder::Feeder& users = *bundle->feeders->find("users");
  const feeder::Feeder& items = *bundle->feeders->find("items");
  EXPECT_EQ(feeder_file_for(users, 1, 2), "login\r\nu1\r\nu3\r\n");
  EXPECT_EQ(feeder_file_for(users, 0, 2), "login\r\nu0\r\nu2\r\nu4\r\n");
  EXPECT_EQ(feeder_file_for(items, 1, 2), "item\r\n\"a, b\"\r\n") << "whole: every node gets every row";

  const std::optional<conf::ConfFile> node1 = conf::ConfFile::parse(tailored_conf(bundle->conf, 1, 2), "n1", &error);
  ASSERT_TRUE(node1) << error;
  EXPECT_EQ(node1->get("feeder.users", "part"), "1/2");
  EXPECT_FALSE(node1->has_key("feeder.items", "part"));

  EXPECT_EQ(check_feeder_parts(*bundle, 5), "");
  EXPECT_EQ(check_feeder_parts(*bundle, 6),
            "[feeder.users] users.csv: 5 rows for 6 nodes: each node needs one at least (add rows, or partition = "
            "whole to give every node every row)");
}

TEST(MasterWorkspace, AFeederFileOutsideTheTestFolderIsRefused) {
  testing::TestFolder folder("master-workspace");
  std::ofstream(folder.path() / "Shop.conf") << "[feeder.users]\nfile = ../users.csv\n";
  std::string error;
  EXPECT_FALSE(load_test_bundle(folder.path() / "test_Shop.lua", folder.path() / "Shop.conf", &error));
  EXPECT_EQ(error, (folder.path() / "Shop.conf").string() +
                       ":2: [feeder.users] file: '../users.csv' must be a path inside the test's folder");
}

}  // namespace
}  // namespace bm::master
