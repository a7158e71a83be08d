// The resources of a page are parsed once per page URL and body, and the list handed out
// again is the one the parse gives.
#include "engine/resource_list_cache.hpp"

#include <gtest/gtest.h>

#include "http/html_resources.hpp"

namespace bm::engine {
namespace {

http::Url url(std::string_view text) {
  std::string error;
  std::optional<http::Url> u = http::parse_url(text, &error);
  EXPECT_TRUE(u) << error;
  return *u;
}

std::vector<std::string> texts(const std::vector<http::Url>& urls) {
  std::vector<std::string> out;
  for (const http::Url& u : urls) out.push_back(u.str());
  return out;
}

constexpr std::string_view kPage = R"(<html><head><link rel="stylesheet" href="/s.css"></head>
<body><img src="a.png"><script src="/app.js"></script></body></html>)";

TEST(ResourceListCache, ParsesEachPageBodyOnceAndAnswersAsTheParse) {
  ResourceListCache cache;
  const http::Url page = url("http://127.0.0.1:8080/shop/index.html");
  const std::vector<std::string> want = texts(http::extract_resources(kPage, page));
  ASSERT_EQ(want.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(texts(cache.resources(kPage, page, page.str())), want);
  EXPECT_EQ(cache.parses(), 1u);
  // Another body at the same URL, or the same body at another URL (relative links
  // resolve differently), is parsed again.
  const std::string other = std::string(kPage) + "<img src=\"b.png\">";
  EXPECT_EQ(cache.resources(other, page, page.str()).size(), 4u);
  const http::Url elsewhere = url("http://127.0.0.1:8080/other/index.html");
  EXPECT_EQ(texts(cache.resources(kPage, elsewhere, elsewhere.str()))[1], "http://127.0.0.1:8080/other/a.png");
  EXPECT_EQ(cache.parses(), 3u);
  // One body is kept per URL: the page back at its first body is parsed again, once.
  EXPECT_EQ(texts(cache.resources(kPage, page, page.str())), want);
  EXPECT_EQ(texts(cache.resources(kPage, page, page.str())), want);
  EXPECT_EQ(cache.parses(), 4u);
}

TEST(ResourceListCache, LargePagesAndManyPagesStayBounded) {
  ResourceListCache cache;
  const http::Url page = url("http://127.0.0.1:8080/");
  const std::string large = std::string(kPage) + std::string(ResourceListCache::kMaxBodyBytes, ' ');
  cache.resources(large, page, page.str());
  EXPECT_EQ(cache.resources(large, page, page.str()).size(), 3u);
  EXPECT_EQ(cache.parses(), 2u);  // not kept
  for (std::size_t i = 0; i < ResourceListCache::kMaxEntries + 10; ++i) {
    const http::Url at = url("http://127.0.0.1:8080/p" + std::to_string(i));
    EXPECT_EQ(cache.resources(kPage, at, at.str()).size(), 3u);
  }
  EXPECT_EQ(cache.parses(), 2u + ResourceListCache::kMaxEntries + 10);
}

}  // namespace
}  // namespace bm::engine
