#include "http/response_parser.hpp"

#include "http/ascii.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace bm::http {
namespace {

// http_parser's HTTP_MAX_HEADER_SIZE default; the Debian build keeps it.
constexpr size_t kLibraryHeaderLimit = 80 * 1024;
constexpr std::string_view kStatusPrefix = "HTTP/";
constexpr std::string_view kTransferEncoding = "transfer-encoding";

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

// The whole-head pass reads 16 bytes at a time with GCC/Clang vector extensions (SSE2 on
// x86-64, NEON on ARM, plain code elsewhere): a byte class is a few lane-wise operations
// on a block, and its members are the set bits of a mask.
typedef uint8_t Block __attribute__((vector_size(16)));
constexpr ptrdiff_t kBlockBytes = sizeof(Block);

// The helpers below are forced inline: each is a handful of instructions, and inlined
// into one loop they keep their constants in registers.
#define BM_INLINE [[gnu::always_inline]] inline

BM_INLINE Block load_block(const char* at) {
  Block block;
  std::memcpy(&block, at, sizeof block);
  return block;
}

// The 16 bytes from `at`, or near the end of the input the last 16 (so the 16 bytes
// before `end` must be readable); block_bits() puts the bits in place.
BM_INLINE Block load_near(const char* at, const char* end) {
  return load_block(end - at >= kBlockBytes ? at : end - kBlockBytes);
}

// Bit i set when lane i of a lane-wise comparison is true.
template <class Lanes>
BM_INLINE uint32_t lane_bits(Lanes lanes) {
#if defined(__SSE2__)
  return static_cast<uint32_t>(_mm_movemask_epi8(__m128i(lanes)));
#else
  uint32_t bits = 0;
  for (int i = 0; i < kBlockBytes; ++i) bits |= static_cast<uint32_t>(lanes[i] & 1) << i;
  return bits;
#endif
}

// Class bits of load_near(at, end) for the bytes from `at` (bit 0) up to `end`, and a
// set bit at `end` when it is in the block.
BM_INLINE uint32_t block_bits(uint32_t class_bits, const char* at, const char* end) {
  const ptrdiff_t left = end - at;
  return left >= kBlockBytes ? class_bits : class_bits >> (kBlockBytes - left) | 1u << left;
}

// Bytes where a header value or the reason phrase may end: control characters (CR, LF,
// HTAB, NUL, ...), DEL, and bytes from 0x80 up (obs-text, which values may hold, but
// rare enough to share the test). As signed bytes, b + 1 is below 0x21 for exactly these.
BM_INLINE uint32_t value_stops(Block b) {
  typedef int8_t SignedBlock __attribute__((vector_size(16)));
  return lane_bits(reinterpret_cast<SignedBlock>(b + 1) < 0x21);
}

// Bytes where the usual header name ends: anything but a letter, digit or '-'. Names
// with rarer token characters ('_', '.', '!', ...) are read byte by byte.
BM_INLINE uint32_t name_stops(Block b) {
  const Block letter = (b | 0x20) - 'a', digit = b - '0';
  return lane_bits(~((letter < 26) | (digit < 10) | (b == '-')));
}

// Walks through the value_stops bytes of a head, then its end. In the usual head they
// are the CR and LF that end each line and nothing else; each block of 16 bytes is
// classified once, however many lines it holds.
class Stops {
 public:
  Stops(const char* from, const char* end) : end_(end), block_(from), bits_(classify(from)) {}

  // The next stop, or the end of the input (after which there is no next one).
  BM_INLINE const char* next() {
    while (bits_ == 0) {
      block_ += kBlockBytes;
      bits_ = classify(block_);
    }
    const char* const stop = block_ + std::countr_zero(bits_);
    bits_ &= bits_ - 1;
    return stop;
  }

  // The CR that ends the current line, past HTAB and obs-text in a value; nullptr when
  // another stop (a bare LF, another control character, DEL, the end) comes first.
  BM_INLINE const char* next_cr() {
    for (const char* stop = next(); stop != end_; stop = next()) {
      if (*stop == '\r') return stop;
      if (*stop != '\t' && static_cast<unsigned char>(*stop) < 0x80) return nullptr;
    }
    return nullptr;
  }

  // The stop after `cr`, which must be the LF right after it.
  BM_INLINE bool lf_follows(const char* cr) {
    const char* const lf = next();
    return lf == cr + 1 && lf != end_ && *lf == '\n';
  }

 private:
  BM_INLINE uint32_t classify(const char* at) const {
    return block_bits(value_stops(load_near(at, end_)), at, end_);
  }

