// The bench options table (conf/bench_options.hpp): docs/conf.md agrees with it, its
// defaults are the real ones, and it builds the node command line and the Overrides.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "conf/bench_options.hpp"

namespace bm::conf {
namespace {

using ::testing::ElementsAre;

// One row of a key table in docs/conf.md, by column name.
struct DocRow {
  int line = 0;
  std::map<std::string, std::string> cells;
};

std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|') {
      const auto first = cell.find_first_not_of(' ');
      const auto last = cell.find_last_not_of(' ');
      cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

// The rows of the tables under "### `[main]`", "### `[bench]`" and "### Page section",
// keyed by "section key" (section "page" for the page section).
std::map<std::string, DocRow> doc_key_rows(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::map<std::string, DocRow> rows;
  std::string line, section;
  std::vector<std::string> header;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.starts_with("#")) {
      section = line == "### `[main]`"                 ? "main"
                : line == "### `[bench]`"              ? "bench"
                : line.starts_with("### Page section") ? "page"
                                                       : "";
      header.clear();
      continue;
    }
    if (section.empty() || !line.starts_with("|")) continue;
    std::vector<std::string> cells = split_cells(line);
    if (header.empty()) {
      header = cells;
      continue;
    }
    if (cells.empty() || !cells[0].starts_with("`")) continue;  // the |---| line
    DocRow row{number, {}};
    for (std::size_t i = 0; i < cells.size() && i < header.size(); ++i) row.cells[header[i]] = cells[i];
    const std::string key = cells[0].substr(1, cells[0].size() - 2);
    EXPECT_TRUE(rows.emplace(section + " " + key, row).second) << path << ":" << number << ": " << key << " twice";
  }
  return rows;
}

// "`-c`, `--cycles`", or "–" for a key without a flag.
std::string doc_flags(const BenchOption& option) {
  if (option.flags.empty()) return "–";
  std::string out;
  std::string_view flags = option.flags;
  while (!flags.empty()) {
    const std::size_t comma = flags.find(',');
    out += (out.empty() ? "`" : ", `") + std::string(flags.substr(0, comma)) + "`";
    flags = comma == std::string_view::npos ? std::string_view() : flags.substr(comma + 1);
  }
  return out;
}

TEST(ConfOptions, DocsConfMdAgreesWithTheTable) {
  const std::string path = std::string(BM_SOURCE_DIR) + "/docs/conf.md";
  std::map<std::string, DocRow> doc = doc_key_rows(path);
  ASSERT_FALSE(doc.empty()) << path << ": no key tables found";
  for (const BenchOption& option : bench_options()) {
    if (option.section.empty()) continue;
    const std::string id = std::string(option.section) + " " + std::string(option.key);
    auto found = doc.find(id);
    if (found == doc.end()) {
      ADD_FAILURE() << path << ": no row for " << id << " (a key of src/conf/bench_options.cpp)";
      continue;
    }
    const DocRow& row = found->second;
    EXPECT_EQ(row.cells.at("Default"), option.default_text) << path << ":" << row.line << ": default of " << id;
    EXPECT_EQ(row.cells.at("Command line"), doc_flags(option)) << path << ":" << row.line << ": command line of " << id;
    doc.erase(found);
  }
  for (const auto& [id, row] : doc) {
    ADD_FAILURE() << path << ":" << row.line << ": " << id << " is not in src/conf/bench_options.cpp";
  }
}

