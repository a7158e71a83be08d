// The Lua API (docs/lua-api.md) through ScriptState and a fake VuHost: what a test script
// asks of the engine, what it sees of the answers, how its failures and errors are worded,
// its hooks and test loop, and breaking a run that never yields. No sockets.
#include "script/script_state.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <lua.hpp>
#include <unistd.h>

#include "conf/conf_file.hpp"
#include "counting_allocator.hpp"
#include "fake_vu_host.hpp"

namespace bm::script {
namespace {

namespace fs = std::filesystem;
using testing::drive;
using testing::FakeReply;
using testing::FakeVuHost;
using testing::http_response;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;
using State = RunResult::State;

constexpr std::string_view kConf = R"([DEFAULT]
shared = from default

[main]
title = Api
url = http://127.0.0.1:8080

[custom]
greeting = hello
path = %(greeting)s/world
sizes = a : b:c
gaps = a::b
commas = x, y ,z
ratio = 0.5
count = 2
word = abc
)";

class ScriptApi : public ::testing::Test {
 protected:
  ScriptApi() {
    static int made = 0;
    dir_ = fs::temp_directory_path() / ("script_api_test-" + std::to_string(getpid()) + "-" + std::to_string(++made));
    fs::create_directories(dir_);
    identity_.node_num = 0;
    identity_.test_name = "Api";
    identity_.url = "http://127.0.0.1:8080";
    identity_.version = "9.9.9";
    identity_.log_sink = [this](std::string_view line) { sink_.emplace_back(line); };
  }
  ~ScriptApi() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path write(const fs::path& relative, std::string_view text) {
    fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Writes test_Api.lua and loads it with kConf parsed as Api.conf. Returns the error, if any.
  std::string try_load(std::string_view source, std::string_view conf_text = kConf, bool with_conf = true) {
    std::string error;
    if (with_conf) {
      conf_ = conf::ConfFile::parse(conf_text, "Api.conf", &error);
      if (!conf_) return "conf: " + error;
    }
    if (!state_.load(write("test_Api.lua", source), with_conf ? &*conf_ : nullptr, identity_, &error)) return error;
    return "";
  }
  void load(std::string_view source) { ASSERT_EQ(try_load(source), ""); }

  int vu() {
    if (vu_ < 0) vu_ = state_.create_vu(&host_);
    return vu_;
  }
  // Starts `function(vu)` and resumes it until it ends.
  RunResult run(std::string_view function = "test_Api") { return drive(state_, vu(), state_.start(vu(), function)); }
  // Loads a test body and runs it; expects it to pass.
  void run_ok(std::string_view source) {
    ASSERT_NO_FATAL_FAILURE(load(source));
    RunResult r = run();
    ASSERT_EQ(r.state, State::finished) << r.message;
  }

  fs::path dir_;
  ScriptIdentity identity_;
  std::vector<std::string> sink_;
  std::optional<conf::ConfFile> conf_;
  FakeVuHost host_;
  ScriptState state_;  // after the host and conf it points to: destroyed first
  int vu_ = -1;
};

// ---------------------------------------------------------------- loading, errors

TEST_F(ScriptApi, LoadRunsTheChunkWithTheBenchTableAndGlobalLog) {
  run_ok(R"(log("top", bench.node_num, bench.test_name, bench.url, bench.version)
function test_Api(vu) log("in test") end
)");
  // The top level has no virtual user: its log() goes to the identity's sink.
  EXPECT_THAT(sink_, ElementsAre("top\t0\tApi\thttp://127.0.0.1:8080\t9.9.9"));
  EXPECT_THAT(host_.logs, ElementsAre("in test"));
  EXPECT_TRUE(state_.has_function("test_Api"));
  EXPECT_FALSE(state_.has_function("test_Other"));
}

TEST_F(ScriptApi, SyntaxErrorIsReportedAsFileLineMessage) {
  std::string error = try_load("function test_Api(vu)\n  local x = = 1\nend\n");
  EXPECT_THAT(error, StartsWith("test_Api.lua:2: "));
  EXPECT_THAT(error, HasSubstr("unexpected symbol"));
}

TEST_F(ScriptApi, ErrorWhileLoadingIsOneLineWithFileAndLine) {
  std::string error = try_load("local a = 1\n\nerror('no good')\n");
  EXPECT_EQ(error, "test_Api.lua:3: no good");  // the traceback is cut off
}

TEST_F(ScriptApi, ChunkIsNamedByThePathTheUserTyped) {
  // Messages name the test as the user named it (architecture.md, Errors); without a
  // name given, by its base name.
  std::string error;
  fs::path file = write("sub/dir/test_Deep.lua", "\nerror('deep')\n");
  EXPECT_FALSE(state_.load(file, nullptr, identity_, &error));
  EXPECT_EQ(error, "test_Deep.lua:2: deep");
  identity_.test_file_shown = "sub/dir/test_Deep.lua";
  ScriptState typed;
  EXPECT_FALSE(typed.load(file, nullptr, identity_, &error));
  EXPECT_EQ(error, "sub/dir/test_Deep.lua:2: deep");
  // A long path is not cut (Lua would keep only its last 56 characters).
  const std::string long_path = "/" + std::string(80, 'x') + "/test_Deep.lua";
  identity_.test_file_shown = long_path;
  ScriptState long_name;
  EXPECT_FALSE(long_name.load(file, nullptr, identity_, &error));
  EXPECT_EQ(error, long_path + ":2: deep");
  // In a run: the message and every line of the traceback; other text is left alone.
  fs::path run_file = write("test_Deep2.lua", "function test_Deep2(vu)\n  error('test_Deep2.lua:9 is not a location')\nend\n");
  identity_.test_file_shown = "sub/test_Deep2.lua";
  ScriptState running;
  ASSERT_TRUE(running.load(run_file, nullptr, identity_, &error)) << error;
  const int vu = running.create_vu(&host_);
  RunResult r = drive(running, vu, running.start(vu, "test_Deep2"));
  EXPECT_EQ(r.message, "sub/test_Deep2.lua:2: test_Deep2.lua:9 is not a location");
  EXPECT_THAT(r.traceback, HasSubstr("sub/test_Deep2.lua:2: in function"));
  EXPECT_THAT(r.traceback, Not(HasSubstr("\ttest_Deep2.lua")));
}

TEST_F(ScriptApi, MissingTestFileIsNamedWithItsPath) {
  std::string error;
  fs::path file = dir_ / "nowhere" / "test_None.lua";
  EXPECT_FALSE(state_.load(file, nullptr, identity_, &error));
  EXPECT_EQ(error, file.string() + ": cannot read the test file: No such file or directory");
}

TEST_F(ScriptApi, LuaErrorInATestIsAnErrorWithFileLineAndTraceback) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  error('kaput')\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.state, State::failed);
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_EQ(r.kind, "script");
  EXPECT_EQ(r.message, "test_Api.lua:2: kaput");
  EXPECT_THAT(r.traceback, HasSubstr("test_Api.lua:2: in function"));
}

