// agent::FrameReader, what the master reads from every host agent (and an agent from the
// master), and the start and fetch requests inside the frames. Input: byte 0 sets the
// size of the pieces the rest is fed in; the frames read must be those read from the
// whole stream at once (and the verdict the same), each frame written again must read
// back as itself, and a start or fetch request that parses must read back as itself.
#include "agent/agent_frames.hpp"
#include "fuzz_check.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agent = bm::agent;

namespace {

void check(bool ok, const char* what, const std::string& detail = {}) {
  bm::fuzz::check(ok, "agent_frames", what, detail);
}

struct Reading {
  std::vector<agent::Frame> frames;
  std::string error;
};

Reading read(std::string_view stream, std::size_t piece) {
  agent::FrameReader reader;
  Reading reading;
  while (!stream.empty()) {
    const std::string_view part = stream.substr(0, piece);
    reader.feed(part);
    stream.remove_prefix(part.size());
    while (std::optional<agent::Frame> frame = reader.next()) reading.frames.push_back(*frame);
  }
  reading.error = reader.error();
  return reading;
}

bool same(const agent::Frame& a, const agent::Frame& b) {
  return a.kind == b.kind && a.node == b.node && a.text == b.text;
}

bool is_data(agent::FrameKind kind) {
  return kind == agent::FrameKind::in || kind == agent::FrameKind::out || kind == agent::FrameKind::err ||
         kind == agent::FrameKind::file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = 1 + data[0] % 23;
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const Reading whole = read(stream, stream.size() + 1);
  const Reading pieces = read(stream, piece);
  check(whole.frames.size() == pieces.frames.size(), "a different number of frames when fed in pieces");
  for (std::size_t i = 0; i < whole.frames.size(); ++i) check(same(whole.frames[i], pieces.frames[i]), "a frame read otherwise in pieces");
  check(whole.error.empty() == pieces.error.empty(), "an error whole and none in pieces, or the reverse", whole.error + pieces.error);

  for (const agent::Frame& frame : whole.frames) {
    agent::Frame expected = frame;
    if (!is_data(frame.kind)) {
      for (char& c : expected.text) {
        if (c == '\r') c = ' ';  // a header is one line: encode_frame writes CR as a space
      }
    }
    const Reading again = read(agent::encode_frame(frame.kind, frame.node, frame.text), 1 << 20);
    check(again.error.empty() && again.frames.size() == 1 && same(again.frames[0], expected),
          "a frame written again reads otherwise", again.error);
    if (frame.kind == agent::FrameKind::start) {
      std::string error;
      if (const std::optional<agent::StartRequest> request = agent::parse_start(frame.text, &error)) {
        const Reading start = read(agent::encode_start(frame.node, *request), 1 << 20);
        check(start.frames.size() == 1, "a start request written again is not one frame");
        const std::optional<agent::StartRequest> back = agent::parse_start(start.frames[0].text, &error);
        check(back && back->argv == request->argv && back->env == request->env,
              "a start request written again reads otherwise", error);
      } else {
        check(!error.empty(), "a start request refused without a reason");
      }
    }
    if (frame.kind == agent::FrameKind::fetch) {
      if (const std::optional<std::string> path = agent::parse_fetch(frame.text)) {
        const Reading fetch = read(agent::encode_fetch(frame.node, *path), 1 << 20);
        check(fetch.frames.size() == 1 && agent::parse_fetch(fetch.frames[0].text) == path,
              "a fetch request written again reads otherwise");
      }
    }
  }
  return 0;
}
