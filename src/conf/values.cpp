#include "conf/values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace bm::conf {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// std::from_chars takes no leading '+'; Python's int() and float() do.
std::string_view without_plus(std::string_view text) {
  if (text.size() > 1 && text.front() == '+' && text[1] != '-' && text[1] != '+') {
    text.remove_prefix(1);
  }
  return text;
}

template <typename Number>
std::optional<Number> parse_whole(std::string_view text) {
  text = without_plus(trim(text));
  Number value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

template <typename Accept>
std::optional<std::vector<int>> parse_int_list(std::string_view text, Accept accept) {
  std::vector<int> values;
  for (const std::string& item : split_list(text, ':')) {
    std::optional<long long> value = parse_int(item);
    if (!value || !accept(*value)) return std::nullopt;
    values.push_back(static_cast<int>(*value));
  }
  if (values.empty()) return std::nullopt;
  return values;
}

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<long long> parse_int(std::string_view text) { return parse_whole<long long>(text); }

std::optional<double> parse_double(std::string_view text) {
  std::optional<double> value = parse_whole<double>(text);
  if (!value || !std::isfinite(*value)) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string word = lower(trim(text));
  if (word == "1" || word == "yes" || word == "true" || word == "on") return true;
  if (word == "0" || word == "no" || word == "false" || word == "off") return false;
  return std::nullopt;
}

std::vector<std::string> split_list(std::string_view text, char separator) {
  std::vector<std::string> items;
  if (trim(text).empty()) return items;
  for (;;) {
    const std::size_t cut = text.find(separator);
    items.emplace_back(trim(text.substr(0, cut)));
    if (cut == std::string_view::npos) return items;
    text.remove_prefix(cut + 1);
  }
}

std::vector<std::string> split_names(std::string_view text) {
  std::vector<std::string> names;
  std::string name;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
      if (!name.empty()) names.push_back(std::move(name));
      name.clear();
    } else {
      name += c;
    }
  }
  if (!name.empty()) names.push_back(std::move(name));
  return names;
}

std::optional<std::vector<int>> parse_cycles(std::string_view text) {
  return parse_int_list(text, [](long long users) {
    return users > 0 && users <= std::numeric_limits<int>::max();
  });
}

std::optional<std::vector<int>> parse_status_codes(std::string_view text) {
  return parse_int_list(text, [](long long code) { return code >= 100 && code <= 599; });
}

}  // namespace bm::conf
