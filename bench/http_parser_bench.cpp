// Cost of the HTTP/1.1 hot path per request: parsing a typical 1 KiB nginx response and
// writing a GET. The Boost.Beast parser runs on the same bytes, as the alternative that
// docs/http.md weighs http_parser against.

#include "http/request_writer.hpp"
#include "http/response_parser.hpp"

#include <benchmark/benchmark.h>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace http = bm::http;
namespace beast = boost::beast;

// What nginx sends for a static 1 KiB file: 238 bytes of head (8 fields), 786 of body.
std::string nginx_response() {
  const std::string head_without_length =
      "HTTP/1.1 200 OK\r\n"
      "Server: nginx/1.22.1\r\n"
      "Date: Mon, 06 May 2024 10:00:00 GMT\r\n"
      "Content-Type: text/html\r\n"
      "Last-Modified: Mon, 06 May 2024 09:00:00 GMT\r\n"
      "Connection: keep-alive\r\n"
      "ETag: \"6638a4d0-312\"\r\n"
      "Accept-Ranges: bytes\r\n";
  const size_t body_size = 1024 - head_without_length.size() - std::string("Content-Length: 777\r\n\r\n").size();
  return head_without_length + "Content-Length: " + std::to_string(body_size) + "\r\n\r\n" +
         std::string(body_size, 'x');
}

const std::string kResponse = nginx_response();

void parse_with(benchmark::State& state, bool store_body) {
  http::ResponseParser parser;
  parser.set_store_body(store_body);
  for (auto _ : state) {
    parser.reset(false);
    size_t consumed = 0;
    if (parser.feed(kResponse.data(), kResponse.size(), &consumed) != http::ResponseParser::Result::complete) {
      state.SkipWithError(parser.error().c_str());
      break;
    }
    benchmark::DoNotOptimize(parser.header("Content-Type"));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kResponse.size()));
}

void BM_ResponseParser(benchmark::State& state) { parse_with(state, true); }
BENCHMARK(BM_ResponseParser);

void BM_ResponseParserCountOnly(benchmark::State& state) { parse_with(state, false); }
BENCHMARK(BM_ResponseParserCountOnly);

// A chunked response (the same head and body, in two chunks): the head goes to
// http_parser, not the one-pass path, as every chunked response's does.
std::string chunked_response() {
  const size_t head_end = kResponse.find("\r\n\r\n");
  std::string head = kResponse.substr(0, head_end + 2);
  const size_t length_at = head.find("Content-Length: ");
  head.erase(length_at, head.find("\r\n", length_at) + 2 - length_at);
  const std::string body = kResponse.substr(head_end + 4);
  const size_t half = body.size() / 2;
  char sizes[64];
  std::snprintf(sizes, sizeof sizes, "%zx", half);
  std::string out = head + "Transfer-Encoding: chunked\r\n\r\n" + sizes + "\r\n" + body.substr(0, half) + "\r\n";
  std::snprintf(sizes, sizeof sizes, "%zx", body.size() - half);
  return out + sizes + "\r\n" + body.substr(half) + "\r\n0\r\n\r\n";
}

const std::string kChunkedResponse = chunked_response();

void BM_ResponseParserChunked(benchmark::State& state) {
  http::ResponseParser parser;
  for (auto _ : state) {
    parser.reset(false);
    size_t consumed = 0;
    if (parser.feed(kChunkedResponse.data(), kChunkedResponse.size(), &consumed) !=
        http::ResponseParser::Result::complete) {
      state.SkipWithError(parser.error().c_str());
      break;
    }
    benchmark::DoNotOptimize(parser.header("Content-Type"));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kChunkedResponse.size()));
}
BENCHMARK(BM_ResponseParserChunked);

// http_parser with no callbacks at all: the floor under ResponseParser.
void BM_RawHttpParser(benchmark::State& state) {
  http_parser_settings settings{};
  http_parser parser;
  for (auto _ : state) {
    http_parser_init(&parser, HTTP_RESPONSE);
    benchmark::DoNotOptimize(http_parser_execute(&parser, &settings, kResponse.data(), kResponse.size()));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kResponse.size()));
}
BENCHMARK(BM_RawHttpParser);

