#include "stats/results.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <iterator>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "stats/json_reader.hpp"
#include "stats/json_fast.hpp"

#ifndef BM_VERSION
#define BM_VERSION "0.0.0"
#endif

namespace bm::stats {

using nlohmann::json;

namespace {
constexpr std::array<std::string_view, 3> kRunStatusNames = {"running", "complete", "interrupted"};
constexpr std::array<std::string_view, 2> kCycleStatusNames = {"complete", "incomplete"};
constexpr std::array<std::string_view, 4> kNodeStatusNames = {"complete", "incomplete", "failed", "missing"};

template <class Enum, std::size_t N>
std::optional<Enum> parse_name(const std::array<std::string_view, N>& names, std::string_view name) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

template <std::size_t N>
std::string list_names(const std::array<std::string_view, N>& names) {
  return fmt::format("{}", fmt::join(names, ", "));
}

int64_t min_set(int64_t a, int64_t b) noexcept {  // earliest of two epochs, 0 meaning unset
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}
}  // namespace

std::string_view to_string(RunStatus status) noexcept { return kRunStatusNames[static_cast<std::size_t>(status)]; }
std::string_view to_string(CycleStatus status) noexcept { return kCycleStatusNames[static_cast<std::size_t>(status)]; }
std::string_view to_string(NodeStatus status) noexcept { return kNodeStatusNames[static_cast<std::size_t>(status)]; }
std::optional<RunStatus> parse_run_status(std::string_view name) noexcept {
  return parse_name<RunStatus>(kRunStatusNames, name);
}
std::optional<CycleStatus> parse_cycle_status(std::string_view name) noexcept {
  return parse_name<CycleStatus>(kCycleStatusNames, name);
}
std::optional<NodeStatus> parse_node_status(std::string_view name) noexcept {
  return parse_name<NodeStatus>(kNodeStatusNames, name);
}

std::string_view tool_version() noexcept { return BM_VERSION; }

int64_t BenchConfig::apdex_t_us() const noexcept { return std::llround(apdex_t_s * 1e6); }

// ---- Errors ------------------------------------------------------------------------

void ErrorGroup::record(int64_t epoch_us) noexcept {
  first_epoch_us = count == 0 ? epoch_us : std::min(first_epoch_us, epoch_us);
  last_epoch_us = count == 0 ? epoch_us : std::max(last_epoch_us, epoch_us);
  ++count;
}

void ErrorGroup::add_example(std::string_view example_message, std::string_view location) {
  if (examples.size() >= kMaxErrorExamples) return;
  for (const ErrorExample& e : examples) {
    if (e.message == example_message && e.location == location) return;
  }
  examples.push_back({std::string(example_message), std::string(location)});
}

void ErrorGroup::merge(const ErrorGroup& other) {
  if (other.count != 0) {
    first_epoch_us = count == 0 ? other.first_epoch_us : std::min(first_epoch_us, other.first_epoch_us);
    last_epoch_us = count == 0 ? other.last_epoch_us : std::max(last_epoch_us, other.last_epoch_us);
  }
  count += other.count;
  for (const ErrorExample& e : other.examples) add_example(e.message, e.location);
}

void ErrorGroups::compose_key(std::string& out, ErrorKind kind, std::string_view page, std::string_view request,
                              std::string_view message) {
  // Length-prefixed parts, so no text can imitate another key.
  out.clear();
  out.push_back(static_cast<char>(kind));
  for (std::string_view part : {page, request, message}) {
    const uint64_t size = part.size();
    out.append(reinterpret_cast<const char*>(&size), sizeof size);
    out.append(part);
  }
}

ErrorGroup& ErrorGroups::slot(ErrorKind kind, std::string_view page, std::string_view request,
                              std::string_view message) {
  compose_key(key_buffer_, kind, page, request, message);
  if (const auto it = index_.find(std::string_view(key_buffer_)); it != index_.end()) return groups_[it->second];
  ErrorGroup& group = groups_.emplace_back();
  group.kind = kind;
  group.verdict = default_verdict(kind);
  group.page = std::string(page);
  group.request = std::string(request);
  group.message = std::string(message);
  index_.emplace(key_buffer_, groups_.size() - 1);
  return group;
}

const ErrorGroup* ErrorGroups::find(ErrorKind kind, std::string_view page, std::string_view request,
                                    std::string_view message) const {
  std::string key;
  compose_key(key, kind, page, request, message);
  const auto it = index_.find(std::string_view(key));
  return it == index_.end() ? nullptr : &groups_[it->second];
}

ErrorGroup& ErrorGroups::record(const ErrorOccurrence& occurrence) {
  const std::size_t before = groups_.size();
  ErrorGroup& group = slot(occurrence.kind, occurrence.page, occurrence.request, occurrence.message);
  if (groups_.size() != before) {
    group.verdict = occurrence.verdict;
    group.status = occurrence.status;
  }
  group.record(occurrence.epoch_us);
  group.add_example(occurrence.example.empty() ? occurrence.message : occurrence.example, occurrence.location);
  return group;
}

uint64_t ErrorGroups::total() const noexcept {
  uint64_t total = 0;
  for (const ErrorGroup& g : groups_) total += g.count;
  return total;
}

void ErrorGroups::merge(const ErrorGroups& other) {
  for (const ErrorGroup& source : other.groups_) {
    const std::size_t before = groups_.size();
    ErrorGroup& target = slot(source.kind, source.page, source.request, source.message);
    if (groups_.size() != before) {
      target.verdict = source.verdict;
      target.status = source.status;
    }
    target.merge(source);
  }
}

// ---- Cycles ------------------------------------------------------------------------

void Arrivals::merge(const Arrivals& other) noexcept {
  rate_from += other.rate_from;
  rate_to += other.rate_to;
  due += other.due;
  started += other.started;
  late += other.late;
  missed += other.missed;
  peak_users += other.peak_users;
  max_wait_us = std::max(max_wait_us, other.max_wait_us);
}

void CycleResults::merge(const CycleResults& other) {
  cvus += other.cvus;
  if (other.status == CycleStatus::incomplete) status = CycleStatus::incomplete;
  start_epoch_us = min_set(start_epoch_us, other.start_epoch_us);
  window_start_epoch_us = min_set(window_start_epoch_us, other.window_start_epoch_us);
  window_end_epoch_us = std::max(window_end_epoch_us, other.window_end_epoch_us);
  end_epoch_us = std::max(end_epoch_us, other.end_epoch_us);
  window_s = std::max(window_s, other.window_s);
  tests.merge(other.tests);
  pages.merge(other.pages);
  requests.merge(other.requests);
  outside_window.merge(other.outside_window);
  abandoned.merge(other.abandoned);
  control_lag_us = std::max(control_lag_us, other.control_lag_us);
  window_skew_us = std::max(window_skew_us, other.window_skew_us);
  errors.merge(other.errors);
  if (other.arrivals) {
    if (!arrivals) arrivals = Arrivals{};
    arrivals->merge(*other.arrivals);
  }
}

// ---- Writing JSON ------------------------------------------------------------------

namespace {
enum class EntryRole { test, page, request };

json entry_to_json(const Entry& entry, EntryRole role) {
  json object = {{"key", entry.key}};
  if (role == EntryRole::request) {
    object["page"] = entry.page;
    object["method"] = entry.method;
    object["url"] = entry.url;
    object["kind"] = to_string(entry.kind);
  }
  write_entry_stats(object, entry.stats, role == EntryRole::test);
  return object;
}

json table_to_json(const EntryTable& table, EntryRole role) {
  json array = json::array();
  for (const Entry& entry : table) array.push_back(entry_to_json(entry, role));
  return array;
}

json error_group_to_json(const ErrorGroup& group) {
  json examples = json::array();
  for (const ErrorExample& e : group.examples) examples.push_back({{"message", e.message}, {"location", e.location}});
  return {{"kind", to_string(group.kind)},
          {"verdict", to_string(group.verdict)},
          {"page", group.page},
          {"request", group.request},
          {"status", group.status},
          {"message", group.message},
          {"count", group.count},
          {"first_epoch_us", group.first_epoch_us},
          {"last_epoch_us", group.last_epoch_us},
          {"examples", std::move(examples)}};
}

json arrivals_to_json(const Arrivals& a) {
  return {{"rate_from", a.rate_from}, {"rate_to", a.rate_to}, {"due", a.due},
          {"started", a.started},     {"late", a.late},       {"missed", a.missed},
          {"peak_users", a.peak_users}, {"max_wait_us", a.max_wait_us}};
}

json cycle_core_to_json(const CycleResults& cycle, json errors);

json cycle_to_json(const CycleResults& cycle) {
  json errors = json::array();
  for (const ErrorGroup& group : cycle.errors) errors.push_back(error_group_to_json(group));
  json object = cycle_core_to_json(cycle, std::move(errors));
  if (cycle.arrivals) object["arrivals"] = arrivals_to_json(*cycle.arrivals);
  return object;
}

json cycle_core_to_json(const CycleResults& cycle, json errors) {
  return {{"index", cycle.index},
          {"cvus", cycle.cvus},
          {"status", to_string(cycle.status)},
          {"start_epoch_us", cycle.start_epoch_us},
          {"window_start_epoch_us", cycle.window_start_epoch_us},
          {"window_end_epoch_us", cycle.window_end_epoch_us},
          {"end_epoch_us", cycle.end_epoch_us},
          {"window_s", cycle.window_s},
          {"tests", table_to_json(cycle.tests, EntryRole::test)},
          {"pages", table_to_json(cycle.pages, EntryRole::page)},
          {"requests", table_to_json(cycle.requests, EntryRole::request)},
          {"outside_window",
           {{"tests", cycle.outside_window.tests},
            {"pages", cycle.outside_window.pages},
            {"requests", cycle.outside_window.requests}}},
          {"abandoned",
           {{"tests", cycle.abandoned.tests},
            {"pages", cycle.abandoned.pages},
            {"requests", cycle.abandoned.requests}}},
          {"control_lag_us", cycle.control_lag_us},
          {"window_skew_us", cycle.window_skew_us},
          {"errors", std::move(errors)}};
}

json run_to_json(const RunInfo& run) {
  return {{"test", run.test},
          {"test_file", run.test_file},
          {"conf_file", run.conf_file},
          {"function", run.function},
          {"title", run.title},
          {"description", run.description},
          {"url", run.url},
          {"label", run.label},
          {"host", run.host},
          {"node_num", run.node_num},
          {"command_line", run.command_line},
          {"start_epoch_us", run.start_epoch_us},
          {"end_epoch_us", run.end_epoch_us},
          {"status", to_string(run.status)},
          {"workers", run.workers},
          {"pid", run.pid},
          {"stop_reason", run.stop_reason}};
}

json config_to_json(const BenchConfig& config) {
  return {{"cycles", config.cycles},
          {"duration_s", config.duration_s},
          {"startup_delay_s", config.startup_delay_s},
          {"sleep_time_s", config.sleep_time_s},
          {"sleep_time_min_s", config.sleep_time_min_s},
          {"sleep_time_max_s", config.sleep_time_max_s},
          {"cycle_time_s", config.cycle_time_s},
          {"apdex_t_s", config.apdex_t_s},
          {"ok_codes", config.ok_codes},
          {"fetch_resources", config.fetch_resources},
          {"connect_timeout_s", config.connect_timeout_s},
          {"read_timeout_s", config.read_timeout_s},
          {"max_redirects", config.max_redirects},
          {"tls_verify", config.tls_verify},
          {"thresholds", config.thresholds}};
}

json config_with_rates_to_json(const BenchConfig& config) {
  json object = config_to_json(config);
  if (!config.rates.empty()) {
    object["rates"] = config.rates;
    object["max_users"] = config.max_users;
    object["arrivals"] = config.arrivals;
    object["rate_part"] = config.rate_part;
  }
  return object;
}

json feeder_to_json(const FeederUse& f) {
  return {{"name", f.name},       {"file", f.file},   {"order", f.order},           {"at_end", f.at_end},
          {"partitioned", f.partitioned}, {"rows", f.rows}, {"handed_out", f.handed_out}, {"exhausted", f.exhausted},
          {"nodes", f.nodes}};
}

FeederUse read_feeder(const JsonObject& o) {
  FeederUse f;
  f.name = o.string("name");
  f.file = o.string("file");
  f.order = o.string("order");
  f.at_end = o.string("at_end");
  f.partitioned = o.boolean("partitioned");
  f.rows = o.uint64("rows");
  f.handed_out = o.uint64("handed_out");
  f.exhausted = o.uint64("exhausted");
  f.nodes = o.integer("nodes");
  return f;
}

json node_to_json(const NodeRow& node) {
  return {{"node_num", node.node_num},
          {"host", node.host},
          {"label", node.label},
          {"status", to_string(node.status)},
          {"clock_offset_us", node.clock_offset_us},
          {"start_skew_us", node.start_skew_us},
          {"requests", node.requests},
          {"errors", node.errors},
          {"tests", node.tests},
          {"tests_failed", node.tests_failed},
          {"message", node.message}};
}

json node_with_arrivals_to_json(const NodeRow& node) {
  json object = node_to_json(node);
  if (!node.arrivals.empty()) {
    json arrivals = json::array();
    for (const Arrivals& a : node.arrivals) arrivals.push_back(arrivals_to_json(a));
    object["arrivals"] = std::move(arrivals);
  }
  return object;
}

json histogram_params_json() {
  return {{"lowest_us", Histogram::kLowestDiscernibleUs},
          {"highest_us", Histogram::kHighestTrackableUs},
          {"significant_digits", Histogram::kSignificantDigits}};
}
}  // namespace

json results_to_json(const Results& results) {
  json cycles = json::array();
  for (const CycleResults& cycle : results.cycles) cycles.push_back(cycle_to_json(cycle));
  json series = json::array();
  for (const SeriesPoint& point : results.series) series.push_back(point);
  json document = {{"format", kResultsFormat},
                   {"version", kResultsVersion},
                   {"tool", {{"name", results.tool.name}, {"version", results.tool.version}}},
                   {"run", run_to_json(results.run)},
                   {"config", config_with_rates_to_json(results.config)},
                   {"conf", results.conf},
                   {"histogram", histogram_params_json()},
                   {"cycles", std::move(cycles)},
                   {"series", std::move(series)},
                   {"monitor", monitor_to_json(results.monitor)}};
  json generators = json::array();
  for (const GeneratorHealth& g : results.generators) generators.push_back(generator_to_json(g));
  document["generators"] = std::move(generators);
  if (!results.feeders.empty()) {
    json feeders = json::array();
    for (const FeederUse& f : results.feeders) feeders.push_back(feeder_to_json(f));
    document["feeders"] = std::move(feeders);
  }
  if (results.merged()) {
    json nodes = json::array();
    for (const NodeRow& node : results.nodes) nodes.push_back(node_with_arrivals_to_json(node));
    document["nodes"] = std::move(nodes);
  }
  return document;
}

namespace {
template <typename Integer>
void append_integer(std::string& out, Integer value) {
  const fmt::format_int text(value);
  out.append(text.data(), text.size());
}

// The text as it is made; handed to `drain` (when there is one) whenever it passes
// kDrainBytes, so a merged file of 100+ MB is never one string.
struct TreeText {
  static constexpr std::size_t kDrainBytes = 1 << 20;
  std::string text;
  const std::function<bool(std::string_view)>* drain = nullptr;
  bool failed = false;

