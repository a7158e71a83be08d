#pragma once
// Locale-free ASCII helpers shared by the HTTP parts (header names, schemes, hosts and
// cookie attributes are all case-insensitive ASCII).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace bm::http {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

constexpr bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

// Equality with a lower-case literal made of letters and '-', for header names, 8 bytes
// at a time: OR-ing 0x20 lower-cases a letter and leaves '-' alone, and no other byte a
// name may hold (a token) becomes a letter or '-' that way.
inline bool equals_lower_name(std::string_view name, std::string_view lower) {
  const size_t n = name.size();
  if (n != lower.size()) return false;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, name.data() + i, 8);
    std::memcpy(&b, lower.data() + i, 8);
    if ((a | 0x2020202020202020ull) != b) return false;
  }
  for (; i < n; ++i) {
    if ((name[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

constexpr bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// Optional whitespace (RFC 9110 OWS: space and tab) trimmed from both ends.
constexpr std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace bm::http
