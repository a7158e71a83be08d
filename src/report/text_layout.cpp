#include "report/text_layout.hpp"

#include <algorithm>
#include <sstream>
#include <utility>

namespace bm::report::text {

namespace {
std::size_t prefix_bytes(std::string_view text, std::size_t columns) {
  std::size_t i = 0;
  for (std::size_t seen = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80 && seen++ == columns) break;
  }
  return i;
}

}  // namespace

std::string clean(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      out.push_back(byte < 0x20 || byte == 0x7f ? ' ' : static_cast<char>(byte));
      ++i;
      continue;
    }
    const std::size_t length = byte >= 0xf0 && byte <= 0xf4 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc2 && byte < 0xe0 ? 2 : 0;
    bool valid = length != 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (!valid) {
      out.push_back('?');
      ++i;
      continue;
    }
    const bool c1_control = byte == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0;
    if (c1_control) {
      out.push_back(' ');
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

// Terminal columns of clean text: one per code point.
std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

// Byte length of the first `columns` code points of `text`.

std::string truncate(std::string_view text, std::size_t width) {
  if (display_width(text) <= width) return std::string(text);
  if (width == 0) return {};
  return std::string(text.substr(0, prefix_bytes(text, width - 1))) + "…";
}

// Greedy word wrap; words longer than a line are cut.
std::vector<std::string> wrap(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream words{std::string(text)};
  for (std::string word; words >> word;) {
    while (display_width(word) > width) {
      if (!line.empty()) lines.push_back(std::exchange(line, {}));
      const std::size_t cut = prefix_bytes(word, width);
      lines.push_back(word.substr(0, cut));
      word.erase(0, cut);
    }
    if (word.empty()) continue;
    if (!line.empty() && display_width(line) + 1 + display_width(word) > width) lines.push_back(std::exchange(line, {}));
    if (!line.empty()) line.push_back(' ');
    line += word;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

void write_wrapped(std::ostream& out, std::string_view text, std::size_t width, std::size_t indent) {
  for (const std::string& line : wrap(text, width - indent)) out << std::string(indent, ' ') << line << '\n';
}

// Blocks of columns that each fit in `width - indent`, every block starting with the
// key columns; a column too wide on its own has its cells cut.
void TextTable::render(std::ostream& out, std::size_t width, std::size_t indent) const {
  const std::size_t available = width > indent ? width - indent : 1;
  std::vector<std::size_t> widths(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    widths[c] = display_width(columns_[c].header);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  std::vector<std::size_t> keys;
  std::size_t keys_width = 0;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    if (columns_[c].key) {
      keys_width += (keys.empty() ? 0 : kColumnGap) + widths[c];
      keys.push_back(c);
    }
  }
  if (keys_width + kColumnGap >= available) {
    keys.clear();  // key columns alone fill the line: do not repeat them
    keys_width = 0;
  }

  std::vector<std::vector<std::size_t>> blocks;
  std::vector<std::size_t> block = keys;
  std::size_t block_width = keys_width;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    if (std::find(keys.begin(), keys.end(), c) != keys.end()) continue;
    const std::size_t gap = block.empty() ? 0 : kColumnGap;
    if (block.size() > keys.size() && block_width + gap + widths[c] > available) {
      blocks.push_back(std::exchange(block, keys));
      block_width = keys_width;
    }
    const std::size_t room = available - block_width - (block.empty() ? 0 : kColumnGap);
    widths[c] = std::min(widths[c], std::max<std::size_t>(room, 1));
    block_width += (block.empty() ? 0 : kColumnGap) + widths[c];
    block.push_back(c);
  }
  if (block.size() > keys.size() || blocks.empty()) blocks.push_back(block);

  for (std::size_t b = 0; b < blocks.size(); ++b) {
    if (b > 0) out << '\n';
    std::vector<std::string> header;
    std::vector<std::string> rule;
    for (std::size_t c : blocks[b]) {
      header.push_back(columns_[c].header);
      rule.push_back(std::string(widths[c], '-'));
    }
    write_line(out, blocks[b], widths, header, indent);
    write_line(out, blocks[b], widths, rule, indent);
    for (const auto& row : rows_) {
      std::vector<std::string> cells;
      for (std::size_t c : blocks[b]) cells.push_back(row[c]);
      write_line(out, blocks[b], widths, cells, indent);
    }
  }
}

void TextTable::write_line(std::ostream& out, const std::vector<std::size_t>& block, const std::vector<std::size_t>& widths,
                const std::vector<std::string>& cells, std::size_t indent) const {
  std::string line(indent, ' ');
  for (std::size_t i = 0; i < block.size(); ++i) {
    const std::size_t c = block[i];
    const std::string text = truncate(cells[i], widths[c]);
    const std::string padding(widths[c] - display_width(text), ' ');
    if (i > 0) line.append(kColumnGap, ' ');
    line += columns_[c].align == Align::right ? padding + text : text + padding;
  }
  line.erase(line.find_last_not_of(' ') + 1);
  out << line << '\n';
}

}  // namespace bm::report::text
