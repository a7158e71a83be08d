// Decoding of request targets, query strings and urlencoded form bodies.
// Hand-written: Debian's Boost.URL 1.81 parse_query() reads past the end of its input
// (boostorg/url#757), and these requests come from tests that send hostile input.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bm::service {

// Decodes %XX escapes (and '+' as a space when `plus_is_space`); nullopt for a '%' not
// followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// Decoded name=value pairs of a query string or an application/x-www-form-urlencoded body.
class Params {
 public:
  // nullopt when an escape is malformed. "a&b=" gives a="" and b="".
  static std::optional<Params> parse(std::string_view encoded);
  // The first value given for `name`.
  std::optional<std::string> get(std::string_view name) const;
  // Every pair, in order.
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// An origin-form request target ("/path?query") split and decoded.
struct Target {
  std::string path;                // decoded
  std::string_view encoded_query;  // after '?', as sent
  Params query;
};
// nullopt unless `target` starts with '/' and decodes cleanly.
std::optional<Target> parse_target(std::string_view target);

}  // namespace bm::service
