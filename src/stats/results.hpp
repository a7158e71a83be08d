#pragma once
// In-memory model of the results document (docs/results-schema.md): its JSON form both
// ways, atomic file writing, strict reading, and the exact merge of several cycles or
// of several nodes' files.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "stats/generator_health.hpp"
#include "stats/monitor_data.hpp"

#include "stats/entry.hpp"
#include "stats/histogram.hpp"
#include "stats/series.hpp"

namespace bm::stats {

inline constexpr std::string_view kResultsFormat = "benchmaster-results";
inline constexpr int kResultsVersion = 1;
inline constexpr std::size_t kMaxErrorExamples = 3;

enum class RunStatus : uint8_t { running, complete, interrupted };
enum class CycleStatus : uint8_t { complete, incomplete };
enum class NodeStatus : uint8_t { complete, incomplete, failed, missing };
std::string_view to_string(RunStatus status) noexcept;
std::string_view to_string(CycleStatus status) noexcept;
std::string_view to_string(NodeStatus status) noexcept;
std::optional<RunStatus> parse_run_status(std::string_view name) noexcept;
std::optional<CycleStatus> parse_cycle_status(std::string_view name) noexcept;
std::optional<NodeStatus> parse_node_status(std::string_view name) noexcept;

// The version this build writes into "tool".
std::string_view tool_version() noexcept;

struct ToolInfo {
  std::string name = "benchmaster";
  std::string version = std::string(tool_version());
};

struct RunInfo {
  std::string test;       // e.g. "Simple"
  std::string test_file;  // e.g. "test_Simple.lua"
  std::string conf_file;
  std::string function;  // e.g. "test_Simple"
  std::string title;
  std::string description;
  std::string url;
  std::string label;
  std::string host;
  int node_num = 0;  // -1 in a merged file
  std::vector<std::string> command_line;
  int64_t start_epoch_us = 0;
  int64_t end_epoch_us = 0;  // 0 while running
  RunStatus status = RunStatus::running;
  int workers = 0;
  int64_t pid = 0;
  // Why the run ended before its last cycle although nobody stopped it (--abort-on-fail:
  // the threshold that failed); empty otherwise.
  std::string stop_reason;
};

struct BenchConfig {
  std::vector<int> cycles;  // virtual users per cycle
  double duration_s = 0;
  double startup_delay_s = 0;
  double sleep_time_s = 0;
  double sleep_time_min_s = 0;
  double sleep_time_max_s = 0;
  double cycle_time_s = 0;
  double apdex_t_s = 1.5;
  std::vector<int> ok_codes;
  bool fetch_resources = true;
  double connect_timeout_s = 0;
  double read_timeout_s = 0;
  int max_redirects = 0;
  bool tls_verify = false;  // HTTPS certificates checked (absent in older files: false)
  // Open model (absent in closed-model files): the arrival rates per cycle as asked for
  // the whole run ("100:200", "50->200"), the pool bound, the spacing, and which part of
  // the schedule this node ran ("i/N"; "" in a merged file).
  std::string rates;
  int max_users = 0;
  std::string arrivals;
  std::string rate_part;
  // The run's pass/fail thresholds as written (conf/threshold.hpp); absent in older files.
  std::vector<std::string> thresholds;

  int64_t apdex_t_us() const noexcept;
};

// The whole .conf as read: {section: {key: value}}.
using ConfMap = std::map<std::string, std::map<std::string, std::string>>;

// Items not in a cycle's figures, by kind: those that completed during start-up or
// drain (outside_window), and those in flight when a stopped run dropped them
// (abandoned: the request had been sent, so the server may have answered it).
struct OutsideWindow {
  uint64_t tests = 0;
  uint64_t pages = 0;
  uint64_t requests = 0;
  void merge(const OutsideWindow& other) noexcept {
    tests += other.tests;
    pages += other.pages;
    requests += other.requests;
  }
  friend bool operator==(const OutsideWindow&, const OutsideWindow&) = default;
};

struct ErrorExample {
  std::string message;
  std::string location;  // "file:line" when the script raised it, else empty
  friend bool operator==(const ErrorExample&, const ErrorExample&) = default;
};

// Failures and errors with the same kind, page, request and message.
struct ErrorGroup {
  ErrorKind kind = ErrorKind::other;
  Verdict verdict = Verdict::error;
  std::string page;
  std::string request;
  int status = 0;  // HTTP status, 0 when there was no response
  std::string message;
  uint64_t count = 0;
  int64_t first_epoch_us = 0;
  int64_t last_epoch_us = 0;
  std::vector<ErrorExample> examples;  // at most kMaxErrorExamples, distinct

