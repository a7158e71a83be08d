#include "agent/agent_frames.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bm::agent {
namespace {

using ::testing::HasSubstr;

std::vector<Frame> read_all(const std::vector<std::string_view>& pieces, std::string* error = nullptr) {
  FrameReader reader;
  std::vector<Frame> frames;
  for (std::string_view piece : pieces) {
    reader.feed(piece);
    while (std::optional<Frame> frame = reader.next()) frames.push_back(*frame);
  }
  if (error) *error = reader.error();
  return frames;
}

bool same(const std::vector<Frame>& a, const std::vector<Frame>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].node != b[i].node || a[i].text != b[i].text) return false;
  }
  return true;
}

TEST(AgentFrames, EveryKindReadsBackHoweverTheStreamIsCut) {
  const std::string binary("line one\nhalf a li\x06ne\0\r\n", 23);
  const std::vector<Frame> sent = {
      {FrameKind::agent, 0, "4242"},
      {FrameKind::started, 3, "777"},
      {FrameKind::out, 3, binary},
      {FrameKind::out, 3, ""},
      {FrameKind::err, 12, "error: x\n"},
      {FrameKind::in, 3, "@go {\"cycle\":1}\n"},
      {FrameKind::close, 3, ""},
      {FrameKind::signal, 3, "TERM"},
      {FrameKind::not_started, 4, "cannot start x: No such file or directory"},
      {FrameKind::ended, 3, "768"},
  };
  std::string stream;
  for (const Frame& frame : sent) stream += encode_frame(frame.kind, frame.node, frame.text);

  EXPECT_TRUE(same(read_all({stream}), sent));
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    const std::string_view whole(stream);
    EXPECT_TRUE(same(read_all({whole.substr(0, cut), whole.substr(cut)}), sent)) << "cut at " << cut;
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < stream.size(); ++i) bytes.push_back(std::string_view(stream).substr(i, 1));
  EXPECT_TRUE(same(read_all(bytes), sent));
}

TEST(AgentFrames, AHeaderStaysOneLine) {
  const std::string frame = encode_frame(FrameKind::not_started, 1, "two\nlines\r");
  EXPECT_EQ(frame, "@not-started 1 two lines \n");
}

TEST(AgentFrames, WhatIsNotFramesIsAnError) {
  const std::vector<std::string> bad = {
      "hello from a login banner\n",
      "@out x 3\nabc",
      "@out -1 3\nabc",
      "@out 1 3x\nabc",
      "@out 1 99999999999\n",
      "@unknown 1\n",
      std::string(70 * 1024, 'a'),
      "@not-started 1 " + std::string(70 * 1024, 'a') + "\n",
  };
  for (const std::string& input : bad) {
    std::string error;
    EXPECT_TRUE(read_all({input}, &error).empty()) << input.substr(0, 40);
    EXPECT_FALSE(error.empty()) << input.substr(0, 40);
  }
  // Frames before the bad part are read; nothing after it.
  std::string error;
  const auto frames = read_all({encode_frame(FrameKind::ended, 1, "0") + "garbage\n" + encode_frame(FrameKind::ended, 2, "0")},
                               &error);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_THAT(error, HasSubstr("not a frame: 'garbage'"));
}

TEST(AgentFrames, AStartRequestReadsBackAsItWasWithAnyBytesInIt) {
  StartRequest request;
  request.argv = {"/opt/bench node/bench-node", "it's $(touch x) `y` \"q\"\nnext line", "--barrier"};
  request.env = {{"PSSH_BENCH_RUN", "label; rm -rf /"}, {"EMPTY", ""}};
  const std::string frame = encode_start(7, request);
  EXPECT_EQ(frame.find('\n'), frame.size() - 1) << "one line";
  const auto frames = read_all({frame});
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].kind, FrameKind::start);
  EXPECT_EQ(frames[0].node, 7);
  std::string error;
  const std::optional<StartRequest> parsed = parse_start(frames[0].text, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->argv, request.argv);
  EXPECT_EQ(parsed->env, request.env);
}

TEST(AgentFrames, AFetchNamesAnyPathOnOneLine) {
  const std::string path = "/tmp/x dir/it's \"q\"\n$(touch y)/results.json";
  const std::string frame = encode_fetch(9, path);
  EXPECT_EQ(frame.find('\n'), frame.size() - 1);
  const auto frames = read_all({frame});
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].kind, FrameKind::fetch);
  EXPECT_EQ(frames[0].node, 9);
  EXPECT_EQ(parse_fetch(frames[0].text), path);
  EXPECT_FALSE(parse_fetch("\"\""));
  EXPECT_FALSE(parse_fetch("/no/quotes"));
}

TEST(AgentFrames, AStartRequestWithoutAProgramOrWithABadVariableIsRefused) {
  for (const std::string json : {"", "[]", "{}", R"({"argv": []})", R"({"argv": [1]})",
                                 R"({"argv": ["x"], "env": {"A": "b"}})", R"({"argv": ["x"], "env": [["A=B", "c"]]})",
                                 R"({"argv": ["x"], "env": [["", "c"]]})", R"({"argv": ["x"], "env": [["A"]]})"}) {
    std::string error;
    EXPECT_FALSE(parse_start(json, &error)) << json;
    EXPECT_THAT(error, HasSubstr("a start request the agent cannot read")) << json;
  }
}

}  // namespace
}  // namespace bm::agent