  void maybe_drain() {
    if (drain == nullptr || text.size() < kDrainBytes || failed) return;
    failed = !(*drain)(text);
    text.clear();
  }
};

// nlohmann's dump, but a packed bucket list (PackedBucketsScope) is printed as the
// schema's [[index, count], ...] straight from its bytes.
void dump_results_tree(const json& value, TreeText& tree_text) {
  std::string& out = tree_text.text;
  tree_text.maybe_drain();
  switch (value.type()) {
    case json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, member] : value.items()) {
        if (!first) out.push_back(',');
        first = false;
        // The schema's own keys need no escaping; any other goes through nlohmann.
        if (std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; })) {
          out.push_back('"');
          out += key;
          out.push_back('"');
        } else {
          out += json(key).dump(-1, ' ', false, json::error_handler_t::replace);
        }
        out.push_back(':');
        dump_results_tree(member, tree_text);
      }
      out.push_back('}');
      return;
    }
    case json::value_t::array: {
      out.push_back('[');
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (i) out.push_back(',');
        dump_results_tree(value[i], tree_text);
      }
      out.push_back(']');
      return;
    }
    case json::value_t::binary: {
      // Millions of pairs in a merged file: written straight into room made for the
      // longest they can be, then cut to what they took.
      const json::binary_t& bytes = value.get_binary();
      const std::size_t pairs = bytes.size() / sizeof(PackedBucket);
      constexpr std::size_t kLongestPair = 1 + 20 + 1 + 20 + 1 + 1;  // [index,count],
      const std::size_t start = out.size();
      out.resize(start + 2 + pairs * kLongestPair);
      char* at = out.data() + start;
      *at++ = '[';
      for (std::size_t i = 0; i < pairs; ++i) {
        PackedBucket pair;
        std::memcpy(&pair, bytes.data() + i * sizeof(PackedBucket), sizeof pair);
        if (i) *at++ = ',';
        *at++ = '[';
        const fmt::format_int index(pair.index);
        at = std::copy_n(index.data(), index.size(), at);
        *at++ = ',';
        const fmt::format_int count(pair.count);
        at = std::copy_n(count.data(), count.size(), at);
        *at++ = ']';
      }
      *at++ = ']';
      out.resize(static_cast<std::size_t>(at - out.data()));
      return;
    }
    case json::value_t::number_unsigned: append_integer(out, value.get<uint64_t>()); return;
    case json::value_t::number_integer: append_integer(out, value.get<int64_t>()); return;
    default:
      out += value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}
}  // namespace

