#pragma once
// The one place where text from a results file (server data, URLs, descriptions, conf
// values, error messages, node names) becomes HTML. Everything the HTML reports print
// that did not come from a literal in our own code goes through here.

#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json_fwd.hpp>

namespace bm::report {

// Appends `text` with & < > " ' replaced by entities, so it is inert both as element
// content and inside a quoted attribute value. NUL and other C0 controls but tab and
// newline become U+FFFD: HTML parsers treat them as errors.
void append_escaped(std::string& out, std::string_view text);
std::string escape_html(std::string_view text);

// JSON text safe inside <script type="application/json">: "<", ">" and "&" become
// \u003c, \u003e, \u0026 (so "</script>" or "<!--" in any string cannot end the block),
// U+2028 and U+2029 are escaped too, invalid UTF-8 is replaced. JSON.parse gives back
// the original strings.
std::string json_for_script(const nlohmann::json& value);

// A string formatted into HTML with fmt: fmt::format("<td>{}</td>", Esc{name}).
struct Esc {
  std::string_view text;
};

}  // namespace bm::report

template <>
struct fmt::formatter<bm::report::Esc> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(const bm::report::Esc& value, Context& ctx) const {
    std::string escaped;
    bm::report::append_escaped(escaped, value.text);
    return fmt::formatter<std::string_view>::format(escaped, ctx);
  }
};