// Beast as it is normally used: one response_parser<string_body> per message.
void BM_BeastStringBody(benchmark::State& state) {
  for (auto _ : state) {
    beast::http::response_parser<beast::http::string_body> parser;
    parser.eager(true);
    beast::error_code ec;
    parser.put(boost::asio::buffer(kResponse), ec);
    if (ec || !parser.is_done()) {
      state.SkipWithError(ec.message().c_str());
      break;
    }
    benchmark::DoNotOptimize(parser.get()[beast::http::field::content_type]);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kResponse.size()));
}
BENCHMARK(BM_BeastStringBody);

// Beast's basic_parser with callbacks that keep nothing (the floor under any Beast use),
// or that copy the head the way ResponseParser does (what a Beast-based one would cost).
template <bool CopyHead>
class BeastParser : public beast::http::basic_parser<false> {
 public:
  size_t body_bytes = 0;
  std::string head;
  std::vector<std::pair<uint32_t, uint32_t>> fields;

 private:
  void on_request_impl(beast::http::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int, beast::string_view reason, int, beast::error_code&) override {
    if (CopyHead) head.append(reason.data(), reason.size());
  }
  void on_field_impl(beast::http::field, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    if (!CopyHead) return;
    fields.emplace_back(uint32_t(head.size()), uint32_t(name.size()));
    head.append(name.data(), name.size());
    fields.emplace_back(uint32_t(head.size()), uint32_t(value.size()));
    head.append(value.data(), value.size());
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    body_bytes += body.size();
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
    body_bytes += body.size();
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}
};

template <bool CopyHead>
void BM_BeastBasicParser(benchmark::State& state) {
  std::string head;  // kept across responses, as ResponseParser keeps its buffers
  std::vector<std::pair<uint32_t, uint32_t>> fields;
  head.reserve(1024);
  fields.reserve(32);
  for (auto _ : state) {
    BeastParser<CopyHead> parser;
    parser.head.swap(head);
    parser.fields.swap(fields);
    parser.head.clear();
    parser.fields.clear();
    parser.eager(true);
    beast::error_code ec;
    parser.put(boost::asio::buffer(kResponse), ec);
    if (ec || !parser.is_done()) {
      state.SkipWithError(ec.message().c_str());
      break;
    }
    benchmark::DoNotOptimize(parser.body_bytes);
    head.swap(parser.head);
    fields.swap(parser.fields);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kResponse.size()));
}
BENCHMARK(BM_BeastBasicParser<false>)->Name("BM_BeastBasicParser");
BENCHMARK(BM_BeastBasicParser<true>)->Name("BM_BeastBasicParserCopyingHead");

void BM_AppendGetRequest(benchmark::State& state) {
  const http::Url url = http::parse_url("http://127.0.0.1:8080/static/index.html?v=1", nullptr).value();
  const http::Header headers[] = {{"User-Agent", "benchmaster/0.1"},
                                  {"Accept", "*/*"},
                                  {"Accept-Encoding", "identity"},
                                  {"Cookie", "session=0123456789abcdef0123456789abcdef"}};
  std::string out;
  out.reserve(1024);
  for (auto _ : state) {
    out.clear();
    http::append_request(out, "GET", url, headers, "");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(out.size()));
}
BENCHMARK(BM_AppendGetRequest);

// One response parsed the way the benchmark loop parses it; out of line so that callgrind
// shows it as a function of its own.
[[gnu::noinline]] bool parse_once(http::ResponseParser& parser) {
  parser.reset(false);
  size_t consumed = 0;
  if (parser.feed(kResponse.data(), kResponse.size(), &consumed) != http::ResponseParser::Result::complete) {
    return false;
  }
  benchmark::DoNotOptimize(parser.header("Content-Type"));
  return parser.head_parsed_in_one_pass();
}

// `--parse-loop N` parses the response N times and exits, for counting instructions:
//   valgrind --tool=callgrind --toggle-collect='*ResponseParser::feed*' <bench> --parse-loop N
// Run it for two values of N; the difference in instructions divided by the difference
// in N is the cost of one response, without start-up.
int run_parse_loop(long iterations) {
  http::ResponseParser parser;
  for (long i = 0; i < iterations; ++i) {
    if (!parse_once(parser)) {
      std::fprintf(stderr, "not parsed in one pass: %s\n", parser.error().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--parse-loop") {
    return run_parse_loop(std::strtol(argv[2], nullptr, 10));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
