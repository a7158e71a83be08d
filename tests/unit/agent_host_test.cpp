// The host agent with real child processes (sh), over pipes: what the master sees of it.
#include "agent/host_agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_frames.hpp"

namespace bm::agent {
namespace {

using ::testing::HasSubstr;

class HostAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The agent takes SIGCHLD (and its stop signals) through a signalfd: in a process
    // with other threads, they must not take them first.
    sigset_t signals;
    sigemptyset(&signals);
    for (int sig : {SIGCHLD, SIGTERM, SIGHUP, SIGINT}) sigaddset(&signals, sig);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &signals, &old_mask_), 0);
    int to_agent[2], from_agent[2];
    ASSERT_EQ(::pipe2(to_agent, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(from_agent, O_CLOEXEC), 0);
    to_agent_ = to_agent[1];
    from_agent_ = from_agent[0];
    agent_ = std::async(std::launch::async, [in = to_agent[0], out = from_agent[1]] {
      const int code = run_host_agent(in, out);
      ::close(in);
      ::close(out);
      return code;
    });
  }

  void TearDown() override {
    if (to_agent_ >= 0) ::close(to_agent_);
    if (agent_.valid()) agent_.wait();
    ::close(from_agent_);
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }

  void send(const std::string& bytes) {
    ASSERT_EQ(::write(to_agent_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void start(int node, std::vector<std::string> argv, std::vector<std::pair<std::string, std::string>> env = {}) {
    send(encode_start(node, StartRequest{std::move(argv), std::move(env)}));
  }
  void end_input() {
    ::close(to_agent_);
    to_agent_ = -1;
  }
  int exit_code() {
    EXPECT_EQ(agent_.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    return agent_.get();
  }

  // Frames until `until` says stop (or 20 s pass: a failure).
  std::vector<Frame> read_until(const std::function<bool(const Frame&)>& until) {
    std::vector<Frame> frames;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      while (std::optional<Frame> frame = reader_.next()) {
        frames.push_back(*frame);
        if (until(frames.back())) return frames;
      }
      pollfd p{from_agent_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(from_agent_, buffer, sizeof buffer);
      if (n <= 0) break;
      reader_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    }
    ADD_FAILURE() << "the frame waited for did not come (" << frames.size() << " frames, " << reader_.buffered()
                  << " bytes unread" << (reader_.error().empty() ? "" : ", " + reader_.error()) << ")";
    frames.push_back(Frame{FrameKind::agent, -1, "(nothing came)"});  // so that frames.back() fails checks, not the test
    return frames;
  }
  static std::function<bool(const Frame&)> ended(int node) {
    return [node](const Frame& f) { return f.node == node && (f.kind == FrameKind::ended || f.kind == FrameKind::not_started); };
  }
  static std::string bytes_of(const std::vector<Frame>& frames, int node, FrameKind kind) {
    std::string text;
    for (const Frame& f : frames) {
      if (f.node == node && f.kind == kind) text += f.text;
    }
    return text;
  }

  sigset_t old_mask_{};
  int to_agent_ = -1, from_agent_ = -1;
  std::future<int> agent_;
  FrameReader reader_;
};

TEST_F(HostAgentTest, StartsNodesCarriesTheirStreamsAndSaysHowTheyEndedAfterTheirLastBytes) {
  auto frames = read_until([](const Frame& f) { return f.kind == FrameKind::agent; });
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().text, std::to_string(::getpid()));

  start(1, {"sh", "-c", R"(echo "value: $V"; read line; echo "got $line"; echo oops >&2; exit 3)"}, {{"V", "a b"}});
  frames = read_until([](const Frame& f) { return f.kind == FrameKind::out; });
  ASSERT_EQ(frames.front().kind, FrameKind::started);
  send(encode_frame(FrameKind::in, 1, "hello\n"));
  const auto rest = read_until(ended(1));
  frames.insert(frames.end(), rest.begin(), rest.end());
  EXPECT_EQ(bytes_of(frames, 1, FrameKind::out), "value: a b\ngot hello\n");
  EXPECT_EQ(bytes_of(frames, 1, FrameKind::err), "oops\n");
  ASSERT_EQ(frames.back().kind, FrameKind::ended);
  const int status = std::stoi(frames.back().text);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);

  end_input();
  EXPECT_EQ(exit_code(), 0);
}

TEST_F(HostAgentTest, EndOfItsInputClosesEveryNodesInputAndItExitsAfterThem) {
  for (int node : {1, 2}) start(node, {"sh", "-c", "while read line; do :; done; echo input ended; exit 0"});
  read_until([](const Frame& f) { return f.kind == FrameKind::started && f.node == 2; });
  end_input();
  int endings = 0;
  const auto frames = read_until([&endings](const Frame& f) { return f.kind == FrameKind::ended && ++endings == 2; });
  EXPECT_EQ(bytes_of(frames, 1, FrameKind::out), "input ended\n");
  EXPECT_EQ(bytes_of(frames, 2, FrameKind::out), "input ended\n");
  EXPECT_EQ(exit_code(), 0);
}

TEST_F(HostAgentTest, SignalsReachTheNodesWholeProcessGroup) {
  // The shell waits for a child of its own: TERM must reach both for the node to end.
  start(5, {"sh", "-c", "trap 'exit 9' TERM; sleep 30 & echo ready; wait"});
  read_until([](const Frame& f) { return f.kind == FrameKind::out && f.node == 5; });  // both are there
  send(encode_frame(FrameKind::signal, 5, "TERM"));
  const auto frames = read_until(ended(5));
  ASSERT_EQ(frames.back().kind, FrameKind::ended);
  const int status = std::stoi(frames.back().text);
  EXPECT_TRUE((WIFEXITED(status) && WEXITSTATUS(status) == 9) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM))
      << status;
  start(6, {"sleep", "30"});
  read_until([](const Frame& f) { return f.kind == FrameKind::started && f.node == 6; });
  send(encode_frame(FrameKind::signal, 6, "KILL"));
  const auto killed = read_until(ended(6));
  const int killed_status = std::stoi(killed.back().text);
  EXPECT_TRUE(WIFSIGNALED(killed_status) && WTERMSIG(killed_status) == SIGKILL) << killed_status;
  end_input();
  EXPECT_EQ(exit_code(), 0);
}

