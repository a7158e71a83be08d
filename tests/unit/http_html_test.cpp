#include "http/html_resources.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace bm::http {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const Url kPage = parse_url("http://shop.example/dir/page.html?x=1", nullptr).value();

std::vector<std::string> resources(std::string_view html, const Url& page = kPage) {
  std::vector<std::string> out;
  for (const Url& url : extract_resources(html, page)) out.push_back(url.str());
  return out;
}

TEST(ExtractResources, WhatABrowserFetchesInDocumentOrder) {
  const char* html = R"(<!DOCTYPE html>
<html><head>
  <link rel="stylesheet" href="/css/site.css">
  <link rel="icon" href="favicon.ico">
  <link rel="shortcut icon" href="/fav2.ico">
  <link rel="preload" href="/font.woff2" as="font">
  <link rel="modulepreload" href="/mod.js">
  <link rel="alternate" href="/feed.xml" type="application/rss+xml">
  <link rel="canonical" href="/canonical">
  <script src="js/app.js"></script>
  <script>var inline = "<img src='not-an-element.png'>";</script>
</head><body>
  <a href="/next.html">next</a>
  <img src="img/logo.png" alt="">
  <form><input type="image" src="/go.png"><input type="text" src="/ignored.png"></form>
  <iframe src="/frame.html"></iframe>
</body></html>)";
  EXPECT_THAT(resources(html),
              ElementsAre("http://shop.example/css/site.css", "http://shop.example/dir/favicon.ico",
                          "http://shop.example/fav2.ico", "http://shop.example/font.woff2",
                          "http://shop.example/mod.js", "http://shop.example/dir/js/app.js",
                          "http://shop.example/dir/img/logo.png", "http://shop.example/go.png"));
}

TEST(ExtractResources, ResolvesRelativeReferences) {
  EXPECT_THAT(resources(R"(<img src="../up.png"><img src="//cdn.example/x.png">
                           <img src="?v=2"><img src="https://secure.example:8443/s.png">
                           <img src="a b.png">)"),
              ElementsAre("http://shop.example/up.png", "http://cdn.example/x.png",
                          "http://shop.example/dir/page.html?v=2",
                          "https://secure.example:8443/s.png", "http://shop.example/dir/a%20b.png"));
}

TEST(ExtractResources, BaseHrefAppliesToTheWholePage) {
  const char* html = R"(<html><head>
      <link rel=stylesheet href="before-base.css">
      <base href="http://static.example/assets/">
      <base href="http://ignored.example/">
    </head><body><img src="logo.png"><img src="/root.png"></body></html>)";
  EXPECT_THAT(resources(html), ElementsAre("http://static.example/assets/before-base.css",
                                           "http://static.example/assets/logo.png",
                                           "http://static.example/root.png"));
}

TEST(ExtractResources, RelativeBaseIsResolvedAgainstThePage) {
  EXPECT_THAT(resources(R"(<base href="../static/"><img src="a.png">)"),
              ElementsAre("http://shop.example/static/a.png"));
}

TEST(ExtractResources, DuplicatesAreFetchedOnce) {
  EXPECT_THAT(resources(R"(<img src="a.png"><img src="a.png#part"><img src="./a.png">
                           <script src="a.png"></script><img src="b.png"><img src="a.png">)"),
              ElementsAre("http://shop.example/dir/a.png", "http://shop.example/dir/b.png"));
}

TEST(ExtractResources, MalformedHtmlStillYieldsWhatABrowserWouldFind) {
  EXPECT_THAT(resources("<html><body><div><p><IMG SRC=Upper.PNG><table><img src='t.png'"
                        "<td><script src=s.js><img src=\"never-closed.png"),
              ElementsAre("http://shop.example/dir/Upper.PNG", "http://shop.example/dir/t.png",
                          "http://shop.example/dir/s.js"));
  EXPECT_THAT(resources(""), IsEmpty());
  EXPECT_THAT(resources("not html at all \x01\xff"), IsEmpty());
  EXPECT_THAT(resources(std::string(100000, '<') + "<img src=x.png>"),
              ElementsAre("http://shop.example/dir/x.png"));
}

std::string nested(int depth, std::string_view tag, std::string_view inner) {
  std::string html;
  for (int i = 0; i < depth; ++i) html += tag;
  html += inner;
  return html;
}

