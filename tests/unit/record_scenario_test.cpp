// The scenario writer's rules, HAR reading and the Lua strings it writes.
#include <gtest/gtest.h>

#include <lua.hpp>

#include "record/har_import.hpp"
#include "record/scenario_writer.hpp"

namespace bm::record {
namespace {

RecordedExchange exchange(std::string method, std::string url, int status, int64_t start_ms) {
  RecordedExchange x;
  x.method = std::move(method);
  x.url = std::move(url);
  x.status = status;
  x.start_us = start_ms * 1000;
  x.end_us = x.start_us + 5000;
  return x;
}

// The text compiles as Lua and the literal reads back as the bytes.
std::string lua_round_trip(const std::string& literal) {
  lua_State* L = luaL_newstate();
  std::string out = "<did not compile>";
  if (luaL_loadstring(L, ("return " + literal).c_str()) == LUA_OK && lua_pcall(L, 0, 1, 0) == LUA_OK) {
    size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    out.assign(s, n);
  }
  lua_close(L);
  return out;
}

TEST(RecordScenario, LuaStringsCarryAnyBytes) {
  for (const std::string& text : {std::string("plain"), std::string("quote \" and \\ back"), std::string("a\nb\r\tc"),
                                 std::string("nul\0" "1 then digit", 13), std::string("\x01\x7f\xff utf-8 é")}) {
    EXPECT_EQ(lua_round_trip(lua_quote(text)), text);
  }
}

TEST(RecordScenario, Iso8601Times) {
  EXPECT_EQ(parse_iso8601_us("1970-01-01T00:00:01.5Z"), 1'500'000);
  EXPECT_EQ(parse_iso8601_us("2026-12-06T10:15:02.123+01:00"), parse_iso8601_us("2026-12-06T09:15:02.123Z"));
  EXPECT_EQ(parse_iso8601_us("2026-12-06T09:15:02.123456-00:30"), parse_iso8601_us("2026-12-06T09:45:02.123456Z"));
  EXPECT_FALSE(parse_iso8601_us("2026-13-06T09:15:02Z"));
  EXPECT_FALSE(parse_iso8601_us("2026-02-30T09:15:02Z"));
  EXPECT_FALSE(parse_iso8601_us("yesterday"));
  EXPECT_FALSE(parse_iso8601_us("2026-12-06T09:15:02"));
}

TEST(RecordScenario, RedirectsResourcesAndOtherHostsAreLeftOut) {
  std::vector<RecordedExchange> x;
  x.push_back(exchange("GET", "http://shop.test:8080/", 200, 0));
  x.push_back(exchange("GET", "http://shop.test:8080/static/site.css", 200, 10));
  x.push_back(exchange("GET", "http://cdn.test/lib.js", 200, 12));
  x.push_back(exchange("GET", "http://tracker.test/ping?x=1", 204, 14));
  x.push_back(exchange("POST", "http://shop.test:8080/login", 303, 3000));
  x.back().request_headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  x.back().request_body = "user=bob&password=pw";
  x.back().response_headers = {{"Location", "/account"}};
  // The login page's favicon loads between the redirect and the request that follows it.
  x.push_back(exchange("GET", "http://shop.test:8080/favicon.ico", 404, 3005));
  x.push_back(exchange("GET", "http://shop.test:8080/account", 200, 3010));
  x.push_back(exchange("GET", "http://shop.test:8080/missing", 404, 3100));
  ScenarioOptions options;
  options.name = "Shop";
  const Scenario s = write_scenario(x, options);
  EXPECT_EQ(s.pages, 3);
  EXPECT_EQ(s.resources_left, 2);
  EXPECT_EQ(s.other_hosts_left, 2);
  EXPECT_EQ(s.redirects_folded, 1);
  EXPECT_EQ(s.hosts_left, (std::vector<std::string>{"cdn.test", "tracker.test"}));
  EXPECT_NE(s.lua.find("vu:sleep(3.0)"), std::string::npos) << s.lua;
  EXPECT_NE(s.lua.find("{\"password\", \"pw\"}"), std::string::npos);
  EXPECT_NE(s.lua.find("-- A login:"), std::string::npos);
  EXPECT_NE(s.lua.find("ok_codes = {404}"), std::string::npos) << "a recorded 404 is what the page does";
  EXPECT_EQ(s.lua.find("/account"), std::string::npos);
  EXPECT_NE(s.conf.find("url = http://shop.test:8080\n"), std::string::npos);
  // It compiles.
  lua_State* L = luaL_newstate();
  EXPECT_EQ(luaL_loadstring(L, s.lua.c_str()), LUA_OK) << lua_tostring(L, -1);
  lua_close(L);
}

TEST(RecordScenario, AnEchoedValueIsExtractedFromTheResponseThatSentIt) {
  std::vector<RecordedExchange> x;
  x.push_back(exchange("GET", "http://shop.test/form", 200, 0));
  x.back().response_body = "<p>csrf</p>\n<input name=\"csrf\" value=\"a1b2c3d4e5f6\">\n";
  x.push_back(exchange("POST", "http://shop.test/send", 200, 100));
  x.back().request_headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  x.back().request_body = "csrf=a1b2c3d4e5f6&text=hello";
  ScenarioOptions options;
  options.name = "Form";
  const Scenario s = write_scenario(x, options);
  EXPECT_EQ(s.tokens, 1);
  EXPECT_NE(s.lua.find("local r1 = vu:get(base .. \"/form\""), std::string::npos) << s.lua;
  EXPECT_NE(s.lua.find("local csrf_1 = r1:extract(\"<input name=\\\"csrf\\\" value=\\\"\", \"\\\"\")"), std::string::npos)
      << s.lua;
  EXPECT_NE(s.lua.find("{\"csrf\", csrf_1}"), std::string::npos);
  EXPECT_NE(s.lua.find("{\"text\", \"hello\"}"), std::string::npos) << "an ordinary word is not followed";
}

TEST(RecordScenario, HarShapes) {
  std::string error;
  // Firefox: postData.params without text, no _resourceType; HTTP/2 pseudo-headers dropped.
  const auto read = read_har(R"({"log": {"entries": [{
      "startedDateTime": "2026-12-06T09:15:02.000+00:00", "time": 12.5,
      "request": {"method": "POST", "url": "http://shop.test/login",
                  "headers": [{"name": ":authority", "value": "shop.test"}, {"name": "X-Token", "value": "t"}],
                  "postData": {"mimeType": "application/x-www-form-urlencoded",
                               "params": [{"name": "user", "value": "bob"}, {"name": "pw", "value": "a%26b"}]}},
      "response": {"status": 200, "headers": [],
                   "content": {"mimeType": "text/html", "text": "<p>hi</p>"}}}]}})",
                             "ff.har", &error);
  ASSERT_TRUE(read) << error;
  ASSERT_EQ(read->size(), 1u);
  const RecordedExchange& x = (*read)[0];
  EXPECT_EQ(x.request_body, "user=bob&pw=a%26b");
  EXPECT_EQ(x.request_headers.size(), 2u) << "X-Token and the Content-Type from mimeType";
  EXPECT_EQ(header_value(x.request_headers, "content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(x.response_body, "<p>hi</p>");
  EXPECT_EQ(x.end_us - x.start_us, 12500);

  EXPECT_FALSE(read_har(R"({"log": {"entries": [{"request": {"method": "GET", "url": "http://a/"},
      "response": {"status": "200"}, "startedDateTime": "2026-12-06T09:15:02Z"}]}})", "x.har", &error));
  EXPECT_EQ(error, "x.har: log.entries[0].response.status: not a number");
}

}  // namespace
}  // namespace bm::record
