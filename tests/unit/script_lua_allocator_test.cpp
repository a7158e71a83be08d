// The Lua state's allocator: blocks keep their bytes across every kind of resize, freed
// blocks are used again, and a Lua state runs on it.
#include "script/lua_allocator.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include <lua.hpp>

namespace bm::script {
namespace {

void* resize(LuaAllocator& a, void* p, std::size_t from, std::size_t to) { return LuaAllocator::alloc(&a, p, from, to); }

TEST(LuaAllocator, ResizesKeepTheBytesAcrossSmallAndLargeBlocks) {
  LuaAllocator a;
  auto* p = static_cast<char*>(resize(a, nullptr, LUA_TSTRING, 10));
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "0123456789", 10);
  p = static_cast<char*>(resize(a, p, 10, 12));  // same class: same block
  EXPECT_EQ(std::string(p, 10), "0123456789");
  p = static_cast<char*>(resize(a, p, 12, 200));  // another small class
  EXPECT_EQ(std::string(p, 10), "0123456789");
  p = static_cast<char*>(resize(a, p, 200, 5000));  // to malloc
  EXPECT_EQ(std::string(p, 10), "0123456789");
  p = static_cast<char*>(resize(a, p, 5000, 9000));  // realloc
  EXPECT_EQ(std::string(p, 10), "0123456789");
  p = static_cast<char*>(resize(a, p, 9000, 16));  // back to a small block
  EXPECT_EQ(std::string(p, 10), "0123456789");
  EXPECT_EQ(resize(a, p, 16, 0), nullptr);
  EXPECT_EQ(resize(a, nullptr, LUA_TTABLE, 0), nullptr);
}

TEST(LuaAllocator, FreedBlocksAreUsedAgain) {
  LuaAllocator a;
  void* first = resize(a, nullptr, LUA_TTABLE, 40);
  resize(a, first, 40, 0);
  EXPECT_EQ(resize(a, nullptr, LUA_TTABLE, 33), first);  // same 48-byte class
  const std::size_t chunks = a.chunk_bytes();
  for (int i = 0; i < 100000; ++i) resize(a, resize(a, nullptr, LUA_TSTRING, 64), 64, 0);
  EXPECT_EQ(a.chunk_bytes(), chunks);  // a steady churn takes no more memory
}

TEST(LuaAllocator, ALuaStateRunsOnIt) {
  LuaAllocator a;
  lua_State* L = lua_newstate(&LuaAllocator::alloc, &a);
  ASSERT_NE(L, nullptr);
  luaL_openlibs(L);
  ASSERT_EQ(luaL_dostring(L, R"(
    local t = {}
    for i = 1, 20000 do t[i] = ("x"):rep(i % 300) .. i end
    local n = 0
    for i = 1, #t do n = n + #t[i] end
    collectgarbage()
    return n
  )"), LUA_OK) << lua_tostring(L, -1);
  EXPECT_GT(lua_tointeger(L, -1), 0);
  lua_close(L);
}

}  // namespace
}  // namespace bm::script
