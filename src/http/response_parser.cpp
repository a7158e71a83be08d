#include "http/response_parser.hpp"

#include "http/ascii.hpp"

#include <algorithm>
#include <climits>

namespace bm::http {
namespace {

// http_parser's HTTP_MAX_HEADER_SIZE default; the Debian build keeps it.
constexpr size_t kLibraryHeaderLimit = 80 * 1024;
constexpr std::string_view kStatusPrefix = "HTTP/";

bool is_interim(int status) { return status >= 100 && status < 200 && status != 101; }

bool has_no_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace

// http_parser calls back through C function pointers; these forward to the instance.
struct ResponseParser::Callbacks {
  static ResponseParser& self(http_parser* p) { return *static_cast<ResponseParser*>(p->data); }

  static int on_message_begin(http_parser* p) {
    self(p).phase_ = Phase::head;
    return 0;
  }

  static int on_status(http_parser* p, const char* at, size_t len) {
    ResponseParser& r = self(p);
    if (r.head_too_large(at, len)) return r.fail_head_too_large();
    r.head_.append(at, len);
    r.reason_len_ += static_cast<uint32_t>(len);
    return 0;
  }

  static int on_header_field(http_parser* p, const char* at, size_t len) {
    ResponseParser& r = self(p);
    if (r.phase_ == Phase::body) r.phase_ = Phase::trailers;
    if (r.head_too_large(at, len)) return r.fail_head_too_large();
    if (r.last_data_ != LastData::field) {
      const auto offset = static_cast<uint32_t>(r.head_.size());
      r.headers_.push_back({offset, 0, offset, 0});
      r.last_data_ = LastData::field;
    }
    r.head_.append(at, len);
    r.headers_.back().name_length += static_cast<uint32_t>(len);
    return 0;
  }

  static int on_header_value(http_parser* p, const char* at, size_t len) {
    ResponseParser& r = self(p);
    if (r.head_too_large(at, len)) return r.fail_head_too_large();
    if (r.headers_.empty()) return r.fail("invalid HTTP response: header value without a name");
    HeaderSpan& h = r.headers_.back();
    if (r.last_data_ != LastData::value) {
      h.value_offset = static_cast<uint32_t>(r.head_.size());
      r.last_data_ = LastData::value;
    }
    r.head_.append(at, len);
    h.value_length += static_cast<uint32_t>(len);
    return 0;
  }

  // Returning 1 tells http_parser that this response has no body.
  static int on_headers_complete(http_parser* p) {
    ResponseParser& r = self(p);
    r.status_ = static_cast<int>(p->status_code);
    r.http_minor_ = p->http_minor;
    r.phase_ = Phase::body;
    r.last_data_ = LastData::none;
    r.trailers_offset_ = static_cast<uint32_t>(r.head_.size());
    if (r.head_request_ || has_no_body(r.status_)) return 1;
    if (p->content_length != ULLONG_MAX && p->content_length > r.limits_.max_body_bytes) {
      return r.fail_body_too_large();
    }
    return 0;
  }

  static int on_body(http_parser* p, const char* at, size_t len) {
    ResponseParser& r = self(p);
    r.body_bytes_ += len;
    if (r.body_bytes_ > r.limits_.max_body_bytes) return r.fail_body_too_large();
    if (r.store_body_) r.body_.append(at, len);
    return 0;
  }

  static int on_message_complete(http_parser* p) {
    ResponseParser& r = self(p);
    if (is_interim(r.status_)) {  // 100 Continue, 103 Early Hints: the real one follows
      r.clear_message();
      r.phase_ = Phase::awaiting;
      return 0;
    }
    r.phase_ = Phase::complete;
    r.keep_alive_ = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);  // stop right after this response
    return 0;
  }

