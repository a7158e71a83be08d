// The globals: conf_get, conf_get_number, conf_get_list, log, assert, fail; and the
// outcome object that assert(), fail() and a failed page raise.
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "conf/conf_file.hpp"
#include "script/lua_bindings.hpp"
#include "script/script_state.hpp"

namespace bm::script {

// Raises a failure ('F') or error ('E') outcome object carrying file:line of the caller.
// Everything is put together on the Lua stack: lua_error leaves this frame with longjmp,
// and a std::string here would never be freed.
[[noreturn]] void raise_outcome(lua_State* L, Verdict verdict, std::string_view kind, std::string_view message) {
  lua_createtable(L, 0, 3);
  lua_pushstring(L, verdict == Verdict::failure ? "failure" : "error");
  lua_setfield(L, -2, "verdict");
  lua_pushlstring(L, kind.data(), kind.size());
  lua_setfield(L, -2, "kind");
  luaL_where(L, 1);
  lua_pushlstring(L, message.data(), message.size());
  lua_concat(L, 2);
  lua_setfield(L, -2, "message");
  luaL_setmetatable(L, kOutcomeMeta);
  lua_error(L);
  abort();  // lua_error does not return
}

bool is_outcome(lua_State* L, int index) {
  if (!lua_istable(L, index) || !lua_getmetatable(L, index)) return false;
  luaL_getmetatable(L, kOutcomeMeta);
  bool yes = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return yes;
}

std::string stringify_args(lua_State* L, int first) {
  std::string line;
  int top = lua_gettop(L);
  for (int i = first; i <= top; ++i) {
    size_t len;
    const char* s = luaL_tolstring(L, i, &len);
    if (i > first) line += '\t';
    line.append(s, len);
    lua_pop(L, 1);
  }
  return line;
}

namespace {

int outcome_tostring(lua_State* L) {
  lua_getfield(L, 1, "message");
  return 1;
}

// ---------------------------------------------------------------- globals

const conf::ConfFile* conf_of(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kConfKey);
  auto* conf = static_cast<const conf::ConfFile*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return conf;
}

const ScriptIdentity* identity_of(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kIdentityKey);
  auto* id = static_cast<const ScriptIdentity*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return id;
}

// Pushes the conf value or the default; raises a clear error when neither exists.
bool push_conf_value(lua_State* L, const char* fn) {
  const char* section = luaL_checkstring(L, 1);
  const char* key = luaL_checkstring(L, 2);
  const conf::ConfFile* conf = conf_of(L);
  if (conf != nullptr) {
    if (auto value = conf->get(section, key)) {
      lua_pushlstring(L, value->data(), value->size());
      return true;
    }
  }
  if (std::strcmp(section, "bench") == 0 && std::strcmp(key, "node_num") == 0) {
    lua_pushinteger(L, identity_of(L)->node_num);
    lua_tostring(L, -1);
    return true;
  }
  if (lua_gettop(L) >= 3) {
    lua_pushvalue(L, 3);
    return false;
  }
  luaL_error(L, "%s: no key '%s' in section [%s] of %s and no default given", fn, key, section,
             conf ? conf->source().c_str() : "the conf");
  return false;
}

// conf_get's answers by section and key, a table of tables kept as the function's
// upvalue: the conf does not change during a run, and a test that reads the URL on every
// call, as the docs teach, then costs two table lookups instead of an interpolation and
// a new string.
constexpr int kConfCache = lua_upvalueindex(1);

// With a cached value on top, true; else the stack as it was.
bool push_cached_conf_value(lua_State* L) {
  if (lua_type(L, 1) != LUA_TSTRING || lua_type(L, 2) != LUA_TSTRING) return false;
  const int top = lua_gettop(L);
  lua_pushvalue(L, 1);
  if (lua_rawget(L, kConfCache) == LUA_TTABLE) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) == LUA_TSTRING) return true;
  }
  lua_settop(L, top);
  return false;
}

// Remembers the string on top of the stack as the value of (section, key) = (1, 2).
void cache_conf_value(lua_State* L) {
  if (lua_type(L, 1) != LUA_TSTRING || lua_type(L, 2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) return;
  const int value = lua_gettop(L);
  lua_pushvalue(L, 1);
  if (lua_rawget(L, kConfCache) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, kConfCache);
  }
  lua_pushvalue(L, 2);
  lua_pushvalue(L, value);
  lua_rawset(L, -3);
  lua_settop(L, value);
}

