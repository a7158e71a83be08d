// CSV feeders: RFC 4180 reading, one node's part, and the draw orders.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "conf/conf_file.hpp"
#include "feeder/csv_table.hpp"
#include "feeder/feeder.hpp"

namespace bm::feeder {
namespace {

CsvTable parse(std::string_view text, char delimiter = ',') {
  std::string error;
  std::optional<CsvTable> table = parse_csv(text, "users.csv", delimiter, &error);
  EXPECT_TRUE(table) << error;
  return table.value_or(CsvTable{});
}

std::string parse_error(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_csv(text, "users.csv", ',', &error));
  return error;
}

TEST(FeederCsv, ReadsRfc4180) {
  const CsvTable t = parse("\xEF\xBB\xBFlogin,password,note\r\n"
                           "user1,pass1, spaced \r\n"
                           "\"user,2\",\"pa\"\"ss\",\"two\nlines\"\n"
                           "user3,,last");  // no final line break
  EXPECT_EQ(t.header, (std::vector<std::string>{"login", "password", "note"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0][2], " spaced ") << "spaces are part of a field";
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"user,2", "pa\"ss", "two\nlines"}));
  EXPECT_EQ(t.rows[2], (std::vector<std::string>{"user3", "", "last"}));
  EXPECT_EQ(parse("a;b\n1;2\n", ';').rows[0][1], "2");
}

TEST(FeederCsv, ProblemsNameTheLine) {
  EXPECT_EQ(parse_error("a,b\n1,2\n3\n"), "users.csv:3: 1 field where the header names 2");
  EXPECT_EQ(parse_error("a,b\n1,2\n\"3,4\n"), "users.csv:3: a quote out of place, or a quoted field that does not end");
  EXPECT_EQ(parse_error("a,b\n1,x\"y\"\n"), "users.csv:2: a quote out of place, or a quoted field that does not end");
  EXPECT_EQ(parse_error("a,a\n1,2\n"), "users.csv:1: field name 'a' is given twice in the header");
  // Found by the csv fuzz target: a quoted name holding a line break made a message of two lines.
  EXPECT_EQ(parse_error("\"a\nb\",\"a\nb\"\n1,2\n"), "users.csv:3: field name 'a\\nb' is given twice in the header");
  EXPECT_EQ(parse_error("a,\n1,2\n"), "users.csv:1: an empty field name in the header (the first row names the fields)");
  EXPECT_EQ(parse_error(""), "users.csv: empty (the first row names the fields)");
  EXPECT_EQ(parse_error("a,b\n"), "users.csv: no rows after the header");
}

TEST(FeederCsv, PartsAreDisjointAndCoverEveryRowAndReadBack) {
  std::string text = "login,note\n";
  for (int i = 0; i < 10; ++i) text += "user" + std::to_string(i) + ",\"a, \"\"quoted\"\" note\"\n";
  const CsvTable whole = parse(text);
  std::multiset<std::string> seen;
  for (std::size_t part = 0; part < 4; ++part) {
    const CsvTable piece = parse(write_csv_part(whole, ',', part, 4));
    EXPECT_EQ(piece.header, whole.header);
    for (std::size_t i = 0; i < piece.rows.size(); ++i) {
      EXPECT_EQ(piece.rows[i], whole.rows[part + 4 * i]) << "rows i with i % 4 == part, in order";
      seen.insert(piece.rows[i][0]);
    }
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 10u);
}

// Found by the csv fuzz target: in a one-column feeder, a row with an empty value was
// written to the nodes as an empty line, which the node's reader skipped: the row was lost.
TEST(FeederCsv, AnEmptyValueAloneOnItsRowSurvivesTheSplit) {
  const CsvTable whole = parse("code\n\"\"\nA\n");
  ASSERT_EQ(whole.rows.size(), 2u);
  EXPECT_EQ(whole.rows[0], (std::vector<std::string>{""}));
  const CsvTable again = parse(write_csv_part(whole, ',', 0, 1));
  EXPECT_EQ(again.rows, whole.rows);
}

// Found by the csv fuzz target: a header after a blank line keeps a byte order mark in its
// first name; written back, the mark started the file and was dropped, and the name with it.
TEST(FeederCsv, AByteOrderMarkInsideTheFirstNameIsWrittenSoThatItStays) {
  const CsvTable whole = parse("\n\xEF\xBB\xBF;b\n1;2\n", ';');
  EXPECT_EQ(whole.header, (std::vector<std::string>{"\xEF\xBB\xBF", "b"}));
  const CsvTable again = parse(write_csv_part(whole, ';', 0, 1), ';');
  EXPECT_EQ(again.header, whole.header);
  EXPECT_EQ(again.rows, whole.rows);
}

