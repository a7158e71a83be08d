#include "http/url.hpp"

#include "http/ascii.hpp"

#include <boost/url.hpp>

#include <algorithm>
#include <charconv>

namespace bm::http {
namespace {

namespace urls = boost::urls;

void lower_in_place(std::string& s) {
  for (char& c : s) c = ascii_lower(c);
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_unreserved(char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// Characters that may appear literally somewhere in an RFC 3986 URI reference.
bool is_uri_char(char c) {
  return is_unreserved(c) || std::string_view(":/?#[]@!$&'()*+,;=%").find(c) != std::string_view::npos;
}

constexpr char kHex[] = "0123456789ABCDEF";

void append_pct(std::string& out, char c) {
  const auto byte = static_cast<unsigned char>(c);
  out += '%';
  out += kHex[byte >> 4];
  out += kHex[byte & 15];
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

void set_error(std::string* error, std::string text) {
  if (error) *error = std::move(text);
}

// Length of a leading "scheme:" (without the colon), 0 if the text has none.
size_t scheme_length(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return 0;
  for (size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ':') return i;
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return 0;
  }
  return 0;
}

// RFC 3986 section 5.2.4. Boost.URL 1.81 keeps leading ".." segments above the root
// ("/../g" stays "/../g"), so every path goes through this before it is used.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto drop_last_segment = [&out] {
    const auto slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      out += '/';
      break;
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      drop_last_segment();
    } else if (in == "/..") {
      drop_last_segment();
      out += '/';
      break;
    } else if (in == "." || in == "..") {
      break;
    } else {
      const auto end = in.find('/', 1);
      const auto segment = in.substr(0, end);
      out += segment;
      in.remove_prefix(segment.size());
    }
  }
  return out;
}

std::optional<uint16_t> parse_port(std::string_view digits) {
  unsigned value = 0;
  const auto* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (ec != std::errc() || ptr != end || value == 0 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

// A registered name after percent-decoding: only the characters RFC 3986 allows in one
// unencoded (unreserved and sub-delims), so that str() and the Host header read back as
// the same host. Non-ASCII names (IDNA) are not supported: no DNS lookup would find them.
bool valid_host_name(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return is_unreserved(c) || std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
  });
}

// Turns a parsed absolute URI into a Url; `shown` is the text quoted in error messages.
std::optional<Url> to_url(const urls::url_view_base& u, std::string_view shown, std::string* error) {
  Url url;
  url.scheme = u.scheme();
  lower_in_place(url.scheme);
  if (url.scheme != "http" && url.scheme != "https") {
    set_error(error, "unsupported scheme " + quoted(url.scheme) + " in URL " + quoted(shown) +
                         " (only http and https)");
    return std::nullopt;
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    set_error(error, "missing host in URL " + quoted(shown));
    return std::nullopt;
  }
  switch (u.host_type()) {
    case urls::host_type::ipv6:
      url.host = u.encoded_host_address();
      break;
    case urls::host_type::ipv4:
    case urls::host_type::name:
      url.host = u.encoded_host_address().decode();
      break;
    default:
      set_error(error, "unsupported host " + quoted(u.encoded_host()) + " in URL " + quoted(shown));
      return std::nullopt;
  }
  lower_in_place(url.host);
  if (u.host_type() != urls::host_type::ipv6 && !valid_host_name(url.host)) {
    set_error(error, "invalid host " + quoted(u.encoded_host()) + " in URL " + quoted(shown));
    return std::nullopt;
  }
  // Boost.URL 1.81 reads "http://h:8x/" as port 8 and path "x/"; RFC 3986 requires the
  // path after an authority to be empty or to start with '/'.
  if (!u.encoded_path().empty() && !u.encoded_path().starts_with('/')) {
    set_error(error, "invalid URL " + quoted(shown) + ": bad host or port");
    return std::nullopt;
  }
  url.port = url.default_port();
  if (u.has_port() && !u.port().empty()) {
    const auto port = parse_port(u.port());
    if (!port) {
      set_error(error, "invalid port " + quoted(u.port()) + " in URL " + quoted(shown) +
                           " (expected 1-65535)");
      return std::nullopt;
    }
    url.port = *port;
  }
  url.target = remove_dot_segments(u.encoded_path());
  if (url.target.empty()) url.target = "/";
  if (u.has_query()) {
    url.target += '?';
    url.target += u.encoded_query();
  }
  if (u.has_userinfo()) {
    url.user = u.encoded_user().decode();
    url.password = u.encoded_password().decode();
  }
  return url;
}

std::string describe_syntax_error(std::string_view text) {
  const auto bad = std::find_if_not(text.begin(), text.end(), is_uri_char);
  std::string message = "invalid URL " + quoted(text);
  if (bad != text.end()) {
    const auto byte = static_cast<unsigned char>(*bad);
    message += ": character ";
    message += (byte >= 0x20 && byte < 0x7f) ? quoted(std::string_view(&*bad, 1))
                                            : "0x" + std::string{kHex[byte >> 4], kHex[byte & 15]};
    message += " at offset " + std::to_string(bad - text.begin()) + " is not allowed";
  }
  return message;
}

bool is_ascii_space(char c) { return static_cast<unsigned char>(c) <= 0x20; }

// Browser-style clean-up of a reference found in a page or a Location header: trims
// surrounding whitespace, drops tabs/newlines and the fragment, maps '\' to '/', and
// percent-encodes what RFC 3986 does not allow literally. Returns `text` unchanged (no
// copy) when nothing needs fixing.
std::string_view clean_reference(std::string_view text, std::string& storage) {
  while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  text = text.substr(0, text.find('#'));

  // Brackets are legal only around an IPv6 literal in the authority.
  size_t authority_begin = std::string_view::npos, authority_end = 0;
  const size_t scheme_len = scheme_length(text);
  const size_t after_scheme = scheme_len ? scheme_len + 1 : 0;
  if (text.substr(after_scheme).starts_with("//")) {
    authority_begin = after_scheme + 2;
    authority_end = std::min(text.find_first_of("/?\\", authority_begin), text.size());
  }
  auto needs_fix = [&](size_t i) {
    const char c = text[i];
    if (c == '[' || c == ']') return i < authority_begin || i >= authority_end;
    if (c == '%') return i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2]);
    return !is_uri_char(c);
  };
  size_t i = 0;
  while (i < text.size() && !needs_fix(i)) ++i;
  if (i == text.size()) return text;

  storage.assign(text.substr(0, i));
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '\\') {
      storage += '/';
    } else if (needs_fix(i)) {
      append_pct(storage, c);
    } else {
      storage += c;
    }
  }
  return storage;
}

}  // namespace

