#pragma once
// HTTP/1.1 request serialisation. append_request() is on the hot path: it only appends
// to the caller's buffer, so a buffer whose capacity is kept across requests never
// allocates.

#include "http/url.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bm::http {

struct Header {
  std::string_view name;
  std::string_view value;
};

// Appends one complete request to `out` (which is not cleared): request line with
// url.target, Host (unless `headers` has one), `headers` in order, Content-Length when the
// body is non-empty or the method is POST/PUT/PATCH (unless `headers` has Content-Length
// or Transfer-Encoding), the blank line, then the body.
void append_request(std::string& out, std::string_view method, const Url& url,
                    std::span<const Header> headers, std::string_view body);

struct MultipartFile {
  std::string field;         // form field name
  std::string filename;      // as sent in Content-Disposition
  std::string content_type;  // "application/octet-stream" when empty
  std::string content;       // file bytes
};

// multipart/form-data body (RFC 7578): the fields first, then the files, each in the given
// order. The boundary is derived from `seed` (same seed, same bytes) and is guaranteed not
// to occur in any part; it is written to boundary_out for the Content-Type header
// ("multipart/form-data; boundary=" + boundary_out).
std::string multipart_body(const std::vector<std::pair<std::string, std::string>>& fields,
                           const std::vector<MultipartFile>& files, std::string& boundary_out,
                           uint64_t seed);

// RFC 4648 base64 with padding.
void append_base64(std::string& out, std::string_view bytes);

// "Basic " + base64(user ":" password), the Authorization header value (RFC 7617).
std::string basic_auth_value(std::string_view user, std::string_view password);

}  // namespace bm::http
