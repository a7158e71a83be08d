// The Lua state of one worker: loading the test, virtual users as coroutines, running
// and resuming them, breaking a run from another thread, hooks. The Lua API itself is in
// lua_requests.cpp, lua_responses.cpp, lua_vu.cpp and lua_conf.cpp (see lua_bindings.hpp).
#include "script/script_state.hpp"

#include <lua.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "common/files.hpp"
#include "common/location.hpp"
#include "script/lua_allocator.hpp"
#include "script/lua_bindings.hpp"

namespace bm::script {
namespace {

int l_test_passed(lua_State* L) {
  lua_pushboolean(L, host_of(L)->test_passed());
  return 1;
}

// The body of start_tests' coroutine. A chunk, not C code, so that a test function's
// requests can yield from inside it.
constexpr std::string_view kTestLoop = "local test, vu, passed = ...\nrepeat test(vu) until not passed()\n";

int traceback_handler(lua_State* L) {
  const char* msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : luaL_tolstring(L, 1, nullptr), 1);
  return 1;
}

}  // namespace

const char* hook_name(Hook hook) {
  switch (hook) {
    case Hook::setup_bench: return "setup_bench";
    case Hook::teardown_bench: return "teardown_bench";
    case Hook::setup_cycle: return "setup_cycle";
    case Hook::mid_cycle: return "mid_cycle";
    case Hook::teardown_cycle: return "teardown_cycle";
    case Hook::setup_vu: return "setup_vu";
    case Hook::teardown_vu: return "teardown_vu";
    case Hook::setup: return "setup";
    case Hook::teardown: return "teardown";
  }
  return "?";
}

struct ScriptState::Vu {
  CoroutineContext context;
  lua_State* co = nullptr;
  int thread_ref = LUA_NOREF;
  int table_ref = LUA_NOREF;
};

ScriptState::ScriptState() : allocator_(std::make_unique<LuaAllocator>()) {
  hook_refs_.fill(LUA_NOREF);
  L_ = lua_newstate(&LuaAllocator::alloc, allocator_.get());
  lua_atpanic(L_, [](lua_State* L) -> int {
    const char* message = lua_tostring(L, -1);
    std::fprintf(stderr, "benchmaster: unprotected Lua error: %s\n", message ? message : "?");
    return 0;  // Lua aborts
  });
  *static_cast<CoroutineContext**>(lua_getextraspace(L_)) = nullptr;
  luaL_openlibs(L_);
  set_users(1);

  push_response_metatable(L_);

  luaL_newmetatable(L_, kVuMeta);  // response meta, vu meta
  lua_createtable(L_, 0,
                  static_cast<int>(std::size(kRequestMethods) - 1 + std::size(kVuStateMethods) - 1 +
                                   std::size(kTestDataMethods) - 1));
  lua_pushvalue(L_, -2);  // upvalue kVuMetaUpvalue
  lua_pushvalue(L_, -4);  // upvalue kResponseMetaUpvalue
  luaL_setfuncs(L_, kRequestMethods, 2);
  lua_pushvalue(L_, -2);  // upvalue kVuMetaUpvalue
  lua_pushvalue(L_, -4);  // upvalue kResponseMetaUpvalue
  luaL_setfuncs(L_, kVuStateMethods, 2);
  lua_pushvalue(L_, -2);  // upvalue kVuMetaUpvalue
  lua_pushvalue(L_, -4);  // upvalue kResponseMetaUpvalue
  luaL_setfuncs(L_, kTestDataMethods, 2);
  lua_setfield(L_, -2, "__index");
  lua_pop(L_, 2);

  register_globals(L_);
  register_test_data_globals(L_);


  if (luaL_loadbufferx(L_, kTestLoop.data(), kTestLoop.size(), "=(test loop)", "t") == LUA_OK) {
    test_loop_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L_, 1);  // cannot happen with this text; start_tests then runs one test per start
  }
}

ScriptState::~ScriptState() {
  for (Vu* vu : vus_) delete vu;
  if (L_) lua_close(L_);
}