// error() with a table: its fields, not "table: 0x55d0..." (an address that differs per
// raise, so every occurrence would be its own error group).
TEST_F(ScriptApi, ErrorObjectsAreDescribedByTheirFields) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  error({code = 42, reason = 'out of stock', [1] = 'x', "
                               "nested = {a = 1}})\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.kind, "script");
  EXPECT_EQ(r.message, "error object {1 = \"x\", code = 42, nested = {...}, reason = \"out of stock\"}");
}

TEST_F(ScriptApi, ErrorObjectsWithAMessageOrToStringShowIt) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  error({message = 'cart is empty', code = 7})\nend\n"
                               "function test_Str(vu)\n  error(setmetatable({}, {__tostring = function() return "
                               "'custom' end}))\nend\n"
                               "function test_Nil(vu)\n  error()\nend\n"));
  EXPECT_EQ(run().message, "cart is empty");
}

TEST_F(ScriptApi, ErrorObjectWithToStringShowsIt) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  error(setmetatable({}, {__tostring = function() return "
                               "'custom' end}))\nend\n"));
  EXPECT_EQ(run().message, "custom");
}

TEST_F(ScriptApi, ErrorWithoutAValueSaysSo) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  error()\nend\n"));
  EXPECT_EQ(run().message, "error() without a message");
}

TEST_F(ScriptApi, IndexingNilIsAScriptError) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  local t\n  return t.x\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_EQ(r.kind, "script");
  EXPECT_THAT(r.message, StartsWith("test_Api.lua:3: attempt to index a nil value"));
}

TEST_F(ScriptApi, StartingAFunctionTheFileLacksIsAScriptError) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu) end\n"));
  RunResult r = run("test_Missing");
  EXPECT_EQ(r.state, State::failed);
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_EQ(r.kind, "script");
  EXPECT_EQ(r.message, "the test file defines no function 'test_Missing'");
}

// ---------------------------------------------------------------- assert, fail

TEST_F(ScriptApi, AssertFalseFailsTheTestWithItsMessageAndLine) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  assert(true)\n  assert(1 == 2, 'one is not two')\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.state, State::failed);
  EXPECT_EQ(r.verdict, Verdict::failure);
  EXPECT_EQ(r.kind, "assertion");
  EXPECT_EQ(r.message, "test_Api.lua:3: one is not two");
  EXPECT_THAT(r.traceback, IsEmpty());  // failures carry no traceback
}

TEST_F(ScriptApi, AssertWithoutMessageAndOnNil) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  assert(nil)\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.verdict, Verdict::failure);
  EXPECT_EQ(r.message, "test_Api.lua:2: assertion failed!");
}

TEST_F(ScriptApi, AssertReturnsItsArgumentsWhenTrue) {
  run_ok("function test_Api(vu)\n  local a, b, c = assert(7, 'msg', 9)\n  vu:log(a, b, c)\nend\n");
  EXPECT_THAT(host_.logs, ElementsAre("7\tmsg\t9"));
}

TEST_F(ScriptApi, FailFailsTheTestWithOrWithoutMessage) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  fail('not today')\nend\n"
                               "function test_Bare(vu)\n  fail()\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.verdict, Verdict::failure);
  EXPECT_EQ(r.kind, "assertion");
  EXPECT_EQ(r.message, "test_Api.lua:2: not today");
  r = run("test_Bare");
  EXPECT_EQ(r.verdict, Verdict::failure);
  EXPECT_EQ(r.message, "test_Api.lua:5: failed");
}

// Lua raises its errors with longjmp, past C++ frames: an object alive in one when it does
// is never destroyed. assert(), fail() and a failed page raise their outcome that way,
// and used to leave their message strings allocated (LeakSanitizer, in the integration
// suite of the sanitizer build); so did a bad ok_codes string and an unknown option.
// Messages and names are longer than std::string's inline buffer.
TEST_F(ScriptApi, RaisingAnOutcomeLeavesNothingAllocated) {
  ASSERT_NO_FATAL_FAILURE(load(R"(function test_Api(vu)
  assert(false, string.rep("assertion message ", 8))
end
function test_Fail(vu)
  fail(string.rep("failure message ", 8))
end
function test_Page(vu)
  vu:get("http://h/")
end
function test_Codes(vu)
  vu:get("http://h/", {ok_codes = "200:201:not-a-status-code-at-all"})
end
function test_Option(vu)
  vu:get("http://h/", {an_option_nobody_knows = 1})
end
)"));
  const std::string long_message(200, 'm');
  const auto run_each = [&] {
    host_.replies.push_back(FakeReply::failed(Verdict::error, "timeout", long_message));
    for (std::string_view function : {"test_Api", "test_Fail", "test_Page", "test_Codes", "test_Option"}) {
      RunResult r = run(function);
      EXPECT_EQ(r.state, State::failed) << function;
    }
    host_.pages.clear();
  };
  run_each();  // what the first runs allocate for good (the coroutine, the host's buffers)
  const long before = g_live_allocations;
  for (int i = 0; i < 5; ++i) run_each();
  EXPECT_EQ(g_live_allocations - before, 0);
}

TEST_F(ScriptApi, AFailureCaughtByPcallPrintsAsItsMessage) {
  run_ok("function test_Api(vu)\n  local ok, e = pcall(function() fail('caught') end)\n"
         "  vu:log(ok, tostring(e), e.kind)\nend\n");
  EXPECT_THAT(host_.logs, ElementsAre("false\ttest_Api.lua:2: caught\tassertion"));
}

// ---------------------------------------------------------------- conf_get*

TEST_F(ScriptApi, ConfGetAnswersAlikeOnEveryCallAndKeepsKeysApart) {
  // Answers are remembered after the first call: later ones must be the same, per
  // section and key, defaults and missing keys included.
  run_ok(R"(function test_Api(vu)
  for i = 1, 3 do
    vu:log(conf_get("main", "url"), conf_get("custom", "greeting"), conf_get("main", "greeting", "dflt"),
           conf_get("custom", "nope", i), conf_get("bench", "node_num"))
  end
end
)");
  EXPECT_THAT(host_.logs, ElementsAre("http://127.0.0.1:8080\thello\tdflt\t1\t0",
                                      "http://127.0.0.1:8080\thello\tdflt\t2\t0",
                                      "http://127.0.0.1:8080\thello\tdflt\t3\t0"));
}

TEST_F(ScriptApi, ConfGetReadsStringsInterpolatedAndInherited) {
  run_ok(R"(function test_Api(vu)
  vu:log(conf_get("custom", "greeting"), conf_get("custom", "path"), conf_get("custom", "shared"))
  vu:log(math.type(conf_get("custom", "count")), type(conf_get("custom", "count")))
end
)");
  EXPECT_THAT(host_.logs, ElementsAre("hello\thello/world\tfrom default", "nil\tstring"));
}

TEST_F(ScriptApi, ConfGetDefaultsAreUsedOnlyWhenTheKeyIsMissing) {
  run_ok(R"(function test_Api(vu)
  vu:log(conf_get("custom", "greeting", "unused"), conf_get("custom", "nope", "dflt"))
  local five = conf_get("custom", "nope", 5)
  vu:log(type(five), five, conf_get("custom", "nope", nil) == nil, conf_get("nosection", "x", "d"))
end
)");
  EXPECT_THAT(host_.logs, ElementsAre("hello\tdflt", "string\t5\ttrue\td"));
}

TEST_F(ScriptApi, ConfGetWithoutDefaultIsAScriptErrorNamingTheConf) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  local x = conf_get('custom', 'nope')\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_EQ(r.kind, "script");
  EXPECT_EQ(r.message, "test_Api.lua:2: conf_get: no key 'nope' in section [custom] of Api.conf and no default given");
}

