#include "stats/entry.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stats/json_reader.hpp"

namespace bm::stats {

namespace {
constexpr std::array<std::string_view, kErrorKindCount> kErrorKindNames = {
    "connect", "timeout", "reset", "protocol", "tls", "dns", "too_large", "status", "assertion", "resource", "script",
    "test_data", "other"};
constexpr std::array<std::string_view, 2> kVerdictNames = {"failure", "error"};
constexpr std::array<std::string_view, 3> kRequestKindNames = {"main", "redirect", "resource"};

template <class Enum, std::size_t N>
std::optional<Enum> parse_name(const std::array<std::string_view, N>& names, std::string_view name) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}
}  // namespace

std::string_view to_string(ErrorKind kind) noexcept { return kErrorKindNames[static_cast<std::size_t>(kind)]; }
std::optional<ErrorKind> parse_error_kind(std::string_view name) noexcept {
  return parse_name<ErrorKind>(kErrorKindNames, name);
}

std::string_view to_string(Verdict verdict) noexcept { return kVerdictNames[static_cast<std::size_t>(verdict)]; }
std::optional<Verdict> parse_verdict(std::string_view name) noexcept { return parse_name<Verdict>(kVerdictNames, name); }

Verdict default_verdict(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::status:
    case ErrorKind::assertion:
    case ErrorKind::resource:
      return Verdict::failure;
    default:
      return Verdict::error;
  }
}

std::string_view to_string(RequestKind kind) noexcept { return kRequestKindNames[static_cast<std::size_t>(kind)]; }
std::optional<RequestKind> parse_request_kind(std::string_view name) noexcept {
  return parse_name<RequestKind>(kRequestKindNames, name);
}

// ---- StatusCounts ------------------------------------------------------------------

uint64_t StatusCounts::count(int code) const noexcept {
  for (const Item& item : items_) {
    if (item.code == code) return item.count;
  }
  return 0;
}

uint64_t StatusCounts::total() const noexcept {
  uint64_t total = 0;
  for (const Item& item : items_) total += item.count;
  return total;
}

void StatusCounts::merge(const StatusCounts& other) {
  for (const Item& item : other.items_) {
    if (item.count != 0) add(item.code, item.count);
  }
}

void StatusCounts::reset() noexcept {
  for (Item& item : items_) item.count = 0;
}

std::vector<StatusCounts::Item> StatusCounts::sorted() const {
  std::vector<Item> result;
  std::copy_if(items_.begin(), items_.end(), std::back_inserter(result), [](const Item& i) { return i.count != 0; });
  std::sort(result.begin(), result.end(), [](const Item& a, const Item& b) { return a.code < b.code; });
  return result;
}

// ---- EntryStats --------------------------------------------------------------------

void EntryStats::merge(const EntryStats& other) {
  ok += other.ok;
  failures += other.failures;
  errors += other.errors;
  status_codes.merge(other.status_codes);
  for (std::size_t i = 0; i < kErrorKindCount; ++i) error_kinds[i] += other.error_kinds[i];
  bytes_sent += other.bytes_sent;
  bytes_received += other.bytes_received;
  latency.merge(other.latency);
  failed_latency.merge(other.failed_latency);
  connect.merge(other.connect);
  first_byte.merge(other.first_byte);
  service.merge(other.service);
  apdex.merge(other.apdex);
  pages += other.pages;
  requests += other.requests;
  outside_window += other.outside_window;
  abandoned += other.abandoned;
}

void EntryStats::reset() noexcept {
  ok = failures = errors = 0;
  status_codes.reset();
  error_kinds.fill(0);
  bytes_sent = bytes_received = 0;
  latency.reset();
  failed_latency.reset();
  connect.reset();
  first_byte.reset();
  service.reset();
  apdex = Apdex{};
  pages = requests = 0;
  outside_window = abandoned = 0;
}

// ---- EntryTable --------------------------------------------------------------------

EntryTable::Index EntryTable::index_of(std::string_view page, std::string_view key) {
  if (const auto it = index_.find(IdView{page, key}); it != index_.end()) return it->second;
  const Index index = entries_.size();
  Entry& entry = entries_.emplace_back();
  entry.page = std::string(page);
  entry.key = std::string(key);
  index_.emplace(Id{entry.page, entry.key}, index);
  return index;
}

