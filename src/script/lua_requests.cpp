// The requests: vu:get, vu:post, vu:put, vu:delete, vu:head, vu:options, vu:patch and
// vu:request; their options; do_request, which asks the host for the page and yields.
#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "script/lua_bindings.hpp"

namespace bm::script {

namespace {

// One status of "200:302" (as strtol reads it), or 0 when it is not one.
int status_code(std::string_view text) {
  const std::string item(text);
  char* end = nullptr;
  const long code = std::strtol(item.c_str(), &end, 10);
  return item.empty() || *end != '\0' || code < 100 || code > 599 ? 0 : static_cast<int>(code);
}

}  // namespace

// Checked before the codes are collected: a Lua error leaves with longjmp, and a vector
// or string alive here would never be freed.
std::vector<int> read_codes(lua_State* L, int index, const char* what) {
  if (lua_type(L, index) == LUA_TSTRING) {  // "200:302", as in the conf
    const std::string_view all = lua_tostring(L, index);
    for (std::string_view text = all; !text.empty();) {
      const size_t at = text.find(':');
      const std::string_view item = text.substr(0, at);
      if (status_code(item) == 0) {
        lua_pushlstring(L, item.data(), item.size());
        luaL_error(L, "%s: '%s' is not an HTTP status", what, lua_tostring(L, -1));
      }
      if (at == std::string_view::npos) break;
      text.remove_prefix(at + 1);
    }
    std::vector<int> codes;
    for (std::string_view text = all; !text.empty();) {
      const size_t at = text.find(':');
      codes.push_back(status_code(text.substr(0, at)));
      if (at == std::string_view::npos) break;
      text.remove_prefix(at + 1);
    }
    return codes;
  }
  if (!lua_istable(L, index)) luaL_error(L, "%s must be a list of HTTP status codes", what);
  const lua_Integer n = luaL_len(L, index);
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, index, i);
    int isnum = 0;
    lua_Integer code = lua_tointegerx(L, -1, &isnum);
    if (!isnum || code < 100 || code > 599) luaL_error(L, "%s: item %d is not an HTTP status", what, (int)i);
    lua_pop(L, 1);
  }
  std::vector<int> codes;
  codes.reserve(static_cast<std::size_t>(n));
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, index, i);
    codes.push_back(static_cast<int>(lua_tointeger(L, -1)));
    lua_pop(L, 1);
  }
  return codes;
}

namespace {

// Reads one string-ish value at `index` into a view that outlives the stack slot:
// strings are anchored by the options table, numbers are copied into scratch.
std::string_view option_string(lua_State* L, int index, PageRequest& req, const char* what) {
  if (lua_type(L, index) == LUA_TSTRING) {
    size_t len;
    const char* s = lua_tolstring(L, index, &len);
    return {s, len};
  }
  if (lua_type(L, index) == LUA_TNUMBER || lua_type(L, index) == LUA_TBOOLEAN) {
    req.scratch.emplace_back(luaL_tolstring(L, index, nullptr));
    lua_pop(L, 1);
    return req.scratch.back();
  }
  luaL_error(L, "%s must be a string or a number, not %s", what, luaL_typename(L, index));
  return {};
}

void read_pairs(lua_State* L, int table, PageRequest& req,
                std::vector<std::pair<std::string_view, std::string_view>>& out, const char* what) {
  table = lua_absindex(L, table);
  if (!lua_istable(L, table)) luaL_error(L, "option '%s' must be a table", what);
  lua_Integer n = luaL_len(L, table);
  if (n > 0) {  // a list of {name, value} pairs: keeps order, allows repeats
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, table, i);
      if (!lua_istable(L, -1)) luaL_error(L, "option '%s': item %d must be a {name, value} pair", what, (int)i);
      lua_rawgeti(L, -1, 1);
      lua_rawgeti(L, -2, 2);
      auto name = option_string(L, -2, req, what);
      auto value = option_string(L, -1, req, what);
      out.emplace_back(name, value);
      lua_pop(L, 3);
    }
    return;
  }
  lua_pushnil(L);
  while (lua_next(L, table) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "option '%s': names must be strings", what);
    size_t len;
    const char* key = lua_tolstring(L, -2, &len);
    auto value = option_string(L, -1, req, what);
    out.emplace_back(std::string_view(key, len), value);
    lua_pop(L, 1);
  }
}