// A conf that sets a key to its documented default resolves as an empty one.
TEST(ConfOptions, DocumentedDefaultsAreTheDefaults) {
  const ConfFile empty = *ConfFile::parse("", "Shop.conf", nullptr);
  for (Mode mode : {Mode::bench, Mode::test}) {
    std::string error;
    const std::optional<BenchSettings> defaults = resolve_bench_settings(empty, {}, mode, &error);
    ASSERT_TRUE(defaults) << error;
    for (const BenchOption& option : bench_options()) {
      std::string_view value = option.default_text;
      if (value == "empty" || value == "none") {
        value = "";
      } else if (value.size() >= 2 && value.front() == '`' && value.back() == '`' &&
                 value.find('<') == std::string_view::npos) {
        value = value.substr(1, value.size() - 2);
      } else {
        continue;  // described, not a value: the conf's name, benchmaster/<version>, –
      }
      if (option.section == "bench" && mode == Mode::test) continue;
      const std::string section = option.section == "page" ? page_section(mode) : std::string(option.section);
      const std::string text = fmt::format("[{}]\n{} = {}\n", section, option.key, value);
      const std::optional<ConfFile> conf = ConfFile::parse(text, "Shop.conf", &error);
      ASSERT_TRUE(conf) << error;
      const std::optional<BenchSettings> settings = resolve_bench_settings(*conf, {}, mode, &error);
      ASSERT_TRUE(settings) << text << error;
      EXPECT_TRUE(*settings == *defaults) << "[" << section << "] " << option.key << ": default is not " << value;
    }
  }
}

TEST(ConfOptions, OnlyOptionsBenchMasterTakesAreForwarded) {
  for (const BenchOption& option : bench_options()) {
    if (option.forwarded) {
      EXPECT_NE(option.commands & kMasterCommand, 0u) << option.flags;
    }
    if (!option.flags.empty()) {
      EXPECT_TRUE(long_flag(option).starts_with("--")) << option.flags;
    }
  }
}

TEST(ConfOptions, ForwardsOnlyWhatWasGiven) {
  EXPECT_TRUE(forwarded_args({}).empty());
  GivenOptions given;
  given.cycles = "2";
  given.fast = true;
  given.workers = 3;
  given.config = "Other.conf";  // deployed by the master, not forwarded
  given.seed = 7;               // bench-master does not take it
  EXPECT_THAT(forwarded_args(given), ElementsAre("--cycles", "2", "--as-fast-as-possible", "--workers", "3"));
}

TEST(ConfOptions, OverridesFromTheCommandLine) {
  GivenOptions given;
  given.duration = "5";
  given.sleep_time_max = "3";
  given.fast = true;  // wins over -M
  given.simple_fetch = true;
  given.ok_codes = "200:204";
  std::string error;
  std::optional<Overrides> o = overrides_from(given, &error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->duration_s, 5);
  EXPECT_EQ(o->sleep_time_max_s, 0);
  EXPECT_EQ(o->sleep_time_s, 0);
  EXPECT_EQ(o->fetch_resources, false);
  EXPECT_EQ(o->ok_codes, (std::vector<int>{200, 204}));
  EXPECT_FALSE(o->cycles);

  given = {};
  given.duration = "a minute";
  EXPECT_FALSE(overrides_from(given, &error));
  EXPECT_EQ(error, "command line: -D/--duration: 'a minute' is not a number");
  given = {};
  given.cycles = "10:x";
  EXPECT_FALSE(overrides_from(given, &error));
  EXPECT_EQ(error, "command line: -c/--cycles: '10:x' is not a list of positive integers separated by ':'");
  given = {};
  given.ok_codes = "2x";
  EXPECT_FALSE(overrides_from(given, &error));
  EXPECT_EQ(error, "command line: --ok-codes: '2x' is not a list of HTTP status codes separated by ':'");
}

TEST(ConfOptions, KnownConfKeys) {
  EXPECT_THAT(conf_keys("main"), ElementsAre("title", "description", "url", "user_agent"));
  EXPECT_THAT(conf_keys("ftest"), ::testing::Contains("lua_time_limit"));
  EXPECT_THAT(conf_keys("bench"), ::testing::Contains("node_num"));
  EXPECT_THAT(conf_keys("ftest"), ::testing::Not(::testing::Contains("node_num")));
  EXPECT_TRUE(conf_keys("other").empty());
}

}  // namespace
}  // namespace bm::conf