TEST_F(ScriptApi, ConfGetAtTheTopLevelFailsTheLoad) {
  EXPECT_EQ(try_load("local a = 1\nlocal url = conf_get('main', 'missing')\n"),
            "test_Api.lua:2: conf_get: no key 'missing' in section [main] of Api.conf and no default given");
}

TEST_F(ScriptApi, ConfGetWithoutAConfFileUsesDefaultsOrSaysSo) {
  ASSERT_EQ(try_load("function test_Api(vu)\n  vu:log(conf_get('a', 'b', 'd'))\n  conf_get('a', 'b')\nend\n",
                     kConf, /*with_conf=*/false),
            "");
  RunResult r = run();
  EXPECT_THAT(host_.logs, ElementsAre("d"));
  EXPECT_EQ(r.message, "test_Api.lua:3: conf_get: no key 'b' in section [a] of the conf and no default given");
}

TEST_F(ScriptApi, BenchNodeNumComesFromTheRunUnlessTheConfSetsIt) {
  identity_.node_num = 3;
  run_ok("function test_Api(vu)\n  local n = conf_get('bench', 'node_num')\n  vu:log(type(n), n, "
         "conf_get_number('bench', 'node_num'), vu.node_num)\nend\n");
  EXPECT_THAT(host_.logs, ElementsAre("string\t3\t3\t3"));
}

TEST_F(ScriptApi, ConfGetNumberReadsIntegersAndFloats) {
  run_ok(R"(function test_Api(vu)
  local c, r = conf_get_number("custom", "count"), conf_get_number("custom", "ratio")
  vu:log(math.type(c), c, math.type(r), r)
  vu:log(conf_get_number("custom", "nope", 7), conf_get_number("custom", "nope", "8") + 0,
         conf_get_number("custom", "nope", nil) == nil)
end
)");
  EXPECT_THAT(host_.logs, ElementsAre("integer\t2\tfloat\t0.5", "7\t8\ttrue"));
}

TEST_F(ScriptApi, ConfGetNumberOfTextIsAScriptError) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  conf_get_number('custom', 'word')\nend\n"
                               "function test_Default(vu)\n  conf_get_number('custom', 'nope', 'many')\nend\n"
                               "function test_Missing(vu)\n  conf_get_number('custom', 'nope')\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_EQ(r.message, "test_Api.lua:2: conf_get_number: [custom] word = 'abc' is not a number");
  r = run("test_Default");
  EXPECT_EQ(r.message, "test_Api.lua:5: conf_get_number: [custom] nope = 'many' is not a number");
  r = run("test_Missing");
  EXPECT_EQ(r.message,
            "test_Api.lua:8: conf_get_number: no key 'nope' in section [custom] of Api.conf and no default given");
}

TEST_F(ScriptApi, ConfGetListSplitsTrimsAndDropsEmptyItems) {
  run_ok(R"(function test_Api(vu)
  vu:log(table.concat(conf_get_list("custom", "sizes"), "|"))
  vu:log(table.concat(conf_get_list("custom", "gaps"), "|"))
  vu:log(table.concat(conf_get_list("custom", "commas", nil, ","), "|"))
  vu:log(table.concat(conf_get_list("custom", "greeting"), "|"))
end
)");
  EXPECT_THAT(host_.logs, ElementsAre("a|b|c", "a|b", "x|y|z", "hello"));
}

TEST_F(ScriptApi, ConfGetListDefaultIsReturnedAsGiven) {
  run_ok(R"(function test_Api(vu)
  local d = {"x"}
  vu:log(conf_get_list("custom", "nope", d) == d, conf_get_list("custom", "nope", nil) == nil)
  vu:log(#conf_get_list("custom", "sizes", d))
end
)");
  EXPECT_THAT(host_.logs, ElementsAre("true\ttrue", "3"));
}

TEST_F(ScriptApi, ConfGetListWithoutDefaultIsAScriptError) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  conf_get_list('custom', 'nope')\nend\n"));
  EXPECT_EQ(run().message,
            "test_Api.lua:2: conf_get_list: no key 'nope' in section [custom] of Api.conf and no default given");
}

// ---------------------------------------------------------------- the vu table

TEST_F(ScriptApi, VuTableCarriesTheUsersIdentity) {
  identity_.node_num = 2;
  host_.id = 4;
  host_.cycle_num = 1;
  host_.concurrency = 10;
  host_.iteration_num = 17;
  run_ok("function test_Api(vu)\n  vu:log(vu.id, vu.cycle, vu.cvus, vu.node_num, vu:iteration())\nend\n");
  EXPECT_THAT(host_.logs, ElementsAre("4\t1\t10\t2\t17"));
}

TEST_F(ScriptApi, VuTableBelongsToOneUserAndIsFreshWhenAnIdIsReused) {
  ASSERT_NO_FATAL_FAILURE(load(R"(shared = 0
function test_Api(vu)
  shared = shared + 1
  vu.mine = (vu.mine or 0) + 1
  vu:log(vu.id, vu.mine, shared)
end
)"));
  FakeVuHost other;
  other.id = 1;
  int a = vu(), b = state_.create_vu(&other);
  EXPECT_EQ(drive(state_, a, state_.start(a, "test_Api")).state, State::finished);
  EXPECT_EQ(drive(state_, a, state_.start(a, "test_Api")).state, State::finished);
  EXPECT_EQ(drive(state_, b, state_.start(b, "test_Api")).state, State::finished);
  EXPECT_THAT(host_.logs, ElementsAre("0\t1\t1", "0\t2\t2"));
  EXPECT_THAT(other.logs, ElementsAre("1\t1\t3"));  // its own table, the worker's globals

  state_.destroy_vu(b);
  FakeVuHost third;
  third.id = 2;
  int c = state_.create_vu(&third);
  EXPECT_EQ(c, b);  // the id and its coroutine are reused...
  EXPECT_EQ(drive(state_, c, state_.start(c, "test_Api")).state, State::finished);
  EXPECT_THAT(third.logs, ElementsAre("2\t1\t4"));  // ...but not the table
}

TEST_F(ScriptApi, AMethodCalledWithADotIsAnError) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu.get('http://h/')\nend\n"
                               "function test_Other(vu)\n  vu.sleep({}, 1)\nend\n"
                               "function test_Borrowed(vu)\n  vu.get(setmetatable({}, getmetatable(vu)), 'http://h/')\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_EQ(r.message, "test_Api.lua:2: vu:get: call it with a colon (vu:get(...)), not a dot");
  EXPECT_EQ(run("test_Other").message, "test_Api.lua:5: vu:sleep: call it with a colon (vu:sleep(...)), not a dot");
  EXPECT_THAT(host_.pages, IsEmpty());
  // A table with the vu metatable passes: the request is still this user's.
  EXPECT_EQ(run("test_Borrowed").state, State::finished);
  EXPECT_EQ(host_.pages.size(), 1u);
}

TEST_F(ScriptApi, AMethodCalledOutsideAVirtualUserIsAnError) {
  run_ok("function test_Api(vu)\n  saved = vu\nend\n");
  // The main thread of the state has no host: as a bench hook's vu kept in a global and
  // used from the top level of another chunk.
  lua_State* L = state_.lua();
  ASSERT_NE(luaL_dostring(L, "saved:get('http://h/')"), LUA_OK);
  EXPECT_THAT(lua_tostring(L, -1), HasSubstr("vu:get can only be called by a virtual user (inside a test or hook)"));
  lua_pop(L, 1);
  EXPECT_THAT(host_.pages, IsEmpty());
}

