#include "record/recording.hpp"

#include <strings.h>

namespace bm::record {

std::string_view header_value(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) return value;
  }
  return {};
}

bool is_text_type(std::string_view type) {
  return type.starts_with("text/") || type.find("json") != std::string_view::npos ||
         type.find("xml") != std::string_view::npos || type.find("javascript") != std::string_view::npos ||
         type.find("x-www-form-urlencoded") != std::string_view::npos;
}

}  // namespace bm::record
