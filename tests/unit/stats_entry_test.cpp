#include "stats/entry.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stats/json_reader.hpp"
#include "stats/results.hpp"

namespace bm::stats {
namespace {

using nlohmann::json;

TEST(ErrorKind, NamesRoundTrip) {
  for (std::size_t i = 0; i < kErrorKindCount; ++i) {
    const auto kind = static_cast<ErrorKind>(i);
    EXPECT_EQ(parse_error_kind(to_string(kind)), kind);
  }
  EXPECT_EQ(to_string(ErrorKind::too_large), "too_large");
  EXPECT_FALSE(parse_error_kind("Timeout").has_value());
  EXPECT_EQ(default_verdict(ErrorKind::status), Verdict::failure);
  EXPECT_EQ(default_verdict(ErrorKind::assertion), Verdict::failure);
  EXPECT_EQ(default_verdict(ErrorKind::resource), Verdict::failure);
  EXPECT_EQ(default_verdict(ErrorKind::timeout), Verdict::error);
  EXPECT_EQ(default_verdict(ErrorKind::script), Verdict::error);
}

TEST(EntryStats, RecordsSuccessesFailuresAndErrors) {
  EntryStats e;
  const int64_t t = 100'000;
  e.record_success(50'000, t);
  e.record_success(250'000, t);
  e.record_failure(ErrorKind::status, 30'000);
  e.record_failure(ErrorKind::assertion, -1);  // no response: no latency
  e.record_error(ErrorKind::timeout);
  e.add_status(200);
  e.add_status(200);
  e.add_status(503);
  e.add_bytes(100, 2000);
  e.add_bytes(50, 0);

  EXPECT_EQ(e.ok, 2u);
  EXPECT_EQ(e.failures, 2u);
  EXPECT_EQ(e.errors, 1u);
  EXPECT_EQ(e.total(), 5u);
  EXPECT_EQ(e.latency.count(), 2u);
  EXPECT_EQ(e.latency.max(), 250'000);
  EXPECT_EQ(e.failed_latency.count(), 1u);
  EXPECT_EQ(e.failed_latency.min(), 30'000);
  EXPECT_EQ(e.apdex, (Apdex{1, 1, 3}));  // failures and errors are frustrated
  EXPECT_EQ(e.error_kind_count(ErrorKind::status), 1u);
  EXPECT_EQ(e.error_kind_count(ErrorKind::assertion), 1u);
  EXPECT_EQ(e.error_kind_count(ErrorKind::timeout), 1u);
  EXPECT_EQ(e.status_codes.count(200), 2u);
  EXPECT_EQ(e.status_codes.count(503), 1u);
  EXPECT_EQ(e.status_codes.count(404), 0u);
  EXPECT_EQ(e.bytes_sent, 150u);
  EXPECT_EQ(e.bytes_received, 2000u);
}

TEST(EntryStats, MergeAddsEverything) {
  EntryStats a;
  a.record_success(1000, 5000);
  a.add_status(200);
  a.add_test_content(3, 12);
  EntryStats b;
  b.record_success(9000, 5000);
  b.record_error(ErrorKind::reset);
  b.add_status(200);
  b.add_status(302);
  b.add_test_content(4, 20);
  a.merge(b);
  EXPECT_EQ(a.ok, 2u);
  EXPECT_EQ(a.errors, 1u);
  EXPECT_EQ(a.latency.count(), 2u);
  EXPECT_EQ(a.latency.sum(), 10'000u);
  EXPECT_EQ(a.status_codes.sorted(), (std::vector<StatusCounts::Item>{{200, 2}, {302, 1}}));
  EXPECT_EQ(a.apdex, (Apdex{1, 1, 1}));
  EXPECT_EQ(a.pages, 7u);
  EXPECT_EQ(a.requests, 32u);
}

TEST(EntryStats, ResetKeepsMemorySoRecordingDoesNotAllocate) {
  EntryStats e;
  e.record_success(1'000'000, 1);
  e.add_status(200);
  e.reset();
  EXPECT_EQ(e.total(), 0u);
  EXPECT_EQ(e.latency.allocated_groups(), 1u);
  EXPECT_EQ(e.status_codes.items().size(), 1u);  // code kept, count zero
  EXPECT_TRUE(e.status_codes.sorted().empty());
}

TEST(EntryStats, JsonRoundTrip) {
  EntryStats e;
  e.record_success(1234, 1000);
  e.record_failure(ErrorKind::status, 99);
  e.add_status(404);
  e.add_status(200);
  e.add_test_content(2, 5);
  json object = json::object();
  write_entry_stats(object, e, true);
  EXPECT_EQ(object["status_codes"], json::parse(R"({"200": 1, "404": 1})"));
  EXPECT_EQ(object["error_kinds"], json::parse(R"({"status": 1})"));
  EXPECT_EQ(object["pages"], 2);

  EntryStats loaded;
  read_entry_stats(JsonObject(object, "entry"), loaded, true);
  json again = json::object();
  write_entry_stats(again, loaded, true);
  EXPECT_EQ(again, object);

  object["status_codes"]["2xx"] = 1;
  EXPECT_THROW(read_entry_stats(JsonObject(object, "entry"), loaded, true), SchemaError);
}

TEST(EntryTable, ReferencesStayValidAsEntriesAreAdded) {
  EntryTable table;
  Entry& first = table.slot("home");
  const EntryTable::Index first_index = table.index_of("home");
  first.stats.ok = 7;
  for (int i = 0; i < 10000; ++i) table.slot("page" + std::to_string(i));
  EXPECT_EQ(&table.slot("home"), &first);
  EXPECT_EQ(&table[first_index], &first);
  EXPECT_EQ(table.find("home")->stats.ok, 7u);
  EXPECT_EQ(table.size(), 10001u);
  EXPECT_EQ(table.begin()->key, "home");  // first-seen order
  EXPECT_EQ(table.find("absent"), nullptr);
}

TEST(EntryTable, RequestsAreIdentifiedByPageAndKey) {
  EntryTable requests;
  Entry& in_home = requests.slot("home", "GET /logo.png");
  Entry& in_cart = requests.slot("cart", "GET /logo.png");
  EXPECT_NE(&in_home, &in_cart);
  EXPECT_EQ(in_home.page, "home");
  EXPECT_EQ(requests.find("cart", "GET /logo.png"), &in_cart);
  EXPECT_EQ(requests.find("GET /logo.png"), nullptr);  // no such request outside a page
  EXPECT_EQ(requests.index_of("home", "GET /logo.png"), 0u);
}

TEST(EntryTable, MergeJoinsByPageAndKeyInFirstSeenOrder) {
  EntryTable a;
  a.slot("home", "r1").stats.ok = 1;
  EntryTable b;
  Entry& new_one = b.slot("cart", "r1");
  new_one.method = "POST";
  new_one.url = "http://127.0.0.1/cart";
  new_one.kind = RequestKind::redirect;
  new_one.stats.ok = 10;
  b.slot("home", "r1").stats.ok = 100;
  a.merge(b);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].stats.ok, 101u);
  EXPECT_EQ(a[1].page, "cart");
  EXPECT_EQ(a[1].method, "POST");
  EXPECT_EQ(a[1].kind, RequestKind::redirect);
  EXPECT_EQ(a.find("cart", "r1")->stats.ok, 10u);
}

TEST(ErrorGroups, GroupByKindPageRequestAndMessageWithBoundedExamples) {
  ErrorGroups groups;
  ErrorOccurrence timeout;
  timeout.kind = ErrorKind::timeout;
  timeout.page = "home";
  timeout.request = "GET /";
  timeout.message = "read timeout";
  for (int i = 0; i < 10; ++i) {
    const std::string example = "read timeout on connection " + std::to_string(i % 5);
    timeout.example = example;
    timeout.epoch_us = 1000 - i;
    groups.record(timeout);
  }
  ErrorOccurrence status;
  status.kind = ErrorKind::status;
  status.verdict = Verdict::failure;
  status.status = 503;
  status.page = "home";
  status.request = "GET /";
  status.message = "HTTP 503";
  groups.record(status);

  ASSERT_EQ(groups.size(), 2u);
  const ErrorGroup& g = groups[0];
  EXPECT_EQ(g.count, 10u);
  EXPECT_EQ(g.first_epoch_us, 991);
  EXPECT_EQ(g.last_epoch_us, 1000);
  ASSERT_EQ(g.examples.size(), kMaxErrorExamples);
  EXPECT_EQ(g.examples[2].message, "read timeout on connection 2");
  EXPECT_EQ(groups[1].verdict, Verdict::failure);
  EXPECT_EQ(groups[1].status, 503);
  EXPECT_EQ(groups[1].examples[0].message, "HTTP 503");  // no example text: the message
  EXPECT_EQ(groups.total(), 11u);
  EXPECT_EQ(groups.find(ErrorKind::timeout, "home", "GET /", "read timeout"), &groups[0]);
  EXPECT_EQ(groups.find(ErrorKind::timeout, "home", "GET", "/read timeout"), nullptr);

  ErrorGroups other;
  other.merge(groups);
  other.merge(groups);
  EXPECT_EQ(other[0].count, 20u);
  EXPECT_EQ(other[0].examples, groups[0].examples);
}

}  // namespace
}  // namespace bm::stats
