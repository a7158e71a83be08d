// The response object that vu:get and the other requests return: a small userdata
// whose body and headers are read from the virtual user's buffers.
#include <cctype>
#include <cstring>
#include <string>
#include <string_view>

#include "script/lua_bindings.hpp"

namespace bm::script {
namespace {

// In a virtual user's coroutine the metatable is compared by address (luaL_checkudata
// looks it up in the registry by name: ~300 instructions, twice for r:contains(...)).
LuaResponse* check_response(lua_State* L, int index) {
  if (const CoroutineContext* context = context_of(L);
      context && context->response_meta && lua_type(L, index) == LUA_TUSERDATA && lua_getmetatable(L, index)) {
    const bool response = lua_topointer(L, -1) == context->response_meta;
    lua_pop(L, 1);
    if (response) return static_cast<LuaResponse*>(lua_touserdata(L, index));
  }
  return static_cast<LuaResponse*>(luaL_checkudata(L, index, kResponseMeta));
}

// Body and headers live in the virtual user's buffers until its next page.
const http::ResponseParser& current_response(lua_State* L, const LuaResponse* r, const char* what) {
  if (r->host->outcome().sequence != r->sequence) {
    luaL_error(L,
               "response.%s: this response was replaced by a later request of the same virtual user; "
               "keep what you need (local body = r.body) before the next request",
               what);
  }
  return r->host->last_response();
}

int response_header(lua_State* L) {
  LuaResponse* r = check_response(L, 1);
  size_t len;
  const char* name = luaL_checklstring(L, 2, &len);
  const auto& parser = current_response(L, r, "header");
  for (size_t i = 0; i < parser.header_count(); ++i) {
    auto [n, v] = parser.header_at(i);
    if (n.size() == len && strncasecmp(n.data(), name, len) == 0) {
      lua_pushlstring(L, v.data(), v.size());
      return 1;
    }
  }
  lua_pushnil(L);
  return 1;
}

int response_contains(lua_State* L) {
  LuaResponse* r = check_response(L, 1);
  size_t len;
  const char* needle = luaL_checklstring(L, 2, &len);
  std::string_view body = current_response(L, r, "contains").body();
  lua_pushboolean(L, body.find(std::string_view(needle, len)) != std::string_view::npos);
  return 1;
}

// r:extract(start, stop): the text between the first `start` and the next `stop`
// (FunkLoad's extract_token), nil when absent.
int response_extract(lua_State* L) {
  LuaResponse* r = check_response(L, 1);
  size_t start_len, stop_len;
  const char* start = luaL_checklstring(L, 2, &start_len);
  const char* stop = luaL_checklstring(L, 3, &stop_len);
  std::string_view body = current_response(L, r, "extract").body();
  size_t a = body.find(std::string_view(start, start_len));
  if (a == std::string_view::npos) return lua_pushnil(L), 1;
  a += start_len;
  size_t b = body.find(std::string_view(stop, stop_len), a);
  if (b == std::string_view::npos) return lua_pushnil(L), 1;
  lua_pushlstring(L, body.data() + a, b - a);
  return 1;
}

int response_index(lua_State* L) {
  LuaResponse* r = check_response(L, 1);
  size_t len;
  const char* key = luaL_checklstring(L, 2, &len);
  std::string_view k(key, len);
  const PageOutcome& out = r->host->outcome();
  bool current = out.sequence == r->sequence;
  if (k == "status") lua_pushinteger(L, r->status);
  else if (k == "ok") lua_pushboolean(L, r->verdict == Verdict::ok);
  else if (k == "body") {
    std::string_view body = current_response(L, r, "body").body();
    lua_pushlstring(L, body.data(), body.size());
  } else if (k == "headers") {
    const auto& parser = current_response(L, r, "headers");
    lua_createtable(L, 0, static_cast<int>(parser.header_count()));
    for (size_t i = 0; i < parser.header_count(); ++i) {
      auto [name, value] = parser.header_at(i);
      std::string lower(name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      lua_getfield(L, -1, lower.c_str());
      if (lua_isstring(L, -1)) {  // repeated header: join as HTTP allows
        std::string joined = std::string(lua_tostring(L, -1)) + ", " + std::string(value);
        lua_pop(L, 1);
        lua_pushlstring(L, joined.data(), joined.size());
      } else {
        lua_pop(L, 1);
        lua_pushlstring(L, value.data(), value.size());
      }
      lua_setfield(L, -2, lower.c_str());
    }
  } else if (k == "url" || k == "method" || k == "description") {
    if (!current) return luaL_error(L, "response.%s: this response was replaced by a later request", key);
    const std::string& s = k == "url" ? out.final_url : k == "method" ? out.method : out.key;
    lua_pushlstring(L, s.data(), s.size());
  } else if (k == "redirects") lua_pushinteger(L, r->redirects);
  else if (k == "resources") lua_pushinteger(L, r->resources);
  else if (k == "time") lua_pushnumber(L, r->total_us / 1e6);
  else if (k == "connect_time") lua_pushnumber(L, r->connect_us / 1e6);
  else if (k == "first_byte_time") lua_pushnumber(L, r->first_byte_us / 1e6);
  else if (k == "size") lua_pushinteger(L, static_cast<lua_Integer>(r->body_bytes));
  else if (k == "bytes") lua_pushinteger(L, static_cast<lua_Integer>(r->wire_bytes));
  else if (k == "header") lua_pushcfunction(L, response_header);
  else if (k == "contains") lua_pushcfunction(L, response_contains);
  else if (k == "extract") lua_pushcfunction(L, response_extract);
  else lua_pushnil(L);
  return 1;
}

int response_tostring(lua_State* L) {
  LuaResponse* r = check_response(L, 1);
  lua_pushfstring(L, "response(%d)", r->status);
  return 1;
}

}  // namespace

void push_response_metatable(lua_State* L) {
  luaL_newmetatable(L, kResponseMeta);
  lua_pushcfunction(L, response_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, response_tostring);
  lua_setfield(L, -2, "__tostring");
}

}  // namespace bm::script
