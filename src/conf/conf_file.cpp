#include "conf/conf_file.hpp"

#include "common/location.hpp"

#include "common/files.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <fmt/format.h>

#include "conf/values.hpp"

namespace bm::conf {
namespace {

// ConfigParser's MAX_INTERPOLATION_DEPTH: how many levels %(key)s may nest.
constexpr int kMaxInterpolationDepth = 10;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_comment(std::string_view stripped) {
  return !stripped.empty() && (stripped.front() == '#' || stripped.front() == ';');
}

std::size_t indent_of(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) ++n;
  return n;
}

std::string_view rstrip(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  for (;;) {
    const std::size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) return lines;
    text.remove_prefix(end + 1);
  }
}

// What reading a written value back gives: every line trimmed, trailing blanks gone.
std::string as_reread(std::string_view value) {
  std::string out;
  for (std::string_view line : lines_of(value)) out.append(trim(line)).push_back('\n');
  return std::string(rstrip(out));
}

// Length of the %-token that starts `text` ("%%" or "%(name)s"); 0 when malformed.
std::size_t percent_token_length(std::string_view text) {
  if (text.starts_with("%%")) return 2;
  if (!text.starts_with("%(")) return 0;
  const std::size_t close = text.find(')');
  if (close == std::string_view::npos || close == 2 || text.substr(close, 2) != ")s") return 0;
  return close + 2;
}

bool percent_syntax_ok(std::string_view raw) {
  for (std::size_t at = raw.find('%'); at != std::string_view::npos;) {
    const std::size_t length = percent_token_length(raw.substr(at));
    if (length == 0) return false;
    at = raw.find('%', at + length);
  }
  return true;
}

std::string bad_percent_message(std::string_view raw) {
  return fmt::format("bad '%' in '{}': write '%%' for a literal '%' or '%(name)s' for "
                     "another key's value",
                     one_line(raw));
}

// A multi-line value as written: continuation lines start with a tab.
std::string indented(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    out += c;
    if (c == '\n') out += '\t';
  }
  return out;
}

std::string escape_percent(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == '%') out += '%';
  }
  return out;
}

}  // namespace

// Reads text line by line with ConfigParser's rules (Python 3 defaults, strict mode).
class ConfFile::Parser {
 public:
  Parser(ConfFile& file, std::string* error) : file_(file), error_(error) {}

  bool read(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
    int line_number = 0;
    for (std::string_view line : lines_of(text)) {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      line_number_ = ++line_number;
      if (!read_line(line)) return false;
    }
    for (Section& section : file_.sections_) {
      for (Entry& entry : section.entries) entry.raw = std::string(rstrip(entry.raw));
    }
    return true;
  }

 private:
  bool read_line(std::string_view line) {
    const std::string_view stripped = trim(line);
    if (is_comment(stripped)) return true;  // a comment does not end a multi-line value
    if (stripped.empty()) {
      // Kept inside a multi-line value; trailing ones are stripped at the end.
      if (continuing_) current_entry().raw += '\n';
      return true;
    }
    const std::size_t indent = indent_of(line);
    if (continuing_ && indent > key_indent_) {
      current_entry().raw.append("\n").append(stripped);
      return true;
    }
    key_indent_ = indent;
    if (stripped.front() == '[') return read_section_header(stripped);
    return read_key_line(stripped);
  }

  bool read_section_header(std::string_view stripped) {
    continuing_ = false;
    const std::size_t close = stripped.rfind(']');
    if (close == std::string_view::npos) {
      return fail(fmt::format("section header '{}' is missing its ']'", stripped));
    }
    const std::string_view rest = trim(stripped.substr(close + 1));
    if (!rest.empty() && !is_comment(rest)) {
      return fail(fmt::format("unexpected text '{}' after section header", rest));
    }
    std::string name(trim(stripped.substr(1, close - 1)));
    if (name.empty()) return fail("empty section name '[]'");
    if (file_.find_section(name) != nullptr) {
      return fail(fmt::format("duplicate section [{}]", name));
    }
    file_.sections_.push_back(Section{std::move(name), line_number_, {}});
    return true;
  }

