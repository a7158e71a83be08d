#pragma once
// A cheap pass over raw HTML, before gumbo sees it, for two things gumbo cannot do:
//  - gumbo's tree construction is quadratic in nesting depth (10,000 unclosed <div>s take
//    seconds), so the input is cut where the nesting would exceed a bound, as browsers
//    also cap DOM depth;
//  - gumbo parses as a browser with scripting disabled, which turns <noscript> content
//    into elements; a scripting browser reads it as text and fetches nothing from it.
// The scan mirrors the HTML tokenizer where it matters (comments, raw-text elements,
// quoted attribute values) and estimates nesting from start and end tags.

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace bm::http {

struct HtmlOutline {
  size_t parse_length = 0;                                // bytes of the input worth parsing
  std::vector<std::pair<size_t, size_t>> noscript_text;  // [begin, end) byte ranges
  bool in_noscript(size_t offset) const;
};

HtmlOutline outline_html(std::string_view html, size_t max_depth);

}  // namespace bm::http
