#pragma once
// What a browser would fetch right after loading a page, found with a real HTML5 parser
// (gumbo), as FunkLoad did for images and stylesheets.

#include "http/url.hpp"

#include <string_view>
#include <vector>

namespace bm::http {

// Content-Type text/html or application/xhtml+xml; without a Content-Type, "<html"
// (any case) within the first 300 bytes of the body.
bool looks_like_html(std::string_view content_type, std::string_view body);

// In document order, without duplicates: <img src>, <script src>, <input type=image src>,
// and <link href> whose rel has stylesheet, icon, preload or modulepreload. URLs are
// resolved against <base href> when there is one, else page_url; only http/https remain.
// Not covered: url() inside CSS, srcset/<picture>, <video>/<audio>, iframes.
std::vector<Url> extract_resources(std::string_view html, const Url& page_url);

}  // namespace bm::http
