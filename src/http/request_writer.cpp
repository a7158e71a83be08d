#include "http/request_writer.hpp"

#include "http/ascii.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace bm::http {
namespace {

bool has_header(std::span<const Header> headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [name](const Header& h) { return iequals(h.name, name); });
}

bool method_implies_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

// Upper bound of what append_request writes: the room it makes before writing.
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

// Writes through a pointer into room made by one resize: a dozen std::string appends,
// each checking capacity, cost more than the bytes themselves.
class RequestWriter {
 public:
  explicit RequestWriter(char* at) : at_(at) {}
  void put(std::string_view text) {
    std::memcpy(at_, text.data(), text.size());
    at_ += text.size();
  }
  void put(char c) { *at_++ = c; }
  void put_number(uint64_t value) { at_ = std::to_chars(at_, at_ + 20, value).ptr; }
  char* end() const { return at_; }

 private:
  char* at_;
};

void append_request(std::string& out, std::string_view method, const Url& url,
                    std::span<const Header> headers, std::string_view body) {
  const size_t start = out.size();
  const size_t bound = request_size_bound(method, url, headers, body);
  if (start + bound > out.capacity()) out.reserve(std::max(start + bound, 2 * out.capacity()));
  out.resize(start + bound);
  RequestWriter w(out.data() + start);

  w.put(method);
  w.put(' ');
  w.put(url.target);
  w.put(" HTTP/1.1\r\n");
  if (!has_header(headers, "Host")) {
    w.put("Host: ");
    if (url.ipv6()) {
      w.put('[');
      w.put(url.host);
      w.put(']');
    } else {
      w.put(url.host);
    }
    if (url.port != url.default_port()) {
      w.put(':');
      w.put_number(url.port);
    }
    w.put("\r\n");
  }
  for (const Header& h : headers) {
    w.put(h.name);
    w.put(": ");
    w.put(h.value);
    w.put("\r\n");
  }
  const bool sends_length = !body.empty() || method_implies_body(method);
  if (sends_length && !has_header(headers, "Content-Length") && !has_header(headers, "Transfer-Encoding")) {
    w.put("Content-Length: ");
    w.put_number(body.size());
    w.put("\r\n");
  }
  w.put("\r\n");
  w.put(body);
  out.resize(static_cast<size_t>(w.end() - out.data()));
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
