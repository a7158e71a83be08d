#pragma once
// Statistics of one test, page or request key in one cycle, and the table of them.
// A worker thread owns its tables: it looks a key up once, keeps the EntryStats pointer
// and records through it (O(1), no lock, no allocation once a bucket group or a status
// code has been seen).

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stats/histogram.hpp"

namespace bm::stats {

class JsonObject;

// Why an item did not succeed. The list is part of the results schema.
enum class ErrorKind : uint8_t {
  connect,    // TCP connect refused or unreachable
  timeout,    // connect or read timeout
  reset,      // connection closed or reset mid-exchange
  protocol,   // malformed HTTP
  tls,        // handshake or certificate
  dns,        // name resolution
  too_large,  // response over the size limit
  status,     // HTTP status not in ok_codes
  assertion,  // a check in the scenario failed
  resource,   // a page resource (image, CSS, JS) failed
  script,     // the scenario raised an error that is not a check
  test_data,  // a feeder ran out, or the credential server could not give a login
  other,
};
inline constexpr std::size_t kErrorKindCount = static_cast<std::size_t>(ErrorKind::other) + 1;

std::string_view to_string(ErrorKind kind) noexcept;
std::optional<ErrorKind> parse_error_kind(std::string_view name) noexcept;

// failure: an answer came and was judged wrong; error: the item could not complete.
enum class Verdict : uint8_t { failure, error };
std::string_view to_string(Verdict verdict) noexcept;
std::optional<Verdict> parse_verdict(std::string_view name) noexcept;
// status, assertion and resource are failures; everything else is an error.
Verdict default_verdict(ErrorKind kind) noexcept;

// HTTP status code counts: a short flat list searched linearly (a key sees few codes).
class StatusCounts {
 public:
  struct Item {
    int code = 0;
    uint64_t count = 0;
    friend bool operator==(const Item&, const Item&) = default;
  };

  void add(int code, uint64_t n = 1) {
    for (Item& item : items_) {
      if (item.code == code) {
        item.count += n;
        return;
      }
    }
    items_.push_back({code, n});  // the only allocation: the first time a code is seen
  }
  uint64_t count(int code) const noexcept;
  uint64_t total() const noexcept;
  bool empty() const noexcept { return items_.empty(); }
  void merge(const StatusCounts& other);
  void reset() noexcept;  // zeroes counts, keeps the codes (and their memory)
  const std::vector<Item>& items() const noexcept { return items_; }  // first-seen order
  std::vector<Item> sorted() const;                                   // by code, non-zero only

 private:
  std::vector<Item> items_;
};

struct EntryStats {
  uint64_t ok = 0;
  uint64_t failures = 0;
  uint64_t errors = 0;
  StatusCounts status_codes;  // responses received, whatever the verdict
  std::array<uint64_t, kErrorKindCount> error_kinds{};
  uint64_t bytes_sent = 0;      // wire bytes, headers included
  uint64_t bytes_received = 0;
  Histogram latency;         // successful items
  Histogram failed_latency;  // failed items that got a response
  // Requests only: the time to open the connection a request needed (TCP connect, and the
  // TLS handshake for HTTPS; requests on a kept-alive connection have none), and the time
  // from the request's last byte sent to its response's first byte (every response).
  Histogram connect;
  Histogram first_byte;
  // Open model only: the time the item took once begun (service time), for successful
  // items; `latency` then counts from the iteration's intended start (docs/open-model.md).
  Histogram service;
  Apdex apdex;               // successful items against T; failures and errors are frustrated
  uint64_t pages = 0;        // tests only: pages done by the successful tests
  uint64_t requests = 0;     // tests only: requests done by the successful tests
  // Not in the figures above: completed before or after the logging window, and (a
  // stopped run) in flight when the run stopped, the request already sent.
  uint64_t outside_window = 0;
  uint64_t abandoned = 0;

