// FunkLoad tests to Lua: statements, blocks, and what is left as a comment.
#include <gtest/gtest.h>

#include <lua.hpp>

#include "record/funkload_import.hpp"

namespace bm::record {
namespace {

FunkLoadConversion convert(const std::string& body, std::string* error = nullptr) {
  std::string ignored;
  FunkLoadConversion out;
  const std::string python = "from funkload.FunkLoadTestCase import FunkLoadTestCase\n"
                             "class Shop(FunkLoadTestCase):\n"
                             "    def test_shop(self):\n" +
                             body;
  EXPECT_TRUE(convert_funkload_test(python, "test_Shop.py", &out, error ? error : &ignored)) << ignored;
  lua_State* L = luaL_newstate();
  EXPECT_EQ(luaL_loadstring(L, out.lua.c_str()), LUA_OK) << lua_tostring(L, -1) << "\n" << out.lua;
  lua_close(L);
  return out;
}

bool has(const FunkLoadConversion& c, const std::string& text) { return c.lua.find(text) != std::string::npos; }

TEST(RecordFunkLoad, RequestsAndTheirOptions) {
  const auto c = convert(
      "        server_url = self.conf_get('main', 'url')\n"
      "        self.get(server_url + '/a', params=[['q', 'x y'], ('n', str(1))], description='A', ok_codes=[200, 404])\n"
      "        self.post(server_url + '/b', Data('application/json', '{\"k\": \"v\"}'), description=\"B\")\n"
      "        self.method('PROPFIND', server_url + '/c', load_auto_links=False)\n");
  EXPECT_TRUE(has(c, "local server_url = conf_get(\"main\", \"url\")")) << c.lua;
  EXPECT_TRUE(has(c, "vu:get(server_url .. \"/a\", {params = {{\"q\", \"x y\"}, {\"n\", tostring(1)}}, "
                     "description = \"A\", ok_codes = {200, 404}})"))
      << c.lua;
  EXPECT_TRUE(has(c, "vu:post(server_url .. \"/b\", {body = \"{\\\"k\\\": \\\"v\\\"}\", content_type = "
                     "\"application/json\", description = \"B\"})"))
      << c.lua;
  EXPECT_TRUE(has(c, "vu:request(\"PROPFIND\", server_url .. \"/c\", {fetch_resources = false})")) << c.lua;
  EXPECT_EQ(c.converted, c.statements);
}

TEST(RecordFunkLoad, BlocksChecksAndValues) {
  const auto c = convert(
      "        n = self.conf_getInt('test_shop', 'n', 2)\n"
      "        for i in range(1, n):\n"
      "            if i % 2 == 0 and not self.thread_id:\n"
      "                self.logd('even %s' % i)\n"
      "            elif i != 3:\n"
      "                self.logd('odd')\n"
      "            else:\n"
      "                pass\n"
      "        self.assert_('Welcome' in self.getBody(), 'no welcome')\n"
      "        self.assertEqual(self.getLastUrl(), 'x')\n"
      "        token = extract_token(self.getBody(), 'a=\"', '\"')\n"
      "        self.login, self.password = xmlrpc_get_credential('h', 8007, 'members')\n"
      "        total = 0\n"
      "        total += n\n"
      "        label = 'a'\n"
      "        label += 'b'\n");
  EXPECT_TRUE(has(c, "for i = 1, n - 1 do")) << c.lua;
  EXPECT_TRUE(has(c, "if i % 2 == 0 and not vu.id then")) << c.lua;
  EXPECT_TRUE(has(c, "log(string.format(\"even %s\", i))")) << c.lua;
  EXPECT_TRUE(has(c, "elseif i ~= 3 then")) << c.lua;
  EXPECT_TRUE(has(c, "assert(vu:last():contains(\"Welcome\"), \"no welcome\")")) << c.lua;
  EXPECT_TRUE(has(c, "assert(vu:last().url == \"x\")")) << c.lua;
  EXPECT_TRUE(has(c, "local token = vu:last():extract(\"a=\\\"\", \"\\\"\")")) << c.lua;
  EXPECT_TRUE(has(c, "vu.login, vu.password = credential(\"members\")")) << c.lua;
  EXPECT_TRUE(has(c, "total = total + n")) << c.lua;
  EXPECT_TRUE(has(c, "label = label .. \"b\"")) << c.lua;
  EXPECT_TRUE(c.warnings.empty());
}

TEST(RecordFunkLoad, WhatIsNotUnderstoodIsACommentWithItsBlock) {
  const auto c = convert(
      "        try:\n"
      "            self.get('http://x/')\n"
      "        except IOError:\n"
      "            pass\n"
      "        self.get(f'http://x/{1}')\n"
      "        self.get('http://x/done')\n");
  ASSERT_EQ(c.warnings.size(), 2u);
  EXPECT_EQ(c.warnings[0], "test_Shop.py:4: not converted ('try'): try:");
  EXPECT_EQ(c.warnings[1], "test_Shop.py:8: not converted (an f-string): self.get(f'http://x/{1}')");
  EXPECT_TRUE(has(c, "-- not converted: self.get('http://x/')")) << c.lua;
  EXPECT_TRUE(has(c, "-- not converted: except IOError:")) << c.lua;
  EXPECT_TRUE(has(c, "  vu:get(\"http://x/done\")")) << c.lua;
}

TEST(RecordFunkLoad, NotAFunkLoadTest) {
  FunkLoadConversion out;
  std::string error;
  EXPECT_FALSE(convert_funkload_test("import os\nprint(1)\n", "x.py", &out, &error));
  EXPECT_EQ(error, "x.py: not a FunkLoad test (no class deriving from FunkLoadTestCase)");
  EXPECT_FALSE(convert_funkload_test("class A(FunkLoadTestCase):\n    def helper(self):\n        pass\n", "y.py", &out,
                                     &error));
  EXPECT_EQ(error, "y.py: class A has no test method (test_*)");
}

}  // namespace
}  // namespace bm::record
