#pragma once
// The host agent's frames (docs/distributed.md, "One session per host"): one SSH session
// per host carries the standard streams of every node process the master runs there.
// Written and read here only.
//
// A frame is a header line, "@WORD NODE[ REST]\n"; the data frames (@in, @out, @err)
// carry REST = a byte count and exactly that many bytes after the line, as they came
// (a node's output holds heartbeat bytes and lines cut anywhere: the master reads each
// node's bytes as if from its own pipe).
//
// Master to agent, on the agent's standard input:
//   @start N {"argv": [...], "env": [["NAME", "value"], ...]}   start node N
//   @in N LENGTH + bytes          to node N's standard input
//   @close N                      close node N's standard input
//   @signal N TERM|KILL|CONT      to node N's process group
//   @fetch F "PATH"               send the file at PATH (a JSON string) as fetch F
// End of the agent's input means the master is gone: every node's input is closed (a
// node then stops, keeping its results: bench-node --stop-on-eof), and the agent exits
// once every node has ended.
//
// Agent to master, on the agent's standard output:
//   @agent 0 PID                  first: the agent is up
//   @started N PID                node N runs as process PID (its own process group)
//   @not-started N MESSAGE        it could not be started (one line)
//   @out N LENGTH + bytes         from node N's standard output
//   @err N LENGTH + bytes         from its standard error
//   @ended N STATUS               it has ended: its wait status (waitpid), after the last
//                                 of its output
//   @file F LENGTH + bytes        part of fetch F's file, in order
//   @file-end F                   fetch F's file is complete
//   @file-error F MESSAGE         it could not be read (whatever came of it is void)
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bm::agent {

enum class FrameKind { start, in, close, signal, fetch, agent, started, not_started, out, err, ended, file, file_end, file_error };

struct Frame {
  FrameKind kind = FrameKind::out;
  int node = 0;
  std::string text;  // data frames: the bytes; others: the rest of the header line
};

// The largest data frame read: a node's output is cut into frames of at most this.
inline constexpr std::size_t kMaxFrameData = 1u << 20;

std::string_view frame_word(FrameKind kind);
// A header line (and for data frames, the bytes) ready to write.
std::string encode_frame(FrameKind kind, int node, std::string_view text);

// What the master sends to start a node.
struct StartRequest {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
};
std::string encode_start(int node, const StartRequest& request);
// nullopt (with *error) for a malformed request.
std::optional<StartRequest> parse_start(std::string_view json, std::string* error);

// What the master sends to fetch a file: its path as a JSON string (one line, any bytes).
std::string encode_fetch(int fetch, std::string_view path);
std::optional<std::string> parse_fetch(std::string_view json);

// Reads frames from a byte stream fed in pieces of any size.
class FrameReader {
 public:
  // Appends bytes; then next() returns the frames they complete.
  void feed(std::string_view bytes);
  // The next complete frame, or nullopt when more bytes are needed (or after an error).
  std::optional<Frame> next();
  // Set when the stream is not frames: an unknown word, a bad number, a header line
  // past 64 KiB, a data frame past kMaxFrameData. Nothing is read after that.
  const std::string& error() const { return error_; }
  // Bytes fed and not yet returned as frames.
  std::size_t buffered() const { return buffer_.size() - start_; }

 private:
  std::string buffer_;
  std::size_t start_ = 0;
  std::string error_;
};

}  // namespace bm::agent
