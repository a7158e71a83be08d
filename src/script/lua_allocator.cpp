#include "script/lua_allocator.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace bm::script {

LuaAllocator::~LuaAllocator() {
  for (void* chunk : chunks_) std::free(chunk);
}

void* LuaAllocator::take(std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  if (FreeBlock* block = free_[c]) {
    free_[c] = block->next;
    return block;
  }
  const std::size_t bytes = (c + 1) * kGranule;
  if (static_cast<std::size_t>(chunk_end_ - chunk_next_) < bytes) {
    void* chunk = std::malloc(kChunkBytes);
    if (chunk == nullptr) return nullptr;
    try {
      chunks_.push_back(chunk);
    } catch (const std::bad_alloc&) {
      std::free(chunk);
      return nullptr;
    }
    // The rest of the old chunk is left unused: at most kLargest bytes of 64 KiB.
    chunk_next_ = static_cast<char*>(chunk);
    chunk_end_ = chunk_next_ + kChunkBytes;
  }
  void* block = chunk_next_;
  chunk_next_ += bytes;
  return block;
}

void LuaAllocator::give(void* block, std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  auto* free_block = static_cast<FreeBlock*>(block);
  free_block->next = free_[c];
  free_[c] = free_block;
}

void* LuaAllocator::alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept {
  auto* self = static_cast<LuaAllocator*>(ud);
  // A new block: Lua passes the object's type in osize, not a size.
  if (ptr == nullptr) {
    if (nsize == 0) return nullptr;
    return nsize <= kLargest ? self->take(nsize) : std::malloc(nsize);
  }
  const bool was_small = osize <= kLargest;
  if (nsize == 0) {
    if (was_small) self->give(ptr, osize);
    else std::free(ptr);
    return nullptr;
  }
  const bool small = nsize <= kLargest;
  if (!was_small && !small) return std::realloc(ptr, nsize);
  if (was_small && small && class_of(osize) == class_of(nsize)) return ptr;
  void* fresh = small ? self->take(nsize) : std::malloc(nsize);
  if (fresh == nullptr) return nullptr;  // Lua keeps the old block on failure
  std::memcpy(fresh, ptr, osize < nsize ? osize : nsize);
  if (was_small) self->give(ptr, osize);
  else std::free(ptr);
  return fresh;
}

}  // namespace bm::script
