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

// A string argument that goes into a request header as it is: what would end the line
// early (or, in a name, the name) is refused, NUL included (a C string would stop there).
const char* header_text_at(lua_State* L, int index, const char* what, bool name) {
  size_t length = 0;
  const char* text = luaL_checklstring(L, index, &length);
  const std::string_view refused = name ? std::string_view(":\r\n\0", 4) : std::string_view("\r\n\0", 3);
  if (std::string_view(text, length).find_first_of(refused) != std::string_view::npos) {
    luaL_error(L, name ? "%s must not contain ':', CR, LF or NUL" : "%s must not contain CR, LF or NUL", what);
  }
  return text;
}

int l_set_header(lua_State* L) {
  check_self(L, "set_header");
  const char* name = header_text_at(L, 2, "header name", true);
  const char* value = lua_isnoneornil(L, 3) ? nullptr : header_text_at(L, 3, "header value", false);
  set_header(require_host(L, "vu:set_header")->settings(), name, value, true);
  return 0;
}

int l_add_header(lua_State* L) {
  check_self(L, "add_header");
  const char* name = header_text_at(L, 2, "header name", true);
  const char* value = header_text_at(L, 3, "header value", false);
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
  const char* ua = header_text_at(L, 2, "user agent", false);
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
  size_t name_length = 0, value_length = 0;
  const char* name = luaL_checklstring(L, 2, &name_length);
  const char* value = luaL_checklstring(L, 3, &value_length);
  // The jar sends "name=value; ..." in a Cookie header: these would end the header, make
  // another cookie of the rest, or cut the text short.
  const std::string_view name_text(name, name_length), value_text(value, value_length);
  if (name_text.empty() || name_text.find_first_of(std::string_view("=;\r\n\0", 5)) != std::string_view::npos) {
    luaL_error(L, "vu:set_cookie: a cookie name must not be empty nor contain '=', ';', CR, LF or NUL");
  }
  if (value_text.find_first_of(std::string_view(";\r\n\0", 4)) != std::string_view::npos) {
    luaL_error(L, "vu:set_cookie: a cookie value must not contain ';', CR, LF or NUL");
  }
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
