#pragma once
// The resources (images, scripts, style sheets) of the HTML pages a worker received,
// remembered by page URL and body: in a bench the same page comes back again and again,
// and parsing it with gumbo cost ~60 µs per KiB, eight times a whole request's. A body
// is compared in full before its list is reused, so the answer is the parse's, exactly.
// One body is kept per page URL, for at most kMaxEntries URLs.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/string_map.hpp"
#include "http/url.hpp"

namespace bm::engine {

class ResourceListCache {
 public:
  // Pages larger than this are parsed every time (and not copied).
  static constexpr std::size_t kMaxBodyBytes = 256 * 1024;
  static constexpr std::size_t kMaxEntries = 128;

  // http::extract_resources(body, page_url), from the cache when the same URL came with
  // the same body before.
  const std::vector<http::Url>& resources(std::string_view body, const http::Url& page_url,
                                          std::string_view page_url_text);

  uint64_t parses() const { return parses_; }  // for tests: how often gumbo ran

 private:
  struct Entry {
    std::string body;
    std::vector<http::Url> resources;
  };
  // By page URL, the last body seen there: a page that changes is parsed again. Bodies
  // are compared with memcmp, cheaper than hashing them.
  StringMap<Entry> entries_;
  std::vector<http::Url> uncached_;
  uint64_t parses_ = 0;
};

}  // namespace bm::engine