void read_options(lua_State* L, int table, PageRequest& req, const char* method) {
  table = lua_absindex(L, table);
  lua_pushnil(L);
  while (lua_next(L, table) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "vu:%s: option names must be strings", method);
    std::string_view key = lua_tostring(L, -2);
    if (key == "description") req.description = option_string(L, -1, req, "description");
    else if (key == "params") read_pairs(L, -1, req, req.params, "params");
    else if (key == "headers") read_pairs(L, -1, req, req.headers, "headers");
    else if (key == "body") req.body = option_string(L, -1, req, "body");
    else if (key == "content_type") req.content_type = option_string(L, -1, req, "content_type");
    else if (key == "multipart") req.multipart = lua_toboolean(L, -1);
    else if (key == "files") {
      if (!lua_istable(L, -1)) luaL_error(L, "option 'files' must be a list of {field=, filename=, content=, content_type=}");
      lua_Integer n = luaL_len(L, -1);
      for (lua_Integer i = 1; i <= n; ++i) {
        lua_rawgeti(L, -1, i);
        PageRequest::File file;
        lua_getfield(L, -1, "field");
        file.field = option_string(L, -1, req, "files[].field");
        lua_getfield(L, -2, "filename");
        file.filename = lua_isnil(L, -1) ? std::string_view("file") : option_string(L, -1, req, "files[].filename");
        lua_getfield(L, -3, "content");
        file.content = option_string(L, -1, req, "files[].content");
        lua_getfield(L, -4, "content_type");
        file.content_type = lua_isnil(L, -1) ? std::string_view("application/octet-stream")
                                              : option_string(L, -1, req, "files[].content_type");
        lua_pop(L, 5);
        req.files.push_back(file);
      }
      req.multipart = true;
    } else if (key == "ok_codes") req.ok_codes = read_codes(L, lua_gettop(L), "option 'ok_codes'");
    else if (key == "follow_redirects") req.follow_redirects = lua_toboolean(L, -1);
    else if (key == "fetch_resources") req.fetch_resources = lua_toboolean(L, -1);
    else if (key == "keep_body") req.keep_body = lua_toboolean(L, -1);
    else if (key == "timeout") req.timeout_s = luaL_checknumber(L, -1);
    else
      luaL_error(L,
                 "vu:%s: unknown option '%s' (known: description, params, headers, body, content_type, "
                 "multipart, files, ok_codes, follow_redirects, fetch_resources, keep_body, timeout)",
                 method, lua_tostring(L, -2));  // the key, a string (no std::string: longjmp)
    lua_pop(L, 1);
  }
}

int request_continue(lua_State* L, int status, lua_KContext ctx) {
  VuHost* host = host_of(L);
  const PageOutcome& out = host->outcome();
  if (out.verdict != Verdict::ok) raise_outcome(L, out.verdict, out.error_kind, out.message);
  push_response(L, host);
  return 1;
}

// The PageRequest lives in the coroutine's registry-anchored storage between the call
// and its continuation; one per Lua state is enough, since begin_page copies what the
// engine keeps and a coroutine has at most one page in flight.
int do_request(lua_State* L, std::string_view method, int url_index, const char* name) {
  VuHost* host = host_of(L);
  if (host == nullptr) luaL_error(L, "vu:%s can only be called by a virtual user (inside a test or hook)", name);
  static thread_local PageRequest req;
  req.clear();
  req.method = method;
  size_t len;
  const char* url = luaL_checklstring(L, url_index, &len);
  req.url = std::string_view(url, len);
  if (lua_gettop(L) > url_index && !lua_isnil(L, url_index + 1)) {
    if (!lua_istable(L, url_index + 1)) return luaL_error(L, "vu:%s: options must be a table", name);
    read_options(L, url_index + 1, req, name);
  }
  bool begun;
  {
    std::string error;
    begun = host->begin_page(req, &error);
    if (!begun) lua_pushlstring(L, error.data(), error.size());
  }  // the message is on the Lua stack: a Lua error leaves with longjmp, past destructors
  if (!begun) return luaL_error(L, "vu:%s: %s", name, lua_tostring(L, -1));
  return lua_yieldk(L, 0, 0, request_continue);
}

template <const char* Method>
int l_method(lua_State* L) {
  check_self(L, Method);
  static const std::string upper = [] {
    std::string s = Method;
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }();
  return do_request(L, upper, 2, Method);
}

constexpr char kGet[] = "get", kPost[] = "post", kPut[] = "put", kDelete[] = "delete", kHead[] = "head",
               kOptions[] = "options", kPatch[] = "patch";

int l_request(lua_State* L) {
  check_self(L, "request");
  size_t len;
  const char* method = luaL_checklstring(L, 2, &len);
  for (size_t i = 0; i < len; ++i) {
    if (!std::isupper(static_cast<unsigned char>(method[i])) && method[i] != '-' && method[i] != '_') {
      return luaL_error(L, "vu:request: method '%s' must be upper-case letters (e.g. PROPFIND)", method);
    }
  }
  if (len == 0) return luaL_error(L, "vu:request: empty method");
  return do_request(L, std::string_view(method, len), 3, "request");
}

}  // namespace

const luaL_Reg kRequestMethods[] = {
    {"get", l_method<kGet>},
    {"post", l_method<kPost>},
    {"put", l_method<kPut>},
    {"delete", l_method<kDelete>},
    {"head", l_method<kHead>},
    {"options", l_method<kOptions>},
    {"patch", l_method<kPatch>},
    {"request", l_request},
    {nullptr, nullptr},
};

}  // namespace bm::script
