// ResponseParser: the one-pass path (a whole head in one buffer) against http_parser
// (the same bytes fed one at a time, which never gives the one-pass path a whole head),
// and against splits of a size chosen by the input. Every way of feeding must give the
// same outcome: result, status, reason, headers, body, byte counts, keep-alive, error
// message. A difference, or a sanitizer report, is a finding.
//
// Input: byte 0 picks the request method (HEAD or not), whether the body is stored, the
// limits, and the size of the splits; the rest is what the server sent. Up to four
// responses are read one after another on the same connection, as the engine does.
#include "http/response_parser.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using bm::http::ParseLimits;
using bm::http::ResponseParser;
using Result = ResponseParser::Result;

namespace {

std::string summary(const ResponseParser& parser, Result result, size_t consumed) {
  std::string s;
  // An error ends the connection. Its message may differ with the split when the input
  // has two faults (a header over the limit that also holds a bad byte: fed whole,
  // http_parser meets the byte first; byte by byte, the limit is checked first), and
  // how many bytes were taken does not matter: the verdict is what must agree.
  if (result == Result::error) {
    return parser.error().starts_with("response headers larger than") ? "error: head limit\n" : "error: other\n";
  }
  s += result == Result::complete ? "complete " : "need_more ";
  s += std::to_string(parser.status()) + " [" + std::string(parser.reason()) + "] 1." +
       std::to_string(parser.http_minor()) + "\n";
  for (size_t i = 0; i < parser.header_count(); ++i) {
    const auto [name, value] = parser.header_at(i);
    s += "[" + std::string(name) + "]: [" + std::string(value) + "]\n";
    if (parser.header(name).data() == nullptr && !value.empty()) abort();  // a name it cannot find back
  }
  s += "content-type=[" + std::string(parser.content_type()) + "] set-cookie=" +
       std::to_string(parser.has_set_cookie()) + "\n";
  s += "body=[" + std::string(parser.body()) + "] bytes=" + std::to_string(parser.body_bytes()) +
       " wire=" + std::to_string(parser.wire_bytes()) + " consumed=" + std::to_string(consumed) +
       " keep_alive=" + std::to_string(parser.keep_alive()) + "\n";
  return s;
}

// piece 0: whole buffer; otherwise pieces of that many bytes.
std::string outcome(std::string_view input, bool head, bool store, ParseLimits limits, size_t piece) {
  ResponseParser parser(limits);
  parser.set_store_body(store);
  std::string out;
  size_t position = 0;
  for (int response = 0; response < 4 && position < input.size(); ++response) {
    parser.reset(head);
    parser.set_store_body(store);
    const size_t start = position;
    Result result = Result::need_more;
    while (position < input.size() && result == Result::need_more) {
      const size_t n = piece == 0 ? input.size() - position : std::min(piece, input.size() - position);
      size_t consumed = 0;
      result = parser.feed(input.data() + position, n, &consumed);
      if (consumed > n) abort();
      position += consumed;
      if (consumed == 0) break;
    }
    if (result == Result::need_more) result = parser.finish_eof();
    // A finished parser stays finished and consumes nothing more.
    size_t again = 0;
    if (position < input.size() && parser.feed(input.data() + position, input.size() - position, &again) != result) abort();
    if (again != 0) abort();
    if (result == Result::complete && store && parser.body().size() != parser.body_bytes()) abort();
    // The body limit is on what is kept: a body only counted may be any size.
    if (result == Result::complete && store && parser.body_bytes() > limits.max_body_bytes) abort();
    out += summary(parser, result, position - start);
    if (result != Result::complete) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool head = flags & 1;
  const bool store = !(flags & 2);
  ParseLimits limits;
  if (flags & 4) limits.max_header_bytes = 64 + (flags >> 5) * 16;  // 64 .. 176
  if (flags & 8) limits.max_body_bytes = 16;
  const size_t piece = 2 + ((flags >> 4) & 7) * 5;  // 2 .. 37

  const std::string whole = outcome(input, head, store, limits, 0);
  const std::string by_byte = outcome(input, head, store, limits, 1);
  const std::string split = outcome(input, head, store, limits, piece);
  // Two faults (a head over the limit that also holds a bad byte) may be met in either
  // order, depending on the split: then only the verdict, an error, must agree. A head
  // whose only fault is its size is refused for its size, whichever way it arrives.
  if (whole != by_byte || whole != split) {
    const auto only_errors = [](const std::string& outcome) {
      std::string verdicts = outcome;
      for (const std::string_view kind : {"error: head limit\n", "error: other\n"}) {
        for (size_t at = verdicts.find(kind); at != std::string::npos; at = verdicts.find(kind)) {
          verdicts.replace(at, kind.size(), "error\n");
        }
      }
      return verdicts;
    };
    const bool two_faults = outcome(input, head, store, ParseLimits{.max_body_bytes = limits.max_body_bytes}, 0)
                                .find("error: other") != std::string::npos;
    if (two_faults && only_errors(whole) == only_errors(by_byte) && only_errors(whole) == only_errors(split)) return 0;
    fprintf(stderr, "ResponseParser: the ways of feeding disagree\nwhole:\n%s\nbyte by byte:\n%s\nin pieces of %zu:\n%s\n",
            whole.c_str(), by_byte.c_str(), piece, split.c_str());
    abort();
  }
  return 0;
}
