#include "record/har_import.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bm::record {

namespace {

using nlohmann::json;

struct HarError {
  std::string message;
};

const json& member(const json& object, const char* key, const std::string& path) {
  if (!object.is_object() || !object.contains(key)) throw HarError{fmt::format("{}: no {}", path, key)};
  return object.at(key);
}

std::string string_member(const json& object, const char* key, const std::string& path) {
  const json& value = member(object, key, path);
  if (!value.is_string()) throw HarError{fmt::format("{}.{}: not a string", path, key)};
  return value.get<std::string>();
}

std::string optional_string(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

HeaderList headers_of(const json& message, const std::string& path) {
  HeaderList headers;
  const auto it = message.find("headers");
  if (it == message.end()) return headers;
  if (!it->is_array()) throw HarError{path + ".headers: not an array"};
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& header = (*it)[i];
    const std::string where = fmt::format("{}.headers[{}]", path, i);
    std::string name = string_member(header, "name", where);
    // HTTP/2 pseudo-headers (":authority", ...) are not headers of an HTTP/1.1 request.
    if (name.starts_with(':')) continue;
    headers.emplace_back(std::move(name), string_member(header, "value", where));
  }
  return headers;
}

int digits(std::string_view text, std::size_t at, std::size_t count) {
  int value = 0;
  if (at + count > text.size()) return -1;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

std::optional<int64_t> parse_iso8601_us(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  const int year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
  const int hour = digits(text, 11, 2), minute = digits(text, 14, 2), second = digits(text, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  std::size_t at = 19;
  int64_t micros = 0;
  if (at < text.size() && text[at] == '.') {
    int64_t scale = 100000;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
      micros += (text[at] - '0') * scale;
      scale /= 10;
    }
  }
  int64_t offset_s = 0;
  if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int oh = digits(text, at + 1, 2);
    const std::size_t colon = at + 3 < text.size() && text[at + 3] == ':' ? 1 : 0;
    const int om = digits(text, at + 3 + colon, 2);
    if (oh < 0 || om < 0) return std::nullopt;
    offset_s = (text[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    at += 5 + colon;
  } else if (at < text.size() && text[at] == 'Z') {
    ++at;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                            std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return std::nullopt;  // 30 February
  const sys_days days = date;
  const int64_t seconds = days.time_since_epoch().count() * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return seconds * 1'000'000 + micros;
}

std::optional<std::vector<RecordedExchange>> read_har(std::string_view text, const std::string& name,
                                                      std::string* error) {
  const json document = json::parse(text, nullptr, false);
  if (document.is_discarded()) {
    *error = fmt::format("{}: not JSON (a HAR file is a browser's \"Save all as HAR\" export)", name);
    return std::nullopt;
  }
  std::vector<RecordedExchange> exchanges;
  try {
    const json& log = member(document, "log", "the file");
    const json& entries = member(log, "entries", "log");
    if (!entries.is_array()) throw HarError{"log.entries: not an array"};
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const json& entry = entries[i];
      const std::string path = fmt::format("log.entries[{}]", i);
      const json& request = member(entry, "request", path);
      const json& response = member(entry, "response", path);
      RecordedExchange x;
      x.method = string_member(request, "method", path + ".request");
      x.url = string_member(request, "url", path + ".request");
      x.request_headers = headers_of(request, path + ".request");
      if (const auto post = request.find("postData"); post != request.end() && post->is_object()) {
        x.request_body = optional_string(*post, "text");
        if (x.request_body.empty()) {
          // Firefox may give only the decoded fields.
          if (const auto params = post->find("params"); params != post->end() && params->is_array()) {
            // HAR's params are as they were sent (still encoded): joined back into the body.
            for (const json& p : *params) {
              if (!x.request_body.empty()) x.request_body += '&';
              x.request_body += optional_string(p, "name") + "=" + optional_string(p, "value");
            }
          }
        }
        if (header_value(x.request_headers, "content-type").empty()) {
          const std::string type = optional_string(*post, "mimeType");
          if (!type.empty()) x.request_headers.emplace_back("Content-Type", type);
        }
      }
      const json& status = member(response, "status", path + ".response");
      if (!status.is_number_integer()) throw HarError{path + ".response.status: not a number"};
      x.status = status.get<int>();
      x.response_headers = headers_of(response, path + ".response");
      if (const auto content = response.find("content"); content != response.end() && content->is_object()) {
        const std::string type = optional_string(*content, "mimeType");
        if (is_text_type(type) && optional_string(*content, "encoding").empty()) {
          x.response_body = optional_string(*content, "text");
          if (x.response_body.size() > kKeptBody) x.response_body.resize(kKeptBody);
        }
        if (header_value(x.response_headers, "content-type").empty() && !type.empty()) {
          x.response_headers.emplace_back("Content-Type", type);
        }
      }
      x.resource_type = optional_string(entry, "_resourceType");
      const std::string started = string_member(entry, "startedDateTime", path);
      const std::optional<int64_t> start = parse_iso8601_us(started);
      if (!start) throw HarError{fmt::format("{}.startedDateTime: '{}' is not an ISO 8601 time", path, started)};
      x.start_us = *start;
      double time_ms = 0;
      if (const auto time = entry.find("time"); time != entry.end() && time->is_number()) time_ms = time->get<double>();
      x.end_us = x.start_us + static_cast<int64_t>(std::max(0.0, time_ms) * 1000);
      exchanges.push_back(std::move(x));
    }
  } catch (const HarError& e) {
    *error = fmt::format("{}: {}", name, e.message);
    return std::nullopt;
  }
  std::stable_sort(exchanges.begin(), exchanges.end(),
                   [](const RecordedExchange& a, const RecordedExchange& b) { return a.start_us < b.start_us; });
  return exchanges;
}

}  // namespace bm::record