std::string results_to_string(const Results& results) {
  const PackedBucketsScope packed;
  const json tree = results_to_json(results);
  TreeText out;
  dump_results_tree(tree, out);
  out.text.push_back('\n');
  return std::move(out.text);
}

bool write_results_text(const Results& results, const std::function<bool(std::string_view)>& write) {
  json tree;
  {
    const PackedBucketsScope packed;
    tree = results_to_json(results);
  }
  TreeText out;
  out.drain = &write;
  dump_results_tree(tree, out);
  if (out.failed) return false;
  out.text.push_back('\n');
  return write(out.text);
}

// ---- Reading JSON ------------------------------------------------------------------

namespace {
template <class Enum, class Parse>
Enum read_enum(const JsonObject& object, std::string_view key, Parse parse, std::string_view expected) {
  const std::string name = object.string(key);
  const std::optional<Enum> value = parse(name);
  if (!value) throw_schema_error(object.path_of(key), fmt::format("unknown value '{}' (expected {})", name, expected));
  return *value;
}

std::vector<int> read_int_array(const JsonObject& object, std::string_view key) {
  const json& array = object.array(key);
  std::vector<int> values;
  for (std::size_t i = 0; i < array.size(); ++i) {
    values.push_back(json_int(array[i], json_path_index(object.path_of(key), i)));
  }
  return values;
}

std::vector<std::string> read_string_array(const JsonObject& object, std::string_view key) {
  const json& array = object.array(key);
  std::vector<std::string> values;
  for (std::size_t i = 0; i < array.size(); ++i) {
    values.push_back(json_string(array[i], json_path_index(object.path_of(key), i)));
  }
  return values;
}

RunInfo read_run(const JsonObject& o) {
  RunInfo run;
  run.test = o.string("test");
  run.test_file = o.string("test_file");
  run.conf_file = o.string("conf_file");
  run.function = o.string("function");
  run.title = o.string("title");
  run.description = o.string("description");
  run.url = o.string("url");
  run.label = o.string("label");
  run.host = o.string("host");
  run.node_num = o.integer("node_num");
  run.command_line = read_string_array(o, "command_line");
  run.start_epoch_us = o.int64("start_epoch_us");
  run.end_epoch_us = o.int64("end_epoch_us");
  run.status = read_enum<RunStatus>(o, "status", parse_run_status, list_names(kRunStatusNames));
  run.workers = o.integer("workers");
  run.pid = o.int64("pid");
  if (o.find("stop_reason") != nullptr) run.stop_reason = o.string("stop_reason");
  return run;
}

Arrivals read_arrivals(const JsonObject& o) {
  Arrivals a;
  a.rate_from = o.number("rate_from");
  a.rate_to = o.number("rate_to");
  a.due = o.uint64("due");
  a.started = o.uint64("started");
  a.late = o.uint64("late");
  a.missed = o.uint64("missed");
  a.peak_users = o.integer("peak_users");
  a.max_wait_us = o.int64("max_wait_us");
  return a;
}

BenchConfig read_config(const JsonObject& o) {
  BenchConfig config;
  config.cycles = read_int_array(o, "cycles");
  config.duration_s = o.number("duration_s");
  config.startup_delay_s = o.number("startup_delay_s");
  config.sleep_time_s = o.number("sleep_time_s");
  config.sleep_time_min_s = o.number("sleep_time_min_s");
  config.sleep_time_max_s = o.number("sleep_time_max_s");
  config.cycle_time_s = o.number("cycle_time_s");
  config.apdex_t_s = o.number("apdex_t_s");
  config.ok_codes = read_int_array(o, "ok_codes");
  config.fetch_resources = o.boolean("fetch_resources");
  config.connect_timeout_s = o.number("connect_timeout_s");
  config.read_timeout_s = o.number("read_timeout_s");
  config.max_redirects = o.integer("max_redirects");
  // Added after the first files of version 1 were written: optional.
  if (o.find("tls_verify") != nullptr) config.tls_verify = o.boolean("tls_verify");
  if (o.find("thresholds") != nullptr) config.thresholds = read_string_array(o, "thresholds");
  if (o.find("rates") != nullptr) {
    config.rates = o.string("rates");
    config.max_users = o.integer("max_users");
    config.arrivals = o.string("arrivals");
    config.rate_part = o.string("rate_part");
  }
  return config;
}

ConfMap read_conf(const JsonObject& o) {
  ConfMap conf;
  for (const auto& [section, keys] : o.value().items()) {
    const JsonObject section_object(keys, o.path_of(section));
    auto& target = conf[section];
    for (const auto& [key, value] : keys.items()) target[key] = json_string(value, section_object.path_of(key));
  }
  return conf;
}

void check_histogram_params(const JsonObject& o) {
  if (o.int64("lowest_us") != Histogram::kLowestDiscernibleUs ||
      o.int64("highest_us") != Histogram::kHighestTrackableUs ||
      o.integer("significant_digits") != Histogram::kSignificantDigits) {
    throw_schema_error(o.path(), fmt::format("unsupported histogram parameters (this build reads lowest_us {}, "
                                             "highest_us {}, significant_digits {})",
                                             Histogram::kLowestDiscernibleUs, Histogram::kHighestTrackableUs,
                                             Histogram::kSignificantDigits));
  }
}

void read_table(const JsonObject& cycle, std::string_view key, EntryRole role, EntryTable& table) {
  const json& array = cycle.array(key);
  for (std::size_t i = 0; i < array.size(); ++i) {
    const JsonObject o(array[i], json_path_index(cycle.path_of(key), i));
    const std::string entry_key = o.string("key");
    const std::string page = role == EntryRole::request ? o.string("page") : std::string();
    if (table.find(page, entry_key) != nullptr) {
      throw_schema_error(o.path(), page.empty() ? fmt::format("duplicate key '{}'", entry_key)
                                                : fmt::format("duplicate key '{}' in page '{}'", entry_key, page));
    }
    Entry& entry = table.slot(page, entry_key);
    if (role == EntryRole::request) {
      entry.method = o.string("method");
      entry.url = o.string("url");
      entry.kind = read_enum<RequestKind>(o, "kind", parse_request_kind, "main, redirect, resource");
    }
    read_entry_stats(o, entry.stats, role == EntryRole::test);
  }
}

void read_error_groups(const JsonObject& cycle, ErrorGroups& groups) {
  const json& array = cycle.array("errors");
  for (std::size_t i = 0; i < array.size(); ++i) {
    const JsonObject o(array[i], json_path_index(cycle.path_of("errors"), i));
    const ErrorKind kind = read_enum<ErrorKind>(o, "kind", parse_error_kind, "an error kind of the schema");
    const std::string page = o.string("page");
    const std::string request = o.string("request");
    const std::string message = o.string("message");
    if (groups.find(kind, page, request, message) != nullptr) throw_schema_error(o.path(), "duplicate error group");
    ErrorGroup& group = groups.slot(kind, page, request, message);
    group.verdict = read_enum<Verdict>(o, "verdict", parse_verdict, "failure, error");
    group.status = o.integer("status");
    group.count = o.uint64("count");
    group.first_epoch_us = o.int64("first_epoch_us");
    group.last_epoch_us = o.int64("last_epoch_us");
    const json& examples = o.array("examples");
    if (examples.size() > kMaxErrorExamples) {
      throw_schema_error(o.path_of("examples"), fmt::format("more than {} examples", kMaxErrorExamples));
    }
    for (std::size_t j = 0; j < examples.size(); ++j) {
      const JsonObject example(examples[j], json_path_index(o.path_of("examples"), j));
      group.examples.push_back({example.string("message"), example.string("location")});
    }
  }
}

CycleResults read_cycle(const JsonObject& o, std::size_t position) {
  CycleResults cycle;
  cycle.index = o.integer("index");
  if (cycle.index != static_cast<int>(position)) {
    throw_schema_error(o.path_of("index"), fmt::format("expected {} (cycles are listed in order)", position));
  }
  cycle.cvus = o.integer("cvus");
  cycle.status = read_enum<CycleStatus>(o, "status", parse_cycle_status, list_names(kCycleStatusNames));
  cycle.start_epoch_us = o.int64("start_epoch_us");
  cycle.window_start_epoch_us = o.int64("window_start_epoch_us");
  cycle.window_end_epoch_us = o.int64("window_end_epoch_us");
  cycle.end_epoch_us = o.int64("end_epoch_us");
  cycle.window_s = o.number("window_s");
  read_table(o, "tests", EntryRole::test, cycle.tests);
  read_table(o, "pages", EntryRole::page, cycle.pages);
  read_table(o, "requests", EntryRole::request, cycle.requests);
  const JsonObject outside = o.object("outside_window");
  cycle.outside_window = {outside.uint64("tests"), outside.uint64("pages"), outside.uint64("requests")};
  // Absent in files from before they existed.
  if (o.find("abandoned") != nullptr) {
    const JsonObject abandoned = o.object("abandoned");
    cycle.abandoned = {abandoned.uint64("tests"), abandoned.uint64("pages"), abandoned.uint64("requests")};
  }
  if (o.find("control_lag_us") != nullptr) cycle.control_lag_us = o.int64("control_lag_us");
  if (o.find("window_skew_us") != nullptr) cycle.window_skew_us = o.int64("window_skew_us");
  read_error_groups(o, cycle.errors);
  if (o.find("arrivals") != nullptr) cycle.arrivals = read_arrivals(o.object("arrivals"));
  return cycle;
}

NodeRow read_node(const JsonObject& o) {
  NodeRow node;
  node.node_num = o.integer("node_num");
  node.host = o.string("host");
  node.label = o.string("label");
  node.status = read_enum<NodeStatus>(o, "status", parse_node_status, list_names(kNodeStatusNames));
  node.clock_offset_us = o.int64("clock_offset_us");
  node.start_skew_us = o.int64("start_skew_us");
  node.requests = o.uint64("requests");
  node.errors = o.uint64("errors");
  if (o.find("tests") != nullptr) node.tests = o.uint64("tests");  // absent in older files
  if (o.find("tests_failed") != nullptr) node.tests_failed = o.uint64("tests_failed");
  node.message = o.string("message");
  if (o.find("arrivals") != nullptr) {
    const json& array = o.array("arrivals");
    for (std::size_t i = 0; i < array.size(); ++i) {
      node.arrivals.push_back(read_arrivals(JsonObject(array[i], json_path_index(o.path_of("arrivals"), i))));
    }
  }
  return node;
}

void check_format_and_version(const JsonObject& top) {
  const std::string format = top.string("format");
  if (format != kResultsFormat) {
    throw_schema_error("", fmt::format("not a {} document (format '{}')", kResultsFormat, format));
  }
  const int64_t version = top.int64("version");
  if (version != kResultsVersion) throw_schema_error("", fmt::format("unsupported results version {}", version));
}

// `streamed`: the cycles parse_results() read as the parser finished each (the
// document's own `cycles` array is then empty), and the first problem found in them.
struct StreamedCycles {
  std::deque<CycleResults> cycles;
  std::optional<SchemaError> problem;
};

Results read_document(const json& document, StreamedCycles* streamed = nullptr) {
  const JsonObject top(document, "");
  check_format_and_version(top);
  Results results;
  const JsonObject tool = top.object("tool");
  results.tool = {tool.string("name"), tool.string("version")};
  results.run = read_run(top.object("run"));
  results.config = read_config(top.object("config"));
  results.conf = read_conf(top.object("conf"));
  check_histogram_params(top.object("histogram"));

  const json& cycles = top.array("cycles");
  if (streamed != nullptr) {
    if (streamed->problem) throw *streamed->problem;
    results.cycles = std::move(streamed->cycles);
  }
  for (std::size_t i = 0; i < cycles.size(); ++i) {
    results.cycles.push_back(read_cycle(JsonObject(cycles[i], json_path_index("cycles", i)), i));
  }
  const json& series = top.array("series");
  for (std::size_t i = 0; i < series.size(); ++i) {
    SeriesPoint& point = results.series.emplace_back();
    read_series_point(series[i], json_path_index("series", i), point);
    if (i > 0 && point.t <= results.series[i - 1].t) {
      throw_schema_error(json_path_index("series", i), "points are not in ascending order of t");
    }
  }
  if (const json* nodes = top.find("nodes")) {
    json_array(*nodes, "nodes");
    for (std::size_t i = 0; i < nodes->size(); ++i) {
      results.nodes.push_back(read_node(JsonObject((*nodes)[i], json_path_index("nodes", i))));
    }
  }
  if (const json* monitor = top.find("monitor")) results.monitor = monitor_from_json(*monitor, "monitor");
  if (const json* generators = top.find("generators")) {
    json_array(*generators, "generators");
    for (std::size_t i = 0; i < generators->size(); ++i) {
      results.generators.push_back(generator_from_json((*generators)[i], json_path_index("generators", i)));
    }
  }
  if (const json* feeders = top.find("feeders")) {
    json_array(*feeders, "feeders");
    for (std::size_t i = 0; i < feeders->size(); ++i) {
      results.feeders.push_back(read_feeder(JsonObject((*feeders)[i], json_path_index("feeders", i))));
    }
  }
  return results;
}
}  // namespace

