#include "http/cookie_jar.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

// Counts heap allocations, to check that building the Cookie header does not allocate.
#include "counting_allocator.hpp"

namespace bm::http {
namespace {

constexpr int64_t kNow = 1'700'000'000;  // 2023-11-14

Url url(std::string_view text) { return parse_url(text, nullptr).value(); }

// The Cookie header the jar builds for `target` at `now` ("" when it sends none).
std::string cookies_for(const CookieJar& jar, std::string_view target, int64_t now = kNow) {
  std::string out;
  const bool any = jar.append_cookie_header(url(target), out, now);
  EXPECT_EQ(any, !out.empty());
  return out;
}

TEST(CookieDate, FormatsServersUse) {
  EXPECT_EQ(parse_cookie_date("Wed, 21 Oct 2015 07:28:00 GMT"), 1445412480);
  EXPECT_EQ(parse_cookie_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);    // RFC 1123
  EXPECT_EQ(parse_cookie_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);   // RFC 850
  EXPECT_EQ(parse_cookie_date("Sun Nov  6 08:49:37 1994"), 784111777);         // asctime
  EXPECT_EQ(parse_cookie_date("Tue, 19-Jan-2038 03:14:08 GMT"), 2147483648);
  EXPECT_EQ(parse_cookie_date("Wed, 31 Dec 69 23:59:59 GMT"), 3155759999);     // 69 -> 2069
  EXPECT_EQ(parse_cookie_date("thu, 01 JAN 1970 00:00:00 gmt"), 0);
}

TEST(CookieDate, RejectsWhatIsNoDate) {
  for (const char* bad : {"", "not a date", "Wed, 21 Oct 2015", "Wed, 32 Oct 2015 07:28:00 GMT",
                          "Mon, 30 Feb 2015 00:00:00 GMT", "Wed, 21 Oct 2015 24:00:00 GMT",
                          "Wed, 21 Foo 2015 07:28:00 GMT", "Wed, 21 Oct 1600 07:28:00 GMT"}) {
    EXPECT_FALSE(parse_cookie_date(bad)) << bad;
  }
  EXPECT_TRUE(parse_cookie_date("Tue, 29 Feb 2000 00:00:00 GMT"));  // a leap year
}

TEST(CookieJar, HostOnlyCookieGoesBackToThatHostOnly) {
  CookieJar jar;
  jar.store(url("http://www.example.com/"), "a=1", kNow);
  EXPECT_EQ(jar.size(), 1u);
  EXPECT_EQ(cookies_for(jar, "http://www.example.com/any/path"), "a=1");
  EXPECT_EQ(cookies_for(jar, "http://www.example.com:8080/"), "a=1");  // cookies ignore ports
  EXPECT_EQ(cookies_for(jar, "http://sub.www.example.com/"), "");
  EXPECT_EQ(cookies_for(jar, "http://example.com/"), "");
}

TEST(CookieJar, DomainCookieCoversSubdomains) {
  CookieJar jar;
  jar.store(url("http://www.example.com/"), "b=2; Domain=example.com", kNow);
  jar.store(url("http://www.example.com/"), "c=3; domain=.EXAMPLE.com", kNow);
  EXPECT_EQ(cookies_for(jar, "http://example.com/"), "b=2; c=3");
  EXPECT_EQ(cookies_for(jar, "http://deep.www.example.com/"), "b=2; c=3");
  EXPECT_EQ(cookies_for(jar, "http://notexample.com/"), "");
  EXPECT_EQ(cookies_for(jar, "http://example.org/"), "");
}

TEST(CookieJar, DomainEqualToTheHostStillCoversSubdomains) {
  CookieJar jar;
  jar.store(url("http://www.example.com/"), "w=1; Domain=www.example.com", kNow);
  EXPECT_EQ(cookies_for(jar, "http://www.example.com/"), "w=1");
  EXPECT_EQ(cookies_for(jar, "http://img.www.example.com/"), "w=1");
  EXPECT_EQ(cookies_for(jar, "http://example.com/"), "");
}

TEST(CookieJar, RejectsDomainsTheHostIsNotIn) {
  CookieJar jar;
  jar.store(url("http://www.example.com/"), "x=1; Domain=other.com", kNow);
  jar.store(url("http://www.example.com/"), "x=2; Domain=com", kNow);
  jar.store(url("http://example.com/"), "x=3; Domain=www.example.com", kNow);
  jar.store(url("http://127.0.0.1/"), "x=4; Domain=0.0.1", kNow);
  EXPECT_EQ(jar.size(), 0u);

  jar.store(url("http://localhost/"), "y=1; Domain=localhost", kNow);  // the host itself
  EXPECT_EQ(cookies_for(jar, "http://localhost/"), "y=1");
  EXPECT_EQ(cookies_for(jar, "http://a.localhost/"), "") << "a bare label stays host-only";
  jar.store(url("http://127.0.0.1/"), "z=1; Domain=127.0.0.1", kNow);
  EXPECT_EQ(cookies_for(jar, "http://127.0.0.1/"), "z=1");
}

TEST(CookieJar, DefaultPathIsTheDirectoryOfTheRequest) {
  CookieJar jar;
  jar.store(url("http://h/shop/cart/view?id=1"), "p=1", kNow);
  EXPECT_EQ(cookies_for(jar, "http://h/shop/cart"), "p=1");
  EXPECT_EQ(cookies_for(jar, "http://h/shop/cart/"), "p=1");
  EXPECT_EQ(cookies_for(jar, "http://h/shop/cart/other"), "p=1");
  EXPECT_EQ(cookies_for(jar, "http://h/shop"), "");
  EXPECT_EQ(cookies_for(jar, "http://h/shop/cartx"), "");

  CookieJar root;
  root.store(url("http://h/page"), "r=1", kNow);
  root.store(url("http://h/a/b"), "s=1; Path=relative", kNow);  // not absolute: default
  EXPECT_EQ(cookies_for(root, "http://h/"), "r=1");
  EXPECT_EQ(cookies_for(root, "http://h/a/x"), "s=1; r=1");
}

TEST(CookieJar, PathAttributeMatchesOnSegmentBoundaries) {
  CookieJar jar;
  jar.store(url("http://h/"), "d=1; Path=/docs", kNow);
  jar.store(url("http://h/"), "e=1; Path=/docs/", kNow);
  EXPECT_EQ(cookies_for(jar, "http://h/docs"), "d=1");
  EXPECT_EQ(cookies_for(jar, "http://h/docs/x"), "e=1; d=1");
  EXPECT_EQ(cookies_for(jar, "http://h/docsearch"), "");
}

TEST(CookieJar, LongerPathsFirstThenOlderFirst) {
  CookieJar jar;
  const Url page = url("http://h/");
  jar.store(page, "root1=1; Path=/", kNow);
  jar.store(page, "cart=1; Path=/shop/cart", kNow);
  jar.store(page, "shop=1; Path=/shop", kNow);
  jar.store(page, "root2=1; Path=/", kNow);
  EXPECT_EQ(cookies_for(jar, "http://h/shop/cart/x"), "cart=1; shop=1; root1=1; root2=1");
}

TEST(CookieJar, SameNameDomainAndPathReplacesInPlace) {
  CookieJar jar;
  const Url page = url("http://h/");
  jar.store(page, "x=1", kNow);
  jar.store(page, "a=1", kNow);
  jar.store(page, "x=2", kNow);
  EXPECT_EQ(jar.size(), 2u);
  EXPECT_EQ(cookies_for(jar, "http://h/"), "x=2; a=1");
  jar.store(page, "x=3; Path=/other", kNow);  // another path: another cookie
  EXPECT_EQ(jar.size(), 3u);
}

TEST(CookieJar, ExpiresInThePastOrFuture) {
  CookieJar jar;
  const Url page = url("http://h/");
  jar.store(page, "e=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT", kNow);
  EXPECT_EQ(cookies_for(jar, "http://h/"), "e=1");
  EXPECT_EQ(cookies_for(jar, "http://h/", 4'200'000'000), "") << "past its expiry";

  jar.store(page, "e=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT", kNow);
  EXPECT_EQ(jar.size(), 0u) << "an expiry in the past deletes";

  jar.store(page, "f=1; Expires=garbage", kNow);  // unparsable: a session cookie
  EXPECT_EQ(cookies_for(jar, "http://h/", INT64_MAX - 1), "f=1");
}

TEST(CookieJar, MaxAgeWinsOverExpiresInEitherOrder) {
  CookieJar jar;
  const Url page = url("http://h/");
  jar.store(page, "m=1; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:00 GMT", kNow);
  jar.store(page, "n=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=100", kNow);
  EXPECT_EQ(cookies_for(jar, "http://h/", kNow + 99), "m=1; n=1");
  EXPECT_EQ(cookies_for(jar, "http://h/", kNow + 100), "");

  jar.store(page, "o=1; Max-Age=10; Expires=Wed, 21 Oct 2099 07:28:00 GMT", kNow);
  EXPECT_EQ(cookies_for(jar, "http://h/", kNow + 10), "m=1; n=1");
}

TEST(CookieJar, MaxAgeZeroOrNegativeDeletes) {
  CookieJar jar;
  const Url page = url("http://h/");
  jar.store(page, "a=1", kNow);
  jar.store(page, "b=1", kNow);
  jar.store(page, "a=; Max-Age=0", kNow);
  jar.store(page, "b=x; Max-Age=-1", kNow);
  EXPECT_EQ(jar.size(), 0u);

  jar.store(page, "c=1; Max-Age=1x", kNow);  // invalid: ignored, so a session cookie
  EXPECT_EQ(cookies_for(jar, "http://h/"), "c=1");
}

// Found by the cookie_jar fuzz target: the largest Max-Age that parses (INT64_MAX) was
// added to the time unchecked; the sum wrapped negative, so the cookie counted as expired.
TEST(CookieJar, HugestMaxAgeKeepsTheCookieForever) {
  CookieJar jar;
  const Url page = url("http://h/");
  jar.store(page, "a=1; Max-Age=9223372036854775807", kNow);
  jar.store(page, "b=1; Max-Age=99999999999999999999999", kNow);
  EXPECT_EQ(cookies_for(jar, "http://h/"), "a=1; b=1");
}

TEST(CookieJar, SecureCookiesOnlyOverHttps) {
  CookieJar jar;
  jar.store(url("https://h/"), "s=1; Secure; HttpOnly", kNow);
  jar.store(url("https://h/"), "p=1", kNow);
  EXPECT_EQ(cookies_for(jar, "https://h/"), "s=1; p=1");
  EXPECT_EQ(cookies_for(jar, "http://h/"), "p=1");
}

TEST(CookieJar, IgnoresMalformedPairsAndTrimsWhitespace) {
  CookieJar jar;
  const Url page = url("http://h/");
  jar.store(page, "novalue", kNow);
  jar.store(page, "=nameless", kNow);
  jar.store(page, "", kNow);
  EXPECT_EQ(jar.size(), 0u);
  jar.store(page, "  name = some value ;  Path = / ; secure=no-effect", kNow);
  EXPECT_EQ(jar.get("name"), "some value");
  jar.store(page, "q=\"quoted=value\"", kNow);
  EXPECT_EQ(jar.get("q"), "\"quoted=value\"");
  jar.store(page, "big=" + std::string(CookieJar::kMaxCookieBytes, 'x'), kNow);
  EXPECT_FALSE(jar.get("big"));
}

TEST(CookieJar, BoundedNumberOfCookiesDropsTheOldest) {
  CookieJar jar;
  const Url page = url("http://h/");
  for (size_t i = 0; i <= CookieJar::kMaxCookies; ++i) {
    jar.store(page, "c" + std::to_string(i) + "=1", kNow);
  }
  EXPECT_EQ(jar.size(), CookieJar::kMaxCookies);
  EXPECT_FALSE(jar.get("c0"));
  EXPECT_TRUE(jar.get("c1"));
}

TEST(CookieJar, ScriptApiGetAndSet) {
  CookieJar jar;
  EXPECT_FALSE(jar.get("sid"));
  jar.set("sid", "abc", "", "");
  EXPECT_EQ(jar.get("sid"), "abc");
  EXPECT_EQ(cookies_for(jar, "http://anything.test/x"), "sid=abc");

  jar.set("sid", "def", "", "");
  EXPECT_EQ(jar.size(), 1u);
  EXPECT_EQ(jar.get("sid"), "def");

  jar.set("scoped", "1", ".Example.com", "/app");
  EXPECT_EQ(cookies_for(jar, "http://www.example.com/app/x"), "scoped=1; sid=def");
  EXPECT_EQ(cookies_for(jar, "http://www.example.com/"), "sid=def");
  EXPECT_EQ(cookies_for(jar, "http://other.com/app"), "sid=def");

  jar.clear();
  EXPECT_EQ(jar.size(), 0u);
  EXPECT_EQ(cookies_for(jar, "http://anything.test/"), "");
}

TEST(CookieJar, AppendsToTheCallersBufferWithoutAllocating) {
  CookieJar jar;
  const Url page = url("http://h/shop/");
  jar.store(page, "session=0123456789abcdef; Path=/", kNow);
  jar.store(page, "cart=42", kNow);
  std::string header = "Cookie: ";
  header.reserve(256);
  const size_t before = g_allocations;
  EXPECT_TRUE(jar.append_cookie_header(page, header, kNow));
  EXPECT_EQ(g_allocations - before, 0u);
  EXPECT_EQ(header, "Cookie: cart=42; session=0123456789abcdef");
}

}  // namespace
}  // namespace bm::http
