// An INI file as Python's configparser.ConfigParser (Python 3 defaults) reads it, which
// is how FunkLoad reads its Name.conf files.
//
// Compatible with ConfigParser: `[section]` headers (case-sensitive), `key = value` and
// `key: value` (keys lower-cased), full-line `#` and `;` comments (inline ones are part
// of the value), indented continuation lines joined with "\n", `%(key)s` interpolation
// from the same section or [DEFAULT], `%%` for a literal '%'.
// Stricter than ConfigParser in one way: every problem is reported as "file:line: message".
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bm::conf {

inline constexpr std::string_view kDefaultSection = "DEFAULT";

class ConfFile {
 public:
  // Reads and parses a file; the path as given becomes source() in error messages.
  static std::optional<ConfFile> load(const std::filesystem::path& path, std::string* error);
  // Parses text; source_name is what error messages call the file (e.g. "Simple.conf").
  static std::optional<ConfFile> parse(std::string_view text, std::string source_name,
                                       std::string* error);

  // The interpolated value of a key of `section`, or of [DEFAULT] when the section lacks
  // it. nullopt when absent, or when a [DEFAULT] value refers to a key this section does
  // not have (then *error, if given, says so; the section's own values are checked when
  // the file is parsed, so only inherited ones can fail here).
  std::optional<std::string> get(std::string_view section, std::string_view key,
                                 std::string* error = nullptr) const;

  // Typed getters. nullopt with *error untouched when the key is absent; nullopt with
  // *error = "file:line: [section] key: 'text' is not ..." when the value is malformed.
  std::optional<long long> get_int(std::string_view section, std::string_view key,
                                   std::string* error) const;
  std::optional<double> get_double(std::string_view section, std::string_view key,
                                   std::string* error) const;
  // A number of seconds from `low` to `high`; out of range is malformed too ("... is not a
  // number of seconds from 0 to 3600").
  std::optional<double> get_seconds(std::string_view section, std::string_view key, double low, double high,
                                    std::string* error) const;
  // 1/0, yes/no, true/false, on/off, in any case.
  std::optional<bool> get_bool(std::string_view section, std::string_view key,
                               std::string* error) const;
  // Items separated by `separator`, each trimmed; an empty value is an empty list.
  std::optional<std::vector<std::string>> get_list(std::string_view section,
                                                   std::string_view key, std::string* error,
                                                   char separator = ':') const;
  // "10:20:30" -> {10, 20, 30}; every item must be a positive integer.
  std::optional<std::vector<int>> get_cycles(std::string_view section, std::string_view key,
                                             std::string* error) const;

  // The message typed getters give for a malformed value:
  // "file:line: [section] key: 'text' is not <expected>".
  std::string value_error(std::string_view section, std::string_view key,
                          std::string_view text, std::string_view expected) const;

  // Sections in file order, [DEFAULT] excluded (as ConfigParser.sections()).
  std::vector<std::string> sections() const;
  bool has_section(std::string_view section) const;
  // The keys written in `section`, in file order ([DEFAULT] keys not included).
  std::vector<std::string> keys(std::string_view section) const;
  bool has_key(std::string_view section, std::string_view key) const;

  // Sets a key to a literal value (a '%' in it is stored escaped, so get() returns the
  // value as given, with each line trimmed as a re-read would). Creates the section if
  // needed; an existing key keeps its place. Throws std::invalid_argument for a section
  // or key name that could not be written back.
  void set(std::string_view section, std::string_view key, std::string_view value);

  // The file written back: sections and keys in their order, values as written
  // (uninterpolated), continuation lines indented by a tab. Comments are not kept.
  std::string to_ini() const;

  // The line of the key in `section` (or of the [DEFAULT] key it inherits); 0 when
  // absent or set() by the program.
  int line_of(std::string_view section, std::string_view key) const;
  // The line of the `[section]` header; 0 when absent or made by set().
  int section_line(std::string_view section) const;
  // "file:line" for the key, or just "file" when it has no line.
  std::string location_of(std::string_view section, std::string_view key) const;
  const std::string& source() const { return source_; }

 private:
  struct Entry {
    std::string key;
    std::string raw;  // as written: continuation lines joined by '\n', '%' not expanded
    int line = 0;
  };
  struct Section {
    std::string name;
    int line = 0;
    std::vector<Entry> entries;
  };
  class Parser;

  const Section* find_section(std::string_view name) const;
  const Entry* find_entry(std::string_view section, std::string_view key) const;
  std::optional<std::string> interpolate(std::string_view section, const Entry& entry,
                                         std::string* error) const;
  bool expand(std::string_view section, std::string_view raw, const Entry& origin,
              const Entry& root, int depth, std::string& out, std::string* error) const;
  std::string interpolation_error(std::string_view section, const Entry& entry,
                                  std::string_view problem) const;

  std::string source_;
  std::vector<Section> sections_;  // file order, [DEFAULT] included where it appeared
};

}  // namespace bm::conf
