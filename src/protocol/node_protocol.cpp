#include "protocol/node_protocol.hpp"

#include <algorithm>
#include <charconv>
#include <exception>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bm::protocol {

namespace {

constexpr std::string_view kNode = "@node ";
constexpr std::string_view kProgress = "@progress ";
constexpr std::string_view kCycleDone = "@cycle-done ";
constexpr std::string_view kGo = "@go ";
constexpr std::string_view kClock = "@clock ";
constexpr std::string_view kExit = "@exit ";
constexpr std::string_view kCycleResults = "@cycle-results ";
constexpr std::string_view kEnd = "@end ";

// A node prints its progress characters ('.', 'F') without a new line, so a message
// may follow them on the same line: the first '@' that starts a tag wins (a payload may
// hold another tag's text inside a string, further on).
struct Tagged {
  std::string_view tag;
  std::string_view rest;
};
std::optional<Tagged> find_tag(std::string_view line) {
  for (auto at = line.find('@'); at != std::string_view::npos; at = line.find('@', at + 1)) {
    const std::string_view here = line.substr(at);
    for (std::string_view tag : {kNode, kProgress, kCycleDone, kCycleResults, kGo, kEnd, kClock, kExit}) {
      if (here.starts_with(tag)) return Tagged{tag, here.substr(tag.size())};
    }
  }
  return std::nullopt;
}

std::optional<nlohmann::json> object_of(std::string_view text) {
  // Histogram buckets packed as they are parsed: a master reads a line per node and second.
  stats::BucketPacker packer;
  auto json = nlohmann::json::parse(
      text, [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        return packer.on_event(depth, event, parsed);
      },
      false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

template <class T>
std::optional<T> integer_member(const nlohmann::json& json, const char* name) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<T>();
}

std::optional<long long> whole_number(std::string_view text) {
  while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// A boot id as the kernel prints it: hexadecimal digits and dashes.
bool is_kernel_id(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
  }
  return true;
}

}  // namespace

std::string node_line(const NodeHello& hello) {
  return fmt::format("{}{}", kNode, nlohmann::json{{"pid", hello.pid}, {"node_num", hello.node_num}}.dump());
}

std::string progress_line(const stats::SeriesPoint& point) {
  nlohmann::json json;
  stats::to_json(json, point);
  return fmt::format("{}{}", kProgress, json.dump());
}

std::string cycle_done_line(const CycleDone& done) {
  return fmt::format("{}{}", kCycleDone,
                     nlohmann::json{{"cycle", done.cycle}, {"end_epoch_us", done.end_epoch_us}}.dump());
}

std::string go_line(const Go& go) {
  return fmt::format("{}{}", kGo, nlohmann::json{{"cycle", go.cycle}, {"start_epoch_us", go.start_epoch_us}}.dump());
}

std::string clock_line(const ClockReading& reading) {
  if (reading.kernel.empty()) return fmt::format("{}{}", kClock, reading.epoch_us);
  return fmt::format("{}{} {}", kClock, reading.epoch_us, reading.kernel);
}

std::string this_kernel_id() {
  std::ifstream file("/proc/sys/kernel/random/boot_id");
  std::string id;
  if (!std::getline(file, id) || !is_kernel_id(id)) return {};
  return id;
}

std::string exit_line(const ExitCode& exit) { return fmt::format("{}{}", kExit, exit.code); }

std::string cycle_results_line(const stats::CycleResults& cycle) {
  return fmt::format("{}{}", kCycleResults,
                     stats::cycle_results_to_json(cycle).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::size_t remove_heartbeats(char* data, std::size_t size) noexcept {
  char* const end = data + size;
  char* out = std::find(data, end, kHeartbeat);
  for (char* in = out; in != end; ++in) {
    if (*in != kHeartbeat) *out++ = *in;
  }
  return static_cast<std::size_t>(out - data);
}

std::string end_line(const End& end) {
  return fmt::format("{}{}", kEnd,
                     nlohmann::json{{"reason", end.reason}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Message parse_line(std::string_view line) {
  auto tagged = find_tag(line);
  if (!tagged) return {};
  const std::string_view tag = tagged->tag, rest = tagged->rest;
  if (tag == kClock) {
    // "@clock <epoch µs>", then the node's kernel id where it has one.
    std::string_view number = rest, kernel;
    if (auto space = rest.find(' '); space != std::string_view::npos) {
      number = rest.substr(0, space);
      kernel = rest.substr(space + 1);
      while (!kernel.empty() && (kernel.back() == '\r' || kernel.back() == ' ')) kernel.remove_suffix(1);
      if (!kernel.empty() && !is_kernel_id(kernel)) return {};
    }
    auto value = whole_number(number);
    if (!value) return {};
    return ClockReading{*value, std::string(kernel)};
  }
  if (tag == kExit) {
    auto value = whole_number(rest);
    if (!value) return {};
    if (*value < 0 || *value > 255) return {};
    return ExitCode{static_cast<int>(*value)};
  }
  auto json = object_of(rest);
  if (!json) return {};
  if (tag == kCycleResults) {
    CycleReport report;
    if (!stats::cycle_results_from_json(*json, report.cycle, nullptr)) return {};
    return report;
  }
  if (tag == kEnd) {
    auto reason = json->find("reason");
    if (reason == json->end() || !reason->is_string()) return {};
    return End{reason->get<std::string>()};
  }
  if (tag == kProgress) {
    try {
      stats::SeriesPoint point;
      stats::read_series_point(*json, "@progress", point);
      return point;
    } catch (const std::exception&) {
      return {};
    }
  }
  if (tag == kNode) {
    auto pid = integer_member<long long>(*json, "pid");
    auto node_num = integer_member<int>(*json, "node_num");
    if (!pid || *pid <= 0) return {};
    return NodeHello{*pid, node_num.value_or(0)};
  }
  auto cycle = integer_member<int>(*json, "cycle");
  if (!cycle || *cycle < 0) return {};
  if (tag == kCycleDone) {
    auto end = integer_member<int64_t>(*json, "end_epoch_us");
    if (!end) return {};
    return CycleDone{*cycle, *end};
  }
  auto start = integer_member<int64_t>(*json, "start_epoch_us");
  if (!start) return {};
  return Go{*cycle, *start};
}

}  // namespace bm::protocol
