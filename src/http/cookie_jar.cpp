#include "http/cookie_jar.hpp"

#include "http/ascii.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace bm::http {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 6265 5.1.1 delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E
bool is_date_delimiter(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b == 0x09 || (b >= 0x20 && b <= 0x2f) || (b >= 0x3b && b <= 0x40) ||
         (b >= 0x5b && b <= 0x60) || (b >= 0x7b && b <= 0x7e);
}

// A token that starts with min_digits..max_digits digits (and may go on with a non-digit,
// as the grammar allows), consumed from the front of token.
std::optional<int> take_number(std::string_view& token, size_t min_digits, size_t max_digits) {
  size_t n = 0;
  while (n < token.size() && is_digit(token[n])) ++n;
  if (n < min_digits || n > max_digits) return std::nullopt;
  int value = 0;
  std::from_chars(token.data(), token.data() + n, value);
  token.remove_prefix(n);
  return value;
}

std::optional<int> number_token(std::string_view token, size_t min_digits, size_t max_digits) {
  return take_number(token, min_digits, max_digits);
}

// hms-time = time-field ":" time-field ":" time-field, each 1*2DIGIT
bool parse_time(std::string_view token, int& h, int& m, int& s) {
  const auto hour = take_number(token, 1, 2);
  if (!hour || !token.starts_with(':')) return false;
  token.remove_prefix(1);
  const auto minute = take_number(token, 1, 2);
  if (!minute || !token.starts_with(':')) return false;
  token.remove_prefix(1);
  const auto second = take_number(token, 1, 2);
  if (!second) return false;
  h = *hour, m = *minute, s = *second;
  return true;
}

std::optional<int> parse_month(std::string_view token) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (istarts_with(token, kMonths[i])) return static_cast<int>(i) + 1;
  }
  return std::nullopt;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool is_ip_address(std::string_view host) {
  return host.find(':') != std::string_view::npos ||
         std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; });
}

// RFC 6265 5.1.3
bool domain_matches(std::string_view host, std::string_view domain) {
  if (host == domain) return true;
  return host.size() > domain.size() && host.ends_with(domain) &&
         host[host.size() - domain.size() - 1] == '.' && !is_ip_address(host);
}

// RFC 6265 5.1.4
bool path_matches(std::string_view request_path, std::string_view cookie_path) {
  if (!request_path.starts_with(cookie_path)) return false;
  return request_path.size() == cookie_path.size() || cookie_path.ends_with('/') ||
         request_path[cookie_path.size()] == '/';
}

std::string_view default_path(std::string_view uri_path) {
  const auto last_slash = uri_path.rfind('/');
  if (!uri_path.starts_with('/') || last_slash == 0) return "/";
  return uri_path.substr(0, last_slash);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Splits "a; b; c" one item at a time.
std::string_view next_item(std::string_view& rest) {
  const auto semicolon = rest.find(';');
  const auto item = rest.substr(0, semicolon);
  rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
  return item;
}

// Max-Age: "-"? 1*DIGIT; seconds, saturated.
std::optional<int64_t> parse_max_age(std::string_view value) {
  const bool negative = value.starts_with('-');
  const auto digits = value.substr(negative ? 1 : 0);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) return std::nullopt;
  int64_t seconds = 0;
  if (std::from_chars(digits.data(), digits.data() + digits.size(), seconds).ec != std::errc()) {
    seconds = INT64_MAX / 2;  // absurdly long: as good as forever
  }
  return negative ? -seconds : seconds;
}

}  // namespace

