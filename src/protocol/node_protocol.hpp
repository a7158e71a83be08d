#pragma once
// The lines a node and the master exchange, written and parsed here only.
//
// Node to master, on the node's standard output (mixed with its progress text, so every
// message is one line starting with '@'):
//   @node {"pid": N, "node_num": N}          first: the process the master may signal
//   @progress {series point}                 one per finished second (stats::SeriesPoint)
//   @cycle-results {cycle}                   with --cycle-results, before each @cycle-done:
//                                            the cycle's figures (a results `cycles[]`
//                                            element), for the master to judge at once
//   @cycle-done {"cycle": C, "end_epoch_us": T}
//                                            cycle C drained at T (node clock); with
//                                            --barrier the node is ready for C+1 and waits
//   @clock <epoch µs>                        `bench-node --clock`: its clock, per line read
//   @exit <code>                             the remote shell's word on how the node ended
//   \x06                                     `--heartbeat S`: one byte every S seconds, from a
//                                            thread of its own, while the node lives; it may
//                                            fall inside a line, so the master removes these
//                                            bytes before it reads lines (remove_heartbeats)
// Master to node, on the node's standard input:
//   @go {"cycle": C, "start_epoch_us": T}    start cycle C at T (node clock)
//   @end {"reason": "..."}                   no further cycle: finish now, as complete
//                                            (a threshold failed: --abort-on-fail)
// End of the node's input means the master is gone: the node stops, keeping its results.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "stats/results.hpp"
#include "stats/series.hpp"

namespace bm::protocol {

struct NodeHello {
  long long pid = 0;
  int node_num = 0;
  friend bool operator==(const NodeHello&, const NodeHello&) = default;
};
struct CycleDone {
  int cycle = 0;
  int64_t end_epoch_us = 0;
  friend bool operator==(const CycleDone&, const CycleDone&) = default;
};
struct Go {
  int cycle = 0;
  int64_t start_epoch_us = 0;
  friend bool operator==(const Go&, const Go&) = default;
};
struct ClockReading {
  int64_t epoch_us = 0;
  std::string kernel;  // the node machine's boot id: the master's own means one shared clock
  friend bool operator==(const ClockReading&, const ClockReading&) = default;
};
struct ExitCode {
  int code = 0;
  friend bool operator==(const ExitCode&, const ExitCode&) = default;
};
struct CycleReport {
  stats::CycleResults cycle;
  friend bool operator==(const CycleReport& a, const CycleReport& b) {
    return stats::cycle_results_to_json(a.cycle) == stats::cycle_results_to_json(b.cycle);
  }
};
struct End {
  std::string reason;
  friend bool operator==(const End&, const End&) = default;
};

// monostate: not a message (ordinary output), or a malformed one.
using Message = std::variant<std::monostate, NodeHello, stats::SeriesPoint, CycleDone, Go, ClockReading, ExitCode,
                             CycleReport, End>;

// The heartbeat byte (ASCII ACK): never part of a line the node prints otherwise.
inline constexpr char kHeartbeat = '\x06';
// Removes every heartbeat byte from data[0, size), moving the rest to the front; returns
// the bytes left.
std::size_t remove_heartbeats(char* data, std::size_t size) noexcept;

// Each returns the line without its '\n'.
std::string node_line(const NodeHello& hello);
std::string progress_line(const stats::SeriesPoint& point);
std::string cycle_done_line(const CycleDone& done);
std::string go_line(const Go& go);
std::string clock_line(const ClockReading& reading);
// This machine's kernel boot id (/proc/sys/kernel/random/boot_id), "" where there is
// none. Two programs that print the same one read the same wall clock.
std::string this_kernel_id();
std::string exit_line(const ExitCode& exit);
std::string cycle_results_line(const stats::CycleResults& cycle);
std::string end_line(const End& end);

// Never throws: a line that is not exactly one of the messages above is monostate.
Message parse_line(std::string_view line);

}  // namespace bm::protocol