  // One more occurrence at `epoch_us`.
  void record(int64_t epoch_us) noexcept;
  // Keeps the example if it is new and there is room.
  void add_example(std::string_view example_message, std::string_view location);
  void merge(const ErrorGroup& other);
};

// What the engine reports for one failed or errored item.
struct ErrorOccurrence {
  ErrorKind kind = ErrorKind::other;
  Verdict verdict = Verdict::error;
  std::string_view page;
  std::string_view request;
  int status = 0;
  std::string_view message;   // the grouping text
  std::string_view example;   // this occurrence's full text; empty: the message
  std::string_view location;  // "file:line" when the script raised it
  int64_t epoch_us = 0;
};

// Error groups in first-seen order, found by (kind, page, request, message). Groups
// never move (std::deque); lookups do not allocate once the key buffer has grown.
class ErrorGroups {
 public:
  // The group for the key; a new one takes verdict default_verdict(kind) and status 0.
  ErrorGroup& slot(ErrorKind kind, std::string_view page, std::string_view request, std::string_view message);
  const ErrorGroup* find(ErrorKind kind, std::string_view page, std::string_view request,
                         std::string_view message) const;
  // slot() (a new group takes the occurrence's verdict and status), record(), add_example().
  ErrorGroup& record(const ErrorOccurrence& occurrence);

  std::size_t size() const noexcept { return groups_.size(); }
  bool empty() const noexcept { return groups_.empty(); }
  ErrorGroup& operator[](std::size_t i) noexcept { return groups_[i]; }
  const ErrorGroup& operator[](std::size_t i) const noexcept { return groups_[i]; }
  auto begin() noexcept { return groups_.begin(); }
  auto end() noexcept { return groups_.end(); }
  auto begin() const noexcept { return groups_.begin(); }
  auto end() const noexcept { return groups_.end(); }
  uint64_t total() const noexcept;

  void merge(const ErrorGroups& other);

 private:
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
  };
  static void compose_key(std::string& out, ErrorKind kind, std::string_view page, std::string_view request,
                          std::string_view message);

  std::deque<ErrorGroup> groups_;
  std::unordered_map<std::string, std::size_t, KeyHash, std::equal_to<>> index_;
  std::string key_buffer_;
};

// Open model: what one cycle's arrival schedule asked for and what it got
// (docs/open-model.md). Counts are of starts whose intended time fell in the window.
struct Arrivals {
  double rate_from = 0;         // asked, iterations/s, at the cycle's start (merged: the nodes' sum)
  double rate_to = 0;           // at its end (= rate_from but for a ramp)
  uint64_t due = 0;             // starts scheduled inside the window
  uint64_t started = 0;         // of those, begun (on time or late)
  uint64_t late = 0;            // of those begun, the ones that waited for a free virtual user
  uint64_t missed = 0;          // never begun: no virtual user was free before the window closed
  int peak_users = 0;           // the pool at its largest (merged: the nodes' sum)
  int64_t max_wait_us = 0;      // the longest a start waited for a free user
  void merge(const Arrivals& other) noexcept;
  friend bool operator==(const Arrivals&, const Arrivals&) = default;
};

// Nodes' windows of one cycle further apart than this: the reports warn (docs/statistics.md).
inline constexpr int64_t kWindowSkewWarningUs = 50'000;

struct CycleResults {
  int index = 0;
  int cvus = 0;
  CycleStatus status = CycleStatus::complete;
  int64_t start_epoch_us = 0;
  int64_t window_start_epoch_us = 0;
  int64_t window_end_epoch_us = 0;
  int64_t end_epoch_us = 0;
  double window_s = 0;
  EntryTable tests;
  EntryTable pages;
  EntryTable requests;
  OutsideWindow outside_window;
  OutsideWindow abandoned;
  int64_t control_lag_us = 0;  // the longest a stop, window end or harvest waited to run
  // Merged files: how far apart the nodes' windows opened or closed (the larger).
  int64_t window_skew_us = 0;
  ErrorGroups errors;
  std::optional<Arrivals> arrivals{};  // open-model cycles only

  // Adds a concurrent part of the same cycle (another worker's or node's): counts,
  // histograms and users add; entries join by key, error groups by kind, page, request
  // and message; the times span both parts (earliest start, latest end; 0 = unset);
  // window_s is the longer one; incomplete if either part is.
  void merge(const CycleResults& other);
};

struct NodeRow {
  int node_num = 0;
  std::string host;
  std::string label;
  NodeStatus status = NodeStatus::complete;
  int64_t clock_offset_us = 0;  // node clock minus master clock
  int64_t start_skew_us = 0;    // node's start of the first cycle minus the planned start
  uint64_t requests = 0;        // requests counted in the windows
  uint64_t errors = 0;          // of which failed or errored
  std::string message;
  uint64_t tests = 0;           // tests counted in the windows
  uint64_t tests_failed = 0;    // of which failed or errored
  std::vector<Arrivals> arrivals{};  // open model: the node's part of each cycle's schedule
};