std::optional<int64_t> parse_cookie_date(std::string_view text) {
  bool found_time = false, found_day = false, found_month = false, found_year = false;
  int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_date_delimiter(text[i])) ++i;
    const size_t begin = i;
    while (i < text.size() && !is_date_delimiter(text[i])) ++i;
    const std::string_view token = text.substr(begin, i - begin);
    if (token.empty()) break;
    // Each token fills the first still-missing field it fits, in the RFC's order.
    if (!found_time && parse_time(token, hour, minute, second)) {
      found_time = true;
    } else if (const auto d = number_token(token, 1, 2); !found_day && d) {
      found_day = true;
      day = *d;
    } else if (const auto m = parse_month(token); !found_month && m) {
      found_month = true;
      month = *m;
    } else if (const auto y = number_token(token, 2, 4); !found_year && y) {
      found_year = true;
      year = *y;
    }
  }
  if (!found_time || !found_day || !found_month || !found_year) return std::nullopt;
  if (year >= 70 && year <= 99) year += 1900;
  if (year >= 0 && year <= 69) year += 2000;
  if (year < 1601 || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  if (day < 1 || day > days_in_month(year, month)) return std::nullopt;
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

void CookieJar::store(const Url& request_url, std::string_view set_cookie_value, int64_t now) {
  std::string_view rest = set_cookie_value;
  const std::string_view pair = next_item(rest);
  const auto equals = pair.find('=');
  if (equals == std::string_view::npos) return;  // RFC 6265 5.2 step 2: ignore the cookie
  const auto name = trim_ows(pair.substr(0, equals));
  const auto value = trim_ows(pair.substr(equals + 1));
  if (name.empty() || name.size() + value.size() > kMaxCookieBytes) return;

  Cookie cookie;
  cookie.name = name;
  cookie.value = value;
  std::optional<int64_t> max_age, expires;
  std::string_view domain_attribute, path_attribute;
  while (!rest.empty()) {
    const std::string_view av = next_item(rest);
    const auto av_equals = av.find('=');
    const auto key = trim_ows(av.substr(0, av_equals));
    const auto val = av_equals == std::string_view::npos ? std::string_view()
                                                         : trim_ows(av.substr(av_equals + 1));
    if (iequals(key, "expires")) {
      if (auto date = parse_cookie_date(val)) expires = date;
    } else if (iequals(key, "max-age")) {
      if (auto seconds = parse_max_age(val)) max_age = seconds;
    } else if (iequals(key, "domain")) {
      if (!val.empty()) domain_attribute = val.starts_with('.') ? val.substr(1) : val;
    } else if (iequals(key, "path")) {
      path_attribute = val;
    } else if (iequals(key, "secure")) {
      cookie.secure = true;
    } else if (iequals(key, "httponly")) {
      cookie.http_only = true;
    }
  }

  const std::string& host = request_url.host;
  cookie.domain = lower(domain_attribute);
  if (cookie.domain.empty()) {
    cookie.domain = host;
    cookie.host_only = true;
  } else if (!domain_matches(host, cookie.domain)) {
    return;  // a domain the request host does not belong to
  } else if (cookie.domain.find('.') == std::string::npos) {
    // Stand-in for the public suffix rule (RFC 6265 5.3 step 5): a bare label such as
    // "com" is refused, unless it is the host itself, which then gets a host-only cookie.
    if (cookie.domain != host) return;
    cookie.host_only = true;
  }
  cookie.path = path_attribute.starts_with('/') ? path_attribute
                                                 : default_path(request_url.path());
  if (max_age) {  // Max-Age wins over Expires whatever their order
    // Saturated: a Max-Age beyond what the clock can count is forever.
    cookie.expires = *max_age <= 0                ? INT64_MIN
                     : *max_age > INT64_MAX - now ? INT64_MAX
                                                  : now + *max_age;
  } else if (expires) {
    cookie.expires = *expires;
  }

  drop_expired(now);
  if (cookie.expires <= now) {
    remove(cookie.name, cookie.domain, cookie.path);
    return;
  }
  insert_or_replace(std::move(cookie));
}

bool CookieJar::append_cookie_header(const Url& url, std::string& out, int64_t now) const {
  bool any = false;
  for (const Cookie& cookie : cookies_) {
    if (!matches(cookie, url, now)) continue;
    if (any) out.append("; ");
    out.append(cookie.name);
    out += '=';
    out.append(cookie.value);
    any = true;
  }
  return any;
}

std::optional<std::string> CookieJar::get(std::string_view name) const {
  for (const Cookie& cookie : cookies_) {
    if (cookie.name == name) return cookie.value;
  }
  return std::nullopt;
}

void CookieJar::set(std::string_view name, std::string_view value, std::string_view domain,
                    std::string_view path) {
  if (domain.starts_with('.')) domain.remove_prefix(1);
  Cookie cookie;
  cookie.name = name;
  cookie.value = value;
  cookie.domain = lower(domain);
  cookie.path = path.empty() ? std::string_view("/") : path;
  insert_or_replace(std::move(cookie));
}

bool CookieJar::matches(const Cookie& cookie, const Url& url, int64_t now) const {
  if (cookie.expires <= now || (cookie.secure && !url.tls())) return false;
  const bool domain_ok = cookie.host_only ? url.host == cookie.domain
                                          : cookie.domain.empty() ||
                                                domain_matches(url.host, cookie.domain);
  return domain_ok && path_matches(url.path(), cookie.path);
}

// Keeps cookies_ sorted for the Cookie header: longer paths first, then older first. A
// replaced cookie keeps its creation time (RFC 6265 5.3 step 11.3) and so its place.
void CookieJar::insert_or_replace(Cookie cookie) {
  for (Cookie& existing : cookies_) {
    if (existing.name == cookie.name && existing.domain == cookie.domain &&
        existing.path == cookie.path) {
      cookie.created = existing.created;
      existing = std::move(cookie);
      return;
    }
  }
  if (cookies_.size() >= kMaxCookies) {
    cookies_.erase(std::min_element(cookies_.begin(), cookies_.end(),
                                    [](const Cookie& a, const Cookie& b) { return a.created < b.created; }));
  }
  cookie.created = next_created_++;
  const auto position = std::find_if(cookies_.begin(), cookies_.end(), [&](const Cookie& c) {
    return c.path.size() < cookie.path.size();
  });
  cookies_.insert(position, std::move(cookie));
}

void CookieJar::remove(std::string_view name, std::string_view domain, std::string_view path) {
  std::erase_if(cookies_, [&](const Cookie& c) {
    return c.name == name && c.domain == domain && c.path == path;
  });
}

void CookieJar::drop_expired(int64_t now) {
  std::erase_if(cookies_, [now](const Cookie& c) { return c.expires <= now; });
}

}  // namespace bm::http