  const char* const end_;
  const char* block_;  // the block classified last
  uint32_t bits_;      // its stops not yet returned
};

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

// The value of a field that http_parser interprets, without the spaces around it. Tabs
// stay, so that a value with one does not read as a number or keyword: http_parser does
// not skip them everywhere it skips spaces.
std::string_view trim_spaces(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

// A field line as the whole-head pass reads it.
struct FieldLine {
  std::string_view name, value;  // the value with the OWS around it (header_at trims it)
};

// The ':' after a token at `line`, or nullptr. The usual name ends with it within one
// block; names with rarer token characters are read byte by byte.
BM_INLINE const char* colon_after_name(const char* line, const char* end) {
  const uint32_t stops = block_bits(name_stops(load_near(line, end)), line, end) | 1u << kBlockBytes;
  const char* colon = line + std::countr_zero(stops);
  if (colon == end || *colon != ':') {
    colon = line;
    while (colon < end && kTokenChars[static_cast<unsigned char>(*colon)]) ++colon;
    if (colon == end || *colon != ':') return nullptr;
  }
  return colon == line ? nullptr : colon;
}

// What http_parser makes of the fields that frame a response, as far as the whole-head
// pass follows it.
struct Framing {
  bool has_length = false;
  uint64_t length = 0;
  enum class Connection { unset, keep_alive, close } connection = Connection::unset;
};

// Takes note of `field` in `framing`. False when http_parser gives the field a meaning
// the pass does not follow: Transfer-Encoding, Upgrade, Proxy-Connection, a repeated or
// unusual Content-Length or Connection.
bool note_framing(const FieldLine& field, Framing* framing) {
  // Most fields are told apart from those by their length alone.
  constexpr uint32_t kFramingNameLengths = 1u << 7 | 1u << 10 | 1u << 14 | 1u << 16 | 1u << 17;
  const size_t n = field.name.size();
  if (n > 17 || ((kFramingNameLengths >> n) & 1) == 0) return true;
  if (equals_lower(field.name, "content-length")) {
    if (framing->has_length || !parse_length(trim_spaces(field.value), &framing->length)) return false;
    framing->has_length = true;
    return true;
  }
  if (equals_lower(field.name, "connection")) {
    if (framing->connection != Framing::Connection::unset) return false;
    const std::string_view token = trim_spaces(field.value);
    if (equals_lower(token, "keep-alive")) framing->connection = Framing::Connection::keep_alive;
    else if (equals_lower(token, "close")) framing->connection = Framing::Connection::close;
    else return false;
    return true;
  }
  return !equals_lower(field.name, "transfer-encoding") && !equals_lower(field.name, "proxy-connection") &&
         !equals_lower(field.name, "upgrade");
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
    r.known_fields_done_ = false;  // trailers come after the head
    if (r.headers_.back().name_length > kTransferEncoding.size() && r.phase_ == Phase::head) {
      r.forget_prefixed_transfer_encoding(p);
    }
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
    if (!r.head_request_ && !has_no_body(r.status_) && r.store_body_ && p->content_length != ULLONG_MAX &&
        p->content_length > r.limits_.max_body_bytes) {
      return r.fail_body_too_large();
    }
    // When the bytes being fed reach past the header limit, stop at the head's last byte:
    // feed() measures the head there, its line ends included, then resumes (http_parser
    // reads that byte again). Otherwise the head fits whatever its length.
    if (r.wire_bytes_ + r.feed_length_ > r.limits_.max_header_bytes) {
      r.head_ended_ = true;
      http_parser_pause(p, 1);
    }
    return r.head_request_ || has_no_body(r.status_) ? 1 : 0;
  }

  static int on_body(http_parser* p, const char* at, size_t len) {
    ResponseParser& r = self(p);
    r.body_bytes_ += len;
    if (!r.store_body_) return 0;  // counted, not kept: any size streams through
    if (r.body_bytes_ > r.limits_.max_body_bytes) return r.fail_body_too_large();
    r.body_.append(at, len);
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
  // A head is kept only for the same kind of request: a HEAD response has no body.
  if (one_pass_head_ && phase_ == Phase::complete && head_request == head_request_) {
    kept_head_ = true;
    kept_status_ = status_;
    kept_keep_alive_ = keep_alive_;
    status_ = 0;
  } else {
    clear_message();
  }
  head_request_ = head_request;
  phase_ = Phase::awaiting;
  keep_alive_ = false;
  head_reused_ = false;
  body_.clear();
  body_bytes_ = 0;
  wire_bytes_ = 0;
  one_pass_head_ = false;
  fast_body_ = false;
  body_left_ = 0;
  prefix_matched_ = 0;
  error_.clear();
}

void ResponseParser::clear_message() {
  kept_head_ = false;
  last_data_ = LastData::none;
  status_ = 0;
  http_minor_ = 0;
  head_.clear();
  reason_len_ = 0;
  trailers_offset_ = 0;
  headers_.clear();
  known_fields_done_ = false;
}

ResponseParser::Result ResponseParser::feed(const char* data, size_t len, size_t* consumed) {
  *consumed = 0;
  if (phase_ == Phase::complete) return Result::complete;
  if (phase_ == Phase::failed) return Result::error;
  if (len == 0) return Result::need_more;
  if (fast_body_) return take_known_length_body(data, len, consumed);
  if (wire_bytes_ == 0 && prefix_matched_ == 0) {
    size_t head_len = 0;
    if (kept_head_) {
      head_len = kept_head_length(data, len);
      if (head_len != 0) {
        // The same bytes parse the same way: the kept head's fields, status and framing.
        kept_head_ = false;
        head_reused_ = true;
        one_pass_head_ = true;
        status_ = kept_status_;
        keep_alive_ = kept_keep_alive_;
        wire_bytes_ = head_len;
        *consumed = head_len;
        if (head_body_length_ == 0) {
          phase_ = Phase::complete;
          return Result::complete;
        }
        phase_ = Phase::body;
        fast_body_ = true;
        body_left_ = head_body_length_;
        size_t body_used = 0;
        const Result result = take_known_length_body(data + head_len, len - head_len, &body_used);
        *consumed += body_used;
        return result;
      }
      clear_message();
    }
    if (parse_whole_head(data, len, &head_len)) {
      one_pass_head_ = true;
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

  // Set up only for the responses the one-pass path leaves to http_parser.
  if (wire_bytes_ == 0) http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;  // refreshed on every call so that the object may be moved
  size_t parsed = 0;
  http_errno status = HPE_OK;
  for (;;) {
    feed_data_ = data + parsed;
    feed_length_ = len - parsed;
    const size_t n = http_parser_execute(&parser_, &Callbacks::settings, data + parsed, len - parsed);
    status = HTTP_PARSER_ERRNO(&parser_);
    wire_bytes_ += n;
    parsed += n;
    if (!head_ended_) break;
    // Paused at the head's last byte, not consumed yet: the limit counts every byte of the
    // head however it arrived (callbacks only see the fields, not the line ends after them).
    head_ended_ = false;
    *consumed = parsed;
    if (wire_bytes_ + 1 > limits_.max_header_bytes) return fail_result(head_too_large_message());
    http_parser_pause(&parser_, 0);
  }
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
// is parsed here in one pass instead, 16 bytes at a time: the control characters of the
// head (Stops) should be the CR LF pairs that end its lines, and each name a token up to
// ':'. The pass only ever accepts input that http_parser accepts the same way; on
// anything else it returns false having changed nothing but headers_ (which the caller
// clears), and http_parser parses the bytes as before, so what is accepted and how
// errors read do not change.
bool ResponseParser::parse_whole_head(const char* data, size_t len, size_t* head_len) {
  const char* const end = data + std::min(len, limits_.max_header_bytes);
  // At least one block, which load_near() may read back from the end.
  if (end - data < kBlockBytes || std::memcmp(data, "HTTP/1.", 7) != 0 || (data[7] != '0' && data[7] != '1') ||
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
  Stops stops(base, end);
  const char* cr = stops.next_cr();
  if (cr == nullptr || !stops.lf_follows(cr)) return false;
  const auto reason_len = static_cast<uint32_t>(cr - base);

  Framing framing;
  while (true) {
    const char* const line = cr + 2;
    cr = stops.next_cr();
    if (cr == nullptr) return false;
    if (cr == line) break;  // the empty line that ends the head
    // A token holds no stop, so the name ends before the line's first stop. An obs-fold
    // continuation, which starts with SP or HTAB, does not read as a field line.
    const char* const colon = colon_after_name(line, end);
    if (colon == nullptr || !stops.lf_follows(cr)) return false;
    const FieldLine field{std::string_view(line, static_cast<size_t>(colon - line)),
                          std::string_view(colon + 1, static_cast<size_t>(cr - colon - 1))};
    if (!note_framing(field, &framing)) return false;
    const auto name_offset = static_cast<uint32_t>(line - base);
    const auto name_length = static_cast<uint32_t>(colon - line);
    headers_.push_back({name_offset, name_length, name_offset + name_length + 1,
                        static_cast<uint32_t>(field.value.size())});
  }
  if (!stops.lf_follows(cr)) return false;

  const bool no_body = head_request_ || has_no_body(status);
  // A body that ends when the connection closes, or one to keep over the limit: http_parser's job.
  if (!no_body && (!framing.has_length || (store_body_ && framing.length > limits_.max_body_bytes))) return false;
  head_.assign(base, static_cast<size_t>(cr - base));
  status_line_len_ = static_cast<uint8_t>(base - data);
  std::memcpy(status_line_, data, status_line_len_);
  head_body_length_ = no_body ? 0 : framing.length;
  *head_len = static_cast<size_t>(cr + 2 - data);
  status_ = status;
  http_minor_ = data[7] - '0';
  reason_len_ = reason_len;
  trailers_offset_ = static_cast<uint32_t>(head_.size());
  keep_alive_ = http_minor_ == 1 ? framing.connection != Framing::Connection::close
                                 : framing.connection == Framing::Connection::keep_alive;
  if (no_body || framing.length == 0) {
    phase_ = Phase::complete;
  } else {
    phase_ = Phase::body;
    fast_body_ = true;
    body_left_ = framing.length;
  }
  return true;
}

// The kept head is status_line_ + head_ + CRLF; the bytes at `data` must be those, in one
// buffer (a head cut across two reads takes the usual path).
size_t ResponseParser::kept_head_length(const char* data, size_t len) const {
  const size_t line = status_line_len_, n = line + head_.size() + 2;
  if (len < n || data[n - 2] != '\r' || data[n - 1] != '\n') return 0;
  if (std::memcmp(data, status_line_, line) != 0 || std::memcmp(data + line, head_.data(), head_.size()) != 0) return 0;
  return n;
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
  if (kept_head_) return {};
  for (size_t i = 0; i < headers_.size(); ++i) {
    if (headers_[i].name_length == name.size() && iequals(header_name(i), name)) return header_at(i).second;
  }
  return {};
}

void ResponseParser::known_fields() const {
  known_fields_done_ = true;
  has_set_cookie_ = false;
  content_type_index_ = -1;
  for (size_t i = 0; i < headers_.size(); ++i) {
    const HeaderSpan& h = headers_[i];
    const std::string_view name(head_.data() + h.name_offset, h.name_length);
    if (h.name_length == 12 && content_type_index_ < 0 && equals_lower(name, "content-type")) {
      content_type_index_ = static_cast<int>(i);
    } else if (h.name_length == 10 && !has_set_cookie_ && equals_lower(name, "set-cookie")) {
      has_set_cookie_ = true;
    }
  }
}

std::string_view ResponseParser::content_type() const {
  if (kept_head_) return {};
  if (!known_fields_done_) known_fields();
  return content_type_index_ < 0 ? std::string_view() : header_at(static_cast<size_t>(content_type_index_)).second;
}

bool ResponseParser::has_set_cookie() const {
  if (kept_head_) return false;
  if (!known_fields_done_) known_fields();
  return has_set_cookie_;
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

namespace {

// Whether http_parser reads a Transfer-Encoding of `value` as chunked (its last coding),
// asked of http_parser itself so that the answer is its own, whitespace rules included.
bool http_parser_reads_as_chunked(std::string_view value) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + std::string(value) + "\r\n\r\n";
  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_headers_complete = [](http_parser* p) {
    http_parser_pause(p, 1);  // the answer is in the flags now
    return 0;
  };
  http_parser_execute(&parser, &settings, head.data(), head.size());
  return (parser.flags & F_CHUNKED) != 0;
}

}  // namespace

// http_parser 2.9.4 takes a field whose name merely begins with "Transfer-Encoding"
// ("Transfer-EncodingX") for one: it marks the message as using Transfer-Encoding (and
// then refuses a Content-Length beside it, or reads the body to the connection's end),
// and forgets a chunked coding a real Transfer-Encoding before it set, as a new
// Transfer-Encoding does. Called while such a name is read, before its value: the name
// becomes an ordinary field (h_general, 0 in http_parser's enum of header states); the
// mark is undone unless a real Transfer-Encoding came before it in this head, and then
// the last of those says again whether the body is chunked (one after it sets both anew).
void ResponseParser::forget_prefixed_transfer_encoding(http_parser* parser) const {
  const HeaderSpan& current = headers_.back();
  const std::string_view name(head_.data() + current.name_offset, current.name_length);
  if (!iequals(name.substr(0, kTransferEncoding.size()), kTransferEncoding)) return;
  constexpr unsigned kGeneralField = 0;
  parser->header_state = kGeneralField;
  for (size_t i = headers_.size() - 1; i-- > 0;) {
    const HeaderSpan& earlier = headers_[i];
    if (iequals(std::string_view(head_.data() + earlier.name_offset, earlier.name_length), kTransferEncoding)) {
      if (http_parser_reads_as_chunked(std::string_view(head_.data() + earlier.value_offset, earlier.value_length))) {
        parser->flags |= F_CHUNKED;
      }
      return;
    }
  }
  parser->uses_transfer_encoding = 0;
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
