#pragma once
// HAR 1.2 files (a browser's "Save all as HAR": Chromium's and Firefox's shapes) read as a
// recording: every entry with its request, response status and headers, text bodies,
// timing, and Chromium's _resourceType when present.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "record/recording.hpp"

namespace bm::record {

// `name` is what messages call the file. One line in *error for a file that is not JSON
// or not a HAR ("shop.har: log.entries[3].request: no url").
std::optional<std::vector<RecordedExchange>> read_har(std::string_view text, const std::string& name,
                                                      std::string* error);

// "2026-12-06T09:15:02.123Z", "...+01:00": epoch µs; nullopt when malformed.
std::optional<int64_t> parse_iso8601_us(std::string_view text);

}  // namespace bm::record