std::vector<FeederSpec> specs(std::string_view conf_text, std::string* error) {
  std::optional<conf::ConfFile> conf = conf::ConfFile::parse(conf_text, "Shop.conf", error);
  if (!conf) return {};
  return read_feeder_specs(*conf, error).value_or(std::vector<FeederSpec>{});
}

TEST(FeederSpecs, ReadFromTheConf) {
  std::string error;
  const auto s = specs("[main]\nurl = http://127.0.0.1/\n[feeder.users]\nfile = users.csv\norder = per_user\n"
                       "at_end = stop_user\npartition = whole\ndelimiter = tab\n",
                       &error);
  ASSERT_EQ(s.size(), 1u) << error;
  EXPECT_EQ(s[0].name, "users");
  EXPECT_EQ(s[0].order, FeedOrder::per_user);
  EXPECT_EQ(s[0].at_end, AtEnd::stop_user);
  EXPECT_FALSE(s[0].partition_by_node);
  EXPECT_EQ(s[0].delimiter, '\t');
  const auto d = specs("[feeder.items]\nfile = items.csv\n", &error);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].order, FeedOrder::sequence);
  EXPECT_EQ(d[0].at_end, AtEnd::fail) << "never reuse a row unless told to";
  EXPECT_TRUE(d[0].partition_by_node);

  error.clear();
  EXPECT_TRUE(specs("[feeder.users]\nfile = u.csv\norder = shuffled\n", &error).empty());
  EXPECT_EQ(error, "Shop.conf:3: [feeder.users] order: 'shuffled' is not sequence, per_user, random");
  EXPECT_TRUE(specs("[feeder.users]\norder = random\n", &error).empty());
  EXPECT_EQ(error, "Shop.conf:1: [feeder.users]: no file (the CSV file to read)");
  EXPECT_TRUE(specs("[feeder.users]\nfile = u.csv\nmode = random\n", &error).empty());
  EXPECT_EQ(error, "Shop.conf:3: [feeder.users] mode: unknown key (file, order, at_end, partition, delimiter)");
}

Feeder make_feeder(FeedOrder order, AtEnd at_end, int rows) {
  CsvTable table{{"n"}, {}};
  for (int i = 0; i < rows; ++i) table.rows.push_back({std::to_string(i)});
  FeederSpec spec;
  spec.name = "f";
  spec.order = order;
  spec.at_end = at_end;
  return Feeder(spec, std::move(table));
}

TEST(Feeder, SequenceHandsEachRowOnceAcrossThreads) {
  Feeder feeder = make_feeder(FeedOrder::sequence, AtEnd::fail, 10000);
  std::vector<std::vector<std::size_t>> drawn(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (auto row = feeder.draw(0, 0)) drawn[t].push_back(*row);
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::size_t> all;
  std::size_t total = 0;
  for (const auto& rows : drawn) {
    all.insert(rows.begin(), rows.end());
    total += rows.size();
  }
  EXPECT_EQ(total, 10000u);
  EXPECT_EQ(all.size(), 10000u);
  EXPECT_EQ(feeder.handed_out(), 10000u);
  EXPECT_EQ(feeder.exhausted(), 4u) << "each thread's last draw found the end";
}

TEST(Feeder, OrdersAndEnds) {
  Feeder wrap = make_feeder(FeedOrder::sequence, AtEnd::wrap, 3);
  std::vector<std::size_t> rows;
  for (int i = 0; i < 5; ++i) rows.push_back(*wrap.draw(0, 0));
  EXPECT_EQ(rows, (std::vector<std::size_t>{0, 1, 2, 0, 1}));
  EXPECT_EQ(wrap.exhausted(), 2u);

  Feeder per_user = make_feeder(FeedOrder::per_user, AtEnd::stop_user, 3);
  EXPECT_EQ(per_user.draw(2, 0), 2u);
  EXPECT_EQ(per_user.draw(2, 0), 2u) << "a user keeps its row";
  EXPECT_FALSE(per_user.draw(3, 0)) << "user 3 has no row of its own";

  Feeder random = make_feeder(FeedOrder::random, AtEnd::fail, 3);
  EXPECT_EQ(random.draw(0, 7), 1u);
  EXPECT_EQ(random.handed_out(), 1u);
}

}  // namespace
}  // namespace bm::feeder
