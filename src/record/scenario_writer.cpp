#include "record/scenario_writer.hpp"

#include <strings.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "http/url.hpp"
#include "service/form.hpp"

namespace bm::record {

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool icontains(std::string_view text, std::string_view part) {
  if (part.size() > text.size()) return false;
  for (std::size_t i = 0; i + part.size() <= text.size(); ++i) {
    if (iequals(text.substr(i, part.size()), part)) return true;
  }
  return false;
}

std::string base_of(const http::Url& url) { return url.scheme + "://" + url.host_header(); }

std::string media_type(std::string_view content_type) {
  std::string type(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type;
}

// An image, stylesheet, script, font or media file: what a page's resource fetching gets.
bool is_resource(const RecordedExchange& x, const http::Url& url) {
  if (x.method != "GET") return false;
  if (!x.resource_type.empty()) {
    static constexpr std::array<std::string_view, 7> kResources{"image", "stylesheet", "script", "font",
                                                                "media", "manifest", "texttrack"};
    return std::find(kResources.begin(), kResources.end(), x.resource_type) != kResources.end();
  }
  const std::string type = media_type(header_value(x.response_headers, "content-type"));
  if (type.starts_with("image/") || type == "text/css" || type.find("javascript") != std::string::npos ||
      type.starts_with("font/") || type.starts_with("application/font") || type.starts_with("audio/") ||
      type.starts_with("video/")) {
    return true;
  }
  const std::string_view path = url.path();
  static constexpr std::array<std::string_view, 14> kExtensions{".css", ".js",   ".mjs",  ".png", ".jpg",
                                                                ".jpeg", ".gif", ".svg",  ".ico", ".webp",
                                                                ".woff", ".woff2", ".ttf", ".map"};
  for (std::string_view extension : kExtensions) {
    if (path.size() > extension.size() && iequals(path.substr(path.size() - extension.size()), extension)) return true;
  }
  return false;
}

// Request headers a test sends on purpose; the engine makes the rest (host, cookies,
// lengths, encodings) and a browser's own (sec-*, accept-language, ...) do not matter.
bool header_matters(std::string_view name, std::string_view value) {
  static constexpr std::array<std::string_view, 24> kLeftOut{
      "host",          "connection",      "proxy-connection",   "keep-alive",        "content-length",
      "transfer-encoding", "te",          "upgrade",            "accept-encoding",   "accept-language",
      "user-agent",    "cookie",          "content-type",       "upgrade-insecure-requests", "cache-control",
      "pragma",        "if-none-match",   "if-modified-since",  "dnt",               "priority",
      "referer",       "origin",          "proxy-authorization", "purpose"};
  for (std::string_view left_out : kLeftOut) {
    if (iequals(name, left_out)) return false;
  }
  if (name.size() >= 4 && iequals(name.substr(0, 4), "sec-")) return false;
  if (iequals(name, "accept")) return value.find("json") != std::string_view::npos;  // an API's accept, not a browser's
  return true;
}

bool is_password_field(std::string_view name) {
  return icontains(name, "pass") || iequals(name, "pwd");
}

// The decoded fields of a form body or query string; nullopt when it is not one.
std::optional<Pairs> form_fields(std::string_view encoded) {
  if (encoded.empty()) return std::nullopt;
  std::optional<service::Params> params = service::Params::parse(encoded);
  if (!params) return std::nullopt;
  return params->items();
}

// A value worth following: long enough and varied enough not to be an ordinary word.
bool looks_like_token(std::string_view value) {
  if (value.size() < 8 || value.size() > 512) return false;
  bool digit = false, alpha = false;
  for (unsigned char c : value) {
    if (std::isdigit(c)) digit = true;
    if (std::isalpha(c)) alpha = true;
    if (c < 0x21 || c == '"' || c == '\'' || c == '<' || c == '>') return false;
  }
  return digit && alpha;
}

struct Extraction {
  std::string variable;
  std::string before, after;
  std::string value;  // as recorded
};

// Where `value` sits in `body`, as r:extract(before, after) finds it: `before` is the
// shortest text ending right before the value whose first occurrence is that one.
std::optional<Extraction> find_extraction(std::string_view body, std::string_view value) {
  const std::size_t at = body.find(value);
  if (at == std::string_view::npos || at == 0 || at + value.size() >= body.size()) return std::nullopt;
  const std::string_view after = body.substr(at + value.size(), 1);
  if (value.find(after) != std::string_view::npos) return std::nullopt;
  // From the tag or attribute the value sits in (the last '<' within 80 bytes), else 24
  // bytes; longer while an earlier occurrence would be found first.
  std::size_t begin = at > 24 ? at - 24 : 0;
  const std::size_t tag = body.rfind('<', at);
  if (tag != std::string_view::npos && at - tag <= 80) begin = tag;
  for (;;) {
    const std::string_view before = body.substr(begin, at - begin);
    if (before.find('\n') == std::string_view::npos && !before.empty() && body.find(before) + before.size() == at) {
      return Extraction{"", std::string(before), std::string(after), std::string(value)};
    }
    if (begin == 0 || at - begin >= 80) break;
    begin -= 1;
  }
  return std::nullopt;
}

struct Page {
  const RecordedExchange* exchange = nullptr;
  http::Url url;
  double sleep_before_s = 0;
  bool as_query_params = false;  // a GET whose query is written as params
  Pairs fields;                  // form or query fields
  bool form_body = false;
  bool login = false;
  std::string response_variable;             // set when a later page uses a value of its response
  std::vector<Extraction> extractions;       // made right after this page
  std::map<std::size_t, std::string> field_variables;  // field index -> variable holding it
};

std::string indent_lines(const std::vector<std::string>& items, const std::string& indent) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += indent + items[i] + (i + 1 < items.size() ? ",\n" : "\n");
  return out;
}

std::string format_seconds(double seconds) {
  std::string text = fmt::format("{:.1f}", seconds);
  return text;
}

}  // namespace

