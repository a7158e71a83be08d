#include "master/shell.hpp"

#include <algorithm>

namespace bm::master {

namespace {
bool shell_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_-./:=@%+,").find(c) != std::string_view::npos;
}
}  // namespace

std::string shell_quote(std::string_view word) {
  // '=' is safe inside a word, but a leading NAME= would read as an assignment.
  if (!word.empty() && std::all_of(word.begin(), word.end(), shell_safe) && word.find('=') == std::string_view::npos) {
    return std::string(word);
  }
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

std::string shell_join(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& word : words) {
    if (!line.empty()) line += ' ';
    line += shell_quote(word);
  }
  return line;
}

std::string label_problem(std::string_view label) {
  if (label.empty()) return "a label cannot be empty";
  if (label == "." || label == "..") return "a label cannot be '.' or '..'";
  if (label.size() > 200) return "a label is at most 200 bytes";
  for (char c : label) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '/') return "a label cannot hold '/' (it names one folder)";
    if (byte < 0x20 || byte == 0x7f) return "a label cannot hold control characters (newline, tab, ...)";
  }
  return {};
}

}  // namespace bm::master