TEST_F(HostAgentTest, ANodeThatLeavesAProcessHoldingItsOutputHasEndedSoonAfterItExits) {
  start(7, {"sh", "-c", "sleep 30 & echo left behind; exit 4"});
  const auto frames = read_until(ended(7));
  ASSERT_EQ(frames.front().kind, FrameKind::agent);
  ASSERT_EQ(frames[1].kind, FrameKind::started);
  const pid_t group = std::stoi(frames[1].text);
  ASSERT_EQ(frames.back().kind, FrameKind::ended);
  const int status = std::stoi(frames.back().text);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 4) << status;
  EXPECT_EQ(bytes_of(frames, 7, FrameKind::out), "left behind\n");
  // Said while the process left behind (in the node's group) still runs.
  EXPECT_EQ(::kill(-group, 0), 0);
  ::kill(-group, SIGKILL);
  end_input();
  EXPECT_EQ(exit_code(), 0);
}

TEST_F(HostAgentTest, AProgramThatCannotStartAndASecondStartAreSaid) {
  start(1, {"/nonexistent/bench-node", "--barrier"});
  auto frames = read_until(ended(1));
  ASSERT_EQ(frames.back().kind, FrameKind::not_started);
  EXPECT_THAT(frames.back().text, HasSubstr("cannot start /nonexistent/bench-node: No such file or directory"));
  start(2, {"sh", "-c", "read line"});
  read_until([](const Frame& f) { return f.kind == FrameKind::started; });
  start(2, {"true"});
  frames = read_until(ended(2));
  EXPECT_EQ(frames.back().kind, FrameKind::not_started);
  EXPECT_THAT(frames.back().text, HasSubstr("node 2 was started already"));
  send(encode_frame(FrameKind::start, 3, "{not json"));
  frames = read_until(ended(3));
  EXPECT_THAT(frames.back().text, HasSubstr("a start request the agent cannot read"));
  end_input();
  EXPECT_EQ(exit_code(), 0);
}

TEST_F(HostAgentTest, AFileIsFetchedInFramesOrSaidUnreadable) {
  char folder[] = "/tmp/bm-agent-test.XXXXXX";
  ASSERT_NE(::mkdtemp(folder), nullptr);
  const std::string path = std::string(folder) + "/results \"odd\" name\n.json";
  std::string content;
  for (int i = 0; content.size() < 2 * kMaxFrameData + 12345; ++i) content += std::to_string(i) + ",";
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  send(encode_fetch(4, path));
  auto frames = read_until([](const Frame& f) { return f.kind == FrameKind::file_end || f.kind == FrameKind::file_error; });
  EXPECT_EQ(frames.back().kind, FrameKind::file_end);
  EXPECT_EQ(frames.back().node, 4);
  std::string received;
  int parts = 0;
  for (const Frame& f : frames) {
    if (f.kind == FrameKind::file && f.node == 4) received += f.text, ++parts;
  }
  EXPECT_EQ(received, content);
  EXPECT_EQ(parts, 3);
  ::unlink(path.c_str());
  ::rmdir(folder);

  send(encode_fetch(5, path));
  frames = read_until([](const Frame& f) { return f.kind == FrameKind::file_end || f.kind == FrameKind::file_error; });
  EXPECT_EQ(frames.back().kind, FrameKind::file_error);
  EXPECT_THAT(frames.back().text, HasSubstr("No such file or directory"));
  send(encode_frame(FrameKind::fetch, 6, "not json"));
  frames = read_until([](const Frame& f) { return f.kind == FrameKind::file_error; });
  EXPECT_THAT(frames.back().text, HasSubstr("a fetch request the agent cannot read"));
  end_input();
  EXPECT_EQ(exit_code(), 0);
}

TEST_F(HostAgentTest, InputThatIsNotFramesStopsEveryNodeAndTheAgentExits2) {
  start(1, {"sh", "-c", "while read line; do :; done; exit 0"});
  read_until([](const Frame& f) { return f.kind == FrameKind::started; });
  send("Welcome to this host! (a login banner)\n");
  const auto frames = read_until(ended(1));
  EXPECT_EQ(frames.back().kind, FrameKind::ended);
  EXPECT_EQ(exit_code(), 2);
}

}  // namespace
}  // namespace bm::agent
