#pragma once
// The cookies of one virtual user: an RFC 6265 subset (section 5, user-agent side).
// A user holds a handful of cookies, so they sit in one small vector kept in the order the
// Cookie header needs (longer paths first, then older first) and lookups are linear.
// Not implemented: the public suffix list (a Domain without a dot is only accepted when it
// is the request host itself), SameSite, and third-party rules.

#include "http/url.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bm::http {

// RFC 6265 section 5.1.1 cookie-date (lenient HTTP-date: RFC 1123, RFC 850, asctime and
// the variants servers produce), as seconds since the epoch; nullopt if it is no date.
std::optional<int64_t> parse_cookie_date(std::string_view text);

class CookieJar {
 public:
  static constexpr size_t kMaxCookies = 300;         // the oldest goes when a new one arrives
  static constexpr size_t kMaxCookieBytes = 4096;    // name + value, as browsers allow

  void clear() { cookies_.clear(); }
  size_t size() const { return cookies_.size(); }

  // Applies one Set-Cookie header value received in response to request_url.
  void store(const Url& request_url, std::string_view set_cookie_value, int64_t now_epoch_s);

  // Appends "a=1; b=2" for the cookies url should carry; returns whether there was any.
  // Does not allocate when out has room.
  bool append_cookie_header(const Url& url, std::string& out, int64_t now_epoch_s) const;

  // Value of the first cookie called name, whatever its domain and path.
  std::optional<std::string> get(std::string_view name) const;

  // Sets a session cookie as a script would. domain "" sends it to every host, otherwise
  // to that domain and its subdomains; path "" means "/".
  void set(std::string_view name, std::string_view value, std::string_view domain,
           std::string_view path);

 private:
  struct Cookie {
    std::string name, value, domain, path;
    int64_t expires = INT64_MAX;  // session cookies never expire within a run
    uint64_t created = 0;         // insertion sequence, to order equal paths
    bool host_only = false;
    bool secure = false;
    bool http_only = false;
  };

  bool matches(const Cookie& cookie, const Url& url, int64_t now) const;
  void insert_or_replace(Cookie cookie);
  void remove(std::string_view name, std::string_view domain, std::string_view path);
  void drop_expired(int64_t now);

  std::vector<Cookie> cookies_;  // longer paths first, then by creation
  uint64_t next_created_ = 0;
};

}  // namespace bm::http