// ---------------------------------------------------------------- requests

TEST_F(ScriptApi, EveryMethodSendsItsVerbAndWaitsForThePage) {
  ASSERT_NO_FATAL_FAILURE(load(R"(function test_Api(vu)
  vu:get("http://h/get")
  vu:post("http://h/post")
  vu:put("http://h/put")
  vu:delete("http://h/delete")
  vu:head("http://h/head")
  vu:options("http://h/options")
  vu:patch("http://h/patch")
  vu:request("PROPFIND", "http://h/dav")
  vu:request("M-SEARCH", "http://h/upnp")
end
)"));
  RunResult r = state_.start(vu(), "test_Api");
  // Each page yields to the host: one resume per page.
  int resumes = 0;
  while (r.state == State::waiting) {
    EXPECT_EQ(host_.pages.size(), static_cast<size_t>(resumes + 1));
    r = state_.resume(vu());
    ++resumes;
  }
  EXPECT_EQ(r.state, State::finished) << r.message;
  EXPECT_EQ(resumes, 9);
  std::vector<std::string> seen;
  for (const auto& page : host_.pages) seen.push_back(page.method + " " + page.url);
  EXPECT_THAT(seen, ElementsAre("GET http://h/get", "POST http://h/post", "PUT http://h/put",
                                "DELETE http://h/delete", "HEAD http://h/head", "OPTIONS http://h/options",
                                "PATCH http://h/patch", "PROPFIND http://h/dav", "M-SEARCH http://h/upnp"));
  // No options: nothing but the method and URL.
  const auto& get = host_.pages[0];
  EXPECT_TRUE(get.description.empty() && get.body.empty() && get.params.empty() && get.headers.empty());
  EXPECT_FALSE(get.ok_codes || get.follow_redirects || get.fetch_resources || get.multipart);
  EXPECT_EQ(get.timeout_s, 0);
}

TEST_F(ScriptApi, RequestWantsAnUpperCaseMethod) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:request('propfind', 'http://h/')\nend\n"
                               "function test_Empty(vu)\n  vu:request('', 'http://h/')\nend\n"));
  EXPECT_EQ(run().message, "test_Api.lua:2: vu:request: method 'propfind' must be upper-case letters (e.g. PROPFIND)");
  EXPECT_EQ(run("test_Empty").message, "test_Api.lua:5: vu:request: empty method");
  EXPECT_THAT(host_.pages, IsEmpty());
}

TEST_F(ScriptApi, ScalarOptionsReachThePageRequest) {
  run_ok(R"(function test_Api(vu)
  vu:post("http://h/p", {description = "Send", body = '{"k":1}', content_type = "application/json",
                         timeout = 2.5, follow_redirects = false, fetch_resources = false})
  vu:get("http://h/g", {description = 42, follow_redirects = true, fetch_resources = true, multipart = true})
end
)");
  ASSERT_EQ(host_.pages.size(), 2u);
  const auto& p = host_.pages[0];
  EXPECT_EQ(p.description, "Send");
  EXPECT_EQ(p.body, "{\"k\":1}");
  EXPECT_EQ(p.content_type, "application/json");
  EXPECT_EQ(p.timeout_s, 2.5);
  EXPECT_EQ(p.follow_redirects, false);
  EXPECT_EQ(p.fetch_resources, false);
  const auto& g = host_.pages[1];
  EXPECT_EQ(g.description, "42");  // numbers are taken as text
  EXPECT_EQ(g.follow_redirects, true);
  EXPECT_EQ(g.fetch_resources, true);
  EXPECT_TRUE(g.multipart);
}

TEST_F(ScriptApi, ParamsAsPairsKeepOrderAndRepeatsAsAMapTakeEveryField) {
  run_ok(R"(function test_Api(vu)
  vu:get("http://h/", {params = {{"q", "a b"}, {"q", "c"}, {"n", 3}, {"b", true}}})
  vu:post("http://h/", {params = {user = "alice"}})
end
)");
  ASSERT_EQ(host_.pages.size(), 2u);
  EXPECT_THAT(host_.pages[0].params, ElementsAre(Pair("q", "a b"), Pair("q", "c"), Pair("n", "3"), Pair("b", "true")));
  EXPECT_THAT(host_.pages[1].params, ElementsAre(Pair("user", "alice")));
}

TEST_F(ScriptApi, HeadersOptionAsMapOrPairs) {
  run_ok(R"(function test_Api(vu)
  vu:get("http://h/", {headers = {["X-Once"] = "1"}})
  vu:get("http://h/", {headers = {{"X-A", "1"}, {"X-A", 2}}})
end
)");
  EXPECT_THAT(host_.pages[0].headers, ElementsAre(Pair("X-Once", "1")));
  EXPECT_THAT(host_.pages[1].headers, ElementsAre(Pair("X-A", "1"), Pair("X-A", "2")));
}

TEST_F(ScriptApi, BadParamsAndHeadersAreScriptErrors) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:get('http://h/', {params = 'q=1'})\nend\n"
                               "function test_Item(vu)\n  vu:get('http://h/', {params = {'q'}})\nend\n"
                               "function test_Value(vu)\n  vu:get('http://h/', {headers = {X = {}}})\nend\n"));
  EXPECT_EQ(run().message, "test_Api.lua:2: option 'params' must be a table");
  EXPECT_EQ(run("test_Item").message, "test_Api.lua:5: option 'params': item 1 must be a {name, value} pair");
  EXPECT_EQ(run("test_Value").message, "test_Api.lua:8: headers must be a string or a number, not table");
  EXPECT_THAT(host_.pages, IsEmpty());
}

TEST_F(ScriptApi, FilesHaveDefaultsAndMakeTheRequestMultipart) {
  run_ok(R"(function test_Api(vu)
  vu:post("http://h/up", {params = {{"field", "v"}}, files = {
    {field = "up", filename = "a.txt", content = "DATA", content_type = "text/plain"},
    {field = "raw", content = "BYTES"}}})
end
)");
  ASSERT_EQ(host_.pages.size(), 1u);
  const auto& p = host_.pages[0];
  EXPECT_TRUE(p.multipart);
  ASSERT_EQ(p.files.size(), 2u);
  EXPECT_EQ(p.files[0].field, "up");
  EXPECT_EQ(p.files[0].filename, "a.txt");
  EXPECT_EQ(p.files[0].content, "DATA");
  EXPECT_EQ(p.files[0].content_type, "text/plain");
  EXPECT_EQ(p.files[1].filename, "file");
  EXPECT_EQ(p.files[1].content_type, "application/octet-stream");
  EXPECT_THAT(p.params, ElementsAre(Pair("field", "v")));
}

TEST_F(ScriptApi, OkCodesOptionAsListOrText) {
  run_ok(R"(function test_Api(vu)
  vu:get("http://h/", {ok_codes = {200, 404}})
  vu:get("http://h/", {ok_codes = "200:302:500"})
end
)");
  EXPECT_EQ(host_.pages[0].ok_codes, (std::vector<int>{200, 404}));
  EXPECT_EQ(host_.pages[1].ok_codes, (std::vector<int>{200, 302, 500}));
}