std::string lua_quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          // Three digits always: a digit that follows cannot join the escape.
          out += fmt::format("\\{:03d}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

Scenario write_scenario(const std::vector<RecordedExchange>& exchanges, const ScenarioOptions& options) {
  Scenario scenario;
  std::optional<http::Url> main;
  std::vector<Page> pages;
  std::optional<std::string> redirect_target;  // the URL a redirect sent the browser to
  int64_t last_end_us = 0;
  std::map<std::string, int> hosts_left;

  const auto host_kept = [&](const http::Url& url) {
    if (main && url.scheme == main->scheme && url.host == main->host && url.port == main->port) return true;
    for (const std::string& host : options.include_hosts) {
      if (host == url.host || host == url.host_header() || host == base_of(url)) return true;
    }
    return false;
  };

  for (const RecordedExchange& x : exchanges) {
    std::optional<http::Url> url = http::parse_url(x.url, nullptr);
    if (!url) continue;
    const bool resource = is_resource(x, *url);
    if (!main && !resource) main = *url;
    const int64_t gap_start = last_end_us;
    last_end_us = std::max(last_end_us, x.end_us);
    if (!main || !host_kept(*url)) {
      ++scenario.other_hosts_left;
      ++hosts_left[url->host_header()];
      continue;
    }
    if (redirect_target && *redirect_target == url->str()) {
      // The browser followed a redirect; so will the engine.
      ++scenario.redirects_folded;
      redirect_target.reset();
      if (x.status >= 300 && x.status < 400) {
        if (auto next = http::resolve_url(*url, header_value(x.response_headers, "location"), nullptr)) {
          redirect_target = next->str();
        }
      }
      continue;
    }
    if (resource && !options.all_requests) {
      // A page's resources may load between a redirect and the request that follows it.
      ++scenario.resources_left;
      continue;
    }
    redirect_target.reset();
    Page page;
    page.exchange = &x;
    page.url = *url;
    if (gap_start > 0 && x.start_us - gap_start >= static_cast<int64_t>(options.think_threshold_s * 1e6)) {
      page.sleep_before_s = static_cast<double>(x.start_us - gap_start) / 1e6;
    }
    const std::string type = media_type(header_value(x.request_headers, "content-type"));
    if (!x.request_body.empty() && type == "application/x-www-form-urlencoded") {
      if (auto fields = form_fields(x.request_body)) {
        page.fields = std::move(*fields);
        page.form_body = true;
      }
    } else if (x.request_body.empty() && (x.method == "GET" || x.method == "HEAD") && !url->query().empty()) {
      if (auto fields = form_fields(url->query())) {
        page.fields = std::move(*fields);
        page.as_query_params = true;
      }
    }
    for (const auto& [name, value] : page.fields) page.login = page.login || is_password_field(name);
    if (x.status >= 300 && x.status < 400) {
      if (auto next = http::resolve_url(*url, header_value(x.response_headers, "location"), nullptr)) {
        redirect_target = next->str();
      }
    }
    pages.push_back(std::move(page));
  }

  // Values a response sent and a later request echoes: extract them from that response.
  for (std::size_t i = 0; i < pages.size(); ++i) {
    for (std::size_t f = 0; f < pages[i].fields.size(); ++f) {
      const std::string& value = pages[i].fields[f].second;
      if (!looks_like_token(value)) continue;
      for (std::size_t j = i; j-- > 0;) {
        Page& source = pages[j];
        // A value extracted already from this response is reused.
        auto known = std::find_if(source.extractions.begin(), source.extractions.end(),
                                  [&](const Extraction& e) { return e.value == value; });
        if (known != source.extractions.end()) {
          pages[i].field_variables[f] = known->variable;
          break;
        }
        std::optional<Extraction> found = find_extraction(source.exchange->response_body, value);
        if (!found) continue;
        std::string name = pages[i].fields[f].first;
        std::string variable;
        for (char c : name) variable += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
        if (variable.empty() || std::isdigit(static_cast<unsigned char>(variable[0]))) variable = "value_" + variable;
        variable += fmt::format("_{}", ++scenario.tokens);
        found->variable = variable;
        if (source.response_variable.empty()) source.response_variable = fmt::format("r{}", j + 1);
        source.extractions.push_back(*found);
        pages[i].field_variables[f] = variable;
        break;
      }
    }
  }

  // ---- test_Name.lua
  const std::string function = "test_" + options.name;
  std::string& lua = scenario.lua;
  lua += fmt::format("-- test_{}.lua: {}.\n", options.name, options.source.empty() ? "recorded" : options.source);
  lua += fmt::format("-- {} request{} recorded", pages.size(), pages.size() == 1 ? "" : "s");
  std::vector<std::string> left;
  if (scenario.resources_left > 0) {
    left.push_back(fmt::format("{} page resource{} left to the engine's resource fetching",
                               scenario.resources_left, scenario.resources_left == 1 ? "" : "s"));
  }
  if (scenario.redirects_folded > 0) {
    left.push_back(fmt::format("{} redirect{} left to the engine to follow", scenario.redirects_folded,
                               scenario.redirects_folded == 1 ? "" : "s"));
  }
  if (scenario.other_hosts_left > 0) {
    std::string hosts;
    for (const auto& [host, count] : hosts_left) {
      hosts += (hosts.empty() ? "" : ", ") + host;
      scenario.hosts_left.push_back(host);
    }
    left.push_back(fmt::format("{} request{} to other hosts left out ({}; --include-host keeps them)",
                               scenario.other_hosts_left, scenario.other_hosts_left == 1 ? "" : "s", hosts));
  }
  for (const std::string& item : left) lua += ";\n-- " + item;
  lua += ".\n";
  lua += fmt::format("-- Run it once: bench-test test_{0}.lua    Bench it: bench-run test_{0}.lua\n"
                     "-- The server is [main] url in {0}.conf (or -u URL); the Lua API is in docs/lua-api.md.\n\n",
                     options.name);
  lua += fmt::format("function {}(vu)\n", function);
  if (pages.empty()) {
    lua += "  -- Nothing was recorded: browse through the proxy, or check --include-host.\n";
  } else {
    lua += "  local base = conf_get(\"main\", \"url\")\n";
  }
  const std::string main_base = main ? base_of(*main) : std::string();
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const Page& page = pages[i];
    const RecordedExchange& x = *page.exchange;
    lua += "\n";
    if (page.sleep_before_s > 0) {
      lua += fmt::format("  vu:sleep({})  -- the pause recorded before this page\n", format_seconds(page.sleep_before_s));
    }
    if (page.login) {
      lua += "  -- A login: every virtual user logs in with the same account here. To give each its own,\n"
             "  -- use lease_credential(\"group\") or feed(\"users\") (docs/test-data.md), or vu.id.\n";
    }
    // The URL: on the main host, base .. path; the query as params when it was a form.
    const std::string_view target = page.as_query_params ? page.url.path() : std::string_view(page.url.target);
    const std::string url = base_of(page.url) == main_base ? "base .. " + lua_quote(target)
                                                           : lua_quote(base_of(page.url) + std::string(target));
    std::vector<std::string> items;
    items.push_back("description = " + lua_quote(fmt::format("{} {}", x.method, page.url.path())));
    if (!page.fields.empty()) {
      std::vector<std::string> pairs;
      for (std::size_t f = 0; f < page.fields.size(); ++f) {
        const auto variable = page.field_variables.find(f);
        pairs.push_back(fmt::format("{{{}, {}}}", lua_quote(page.fields[f].first),
                                    variable != page.field_variables.end() ? variable->second
                                                                           : lua_quote(page.fields[f].second)));
      }
      items.push_back("params = {\n" + indent_lines(pairs, "      ") + "    }");
    } else if (!x.request_body.empty()) {
      items.push_back("body = " + lua_quote(x.request_body));
      const std::string_view type = header_value(x.request_headers, "content-type");
      if (!type.empty()) items.push_back("content_type = " + lua_quote(type));
    }
    std::vector<std::string> headers;
    for (const auto& [name, value] : x.request_headers) {
      if (header_matters(name, value)) headers.push_back(fmt::format("[{}] = {}", lua_quote(name), lua_quote(value)));
    }
    if (!headers.empty()) items.push_back("headers = {" + fmt::format("{}", fmt::join(headers, ", ")) + "}");
    static constexpr std::array<int, 6> kOkByDefault{200, 301, 302, 303, 307, 308};
    if (x.status != 0 && std::find(kOkByDefault.begin(), kOkByDefault.end(), x.status) == kOkByDefault.end()) {
      items.push_back(fmt::format("ok_codes = {{{}}}", x.status));  // the status recorded
    }
    if (options.all_requests) items.push_back("fetch_resources = false");  // every request is listed
    std::string method_call;
    static constexpr std::array<std::string_view, 7> kMethods{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"};
    if (std::find(kMethods.begin(), kMethods.end(), x.method) != kMethods.end()) {
      std::string lower = x.method;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      method_call = fmt::format("vu:{}({}, {{", lower, url);
    } else {
      method_call = fmt::format("vu:request({}, {}, {{", lua_quote(x.method), url);
    }
    const std::string assign = page.response_variable.empty() ? "" : "local " + page.response_variable + " = ";
    const bool one_line = items.size() == 1;
    if (one_line) {
      lua += fmt::format("  {}{}{}}})\n", assign, method_call, items[0]);
    } else {
      lua += fmt::format("  {}{}\n{}  }})\n", assign, method_call, indent_lines(items, "    "));
    }
    for (const Extraction& e : page.extractions) {
      lua += fmt::format("  -- {} was {} when recorded: the server sends a new one each time, so it is read\n"
                         "  -- from this response and sent back below.\n",
                         e.variable, lua_quote(e.value));
      lua += fmt::format("  local {} = {}:extract({}, {})\n", e.variable, page.response_variable, lua_quote(e.before),
                         lua_quote(e.after));
      lua += fmt::format("  if not {0} then fail(\"{0} not found in the page\") end\n", e.variable);
    }
    ++scenario.pages;
  }
  lua += "end\n";

  // ---- Name.conf
  std::string& conf = scenario.conf;
  conf += fmt::format("# {}.conf: {}.\n", options.name, options.source.empty() ? "recorded" : options.source);
  conf += fmt::format("[main]\ntitle = {}\ndescription = {}\nurl = {}\n\n", options.name,
                      options.source.empty() ? "Recorded" : options.source,
                      main_base.empty() ? "http://127.0.0.1:8080" : main_base);
  conf += fmt::format("[{}]\ndescription = The recorded journey: {} request{}\n\n", function, pages.size(),
                      pages.size() == 1 ? "" : "s");
  conf += "[ftest]\nsleep_time_min = 0\nsleep_time_max = 0\n\n";
  conf += "[bench]\ncycles = 1:5:10\nduration = 30\nstartup_delay = 0.1\nsleep_time = 1\ncycle_time = 1\n"
          "sleep_time_min = 0\nsleep_time_max = 0\n";
  return scenario;
}

}  // namespace bm::record
