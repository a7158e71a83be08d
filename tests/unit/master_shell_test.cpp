// Every argument that reaches a remote shell goes through shell_quote: check that a real
// POSIX shell reads each quoted word back byte for byte, and runs none of it.

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "master/shell.hpp"
#include "master/transport.hpp"
#include "test_folder.hpp"

namespace bm::master {
namespace {

const std::vector<std::string> kHostile = {
    "plain",
    "",
    "with space",
    "it's",
    "'",
    "''",
    "\"double\"",
    "$HOME",
    "${PATH}",
    "$(touch /tmp/bm-shell-quote-pwned)",
    "`touch /tmp/bm-shell-quote-pwned`",
    "a;touch /tmp/bm-shell-quote-pwned",
    "a && b || c",
    "line1\nline2",
    "tab\there",
    "*",
    "?[a]",
    "~root",
    "-n",
    "back\\slash",
    "NAME=value",
    "!event",
    "#comment",
    "a|b>c<d",
    "ünïcödé",
};

// Runs `sh -c 'printf "%s\0" WORDS'` and returns the words as the shell saw them.
std::vector<std::string> round_trip(const std::vector<std::string>& words) {
  std::string script = "printf '%s\\0' " + shell_join(words);
  std::string command = "sh -c " + shell_quote(script);
  FILE* pipe = ::popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = ::pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::vector<std::string> seen;
  std::size_t start = 0, end;
  while ((end = output.find('\0', start)) != std::string::npos) {
    seen.push_back(output.substr(start, end - start));
    start = end + 1;
  }
  return seen;
}

TEST(ShellQuote, SafeWordsStayBare) {
  EXPECT_EQ(shell_quote("bench-node"), "bench-node");
  EXPECT_EQ(shell_quote("/tmp/bench-node/run_1/node-0"), "/tmp/bench-node/run_1/node-0");
  EXPECT_EQ(shell_quote("1700000000000000"), "1700000000000000");
}

TEST(ShellQuote, EverythingElseIsSingleQuoted) {
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$(x)"), "'$(x)'");
  EXPECT_EQ(shell_quote("A=b"), "'A=b'");  // never read as an assignment
}

TEST(ShellQuote, ShellReadsEveryHostileWordBackUnchanged) {
  std::filesystem::remove("/tmp/bm-shell-quote-pwned");
  EXPECT_EQ(round_trip(kHostile), kHostile);
  EXPECT_FALSE(std::filesystem::exists("/tmp/bm-shell-quote-pwned"));
}

TEST(ShellQuote, RemoteCommandLineSetsVariablesThroughEnv) {
  NodeCommand command{{"bench-node", "/tmp/x y", "label $(id)", "0"}, {{"PSSH_BENCH_RUN", "label $(id)"}}};
  EXPECT_EQ(remote_command_line(command),
            "env 'PSSH_BENCH_RUN=label $(id)' bench-node '/tmp/x y' 'label $(id)' 0; s=$?; echo \"@exit $s\"; "
            "exit \"$s\"");
}

TEST(ShellQuote, RemoteCommandLineSaysHowTheProgramEnded) {
  // A node killed by a signal: the shell names it (ssh itself would say 255).
  NodeCommand command{{"sh", "-c", "kill -9 $$"}, {}};
  std::string line = "sh -c " + shell_quote(remote_command_line(command));
  FILE* pipe = ::popen(line.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[256] = {};
  std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, pipe);
  int status = ::pclose(pipe);
  EXPECT_EQ(std::string(buffer, n), "@exit 137\n");
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 137);
}

TEST(ShellQuote, RemoteCommandLineRunsWhatWasAsked) {
  // The remote shell (sh -c) gets the line ssh would send; env prints the variable and
  // printf the arguments exactly.
  for (const auto& word : kHostile) {
    NodeCommand command{{"sh", "-c", "printf '%s|%s' \"$BM_VALUE\" \"$1\"", "sh", word}, {{"BM_VALUE", word}}};
    std::string line = "sh -c " + shell_quote(remote_command_line(command));
    FILE* pipe = ::popen(line.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    ::pclose(pipe);
    EXPECT_EQ(output, word + "|" + word + "@exit 0\n") << word;
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/bm-shell-quote-pwned"));
}

// Runs `command` under sh with `input` on its standard input (a file); returns its stdout.
std::string run_with_input(const std::string& command, const std::filesystem::path& input, int* status) {
  const std::string line = command + " < " + shell_quote(input.string());
  FILE* pipe = ::popen(line.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  *status = ::pclose(pipe);
  return output;
}

class LayOutScript : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    for (const char* node : {"node-0", "node-1"}) {
      fs::create_directories(stage_ / node / "data");
      std::ofstream(stage_ / node / "test_T.lua") << "function test_T(vu) end\n";
      std::ofstream(stage_ / node / "data" / "users.csv") << std::string(20000, 'x');
    }
    std::ofstream(stage_ / kLayOutEnd).flush();
    const std::string pack = "tar -c -f " + shell_quote(archive_.string()) + " -C " + shell_quote(stage_.string()) +
                             " node-0 node-1 " + kLayOutEnd;
    ASSERT_EQ(std::system(pack.c_str()), 0);
  }

  bm::testing::TestFolder folder_{"bm-lay-out"};
  std::filesystem::path stage_ = folder_.path() / "stage";
  std::filesystem::path archive_ = folder_.path() / "nodes.tar";
  // Hostile on purpose: every part of the script's paths is quoted.
  std::filesystem::path parent_ = folder_.path() / "x $(touch /tmp/bm-shell-quote-pwned) 'q'" / "label;`id`";
};

TEST_F(LayOutScript, LaysOutEveryFolderAndSaysSo) {
  namespace fs = std::filesystem;
  fs::create_directories(parent_ / "node-1" / "results");  // an earlier run's: replaced whole
  const std::vector<std::string> folders{"node-0", "node-1"};
  int status = 0;
  const std::string output =
      run_with_input("sh -c " + shell_quote(lay_out_script(parent_.string(), folders)), archive_, &status);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_EQ(output, "@laid-out node-0\n@laid-out node-1\n");
  EXPECT_EQ(lay_out_errors(output, folders, "failed"), (std::vector<std::string>{"", ""}));
  EXPECT_TRUE(fs::exists(parent_ / "node-0" / "data" / "users.csv"));
  EXPECT_TRUE(fs::exists(parent_ / "node-1" / "test_T.lua"));
  EXPECT_FALSE(fs::exists(parent_ / "node-1" / "results"));
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(parent_)) left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, folders);  // no temporary folder stays
  EXPECT_FALSE(fs::exists("/tmp/bm-shell-quote-pwned"));
}