  static const http_parser_settings settings;
};

const http_parser_settings ResponseParser::Callbacks::settings = {
    .on_message_begin = on_message_begin,
    .on_url = nullptr,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
    .on_chunk_header = nullptr,
    .on_chunk_complete = nullptr,
};

ResponseParser::ResponseParser(ParseLimits limits) : limits_(limits) {
  limits_.max_header_bytes = std::min(limits_.max_header_bytes, kLibraryHeaderLimit);
  reset(false);
}

void ResponseParser::reset(bool head_request) {
  http_parser_init(&parser_, HTTP_RESPONSE);
  head_request_ = head_request;
  phase_ = Phase::awaiting;
  keep_alive_ = false;
  clear_message();
  body_.clear();
  body_bytes_ = 0;
  wire_bytes_ = 0;
  prefix_matched_ = 0;
  error_.clear();
}

void ResponseParser::clear_message() {
  last_data_ = LastData::none;
  status_ = 0;
  http_minor_ = 0;
  head_.clear();
  reason_len_ = 0;
  trailers_offset_ = 0;
  headers_.clear();
}

ResponseParser::Result ResponseParser::feed(const char* data, size_t len, size_t* consumed) {
  *consumed = 0;
  if (phase_ == Phase::complete) return Result::complete;
  if (phase_ == Phase::failed) return Result::error;
  if (len == 0) return Result::need_more;
  if (!status_prefix_ok(data, len)) {
    return fail_result("invalid HTTP response: expected 'HTTP/'");
  }

  parser_.data = this;  // refreshed on every call so that the object may be moved
  feed_data_ = data;
  const size_t parsed = http_parser_execute(&parser_, &Callbacks::settings, data, len);
  const auto status = HTTP_PARSER_ERRNO(&parser_);
  wire_bytes_ += parsed;
  *consumed = parsed;

  if (phase_ == Phase::failed) return Result::error;  // a callback refused
  if (status == HPE_PAUSED) {
    http_parser_pause(&parser_, 0);
    return Result::complete;
  }
  if (status != HPE_OK) return fail_result(describe_parse_error(status));
  if ((phase_ == Phase::awaiting || phase_ == Phase::head) &&
      wire_bytes_ > limits_.max_header_bytes) {
    return fail_result(head_too_large_message());
  }
  return Result::need_more;
}

ResponseParser::Result ResponseParser::finish_eof() {
  if (phase_ == Phase::complete) return Result::complete;
  if (phase_ == Phase::failed) return Result::error;
  if (wire_bytes_ == 0) return fail_result("connection closed before any response");
  parser_.data = this;
  http_parser_execute(&parser_, &Callbacks::settings, nullptr, 0);  // signals EOF
  if (phase_ == Phase::complete) {
    http_parser_pause(&parser_, 0);
    return Result::complete;
  }
  if (phase_ == Phase::failed) return Result::error;
  return fail_result("connection closed mid-response");
}

std::pair<std::string_view, std::string_view> ResponseParser::header_at(size_t i) const {
  const HeaderSpan& h = headers_[i];
  const std::string_view all(head_);
  return {all.substr(h.name_offset, h.name_length),
          trim_ows(all.substr(h.value_offset, h.value_length))};
}

std::string_view ResponseParser::header(std::string_view name) const {
  for (size_t i = 0; i < headers_.size(); ++i) {
    const auto [field, value] = header_at(i);
    if (iequals(field, name)) return value;
  }
  return {};
}

// The response must start with "HTTP/" (after optional blank lines, as http_parser
// allows). Checked here because http_parser reports a wrong first byte and a wrong later
// one with different, less helpful errors.
bool ResponseParser::status_prefix_ok(const char* data, size_t len) {
  for (size_t i = 0; i < len && prefix_matched_ < kStatusPrefix.size(); ++i) {
    const char c = data[i];
    if (prefix_matched_ == 0 && (c == '\r' || c == '\n')) continue;
    if (c != kStatusPrefix[prefix_matched_]) return false;
    ++prefix_matched_;
  }
  return true;
}

// Head bytes are measured on the wire up to the end of the latest status/header callback;
// trailers (which can come in any amount after the body) by the bytes stored for them.
bool ResponseParser::head_too_large(const char* at, size_t len) const {
  if (phase_ == Phase::trailers) {
    return head_.size() - trailers_offset_ + len > limits_.max_header_bytes;
  }
  return wire_bytes_ + static_cast<size_t>(at - feed_data_) + len > limits_.max_header_bytes;
}

std::string ResponseParser::head_too_large_message() const {
  return "response headers larger than " + std::to_string(limits_.max_header_bytes) + " bytes";
}

std::string ResponseParser::describe_parse_error(http_errno status) const {
  if (status == HPE_HEADER_OVERFLOW) return head_too_large_message();
  return std::string("invalid HTTP response: ") + http_errno_description(status) +
         " (at byte " + std::to_string(wire_bytes_) + ")";
}

int ResponseParser::fail_head_too_large() { return fail(head_too_large_message()); }

int ResponseParser::fail_body_too_large() {
  return fail("response body larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
}

int ResponseParser::fail(std::string message) {
  phase_ = Phase::failed;
  error_ = std::move(message);
  return -1;  // makes http_parser stop
}

ResponseParser::Result ResponseParser::fail_result(std::string message) {
  fail(std::move(message));
  return Result::error;
}

}  // namespace bm::http
