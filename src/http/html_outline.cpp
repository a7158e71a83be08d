#include "http/html_outline.hpp"

#include "http/ascii.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace bm::http {
namespace {

constexpr auto npos = std::string_view::npos;

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

template <size_t N>
bool one_of(std::string_view name, const std::array<std::string_view, N>& names) {
  return std::any_of(names.begin(), names.end(), [name](std::string_view n) { return iequals(name, n); });
}

// Elements that never have content.
bool is_void(std::string_view name) {
  static constexpr std::array<std::string_view, 16> kVoid = {
      "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame",
      "hr", "img", "input", "keygen", "link", "meta", "source", "track"};
  return one_of(name, kVoid) || iequals(name, "wbr") || iequals(name, "param");
}

// Elements whose content the tokenizer reads as text up to the matching end tag
// (noscript because a scripting browser does).
bool is_raw_text(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kRawText = {
      "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"};
  return one_of(name, kRawText);
}

// Elements that a sibling of the same name closes implicitly (<li><li>, <td><td>, <p><p>...).
bool closes_same_sibling(std::string_view name) {
  static constexpr std::array<std::string_view, 15> kSelfClosing = {
      "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th",
      "thead", "tbody", "tfoot", "rb", "rt", "rp"};
  return one_of(name, kSelfClosing);
}

size_t ifind(std::string_view text, std::string_view needle, size_t from) {
  for (size_t i = from; i + needle.size() <= text.size(); ++i) {
    if (iequals(text.substr(i, needle.size()), needle)) return i;
  }
  return npos;
}

// Index just past the '>' that ends a tag whose name ends at `i`; npos if it never ends.
// A quote only opens a value right after '=' (the tokenizer's attribute-value states).
size_t tag_end(std::string_view html, size_t i) {
  while (i < html.size()) {
    const char c = html[i++];
    if (c == '>') return i;
    if (c != '=') continue;
    while (i < html.size() && is_space(html[i])) ++i;
    if (i < html.size() && (html[i] == '"' || html[i] == '\'')) {
      const size_t close = html.find(html[i], i + 1);
      if (close == npos) return npos;
      i = close + 1;
    }
  }
  return npos;
}

// The stack of open elements as far as nesting is concerned.
class OpenElements {
 public:
  size_t depth() const { return open_.size(); }

  void push(std::string_view name, bool self_closing) {
    const bool foreign_root = iequals(name, "svg") || iequals(name, "math");
    // "/>" closes an element only in foreign content (inline SVG is full of <path/>).
    if (self_closing && (foreign_root || foreign_base_ != npos)) return;
    if (foreign_root && foreign_base_ == npos) foreign_base_ = open_.size();
    open_.push_back(name);
  }

  // Pops `name` and everything above it, looking no deeper than `reach` elements.
  void close(std::string_view name, size_t reach) {
    const size_t floor = open_.size() > reach ? open_.size() - reach : 0;
    for (size_t i = open_.size(); i-- > floor;) {
      if (iequals(open_[i], name)) {
        open_.resize(i);
        if (foreign_base_ != npos && open_.size() <= foreign_base_) foreign_base_ = npos;
        return;
      }
    }
  }

 private:
  std::vector<std::string_view> open_;
  size_t foreign_base_ = npos;  // index of the outermost open <svg>/<math>
};

}  // namespace

bool HtmlOutline::in_noscript(size_t offset) const {
  return std::any_of(noscript_text.begin(), noscript_text.end(),
                     [offset](const auto& range) { return offset >= range.first && offset < range.second; });
}

HtmlOutline outline_html(std::string_view html, size_t max_depth) {
  HtmlOutline outline;
  outline.parse_length = html.size();
  OpenElements open;
  size_t i = 0;
  while ((i = html.find('<', i)) != npos) {
    const size_t tag_start = i;
    if (html.substr(i).starts_with("<!--")) {
      const size_t end = html.find("-->", i + 4);
      if (end == npos) break;
      i = end + 3;
      continue;
    }
    if (i + 1 < html.size() && (html[i + 1] == '!' || html[i + 1] == '?')) {  // doctype, bogus comment
      i = html.find('>', i);
      if (i == npos) break;
      continue;
    }
    const bool end_tag = i + 1 < html.size() && html[i + 1] == '/';
    const size_t name_begin = i + 1 + end_tag;
    if (name_begin >= html.size() || !is_alpha(html[name_begin])) {
      ++i;  // a literal '<' in text
      continue;
    }
    size_t name_end = name_begin;
    while (name_end < html.size() && !is_space(html[name_end]) && html[name_end] != '/' &&
           html[name_end] != '>') {
      ++name_end;
    }
    const std::string_view name = html.substr(name_begin, name_end - name_begin);
    i = tag_end(html, name_end);
    if (i == npos) break;
    const bool self_closing = html[i - 2] == '/';

    if (end_tag) {
      open.close(name, open.depth());
    } else if (iequals(name, "plaintext")) {
      break;  // the rest of the document is text
    } else if (is_raw_text(name)) {
      const std::string closing = "</" + std::string(name);
      const size_t content_end = std::min(ifind(html, closing, i), html.size());
      if (iequals(name, "noscript")) outline.noscript_text.emplace_back(i, content_end);
      i = content_end;
    } else if (!is_void(name)) {
      if (closes_same_sibling(name)) open.close(name, 3);
      open.push(name, self_closing);
      if (open.depth() > max_depth) {
        outline.parse_length = tag_start;
        break;
      }
    }
  }
  return outline;
}

}  // namespace bm::http
