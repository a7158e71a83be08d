// parse_csv (feeder files) and write_csv_part (each node's share of a partitioned
// feeder). Never throws; a refused file gets one line; every row is as long as the
// header; a table written back whole parses to itself; and the parts of a split hold
// every row once, in order.
//
// Input: byte 0 picks the delimiter (, ; tab |); the rest is the file.
#include "feeder/csv_table.hpp"
#include "fuzz_check.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

void check(bool ok, const char* what, const std::string& detail = {}) {
  bm::fuzz::check(ok, "csv", what, detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr char kDelimiters[] = {',', ';', '\t', '|'};
  const char delimiter = kDelimiters[data[0] % 4];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  using bm::feeder::CsvTable;
  try {
    std::string error;
    const auto table = bm::feeder::parse_csv(text, "fuzz.csv", delimiter, &error);
    if (!table) {
      check(!error.empty() && error.find('\n') == std::string::npos, "the refusal is not one line", error);
      return 0;
    }
    for (const auto& row : table->rows) check(row.size() == table->header.size(), "a row unlike the header");
    const std::string whole = bm::feeder::write_csv_part(*table, delimiter, 0, 1);
    const auto again = bm::feeder::parse_csv(whole, "again.csv", delimiter, &error);
    check(again.has_value(), "the table written back does not parse", error + "\n" + whole);
    check(again->header == table->header && again->rows == table->rows, "the table written back differs", whole);
    // Split between 3 nodes (a table with fewer rows than nodes is refused before any split).
    constexpr std::size_t kParts = 3;
    if (table->rows.size() < kParts) return 0;
    std::size_t seen = 0;
    for (std::size_t part = 0; part < kParts; ++part) {
      const auto share = bm::feeder::parse_csv(bm::feeder::write_csv_part(*table, delimiter, part, kParts), "part.csv",
                                               delimiter, &error);
      check(share.has_value(), "a part does not parse", error);
      check(share->header == table->header, "a part's header differs");
      for (std::size_t i = 0; i < share->rows.size(); ++i) {
        check(share->rows[i] == table->rows[part + i * kParts], "a part holds another row");
      }
      seen += share->rows.size();
    }
    check(seen == table->rows.size(), "the parts do not hold every row once");
  } catch (const std::exception& e) {
    check(false, "threw", e.what());
  }
  return 0;
}