TEST_F(ScriptApi, BadOkCodesAreScriptErrors) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:get('http://h/', {ok_codes = '200:abc'})\nend\n"
                               "function test_Item(vu)\n  vu:get('http://h/', {ok_codes = {200, 99}})\nend\n"
                               "function test_Type(vu)\n  vu:get('http://h/', {ok_codes = 200})\nend\n"));
  EXPECT_EQ(run().message, "test_Api.lua:2: option 'ok_codes': 'abc' is not an HTTP status");
  EXPECT_EQ(run("test_Item").message, "test_Api.lua:5: option 'ok_codes': item 2 is not an HTTP status");
  EXPECT_EQ(run("test_Type").message, "test_Api.lua:8: option 'ok_codes' must be a list of HTTP status codes");
}

TEST_F(ScriptApi, UnknownOptionIsAnErrorListingTheKnownOnes) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:post('http://h/', {bdy = 'x'})\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_EQ(r.message,
            "test_Api.lua:2: vu:post: unknown option 'bdy' (known: description, params, headers, body, "
            "content_type, multipart, files, ok_codes, follow_redirects, fetch_resources, keep_body, timeout)");
  EXPECT_THAT(host_.pages, IsEmpty());
}

TEST_F(ScriptApi, OptionsMustBeATableOrNil) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:get('http://h/', nil)\n  vu:get('http://h/', 'x')\nend\n"));
  EXPECT_EQ(run().message, "test_Api.lua:3: vu:get: options must be a table");
  EXPECT_EQ(host_.pages.size(), 1u);
}

TEST_F(ScriptApi, APageTheHostRefusesIsAScriptError) {
  host_.reject_with = "bad URL 'nothttp': no scheme";
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:get('nothttp')\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.state, State::failed);
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_EQ(r.kind, "script");
  EXPECT_EQ(r.message, "test_Api.lua:2: vu:get: bad URL 'nothttp': no scheme");
}

// ---------------------------------------------------------------- page outcomes

