#include "script/script_state.hpp"

#include <lua.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "conf/conf_file.hpp"
#include "http/request_writer.hpp"

namespace bm::script {
namespace {

constexpr const char* kVuMeta = "benchmaster.vu";
constexpr const char* kResponseMeta = "benchmaster.response";
constexpr const char* kOutcomeMeta = "benchmaster.outcome";
constexpr const char* kConfKey = "benchmaster.conf";
constexpr const char* kIdentityKey = "benchmaster.identity";

// Every vu method carries the vu and response metatables as upvalues: fetching one is an
// index into the running closure rather than a registry lookup by name. (A continuation
// runs in its C function's frame, so it sees the same upvalues.)
constexpr int kVuMetaUpvalue = 1, kResponseMetaUpvalue = 2;

// What a virtual user's coroutine keeps in its Lua extra space (the main thread keeps
// nullptr): its host, and its vu table, by address, for the cheap check of `self`.
struct CoroutineContext {
  VuHost* host = nullptr;
  const void* vu_table = nullptr;
};

CoroutineContext* context_of(lua_State* L) { return *static_cast<CoroutineContext**>(lua_getextraspace(L)); }

VuHost* host_of(lua_State* L) {
  const CoroutineContext* context = context_of(L);
  return context ? context->host : nullptr;
}

VuHost* require_host(lua_State* L, const char* what) {
  VuHost* host = host_of(L);
  if (host == nullptr) luaL_error(L, "%s can only be called by a virtual user (inside a test or hook)", what);
  return host;
}

// Methods are called as vu:get(...); vu.get(...) is the usual slip, so say so.
void check_self(lua_State* L, const char* method) {
  // The usual call, vu:get(...) on the coroutine's own vu table.
  if (const CoroutineContext* context = context_of(L); context && lua_topointer(L, 1) == context->vu_table) return;
  if (!lua_istable(L, 1) || !lua_getmetatable(L, 1)) {
    luaL_error(L, "vu:%s: call it with a colon (vu:%s(...)), not a dot", method, method);
  }
  bool ok = lua_rawequal(L, -1, lua_upvalueindex(kVuMetaUpvalue));
  lua_pop(L, 1);
  if (!ok) luaL_error(L, "vu:%s: call it with a colon (vu:%s(...)), not a dot", method, method);
}

// Raises a failure ('F') or error ('E') outcome object carrying file:line of the caller.
[[noreturn]] void raise_outcome(lua_State* L, Verdict verdict, std::string_view kind, std::string_view message) {
  luaL_where(L, 1);
  std::string where = lua_tostring(L, -1);
  lua_pop(L, 1);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, verdict == Verdict::failure ? "failure" : "error");
  lua_setfield(L, -2, "verdict");
  lua_pushlstring(L, kind.data(), kind.size());
  lua_setfield(L, -2, "kind");
  std::string text = where + std::string(message);
  lua_pushlstring(L, text.data(), text.size());
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

int outcome_tostring(lua_State* L) {
  lua_getfield(L, 1, "message");
  return 1;
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

int l_conf_get(lua_State* L) {
  if (push_conf_value(L, "conf_get") || lua_isnil(L, -1)) return 1;
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

// ---------------------------------------------------------------- response object

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

LuaResponse* check_response(lua_State* L, int index) {
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

void push_response(lua_State* L, VuHost* host) {
  const PageOutcome& out = host->outcome();
  auto* r = static_cast<LuaResponse*>(lua_newuserdatauv(L, sizeof(LuaResponse), 0));
  *r = LuaResponse{host,          out.sequence,  out.status,   out.redirects,  out.resources,
                   out.verdict,   out.connect_us, out.first_byte_us, out.total_us, out.body_bytes,
                   out.wire_bytes};
  lua_pushvalue(L, lua_upvalueindex(kResponseMetaUpvalue));
  lua_setmetatable(L, -2);
}

// ---------------------------------------------------------------- vu methods

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

std::vector<int> read_codes(lua_State* L, int index, const char* what) {
  std::vector<int> codes;
  if (lua_type(L, index) == LUA_TSTRING) {  // "200:302", as in the conf
    std::string_view text = lua_tostring(L, index);
    while (!text.empty()) {
      size_t at = text.find(':');
      std::string item(text.substr(0, at));
      char* end = nullptr;
      long code = std::strtol(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || code < 100 || code > 599) luaL_error(L, "%s: '%s' is not an HTTP status", what, item.c_str());
      codes.push_back(static_cast<int>(code));
      if (at == std::string_view::npos) break;
      text.remove_prefix(at + 1);
    }
    return codes;
  }
  if (!lua_istable(L, index)) luaL_error(L, "%s must be a list of HTTP status codes", what);
  lua_Integer n = luaL_len(L, index);
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, index, i);
    int isnum = 0;
    lua_Integer code = lua_tointegerx(L, -1, &isnum);
    if (!isnum || code < 100 || code > 599) luaL_error(L, "%s: item %d is not an HTTP status", what, (int)i);
    codes.push_back(static_cast<int>(code));
    lua_pop(L, 1);
  }
  return codes;
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
    else if (key == "timeout") req.timeout_s = luaL_checknumber(L, -1);
    else
      luaL_error(L,
                 "vu:%s: unknown option '%s' (known: description, params, headers, body, content_type, "
                 "multipart, files, ok_codes, follow_redirects, fetch_resources, timeout)",
                 method, std::string(key).c_str());
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
  std::string error;
  if (!host->begin_page(req, &error)) return luaL_error(L, "vu:%s: %s", name, error.c_str());
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

int l_test_passed(lua_State* L) {
  lua_pushboolean(L, host_of(L)->test_passed());
  return 1;
}

// The body of start_tests' coroutine. A chunk, not C code, so that a test function's
// requests can yield from inside it.
constexpr std::string_view kTestLoop = "local test, vu, passed = ...\nrepeat test(vu) until not passed()\n";

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

const luaL_Reg kVuMethods[] = {
    {"get", l_method<kGet>},
    {"post", l_method<kPost>},
    {"put", l_method<kPut>},
    {"delete", l_method<kDelete>},
    {"head", l_method<kHead>},
    {"options", l_method<kOptions>},
    {"patch", l_method<kPatch>},
    {"request", l_request},
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

ScriptState::ScriptState() {
  hook_refs_.fill(LUA_NOREF);
  L_ = luaL_newstate();
  *static_cast<CoroutineContext**>(lua_getextraspace(L_)) = nullptr;
  luaL_openlibs(L_);
  set_users(1);

  luaL_newmetatable(L_, kResponseMeta);
  lua_pushcfunction(L_, response_index);
  lua_setfield(L_, -2, "__index");
  lua_pushcfunction(L_, response_tostring);
  lua_setfield(L_, -2, "__tostring");

  luaL_newmetatable(L_, kVuMeta);  // response meta, vu meta
  luaL_newlibtable(L_, kVuMethods);
  lua_pushvalue(L_, -2);  // upvalue kVuMetaUpvalue
  lua_pushvalue(L_, -4);  // upvalue kResponseMetaUpvalue
  luaL_setfuncs(L_, kVuMethods, 2);
  lua_setfield(L_, -2, "__index");
  lua_pop(L_, 2);

  luaL_newmetatable(L_, kOutcomeMeta);
  lua_pushcfunction(L_, outcome_tostring);
  lua_setfield(L_, -2, "__tostring");
  lua_pop(L_, 1);

  lua_register(L_, "conf_get", l_conf_get);
  lua_register(L_, "conf_get_number", l_conf_get_number);
  lua_register(L_, "conf_get_list", l_conf_get_list);
  lua_register(L_, "log", l_log);
  lua_register(L_, "assert", l_assert);
  lua_register(L_, "fail", l_fail);

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

  // Chunk names are the file's base name so messages read "test_X.lua:12: ...".
  std::string name = "@" + test_file.filename().string();
  std::string source;
  {
    FILE* f = std::fopen(test_file.c_str(), "rb");
    if (f == nullptr) {
      *error = fmt::format("{}: cannot read test file: {}", test_file.string(), std::strerror(errno));
      return false;
    }
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) source.append(buf, n);
    bool failed = std::ferror(f);
    std::fclose(f);
    if (failed) {
      *error = fmt::format("{}: cannot read test file", test_file.string());
      return false;
    }
  }
  lua_pushcfunction(L_, traceback_handler);
  if (luaL_loadbufferx(L_, source.data(), source.size(), name.c_str(), "t") != LUA_OK) {
    *error = lua_tostring(L_, -1);
    lua_pop(L_, 2);
    return false;
  }
  if (lua_pcall(L_, 0, 0, -2) != LUA_OK) {
    std::string msg = lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "error while loading the test";
    *error = msg.substr(0, msg.find('\n'));
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
  luaL_where(co, 0);
  lua_pushstring(co, break_reason_.c_str());
  lua_concat(co, 2);
  return true;
}

uint64_t ScriptState::running_run() const {
  if (running_co_.load(std::memory_order_acquire) == nullptr) return 0;
  return run_seq_.load(std::memory_order_acquire);
}

bool ScriptState::break_run(uint64_t run, std::string reason) {
  std::lock_guard lock(break_mutex_);
  lua_State* co = running_co_.load(std::memory_order_acquire);
  if (run == 0 || co == nullptr || run_seq_.load(std::memory_order_acquire) != run) return false;
  break_seq_ = run;
  break_reason_ = std::move(reason);
  // Lua allows setting a hook from outside the running thread (as from a signal
  // handler); the coroutine stays allocated (create_vu), and the hook checks that the
  // run it was meant for is still the one running.
  lua_sethook(co, &ScriptState::break_hook, LUA_MASKCOUNT, 1);
  return true;
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
    size_t len;
    const char* msg = luaL_tolstring(co, -1, &len);
    result.message.assign(msg, len);
    lua_pop(co, 1);
    luaL_traceback(L_, co, nullptr, 0);
    result.traceback = lua_tostring(L_, -1);
    lua_pop(L_, 1);
  }
  lua_resetthread(co);
  lua_settop(co, 0);
  if (broken_run_ == run_seq_.load(std::memory_order_relaxed)) replace_coroutine(id);
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
