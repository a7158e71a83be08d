#include "http/response_parser.hpp"

#include "http/ascii.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cstring>

namespace bm::http {
namespace {

// http_parser's HTTP_MAX_HEADER_SIZE default; the Debian build keeps it.
constexpr size_t kLibraryHeaderLimit = 80 * 1024;
constexpr std::string_view kStatusPrefix = "HTTP/";

bool is_interim(int status) { return status >= 100 && status < 200 && status != 101; }

bool has_no_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

// RFC 9110 tchar: what a header name may contain.
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 'a' + 'A'] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of the run of bytes before the first control character (CR, LF, HTAB, ... or
// DEL), 8 bytes at a time: a header value ends at the first one.
size_t span_without_controls(const char* begin, const char* end) {
  const char* p = begin;
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      // Bytes below 0x20, and bytes equal to 0x7f; exact for the lowest flagged byte.
      const uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighs;
      const uint64_t del = word ^ (kOnes * 0x7f);
      const uint64_t flagged = below_space | ((del - kOnes) & ~del & kHighs);
      if (flagged != 0) return static_cast<size_t>(p - begin) + (std::countr_zero(flagged) >> 3);
      p += 8;
    }
  }
  while (p < end && static_cast<unsigned char>(*p) >= 0x20 && *p != 0x7f) ++p;
  return static_cast<size_t>(p - begin);
}

// A header name, or a value without control characters, against a lower-case literal.
// Letters differ from their lower-case form only in bit 0x20, and setting that bit turns
// no other such byte into a letter or '-': OR-ing it in compares case-insensitively,
// eight bytes at a time (two overlapping words cover 8 to 16 bytes).
template <size_t N>
bool equals_lower(std::string_view text, const char (&lower)[N]) {
  constexpr size_t n = N - 1;
  if (text.size() != n) return false;
  if constexpr (n >= 8 && n <= 16) {
    constexpr uint64_t kCaseBits = 0x2020202020202020ULL;
    uint64_t head, tail, lower_head, lower_tail;
    std::memcpy(&head, text.data(), 8);
    std::memcpy(&tail, text.data() + n - 8, 8);
    std::memcpy(&lower_head, lower, 8);
    std::memcpy(&lower_tail, lower + n - 8, 8);
    return (head | kCaseBits) == lower_head && (tail | kCaseBits) == lower_tail;
  } else {
    for (size_t i = 0; i < n; ++i) {
      if ((text[i] | 0x20) != lower[i]) return false;
    }
    return true;
  }
}