TEST_F(LayOutScript, AStreamCutHalfwayLeavesNoPartialFolder) {
  namespace fs = std::filesystem;
  fs::create_directories(parent_ / "node-1");
  std::ofstream(parent_ / "node-1" / "from-before") << "kept\n";
  // The first node's files and part of the second's, cut at a block boundary: tar
  // extracts them and ends well (it takes that for the end of the archive).
  fs::resize_file(archive_, 24 * 1024);
  const std::vector<std::string> folders{"node-0", "node-1"};
  int status = 0;
  const std::string output =
      run_with_input("sh -c " + shell_quote(lay_out_script(parent_.string(), folders)) + " 2>/dev/null", archive_,
                     &status);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  EXPECT_EQ(lay_out_errors(output, folders, "tar failed"), (std::vector<std::string>{"tar failed", "tar failed"}));
  EXPECT_FALSE(fs::exists(parent_ / "node-0"));
  EXPECT_TRUE(fs::exists(parent_ / "node-1" / "from-before"));  // the earlier folder, untouched
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(parent_)) left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"node-1"});
}

TEST(LayOutErrors, NamesTheFoldersNotLaidOut) {
  const std::vector<std::string> folders{"node-0", "node-1", "node-2"};
  EXPECT_EQ(lay_out_errors("@laid-out node-0\n@not-laid-out node-1\n", folders, "lost"),
            (std::vector<std::string>{"", "cannot move node-1 into place", "lost"}));
}

TEST(LabelProblem, RefusesWhatCannotNameOneFolder) {
  EXPECT_EQ(label_problem("baseline"), "");
  EXPECT_EQ(label_problem("it's $(x); `y` \"z\" a b"), "");
  EXPECT_NE(label_problem(""), "");
  EXPECT_NE(label_problem("."), "");
  EXPECT_NE(label_problem(".."), "");
  EXPECT_NE(label_problem("a/b"), "");
  EXPECT_NE(label_problem("a\nb"), "");
  EXPECT_NE(label_problem(std::string(201, 'a')), "");
}

}  // namespace
}  // namespace bm::master
