#pragma once
// A recording made into a test a user can read and edit: test_Name.lua (one request per
// line, in the style of docs/lua-api.md) and Name.conf ([main] url, so the test can be
// aimed elsewhere). The rules, from docs/recording.md:
//   - requests to hosts other than the first page's are left out (--include-host keeps them);
//   - page resources (images, CSS, scripts, fonts) are left to the engine's resource
//     fetching, unless all_requests;
//   - a redirect's follow-up request is left out: the engine follows redirects;
//   - a pause of think_threshold_s or more before a page becomes vu:sleep();
//   - form bodies become params lists, JSON and other bodies a string with content_type;
//   - a value that a response sent and a later request echoes (a CSRF or login token)
//     becomes r:extract(...) of that response, with a comment;
//   - a form with a password gets a comment on where to plug test data.
#include <string>
#include <vector>

#include "record/recording.hpp"

namespace bm::record {

struct ScenarioOptions {
  std::string name;                        // "Shop": test_Shop.lua, Shop.conf, function test_Shop
  bool all_requests = false;               // keep resources as requests of their own
  std::vector<std::string> include_hosts;  // more hosts to keep ("cdn.example.com" or "host:port")
  double think_threshold_s = 0.5;
  std::string source;                      // "bench-record on 2026-12-06" for the header comment
};

struct Scenario {
  std::string lua;
  std::string conf;
  int pages = 0;            // requests written
  int resources_left = 0;   // left to resource fetching
  int redirects_folded = 0;
  int other_hosts_left = 0;
  int tokens = 0;           // values made into extract()
  std::vector<std::string> hosts_left;  // the hosts left out, for the summary line
};

// nullopt-free: an empty recording gives a test with a comment saying so.
Scenario write_scenario(const std::vector<RecordedExchange>& exchanges, const ScenarioOptions& options);

// A Lua string literal for any bytes ("..." with escapes; long text stays one line).
std::string lua_quote(std::string_view text);

}  // namespace bm::record
