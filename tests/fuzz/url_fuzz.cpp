// parse_url and resolve_url. The input is "base\nreference": the first line is parsed as
// an absolute URL (a fixed base stands in when it is not one) and the rest is resolved
// against it, as a redirect's Location or a page's link is. Checks, besides the
// sanitizers: a failure always says why; a URL is in its documented normal form (http or
// https, a target starting with '/', no fragment, lower-case host); str() parses back to
// the same URL; resolving a URL's own str() against any base gives it back.
#include "http/url.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using bm::http::Url;

namespace {

void check(bool ok, const char* what, std::string_view input) {
  if (ok) return;
  fprintf(stderr, "url: %s (input %.*s)\n", what, static_cast<int>(input.size()), input.data());
  abort();
}

void check_normal_form(const Url& url, std::string_view input) {
  check(url.scheme == "http" || url.scheme == "https", "scheme neither http nor https", input);
  check(!url.host.empty(), "empty host", input);
  check(!url.target.empty() && url.target[0] == '/', "target does not start with '/'", input);
  check(url.target.find('#') == std::string::npos, "fragment kept", input);
  for (char c : url.host) check(!(c >= 'A' && c <= 'Z'), "host not lower-case", input);
  check(url.port != 0, "port 0", input);
  (void)url.origin();
  (void)url.host_header();
  (void)url.path();
  (void)url.query();
  (void)url.ipv6();

  // The canonical form reads back as the same URL (credentials are never part of it).
  Url bare = url;
  bare.user.clear();
  bare.password.clear();
  std::string error;
  const auto again = bm::http::parse_url(url.str(), &error);
  check(again.has_value(), "str() does not parse back", input);
  check(*again == bare, "str() parses back to another URL", input);
  // Resolving a URL's own form, against itself, gives it back: resolution keeps percent-
  // encoded bytes as parse_url does (docs/fuzzing.md, findings: encoded-sub-delim).
  const auto same = bm::http::resolve_url(bare, url.str(), &error);
  check(same.has_value(), "a URL's own str() does not resolve", input);
  check(*same == bare, "a URL's own str() resolves to another URL", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view first = input.substr(0, newline);
  const std::string_view rest = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  std::string error;
  auto base = bm::http::parse_url(first, &error);
  if (base) {
    check_normal_form(*base, input);
  } else {
    check(!error.empty(), "parse_url failed without a message", input);
    error.clear();
    base = bm::http::parse_url("http://example.test:8080/a/b/c?q=1", &error);
    check(base.has_value(), "fixed base does not parse", input);
  }

  const std::string_view reference = newline == std::string_view::npos ? first : rest;
  error.clear();
  const auto resolved = bm::http::resolve_url(*base, reference, &error);
  if (resolved) {
    check_normal_form(*resolved, input);
  } else {
    check(!error.empty(), "resolve_url failed without a message", input);
  }

  std::string encoded = bm::http::percent_encode(reference);
  for (char c : encoded) check(c != ' ' && static_cast<unsigned char>(c) < 0x80, "percent_encode left a byte", input);
  bm::http::append_form_urlencoded(encoded, {{std::string(first), std::string(rest)}});
  return 0;
}