std::string Url::origin() const {
  std::string out = scheme + "://";
  out += ipv6() ? "[" + host + "]" : host;
  out += ':';
  out += std::to_string(port);
  return out;
}

std::string Url::host_header() const {
  std::string out = ipv6() ? "[" + host + "]" : host;
  if (port != default_port()) {
    out += ':';
    out += std::to_string(port);
  }
  return out;
}

std::string Url::str() const { return scheme + "://" + host_header() + target; }

std::string_view Url::path() const {
  return std::string_view(target).substr(0, target.find('?'));
}

std::string_view Url::query() const {
  const auto mark = target.find('?');
  return mark == std::string::npos ? std::string_view() : std::string_view(target).substr(mark + 1);
}

std::optional<Url> parse_url(std::string_view absolute, std::string* error) {
  const auto parsed = urls::parse_uri(absolute);
  if (!parsed) {
    const auto reference = urls::parse_uri_reference(absolute);
    if (reference && !reference->has_scheme()) {
      set_error(error, "not an absolute URL: " + quoted(absolute) +
                           " (expected http://host/... or https://host/...)");
    } else {
      set_error(error, describe_syntax_error(absolute));
    }
    return std::nullopt;
  }
  return to_url(*parsed, absolute, error);
}

std::optional<Url> resolve_url(const Url& base, std::string_view reference, std::string* error) {
  std::string storage;
  std::string_view ref = clean_reference(reference, storage);
  // RFC 3986 5.2.2 non-strict mode, as browsers do: "http:g" against an http base is
  // the relative reference "g".
  if (const size_t n = scheme_length(ref);
      n && iequals(ref.substr(0, n), base.scheme) && !ref.substr(n + 1).starts_with("//")) {
    ref.remove_prefix(n + 1);
  }
  const auto parsed_ref = urls::parse_uri_reference(ref);
  if (!parsed_ref) {
    set_error(error, describe_syntax_error(ref));
    return std::nullopt;
  }
  // RFC 3986 section 5.2.2 on the encoded components, by hand: Boost.URL 1.81's resolve()
  // decodes percent-encoded bytes in the path ("%2F" becomes '/', "%21" '!'), which would
  // send another request than the page names. to_url() removes the dot segments.
  if (parsed_ref->has_scheme()) return to_url(*parsed_ref, ref, error);
  std::string target_text;
  if (parsed_ref->has_authority()) {
    target_text = base.scheme + ":" + std::string(ref);
  } else {
    target_text = base.scheme + "://" + base.host_header();
    const std::string_view ref_path = parsed_ref->encoded_path();
    if (ref_path.empty()) {
      target_text += base.path();
      if (!parsed_ref->has_query()) {
        if (const auto mark = base.target.find('?'); mark != std::string::npos) target_text += base.target.substr(mark);
      }
    } else if (ref_path.starts_with('/')) {
      target_text += ref_path;
    } else {
      const std::string_view base_path = base.path();
      target_text += base_path.substr(0, base_path.rfind('/') + 1);  // a base path always has a '/'
      target_text += ref_path;
    }
    if (parsed_ref->has_query()) {
      target_text += '?';
      target_text += parsed_ref->encoded_query();
    }
  }
  const auto parsed_target = urls::parse_uri(target_text);
  if (!parsed_target) {
    set_error(error, "cannot resolve " + quoted(reference) + " against " + quoted(base.str()));
    return std::nullopt;
  }
  auto url = to_url(*parsed_target, target_text, error);
  // Relative references stay on the base authority, and so do its credentials.
  if (url && !parsed_ref->has_authority()) {
    url->user = base.user;
    url->password = base.password;
  }
  return url;
}

void append_percent_encoded(std::string& out, std::string_view text) {
  for (const char c : text) {
    if (is_unreserved(c)) {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      append_pct(out, c);
    }
  }
}

std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_percent_encoded(out, text);
  return out;
}

void append_form_urlencoded(std::string& out,
                            const std::vector<std::pair<std::string, std::string>>& params) {
  bool first = true;
  for (const auto& [key, value] : params) {
    if (!first) out += '&';
    first = false;
    append_percent_encoded(out, key);
    out += '=';
    append_percent_encoded(out, value);
  }
}

}  // namespace bm::http
