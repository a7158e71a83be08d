#include "agent/agent_frames.hpp"

#include <array>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bm::agent {

namespace {

struct KindName {
  FrameKind kind;
  std::string_view word;
  bool data;
};
constexpr std::array<KindName, 14> kKinds{{
    {FrameKind::start, "@start", false},
    {FrameKind::in, "@in", true},
    {FrameKind::close, "@close", false},
    {FrameKind::signal, "@signal", false},
    {FrameKind::fetch, "@fetch", false},
    {FrameKind::file, "@file", true},
    {FrameKind::file_end, "@file-end", false},
    {FrameKind::file_error, "@file-error", false},
    {FrameKind::agent, "@agent", false},
    {FrameKind::started, "@started", false},
    {FrameKind::not_started, "@not-started", false},
    {FrameKind::out, "@out", true},
    {FrameKind::err, "@err", true},
    {FrameKind::ended, "@ended", false},
}};

const KindName& kind_name(FrameKind kind) {
  for (const KindName& k : kKinds) {
    if (k.kind == kind) return k;
  }
  return kKinds[0];
}

template <class Number>
bool parse_number(std::string_view text, Number* value) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

constexpr std::size_t kMaxHeaderLine = 64 * 1024;

}  // namespace

std::string_view frame_word(FrameKind kind) { return kind_name(kind).word; }

std::string encode_frame(FrameKind kind, int node, std::string_view text) {
  const KindName& k = kind_name(kind);
  std::string frame;
  if (k.data) {
    frame = fmt::format("{} {} {}\n", k.word, node, text.size());
    frame.append(text);
  } else if (text.empty()) {
    frame = fmt::format("{} {}\n", k.word, node);
  } else {
    // A header is one line: a line break in a message would end it early.
    std::string line(text);
    for (char& c : line) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    frame = fmt::format("{} {} {}\n", k.word, node, line);
  }
  return frame;
}

std::string encode_start(int node, const StartRequest& request) {
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [name, value] : request.env) env.push_back({name, value});
  const nlohmann::json body = {{"argv", request.argv}, {"env", std::move(env)}};
  // dump() escapes line breaks: the request stays one line.
  return encode_frame(FrameKind::start, node, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::optional<StartRequest> parse_start(std::string_view json, std::string* error) {
  const nlohmann::json body = nlohmann::json::parse(json, nullptr, false);
  StartRequest request;
  const auto bad = [error](std::string_view what) -> std::optional<StartRequest> {
    *error = fmt::format("a start request the agent cannot read: {}", what);
    return std::nullopt;
  };
  if (!body.is_object() || !body.contains("argv") || !body["argv"].is_array() || body["argv"].empty()) {
    return bad("no argv");
  }
  for (const auto& word : body["argv"]) {
    if (!word.is_string()) return bad("an argv word that is not a string");
    request.argv.push_back(word.get<std::string>());
  }
  if (body.contains("env")) {
    if (!body["env"].is_array()) return bad("env is not a list");
    for (const auto& pair : body["env"]) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
        return bad("an env entry that is not [name, value]");
      }
      const std::string name = pair[0].get<std::string>();
      if (name.empty() || name.find('=') != std::string::npos) return bad("an env name that is empty or holds '='");
      request.env.emplace_back(name, pair[1].get<std::string>());
    }
  }
  return request;
}

std::string encode_fetch(int fetch, std::string_view path) {
  return encode_frame(FrameKind::fetch, fetch,
                      nlohmann::json(std::string(path)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::optional<std::string> parse_fetch(std::string_view json) {
  const nlohmann::json path = nlohmann::json::parse(json, nullptr, false);
  if (!path.is_string() || path.get_ref<const std::string&>().empty()) return std::nullopt;
  return path.get<std::string>();
}

void FrameReader::feed(std::string_view bytes) {
  if (!error_.empty()) return;
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<Frame> FrameReader::next() {
  if (!error_.empty()) return std::nullopt;
  const std::string_view rest = std::string_view(buffer_).substr(start_);
  const std::size_t line_end = rest.substr(0, kMaxHeaderLine + 1).find('\n');
  if (line_end == std::string_view::npos) {
    // Whether it came whole or in pieces: the same verdict.
    if (rest.size() > kMaxHeaderLine) error_ = "a frame header longer than 64 KiB";
    return std::nullopt;
  }
  const std::string_view line = rest.substr(0, line_end);
  const std::size_t first_space = line.find(' ');
  const std::string_view word = line.substr(0, first_space);
  const KindName* kind = nullptr;
  for (const KindName& k : kKinds) {
    if (k.word == word) kind = &k;
  }
  if (kind == nullptr) {
    error_ = fmt::format("not a frame: '{}'", line.substr(0, 80));
    return std::nullopt;
  }
  std::string_view after = first_space == std::string_view::npos ? std::string_view() : line.substr(first_space + 1);
  const std::size_t second_space = after.find(' ');
  Frame frame;
  frame.kind = kind->kind;
  if (!parse_number(after.substr(0, second_space), &frame.node) || frame.node < 0) {
    error_ = fmt::format("a frame without a node number: '{}'", line.substr(0, 80));
    return std::nullopt;
  }
  const std::string_view text = second_space == std::string_view::npos ? std::string_view() : after.substr(second_space + 1);
  if (!kind->data) {
    frame.text.assign(text);
    start_ += line_end + 1;
    return frame;
  }
  std::size_t length = 0;
  if (!parse_number(text, &length) || length > kMaxFrameData) {
    error_ = fmt::format("a data frame with a bad length: '{}'", line.substr(0, 80));
    return std::nullopt;
  }
  if (rest.size() - line_end - 1 < length) return std::nullopt;  // its bytes are still to come
  frame.text.assign(rest.substr(line_end + 1, length));
  start_ += line_end + 1 + length;
  return frame;
}

}  // namespace bm::agent