TEST(ExtractResources, DeepButRealisticNestingIsParsedFully) {
  EXPECT_THAT(resources(nested(400, "<div>", "<img src=deep.png>")),
              ElementsAre("http://shop.example/dir/deep.png"));
  // Unclosed siblings that close each other do not count as nesting.
  EXPECT_THAT(resources("<ul>" + nested(5000, "<li><p>item", "<img src=last.png>")),
              ElementsAre("http://shop.example/dir/last.png"));
  EXPECT_THAT(resources("<table>" + nested(5000, "<tr><td>cell<td>", "<img src=t.png>")),
              ElementsAre("http://shop.example/dir/t.png"));
}

TEST(ExtractResources, InlineSvgDoesNotCountAsNesting) {
  EXPECT_THAT(resources("<svg><g>" + nested(5000, "<path d='M0 0'/>", "</g></svg><img src=after.png>")),
              ElementsAre("http://shop.example/dir/after.png"));
}

// gumbo is quadratic in nesting depth (50,000 unclosed <div>s take over a minute); like a
// browser, parsing stops at an absurd depth and keeps what came before.
TEST(ExtractResources, AbsurdNestingIsCutOff) {
  EXPECT_THAT(resources("<img src=before.png>" + nested(50000, "<div>", "<img src=deep.png>")),
              ElementsAre("http://shop.example/dir/before.png"));
}

TEST(ExtractResources, OnlyHttpAndHttpsAreKept) {
  EXPECT_THAT(resources(R"html(<img src="data:image/png;base64,iVBORw0KGgo=">
                           <script src="javascript:alert(1)"></script>
                           <img src="ftp://files.example/a.png"><img src="mailto:x@y">
                           <img src=""><img src="   "><img>
                           <img src="https://ok.example/a.png">)html"),
              ElementsAre("https://ok.example/a.png"));
}

TEST(ExtractResources, EntitiesInAttributesAreDecoded) {
  EXPECT_THAT(resources(R"(<img src="pic?a=1&amp;b=2">)"),
              ElementsAre("http://shop.example/dir/pic?a=1&b=2"));
}

TEST(ExtractResources, NoscriptIsTextToAScriptingBrowser) {
  // Typical tracking pixel: in <head>, where gumbo would move the <img> into <body>.
  EXPECT_THAT(resources(R"(<html><head><script src="a.js"></script>
      <noscript><img height="1" src="https://px.example/tr?id=1"/></noscript>
      <link rel=stylesheet href=s.css></head>
      <body><noscript><p><img src="body-pixel.gif"></p></noscript><img src="real.png"></body>)"),
              ElementsAre("http://shop.example/dir/a.js", "http://shop.example/dir/s.css",
                          "http://shop.example/dir/real.png"));
  EXPECT_THAT(resources("<NOSCRIPT><img src=x.png></NoScript><img src=y.png>"),
              ElementsAre("http://shop.example/dir/y.png"));
}

TEST(ExtractResources, TagLikeTextIsNotMarkup) {
  EXPECT_THAT(resources(R"(<!-- <noscript> --><img src="a.png" alt="<noscript>">
                           <script>document.write("<noscript>")</script><img src="b.png">
                           <textarea><img src="c.png"></textarea>)"),
              ElementsAre("http://shop.example/dir/a.png", "http://shop.example/dir/b.png"));
}

TEST(ExtractResources, InertContentIsSkipped) {
  EXPECT_THAT(resources(R"(<template><img src="tpl.png"></template>
                           <script type="text/template" src="tmpl.html"></script>
                           <script type="application/json" src="data.json"></script>
                           <script type="module" src="m.js"></script>
                           <script type="text/javascript" src="j.js"></script>)"),
              ElementsAre("http://shop.example/dir/m.js", "http://shop.example/dir/j.js"));
}

TEST(LooksLikeHtml, ByContentType) {
  EXPECT_TRUE(looks_like_html("text/html", ""));
  EXPECT_TRUE(looks_like_html("Text/HTML; charset=utf-8", ""));
  EXPECT_TRUE(looks_like_html("application/xhtml+xml", ""));
  EXPECT_FALSE(looks_like_html("application/json", "<html>"));
  EXPECT_FALSE(looks_like_html("text/plain", "<html>"));
  EXPECT_FALSE(looks_like_html("text/htmlx", ""));
}

TEST(LooksLikeHtml, BySniffingWithoutContentType) {
  EXPECT_TRUE(looks_like_html("", "<!DOCTYPE html>\n<HTML lang=en>"));
  EXPECT_TRUE(looks_like_html("", std::string(295, ' ') + "<html"));
  EXPECT_FALSE(looks_like_html("", std::string(296, ' ') + "<html"));
  EXPECT_FALSE(looks_like_html("", "{\"json\": true}"));
  EXPECT_FALSE(looks_like_html("", ""));
}

}  // namespace
}  // namespace bm::http