json cycle_results_to_json(const CycleResults& cycle) { return cycle_to_json(cycle); }

bool cycle_results_from_json(const json& document, CycleResults& out, std::string* error) {
  try {
    if (!document.is_object()) throw_schema_error("cycle", "expected an object");
    const JsonObject object(document, "cycle");
    out = read_cycle(object, static_cast<std::size_t>(object.integer("index")));
    return true;
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return false;
  }
}

bool results_from_json(const json& document, Results& out, std::string* error) {
  try {
    out = read_document(document);
    return true;
  } catch (const std::exception& e) {  // SchemaError, or a json error the checks missed
    if (error) *error = e.what();
    return false;
  }
}

namespace {
bool parse_results_fast_first(std::string_view text, bool padded, Results& out, std::string* error) {
  // The fast path reads a well-formed file; anything it refuses or cannot read, it hands
  // to the reference reader, which says what is wrong the way it always has.
  try {
    json document = json::object();
    StreamedCycles streamed;
    const bool read = read_json_object_fast(
        text, padded, "cycles", [&](std::string_view key, json&& value) { document[std::string(key)] = std::move(value); },
        [&](json&& cycle) {
          const std::size_t index = streamed.cycles.size();
          streamed.cycles.push_back(read_cycle(JsonObject(cycle, json_path_index("cycles", index)), index));
        });
    if (read) {
      out = read_document(document, &streamed);
      return true;
    }
  } catch (const std::exception&) {  // the reference reader says what
  }
  return parse_results_reference(text, out, error);
}
}  // namespace