TEST_F(ScriptApi, AFailedPageFailsTheTestAtItsLineWithItsKind) {
  host_.replies.push_back(FakeReply::ok(200));
  host_.replies.push_back(FakeReply::failed(Verdict::failure, "status",
                                            "GET http://h/x: status 404 is not one of ok_codes 200",
                                            http_response(404, "gone")));
  ASSERT_NO_FATAL_FAILURE(load(R"(function test_Api(vu)
  vu:get("http://h/")
  local r = vu:get("http://h/x")
  vu:log("not reached")
end
)"));
  RunResult r = run();
  EXPECT_EQ(r.state, State::failed);
  EXPECT_EQ(r.verdict, Verdict::failure);
  EXPECT_EQ(r.kind, "status");
  EXPECT_EQ(r.message, "test_Api.lua:3: GET http://h/x: status 404 is not one of ok_codes 200");
  EXPECT_THAT(host_.logs, IsEmpty());
}

TEST_F(ScriptApi, ANetworkErrorErrorsTheTest) {
  host_.responder = [](const testing::RecordedPage& page) {
    return FakeReply::failed(Verdict::error, "timeout", page.method + " " + page.url + ": no response within 2 s");
  };
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:get('http://h/slow', {timeout = 2})\nend\n"));
  RunResult r = run();
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_EQ(r.kind, "timeout");
  EXPECT_EQ(r.message, "test_Api.lua:2: GET http://h/slow: no response within 2 s");
}

// ---------------------------------------------------------------- the response

TEST_F(ScriptApi, ResponseFieldsComeFromTheOutcomeAndTheParsedResponse) {
  FakeReply reply = FakeReply::ok(201, "hello world");
  reply.final_url = "http://h/final";
  reply.redirects = 2;
  reply.resources = 3;
  reply.connect_us = 1500;
  reply.first_byte_us = 250000;
  reply.total_us = 1250000;
  host_.replies.push_back(reply);
  run_ok(R"(function test_Api(vu)
  local r = vu:post("http://h/start", {description = "Start"})
  vu:log(r.status, r.ok, r.body, r.size, r.bytes)
  vu:log(r.url, r.method, r.description, r.redirects, r.resources)
  vu:log(r.time, r.connect_time, r.first_byte_time, tostring(r), r.nonesuch)
end
)");
  std::string raw = http_response(201, "hello world");
  EXPECT_THAT(host_.logs, ElementsAre("201\ttrue\thello world\t11\t" + std::to_string(raw.size()),
                                      "http://h/final\tPOST\tStart\t2\t3", "1.25\t0.0015\t0.25\tresponse(201)\tnil"));
}

TEST_F(ScriptApi, DescriptionDefaultsToTheHostsKey) {
  run_ok("function test_Api(vu)\n  vu:log(vu:get('http://h/a').description)\nend\n");
  EXPECT_THAT(host_.logs, ElementsAre("GET http://h/a"));
}

TEST_F(ScriptApi, ResponseHeadersByNameAndAsATable) {
  host_.replies.push_back(FakeReply::ok(
      200, "", {{"Content-Type", "text/html"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}, {"X-Mixed-Case", "v"}}));
  run_ok(R"(function test_Api(vu)
  local r = vu:get("http://h/")
  vu:log(r:header("content-type"), r:header("SET-COOKIE"), r:header("x-mixed-case"), r:header("X-None"))
  local h = r.headers
  vu:log(h["content-type"], h["set-cookie"], h["x-mixed-case"], h["X-Mixed-Case"], h["content-length"])
end
)");
  EXPECT_THAT(host_.logs, ElementsAre("text/html\ta=1\tv\tnil", "text/html\ta=1, b=2\tv\tnil\t0"));
}

TEST_F(ScriptApi, ContainsAndExtractSearchTheBody) {
  host_.replies.push_back(FakeReply::ok(200, "<input name=\"token\" value=\"abc123\"> Demo shop"));
  run_ok(R"(function test_Api(vu)
  local r = vu:get("http://h/")
  vu:log(r:contains("Demo shop"), r:contains("demo shop"), r:contains(""))
  vu:log(r:extract('value="', '"'), r:extract("nope", '"'), r:extract('value="', "never"))
end
)");
  EXPECT_THAT(host_.logs, ElementsAre("true\tfalse\ttrue", "abc123\tnil\tnil"));
}

TEST_F(ScriptApi, ResponseMethodsRefuseWhatIsNotAResponse) {
  host_.replies.push_back(FakeReply::ok(200, "body"));
  run_ok(R"(function test_Api(vu)
  local r = vu:get("http://h/")
  local contains = r.contains
  vu:log(contains(r, "od"), getmetatable(r).__index(r, "status"))
  local other = io.stdout  -- a userdata with a metatable of its own
  for _, self in ipairs({{}, other, "text", 1}) do
    local ok, e = pcall(contains, self, "x")
    vu:log(ok, e)
    ok, e = pcall(getmetatable(r).__index, self, "status")
    vu:log(ok, e)
  end
end
)");
  ASSERT_EQ(host_.logs.size(), 9u);
  EXPECT_EQ(host_.logs[0], "true\t200");
  for (size_t i = 1; i < host_.logs.size(); ++i) {
    EXPECT_THAT(host_.logs[i], HasSubstr("false\t"));
    EXPECT_THAT(host_.logs[i], HasSubstr("benchmaster.response expected")) << i;
  }
}

TEST_F(ScriptApi, AHeadResponseHasNoBody) {
  host_.replies.push_back(FakeReply::ok(200, "ignored", {{"X-Len", "7"}}));
  run_ok("function test_Api(vu)\n  local r = vu:head('http://h/')\n  vu:log(r.status, #r.body, r:header('x-len'))\nend\n");
  EXPECT_THAT(host_.logs, ElementsAre("200\t0\t7"));
}

TEST_F(ScriptApi, AReplacedResponseKeepsItsNumbersButNotItsBuffers) {
  host_.replies.push_back(FakeReply::ok(200, "first", {{"X-N", "1"}}));
  host_.replies.push_back(FakeReply::ok(202, "second"));
  ASSERT_NO_FATAL_FAILURE(load(R"(function test_Api(vu)
  local r1 = vu:get("http://h/1")
  local body = r1.body
  local r2 = vu:get("http://h/2")
  vu:log(r1.status, r1.ok, body, r2.status, r2.body)
  for _, what in ipairs({"body", "headers", "url", "method", "description"}) do
    local ok, e = pcall(function() return r1[what] end)
    vu:log(what, ok, e)
  end
  for _, call in ipairs({function() return r1:header("x-n") end, function() return r1:contains("f") end,
                         function() return r1:extract("f", "t") end}) do
    local ok, e = pcall(call)
    vu:log(ok, e)
  end
end
)"));
  ASSERT_EQ(run().state, State::finished);
  ASSERT_EQ(host_.logs.size(), 9u);
  EXPECT_EQ(host_.logs[0], "200\ttrue\tfirst\t202\tsecond");
  const std::string replaced = "this response was replaced by a later request of the same virtual user; "
                               "keep what you need (local body = r.body) before the next request";
  EXPECT_THAT(host_.logs[1], HasSubstr("body\tfalse\ttest_Api.lua:7: response.body: " + replaced));
  EXPECT_THAT(host_.logs[2], HasSubstr("headers\tfalse\ttest_Api.lua:7: response.headers: " + replaced));
  EXPECT_THAT(host_.logs[3], HasSubstr("url\tfalse\ttest_Api.lua:7: response.url: this response was replaced"));
  EXPECT_THAT(host_.logs[4], HasSubstr("method\tfalse\t"));
  EXPECT_THAT(host_.logs[5], HasSubstr("description\tfalse\t"));
  EXPECT_THAT(host_.logs[6], HasSubstr("response.header: " + replaced));
  EXPECT_THAT(host_.logs[7], HasSubstr("response.contains: " + replaced));
  EXPECT_THAT(host_.logs[8], HasSubstr("response.extract: " + replaced));
}

TEST_F(ScriptApi, LastIsTheLatestResponseOrNil) {
  host_.replies.push_back(FakeReply::ok(200, "one"));
  host_.replies.push_back(FakeReply::ok(203, "two"));
  run_ok(R"(function test_Api(vu)
  vu:log(vu:last() == nil)
  vu:get("http://h/1")
  vu:get("http://h/2")
  local last = vu:last()
  vu:log(last.status, last.body, last.url)
end
)");
  EXPECT_THAT(host_.logs, ElementsAre("true", "203\ttwo\thttp://h/2"));
}

// ---------------------------------------------------------------- per-user settings

TEST_F(ScriptApi, DefaultHeadersAreSetAddedReplacedAndCleared) {
  run_ok(R"(function test_Api(vu)
  vu:set_header("X-Team", "perf")
  vu:add_header("X-Multi", "a")
  vu:add_header("X-Multi", "b")
  vu:set_header("x-team", "ops")
  vu:set_header("X-Gone", "1")
  vu:set_header("X-GONE", nil)
end
function test_Clear(vu) vu:clear_headers() end
)");
  EXPECT_THAT(host_.settings().default_headers,
              ElementsAre(Pair("X-Multi", "a"), Pair("X-Multi", "b"), Pair("x-team", "ops")));
  EXPECT_EQ(run("test_Clear").state, State::finished);
  EXPECT_THAT(host_.settings().default_headers, IsEmpty());
}

// A line break would end the header line early (and start one of the script's making), a
// NUL would cut the text short where C strings are read, a ':' in a name would make the
// rest of the name part of the value.
TEST_F(ScriptApi, HeaderTextThatWouldBreakTheRequestHeadIsRejected) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:set_header('X-A', 'v\\r\\nX-Evil: 1')\nend\n"
                               "function test_Name(vu)\n  vu:add_header('X-A\\n', 'v')\nend\n"
                               "function test_Agent(vu)\n  vu:set_user_agent('ua\\n')\nend\n"
                               "function test_NulValue(vu)\n  vu:set_header('X-A', 'v\\0tail')\nend\n"
                               "function test_ColonName(vu)\n  vu:add_header('X-A: b', 'v')\nend\n"
                               "function test_NulAgent(vu)\n  vu:set_user_agent('ua\\0')\nend\n"));
  const std::string value = "header value must not contain CR, LF or NUL";
  const std::string name = "header name must not contain ':', CR, LF or NUL";
  const std::string agent = "user agent must not contain CR, LF or NUL";
  EXPECT_EQ(run().message, "test_Api.lua:2: " + value);
  EXPECT_EQ(run("test_Name").message, "test_Api.lua:5: " + name);
  EXPECT_EQ(run("test_Agent").message, "test_Api.lua:8: " + agent);
  EXPECT_EQ(run("test_NulValue").message, "test_Api.lua:11: " + value);
  EXPECT_EQ(run("test_ColonName").message, "test_Api.lua:14: " + name);
  EXPECT_EQ(run("test_NulAgent").message, "test_Api.lua:17: " + agent);
  EXPECT_THAT(host_.settings().default_headers, IsEmpty());
  EXPECT_THAT(host_.settings().user_agent, IsEmpty());
}

TEST_F(ScriptApi, UserAgentAndBasicAuthGoToTheSettings) {
  run_ok(R"(function test_Api(vu)
  vu:set_user_agent("probe/1")
  vu:basic_auth("alice", "secret")
end
function test_Clear(vu) vu:clear_basic_auth() end
)");
  EXPECT_EQ(host_.settings().user_agent, "probe/1");
  EXPECT_EQ(host_.settings().authorization, "Basic YWxpY2U6c2VjcmV0");
  EXPECT_EQ(run("test_Clear").state, State::finished);
  EXPECT_EQ(host_.settings().authorization, "");
}

TEST_F(ScriptApi, CookiesAreReadAndEditedInTheUsersJar) {
  host_.cookies().set("session", "s1", "", "/");
  run_ok(R"(function test_Api(vu)
  vu:log(vu:cookie("session"), vu:cookie("nope"))
  vu:set_cookie("flavour", "oat", "127.0.0.1", "/shop")
  vu:set_cookie("plain", "1")
  vu:log(vu:cookie("flavour"), vu:cookie("plain"))
end
function test_Clear(vu) vu:clear_cookies() vu:log(vu:cookie("session")) end
)");
  EXPECT_THAT(host_.logs, ElementsAre("s1\tnil", "oat\t1"));
  EXPECT_EQ(host_.cookies().size(), 3u);
  EXPECT_EQ(run("test_Clear").state, State::finished);
  EXPECT_EQ(host_.cookies().size(), 0u);
  EXPECT_EQ(host_.logs.back(), "nil");
}

