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

// Found by the funkload fuzz target: a statement that is only a value is valid Python and
// not Lua; it was written as it was, and the test did not load.
TEST(RecordFunkLoad, AValueAloneIsACommentSinceLuaHasNoSuchStatement) {
  const auto c = convert(
      "        nb_searches\n"
      "        self.getBody()\n"
      "        1 + 2\n"
      "        self.get('http://x/')\n");
  ASSERT_EQ(c.warnings.size(), 3u) << c.lua;
  EXPECT_EQ(c.warnings[0], "test_Shop.py:4: not converted (a value that is not a call): nb_searches");
  EXPECT_EQ(c.warnings[1], "test_Shop.py:5: not converted (a value that is not a call): self.getBody()");
  EXPECT_EQ(c.warnings[2], "test_Shop.py:6: not converted (a value that is not a call): 1 + 2");
  EXPECT_TRUE(has(c, "  vu:get(\"http://x/\")")) << c.lua;
}

// Found by the funkload fuzz target: a statement over several lines (here a triple-quoted
// string) gave a warning of several lines, and a comment whose second line was not one.
TEST(RecordFunkLoad, AStatementOverSeveralLinesIsShownOnOne) {
  const auto c = convert(
      "        x[1] = '''a\n"
      "b'''\n");
  ASSERT_EQ(c.warnings.size(), 1u) << c.lua;
  EXPECT_EQ(c.warnings[0], "test_Shop.py:4: not converted (this assignment target): x[1] = '''a\\nb'''");
  EXPECT_TRUE(has(c, "-- not converted (this assignment target): x[1] = '''a\\nb'''")) << c.lua;
}

// Found by the funkload fuzz target: a method header Lua cannot take (a header cut short,
// *args, a Lua keyword as a name) was written as it was, and the test did not load.
TEST(RecordFunkLoad, AMethodWhoseHeaderLuaCannotTakeIsLeftOutWithAWarning) {
  FunkLoadConversion out;
  std::string error;
  ASSERT_TRUE(convert_funkload_test("class Shop(FunkLoadTestCase):\n"
                                    "    def test_shop(self):\n"
                                    "        pass\n"
                                    "    def helper(self, *args):\n"
                                    "        pass\n"
                                    "    def end(self):\n"
                                    "        pass\n",
                                    "x.py", &out, &error))
      << error;
  ASSERT_EQ(out.warnings.size(), 2u) << out.lua;
  EXPECT_EQ(out.warnings[0], "x.py:4: not converted (a method header): def helper(self, *args):");
  EXPECT_EQ(out.warnings[1], "x.py:6: not converted (a method header): def end(self):");
  lua_State* L = luaL_newstate();
  EXPECT_EQ(luaL_loadstring(L, out.lua.c_str()), LUA_OK) << lua_tostring(L, -1) << "\n" << out.lua;
  lua_close(L);
  EXPECT_EQ(out.tests, std::vector<std::string>{"test_shop"});
}

// Found by the funkload fuzz target: Python names that are Lua keywords, and code after a
// return, were written as they were, and the test did not load. Each converted statement
// is now compiled by Lua before it is written.
TEST(RecordFunkLoad, WhatLuaCannotTakeIsACommentAndAReturnMidBlockIsWrapped) {
  const auto c = convert(
      "        for end in range(3):\n"
      "            self.get('http://x/a')\n"
      "        if True:\n"
      "            return\n"
      "            self.get('http://x/dead')\n"
      "        self.get('http://x/b')\n");
  ASSERT_EQ(c.warnings.size(), 1u) << c.lua;
  EXPECT_EQ(c.warnings[0], "test_Shop.py:4: not converted (what Lua cannot take as it is): for end in range(3):");
  EXPECT_TRUE(has(c, "do return end")) << c.lua;
  EXPECT_TRUE(has(c, "vu:get(\"http://x/b\")")) << c.lua;
}

// Found by the funkload fuzz target: an else whose if was closed by a line not converted
// (or a for's else, which Lua has not) was written as it was.
TEST(RecordFunkLoad, AnElseWithoutItsIfIsAComment) {
  const auto c = convert(
      "        if True:\n"
      "            self.get('http://x/a')\n"
      "        x[1] = 2\n"
      "        else:\n"
      "            self.get('http://x/b')\n"
      "        for i in range(2):\n"
      "            pass\n"
      "        else:\n"
      "            pass\n"
      "        if True:\n"
      "            pass\n"
      "        else:\n"
      "            pass\n"
      "        else:\n"
      "            pass\n");
  ASSERT_EQ(c.warnings.size(), 4u) << c.lua;
  EXPECT_EQ(c.warnings[3], "test_Shop.py:17: not converted (an else without its if): else:");
  EXPECT_EQ(c.warnings[1], "test_Shop.py:7: not converted (an else without its if): else:");
  EXPECT_EQ(c.warnings[2], "test_Shop.py:11: not converted (an else without its if): else:");
}

// Found by the funkload fuzz target: an assertion with too few arguments made the
// converter throw out of range (the whole import failed).
TEST(RecordFunkLoad, AnAssertionWithTooFewArgumentsIsAComment) {
  const auto c = convert(
      "        self.assertFalse()\n"
      "        self.assertEqual(1)\n");
  ASSERT_EQ(c.warnings.size(), 2u) << c.lua;
  EXPECT_EQ(c.warnings[0], "test_Shop.py:4: not converted (self.assertFalse with 0 argument(s)): self.assertFalse()");
  EXPECT_EQ(c.warnings[1], "test_Shop.py:5: not converted (self.assertEqual with 1 argument(s)): self.assertEqual(1)");
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