bool ScriptState::load(const std::filesystem::path& test_file, const conf::ConfFile* conf,
                       const ScriptIdentity& identity, std::string* error) {
  lua_pushlightuserdata(L_, const_cast<conf::ConfFile*>(conf));
  lua_setfield(L_, LUA_REGISTRYINDEX, kConfKey);
  lua_pushlightuserdata(L_, const_cast<ScriptIdentity*>(&identity));
  lua_setfield(L_, LUA_REGISTRYINDEX, kIdentityKey);
  feeders_ = identity.feeders;
  lua_pushlightuserdata(L_, feeders_.get());
  lua_setfield(L_, LUA_REGISTRYINDEX, kFeedersKey);

  lua_createtable(L_, 0, 4);
  lua_pushinteger(L_, identity.node_num);
  lua_setfield(L_, -2, "node_num");
  lua_pushstring(L_, identity.test_name.c_str());
  lua_setfield(L_, -2, "test_name");
  lua_pushstring(L_, identity.url.c_str());
  lua_setfield(L_, -2, "url");
  lua_pushstring(L_, identity.version.c_str());
  lua_setfield(L_, -2, "version");
  lua_setglobal(L_, "bench");

  // The chunk is named by the file's base name: Lua cuts longer names to their last 56
  // characters. Messages then name the file as the user typed it (name_file_as_shown).
  const std::string name = "@" + test_file.filename().string();
  chunk_location_ = test_file.filename().string() + ":";
  shown_location_ = (identity.test_file_shown.empty() ? test_file.filename().string() : identity.test_file_shown) + ":";
  int error_number = 0;
  const std::optional<std::string> source = common::read_whole_file(test_file, &error_number);
  if (!source) {
    *error = common::located(test_file.string(), 0, fmt::format("cannot read the test file: {}", std::strerror(error_number)));
    return false;
  }
  lua_pushcfunction(L_, traceback_handler);
  if (luaL_loadbufferx(L_, source->data(), source->size(), name.c_str(), "t") != LUA_OK) {
    *error = lua_tostring(L_, -1);
    name_file_as_shown(error);
    lua_pop(L_, 2);
    return false;
  }
  if (lua_pcall(L_, 0, 0, -2) != LUA_OK) {
    std::string msg = lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "error while loading the test";
    *error = msg.substr(0, msg.find('\n'));
    name_file_as_shown(error);
    lua_pop(L_, 2);
    return false;
  }
  lua_pop(L_, 1);
  // Hooks are looked up once, here: asking the globals before every test cost more than
  // the rest of the test loop's bookkeeping.
  for (size_t i = 0; i < hook_refs_.size(); ++i) hook_refs_[i] = function_ref(hook_name(static_cast<Hook>(i)));
  return true;
}

bool ScriptState::has_function(std::string_view name) const {
  lua_getglobal(L_, std::string(name).c_str());
  bool yes = lua_isfunction(L_, -1);
  lua_pop(L_, 1);
  return yes;
}

std::vector<std::string> ScriptState::global_functions() const {
  std::vector<std::string> names;
  lua_pushglobaltable(L_);
  lua_pushnil(L_);
  while (lua_next(L_, -2) != 0) {
    // lua_type, not lua_isstring: converting a number key in place would upset lua_next.
    if (lua_type(L_, -2) == LUA_TSTRING && lua_isfunction(L_, -1)) names.emplace_back(lua_tostring(L_, -2));
    lua_pop(L_, 1);
  }
  lua_pop(L_, 1);
  std::sort(names.begin(), names.end());
  return names;
}

bool ScriptState::has_hook(Hook hook) const { return hook_refs_[static_cast<size_t>(hook)] != LUA_NOREF; }

// A virtual user's coroutine outlives it: a free id keeps its thread for the next user.
// No coroutine is freed while the state lives, so break_run() on another thread can
// never reach a thread the collector has freed.
int ScriptState::create_vu(VuHost* host) {
  int id;
  Vu* vu;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
    vu = vus_[id];
  } else {
    vu = new Vu;
    vu->co = lua_newthread(L_);
    *static_cast<CoroutineContext**>(lua_getextraspace(vu->co)) = &vu->context;
    vu->thread_ref = luaL_ref(L_, LUA_REGISTRYINDEX);
    id = static_cast<int>(vus_.size());
    vus_.push_back(vu);
  }
  vu->context.host = host;

  lua_createtable(L_, 0, 4);
  lua_pushinteger(L_, host->vu_id());
  lua_setfield(L_, -2, "id");
  lua_pushinteger(L_, host->cycle());
  lua_setfield(L_, -2, "cycle");
  lua_pushinteger(L_, host->cvus());
  lua_setfield(L_, -2, "cvus");
  lua_getglobal(L_, "bench");
  lua_getfield(L_, -1, "node_num");
  lua_setfield(L_, -3, "node_num");
  lua_pop(L_, 1);
  luaL_setmetatable(L_, kVuMeta);
  vu->context.vu_table = lua_topointer(L_, -1);
  luaL_getmetatable(L_, kResponseMeta);
  vu->context.response_meta = lua_topointer(L_, -1);
  lua_pop(L_, 1);
  vu->table_ref = luaL_ref(L_, LUA_REGISTRYINDEX);
  return id;
}

