#pragma once
// Incremental HTTP/1.1 response parser on top of http_parser (the parser wrk uses).
// One instance per connection, reset() before each response; after warm-up it does not
// allocate: header bytes, header offsets and the body live in buffers whose capacity is
// kept across responses.

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bm::http {

struct ParseLimits {
  // Status line + header lines (1xx interim responses included); also bounds the trailers.
  // http_parser has a compile-time ceiling of 80 KiB, so larger values act as 80 KiB.
  size_t max_header_bytes = 64 * 1024;
  size_t max_body_bytes = 256u << 20;  // de-chunked body kept in memory; one not kept has no limit
};

class ResponseParser {
 public:
  enum class Result { need_more, complete, error };

  explicit ResponseParser(ParseLimits limits = {});

  // Prepares for the next response on the connection; a HEAD request's response has no
  // body whatever its headers say. Keeps buffer capacity. A head that took the one-pass
  // path is kept, out of sight, for comparison: when the next response starts with the
  // same bytes (a server answers the same request with the same head, until its Date
  // changes), its parse is taken over instead of redone.
  void reset(bool head_request);

  // Consumes bytes up to the end of one response; *consumed says how many were used, the
  // rest belong to whatever follows. Any split of the input works, down to 1 byte per call.
  // After complete or error, further calls consume nothing and return the same result.
  Result feed(const char* data, size_t len, size_t* consumed);

  // The peer closed the connection: completes a close-delimited body, otherwise an error
  // ("connection closed before any response" / "connection closed mid-response").
  Result finish_eof();

  // false: body bytes are counted but not kept (resources whose content nobody reads,
  // keep_body = false): then no size limit applies, memory stays flat whatever the size,
  // and the response timeout bounds an endless body.
  void set_store_body(bool store) { store_body_ = store; }

  int status() const { return status_; }
  std::string_view reason() const {
    return kept_head_ ? std::string_view() : std::string_view(head_).substr(0, reason_len_);
  }
  int http_minor() const { return http_minor_; }
  bool keep_alive() const { return keep_alive_; }  // valid once complete

  // Header names and values in wire order (trailers of a chunked body follow the headers);
  // repeated fields such as Set-Cookie are separate entries. Values are OWS-trimmed. The
  // views stay valid until reset().
  size_t header_count() const { return kept_head_ ? 0 : headers_.size(); }
  std::pair<std::string_view, std::string_view> header_at(size_t i) const;
  std::string_view header_name(size_t i) const;
  std::string_view header(std::string_view name) const;  // case-insensitive, first, "" if none
  // The two fields the engine reads from every response, found in one walk over the
  // names (by length first) the first time either is asked for.
  std::string_view content_type() const;
  bool has_set_cookie() const;

  std::string_view body() const { return body_; }
  size_t body_bytes() const { return body_bytes_; }
  size_t wire_bytes() const { return wire_bytes_; }  // the whole response as received
  const std::string& error() const { return error_; }

  // Whether this response's head took the one-pass path rather than http_parser. Nothing
  // else tells them apart; tests and benchmarks check that the usual response does.
  bool head_parsed_in_one_pass() const { return one_pass_head_; }
  // Whether it was the previous response's head again, its parse taken over (one pass too).
  bool head_same_as_previous() const { return head_reused_; }

 private:
  struct Callbacks;
  friend struct Callbacks;

  struct HeaderSpan {
    uint32_t name_offset, name_length, value_offset, value_length;
  };
  enum class Phase { awaiting, head, body, trailers, complete, failed };
  enum class LastData { none, field, value };

  void clear_message();
  // The fast path for the usual response (see response_parser.cpp): a whole head in one
  // buffer, parsed in one pass; false leaves everything to http_parser.
  bool parse_whole_head(const char* data, size_t len, size_t* head_len);
  // The head at `data` is byte for byte the one reset() kept: its length, else 0.
  size_t kept_head_length(const char* data, size_t len) const;
  Result take_known_length_body(const char* data, size_t len, size_t* consumed);
  bool status_prefix_ok(const char* data, size_t len);
  bool head_too_large(const char* at, size_t len) const;
  std::string head_too_large_message() const;
  std::string describe_parse_error(http_errno status) const;
  void forget_prefixed_transfer_encoding(http_parser* parser) const;
  int fail_head_too_large();
  int fail_body_too_large();
  int fail(std::string message);  // records the error; returns what stops http_parser
  Result fail_result(std::string message);

  ParseLimits limits_;
  http_parser parser_{};
  bool head_request_ = false;
  bool store_body_ = true;

  Phase phase_ = Phase::awaiting;
  LastData last_data_ = LastData::none;
  int status_ = 0;
  int http_minor_ = 0;
  bool keep_alive_ = false;

  std::string head_;  // reason phrase, then header names and values back to back
  uint32_t reason_len_ = 0;
  uint32_t trailers_offset_ = 0;  // where trailer bytes start in head_
  std::vector<HeaderSpan> headers_;
  // Filled by known_fields(): the Content-Type index (-1: none) and whether a Set-Cookie came.
  mutable bool known_fields_done_ = false;
  mutable bool has_set_cookie_ = false;
  mutable int content_type_index_ = -1;
  void known_fields() const;
  std::string body_;
  size_t body_bytes_ = 0;
  size_t wire_bytes_ = 0;
  bool one_pass_head_ = false;
  // The one-pass head of the last response, kept by reset() (kept_head_) while the next
  // one is awaited: status_ is 0 and the headers are hidden meanwhile. What it takes to
  // compare and take it over: the status line up to the reason phrase, which head_ does
  // not hold, and what the fields said.
  bool kept_head_ = false;
  bool head_reused_ = false;
  uint8_t status_line_len_ = 0;  // "HTTP/1.1 200 " (or without the space before an empty reason)
  char status_line_[13] = {};
  int kept_status_ = 0;
  bool kept_keep_alive_ = false;
  uint64_t head_body_length_ = 0;  // the Content-Length, 0 when the response has no body
  bool fast_body_ = false;           // the head took the fast path; body_left_ bytes are due
  uint64_t body_left_ = 0;
  const char* feed_data_ = nullptr;  // start of the bytes being fed, to locate callbacks
  size_t feed_length_ = 0;           // and how many they are
  bool head_ended_ = false;          // http_parser paused at the last byte of a head
  uint8_t prefix_matched_ = 0;       // bytes of "HTTP/" seen at the start
  std::string error_;
};

}  // namespace bm::http
