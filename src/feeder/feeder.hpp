#pragma once
// Feeders: rows of a CSV file handed to virtual users, named in the conf as
//   [feeder.users]
//   file = users.csv          ; relative to the test's folder
//   order = sequence          ; sequence (shared by the node's users), per_user, random
//   at_end = fail             ; wrap, stop_user, fail
//   partition = node          ; node: each node gets rows i with i % nodes == node_num;
//                             ; whole: every node gets every row
//   delimiter = ,
// A FeederSet is loaded once per process and shared read-only by every worker; the only
// thing written on the request path is an atomic counter per feeder (no lock).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/conf_file.hpp"
#include "feeder/csv_table.hpp"

namespace bm::feeder {

enum class FeedOrder { sequence, per_user, random };
enum class AtEnd { wrap, stop_user, fail };
const char* to_string(FeedOrder order);
const char* to_string(AtEnd at_end);

inline constexpr std::string_view kSectionPrefix = "feeder.";

struct FeederSpec {
  std::string name;  // "users", from [feeder.users]
  std::string file;  // as the conf gives it, relative to the test's folder
  FeedOrder order = FeedOrder::sequence;
  AtEnd at_end = AtEnd::fail;
  bool partition_by_node = true;
  char delimiter = ',';
  // Set by bench-master in a node's conf (`part = 2/4`): this node's file holds the rows
  // i % 4 == 2 of the master's. Empty: the file as the user wrote it.
  std::string part;
};

// Every [feeder.NAME] section; one "file:line: message" line in *error for a bad one.
std::optional<std::vector<FeederSpec>> read_feeder_specs(const conf::ConfFile& conf, std::string* error);

class Feeder {
 public:
  Feeder(FeederSpec spec, CsvTable table) : spec_(std::move(spec)), table_(std::move(table)) {}

  const FeederSpec& spec() const { return spec_; }
  const std::vector<std::string>& header() const { return table_.header; }
  const CsvTable& table() const { return table_; }
  std::size_t rows() const { return table_.rows.size(); }

  // The row for a draw: `vu` is the virtual user's number on the node (per_user),
  // `random` a random number (random). nullopt past the last row when at_end is not
  // wrap. Any thread.
  std::optional<std::size_t> draw(uint64_t vu, uint64_t random);
  const std::vector<std::string>& row(std::size_t index) const { return table_.rows[index]; }

  uint64_t handed_out() const { return handed_out_.load(std::memory_order_relaxed); }
  uint64_t exhausted() const { return exhausted_.load(std::memory_order_relaxed); }

 private:
  FeederSpec spec_;
  CsvTable table_;
  std::atomic<uint64_t> next_{0};
  std::atomic<uint64_t> handed_out_{0};
  std::atomic<uint64_t> exhausted_{0};  // draws that found no row (or wrapped)
};

class FeederSet {
 public:
  // Reads each spec's file, relative to `test_folder`.
  static std::shared_ptr<FeederSet> load(std::vector<FeederSpec> specs, const std::filesystem::path& test_folder,
                                         std::string* error);
  Feeder* find(std::string_view name) const;
  const std::vector<std::unique_ptr<Feeder>>& all() const { return feeders_; }
  std::string names() const;  // "users, products" for messages

 private:
  std::vector<std::unique_ptr<Feeder>> feeders_;
};

}  // namespace bm::feeder