void ScriptState::destroy_vu(int id) {
  Vu* vu = vus_[id];
  luaL_unref(L_, LUA_REGISTRYINDEX, vu->table_ref);
  vu->table_ref = LUA_NOREF;
  vu->context.host = nullptr;
  vu->context.vu_table = nullptr;
  lua_resetthread(vu->co);  // closes what a test left open; the thread stays for reuse
  lua_settop(vu->co, 0);
  free_ids_.push_back(id);
}

int ScriptState::function_ref(std::string_view name) {
  std::string key(name);
  if (auto it = function_refs_.find(key); it != function_refs_.end()) return it->second;
  lua_getglobal(L_, key.c_str());
  int ref = lua_isfunction(L_, -1) ? luaL_ref(L_, LUA_REGISTRYINDEX) : (lua_pop(L_, 1), LUA_NOREF);
  function_refs_.emplace(std::move(key), ref);
  return ref;
}

RunResult ScriptState::start(int id, std::string_view function, std::initializer_list<double> args) {
  int ref = function_ref(function);
  if (ref == LUA_NOREF) {
    RunResult result;
    result.state = RunResult::State::failed;
    result.verdict = Verdict::error;
    result.kind = "script";
    result.message = fmt::format("the test file defines no function '{}'", function);
    return result;
  }
  return start(id, ref, args);
}

// The virtual user's coroutine, ready for a new function: one that failed or was left
// suspended (a test abandoned mid-page) is reset first.
lua_State* ScriptState::idle_coroutine(int id) {
  lua_State* co = vus_[id]->co;
  if (lua_status(co) != LUA_OK || lua_gettop(co) != 0) {
    lua_resetthread(co);
    lua_settop(co, 0);
  }
  return co;
}

RunResult ScriptState::start(int id, int function, std::initializer_list<double> args) {
  Vu* vu = vus_[id];
  lua_State* co = idle_coroutine(id);
  lua_rawgeti(co, LUA_REGISTRYINDEX, function);
  lua_rawgeti(co, LUA_REGISTRYINDEX, vu->table_ref);
  for (double a : args) {
    if (a == std::floor(a) && std::abs(a) < 1e15) lua_pushinteger(co, static_cast<lua_Integer>(a));
    else lua_pushnumber(co, a);
  }
  return run(id, 1 + static_cast<int>(args.size()));
}

RunResult ScriptState::start_tests(int id, int test_ref) {
  if (test_loop_ref_ == LUA_NOREF) return start(id, test_ref);
  Vu* vu = vus_[id];
  lua_State* co = idle_coroutine(id);
  lua_rawgeti(co, LUA_REGISTRYINDEX, test_loop_ref_);
  lua_rawgeti(co, LUA_REGISTRYINDEX, test_ref);
  lua_rawgeti(co, LUA_REGISTRYINDEX, vu->table_ref);
  lua_pushcfunction(co, l_test_passed);
  return run(id, 3);
}

RunResult ScriptState::start_hook(int id, Hook hook, std::initializer_list<double> args) {
  int ref = hook_refs_[static_cast<size_t>(hook)];
  if (ref == LUA_NOREF) return start(id, hook_name(hook), args);  // the error for a missing function
  return start(id, ref, args);
}

RunResult ScriptState::resume(int id) { return run(id, 0); }

namespace {
// The state whose coroutine this thread is running: the break hook's way back to it.
thread_local ScriptState* t_running_state = nullptr;
}  // namespace

