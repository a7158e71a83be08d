#pragma once
// Absolute http/https URLs in the normalised form the engine sends requests with.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bm::http {

struct Url {
  std::string scheme;  // "http" or "https", lower-case
  std::string host;    // lower-case; IPv6 literal without brackets
  uint16_t port = 0;   // explicit, or 80/443 by scheme
  std::string target;  // path + optional "?query"; starts with '/'; no fragment
  // Percent-decoded credentials from "user:password@"; never part of str(), origin() or
  // any header: whoever sends the request decides whether they become Basic auth.
  std::string user;
  std::string password;

  bool tls() const { return scheme == "https"; }
  uint16_t default_port() const { return tls() ? 443 : 80; }
  bool ipv6() const { return host.find(':') != std::string::npos; }

  std::string origin() const;       // "http://host:port", port always present
  std::string str() const;          // canonical absolute URL, default port omitted
  std::string host_header() const;  // "host" or "host:port" when non-default
  std::string_view path() const;    // target up to '?'
  std::string_view query() const;   // after '?', "" if none

  bool operator==(const Url&) const = default;
};

// Parses an absolute http/https URL. Dot segments are removed from the path, scheme and
// host are lower-cased, the fragment is dropped. On failure returns nullopt and, when
// error is non-null, sets one line such as "unsupported scheme 'ftp' in URL 'ftp://x'".
std::optional<Url> parse_url(std::string_view absolute, std::string* error);

// RFC 3986 section 5 reference resolution against base, for Location headers and HTML
// attributes. Like a browser, it tolerates what pages contain in practice: surrounding
// whitespace, embedded tabs/newlines, and characters such as spaces or non-ASCII bytes
// that must be percent-encoded. The result must be http or https.
std::optional<Url> resolve_url(const Url& base, std::string_view reference, std::string* error);

// application/x-www-form-urlencoded component: RFC 3986 unreserved characters stay,
// space becomes '+', everything else becomes %XX (upper-case hex).
std::string percent_encode(std::string_view text);
void append_percent_encoded(std::string& out, std::string_view text);

// Appends "k=v&k2=v2" with both sides percent_encode()d.
void append_form_urlencoded(std::string& out,
                            const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace bm::http
