#include "stats/json_fast.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <simdjson.h>

#include "stats/histogram.hpp"

namespace bm::stats {

namespace {

namespace od = simdjson::ondemand;
using json = nlohmann::json;

struct GiveUp {};  // thrown inside, caught by read_json_object_fast: read it with nlohmann

// The schema nests 6 deep; convert() recurses, so a hostile file's nesting is left to
// nlohmann's parser, which keeps its own stack.
constexpr int kMaxDepth = 64;

template <typename T>
T take(simdjson::simdjson_result<T>&& result) {
  T value;
  if (std::move(result).get(value) != simdjson::SUCCESS) throw GiveUp{};
  return value;
}

// nlohmann reads a non-negative integer as unsigned and a negative one (or -0) as
// signed; simdjson calls every integer below 2^63 signed.
json number(od::value& value) {
  switch (take(value.get_number_type())) {
    case od::number_type::signed_integer: {
      const bool negative = value.is_negative();
      const int64_t integer = take(value.get_int64());
      return negative ? json(integer) : json(static_cast<uint64_t>(integer));
    }
    case od::number_type::unsigned_integer: return json(take(value.get_uint64()));
    case od::number_type::floating_point_number: return json(take(value.get_double()));
    default: throw GiveUp{};  // an integer past 64 bits: nlohmann makes it a double
  }
}

json convert(od::value value, bool may_pack, int depth);

// A `buckets` array: well-formed pairs go into one packed binary value, as BucketPacker
// stores them; from the first element that is not one on, the array is built in full.
json convert_buckets(od::array array, int depth) {
  std::vector<PackedBucket> pairs;
  json built;  // an array once an element deviated
  for (auto element_result : array) {
    od::value element = take(std::move(element_result));
    if (!built.is_null()) {
      built.push_back(convert(element, false, depth + 1));
      continue;
    }
    if (take(element.type()) != od::json_type::array) {
      json other = convert(element, false, depth + 1);
      built = json::array();
      for (const PackedBucket& pair : pairs) built.push_back(json::array({pair.index, pair.count}));
      built.push_back(std::move(other));
      continue;
    }
    // [index, count], both non-negative integers, the index within the histogram. A
    // tree node is made only for an element that is not one.
    json items;  // null while the element looks like a pair
    uint64_t numbers[2] = {0, 0};
    std::size_t plain = 0;  // the non-negative integers read so far
    for (auto item_result : take(element.get_array())) {
      od::value item = take(std::move(item_result));
      // A failed get_uint64 leaves the value unread: "-0", "1.5", "x" are read below.
      if (uint64_t integer = 0; items.is_null() && plain < 2 && item.get_uint64().get(integer) == simdjson::SUCCESS) {
        numbers[plain++] = integer;
        continue;
      }
      if (items.is_null()) {
        items = json::array();
        for (std::size_t i = 0; i < plain; ++i) items.push_back(numbers[i]);
      }
      items.push_back(take(item.type()) == od::json_type::number ? number(item) : convert(item, false, depth + 2));
    }
    if (items.is_null() && plain == 2 && numbers[0] < static_cast<uint64_t>(Histogram::kCountsLength)) {
      pairs.push_back({numbers[0], numbers[1]});
      continue;
    }
    if (items.is_null()) {
      items = json::array();
      for (std::size_t i = 0; i < plain; ++i) items.push_back(numbers[i]);
    }
    built = json::array();
    for (const PackedBucket& pair : pairs) built.push_back(json::array({pair.index, pair.count}));
    built.push_back(std::move(items));
  }
  if (built.is_null()) return packed_buckets(pairs);
  return built;
}

// `may_pack`: false inside a buckets array, where BucketPacker packs nothing.
json convert(od::value value, bool may_pack, int depth) {
  if (depth > kMaxDepth) throw GiveUp{};
  switch (take(value.type())) {
    case od::json_type::object: {
      json out = json::object();
      for (auto field_result : take(value.get_object())) {
        od::field field = take(std::move(field_result));
        const std::string key(take(field.unescaped_key()));
        od::value member = field.value();
        if (may_pack && key == "buckets" && take(member.type()) == od::json_type::array) {
          out[key] = convert_buckets(take(member.get_array()), depth + 1);
        } else {
          out[key] = convert(member, may_pack, depth + 1);  // a key given twice: the last wins, as with nlohmann
        }
      }
      return out;
    }
    case od::json_type::array: {
      json out = json::array();
      for (auto element : take(value.get_array())) out.push_back(convert(take(std::move(element)), may_pack, depth + 1));
      return out;
    }
    case od::json_type::string: return json(std::string(take(value.get_string())));
    case od::json_type::number: return number(value);
    case od::json_type::boolean: return json(take(value.get_bool()));
    case od::json_type::null:
      if (!take(value.is_null())) throw GiveUp{};
      return json(nullptr);
  }
  throw GiveUp{};
}

}  // namespace

static_assert(kJsonFastPadding >= simdjson::SIMDJSON_PADDING);

bool read_json_object_fast(std::string_view text, bool padded, std::string_view streamed_key,
                           const std::function<void(std::string_view key, json&& value)>& on_member,
                           const std::function<void(json&& element)>& on_element) {
  try {
    std::optional<simdjson::padded_string> copy;
    if (!padded) copy.emplace(text);
    const simdjson::padded_string_view input =
        copy ? simdjson::padded_string_view(*copy)
             : simdjson::padded_string_view(text.data(), text.size(), text.size() + simdjson::SIMDJSON_PADDING);
    od::parser parser;
    od::document document = take(parser.iterate(input));
    std::set<std::string, std::less<>> keys;
    for (auto field_result : take(document.get_object())) {
      od::field field = take(std::move(field_result));
      const std::string key(take(field.unescaped_key()));
      if (!keys.insert(key).second) throw GiveUp{};
      od::value member = field.value();
      const bool array = take(member.type()) == od::json_type::array;
      if (key == streamed_key && array) {
        for (auto element : take(member.get_array())) on_element(convert(take(std::move(element)), true, 2));
        on_member(key, json::array());
      } else if (key == "buckets" && array) {
        on_member(key, convert_buckets(take(member.get_array()), 1));
      } else {
        on_member(key, convert(member, true, 1));
      }
    }
    // At the end, and only there, there is no current location: anything else is trailing.
    return document.current_location().error() == simdjson::OUT_OF_BOUNDS;
  } catch (const GiveUp&) {
    return false;
  } catch (const simdjson::simdjson_error&) {
    return false;
  }
}

}  // namespace bm::stats
