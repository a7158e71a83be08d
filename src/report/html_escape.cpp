#include "report/html_escape.hpp"

#include <nlohmann/json.hpp>

namespace bm::report {

void append_escaped(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size());
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::string_view replacement;
    switch (c) {
      case '&': replacement = "&amp;"; break;
      case '<': replacement = "&lt;"; break;
      case '>': replacement = "&gt;"; break;
      case '"': replacement = "&quot;"; break;
      case '\'': replacement = "&#39;"; break;
      default:
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') replacement = "\xEF\xBF\xBD";
        break;
    }
    if (replacement.empty()) continue;
    out.append(text, plain_from, i - plain_from);
    out.append(replacement);
    plain_from = i + 1;
  }
  out.append(text, plain_from, text.size() - plain_from);
}

std::string escape_html(std::string_view text) {
  std::string out;
  append_escaped(out, text);
  return out;
}

std::string json_for_script(const nlohmann::json& value) {
  const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  // These bytes occur only inside JSON strings, where a \u escape means the same.
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      out += text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace bm::report