void ScriptState::break_hook(lua_State* L, lua_Debug*) {
  lua_sethook(L, nullptr, 0, 0);
  ScriptState* state = t_running_state;
  // Nothing with a destructor may be alive here: lua_error does not return.
  if (state == nullptr || !state->push_break_message(L)) return;  // meant for a run that has ended
  lua_error(L);
}

bool ScriptState::push_break_message(lua_State* co) {
  std::lock_guard lock(break_mutex_);
  const bool pending = break_seq_ != 0 && break_seq_ == run_seq_.load(std::memory_order_relaxed) &&
                       running_co_.load(std::memory_order_relaxed) == co;
  break_seq_ = 0;
  if (!pending) return false;
  broken_run_ = run_seq_.load(std::memory_order_relaxed);
  broken_run_abandoned_ = break_abandons_;
  luaL_where(co, 0);
  lua_pushstring(co, break_reason_.c_str());
  lua_concat(co, 2);
  return true;
}

uint64_t ScriptState::running_run() const {
  if (running_co_.load(std::memory_order_acquire) == nullptr) return 0;
  return run_seq_.load(std::memory_order_acquire);
}

bool ScriptState::break_run(uint64_t run, std::string reason, bool abandon) {
  std::lock_guard lock(break_mutex_);
  lua_State* co = running_co_.load(std::memory_order_acquire);
  if (run == 0 || co == nullptr || run_seq_.load(std::memory_order_acquire) != run) return false;
  break_seq_ = run;
  break_reason_ = std::move(reason);
  break_abandons_ = abandon;
  // Lua allows setting a hook from outside the running thread (as from a signal
  // handler); the coroutine stays allocated (create_vu), and the hook checks that the
  // run it was meant for is still the one running.
  lua_sethook(co, &ScriptState::break_hook, LUA_MASKCOUNT, 1);
  return true;
}

void ScriptState::name_file_as_shown(std::string* text) const {
  if (shown_location_ == chunk_location_ || chunk_location_.empty()) return;
  // A location starts the text or a line of a traceback (after its tab), or stands in
  // "in function <test_X.lua:3>"; it is the base name and a line number. Elsewhere the
  // name is the test's own text, left alone.
  for (std::size_t at = text->find(chunk_location_); at != std::string::npos;
       at = text->find(chunk_location_, at + 1)) {
    const char before = at == 0 ? '\n' : (*text)[at - 1];
    const std::size_t digit = at + chunk_location_.size();
    if ((before == '\t' || before == '\n' || before == '<') && digit < text->size() &&
        std::isdigit(static_cast<unsigned char>((*text)[digit]))) {
      text->replace(at, chunk_location_.size(), shown_location_);
      at += shown_location_.size() - 1;
    }
  }
}

namespace {

// A scalar inside an error object: strings quoted, tables not entered.
std::string error_field(lua_State* L, int index) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING: return fmt::format("\"{}\"", lua_tostring(L, index));
    case LUA_TNUMBER:
    case LUA_TBOOLEAN: {
      std::string text = luaL_tolstring(L, index, nullptr);
      lua_pop(L, 1);
      return text;
    }
    case LUA_TTABLE: return "{...}";
    default: return std::string("<") + luaL_typename(L, index) + ">";
  }
}

}  // namespace

// What error(value) raised, as a message that groups: a string or number as it is; a
// table by its __tostring, its `message` field, or its fields ("error object {code = 42,
// reason = "x"}", keys sorted, 10 at most) rather than its address, which differs per
// raise; nil as such.
std::string ScriptState::describe_error_value(lua_State* L, int index) {
  index = lua_absindex(L, index);
  std::string out;
  if (lua_isnoneornil(L, index)) {
    out = "error() without a message";
  } else if (lua_type(L, index) == LUA_TTABLE && !luaL_getmetafield(L, index, "__tostring")) {
    if (lua_getfield(L, index, "message") == LUA_TSTRING) {
      out = lua_tostring(L, -1);
      lua_pop(L, 1);
    } else {
      lua_pop(L, 1);
      std::vector<std::pair<std::string, std::string>> fields;
      lua_pushnil(L);
      while (lua_next(L, index) != 0) {
        std::string key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : error_field(L, -2);
        fields.emplace_back(std::move(key), error_field(L, -1));
        lua_pop(L, 1);
      }
      std::sort(fields.begin(), fields.end());
      out = "error object {";
      for (std::size_t i = 0; i < fields.size() && i < 10; ++i) {
        out += fmt::format("{}{} = {}", i == 0 ? "" : ", ", fields[i].first, fields[i].second);
      }
      out += fields.size() > 10 ? ", ...}" : "}";
    }
  } else {
    if (lua_type(L, index) == LUA_TTABLE) lua_pop(L, 1);  // the __tostring luaL_getmetafield pushed
    const bool plain = lua_type(L, index) == LUA_TSTRING || lua_type(L, index) == LUA_TNUMBER;
    std::size_t len = 0;
    const char* text = luaL_tolstring(L, index, &len);
    out = plain || lua_type(L, index) == LUA_TTABLE ? std::string(text, len) : "error object " + std::string(text, len);
    lua_pop(L, 1);
  }
  lua_remove(L, index);
  return out;
}

