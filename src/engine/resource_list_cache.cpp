#include "engine/resource_list_cache.hpp"

#include "http/html_resources.hpp"

namespace bm::engine {

const std::vector<http::Url>& ResourceListCache::resources(std::string_view body, const http::Url& page_url,
                                                           std::string_view page_url_text) {
  if (body.size() > kMaxBodyBytes) {
    ++parses_;
    uncached_ = http::extract_resources(body, page_url);
    return uncached_;
  }
  if (const auto found = entries_.find(page_url_text);
      found != entries_.end() && found->second.body == body) {
    return found->second.resources;
  }
  ++parses_;
  if (entries_.size() >= kMaxEntries) entries_.clear();  // many distinct pages: start again
  Entry& entry = entries_[std::string(page_url_text)];
  entry.body.assign(body);
  entry.resources = http::extract_resources(body, page_url);
  return entry.resources;
}

}  // namespace bm::engine