// The jar sends "name=value; ..." in the Cookie header: a cookie that would end the header
// line, make another cookie of its rest, or be cut at a NUL is a script error, and the
// jar keeps what it had (docs/fuzzing.md listed it as known until then).
TEST_F(ScriptApi, ACookieThatWouldBreakTheCookieHeaderIsRejected) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:set_cookie('a', 'v\\r\\nX-Evil: 1')\nend\n"
                               "function test_Semicolon(vu)\n  vu:set_cookie('a', 'v; admin=1')\nend\n"
                               "function test_Nul(vu)\n  vu:set_cookie('a', 'v\\0w')\nend\n"
                               "function test_Name(vu)\n  vu:set_cookie('a=b', 'v')\nend\n"
                               "function test_Empty(vu)\n  vu:set_cookie('', 'v')\nend\n"
                               "function test_Fine(vu)\n  vu:set_cookie('a', 'v=w \"x\"')\nend\n"));
  const std::string value_error = "vu:set_cookie: a cookie value must not contain ';', CR, LF or NUL";
  const std::string name_error = "vu:set_cookie: a cookie name must not be empty nor contain '=', ';', CR, LF or NUL";
  EXPECT_EQ(run().message, "test_Api.lua:2: " + value_error);
  EXPECT_EQ(run("test_Semicolon").message, "test_Api.lua:5: " + value_error);
  EXPECT_EQ(run("test_Nul").message, "test_Api.lua:8: " + value_error);
  EXPECT_EQ(run("test_Name").message, "test_Api.lua:11: " + name_error);
  EXPECT_EQ(run("test_Empty").message, "test_Api.lua:14: " + name_error);
  EXPECT_EQ(host_.cookies().size(), 0u);
  EXPECT_EQ(run("test_Fine").state, State::finished);
  EXPECT_EQ(host_.cookies().get("a").value_or(""), "v=w \"x\"");
}

TEST_F(ScriptApi, SetOkCodesSetsTheUsersDefault) {
  run_ok("function test_Api(vu)\n  vu:set_ok_codes({200, 404})\nend\n"
         "function test_Text(vu)\n  vu:set_ok_codes('204:500')\nend\n"
         "function test_Bad(vu)\n  vu:set_ok_codes({600})\nend\n");
  EXPECT_EQ(host_.settings().ok_codes, (std::vector<int>{200, 404}));
  EXPECT_EQ(run("test_Text").state, State::finished);
  EXPECT_EQ(host_.settings().ok_codes, (std::vector<int>{204, 500}));
  EXPECT_EQ(run("test_Bad").message, "test_Api.lua:8: vu:set_ok_codes: item 1 is not an HTTP status");
  EXPECT_EQ(host_.settings().ok_codes, (std::vector<int>{204, 500}));
}

TEST_F(ScriptApi, SleepAsksTheHostAndWaits) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:sleep(0.25)\n  vu:sleep(0)\n  vu:log('woke')\nend\n"));
  RunResult r = state_.start(vu(), "test_Api");
  EXPECT_EQ(r.state, State::waiting);
  EXPECT_THAT(host_.sleeps, ElementsAre(0.25));
  EXPECT_THAT(host_.logs, IsEmpty());
  r = drive(state_, vu(), r);
  EXPECT_EQ(r.state, State::finished);
  EXPECT_THAT(host_.sleeps, ElementsAre(0.25, 0));
  EXPECT_THAT(host_.logs, ElementsAre("woke"));
}

TEST_F(ScriptApi, SleepOutsideZeroToADayIsAScriptError) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:sleep(-1)\nend\n"
                               "function test_Long(vu)\n  vu:sleep(86401)\nend\n"
                               "function test_NaN(vu)\n  vu:sleep(0/0)\nend\n"
                               "function test_Text(vu)\n  vu:sleep('soon')\nend\n"));
  EXPECT_THAT(run().message, StartsWith("test_Api.lua:2: vu:sleep: -1.0"));
  EXPECT_THAT(run("test_Long").message, HasSubstr("is not a number of seconds in [0, 86400]"));
  EXPECT_THAT(run("test_NaN").message, HasSubstr("is not a number of seconds in [0, 86400]"));
  EXPECT_THAT(run("test_Text").message, StartsWith("test_Api.lua:11: bad argument #1 to 'sleep' (number expected"));
  EXPECT_THAT(host_.sleeps, IsEmpty());
}

TEST_F(ScriptApi, LogJoinsItsArgumentsWithTabs) {
  run_ok("function test_Api(vu)\n  vu:log('a', 1, 2.5, nil, true)\n  log('global', {} ~= nil)\n  vu:log()\nend\n");
  EXPECT_THAT(host_.logs, ElementsAre("a\t1\t2.5\tnil\ttrue", "global\ttrue", ""));
  EXPECT_THAT(sink_, IsEmpty());  // inside a virtual user, log() goes to its host
}

// ---------------------------------------------------------------- hooks

