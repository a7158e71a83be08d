#include "common/location.hpp"

namespace bm::common {

std::string location(std::string_view source, int line) {
  std::string text(source);
  if (line > 0) text += ":" + std::to_string(line);
  return text;
}

std::string located(std::string_view source, int line, std::string_view message) {
  std::string text = location(source, line);
  text += ": ";
  text += message;
  return text;
}

}  // namespace bm::common
