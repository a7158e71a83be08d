#include <gtest/gtest.h>

#include "master/node_list.hpp"

namespace bm::master {
namespace {

std::vector<std::string> displays(const std::vector<NodeEntry>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes) out.push_back(n.address.display());
  return out;
}

TEST(NodeList, ReadsEveryPsshAndSshForm) {
  std::string error;
  auto nodes = parse_nodes_text(
      "# bench nodes\n"
      "web1\n"
      "web2:2222 bench\n"
      "\n"
      "  ops@web3:22   # a comment\n"
      "local\n"
      "[::1]:2200\n"
      "[fe80::1%eth0] root\n",
      "nodes.txt", &error);
  ASSERT_TRUE(nodes) << error;
  EXPECT_EQ(displays(*nodes), (std::vector<std::string>{"web1", "bench@web2:2222", "ops@web3:22", "local",
                                                          "[::1]:2200", "root@fe80::1%eth0"}));
  EXPECT_EQ((*nodes)[1].address.user, "bench");
  EXPECT_EQ((*nodes)[1].address.port, 2222);
  EXPECT_TRUE((*nodes)[3].address.local);
  EXPECT_EQ((*nodes)[4].address.host, "::1");
  EXPECT_EQ((*nodes)[2].origin, "nodes.txt:5");
}

TEST(NodeList, MultiplierAndRepeatedHostsGiveSeveralNodes) {
  std::string error;
  auto nodes = parse_nodes_text("web1*3\nweb1\nlocal*2\n", "n", &error);
  ASSERT_TRUE(nodes) << error;
  EXPECT_EQ(displays(*nodes), (std::vector<std::string>{"web1", "web1", "web1", "web1", "local", "local"}));
}

TEST(NodeList, OptionListIsCommaSeparated) {
  std::string error;
  auto nodes = parse_nodes_option("127.0.0.1:2222*2,bob@localhost,local", &error);
  ASSERT_TRUE(nodes) << error;
  EXPECT_EQ(displays(*nodes), (std::vector<std::string>{"127.0.0.1:2222", "127.0.0.1:2222", "bob@localhost", "local"}));
}

struct BadLine {
  const char* text;
  const char* message;  // part of the error
};

class NodeListErrors : public testing::TestWithParam<BadLine> {};

TEST_P(NodeListErrors, NameFileAndLine) {
  std::string error;
  std::string text = std::string("web1\n# fine\n") + GetParam().text + "\n";
  EXPECT_FALSE(parse_nodes_text(text, "nodes.txt", &error));
  EXPECT_EQ(error.rfind("nodes.txt:3: ", 0), 0u) << error;
  EXPECT_NE(error.find(GetParam().message), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, NodeListErrors,
    testing::Values(BadLine{"web1:0", "not a port"}, BadLine{"web1:70000", "not a port"},
                    BadLine{"web1:", "missing port"}, BadLine{"web1:x", "not a port"},
                    BadLine{"web1*0", "multiplier"}, BadLine{"web1*", "multiplier"},
                    BadLine{"web1 bob extra", "expected"}, BadLine{"bob@web1 alice", "user is given twice"},
                    BadLine{"we$b1", "not a host"}, BadLine{"a;touch_x", "not a host"},
                    BadLine{"`id`", "not a host"}, BadLine{"-oProxyCommand=x", "not a host"},
                    BadLine{"web1 -lroot", "not a user"}, BadLine{"b'ob@web1", "not a user"},
                    BadLine{"::1", "brackets"}, BadLine{"[::1", "missing ']'"}, BadLine{"local bob", "no user"}));

TEST(NodeList, EmptyFileIsAnError) {
  std::string error;
  EXPECT_FALSE(parse_nodes_text("# nothing\n\n", "nodes.txt", &error));
  EXPECT_EQ(error, "nodes.txt: no nodes in this file");
}

TEST(NodeList, OptionErrorsNameTheItem) {
  std::string error;
  EXPECT_FALSE(parse_nodes_option("web1,,web2", &error));
  EXPECT_EQ(error.rfind("--nodes: item 2: ", 0), 0u) << error;
}

// Found by the node_list fuzz target: "@local" was an SSH host named "local" with no user,
// shown (and grouped) as "local", the local transport.
TEST(NodeList, AnAtSignNeedsAUserBeforeIt) {
  std::string error;
  EXPECT_FALSE(parse_nodes_option("@local*3", &error));
  EXPECT_NE(error.find("'@local': no user before '@'"), std::string::npos) << error;
  EXPECT_FALSE(parse_nodes_option("@web1:2222", &error));
  // Likewise "[local]": brackets hold IPv6 addresses only.
  EXPECT_FALSE(parse_nodes_option("[local]", &error));
  EXPECT_NE(error.find("brackets are for IPv6 addresses only"), std::string::npos) << error;
  EXPECT_FALSE(parse_nodes_option("[web1]:22", &error));
  ASSERT_TRUE(parse_nodes_option("[::1]:22", &error)) << error;
  const auto local = parse_nodes_option("local*2", &error);
  ASSERT_TRUE(local) << error;
  EXPECT_TRUE(local->front().address.local);
  const auto remote = parse_nodes_option("me@local", &error);
  ASSERT_TRUE(remote) << error;
  EXPECT_FALSE(remote->front().address.local);
  EXPECT_EQ(remote->front().address.display(), "me@local");
}

TEST(NodeList, MissingFileIsOneLine) {
  std::string error;
  EXPECT_FALSE(read_nodes_file("/nonexistent/nodes.txt", &error));
  EXPECT_EQ(error.rfind("/nonexistent/nodes.txt: cannot read the nodes file", 0), 0u) << error;
}

}  // namespace
}  // namespace bm::master