// A [feeder.NAME] CSV that fed the run (docs/test-data.md). In a node's file: its part;
// merged: rows summed over the nodes' parts (partitioned) or the file's (whole), draws summed.
struct FeederUse {
  std::string name;
  std::string file;      // as the conf names it
  std::string order;     // sequence, per_user, random
  std::string at_end;    // wrap, stop_user, fail
  bool partitioned = true;  // partition = node: node i had rows i % nodes
  uint64_t rows = 0;
  uint64_t handed_out = 0;  // rows handed to tests
  uint64_t exhausted = 0;   // draws past the last row (wrapped, or a user stopped or failed)
  int nodes = 1;            // nodes that read it
};

struct Results {
  ToolInfo tool;
  RunInfo run;
  BenchConfig config;
  ConfMap conf;
  std::deque<CycleResults> cycles;  // a deque: CycleResults moves may throw, so a vector would copy them as it grows
  std::vector<SeriesPoint> series;
  std::vector<NodeRow> nodes;                              // merged files only
  MonitorData monitor;                                     // the monitored hosts (monitor_data.hpp)
  std::vector<GeneratorHealth> generators;                 // each node's own health (generator_health.hpp)
  std::vector<FeederUse> feeders;                          // the CSV files that fed the tests

  bool merged() const noexcept { return !nodes.empty(); }
};

// ---- JSON and files ----------------------------------------------------------------

nlohmann::json results_to_json(const Results& results);
// The file's text (compact JSON; invalid UTF-8 in strings is replaced, never thrown).
std::string results_to_string(const Results& results);
// The same text, handed to `write` in pieces of about 1 MiB (a merged file can be 100+
// MB); stops at the first false.
bool write_results_text(const Results& results, const std::function<bool(std::string_view)>& write);
// Strict: on a schema violation returns false with one line in *error, naming the JSON
// path ("cycles[0].pages[1]: missing key 'ok'", "unsupported results version 2").
bool results_from_json(const nlohmann::json& json, Results& out, std::string* error);
// parse_results reads the text with simdjson (json_fast.hpp) and, when that gives up or
// the document breaks the schema, again with nlohmann's parser, which makes the messages:
// the same answer as parse_results_reference, the slower reader, whose equal it must stay
// (the results fuzz target compares them).
bool parse_results(std::string_view text, Results& out, std::string* error);
// The same, for text followed by at least kResultsTextPadding readable bytes (as
// read_results reads a file): parsed in place rather than copied, a file's size less.
inline constexpr std::size_t kResultsTextPadding = 64;
bool parse_padded_results(std::string_view text, Results& out, std::string* error);
bool parse_results_reference(std::string_view text, Results& out, std::string* error);
// One cycle in the schema's form (a `cycles[]` element), both ways: what a node sends the
// master as each cycle ends (protocol "@cycle-results").
nlohmann::json cycle_results_to_json(const CycleResults& cycle);
bool cycle_results_from_json(const nlohmann::json& json, CycleResults& out, std::string* error);

// Writes <path>.tmp in the same folder, fsyncs it, renames it over `path` and fsyncs
// the folder: `path` holds either the old or the new document, never part of one.
bool write_results_atomic(const Results& results, const std::filesystem::path& path, std::string* error);
// The same for any text (the merge plan).
bool write_file_atomic(const std::filesystem::path& path, std::string_view data, std::string* error);
// Errors are prefixed with the path: "out/results.json: missing key 'cycles'". A file
// over kMaxResultsFileBytes is refused unread (docs/results-schema.md).
inline constexpr uint64_t kMaxResultsFileBytes = 1024ull << 20;
bool read_results(const std::filesystem::path& path, Results& out, std::string* error);

// ---- Merge of nodes' files ---------------------------------------------------------

struct NodeMergeInfo {
  int64_t clock_offset_us = 0;       // node clock minus master clock
  std::optional<NodeStatus> status;  // overrides the status derived from run.status
  std::string message;               // shown in the nodes table
};

struct MergeOptions {
  std::vector<NodeMergeInfo> nodes;    // one per input, or empty (no offsets)
  int64_t planned_start_epoch_us = 0;  // master clock; 0 = unknown (start skews stay 0)
  std::string host;                    // host of the merged run; empty: the first input's
};

// Rounds a clock offset to whole seconds, half away from zero.
int64_t offset_seconds(int64_t clock_offset_us) noexcept;

// Exact merge of the files of one test run on several nodes. Every node's times are
// first moved to the master clock (epoch µs - offset; series seconds - offset rounded
// to seconds). Cycles join by index (cycles[].cvus and config.cycles add), entries by
// key, histograms bucket by bucket, series points by second; one NodeRow per input.
// Fails with *error when inputs disagree on config.cycles or duration_s, or when an
// input is already a merged file.
std::optional<Results> merge_results(const std::vector<Results>& inputs, const MergeOptions& options,
                                     std::string* error);

}  // namespace bm::stats
