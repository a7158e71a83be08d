#pragma once
// The results reader's fast path: simdjson's on-demand parser turns the text into the
// nlohmann values the schema reader already knows, one top-level member at a time, with
// every `buckets` array of well-formed [index, count] pairs packed as BucketPacker packs
// it (docs/performance.md, "The merge": nlohmann's own parser read ~25 MB/s here).
//
// It gives up, rather than guess, on anything it might read otherwise than nlohmann:
// text that is not one JSON object, a top-level key given twice, an integer past 64 bits,
// a number past a double, nesting deeper than 64. The caller then reads the
// text again with nlohmann, whose messages the schema's errors are made of.

#include <cstddef>
#include <functional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace bm::stats {

// Calls `on_member(key, value)` for each member of the top-level object, in the text's
// order, except for the member `streamed_key` when it holds an array: then
// `on_element(value)` for each of its elements, as each is read, then `on_member(key, [])`
// (an empty array: the elements went elsewhere). Exceptions from the
// callbacks propagate. Returns false when it gave up (see above); the callbacks may have
// been called by then.
// `padded`: at least kJsonFastPadding readable bytes follow the text (their content does
// not matter), so it is parsed where it is instead of copied.
inline constexpr std::size_t kJsonFastPadding = 64;
bool read_json_object_fast(std::string_view text, bool padded, std::string_view streamed_key,
                           const std::function<void(std::string_view key, nlohmann::json&& value)>& on_member,
                           const std::function<void(nlohmann::json&& element)>& on_element);

}  // namespace bm::stats
