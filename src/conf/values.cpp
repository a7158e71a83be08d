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

std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
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

std::optional<std::vector<RateStep>> parse_rates(std::string_view text) {
  constexpr double kMaxRate = 1e7;
  const auto rate = [](std::string_view item) -> std::optional<double> {
    std::optional<double> value = parse_double(item);
    if (!value || *value < 0 || *value > kMaxRate) return std::nullopt;
    return value;
  };
  std::vector<RateStep> steps;
  for (const std::string& item : split_list(text, ':')) {
    RateStep step;
    const std::size_t arrow = item.find("->");
    if (arrow == std::string::npos) {
      std::optional<double> value = rate(item);
      if (!value || *value <= 0) return std::nullopt;
      step.from = step.to = *value;
    } else {
      std::optional<double> from = rate(std::string_view(item).substr(0, arrow));
      std::optional<double> to = rate(std::string_view(item).substr(arrow + 2));
      if (!from || !to || (*from <= 0 && *to <= 0)) return std::nullopt;
      step.from = *from;
      step.to = *to;
    }
    steps.push_back(step);
  }
  if (steps.empty()) return std::nullopt;
  return steps;
}

std::string format_rates(const std::vector<RateStep>& rates) {
  std::string out;
  const auto number = [](double value) {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, ec == std::errc{} ? end : buffer);
  };
  for (const RateStep& step : rates) {
    if (!out.empty()) out += ':';
    out += number(step.from);
    if (step.to != step.from) out += "->" + number(step.to);
  }
  return out;
}

std::optional<std::pair<int, int>> parse_part(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::optional<long long> index = parse_int(text.substr(0, slash));
  std::optional<long long> count = parse_int(text.substr(slash + 1));
  if (!index || !count || *count < 1 || *count > 1'000'000 || *index < 0 || *index >= *count) return std::nullopt;
  return std::pair<int, int>{static_cast<int>(*index), static_cast<int>(*count)};
}

}  // namespace bm::conf