static_assert(kResultsTextPadding >= kJsonFastPadding);

bool parse_results(std::string_view text, Results& out, std::string* error) {
  return parse_results_fast_first(text, false, out, error);
}

bool parse_padded_results(std::string_view text, Results& out, std::string* error) {
  return parse_results_fast_first(text, true, out, error);
}

bool parse_results_reference(std::string_view text, Results& out, std::string* error) {
  // Each element of the top-level `cycles` array is read into a CycleResults as soon as
  // the parser has it and dropped from the document, so a large file never has its whole
  // tree in memory at once (most of a file is its cycles). Problems found in a cycle are
  // told after the format and version checks, as for the rest of the document.
  StreamedCycles streamed;
  bool cycles_key = false;  // the last key of the top object was "cycles"
  bool in_cycles = false;   // inside its array
  bool cycles_seen = false;
  BucketPacker packer;
  const auto on_event = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    using Event = json::parse_event_t;
    if (!packer.on_event(depth, event, parsed)) return false;
    if (depth == 1) {
      if (event == Event::key) {
        cycles_key = parsed.is_string() && parsed.get_ref<const std::string&>() == "cycles";
        if (cycles_key && cycles_seen && !streamed.problem) streamed.problem = SchemaError("cycles: the key appears twice");
      } else if (event == Event::array_start && cycles_key) {
        in_cycles = cycles_seen = true;
      } else if (event == Event::array_end) {
        in_cycles = false;
      }
      return true;
    }
    if (!in_cycles || depth != 2) return true;
    const std::string path = json_path_index("cycles", streamed.cycles.size());
    if (event == Event::object_end) {
      if (!streamed.problem) {
        try {
          streamed.cycles.push_back(read_cycle(JsonObject(parsed, path), streamed.cycles.size()));
        } catch (const SchemaError& e) {
          streamed.problem = e;
        } catch (const std::exception& e) {  // a json error the checks missed
          streamed.problem = SchemaError(fmt::format("{}: {}", path, e.what()));
        }
      }
      return false;  // dropped from the document
    }
    if ((event == Event::value || event == Event::array_end) && !streamed.problem) {
      try {
        (void)JsonObject(parsed, path);  // not an object: the same message as for the rest of the file
      } catch (const SchemaError& e) {
        streamed.problem = e;
      }
    }
    return event != Event::value && event != Event::array_end;
  };
  json document;
  try {
    document = json::parse(text, on_event);
  } catch (const json::exception& e) {  // a syntax error, or a number past a double (out_of_range.406)
    // Drop the library's "[json.exception.parse_error.101] " prefix.
    std::string_view what = e.what();
    if (const auto end = what.find("] "); what.starts_with("[json.exception") && end != std::string_view::npos) {
      what.remove_prefix(end + 2);
    }
    if (error) *error = fmt::format("invalid JSON: {}", what);
    return false;
  }
  try {
    out = read_document(document, &streamed);
    return true;
  } catch (const std::exception& e) {  // SchemaError, or a json error the checks missed
    if (error) *error = e.what();
    return false;
  }
}

}  // namespace bm::stats
