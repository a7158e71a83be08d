// The vu methods other than requests: vu:sleep, default headers and user agent, basic
// auth, cookies, ok codes, vu:log, vu:iteration and vu:last.
#include <cstring>
#include <string>
#include <string_view>

#include "http/request_writer.hpp"
#include "script/lua_bindings.hpp"

namespace bm::script {
namespace {

int sleep_continue(lua_State*, int, lua_KContext) { return 0; }

int l_sleep(lua_State* L) {
  check_self(L, "sleep");
  double seconds = luaL_checknumber(L, 2);
  if (!(seconds >= 0) || seconds > 86400) return luaL_error(L, "vu:sleep: %f is not a number of seconds in [0, 86400]", seconds);
  require_host(L, "vu:sleep")->begin_sleep(seconds);
  return lua_yieldk(L, 0, 0, sleep_continue);
}

void set_header(VuSettings& settings, std::string_view name, const char* value, bool replace) {
  auto& headers = settings.default_headers;
  if (replace) {
    std::erase_if(headers, [&](const auto& h) {
      return h.first.size() == name.size() && strncasecmp(h.first.data(), name.data(), name.size()) == 0;
    });
  }
  if (value != nullptr) headers.emplace_back(std::string(name), value);
}

void check_header_text(lua_State* L, std::string_view text, const char* what) {
  for (char c : text) {
    if (c == '\r' || c == '\n' || c == '\0') luaL_error(L, "%s must not contain CR, LF or NUL", what);
  }
}

int l_set_header(lua_State* L) {
  check_self(L, "set_header");
  const char* name = luaL_checkstring(L, 2);
  const char* value = lua_isnoneornil(L, 3) ? nullptr : luaL_checkstring(L, 3);
  check_header_text(L, name, "header name");
  if (value) check_header_text(L, value, "header value");
  set_header(require_host(L, "vu:set_header")->settings(), name, value, true);
  return 0;
}

int l_add_header(lua_State* L) {
  check_self(L, "add_header");
  const char* name = luaL_checkstring(L, 2);
  const char* value = luaL_checkstring(L, 3);
  check_header_text(L, name, "header name");
  check_header_text(L, value, "header value");
  set_header(require_host(L, "vu:add_header")->settings(), name, value, false);
  return 0;
}

int l_clear_headers(lua_State* L) {
  check_self(L, "clear_headers");
  require_host(L, "vu:clear_headers")->settings().default_headers.clear();
  return 0;
}

int l_set_user_agent(lua_State* L) {
  check_self(L, "set_user_agent");
  const char* ua = luaL_checkstring(L, 2);
  check_header_text(L, ua, "user agent");
  require_host(L, "vu:set_user_agent")->settings().user_agent = ua;
  return 0;
}

int l_basic_auth(lua_State* L) {
  check_self(L, "basic_auth");
  size_t ulen, plen;
  const char* user = luaL_checklstring(L, 2, &ulen);
  const char* pass = luaL_checklstring(L, 3, &plen);
  require_host(L, "vu:basic_auth")->settings().authorization =
      http::basic_auth_value(std::string_view(user, ulen), std::string_view(pass, plen));
  return 0;
}

int l_clear_basic_auth(lua_State* L) {
  check_self(L, "clear_basic_auth");
  require_host(L, "vu:clear_basic_auth")->settings().authorization.clear();
  return 0;
}

int l_cookie(lua_State* L) {
  check_self(L, "cookie");
  const char* name = luaL_checkstring(L, 2);
  auto value = require_host(L, "vu:cookie")->cookies().get(name);
  if (value) lua_pushlstring(L, value->data(), value->size());
  else lua_pushnil(L);
  return 1;
}

int l_set_cookie(lua_State* L) {
  check_self(L, "set_cookie");
  const char* name = luaL_checkstring(L, 2);
  const char* value = luaL_checkstring(L, 3);
  const char* domain = luaL_optstring(L, 4, "");
  const char* path = luaL_optstring(L, 5, "/");
  require_host(L, "vu:set_cookie")->cookies().set(name, value, domain, path);
  return 0;
}

int l_clear_cookies(lua_State* L) {
  check_self(L, "clear_cookies");
  require_host(L, "vu:clear_cookies")->cookies().clear();
  return 0;
}

int l_set_ok_codes(lua_State* L) {
  check_self(L, "set_ok_codes");
  require_host(L, "vu:set_ok_codes")->settings().ok_codes = read_codes(L, 2, "vu:set_ok_codes");
  return 0;
}

int l_vu_log(lua_State* L) {
  check_self(L, "log");
  std::string line = stringify_args(L, 2);
  require_host(L, "vu:log")->log(line);
  return 0;
}

int l_iteration(lua_State* L) {
  check_self(L, "iteration");
  lua_pushinteger(L, static_cast<lua_Integer>(require_host(L, "vu:iteration")->iteration()));
  return 1;
}

int l_last(lua_State* L) {
  check_self(L, "last");
  VuHost* host = require_host(L, "vu:last");
  if (host->outcome().sequence == 0) return lua_pushnil(L), 1;
  push_response(L, host);
  return 1;
}

}  // namespace

const luaL_Reg kVuStateMethods[] = {
    {"sleep", l_sleep},
    {"set_header", l_set_header},
    {"add_header", l_add_header},
    {"clear_headers", l_clear_headers},
    {"set_user_agent", l_set_user_agent},
    {"basic_auth", l_basic_auth},
    {"clear_basic_auth", l_clear_basic_auth},
    {"cookie", l_cookie},
    {"set_cookie", l_set_cookie},
    {"clear_cookies", l_clear_cookies},
    {"set_ok_codes", l_set_ok_codes},
    {"log", l_vu_log},
    {"iteration", l_iteration},
    {"last", l_last},
    {nullptr, nullptr},
};

}  // namespace bm::script
