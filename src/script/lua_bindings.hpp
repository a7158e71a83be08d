#pragma once
// What the Lua bindings of src/script/ share: the coroutine context, the metatable names,
// the small functions every binding calls, and how each file registers its part. Internal
// to bm_script; the engine sees only script_state.hpp and vu_state.hpp.
//
// script_state.cpp  the state: load, coroutines, run/resume, break_run, hooks
// lua_requests.cpp  vu:get/post/.../request, their options, do_request
// lua_responses.cpp the response object
// lua_vu.cpp        vu: headers, auth, cookies, ok codes, sleep, log, iteration, last
// lua_conf.cpp      conf_get*, log, assert, fail; the outcome object
// lua_test_data.cpp feed, credential, lease_credential, vu:release_credential
//
// The functions on the request path (check_self, host_of, push_response) are inline
// here so that each binding still inlines them as it did when they were file-local.
#include <lua.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "script/vu_state.hpp"

namespace bm::script {

inline constexpr const char* kVuMeta = "benchmaster.vu";
inline constexpr const char* kResponseMeta = "benchmaster.response";
inline constexpr const char* kOutcomeMeta = "benchmaster.outcome";
inline constexpr const char* kConfKey = "benchmaster.conf";
inline constexpr const char* kIdentityKey = "benchmaster.identity";
inline constexpr const char* kFeedersKey = "benchmaster.feeders";  // light userdata: the FeederSet

// Every vu method carries the vu and response metatables as upvalues: fetching one is an
// index into the running closure rather than a registry lookup by name. (A continuation
// runs in its C function's frame, so it sees the same upvalues.)
inline constexpr int kVuMetaUpvalue = 1, kResponseMetaUpvalue = 2;

// What a virtual user's coroutine keeps in its Lua extra space (the main thread keeps
// nullptr): its host, and its vu table and the response metatable, by address, for the
// cheap checks of `self` and of a response.
struct CoroutineContext {
  VuHost* host = nullptr;
  const void* vu_table = nullptr;
  const void* response_meta = nullptr;  // the response metatable, by address (check_response)
};

inline CoroutineContext* context_of(lua_State* L) { return *static_cast<CoroutineContext**>(lua_getextraspace(L)); }

inline VuHost* host_of(lua_State* L) {
  const CoroutineContext* context = context_of(L);
  return context ? context->host : nullptr;
}

inline VuHost* require_host(lua_State* L, const char* what) {
  VuHost* host = host_of(L);
  if (host == nullptr) luaL_error(L, "%s can only be called by a virtual user (inside a test or hook)", what);
  return host;
}

// Methods are called as vu:get(...); vu.get(...) is the usual slip, so say so.
inline void check_self(lua_State* L, const char* method) {
  // The usual call, vu:get(...) on the coroutine's own vu table.
  if (const CoroutineContext* context = context_of(L); context && lua_topointer(L, 1) == context->vu_table) return;
  if (!lua_istable(L, 1) || !lua_getmetatable(L, 1)) {
    luaL_error(L, "vu:%s: call it with a colon (vu:%s(...)), not a dot", method, method);
  }
  bool ok = lua_rawequal(L, -1, lua_upvalueindex(kVuMetaUpvalue));
  lua_pop(L, 1);
  if (!ok) luaL_error(L, "vu:%s: call it with a colon (vu:%s(...)), not a dot", method, method);
}

// lua_conf.cpp
// Raises a failure ('F') or error ('E') outcome object carrying file:line of the caller.
// Like every Lua error it leaves with longjmp, past C++ frames without destroying what
// is alive in them: call it (and luaL_error, luaL_check*) only where no C++ object with
// a destructor is alive, from the C function Lua called down to here.
[[noreturn]] void raise_outcome(lua_State* L, Verdict verdict, std::string_view kind, std::string_view message);
bool is_outcome(lua_State* L, int index);
// log()'s and vu:log()'s line: the arguments from `first` on, tab-separated.
std::string stringify_args(lua_State* L, int first);
// The outcome metatable, then the globals conf_get, conf_get_number, conf_get_list, log,
// assert, fail.
void register_globals(lua_State* L);

// lua_requests.cpp: "200:302" or {200, 302} (the ok_codes option, vu:set_ok_codes).
std::vector<int> read_codes(lua_State* L, int index, const char* what);
// vu:get, vu:post, ..., vu:request; then lua_vu.cpp's methods. Both go into the vu
// metatable's __index, in this order, with the upvalues kVuMetaUpvalue and
// kResponseMetaUpvalue.
extern const luaL_Reg kRequestMethods[9];
extern const luaL_Reg kVuStateMethods[15];

// lua_test_data.cpp: the globals feed, credential, credentials, lease_credential,
// credential_sequence; and vu:release_credential (in the vu metatable, after the others).
void register_test_data_globals(lua_State* L);
extern const luaL_Reg kTestDataMethods[2];

// lua_responses.cpp: creates the response metatable and leaves it on the stack.
void push_response_metatable(lua_State* L);

struct LuaResponse {
  VuHost* host;
  uint64_t sequence;
  int status;
  int redirects;
  int resources;
  Verdict verdict;
  int64_t connect_us, first_byte_us, total_us;
  uint64_t body_bytes, wire_bytes;
};

// Called from a vu method (its upvalues hold the response metatable).
inline void push_response(lua_State* L, VuHost* host) {
  const PageOutcome& out = host->outcome();
  auto* r = static_cast<LuaResponse*>(lua_newuserdatauv(L, sizeof(LuaResponse), 0));
  *r = LuaResponse{host,          out.sequence,  out.status,   out.redirects,  out.resources,
                   out.verdict,   out.connect_us, out.first_byte_us, out.total_us, out.body_bytes,
                   out.wire_bytes};
  lua_pushvalue(L, lua_upvalueindex(kResponseMetaUpvalue));
  lua_setmetatable(L, -2);
}

}  // namespace bm::script