int l_conf_get(lua_State* L) {
  if (push_cached_conf_value(L)) return 1;
  if (push_conf_value(L, "conf_get")) {
    cache_conf_value(L);
    return 1;
  }
  if (lua_isnil(L, -1)) return 1;
  luaL_tolstring(L, -1, nullptr);
  return 1;
}

int l_conf_get_number(lua_State* L) {
  bool from_conf = push_conf_value(L, "conf_get_number");
  if (lua_type(L, -1) == LUA_TNUMBER) return 1;
  if (!from_conf && lua_isnil(L, -1)) return 1;
  // "2" stays an integer and "0.5" a float, as Lua's own tonumber() would read them.
  if (lua_type(L, -1) == LUA_TSTRING && lua_stringtonumber(L, lua_tostring(L, -1)) != 0) return 1;
  return luaL_error(L, "conf_get_number: [%s] %s = '%s' is not a number", lua_tostring(L, 1), lua_tostring(L, 2),
                    luaL_tolstring(L, -1, nullptr));
}

int l_conf_get_list(lua_State* L) {
  // conf_get_list(section, key, default, separator=":")
  // A copy: the separator's string leaves the stack below and may be collected. (A
  // buffer, not std::string: a Lua error below skips destructors.)
  size_t sep_len = 0;
  const char* given = luaL_optlstring(L, 4, ":", &sep_len);
  char sep_copy[64];
  if (sep_len >= sizeof sep_copy) return luaL_error(L, "conf_get_list: separator longer than 63 bytes");
  std::memcpy(sep_copy, given, sep_len);
  const std::string_view sep(sep_copy, sep_len);
  if (lua_gettop(L) > 3) lua_settop(L, 3);
  bool from_conf = push_conf_value(L, "conf_get_list");
  if (!from_conf) return 1;  // the default as given (a table, or nil)
  size_t len;
  const char* text = lua_tolstring(L, -1, &len);
  std::string_view rest(text, len), separator(sep);
  lua_newtable(L);
  int n = 0;
  while (true) {
    size_t at = separator.empty() ? std::string_view::npos : rest.find(separator);
    std::string_view item = rest.substr(0, at);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (!item.empty()) {
      lua_pushlstring(L, item.data(), item.size());
      lua_rawseti(L, -2, ++n);
    }
    if (at == std::string_view::npos) break;
    rest.remove_prefix(at + separator.size());
  }
  return 1;
}

int l_log(lua_State* L) {
  std::string line = stringify_args(L, 1);
  if (VuHost* host = host_of(L)) {
    host->log(line);
  } else if (const ScriptIdentity* id = identity_of(L); id && id->log_sink) {
    id->log_sink(line);
  }
  return 0;
}

// assert() makes the test fail ('F'), as unittest's assertions did in FunkLoad; any
// other Lua error is a script error ('E').
int l_assert(lua_State* L) {
  luaL_checkany(L, 1);
  if (lua_toboolean(L, 1)) return lua_gettop(L);
  const char* msg = lua_gettop(L) >= 2 ? luaL_tolstring(L, 2, nullptr) : "assertion failed!";
  raise_outcome(L, Verdict::failure, "assertion", msg);
}

int l_fail(lua_State* L) {
  const char* msg = lua_gettop(L) >= 1 ? luaL_tolstring(L, 1, nullptr) : "failed";
  raise_outcome(L, Verdict::failure, "assertion", msg);
}

}  // namespace

void register_globals(lua_State* L) {
  luaL_newmetatable(L, kOutcomeMeta);
  lua_pushcfunction(L, outcome_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);

  lua_newtable(L);  // conf_get's cache, its upvalue
  lua_pushcclosure(L, l_conf_get, 1);
  lua_setglobal(L, "conf_get");
  lua_register(L, "conf_get_number", l_conf_get_number);
  lua_register(L, "conf_get_list", l_conf_get_list);
  lua_register(L, "log", l_log);
  lua_register(L, "assert", l_assert);
  lua_register(L, "fail", l_fail);
}

}  // namespace bm::script
