#pragma once
// Strict reading of the results schema: every accessor names the JSON path of what is
// missing or mistyped ("cycles[0].pages[2]: missing key 'ok'"), so a bad file gets one
// clear line instead of a library exception.

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace bm::stats {

// A results document that does not follow the schema. what() is "path: problem".
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_schema_error(std::string_view path, std::string_view problem);

// Path of an array element or of an object member, for messages.
std::string json_path_index(std::string_view path, std::size_t index);
std::string json_path_key(std::string_view path, std::string_view key);

// Typed reads of one value; `path` names it in errors.
int64_t json_int64(const nlohmann::json& value, std::string_view path);
uint64_t json_uint64(const nlohmann::json& value, std::string_view path);
int json_int(const nlohmann::json& value, std::string_view path);
double json_number(const nlohmann::json& value, std::string_view path);
bool json_bool(const nlohmann::json& value, std::string_view path);
std::string json_string(const nlohmann::json& value, std::string_view path);
const nlohmann::json& json_array(const nlohmann::json& value, std::string_view path);

// One JSON object whose members are read by key.
class JsonObject {
 public:
  // Throws SchemaError unless `value` is an object.
  JsonObject(const nlohmann::json& value, std::string path);

  const nlohmann::json& value() const noexcept { return *value_; }
  const std::string& path() const noexcept { return path_; }
  std::string path_of(std::string_view key) const { return json_path_key(path_, key); }

  const nlohmann::json& at(std::string_view key) const;       // missing: SchemaError
  const nlohmann::json* find(std::string_view key) const noexcept;
  JsonObject object(std::string_view key) const { return JsonObject(at(key), path_of(key)); }
  const nlohmann::json& array(std::string_view key) const {
    const nlohmann::json& v = at(key);
    return v.is_array() ? v : json_array(v, path_of(key));
  }

  // Each reads a well-formed value without making its path, which only a message needs.
  int64_t int64(std::string_view key) const {
    const nlohmann::json& v = at(key);
    if (v.is_number_unsigned()) {
      if (const auto u = v.get<uint64_t>(); u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return static_cast<int64_t>(u);
      }
    } else if (v.is_number_integer()) {
      return v.get<int64_t>();
    }
    return json_int64(v, path_of(key));
  }
  uint64_t uint64(std::string_view key) const {
    const nlohmann::json& v = at(key);
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    return json_uint64(v, path_of(key));
  }
  int integer(std::string_view key) const {
    const nlohmann::json& v = at(key);
    if (v.is_number_unsigned()) {
      if (const auto u = v.get<uint64_t>(); u <= static_cast<uint64_t>(std::numeric_limits<int>::max())) {
        return static_cast<int>(u);
      }
    } else if (v.is_number_integer()) {
      if (const auto i = v.get<int64_t>(); i >= std::numeric_limits<int>::min()) return static_cast<int>(i);
    }
    return json_int(v, path_of(key));
  }
  double number(std::string_view key) const {
    const nlohmann::json& v = at(key);
    if (v.is_number()) return v.get<double>();
    return json_number(v, path_of(key));
  }
  bool boolean(std::string_view key) const {
    const nlohmann::json& v = at(key);
    if (v.is_boolean()) return v.get<bool>();
    return json_bool(v, path_of(key));
  }
  std::string string(std::string_view key) const {
    const nlohmann::json& v = at(key);
    if (v.is_string()) return v.get<std::string>();
    return json_string(v, path_of(key));
  }

 private:
  const nlohmann::json* value_;
  std::string path_;
};

}  // namespace bm::stats
