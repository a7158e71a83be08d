#include "stats/json_reader.hpp"

#include <limits>

#include <fmt/format.h>

namespace bm::stats {

void throw_schema_error(std::string_view path, std::string_view problem) {
  if (path.empty()) throw SchemaError(std::string(problem));
  throw SchemaError(fmt::format("{}: {}", path, problem));
}

std::string json_path_index(std::string_view path, std::size_t index) {
  return fmt::format("{}[{}]", path, index);
}

std::string json_path_key(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

namespace {
std::string_view type_name(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.is_number_unsigned() ? "non-negative integer" : "integer";
  if (value.is_number_float()) return "number with a fraction";
  return value.type_name();
}

[[noreturn]] void throw_type_error(const nlohmann::json& value, std::string_view path,
                                   std::string_view expected) {
  throw_schema_error(path, fmt::format("expected {}, got {}", expected, type_name(value)));
}
}  // namespace

int64_t json_int64(const nlohmann::json& value, std::string_view path) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw_schema_error(path, "integer out of range");
    }
    return static_cast<int64_t>(v);
  }
  if (!value.is_number_integer()) throw_type_error(value, path, "an integer");
  return value.get<int64_t>();
}

uint64_t json_uint64(const nlohmann::json& value, std::string_view path) {
  if (!value.is_number_unsigned()) throw_type_error(value, path, "a non-negative integer");
  return value.get<uint64_t>();
}

int json_int(const nlohmann::json& value, std::string_view path) {
  const int64_t v = json_int64(value, path);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    throw_schema_error(path, "integer out of range");
  }
  return static_cast<int>(v);
}

double json_number(const nlohmann::json& value, std::string_view path) {
  if (!value.is_number()) throw_type_error(value, path, "a number");
  return value.get<double>();
}

bool json_bool(const nlohmann::json& value, std::string_view path) {
  if (!value.is_boolean()) throw_type_error(value, path, "true or false");
  return value.get<bool>();
}

std::string json_string(const nlohmann::json& value, std::string_view path) {
  if (!value.is_string()) throw_type_error(value, path, "a string");
  return value.get<std::string>();
}

const nlohmann::json& json_array(const nlohmann::json& value, std::string_view path) {
  if (!value.is_array()) throw_type_error(value, path, "an array");
  return value;
}

JsonObject::JsonObject(const nlohmann::json& value, std::string path)
    : value_(&value), path_(std::move(path)) {
  if (!value.is_object()) throw_type_error(value, path_, "an object");
}

const nlohmann::json& JsonObject::at(std::string_view key) const {
  const nlohmann::json* member = find(key);
  if (member == nullptr) throw_schema_error(path_, fmt::format("missing key '{}'", key));
  return *member;
}

const nlohmann::json* JsonObject::find(std::string_view key) const noexcept {
  const auto it = value_->find(key);  // heterogeneous lookup: no string made per key
  return it == value_->end() ? nullptr : &*it;
}

}  // namespace bm::stats
