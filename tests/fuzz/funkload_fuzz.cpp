// convert_funkload_test (bench-record --from-funkload): a user's Python file in, a Lua
// test out. Never throws; a refused file gets one line; every warning is one line; and
// the Lua it writes always loads (luaL_loadbufferx: it is valid Lua, whatever the Python
// held, since what cannot be converted is kept as a comment).
#include "record/funkload_import.hpp"
#include "fuzz_check.hpp"

#include <lua.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

void check(bool ok, const char* what, const std::string& detail = {}) {
  bm::fuzz::check(ok, "funkload", what, detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view python(reinterpret_cast<const char*>(data), size);
  bm::record::FunkLoadConversion conversion;
  std::string error;
  bool ok = false;
  try {
    ok = bm::record::convert_funkload_test(python, "test_Fuzz.py", &conversion, &error);
  } catch (const std::exception& e) {
    check(false, "convert_funkload_test threw", e.what());
  }
  if (!ok) {
    check(!error.empty() && error.find('\n') == std::string::npos, "the refusal is not one line", error);
    return 0;
  }
  for (const std::string& warning : conversion.warnings) {
    check(warning.find('\n') == std::string::npos, "a warning spans lines", warning);
  }
  check(conversion.converted <= conversion.statements, "more statements converted than read");
  lua_State* lua = luaL_newstate();
  check(lua != nullptr, "no Lua state");
  const int loaded = luaL_loadbufferx(lua, conversion.lua.data(), conversion.lua.size(), "=test_Fuzz.lua", "t");
  const std::string message = loaded == LUA_OK ? std::string() : lua_tostring(lua, -1);
  lua_close(lua);
  if (loaded != LUA_OK) {
    fprintf(stderr, "funkload: the Lua written does not load: %s\n----\n%s\n----\n", message.c_str(),
            conversion.lua.c_str());
    abort();
  }
  return 0;
}