Entry* EntryTable::find(std::string_view page, std::string_view key) noexcept {
  const auto it = index_.find(IdView{page, key});
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const Entry* EntryTable::find(std::string_view page, std::string_view key) const noexcept {
  const auto it = index_.find(IdView{page, key});
  return it == index_.end() ? nullptr : &entries_[it->second];
}

void EntryTable::merge(const EntryTable& other) {
  for (const Entry& source : other.entries_) {
    const bool known = find(source.page, source.key) != nullptr;
    Entry& target = slot(source.page, source.key);
    if (!known) {
      target.method = source.method;
      target.url = source.url;
      target.kind = source.kind;
    }
    target.stats.merge(source.stats);
  }
}

// ---- JSON --------------------------------------------------------------------------

void write_entry_stats(nlohmann::json& object, const EntryStats& stats, bool test_totals) {
  nlohmann::json codes = nlohmann::json::object();
  for (const StatusCounts::Item& item : stats.status_codes.sorted()) codes[std::to_string(item.code)] = item.count;
  nlohmann::json kinds = nlohmann::json::object();
  for (std::size_t i = 0; i < kErrorKindCount; ++i) {
    if (stats.error_kinds[i] != 0) kinds[std::string(kErrorKindNames[i])] = stats.error_kinds[i];
  }
  object["ok"] = stats.ok;
  object["failures"] = stats.failures;
  object["errors"] = stats.errors;
  object["status_codes"] = std::move(codes);
  object["error_kinds"] = std::move(kinds);
  object["bytes_sent"] = stats.bytes_sent;
  object["bytes_received"] = stats.bytes_received;
  object["latency"] = stats.latency;
  object["failed_latency"] = stats.failed_latency;
  object["apdex"] = stats.apdex;
  if (test_totals) {
    object["pages"] = stats.pages;
    object["requests"] = stats.requests;
  }
  // Written when not zero, read as 0 when absent (files from before they existed).
  if (stats.outside_window != 0) object["outside_window"] = stats.outside_window;
  if (stats.abandoned != 0) object["abandoned"] = stats.abandoned;
  if (stats.connect.count() != 0) object["connect"] = stats.connect;
  if (stats.first_byte.count() != 0) object["first_byte"] = stats.first_byte;
  if (stats.service.count() != 0) object["service"] = stats.service;
}

void read_entry_stats(const JsonObject& object, EntryStats& stats, bool test_totals) {
  stats = EntryStats{};
  stats.ok = object.uint64("ok");
  stats.failures = object.uint64("failures");
  stats.errors = object.uint64("errors");

  const JsonObject codes = object.object("status_codes");
  for (const auto& [name, count] : codes.value().items()) {
    int code = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), code);
    if (ec != std::errc{} || end != name.data() + name.size() || code < 0 || code > 999) {
      throw_schema_error(codes.path(), fmt::format("'{}' is not an HTTP status code", name));
    }
    stats.status_codes.add(code, json_uint64(count, codes.path_of(name)));
  }

  const JsonObject kinds = object.object("error_kinds");
  for (const auto& [name, count] : kinds.value().items()) {
    const std::optional<ErrorKind> kind = parse_error_kind(name);
    if (!kind) throw_schema_error(kinds.path(), fmt::format("unknown error kind '{}'", name));
    stats.error_kinds[static_cast<std::size_t>(*kind)] = json_uint64(count, kinds.path_of(name));
  }

  stats.bytes_sent = object.uint64("bytes_sent");
  stats.bytes_received = object.uint64("bytes_received");
  read_histogram(object.at("latency"), object.path_of("latency"), stats.latency);
  read_histogram(object.at("failed_latency"), object.path_of("failed_latency"), stats.failed_latency);
  read_apdex(object.at("apdex"), object.path_of("apdex"), stats.apdex);
  if (object.find("outside_window") != nullptr) stats.outside_window = object.uint64("outside_window");
  if (object.find("abandoned") != nullptr) stats.abandoned = object.uint64("abandoned");
  if (object.find("connect") != nullptr) read_histogram(object.at("connect"), object.path_of("connect"), stats.connect);
  if (object.find("first_byte") != nullptr) {
    read_histogram(object.at("first_byte"), object.path_of("first_byte"), stats.first_byte);
  }
  if (object.find("service") != nullptr) read_histogram(object.at("service"), object.path_of("service"), stats.service);
  if (test_totals) {
    stats.pages = object.uint64("pages");
    stats.requests = object.uint64("requests");
  }
}

}  // namespace bm::stats