  bool read_key_line(std::string_view stripped) {
    if (file_.sections_.empty()) {
      return fail(fmt::format("'{}' comes before any [section] header", stripped));
    }
    Section& section = file_.sections_.back();
    const std::size_t delimiter = stripped.find_first_of("=:");
    if (delimiter == std::string_view::npos) {
      return fail(fmt::format("expected 'key = value', '[section]' or a comment, got '{}'",
                              stripped));
    }
    std::string key = lower(trim(stripped.substr(0, delimiter)));
    if (key.empty()) {
      return fail(fmt::format("missing key name before '{}'", stripped[delimiter]));
    }
    const auto same_key = [&](const Entry& entry) { return entry.key == key; };
    if (std::any_of(section.entries.begin(), section.entries.end(), same_key)) {
      return fail(fmt::format("duplicate key '{}' in section [{}]", key, section.name));
    }
    std::string value(trim(stripped.substr(delimiter + 1)));
    section.entries.push_back(Entry{std::move(key), std::move(value), line_number_});
    continuing_ = true;
    return true;
  }

  Entry& current_entry() { return file_.sections_.back().entries.back(); }

  bool fail(std::string_view message) {
    if (error_ != nullptr) *error_ = common::located(file_.source_, line_number_, message);
    return false;
  }

  ConfFile& file_;
  std::string* error_;
  int line_number_ = 0;
  bool continuing_ = false;  // more-indented lines continue the last key's value
  std::size_t key_indent_ = 0;
};

std::optional<ConfFile> ConfFile::load(const std::filesystem::path& path, std::string* error) {
  int error_number = 0;
  const std::optional<std::string> text = common::read_whole_file(path, &error_number);
  if (!text) {
    if (error != nullptr) *error = fmt::format("{}: cannot open the file", path.string());
    return std::nullopt;
  }
  return parse(*text, path.string(), error);
}

std::optional<ConfFile> ConfFile::parse(std::string_view text, std::string source_name,
                                        std::string* error) {
  ConfFile file;
  file.source_ = std::move(source_name);
  if (!Parser(file, error).read(text)) return std::nullopt;
  // A section's own values are checked now, so a bad one is reported even if never read.
  // [DEFAULT] values get a syntax check only: they may refer to keys that only some
  // sections have, so their references are resolved where they are read.
  for (const Section& section : file.sections_) {
    for (const Entry& entry : section.entries) {
      if (section.name != kDefaultSection) {
        if (!file.interpolate(section.name, entry, error)) return std::nullopt;
      } else if (!percent_syntax_ok(entry.raw)) {
        if (error != nullptr) {
          *error = file.interpolation_error(section.name, entry, bad_percent_message(entry.raw));
        }
        return std::nullopt;
      }
    }
  }
  return file;
}

// ---- lookups ----

const ConfFile::Section* ConfFile::find_section(std::string_view name) const {
  auto it = std::find_if(sections_.begin(), sections_.end(),
                         [&](const Section& section) { return section.name == name; });
  return it == sections_.end() ? nullptr : &*it;
}

const ConfFile::Entry* ConfFile::find_entry(std::string_view section_name,
                                            std::string_view key) const {
  const std::string wanted = lower(key);
  const auto in = [&](const Section* section) -> const Entry* {
    if (section == nullptr) return nullptr;
    auto it = std::find_if(section->entries.begin(), section->entries.end(),
                           [&](const Entry& entry) { return entry.key == wanted; });
    return it == section->entries.end() ? nullptr : &*it;
  };
  const Section* section = find_section(section_name);
  if (section == nullptr && section_name != kDefaultSection) return nullptr;
  if (const Entry* own = in(section)) return own;
  return in(find_section(kDefaultSection));
}

std::optional<std::string> ConfFile::get(std::string_view section, std::string_view key,
                                         std::string* error) const {
  const Entry* entry = find_entry(section, key);
  if (entry == nullptr) return std::nullopt;
  return interpolate(section, *entry, error);
}

