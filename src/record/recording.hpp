#pragma once
// What a recording is made of, whatever made it (the recording proxy, a HAR file): the
// exchanges in the order they started. The scenario writer turns them into a test.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bm::record {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct RecordedExchange {
  std::string method;
  std::string url;  // absolute: http://host[:port]/path?query
  HeaderList request_headers;
  std::string request_body;
  int status = 0;   // 0: no answer
  HeaderList response_headers;
  std::string response_body;  // text bodies only (HTML, JSON, ...), cut at kKeptBody
  std::string resource_type;  // what the browser said it was ("document", "image", ...), when it said
  int64_t start_us = 0;       // epoch µs
  int64_t end_us = 0;
};

// Response bodies are kept only to find values a later request echoes (form tokens).
inline constexpr std::size_t kKeptBody = 1 << 20;

// The first value of a header, case-insensitive; empty when absent.
std::string_view header_value(const HeaderList& headers, std::string_view name);
// A text body worth keeping (HTML, JSON, XML, plain text, JavaScript), by Content-Type.
bool is_text_type(std::string_view content_type);

}  // namespace bm::record
