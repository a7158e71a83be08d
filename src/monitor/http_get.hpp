#pragma once
// A plain HTTP GET with a deadline over the whole exchange and a cap on the answer's
// size: what the collector needs to ask a monitor or a node_exporter for its figures.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace bm::monitor {

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// `url`: http://host[:port]/path. nullopt with one line in *error when the URL is not
// http, the host does not resolve or answer in time, or the answer is malformed or
// larger than `limit` bytes.
std::optional<HttpAnswer> http_get(const std::string& url, std::chrono::milliseconds timeout, std::size_t limit,
                                   std::string* error);

}  // namespace bm::monitor
