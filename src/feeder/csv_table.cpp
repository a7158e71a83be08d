#include "feeder/csv_table.hpp"

#include <csv.h>

#include <set>

#include <fmt/format.h>

#include "common/location.hpp"
#include "conf/values.hpp"

namespace bm::feeder {

namespace {

struct Reader {
  CsvTable table;
  std::vector<std::string> record;
  bool have_header = false;
  int line = 0;  // the physical line being fed
  std::string problem;
  int problem_line = 0;

  static void on_field(void* data, size_t size, void* context) {
    auto* self = static_cast<Reader*>(context);
    self->record.emplace_back(data ? static_cast<const char*>(data) : "", data ? size : 0);
  }

  static void on_record(int, void* context) {
    auto* self = static_cast<Reader*>(context);
    std::vector<std::string> record = std::move(self->record);
    self->record.clear();
    if (!self->problem.empty()) return;
    if (!self->have_header) {
      std::set<std::string> seen;
      for (const std::string& field : record) {
        if (field.empty()) {
          self->fail("an empty field name in the header (the first row names the fields)");
          return;
        }
        if (!seen.insert(field).second) {
          self->fail(fmt::format("field name '{}' is given twice in the header", conf::one_line(field)));
          return;
        }
      }
      self->table.header = std::move(record);
      self->have_header = true;
      return;
    }
    if (record.size() != self->table.header.size()) {
      self->fail(fmt::format("{} field{} where the header names {}", record.size(), record.size() == 1 ? "" : "s",
                             self->table.header.size()));
      return;
    }
    self->table.rows.push_back(std::move(record));
  }

  void fail(std::string message) {
    if (!problem.empty()) return;
    problem = std::move(message);
    problem_line = line;
  }
};

int no_space(unsigned char) { return 0; }  // RFC 4180: spaces belong to the field

bool needs_quotes(std::string_view field, char delimiter) {
  for (char c : field) {
    if (c == delimiter || c == '"' || c == '\n' || c == '\r') return true;
  }
  return false;
}

void append_field(std::string& out, std::string_view field, char delimiter) {
  // A byte order mark starting the file is dropped by the reader: one that begins the
  // first field (a header read after a blank line keeps it) is written quoted.
  const bool first_in_file = out.empty() && field.starts_with("\xEF\xBB\xBF");
  if (!first_in_file && !needs_quotes(field, delimiter)) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_record(std::string& out, const std::vector<std::string>& record, char delimiter) {
  // One empty field alone would be an empty line, which a reader skips: quoted, it is a row.
  if (record.size() == 1 && record[0].empty()) {
    out += "\"\"\r\n";
    return;
  }
  for (std::size_t i = 0; i < record.size(); ++i) {
    if (i > 0) out += delimiter;
    append_field(out, record[i], delimiter);
  }
  out += "\r\n";  // RFC 4180's line break
}

}  // namespace

std::optional<CsvTable> parse_csv(std::string_view text, const std::string& name, char delimiter,
                                  std::string* error) {
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    *error = fmt::format("{}: cannot start the CSV parser", name);
    return std::nullopt;
  }
  csv_set_delim(&parser, static_cast<unsigned char>(delimiter));
  csv_set_space_func(&parser, no_space);
  Reader reader;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a byte order mark, as spreadsheets write
  // Fed a line at a time so that a problem names its line.
  bool parsed = true;
  while (!text.empty() && reader.problem.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end == std::string_view::npos ? text.size() : end + 1);
    text.remove_prefix(line.size());
    ++reader.line;
    if (csv_parse(&parser, line.data(), line.size(), Reader::on_field, Reader::on_record, &reader) != line.size()) {
      parsed = false;
      break;
    }
  }
  if (parsed && reader.problem.empty() && csv_fini(&parser, Reader::on_field, Reader::on_record, &reader) != 0) {
    parsed = false;
  }
  const int status = csv_error(&parser);
  csv_free(&parser);
  if (!parsed) {
    *error = common::located(name, reader.line,
                             status == CSV_EPARSE ? "a quote out of place, or a quoted field that does not end"
                                                  : csv_strerror(status));
    return std::nullopt;
  }
  if (!reader.problem.empty()) {
    *error = common::located(name, reader.problem_line, reader.problem);
    return std::nullopt;
  }
  if (!reader.have_header) {
    *error = fmt::format("{}: empty (the first row names the fields)", name);
    return std::nullopt;
  }
  if (reader.table.rows.empty()) {
    *error = fmt::format("{}: no rows after the header", name);
    return std::nullopt;
  }
  return std::move(reader.table);
}

std::string write_csv_part(const CsvTable& table, char delimiter, std::size_t part, std::size_t parts) {
  std::string out;
  append_record(out, table.header, delimiter);
  for (std::size_t i = part; i < table.rows.size(); i += parts) append_record(out, table.rows[i], delimiter);
  return out;
}

}  // namespace bm::feeder