  void record_success(int64_t latency_us, int64_t apdex_t_us) {
    ++ok;
    latency.record(latency_us);
    apdex.record(latency_us, apdex_t_us);
  }
  // latency_us < 0: the item got no response, so it has no latency to record.
  void record_failure(ErrorKind kind, int64_t latency_us) {
    ++failures;
    ++error_kinds[static_cast<std::size_t>(kind)];
    if (latency_us >= 0) failed_latency.record(latency_us);
    apdex.record_frustrated();
  }
  void record_error(ErrorKind kind) {
    ++errors;
    ++error_kinds[static_cast<std::size_t>(kind)];
    apdex.record_frustrated();
  }
  void add_status(int code) { status_codes.add(code); }
  void add_bytes(uint64_t sent, uint64_t received) {
    bytes_sent += sent;
    bytes_received += received;
  }
  // Tests only: what one successful test did.
  void add_test_content(uint64_t test_pages, uint64_t test_requests) {
    pages += test_pages;
    requests += test_requests;
  }

  uint64_t total() const noexcept { return ok + failures + errors; }
  uint64_t error_kind_count(ErrorKind kind) const noexcept { return error_kinds[static_cast<std::size_t>(kind)]; }

  void merge(const EntryStats& other);
  void reset() noexcept;  // zeroes everything, keeps allocated memory
};

// What a request entry names besides its key.
enum class RequestKind : uint8_t { main, redirect, resource };
std::string_view to_string(RequestKind kind) noexcept;
std::optional<RequestKind> parse_request_kind(std::string_view name) noexcept;

struct Entry {
  std::string key;
  // Requests only: the page key, method, first URL seen and role in the page.
  std::string page;
  std::string method;
  std::string url;
  RequestKind kind = RequestKind::main;
  EntryStats stats;
};

// Entries in first-seen order, found by (page, key): tests and pages have an empty page;
// a request key may appear under several pages, each its own entry. Elements never
// move (std::deque), so a reference or index obtained once stays valid while entries
// are added. Lookups do not allocate.
class EntryTable {
 public:
  using Index = std::size_t;

  // The entry for (page, key), added (empty but for its page and key) if absent.
  Entry& slot(std::string_view key) { return entries_[index_of({}, key)]; }
  Entry& slot(std::string_view page, std::string_view key) { return entries_[index_of(page, key)]; }
  Index index_of(std::string_view key) { return index_of({}, key); }  // likewise, as a stable index
  Index index_of(std::string_view page, std::string_view key);
  Entry* find(std::string_view key) noexcept { return find({}, key); }
  const Entry* find(std::string_view key) const noexcept { return find({}, key); }
  Entry* find(std::string_view page, std::string_view key) noexcept;
  const Entry* find(std::string_view page, std::string_view key) const noexcept;

  Entry& operator[](Index index) noexcept { return entries_[index]; }
  const Entry& operator[](Index index) const noexcept { return entries_[index]; }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  auto begin() noexcept { return entries_.begin(); }
  auto end() noexcept { return entries_.end(); }
  auto begin() const noexcept { return entries_.begin(); }
  auto end() const noexcept { return entries_.end(); }

  // Joins by (page, key): statistics add; a new entry is appended with its identity.
  void merge(const EntryTable& other);

 private:
  struct IdView {
    std::string_view page;
    std::string_view key;
  };
  struct Id {
    std::string page;
    std::string key;
    operator IdView() const noexcept { return {page, key}; }
  };
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(IdView id) const noexcept {
      const std::size_t h = std::hash<std::string_view>{}(id.page);
      return h ^ (std::hash<std::string_view>{}(id.key) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    }
  };
  struct IdEqual {
    using is_transparent = void;
    bool operator()(IdView a, IdView b) const noexcept { return a.page == b.page && a.key == b.key; }
  };
  std::deque<Entry> entries_;
  std::unordered_map<Id, Index, IdHash, IdEqual> index_;
};

// JSON members of an entry's statistics (schema "entry"), written into / read from an
// existing object; `test_totals` adds the tests-only "pages" and "requests".
void write_entry_stats(nlohmann::json& object, const EntryStats& stats, bool test_totals);
void read_entry_stats(const JsonObject& object, EntryStats& stats, bool test_totals);

}  // namespace bm::stats
