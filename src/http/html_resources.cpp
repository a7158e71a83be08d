#include "http/html_resources.hpp"

#include "http/ascii.hpp"
#include "http/html_outline.hpp"

#include <gumbo.h>

#include <memory>
#include <unordered_set>

namespace bm::http {
namespace {

constexpr size_t kHtmlSniffBytes = 300;
// Browsers cap DOM depth too (Chromium's parser at 512); beyond it gumbo gets slow.
constexpr size_t kMaxNesting = 512;

struct GumboOutputDeleter {
  void operator()(GumboOutput* output) const { gumbo_destroy_output(&kGumboDefaultOptions, output); }
};

std::string_view attribute(const GumboElement& element, const char* name) {
  const GumboAttribute* found = gumbo_get_attribute(&element.attributes, name);
  return found ? std::string_view(found->value) : std::string_view();
}

bool is_ascii_whitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

std::string_view trim_ascii_whitespace(std::string_view s) {
  while (!s.empty() && is_ascii_whitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_whitespace(s.back())) s.remove_suffix(1);
  return s;
}

// rel is a space-separated, case-insensitive token list ("shortcut icon" has "icon").
bool rel_loads_resource(std::string_view rel) {
  size_t i = 0;
  while (i < rel.size()) {
    while (i < rel.size() && is_ascii_whitespace(rel[i])) ++i;
    const size_t begin = i;
    while (i < rel.size() && !is_ascii_whitespace(rel[i])) ++i;
    const auto token = rel.substr(begin, i - begin);
    if (iequals(token, "stylesheet") || iequals(token, "icon") || iequals(token, "preload") ||
        iequals(token, "modulepreload")) {
      return true;
    }
  }
  return false;
}

bool contains_ignoring_case(std::string_view text, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (iequals(text.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

// Browsers do not fetch scripts of other types (templates, JSON data blocks, ...).
bool script_type_runs(std::string_view type) {
  type = trim_ascii_whitespace(type);
  return type.empty() || iequals(type, "module") || contains_ignoring_case(type, "javascript") ||
         contains_ignoring_case(type, "ecmascript");
}

// The URL an element makes the browser fetch, "" if none.
std::string_view resource_reference(const GumboElement& element) {
  switch (element.tag) {
    case GUMBO_TAG_IMG:
      return attribute(element, "src");
    case GUMBO_TAG_SCRIPT:
      return script_type_runs(attribute(element, "type")) ? attribute(element, "src") : "";
    case GUMBO_TAG_INPUT:
      return iequals(trim_ascii_whitespace(attribute(element, "type")), "image") ? attribute(element, "src") : "";
    case GUMBO_TAG_LINK:
      return rel_loads_resource(attribute(element, "rel")) ? attribute(element, "href") : "";
    default:
      return "";
  }
}

struct PageReferences {
  std::string_view base_href;                // first <base href>, applies to the whole page
  std::vector<std::string_view> references;  // in document order, views into the parse tree
};

// Depth-first in document order, without recursion. <template> content is inert (gumbo
// keeps it in a separate node type) and <noscript> content is text to a scripting browser.
PageReferences collect_references(const GumboNode* root, const HtmlOutline& outline) {
  PageReferences page;
  std::vector<const GumboNode*> pending{root};
  while (!pending.empty()) {
    const GumboNode* node = pending.back();
    pending.pop_back();
    if (node->type != GUMBO_NODE_ELEMENT) continue;
    const GumboElement& element = node->v.element;
    if (element.tag == GUMBO_TAG_BASE && page.base_href.empty()) {
      page.base_href = attribute(element, "href");
    }
    const bool from_source = element.original_tag.length > 0;  // not implied by the parser
    if (from_source && outline.in_noscript(element.start_pos.offset)) continue;
    if (const auto reference = trim_ascii_whitespace(resource_reference(element)); !reference.empty()) {
      page.references.push_back(reference);
    }
    if (element.tag == GUMBO_TAG_NOSCRIPT) continue;
    const GumboVector& children = element.children;
    for (unsigned i = children.length; i-- > 0;) {
      pending.push_back(static_cast<const GumboNode*>(children.data[i]));
    }
  }
  return page;
}

}  // namespace

bool looks_like_html(std::string_view content_type, std::string_view body) {
  if (!trim_ows(content_type).empty()) {
    const auto media_type = trim_ows(content_type.substr(0, content_type.find(';')));
    return iequals(media_type, "text/html") || iequals(media_type, "application/xhtml+xml");
  }
  return contains_ignoring_case(body.substr(0, kHtmlSniffBytes), "<html");
}

std::vector<Url> extract_resources(std::string_view html, const Url& page_url) {
  const HtmlOutline outline = outline_html(html, kMaxNesting);
  const std::unique_ptr<GumboOutput, GumboOutputDeleter> output(
      gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), outline.parse_length));
  if (!output) return {};
  const PageReferences page = collect_references(output->root, outline);

  Url base = page_url;
  if (!page.base_href.empty()) {
    if (auto resolved = resolve_url(page_url, page.base_href, nullptr)) base = std::move(*resolved);
  }
  std::vector<Url> resources;
  std::unordered_set<std::string> seen;
  for (const std::string_view reference : page.references) {
    auto url = resolve_url(base, reference, nullptr);
    if (url && seen.insert(url->str()).second) resources.push_back(std::move(*url));
  }
  return resources;
}

}  // namespace bm::http