TEST_F(ScriptApi, HasHookSeesTheHooksDefinedWhenTheFileLoaded) {
  ASSERT_NO_FATAL_FAILURE(load(R"(function setup_bench(vu) end
function setup_cycle(vu, cycle, cvus) end
function setup_vu(vu) end
function setup(vu) end
teardown = "not a function"
function test_Api(vu)
  function teardown_vu(vu) end
end
)"));
  EXPECT_TRUE(state_.has_hook(Hook::setup_bench));
  EXPECT_TRUE(state_.has_hook(Hook::setup_cycle));
  EXPECT_TRUE(state_.has_hook(Hook::setup_vu));
  EXPECT_TRUE(state_.has_hook(Hook::setup));
  EXPECT_FALSE(state_.has_hook(Hook::teardown));
  EXPECT_FALSE(state_.has_hook(Hook::teardown_bench));
  EXPECT_FALSE(state_.has_hook(Hook::mid_cycle));
  EXPECT_FALSE(state_.has_hook(Hook::teardown_cycle));
  EXPECT_EQ(run().state, State::finished);
  EXPECT_FALSE(state_.has_hook(Hook::teardown_vu));  // defined by a test: not seen
}

TEST_F(ScriptApi, HooksGetTheirArgumentsAndCanMakeRequests) {
  ASSERT_NO_FATAL_FAILURE(load(R"(function setup_cycle(vu, cycle, cvus)
  vu:log("setup_cycle", cycle, math.type(cycle), cvus)
  vu:get("http://h/prime")
end
function mid_cycle(vu, cycle, cvus) vu:log("mid_cycle", cycle, cvus) end
function setup_vu(vu) vu.ready = true end
function setup(vu) vu:log("setup", vu.ready) end
function teardown(vu) vu:sleep(0.1) vu:log("teardown") end
)"));
  RunResult r = state_.start_hook(vu(), Hook::setup_cycle, {2, 10});
  EXPECT_EQ(r.state, State::waiting);  // the hook's request
  EXPECT_EQ(drive(state_, vu(), r).state, State::finished);
  EXPECT_EQ(drive(state_, vu(), state_.start_hook(vu(), Hook::mid_cycle, {2, 10})).state, State::finished);
  EXPECT_EQ(drive(state_, vu(), state_.start_hook(vu(), Hook::setup_vu)).state, State::finished);
  EXPECT_EQ(drive(state_, vu(), state_.start_hook(vu(), Hook::setup)).state, State::finished);
  EXPECT_EQ(drive(state_, vu(), state_.start_hook(vu(), Hook::teardown)).state, State::finished);
  EXPECT_THAT(host_.logs, ElementsAre("setup_cycle\t2\tinteger\t10", "mid_cycle\t2\t10", "setup\ttrue", "teardown"));
  ASSERT_EQ(host_.pages.size(), 1u);
  EXPECT_EQ(host_.pages[0].url, "http://h/prime");
  EXPECT_THAT(host_.sleeps, ElementsAre(0.1));
}

TEST_F(ScriptApi, AHookErrorIsReportedLikeATestsAndAMissingHookToo) {
  ASSERT_NO_FATAL_FAILURE(load("function setup(vu)\n  assert(false, 'no login')\nend\n"
                               "function setup_vu(vu)\n  local x = nil + 1\nend\n"));
  RunResult r = drive(state_, vu(), state_.start_hook(vu(), Hook::setup));
  EXPECT_EQ(r.verdict, Verdict::failure);
  EXPECT_EQ(r.message, "test_Api.lua:2: no login");
  r = drive(state_, vu(), state_.start_hook(vu(), Hook::setup_vu));
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_THAT(r.message, StartsWith("test_Api.lua:5: attempt to perform arithmetic on a nil value"));
  r = state_.start_hook(vu(), Hook::teardown);
  EXPECT_EQ(r.state, State::failed);
  EXPECT_EQ(r.message, "the test file defines no function 'teardown'");
}

// ---------------------------------------------------------------- start_tests

TEST_F(ScriptApi, StartTestsRunsTheTestAgainWhileTheHostSaysPassed) {
  ASSERT_NO_FATAL_FAILURE(load("runs = 0\nfunction test_Api(vu)\n  runs = runs + 1\n  vu:log('run', runs)\nend\n"));
  host_.passes = 3;
  RunResult r = state_.start_tests(vu(), state_.function_ref("test_Api"));
  // No request: the whole loop is one resume.
  EXPECT_EQ(r.state, State::finished);
  EXPECT_EQ(host_.tests_passed, 4);  // three "go on", then the fourth ends the loop
  EXPECT_THAT(host_.logs, ElementsAre("run\t1", "run\t2", "run\t3", "run\t4"));
}

TEST_F(ScriptApi, StartTestsLoopsAcrossRequests) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:get('http://h/a')\n  vu:get('http://h/b')\nend\n"));
  host_.passes = 2;
  RunResult r = state_.start_tests(vu(), state_.function_ref("test_Api"));
  int resumes = 0;
  while (r.state == State::waiting) {
    r = state_.resume(vu());
    ++resumes;
  }
  EXPECT_EQ(r.state, State::finished);
  EXPECT_EQ(resumes, 6);  // one per page, tests included: the loop never returns to the host
  EXPECT_EQ(host_.pages.size(), 6u);
  EXPECT_EQ(host_.tests_passed, 3);
}

TEST_F(ScriptApi, StartTestsEndsAtAFailedTestAndStartsCleanAfterIt) {
  ASSERT_NO_FATAL_FAILURE(load(R"(runs = 0
function test_Api(vu)
  runs = runs + 1
  vu:get("http://h/" .. runs)
  assert(runs ~= 2, "second run fails")
end
)"));
  host_.passes = 10;
  RunResult r = drive(state_, vu(), state_.start_tests(vu(), state_.function_ref("test_Api")));
  EXPECT_EQ(r.state, State::failed);
  EXPECT_EQ(r.verdict, Verdict::failure);
  EXPECT_EQ(r.message, "test_Api.lua:5: second run fails");
  EXPECT_EQ(host_.tests_passed, 1);  // the failed test is the host's to record, not test_passed's
  host_.passes = 0;
  r = drive(state_, vu(), state_.start_tests(vu(), state_.function_ref("test_Api")));
  EXPECT_EQ(r.state, State::finished);
  EXPECT_EQ(host_.tests_passed, 2);
  EXPECT_EQ(host_.pages.size(), 3u);
}

TEST_F(ScriptApi, StartOnASuspendedCoroutineAbandonsTheOldTest) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:get('http://h/')\n  vu:log('after page')\nend\n"
                               "function test_Other(vu) vu:log('other') end\n"));
  EXPECT_EQ(state_.start(vu(), "test_Api").state, State::waiting);
  // The engine stops a user mid-page and starts something else on its coroutine.
  EXPECT_EQ(run("test_Other").state, State::finished);
  EXPECT_THAT(host_.logs, ElementsAre("other"));
}

// ---------------------------------------------------------------- break_run

class ScriptBreak : public ScriptApi {
 protected:
  // Starts test_Loop on this thread while another breaks it as the engine's watcher does:
  // every 20 ms, as long as the run goes on. If the run is still going after 10 s, the
  // break does not work and the test would hang: the process ends instead.
  RunResult run_broken(const std::string& reason, std::chrono::milliseconds* took) {
    std::atomic<bool> done{false};
    std::thread breaker([&] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!done.load() && std::chrono::steady_clock::now() < deadline) {
        if (uint64_t run = state_.running_run(); run != 0) state_.break_run(run, reason);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!done.load()) {
        std::fprintf(stderr, "ScriptBreak: the run to break with '%s' was not broken within 10 s\n", reason.c_str());
        std::fflush(stderr);
        std::_Exit(1);
      }
    });
    const auto start = std::chrono::steady_clock::now();
    RunResult r = state_.start(vu(), "test_Loop");
    *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    done = true;
    breaker.join();
    return r;
  }
};

TEST_F(ScriptBreak, ARunThatNeverYieldsIsBrokenAndSoIsTheNextOneOfTheSameUser) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Loop(vu)\n  while true do end\nend\n"
                               "function test_Api(vu)\n  local r = vu:get('http://h/')\n  vu:log(r.status)\nend\n"));
  EXPECT_EQ(state_.running_run(), 0u);
  for (int round = 1; round <= 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::chrono::milliseconds took{};
    RunResult r = run_broken("stopped: round " + std::to_string(round), &took);
    EXPECT_EQ(r.state, State::failed);
    EXPECT_EQ(r.verdict, Verdict::error);
    EXPECT_EQ(r.kind, "script");
    EXPECT_THAT(r.message, StartsWith("test_Api.lua:2: "));
    EXPECT_THAT(r.message, HasSubstr("stopped: round " + std::to_string(round)));
    EXPECT_LT(took.count(), 5000);
    EXPECT_EQ(state_.running_run(), 0u);
  }
  // The user still works: its requests reach its host and its coroutine yields.
  RunResult r = run();
  EXPECT_EQ(r.state, State::finished) << r.message;
  EXPECT_THAT(host_.logs, ElementsAre("200"));
}

TEST_F(ScriptBreak, BreakingARunThatHasEndedDoesNothing) {
  ASSERT_NO_FATAL_FAILURE(load("function test_Api(vu)\n  vu:get('http://h/')\nend\n"));
  EXPECT_FALSE(state_.break_run(0, "none"));
  RunResult r = state_.start(vu(), "test_Api");
  ASSERT_EQ(r.state, State::waiting);
  EXPECT_EQ(state_.running_run(), 0u);  // waiting for its page is not running
  EXPECT_FALSE(state_.break_run(1, "too late"));
  r = drive(state_, vu(), r);
  EXPECT_EQ(r.state, State::finished) << r.message;
  EXPECT_TRUE(r.message.empty());
}

}  // namespace
}  // namespace bm::script
