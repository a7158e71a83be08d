#include "stats/series.hpp"

#include <array>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stats/json_reader.hpp"

namespace bm::stats {

namespace {
constexpr std::array<std::string_view, 3> kPhaseNames = {"startup", "window", "drain"};
}

std::string_view to_string(Phase phase) noexcept { return kPhaseNames[static_cast<std::size_t>(phase)]; }

std::optional<Phase> parse_phase(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kPhaseNames.size(); ++i) {
    if (kPhaseNames[i] == name) return static_cast<Phase>(i);
  }
  return std::nullopt;
}

void SeriesPoint::merge(const SeriesPoint& other) {
  if (phase != Phase::window && other.phase == Phase::window) {
    cycle = other.cycle;
    phase = other.phase;
  }
  cvus += other.cvus;
  requests_ok += other.requests_ok;
  requests_failed += other.requests_failed;
  pages_ok += other.pages_ok;
  pages_failed += other.pages_failed;
  tests_ok += other.tests_ok;
  tests_failed += other.tests_failed;
  tests_errors += other.tests_errors;
  bytes_received += other.bytes_received;
  latency.merge(other.latency);
}

void merge_series(std::vector<SeriesPoint>& into, const std::vector<SeriesPoint>& from) {
  std::vector<SeriesPoint> merged;
  merged.reserve(into.size() + from.size());
  auto a = std::make_move_iterator(into.begin());
  const auto a_end = std::make_move_iterator(into.end());
  auto b = from.begin();
  while (a != a_end || b != from.end()) {
    if (b == from.end() || (a != a_end && a->t < b->t)) {
      merged.push_back(*a++);
    } else if (a == a_end || b->t < a->t) {
      merged.push_back(*b++);
    } else {
      SeriesPoint point = *a++;
      point.merge(*b++);
      merged.push_back(std::move(point));
    }
  }
  into = std::move(merged);
}

std::optional<SeriesPoint> SecondAccumulator::roll(int64_t next_epoch_second) {
  std::optional<SeriesPoint> finished;
  if (touched_ || cvus_ != 0) {
    finished.emplace();
    SeriesPoint& point = *finished;
    point.t = second_;
    point.cycle = cycle_;
    point.phase = phase_;
    point.cvus = cvus_;
    point.requests_ok = requests_ok_;
    point.requests_failed = requests_failed_;
    point.pages_ok = pages_ok_;
    point.pages_failed = pages_failed_;
    point.tests_ok = tests_ok_;
    point.tests_failed = tests_failed_;
    point.tests_errors = tests_errors_;
    point.bytes_received = bytes_received_;
    point.latency = SparseHistogram(latency_);
  }
  second_ = next_epoch_second;
  touched_ = false;
  requests_ok_ = requests_failed_ = pages_ok_ = pages_failed_ = 0;
  tests_ok_ = tests_failed_ = tests_errors_ = bytes_received_ = 0;
  latency_.reset();
  return finished;
}

void to_json(nlohmann::json& json, const SeriesPoint& point) {
  json = nlohmann::json{{"t", point.t},
                        {"cycle", point.cycle},
                        {"phase", to_string(point.phase)},
                        {"cvus", point.cvus},
                        {"requests_ok", point.requests_ok},
                        {"requests_failed", point.requests_failed},
                        {"pages_ok", point.pages_ok},
                        {"pages_failed", point.pages_failed},
                        {"tests_ok", point.tests_ok},
                        {"tests_failed", point.tests_failed},
                        {"tests_errors", point.tests_errors},
                        {"bytes_received", point.bytes_received},
                        {"latency", point.latency}};
}

void read_series_point(const nlohmann::json& json, std::string_view path, SeriesPoint& out) {
  const JsonObject object(json, std::string(path));
  SeriesPoint point;
  point.t = object.int64("t");
  point.cycle = object.integer("cycle");
  const std::string phase = object.string("phase");
  const std::optional<Phase> parsed = parse_phase(phase);
  if (!parsed) throw_schema_error(object.path_of("phase"), fmt::format("unknown phase '{}'", phase));
  point.phase = *parsed;
  point.cvus = object.int64("cvus");
  point.requests_ok = object.uint64("requests_ok");
  point.requests_failed = object.uint64("requests_failed");
  point.pages_ok = object.uint64("pages_ok");
  point.pages_failed = object.uint64("pages_failed");
  point.tests_ok = object.uint64("tests_ok");
  point.tests_failed = object.uint64("tests_failed");
  point.tests_errors = object.uint64("tests_errors");
  point.bytes_received = object.uint64("bytes_received");
  read_histogram(object.at("latency"), object.path_of("latency"), point.latency);
  out = std::move(point);
}

}  // namespace bm::stats
