#pragma once
// The allocator of a test's Lua state. A test allocates and frees small objects on every
// call (the strings `..` builds, the option tables of vu:post, closures): with malloc
// that was ~2,000 instructions of a form POST's 14,500. Blocks up to kLargest bytes come
// from free lists, one per 16-byte class, carved from 64 KiB chunks that the state keeps
// until it closes; larger blocks go to malloc. One state is used by one thread at a time.
#include <array>
#include <cstddef>
#include <vector>

namespace bm::script {

class LuaAllocator {
 public:
  static constexpr std::size_t kGranule = 16;
  static constexpr std::size_t kLargest = 256;

  LuaAllocator() = default;
  ~LuaAllocator();
  LuaAllocator(const LuaAllocator&) = delete;
  LuaAllocator& operator=(const LuaAllocator&) = delete;

  // lua_Alloc: `ud` is a LuaAllocator.
  static void* alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept;

  std::size_t chunk_bytes() const { return chunks_.size() * kChunkBytes; }

 private:
  static constexpr std::size_t kChunkBytes = 64 * 1024;
  static constexpr std::size_t kClasses = kLargest / kGranule;
  struct FreeBlock {
    FreeBlock* next;
  };
  static std::size_t class_of(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }
  void* take(std::size_t size) noexcept;
  void give(void* block, std::size_t size) noexcept;

  std::array<FreeBlock*, kClasses> free_{};
  char* chunk_next_ = nullptr;  // unused rest of the newest chunk
  char* chunk_end_ = nullptr;
  std::vector<void*> chunks_;
};

}  // namespace bm::script
