// Every argument that reaches a remote shell goes through shell_quote: check that a real
// POSIX shell reads each quoted word back byte for byte, and runs none of it.

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "master/shell.hpp"
#include "master/transport.hpp"

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