RunResult ScriptState::run(int id, int nargs) {
  lua_State* co = vus_[id]->co;
  int nresults = 0;
  // Single writer (this thread): a load and a store, no locked instruction per resume.
  run_seq_.store(run_seq_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  running_co_.store(co, std::memory_order_release);
  t_running_state = this;
  int status = lua_resume(co, L_, nargs, &nresults);
  running_co_.store(nullptr, std::memory_order_release);
  RunResult result;
  if (status == LUA_YIELD) {
    lua_pop(co, nresults);
    result.state = RunResult::State::waiting;
    return result;
  }
  if (status == LUA_OK) {
    lua_settop(co, 0);
    result.state = RunResult::State::finished;
    return result;
  }
  result.state = RunResult::State::failed;
  result.verdict = Verdict::error;
  result.kind = "script";
  if (is_outcome(co, -1)) {
    lua_getfield(co, -1, "verdict");
    result.verdict = std::strcmp(lua_tostring(co, -1), "failure") == 0 ? Verdict::failure : Verdict::error;
    lua_getfield(co, -2, "kind");
    result.kind = lua_tostring(co, -1);
    lua_getfield(co, -3, "message");
    result.message = lua_tostring(co, -1);
    lua_pop(co, 3);
  } else {
    result.message = describe_error_value(co, -1);
    luaL_traceback(L_, co, nullptr, 0);
    result.traceback = lua_tostring(L_, -1);
    lua_pop(L_, 1);
  }
  name_file_as_shown(&result.message);
  name_file_as_shown(&result.traceback);
  lua_resetthread(co);
  lua_settop(co, 0);
  if (broken_run_ == run_seq_.load(std::memory_order_relaxed)) {
    if (broken_run_abandoned_) result.kind = "abandoned";  // not the test's fault: the run was stopped
    replace_coroutine(id);
  }
  return result;
}

// A coroutine whose run was broken by the hook cannot be hooked again: the error left
// the hook unfinished, and Lua keeps hooks off for that thread from then on. The
// virtual user gets a fresh one. Under the break lock, so that break_run() never holds
// a thread the collector may free.
void ScriptState::replace_coroutine(int id) {
  std::lock_guard lock(break_mutex_);
  Vu* vu = vus_[id];
  luaL_unref(L_, LUA_REGISTRYINDEX, vu->thread_ref);
  vu->co = lua_newthread(L_);
  *static_cast<CoroutineContext**>(lua_getextraspace(vu->co)) = &vu->context;
  vu->thread_ref = luaL_ref(L_, LUA_REGISTRYINDEX);
}

// Every response is a small userdata that dies young. With Lua's default pause (200)
// the collector lets the heap double before a cycle starts: at 10,000 users that is
// about 10 MB of dead responses. A pause of 120 bounds it at a fifth of the live heap,
// for about 150 more instructions per request (docs/performance.md); with few users the
// heap is small, and the default is the better trade. A test may still call
// collectgarbage() to choose otherwise.
void ScriptState::set_users(size_t users) {
  int pause = users >= 1000 ? 120 : 200;
  if (pause == gc_pause_) return;
  gc_pause_ = pause;
  lua_gc(L_, LUA_GCINC, pause, 0, 0);
}

size_t ScriptState::memory_bytes() const {
  return static_cast<size_t>(lua_gc(L_, LUA_GCCOUNT, 0)) * 1024 + static_cast<size_t>(lua_gc(L_, LUA_GCCOUNTB, 0));
}

}  // namespace bm::script
