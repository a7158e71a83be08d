#pragma once
// Where an error is, as every message names it: "Shop.conf:16", "nodes.txt:3", or the
// file alone when there is no line. Errors then read "<location>: <message>".
#include <string>
#include <string_view>

namespace bm::common {

std::string location(std::string_view source, int line);
std::string located(std::string_view source, int line, std::string_view message);

}  // namespace bm::common