std::vector<std::string> ConfFile::sections() const {
  std::vector<std::string> names;
  for (const Section& section : sections_) {
    if (section.name != kDefaultSection) names.push_back(section.name);
  }
  return names;
}

bool ConfFile::has_section(std::string_view section) const {
  return section != kDefaultSection && find_section(section) != nullptr;
}

std::vector<std::string> ConfFile::keys(std::string_view section_name) const {
  std::vector<std::string> names;
  if (const Section* section = find_section(section_name)) {
    for (const Entry& entry : section->entries) names.push_back(entry.key);
  }
  return names;
}

bool ConfFile::has_key(std::string_view section, std::string_view key) const {
  return find_entry(section, key) != nullptr;
}

int ConfFile::line_of(std::string_view section, std::string_view key) const {
  const Entry* entry = find_entry(section, key);
  return entry == nullptr ? 0 : entry->line;
}

int ConfFile::section_line(std::string_view name) const {
  const Section* section = find_section(name);
  return section == nullptr ? 0 : section->line;
}

std::string ConfFile::location_of(std::string_view section, std::string_view key) const {
  return common::location(source_, line_of(section, key));
}

// ---- interpolation (ConfigParser's BasicInterpolation) ----

std::optional<std::string> ConfFile::interpolate(std::string_view section, const Entry& entry,
                                                 std::string* error) const {
  if (entry.raw.find('%') == std::string::npos) return entry.raw;
  std::string out;
  if (!expand(section, entry.raw, entry, entry, 1, out, error)) return std::nullopt;
  return out;
}

// Appends `raw` to `out` with %% and %(name)s expanded in the context of `section`.
// `origin` is the entry `raw` belongs to, `root` the one being read: a malformed or
// dangling reference is reported at its origin's line, a chain too deep at the root's.
bool ConfFile::expand(std::string_view section, std::string_view raw, const Entry& origin,
                      const Entry& root, int depth, std::string& out,
                      std::string* error) const {
  const auto fail = [&](const Entry& at, const std::string& problem) {
    if (error != nullptr) *error = interpolation_error(section, at, problem);
    return false;
  };
  if (depth > kMaxInterpolationDepth) {
    return fail(root, fmt::format("%(name)s references nest deeper than {} levels (a loop?)",
                                  kMaxInterpolationDepth));
  }
  for (std::size_t i = 0; i < raw.size();) {
    const std::size_t percent = raw.find('%', i);
    out.append(raw.substr(i, percent - i));
    if (percent == std::string_view::npos) break;
    const std::size_t length = percent_token_length(raw.substr(percent));
    if (length == 0) return fail(origin, bad_percent_message(raw));
    i = percent + length;
    if (length == 2) {
      out += '%';
      continue;
    }
    const std::string name = lower(raw.substr(percent + 2, length - 4));
    const Entry* target = find_entry(section, name);
    if (target == nullptr) {
      return fail(origin, fmt::format("'%({})s' refers to a key that is in neither [{}] nor [{}]", name,
                              section, kDefaultSection));
    }
    if (target->raw.find('%') == std::string::npos) {
      out += target->raw;
    } else if (!expand(section, target->raw, *target, root, depth + 1, out, error)) {
      return false;
    }
  }
  return true;
}

std::string ConfFile::interpolation_error(std::string_view section, const Entry& entry,
                                          std::string_view problem) const {
  return common::located(source_, entry.line, one_line(fmt::format("[{}] {}: {}", section, entry.key, problem)));
}

// ---- typed getters ----

std::string ConfFile::value_error(std::string_view section, std::string_view key,
                                  std::string_view text, std::string_view expected) const {
  return fmt::format("{}: [{}] {}: '{}' is not {}", location_of(section, key), section,
                     lower(key), one_line(text), expected);
}

std::optional<long long> ConfFile::get_int(std::string_view section, std::string_view key,
                                           std::string* error) const {
  std::optional<std::string> text = get(section, key, error);
  if (!text) return std::nullopt;
  std::optional<long long> value = parse_int(*text);
  if (!value && error != nullptr) *error = value_error(section, key, *text, "an integer");
  return value;
}