// Content-Length as http_parser reads it in the common case: digits only.
bool parse_length(std::string_view digits, uint64_t* length) {
  if (digits.empty() || digits.size() > 18) return false;
  uint64_t n = 0;
  for (char c : digits) {
    if (!is_digit(c)) return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *length = n;
  return true;
}

// The value of a field that http_parser interprets, without the spaces around it; false
// when it holds a tab, which http_parser does not skip everywhere spaces are skipped.
bool framing_value(std::string_view value, std::string_view* token) {
  if (value.find('\t') != std::string_view::npos) return false;
  const size_t first = value.find_first_not_of(' ');
  if (first == std::string_view::npos) {
    *token = {};
    return true;
  }
  *token = value.substr(first, value.find_last_not_of(' ') + 1 - first);
  return true;
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
  fast_body_ = false;
  body_left_ = 0;
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
  if (fast_body_) return take_known_length_body(data, len, consumed);
  if (wire_bytes_ == 0 && prefix_matched_ == 0) {
    size_t head_len = 0;
    if (parse_whole_head(data, len, &head_len)) {
      wire_bytes_ = head_len;
      *consumed = head_len;
      if (phase_ == Phase::complete) return Result::complete;
      size_t body_used = 0;
      const Result result = take_known_length_body(data + head_len, len - head_len, &body_used);
      *consumed += body_used;
      return result;
    }
    headers_.clear();  // what the fast path noted before giving up
  }
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
  if (fast_body_) return fail_result("connection closed mid-response");
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

// http_parser walks a response byte by byte through a state machine: about 25
// instructions a byte, most of a load generator's user time per request. The usual
// response (HTTP/1.0 or 1.1, status line and every header line well-formed and ending in
// CRLF, the whole head in one buffer, a Content-Length or no body, none of the headers
// http_parser gives a meaning of its own besides Content-Length and a plain Connection)
// is parsed here in one pass instead. The pass only ever accepts input that http_parser
// accepts the same way; on anything else it returns false having changed nothing but
// headers_ (which the caller clears), and http_parser parses the bytes as before, so what is accepted and how errors read do not
// change.
bool ResponseParser::parse_whole_head(const char* data, size_t len, size_t* head_len) {
  const char* const end = data + std::min(len, limits_.max_header_bytes);
  if (end - data < 16 || std::memcmp(data, "HTTP/1.", 7) != 0 || (data[7] != '0' && data[7] != '1') ||
      data[8] != ' ' || !is_digit(data[9]) || !is_digit(data[10]) || !is_digit(data[11])) {
    return false;
  }
  const int status = (data[9] - '0') * 100 + (data[10] - '0') * 10 + (data[11] - '0');
  if (status >= 100 && status < 200) return false;  // interim responses and 101 Switching Protocols
  const char* p = data + 12;
  if (*p == ' ') ++p;
  else if (*p != '\r') return false;
  // head_ keeps the bytes from the reason phrase to the last header line, copied once.
  const char* const base = p;
  p += span_without_controls(p, end);
  const auto reason_len = static_cast<uint32_t>(p - base);
  if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return false;
  p += 2;

  enum class Connection { unset, keep_alive, close } connection = Connection::unset;
  bool has_length = false;
  uint64_t length = 0;
  while (true) {
    if (end - p < 2) return false;
    if (p[0] == '\r') {
      if (p[1] != '\n') return false;
      break;
    }
    const char* const name = p;
    while (p < end && kTokenChars[static_cast<unsigned char>(*p)]) ++p;
    if (p == name || p == end || *p != ':') return false;
    const std::string_view field(name, static_cast<size_t>(p - name));
    ++p;
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    const char* const value_begin = p;
    p += span_without_controls(p, end);
    while (p < end && *p == '\t') p += 1 + span_without_controls(p + 1, end);
    const std::string_view value(value_begin, static_cast<size_t>(p - value_begin));
    // CRLF, and no obs-fold continuation line after it.
    if (end - p < 3 || p[0] != '\r' || p[1] != '\n' || p[2] == ' ' || p[2] == '\t') return false;
    p += 2;

    std::string_view token;
    if (equals_lower(field, "content-length")) {
      if (has_length || !framing_value(value, &token) || !parse_length(token, &length)) return false;
      has_length = true;
    } else if (equals_lower(field, "connection")) {
      if (connection != Connection::unset || !framing_value(value, &token)) return false;
      if (equals_lower(token, "keep-alive")) connection = Connection::keep_alive;
      else if (equals_lower(token, "close")) connection = Connection::close;
      else return false;
    } else if (equals_lower(field, "transfer-encoding") || equals_lower(field, "proxy-connection") ||
               equals_lower(field, "upgrade")) {
      return false;
    }
    headers_.push_back({static_cast<uint32_t>(name - base), static_cast<uint32_t>(field.size()),
                        static_cast<uint32_t>(value_begin - base), static_cast<uint32_t>(value.size())});
  }

  const bool no_body = head_request_ || has_no_body(status);
  // A body that ends when the connection closes, or one over the limit: http_parser's job.
  if (!no_body && (!has_length || length > limits_.max_body_bytes)) return false;
  head_.assign(base, static_cast<size_t>(p - base));
  *head_len = static_cast<size_t>(p + 2 - data);
  status_ = status;
  http_minor_ = data[7] - '0';
  reason_len_ = reason_len;
  trailers_offset_ = static_cast<uint32_t>(head_.size());
  keep_alive_ = http_minor_ == 1 ? connection != Connection::close : connection == Connection::keep_alive;
  if (no_body || length == 0) {
    phase_ = Phase::complete;
  } else {
    phase_ = Phase::body;
    fast_body_ = true;
    body_left_ = length;
  }
  return true;
}

ResponseParser::Result ResponseParser::take_known_length_body(const char* data, size_t len, size_t* consumed) {
  const auto n = static_cast<size_t>(std::min<uint64_t>(len, body_left_));
  if (store_body_) body_.append(data, n);
  body_bytes_ += n;
  body_left_ -= n;
  wire_bytes_ += n;
  *consumed += n;
  if (body_left_ > 0) return Result::need_more;
  fast_body_ = false;
  phase_ = Phase::complete;
  return Result::complete;
}

std::pair<std::string_view, std::string_view> ResponseParser::header_at(size_t i) const {
  const HeaderSpan& h = headers_[i];
  const std::string_view all(head_);
  return {all.substr(h.name_offset, h.name_length),
          trim_ows(all.substr(h.value_offset, h.value_length))};
}

std::string_view ResponseParser::header_name(size_t i) const {
  return std::string_view(head_).substr(headers_[i].name_offset, headers_[i].name_length);
}

std::string_view ResponseParser::header(std::string_view name) const {
  for (size_t i = 0; i < headers_.size(); ++i) {
    if (headers_[i].name_length == name.size() && iequals(header_name(i), name)) return header_at(i).second;
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
