#include "http/request_writer.hpp"

#include "http/ascii.hpp"

#include <algorithm>
#include <charconv>

namespace bm::http {
namespace {

void append_number(std::string& out, uint64_t value) {
  char digits[20];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

bool has_header(std::span<const Header> headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [name](const Header& h) { return iequals(h.name, name); });
}

bool method_implies_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void append_host_header(std::string& out, const Url& url) {
  out.append("Host: ");
  if (url.ipv6()) {
    out += '[';
    out.append(url.host);
    out += ']';
  } else {
    out.append(url.host);
  }
  if (url.port != url.default_port()) {
    out += ':';
    append_number(out, url.port);
  }
  out.append("\r\n");
}

// Upper bound of what append_request writes, so that at most one reallocation happens
// when the buffer is still too small.
size_t request_size_bound(std::string_view method, const Url& url,
                          std::span<const Header> headers, std::string_view body) {
  constexpr size_t kFixed = sizeof " HTTP/1.1\r\n" + sizeof "Host: []:65535\r\n" +
                            sizeof "Content-Length: 18446744073709551615\r\n" + sizeof "\r\n";
  size_t size = kFixed + method.size() + url.target.size() + url.host.size() + body.size();
  for (const Header& h : headers) size += h.name.size() + h.value.size() + 4;
  return size;
}

// SplitMix64: a tiny, well-mixed deterministic generator for boundaries.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void append_hex64(std::string& out, uint64_t value) {
  constexpr char kHex[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(value >> shift) & 15];
}

bool occurs_in_any_part(std::string_view delimiter,
                        const std::vector<std::pair<std::string, std::string>>& fields,
                        const std::vector<MultipartFile>& files) {
  auto in = [delimiter](std::string_view text) {
    return text.find(delimiter) != std::string_view::npos;
  };
  return std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return in(f.second); }) ||
         std::any_of(files.begin(), files.end(), [&](const auto& f) { return in(f.content); });
}

// Names inside quoted Content-Disposition parameters, escaped as the HTML standard's
// multipart/form-data encoding does.
void append_quoted_name(std::string& out, std::string_view name) {
  out += '"';
  for (const char c : name) {
    switch (c) {
      case '"': out.append("%22"); break;
      case '\r': out.append("%0D"); break;
      case '\n': out.append("%0A"); break;
      default: out += c;
    }
  }
  out += '"';
}

void append_part_start(std::string& out, std::string_view boundary, std::string_view field) {
  out.append("--");
  out.append(boundary);
  out.append("\r\nContent-Disposition: form-data; name=");
  append_quoted_name(out, field);
}

}  // namespace

void append_request(std::string& out, std::string_view method, const Url& url,
                    std::span<const Header> headers, std::string_view body) {
  const size_t needed = out.size() + request_size_bound(method, url, headers, body);
  if (needed > out.capacity()) out.reserve(std::max(needed, 2 * out.capacity()));

  out.append(method);
  out += ' ';
  out.append(url.target);
  out.append(" HTTP/1.1\r\n");
  if (!has_header(headers, "Host")) append_host_header(out, url);
  for (const Header& h : headers) append_header(out, h.name, h.value);
  const bool sends_length = !body.empty() || method_implies_body(method);
  if (sends_length && !has_header(headers, "Content-Length") &&
      !has_header(headers, "Transfer-Encoding")) {
    out.append("Content-Length: ");
    append_number(out, body.size());
    out.append("\r\n");
  }
  out.append("\r\n");
  out.append(body);
}

std::string multipart_body(const std::vector<std::pair<std::string, std::string>>& fields,
                           const std::vector<MultipartFile>& files, std::string& boundary_out,
                           uint64_t seed) {
  uint64_t state = seed;
  do {
    boundary_out = "----benchmaster";
    append_hex64(boundary_out, next_random(state));
  } while (occurs_in_any_part("--" + boundary_out, fields, files));

  std::string body;
  for (const auto& [name, value] : fields) {
    append_part_start(body, boundary_out, name);
    body.append("\r\n\r\n");
    body.append(value);
    body.append("\r\n");
  }
  for (const MultipartFile& file : files) {
    append_part_start(body, boundary_out, file.field);
    body.append("; filename=");
    append_quoted_name(body, file.filename);
    body.append("\r\nContent-Type: ");
    body.append(file.content_type.empty() ? "application/octet-stream" : file.content_type);
    body.append("\r\n\r\n");
    body.append(file.content);
    body.append("\r\n");
  }
  body.append("--");
  body.append(boundary_out);
  body.append("--\r\n");
  return body;
}

void append_base64(std::string& out, std::string_view bytes) {
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  auto byte = [&](size_t at) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return;
  const uint32_t n = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
  out += kAlphabet[n >> 18];
  out += kAlphabet[(n >> 12) & 63];
  out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
  out += '=';
}

std::string basic_auth_value(std::string_view user, std::string_view password) {
  std::string credentials;
  credentials.reserve(user.size() + 1 + password.size());
  credentials.append(user);
  credentials += ':';
  credentials.append(password);
  std::string value = "Basic ";
  append_base64(value, credentials);
  return value;
}

}  // namespace bm::http
