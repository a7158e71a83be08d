#pragma once
// A hash map keyed by std::string that is searched with a string_view, so lookups on
// the request path build no temporary string.
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace bm::engine {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

template <class Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

}  // namespace bm::engine
