// read_har (bench-record --from-har) and parse_iso8601_us. Never throws; a refused file
// gets one line naming it; every exchange read has a method and a URL.
#include "record/har_import.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "har: %s\n", what);
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (size <= 40) (void)bm::record::parse_iso8601_us(input);
  std::string error;
  std::optional<std::vector<bm::record::RecordedExchange>> exchanges;
  try {
    exchanges = bm::record::read_har(input, "fuzz.har", &error);
  } catch (const std::exception& e) {
    fprintf(stderr, "har: read_har threw: %s\n", e.what());
    abort();
  }
  if (!exchanges) {
    check(error.starts_with("fuzz.har"), "a refused file's message does not name it");
    check(error.find('\n') == std::string::npos, "a refused file's message is not one line");
    return 0;
  }
  for (const auto& exchange : *exchanges) {
    check(!exchange.method.empty(), "an exchange without a method");
    check(!exchange.url.empty(), "an exchange without a URL");
  }
  return 0;
}
