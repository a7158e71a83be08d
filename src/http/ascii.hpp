#pragma once
// Locale-free ASCII helpers shared by the HTTP parts (header names, schemes, hosts and
// cookie attributes are all case-insensitive ASCII).

#include <algorithm>
#include <cstddef>
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

// Equality with a lower-case literal, for header names and the keywords of values
// without control characters but HTAB. Letters differ from their lower-case form only
// in bit 0x20, and setting that bit turns no other such byte into a letter or '-':
// OR-ing it in compares case-insensitively, eight bytes at a time (two overlapping
// words cover 8 to 16 bytes).
template <size_t N>
bool equals_lower(std::string_view text, const char (&lower)[N]) {
  constexpr size_t n = N - 1;
  if (text.size() != n) return false;
  if constexpr (n >= 8 && n <= 16) {
    constexpr uint64_t kCaseBits = 0x2020202020202020ULL;
    uint64_t head, tail, lower_head, lower_tail;
    std::memcpy(&head, text.data(), 8);
    std::memcpy(&tail, text.data() + n - 8, 8);
    std::memcpy(&lower_head, lower, 8);
    std::memcpy(&lower_tail, lower + n - 8, 8);
    return (head | kCaseBits) == lower_head && (tail | kCaseBits) == lower_tail;
  } else {
    for (size_t i = 0; i < n; ++i) {
      if ((text[i] | 0x20) != lower[i]) return false;
    }
    return true;
  }
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
