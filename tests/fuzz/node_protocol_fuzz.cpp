// protocol::parse_line, what the master reads from every node's output (and a node from
// the master). Never throws; a message it recognises is written again by its *_line()
// function and must parse back to the same message.
#include "protocol/node_protocol.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

namespace protocol = bm::protocol;

namespace {

std::string line_of(const protocol::Message& message) {
  return std::visit(
      [](const auto& m) -> std::string {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, std::monostate>) return {};
        else if constexpr (std::is_same_v<T, protocol::NodeHello>) return protocol::node_line(m);
        else if constexpr (std::is_same_v<T, bm::stats::SeriesPoint>) return protocol::progress_line(m);
        else if constexpr (std::is_same_v<T, protocol::CycleDone>) return protocol::cycle_done_line(m);
        else if constexpr (std::is_same_v<T, protocol::Go>) return protocol::go_line(m);
        else if constexpr (std::is_same_v<T, protocol::ClockReading>) return protocol::clock_line(m);
        else if constexpr (std::is_same_v<T, protocol::ExitCode>) return protocol::exit_line(m);
        else if constexpr (std::is_same_v<T, protocol::CycleReport>) return protocol::cycle_results_line(m.cycle);
        else return protocol::end_line(m);
      },
      message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  protocol::Message message;
  try {
    message = protocol::parse_line(input);
  } catch (...) {
    fprintf(stderr, "node_protocol: parse_line threw\n");
    abort();
  }
  if (std::holds_alternative<std::monostate>(message)) return 0;
  const std::string line = line_of(message);
  const protocol::Message again = protocol::parse_line(line);
  if (again.index() != message.index() || !(again == message)) {
    fprintf(stderr, "node_protocol: the message written again reads otherwise: %s\n", line.c_str());
    abort();
  }
  return 0;
}
