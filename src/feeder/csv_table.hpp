#pragma once
// CSV files as feeders read them (RFC 4180: quoted fields may hold the delimiter, quotes
// doubled, and line breaks; spaces are part of a field), parsed by libcsv in strict mode.
// The first row names the fields. Errors are "file:line: message".
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bm::feeder {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as long as the header
};

// `name` is what messages call the file.
std::optional<CsvTable> parse_csv(std::string_view text, const std::string& name, char delimiter, std::string* error);

// The table written back as CSV (fields quoted where they must be), with only the rows
// whose index i has i % parts == part: one node's share of a partitioned feeder.
std::string write_csv_part(const CsvTable& table, char delimiter, std::size_t part, std::size_t parts);

}  // namespace bm::feeder
