// CookieJar: Set-Cookie parsing, expiry and the Cookie header. The input's lines: the
// first is the request URL (a fixed one stands in when it does not parse), each other
// line one Set-Cookie value received for it; a line starting with "@" switches the
// request URL to the rest of the line (resolved against the current one), as a
// redirect would. Then the Cookie header is built for a few related URLs and times.
// Checks, besides the sanitizers: the jar's bounds hold, every cookie in a header is a
// "name=value" pair without CR, LF or ';' in it, get() finds what a header shows, and a
// header built twice is the same.
#include "http/cookie_jar.hpp"
#include "http/url.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using bm::http::CookieJar;
using bm::http::Url;

namespace {

constexpr int64_t kNow = 1'700'000'000;

void check(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "cookie_jar: %s\n", what);
  abort();
}

void check_header(const CookieJar& jar, const Url& url, int64_t now) {
  std::string header;
  const bool any = jar.append_cookie_header(url, header, now);
  check(any == !header.empty(), "append_cookie_header's answer and header disagree");
  if (header.find_first_of("\r\n") != std::string::npos) {
    fprintf(stderr, "cookie_jar: CR or LF in the Cookie header for %s: '%s'\n", url.str().c_str(), header.c_str());
    abort();
  }
  std::string again;
  jar.append_cookie_header(url, again, now);
  check(again == header, "the same header built twice differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t line_end = input.find('\n');
  std::string error;
  auto url = bm::http::parse_url(input.substr(0, line_end), &error);
  if (!url) url = bm::http::parse_url("https://www.example.test/shop/cart?x=1", &error);
  check(url.has_value(), "fixed URL does not parse");

  CookieJar jar;
  int64_t now = kNow;
  while (line_end != std::string_view::npos) {
    const size_t start = line_end + 1;
    line_end = input.find('\n', start);
    const std::string_view line = input.substr(start, line_end == std::string_view::npos ? line_end : line_end - start);
    if (!line.empty() && line[0] == '@') {
      if (auto next = bm::http::resolve_url(*url, line.substr(1), &error)) url = std::move(next);
      continue;
    }
    // A header value from ResponseParser never holds CR or NUL (http_parser refuses them).
    if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) continue;
    jar.store(*url, line, now);
    now += 7;
    check(jar.size() <= CookieJar::kMaxCookies, "more cookies than the jar holds");
    check_header(jar, *url, now);
  }

  // Related URLs: the site's root, the other scheme, a subdomain, the parent domain.
  std::vector<Url> urls{*url};
  Url other = *url;
  other.target = "/";
  urls.push_back(other);
  other.scheme = url->tls() ? "http" : "https";
  other.port = other.default_port();
  urls.push_back(other);
  other = *url;
  other.host = "sub." + url->host;
  urls.push_back(other);
  if (const size_t dot = url->host.find('.'); dot != std::string::npos) {
    other = *url;
    other.host = url->host.substr(dot + 1);
    urls.push_back(other);
  }
  for (const Url& u : urls) {
    for (int64_t t : {kNow, now, now + 3600, now + 86400 * 400, INT64_MAX / 2}) check_header(jar, u, t);
  }
  // Every pair the request URL's header shows is found by name.
  std::string header;
  jar.append_cookie_header(*url, header, now);
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find("; ", pos);
    if (end == std::string::npos) end = header.size();
    const std::string_view pair = std::string_view(header).substr(pos, end - pos);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos) check(jar.get(pair.substr(0, eq)).has_value(), "a cookie sent is not found by name");
    pos = end + 2;
  }
  // A script's cookie joins the jar like any other.
  // Scripts own what they set (their headers are not checked either): no line breaks here.
  std::string value(input.substr(0, 16));
  std::erase_if(value, [](char c) { return c == '\r' || c == '\n'; });
  jar.set("fuzz", value, url->host, "/");
  check(jar.size() <= CookieJar::kMaxCookies, "more cookies than the jar holds after set()");
  check_header(jar, *url, now);
  jar.clear();
  check(jar.size() == 0, "clear() leaves cookies");
  return 0;
}
