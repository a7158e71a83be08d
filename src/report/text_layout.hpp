#pragma once
// Plain-text layout for the text report: text from a results file made safe for a
// terminal, wrapped to a width, and tables that fit a width (too wide: split into
// blocks that repeat the key columns).
#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace bm::report::text {

inline constexpr std::size_t kColumnGap = 2;

// Control characters become spaces and invalid UTF-8 '?', so nothing in a message can
// move the cursor or break the layout.
std::string clean(std::string_view text);
// Terminal columns of UTF-8 text (one per code point).
std::size_t display_width(std::string_view text);
// At most `width` columns, "…" marking a cut.
std::string truncate(std::string_view text, std::size_t width);
// Lines of at most `width` columns, broken at spaces where possible.
std::vector<std::string> wrap(std::string_view text, std::size_t width);
void write_wrapped(std::ostream& out, std::string_view text, std::size_t width, std::size_t indent);

enum class Align { left, right };

struct Column {
  std::string header;
  Align align = Align::right;
  bool key = false;  // repeated in every block when the table is split to fit
};

class TextTable {
 public:
  explicit TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}

  void add_row(std::vector<std::string> cells) {
    cells.resize(columns_.size());
    for (std::string& cell : cells) cell = clean(cell);
    rows_.push_back(std::move(cells));
  }
  bool empty() const noexcept { return rows_.empty(); }

  // Blocks of columns that each fit in `width - indent`, every block starting with the
  // key columns; a column too wide on its own has its cells cut.
  void render(std::ostream& out, std::size_t width, std::size_t indent) const;

 private:
  void write_line(std::ostream& out, const std::vector<std::size_t>& block, const std::vector<std::size_t>& widths,
                  const std::vector<std::string>& cells, std::size_t indent) const;

  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace bm::report::text