std::optional<double> ConfFile::get_double(std::string_view section, std::string_view key,
                                           std::string* error) const {
  std::optional<std::string> text = get(section, key, error);
  if (!text) return std::nullopt;
  std::optional<double> value = parse_double(*text);
  if (!value && error != nullptr) *error = value_error(section, key, *text, "a number");
  return value;
}

std::optional<double> ConfFile::get_seconds(std::string_view section, std::string_view key, double low, double high,
                                            std::string* error) const {
  std::optional<std::string> text = get(section, key, error);
  if (!text) return std::nullopt;
  std::optional<double> value = parse_double(*text);
  if (!value || !(*value >= low && *value <= high)) {
    if (error != nullptr) *error = value_error(section, key, *text, fmt::format("a number of seconds from {} to {}", low, high));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> ConfFile::get_bool(std::string_view section, std::string_view key,
                                       std::string* error) const {
  std::optional<std::string> text = get(section, key, error);
  if (!text) return std::nullopt;
  std::optional<bool> value = parse_bool(*text);
  if (!value && error != nullptr) {
    *error = value_error(section, key, *text, "a boolean (1/0, yes/no, true/false, on/off)");
  }
  return value;
}

std::optional<std::vector<std::string>> ConfFile::get_list(std::string_view section,
                                                           std::string_view key,
                                                           std::string* error,
                                                           char separator) const {
  std::optional<std::string> text = get(section, key, error);
  if (!text) return std::nullopt;
  return split_list(*text, separator);
}

std::optional<std::vector<int>> ConfFile::get_cycles(std::string_view section,
                                                     std::string_view key,
                                                     std::string* error) const {
  std::optional<std::string> text = get(section, key, error);
  if (!text) return std::nullopt;
  std::optional<std::vector<int>> value = parse_cycles(*text);
  if (!value && error != nullptr) {
    *error = value_error(section, key, *text, "a list of positive integers separated by ':'");
  }
  return value;
}

// ---- editing and writing ----

void ConfFile::set(std::string_view section_name, std::string_view key, std::string_view value) {
  const auto bad = [](std::string_view what, std::string_view name) {
    throw std::invalid_argument(fmt::format("cannot write {} '{}' to an INI file", what, name));
  };
  if (section_name.empty() || trim(section_name) != section_name ||
      section_name.find_first_of("]\r\n") != std::string_view::npos) {
    bad("section name", section_name);
  }
  if (key.empty() || trim(key) != key || key.find_first_of("=:\r\n") != std::string_view::npos ||
      key.front() == '[' || is_comment(key)) {
    bad("key", key);
  }
  const std::string written = as_reread(value);
  const std::vector<std::string_view> lines = lines_of(written);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (is_comment(lines[i])) bad("value line (it would read back as a comment)", lines[i]);
  }

  auto section = std::find_if(sections_.begin(), sections_.end(),
                              [&](const Section& s) { return s.name == section_name; });
  if (section == sections_.end()) {
    sections_.push_back(Section{std::string(section_name), 0, {}});
    section = std::prev(sections_.end());
  }
  const std::string name = lower(key);
  auto entry = std::find_if(section->entries.begin(), section->entries.end(),
                            [&](const Entry& e) { return e.key == name; });
  if (entry == section->entries.end()) {
    section->entries.push_back(Entry{name, {}, 0});
    entry = std::prev(section->entries.end());
  }
  entry->raw = escape_percent(written);
  entry->line = 0;
}

std::string ConfFile::to_ini() const {
  std::string out;
  for (const Section& section : sections_) {
    if (!out.empty()) out += '\n';
    out += fmt::format("[{}]\n", section.name);
    for (const Entry& entry : section.entries) {
      out += entry.raw.empty() ? fmt::format("{} =\n", entry.key)
                               : fmt::format("{} = {}\n", entry.key, indented(entry.raw));
    }
  }
  return out;
}

}  // namespace bm::conf
