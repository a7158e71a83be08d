#include "stats/results.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "results_fixture.hpp"
#include "stats/json_fast.hpp"

namespace bm::stats {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- A synthetic run: three nodes, two cycles, requests that are pages and tests ----

constexpr int64_t kBaseEpochUs = 1'700'000'000'000'000;
constexpr int64_t kWindowUs = 20'000'000;
constexpr int64_t kCycleEveryUs = 30'000'000;
constexpr int64_t kApdexTUs = 250'000;
const std::vector<int> kCyclesPerNode = {4, 8};

struct Sample {
  int node = 0;
  int cycle = 0;
  int64_t epoch_us = 0;  // master clock
  std::string page;
  TestOutcome outcome = TestOutcome::ok;
  ErrorKind kind = ErrorKind::other;
  int status = 200;
  int64_t latency_us = 0;
  uint64_t bytes_in = 0;
  std::string message;
  std::string example;
  std::string location;
};

int64_t cycle_start_us(int node, int cycle) {  // master clock; nodes start a little apart
  return kBaseEpochUs + cycle * kCycleEveryUs + node * 1'000;
}

std::vector<Sample> make_samples(int nodes, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<Sample> samples;
  for (int node = 0; node < nodes; ++node) {
    std::vector<std::string> pages = {"home", "search", "cart"};
    if (node == 2) pages.push_back("checkout");  // a key only one node saw
    for (int cycle = 0; cycle < 2; ++cycle) {
      for (int i = 0; i < 400; ++i) {
        Sample s;
        s.node = node;
        s.cycle = cycle;
        s.epoch_us = cycle_start_us(node, cycle) + static_cast<int64_t>(unit(rng) * (kWindowUs - 1));
        s.page = pages[static_cast<std::size_t>(unit(rng) * static_cast<double>(pages.size()))];
        s.latency_us = static_cast<int64_t>(std::exp(std::log(300.0) + unit(rng) * std::log(1e5)));
        s.bytes_in = 500 + static_cast<uint64_t>(unit(rng) * 5000);
        const double roll = unit(rng);
        if (roll < 0.05) {
          s.outcome = TestOutcome::failure;
          s.kind = ErrorKind::status;
          s.status = 503;
          s.message = "HTTP 503";
          s.example = fmt::format("HTTP 503 Service Unavailable (retry-after {})", i % 5);
        } else if (roll < 0.08) {
          s.outcome = TestOutcome::failure;
          s.kind = ErrorKind::assertion;
          s.message = "expected 'Welcome' in body";
          s.example = s.message;
          s.location = fmt::format("test_Shop.lua:{}", 40 + i % 4);
        } else if (roll < 0.11) {
          s.outcome = TestOutcome::error;
          s.kind = ErrorKind::timeout;
          s.status = 0;
          s.message = "read timeout";
          s.example = fmt::format("read timeout after 5 s on connection {}", i % 7);
        }
        samples.push_back(s);
      }
    }
  }
  std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
    return std::tie(a.node, a.epoch_us) < std::tie(b.node, b.epoch_us);
  });
  return samples;
}

// Node `node`'s run of the shop test, its cycles sized for `nodes_in_total_for_cvus` nodes.
testing::ResultsBuilder shop_run(int node, int nodes_in_total_for_cvus) {
  testing::ResultsBuilder builder("Shop");
  builder.function("test_Shop")
      .title("Shop checkout")
      .url("http://127.0.0.1:8080/")
      .node(node)
      .status(RunStatus::complete)
      .cycles(kCyclesPerNode, 20, nodes_in_total_for_cvus)
      .default_limits();
  Results& r = builder.results();
  r.run.test_file = "test_Shop.lua";
  r.run.conf_file = "Shop.conf";
  r.run.description = "Browse, search, buy";
  r.run.label = "baseline";
  r.run.host = fmt::format("load{}", node);
  r.run.command_line = {"bench-run", "test_Shop.lua", "-c", "4:8"};
  r.run.workers = 2;
  r.run.pid = 4242 + node;
  r.config.startup_delay_s = 0.05;
  r.config.sleep_time_s = 0.5;
  r.config.sleep_time_max_s = 2;
  r.config.cycle_time_s = 1;
  r.config.apdex_t_s = 0.25;
  r.conf = {{"main", {{"title", "Shop checkout"}, {"url", "http://127.0.0.1:8080/"}}}, {"bench", {{"cycles", "4:8"}}}};
  return builder;
}

Results empty_results(int node, int nodes_in_total_for_cvus) { return shop_run(node, nodes_in_total_for_cvus).build(); }

// Cycles whose windows open at `first_window_us` and every kCycleEveryUs after, 2 s of
// ramp before and 3 s of tail after each.
testing::ResultsBuilder& with_cycle_times(testing::ResultsBuilder& builder, int64_t first_window_us) {
  return builder.cycle_times(first_window_us - 2'000'000, kCycleEveryUs, 2'000'000, 3'000'000);
}

// Records one sample as a request, the page it makes up, and the test it completes.
void record_sample(CycleResults& cycle, const Sample& s, int64_t clock_offset_us) {
  Entry& request = cycle.requests.slot(s.page, s.page + "#1");
  if (request.method.empty()) {
    request.method = "GET";
    request.url = "http://127.0.0.1:8080/" + s.page;
  }
  EntryStats& page = cycle.pages.slot(s.page).stats;
  EntryStats& test = cycle.tests.slot("test_Shop").stats;
  if (s.status != 0) request.stats.add_status(s.status);
  request.stats.add_bytes(120, s.bytes_in);
  if (s.outcome == TestOutcome::ok) {
    request.stats.record_success(s.latency_us, kApdexTUs);
    page.record_success(s.latency_us + 10, kApdexTUs);
    test.record_success(s.latency_us + 500'000, kApdexTUs);
    test.add_test_content(1, 1);
    return;
  }
  const int64_t latency = s.status != 0 ? s.latency_us : -1;
  if (s.outcome == TestOutcome::failure) {
    request.stats.record_failure(s.kind, latency);
    page.record_failure(s.kind, latency);
    test.record_failure(s.kind, s.latency_us + 500'000);
  } else {
    request.stats.record_error(s.kind);
    page.record_error(s.kind);
    test.record_error(s.kind);
  }
  ErrorOccurrence occurrence;
  occurrence.kind = s.kind;
  occurrence.verdict = s.outcome == TestOutcome::failure ? Verdict::failure : Verdict::error;
  occurrence.page = s.page;
  const std::string request_key = s.page + "#1";
  occurrence.request = request_key;
  occurrence.status = s.status;
  occurrence.message = s.message;
  occurrence.example = s.example;
  occurrence.location = s.location;
  occurrence.epoch_us = s.epoch_us + clock_offset_us;
  cycle.errors.record(occurrence);
}

// Per-second series as a worker builds it: one roll per second while users run.
std::vector<SeriesPoint> series_of(const std::vector<const Sample*>& samples, int64_t clock_offset_us,
                                   int cvus_multiplier) {
  std::vector<SeriesPoint> series;
  for (int c = 0; c < 2; ++c) {
    const int64_t first_second = (cycle_start_us(0, c) + clock_offset_us) / 1'000'000;
    SecondAccumulator accumulator(first_second);
    accumulator.set_cycle(c, Phase::window);
    accumulator.set_cvus(kCyclesPerNode[static_cast<std::size_t>(c)] * cvus_multiplier);
    auto next = samples.begin();
    for (int64_t second = first_second; second <= first_second + kWindowUs / 1'000'000; ++second) {
      for (; next != samples.end(); ++next) {
        const Sample& s = **next;
        if (s.cycle != c) continue;
        if ((s.epoch_us + clock_offset_us) / 1'000'000 > second) break;
        if (s.outcome == TestOutcome::ok) {
          accumulator.record_request_ok(s.latency_us);
        } else {
          accumulator.record_request_failed();
        }
        accumulator.record_page(s.outcome == TestOutcome::ok);
        accumulator.record_test(s.outcome);
        accumulator.add_bytes_received(s.bytes_in);
      }
      if (auto point = accumulator.roll(second + 1)) series.push_back(std::move(*point));
    }
  }
  return series;
}

std::vector<const Sample*> select(const std::vector<Sample>& samples, int node /* -1: all */) {
  std::vector<const Sample*> selected;
  for (const Sample& s : samples) {
    if (node < 0 || s.node == node) selected.push_back(&s);
  }
  std::stable_sort(selected.begin(), selected.end(),
                   [](const Sample* a, const Sample* b) { return a->epoch_us < b->epoch_us; });
  return selected;
}

Results node_results(const std::vector<Sample>& samples, int node, int64_t clock_offset_us) {
  testing::ResultsBuilder builder = shop_run(node, 1);
  builder.span(kBaseEpochUs - 5'000'000 + clock_offset_us, kBaseEpochUs + 60'000'000 + clock_offset_us);
  Results r = with_cycle_times(builder, cycle_start_us(node, 0) + clock_offset_us).build();
  for (const Sample* s : select(samples, node)) record_sample(r.cycles[static_cast<std::size_t>(s->cycle)], *s, clock_offset_us);
  r.series = series_of(select(samples, node), clock_offset_us, 1);
  return r;
}

// What one node would have recorded had it run every node's users (master clock).
Results union_results(const std::vector<Sample>& samples, int nodes) {
  testing::ResultsBuilder builder = shop_run(0, nodes);
  Results r = with_cycle_times(builder, cycle_start_us(0, 0)).build();
  for (int c = 0; c < 2; ++c) {
    CycleResults& cycle = r.cycles[static_cast<std::size_t>(c)];
    cycle.end_epoch_us = cycle_start_us(nodes - 1, c) + kWindowUs + 3'000'000;
    // The merged window is the span in which every node was in its own: from the last
    // node's opening to the first node's closing; the skew is how far apart they were.
    cycle.window_start_epoch_us = cycle_start_us(nodes - 1, c);
    cycle.window_end_epoch_us = cycle_start_us(0, c) + kWindowUs;
    cycle.window_skew_us = cycle_start_us(nodes - 1, c) - cycle_start_us(0, c);
  }
  for (const Sample& s : samples) record_sample(r.cycles[static_cast<std::size_t>(s.cycle)], s, 0);  // node order
  r.series = series_of(select(samples, -1), 0, nodes);
  return r;
}

// ---- JSON and files ----------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "bm-stats-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    ::chmod(path_.c_str(), 0700);
    fs::remove_all(path_);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string file_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ResultsJson, RoundTripKeepsEveryValue) {
  const std::vector<Sample> samples = make_samples(3, 5);
  Results original = node_results(samples, 2, 0);
  original.monitor.hosts.push_back(testing::monitor_host("db1", 1'000'000, 3));
  original.monitor.hosts[0].gaps.push_back({1'200'000, 1'400'000, "no answer"});
  original.monitor.hosts[0].points[1].cpu.reset();
  original.monitor.warnings.push_back("monitor db1: no answer for 0.2 s");
  const std::string text = results_to_string(original);

  Results loaded;
  std::string error;
  ASSERT_TRUE(parse_results(text, loaded, &error)) << error;
  EXPECT_EQ(results_to_string(loaded), text);
  ASSERT_EQ(loaded.cycles.size(), 2u);
  const CycleResults& cycle = loaded.cycles[1];
  const Entry* checkout = cycle.requests.find("checkout", "checkout#1");
  ASSERT_NE(checkout, nullptr);
  EXPECT_EQ(checkout->page, "checkout");
  EXPECT_EQ(checkout->stats.latency, original.cycles[1].requests.find("checkout", "checkout#1")->stats.latency);
  EXPECT_EQ(cycle.tests.find("test_Shop")->stats.pages, original.cycles[1].tests.find("test_Shop")->stats.pages);
  EXPECT_EQ(loaded.series, original.series);
  EXPECT_EQ(loaded.conf, original.conf);
  EXPECT_EQ(loaded.monitor, original.monitor);
  EXPECT_FALSE(loaded.merged());

  const json document = json::parse(text);
  EXPECT_EQ(document["format"], "benchmaster-results");
  EXPECT_EQ(document["version"], 1);
  EXPECT_EQ(document["histogram"], json::parse(R"({"lowest_us":1,"highest_us":3600000000,"significant_digits":3})"));
  EXPECT_FALSE(document.contains("nodes"));
}

TEST(ResultsJson, TheFileTextIsTheTreeDumped) {
  // The writer prints histogram buckets from their packed form; the text must be
  // exactly the document results_to_json gives, buckets as [[index, count], ...].
  const Results r = node_results(make_samples(3, 9), 1, 0);
  const std::string text = results_to_string(r);
  EXPECT_EQ(json::parse(text), results_to_json(r));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find(R"("buckets":[[)"), std::string::npos);
}

TEST(ResultsJson, InvalidUtf8InMessagesIsReplacedNotThrown) {
  Results r = empty_results(0, 1);
  ErrorOccurrence occurrence;
  occurrence.kind = ErrorKind::protocol;
  occurrence.message = "bad byte \xff here";
  r.cycles[0].errors.record(occurrence);
  std::string error;
  Results loaded;
  ASSERT_TRUE(parse_results(results_to_string(r), loaded, &error)) << error;
  EXPECT_EQ(loaded.cycles[0].errors[0].message, "bad byte \xEF\xBF\xBD here");
}

TEST(ResultsFile, WriteReplacesAtomicallyAndLeavesNoTemporary) {
  TempDir dir;
  const fs::path path = dir.path() / "results.json";
  Results r = empty_results(0, 1);
  std::string error;
  ASSERT_TRUE(write_results_atomic(r, path, &error)) << error;
  r.run.status = RunStatus::complete;
  r.run.title = "second version";
  ASSERT_TRUE(write_results_atomic(r, path, &error)) << error;
  EXPECT_EQ(file_text(path), results_to_string(r));
  EXPECT_FALSE(fs::exists(dir.path() / "results.json.tmp"));
  Results loaded;
  ASSERT_TRUE(read_results(path, loaded, &error)) << error;
  EXPECT_EQ(loaded.run.title, "second version");
}

// A merged file can be 100+ MB: it is written in pieces as it is made, and the pieces
// are the same text; a write that fails part way leaves the old file and no temporary.
TEST(ResultsFile, ALargeFileIsWrittenInPiecesAndAFailedWriteLeavesTheOldFile) {
  TempDir dir;
  const fs::path path = dir.path() / "results.json";
  Results r = node_results(make_samples(1, 3), 0, 0);
  for (int i = 0; i < 3000; ++i) {
    testing::record_page_successes(r.cycles[0], fmt::format("page {}", i), fmt::format("{}.1", i), 40,
                          [i](int k) { return 1000 + 37 * i + 997 * k; }, 500'000);
  }
  const std::string text = results_to_string(r);
  ASSERT_GT(text.size(), 3u << 20) << "more than one piece";
  std::size_t pieces = 0;
  std::string joined;
  ASSERT_TRUE(write_results_text(r, [&](std::string_view piece) {
    ++pieces;
    joined += piece;
    return true;
  }));
  EXPECT_GE(pieces, 3u);
  EXPECT_EQ(joined, text);
  std::string error;
  ASSERT_TRUE(write_results_atomic(r, path, &error)) << error;
  EXPECT_EQ(file_text(path), text);

  // The file size limit makes the write fail part way (EFBIG), as a full disk would.
  const Results small = node_results(make_samples(1, 4), 0, 0);
  ASSERT_TRUE(write_results_atomic(small, path, &error)) << error;
  const std::string before = file_text(path);
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &limit), 0);
  const rlimit lowered{1u << 20, limit.rlim_max};
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lowered), 0);
  const bool written = write_results_atomic(r, path, &error);
  ::setrlimit(RLIMIT_FSIZE, &limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(written);
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
  EXPECT_NE(error.find("File too large"), std::string::npos) << error;
  EXPECT_EQ(file_text(path), before);
  EXPECT_FALSE(fs::exists(dir.path() / "results.json.tmp"));
}

TEST(ResultsFile, UnwritableFolderLeavesTheOldFileIntact) {
  TempDir dir;
  const fs::path path = dir.path() / "results.json";
  Results r = empty_results(0, 1);
  std::string error;
  ASSERT_TRUE(write_results_atomic(r, path, &error)) << error;
  const std::string before = file_text(path);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);

  // root ignores folder permissions, so the write runs in a child without privileges.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
    Results changed = r;
    changed.run.title = "must not appear";
    std::string child_error;
    const bool written = write_results_atomic(changed, path, &child_error);
    const bool names_the_file = child_error.find("results.json") != std::string::npos &&
                                child_error.find("Permission denied") != std::string::npos;
    _exit(written ? 1 : names_the_file ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the write succeeded, 2: unclear error, 3: could not drop privileges";
  EXPECT_EQ(file_text(path), before);
  EXPECT_FALSE(fs::exists(dir.path() / "results.json.tmp"));
}

TEST(ResultsFile, FailedRenameRemovesTheTemporary) {
  TempDir dir;
  const fs::path path = dir.path() / "results.json";
  fs::create_directory(path);  // a folder where the file should go: rename fails
  fs::create_directory(path / "keep");
  std::string error;
  EXPECT_FALSE(write_results_atomic(empty_results(0, 1), path, &error));
  EXPECT_NE(error.find("cannot replace"), std::string::npos) << error;
  EXPECT_TRUE(fs::is_directory(path / "keep"));
  EXPECT_FALSE(fs::exists(dir.path() / "results.json.tmp"));
}

class ResultsReader : public ::testing::Test {
 protected:
  // Writes `document` as results.json and returns the reader's error ("" if accepted).
  std::string read_error(const json& document) {
    const fs::path path = dir_.path() / "results.json";
    std::ofstream(path) << document.dump();
    return read_error_of(path);
  }
  std::string read_error_of(const fs::path& path) {
    Results r;
    std::string error;
    return read_results(path, r, &error) ? "" : error;
  }
  json valid() { return results_to_json(node_results(make_samples(1, 3), 0, 0)); }
  std::string prefix() { return (dir_.path() / "results.json").string() + ": "; }
  TempDir dir_;
};

TEST_F(ResultsReader, AcceptsAValidFile) { EXPECT_EQ(read_error(valid()), ""); }

TEST_F(ResultsReader, NamesAMissingTopLevelKey) {
  json document = valid();
  document.erase("cycles");
  EXPECT_EQ(read_error(document), prefix() + "missing key 'cycles'");
}

TEST_F(ResultsReader, TlsVerifyIsOptionalAndRoundTrips) {
  json document = valid();
  ASSERT_TRUE(document["config"].contains("tls_verify"));
  document["config"]["tls_verify"] = true;
  const fs::path path = dir_.path() / "results.json";
  std::ofstream(path) << document.dump();
  Results r;
  std::string error;
  ASSERT_TRUE(read_results(path, r, &error)) << error;
  EXPECT_TRUE(r.config.tls_verify);

  document["config"].erase("tls_verify");  // as files written before the key existed
  EXPECT_EQ(read_error(document), "");
  document["config"]["tls_verify"] = "yes";
  EXPECT_NE(read_error(document).find("tls_verify"), std::string::npos);
}

TEST_F(ResultsReader, RefusesANewerVersion) {
  json document = valid();
  document["version"] = 2;
  document.erase("cycles");  // a newer version may lay things out differently
  EXPECT_EQ(read_error(document), prefix() + "unsupported results version 2");
}

TEST_F(ResultsReader, RefusesAnotherFormat) {
  json document = valid();
  document["format"] = "funkload";
  EXPECT_EQ(read_error(document), prefix() + "not a benchmaster-results document (format 'funkload')");
}

TEST_F(ResultsReader, NamesThePathOfADeepProblem) {
  json document = valid();
  document["cycles"][1]["pages"][0].erase("ok");
  EXPECT_EQ(read_error(document), prefix() + "cycles[1].pages[0]: missing key 'ok'");
  document = valid();
  document["cycles"][0]["requests"][0]["latency"]["count"] = -3;
  EXPECT_EQ(read_error(document),
            prefix() + "cycles[0].requests[0].latency.count: expected a non-negative integer, got integer");
  document = valid();
  document["run"]["status"] = "done";
  EXPECT_EQ(read_error(document),
            prefix() + "run.status: unknown value 'done' (expected running, complete, interrupted)");
  document = valid();
  document["cycles"][0]["requests"][0]["error_kinds"]["gremlins"] = 1;
  EXPECT_EQ(read_error(document), prefix() + "cycles[0].requests[0].error_kinds: unknown error kind 'gremlins'");
  document = valid();
  document["histogram"]["significant_digits"] = 2;
  EXPECT_NE(read_error(document).find("histogram: unsupported histogram parameters"), std::string::npos);
}

TEST_F(ResultsReader, CyclesAreReadAsTheParserFinishesEachWithTheSameMessages) {
  // Each element of `cycles` becomes its figures as soon as it is parsed and leaves the
  // document tree; what is said about a bad one, and in which order, is unchanged.
  json document = valid();
  document["cycles"][1] = 7;
  EXPECT_EQ(read_error(document), prefix() + "cycles[1]: expected an object, got non-negative integer");
  document = valid();
  document["cycles"][0] = json::array({1});
  EXPECT_EQ(read_error(document), prefix() + "cycles[0]: expected an object, got array");
  document = valid();
  document["cycles"] = json::object({{"0", valid()["cycles"][0]}});
  EXPECT_EQ(read_error(document), prefix() + "cycles: expected an array, got object");
  document = valid();
  document["cycles"][1]["index"] = 5;
  EXPECT_EQ(read_error(document), prefix() + "cycles[1].index: expected 1 (cycles are listed in order)");
  // In a file of another format a bad cycle is not what is wrong: the format is.
  document = valid();
  document["format"] = "funkload";
  document["cycles"][0].erase("index");
  EXPECT_EQ(read_error(document), prefix() + "not a benchmaster-results document (format 'funkload')");
  // Two `cycles` keys (a JSON object may repeat a key; nothing is merged silently).
  std::string text = valid().dump();
  ASSERT_EQ(text.front(), '{');
  text.insert(1, R"("cycles":[],)");
  const fs::path path = dir_.path() / "results.json";
  std::ofstream(path) << text;
  EXPECT_EQ(read_error_of(path), prefix() + "cycles: the key appears twice");
  // Histogram buckets are packed as they are parsed; a bad pair anywhere in the array
  // is named at its place, as the tree would have had it.
  document = valid();
  json& buckets = document["cycles"][0]["requests"][0]["latency"]["buckets"];
  ASSERT_GE(buckets.size(), 3u);
  buckets[2][1] = "1";
  EXPECT_EQ(read_error(document), prefix() + "cycles[0].requests[0].latency.buckets[2][1]: expected a non-negative "
                                             "integer, got string");
  document = valid();
  document["cycles"][0]["requests"][0]["latency"]["buckets"][1] = json::array({1, 2, 3});
  EXPECT_EQ(read_error(document), prefix() + "cycles[0].requests[0].latency.buckets[1]: expected [index, count]");
  document = valid();
  std::swap(document["cycles"][1]["pages"][0]["latency"]["buckets"][0],
            document["cycles"][1]["pages"][0]["latency"]["buckets"][1]);
  EXPECT_EQ(read_error(document).find(prefix() + "cycles[1].pages[0].latency.buckets[1]: bucket index"), 0u);
  document = valid();
  document["cycles"][1]["pages"][0]["latency"]["buckets"][0][1] = 0;
  EXPECT_EQ(read_error(document),
            prefix() + "cycles[1].pages[0].latency.buckets[0]: bucket count 0 (only non-zero buckets are stored)");
  document = valid();
  document["cycles"][0]["requests"][0]["latency"]["count"] = 1;
  EXPECT_NE(read_error(document).find("cycles[0].requests[0].latency: bucket counts add up to"), std::string::npos);
  document = valid();
  document["series"][0]["latency"]["buckets"][0] = "x";
  EXPECT_EQ(read_error(document).find(prefix() + "series[0]"), 0u) << read_error(document);
  // A valid file: every cycle, in order, equal to what was written.
  const Results original = node_results(make_samples(1, 3), 0, 0);
  Results loaded;
  std::string error;
  ASSERT_TRUE(parse_results(results_to_json(original).dump(), loaded, &error)) << error;
  ASSERT_EQ(loaded.cycles.size(), original.cycles.size());
  for (std::size_t c = 0; c < loaded.cycles.size(); ++c) {
    EXPECT_EQ(cycle_results_to_json(loaded.cycles[c]), cycle_results_to_json(original.cycles[c])) << c;
  }
}

// parse_results reads with simdjson and falls back to the reference reader (nlohmann)
// on anything it would read otherwise: on every input the two give the same answer.
TEST_F(ResultsReader, TheFastReaderAgreesWithTheReferenceReader) {
  const std::string text = valid().dump();
  const auto replaced = [&](std::string_view from, std::string_view to) {
    std::string changed = text;
    const std::size_t at = changed.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) changed.replace(at, from.size(), to);
    return changed;
  };
  const std::string deep = std::string(1100, '[') + std::string(1100, ']');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"the valid file", text},
      {"spaces around it", " \n" + text + "\n\t "},
      {"a byte-order mark", "\xEF\xBB\xBF" + text},
      {"trailing text", text + "x"},
      {"a second document", text + "{}"},
      {"empty", ""},
      {"an array", "[]"},
      {"null", "null"},
      {"-0 where an integer goes", replaced(R"("control_lag_us":0)", R"("control_lag_us":-0)")},
      {"-0 as a bucket count", replaced(",1],", ",-0],")},
      {"a fraction where an integer goes", replaced(R"("control_lag_us":0)", R"("control_lag_us":0.0)")},
      {"an exponent where an integer goes", replaced(R"("control_lag_us":0)", R"("control_lag_us":0e0)")},
      {"an integer past 64 bits", replaced(R"("control_lag_us":0)", R"("control_lag_us":18446744073709551616)")},
      {"an integer past 63 bits", replaced(R"("control_lag_us":0)", R"("control_lag_us":9223372036854775808)")},
      {"a number past a double", replaced(R"("control_lag_us":0)", R"("control_lag_us":1e400)")},
      {"a leading zero", replaced(R"("control_lag_us":0)", R"("control_lag_us":00)")},
      {"a top-level key twice", replaced(R"("format":)", R"("format":"x","format":)")},
      {"a key twice in a cycle", replaced(R"("cvus":)", R"("cvus":99,"cvus":)")},
      {"cycles twice", "{\"cycles\":[]," + text.substr(1)},
      {"deep nesting", replaced(R"("config":{)", R"("extra":{"x":)" + deep + R"(},"config":{)")},
      {"buckets at the top", replaced(R"("config":{)", R"("buckets":[[1,2]],"config":{)")},
      {"buckets that are not pairs", replaced(R"("config":{)", R"("extra":{"buckets":[[1,2],[3],"x",[4,5,6]]},"config":{)")},
      {"an escaped key", replaced(R"("cvus":)", R"("\u0063vus":)")},
      {"a lone surrogate", replaced(R"("config":{)", R"("extra":"\ud800","config":{)")},
      {"a raw control character", replaced(R"("config":{)", "\"extra\":\"\x01\",\"config\":{")},
      {"invalid UTF-8", replaced(R"("config":{)", "\"extra\":\"\xC3\x28\",\"config\":{")},
      {"a truncated file", text.substr(0, text.size() / 2)},
  };
  // The fast path reads the valid file itself, and gives up where it should.
  const auto fast_reads = [](const std::string& input) {
    return read_json_object_fast(input, false, "cycles", [](std::string_view, json&&) {}, [](json&&) {});
  };
  EXPECT_TRUE(fast_reads(text));
  EXPECT_TRUE(fast_reads(cases[1].second));
  for (const char* gives_up : {"trailing text", "a second document", "empty", "an array", "an integer past 64 bits",
                               "a number past a double", "a top-level key twice", "cycles twice", "deep nesting"}) {
    const auto it = std::find_if(cases.begin(), cases.end(), [&](const auto& c) { return c.first == gives_up; });
    ASSERT_NE(it, cases.end()) << gives_up;
    EXPECT_FALSE(fast_reads(it->second)) << gives_up;
  }
  for (const auto& [what, input] : cases) {
    Results fast, reference;
    std::string fast_error, reference_error;
    const bool fast_ok = parse_results(input, fast, &fast_error);
    const bool reference_ok = parse_results_reference(input, reference, &reference_error);
    EXPECT_EQ(fast_ok, reference_ok) << what;
    EXPECT_EQ(fast_error, reference_error) << what;
    if (fast_ok && reference_ok) {
      EXPECT_EQ(results_to_string(fast), results_to_string(reference)) << what;
    }
  }
}

TEST_F(ResultsReader, ReportsBadJsonAndMissingFiles) {
  const fs::path path = dir_.path() / "results.json";
  std::ofstream(path) << R"({"format": "benchmaster-results", "version": 1,)";
  EXPECT_EQ(read_error_of(path).rfind(prefix() + "invalid JSON: parse error at line 1", 0), 0u) << read_error_of(path);
  // A number past the largest double is the parser's out_of_range, not a parse_error:
  // one line as well (found by the results fuzz target, which aborted on it).
  std::ofstream(path, std::ios::trunc) << R"({"format": "benchmaster-results", "ok_codes": [200, 307e308]})";
  EXPECT_EQ(read_error_of(path), prefix() + "invalid JSON: number overflow parsing '307e308'");
  EXPECT_EQ(read_error_of(dir_.path() / "absent.json"),
            (dir_.path() / "absent.json").string() + ": cannot open: No such file or directory");
}

// ---- Merge -------------------------------------------------------------------------

NodeMergeInfo offset_by(int64_t clock_offset_us) {
  NodeMergeInfo info;
  info.clock_offset_us = clock_offset_us;
  return info;
}

TEST(MergeResults, EqualsRecordingTheUnionOfAllNodes) {
  const std::vector<Sample> samples = make_samples(3, 99);
  const std::vector<int64_t> offsets = {0, 2'000'000, -3'000'000};  // whole seconds: series align exactly
  std::vector<Results> nodes;
  MergeOptions options;
  for (int n = 0; n < 3; ++n) {
    nodes.push_back(node_results(samples, n, offsets[static_cast<std::size_t>(n)]));
    options.nodes.push_back(offset_by(offsets[static_cast<std::size_t>(n)]));
  }
  options.planned_start_epoch_us = kBaseEpochUs - 2'000'500;

  std::string error;
  const std::optional<Results> merged = merge_results(nodes, options, &error);
  ASSERT_TRUE(merged) << error;
  const Results expected = union_results(samples, 3);

  const json merged_json = results_to_json(*merged);
  const json expected_json = results_to_json(expected);
  ASSERT_EQ(merged_json["cycles"].size(), 2u);
  for (std::size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(merged_json["cycles"][c], expected_json["cycles"][c]) << "cycle " << c;
  }
  EXPECT_EQ(merged_json["series"], expected_json["series"]);
  EXPECT_EQ(merged->config.cycles, (std::vector<int>{12, 24}));

  // The percentiles of the merge are those of the union, not an average of the nodes'.
  const Entry* merged_home = merged->cycles[0].requests.find("home", "home#1");
  const Entry* union_home = expected.cycles[0].requests.find("home", "home#1");
  ASSERT_TRUE(merged_home && union_home);
  const Histogram& merged_latency = merged_home->stats.latency;
  const Histogram& union_latency = union_home->stats.latency;
  for (double p : {50.0, 95.0, 99.9}) EXPECT_EQ(merged_latency.value_at_percentile(p), union_latency.value_at_percentile(p));

  // The run spans the nodes, on the master clock.
  EXPECT_EQ(merged->run.node_num, -1);
  EXPECT_EQ(merged->run.start_epoch_us, kBaseEpochUs - 5'000'000);
  EXPECT_EQ(merged->run.status, RunStatus::complete);
  EXPECT_EQ(merged->run.workers, 6);

  ASSERT_EQ(merged->nodes.size(), 3u);
  uint64_t requests = 0;
  for (int n = 0; n < 3; ++n) {
    const NodeRow& row = merged->nodes[static_cast<std::size_t>(n)];
    EXPECT_EQ(row.node_num, n);
    EXPECT_EQ(row.host, fmt::format("load{}", n));
    EXPECT_EQ(row.status, NodeStatus::complete);
    EXPECT_EQ(row.clock_offset_us, offsets[static_cast<std::size_t>(n)]);
    EXPECT_EQ(row.start_skew_us, 500 + n * 1'000);
    EXPECT_EQ(row.requests, 800u);
    EXPECT_GT(row.errors, 0u);
    requests += row.requests;
  }
  EXPECT_EQ(requests, samples.size());

  // A merged file round-trips, nodes table included.
  Results loaded;
  ASSERT_TRUE(parse_results(results_to_string(*merged), loaded, &error)) << error;
  EXPECT_TRUE(loaded.merged());
  EXPECT_EQ(results_to_string(loaded), results_to_string(*merged));
}

TEST(MergeResults, OpenModelArrivalsAndServiceTimesAddUpAndRoundTrip) {
  const std::vector<Sample> samples = make_samples(3, 5);
  std::vector<Results> nodes;
  for (int n = 0; n < 3; ++n) {
    Results r = node_results(samples, n, 0);
    r.config.rates = "300->600:300";
    r.config.max_users = 100;
    r.config.arrivals = "poisson";
    r.config.rate_part = fmt::format("{}/3", n);
    for (CycleResults& cycle : r.cycles) {
      Arrivals a;
      a.rate_from = 100;
      a.rate_to = cycle.index == 0 ? 200 : 100;
      a.due = 1000 + static_cast<uint64_t>(n);
      a.started = 990 + static_cast<uint64_t>(n);
      a.late = 7;
      a.missed = a.due - a.started;
      a.peak_users = 20 + n;
      a.max_wait_us = 1000 * (n + 1);
      cycle.arrivals = a;
      for (Entry& page : cycle.pages) page.stats.service.record(100 + n);
    }
    nodes.push_back(std::move(r));
  }
  // The last node never finished its second cycle.
  nodes[2].cycles.pop_back();
  nodes[2].run.status = RunStatus::interrupted;
  std::string error;
  const std::optional<Results> merged = merge_results(nodes, MergeOptions{}, &error);
  ASSERT_TRUE(merged) << error;
  ASSERT_TRUE(merged->cycles[0].arrivals);
  const Arrivals& first = *merged->cycles[0].arrivals;
  EXPECT_DOUBLE_EQ(first.rate_from, 300);
  EXPECT_DOUBLE_EQ(first.rate_to, 600);
  EXPECT_EQ(first.due, 3003u);
  EXPECT_EQ(first.started, 2973u);
  EXPECT_EQ(first.missed, 30u);
  EXPECT_EQ(first.late, 21u);
  EXPECT_EQ(first.peak_users, 63);
  EXPECT_EQ(first.max_wait_us, 3000);
  EXPECT_DOUBLE_EQ(merged->cycles[1].arrivals->rate_from, 200);  // two nodes' parts
  EXPECT_EQ(merged->config.rate_part, "");
  EXPECT_EQ(merged->config.rates, "300->600:300");
  ASSERT_EQ(merged->nodes.size(), 3u);
  EXPECT_EQ(merged->nodes[0].arrivals.size(), 2u);
  EXPECT_EQ(merged->nodes[2].arrivals.size(), 1u);
  EXPECT_EQ(merged->nodes[2].arrivals[0].started, 992u);
  EXPECT_EQ(merged->cycles[0].pages.begin()->stats.service.count(), 3u);
  Results loaded;
  ASSERT_TRUE(parse_results(results_to_string(*merged), loaded, &error)) << error;
  EXPECT_EQ(results_to_string(loaded), results_to_string(*merged));
  EXPECT_EQ(loaded.nodes[2].arrivals, merged->nodes[2].arrivals);
  EXPECT_EQ(loaded.cycles[0].arrivals, merged->cycles[0].arrivals);
  EXPECT_EQ(loaded.config.arrivals, "poisson");
  // A closed-model file has none of these keys.
  const json closed = results_to_json(node_results(samples, 0, 0));
  EXPECT_FALSE(closed["config"].contains("rates"));
  EXPECT_FALSE(closed["cycles"][0].contains("arrivals"));
  EXPECT_FALSE(closed["cycles"][0]["pages"][0].contains("service"));
}

TEST(MergeResults, ErrorExamplesStayBounded) {
  const std::vector<Sample> samples = make_samples(3, 17);
  std::vector<Results> nodes;
  for (int n = 0; n < 3; ++n) nodes.push_back(node_results(samples, n, 0));
  std::string error;
  const std::optional<Results> merged = merge_results(nodes, {}, &error);
  ASSERT_TRUE(merged) << error;
  const ErrorGroup* timeouts = merged->cycles[0].errors.find(ErrorKind::timeout, "home", "home#1", "read timeout");
  ASSERT_NE(timeouts, nullptr);
  EXPECT_EQ(timeouts->examples.size(), kMaxErrorExamples);
  uint64_t node_total = 0;
  for (const Results& node : nodes) {
    if (const ErrorGroup* g = node.cycles[0].errors.find(ErrorKind::timeout, "home", "home#1", "read timeout")) {
      node_total += g->count;
    }
  }
  EXPECT_EQ(timeouts->count, node_total);
}

TEST(MergeResults, RefusesMismatchedCyclesOrDuration) {
  const std::vector<Sample> samples = make_samples(2, 1);
  std::vector<Results> nodes = {node_results(samples, 0, 0), node_results(samples, 1, 0)};
  nodes[1].config.cycles = {4, 8, 16};
  std::string error;
  EXPECT_FALSE(merge_results(nodes, {}, &error));
  EXPECT_EQ(error, "cannot merge: node 1 (load1) ran cycles 4:8:16, node 0 (load0) ran 4:8");

  nodes[1].config.cycles = kCyclesPerNode;
  nodes[1].config.duration_s = 30;
  EXPECT_FALSE(merge_results(nodes, {}, &error));
  EXPECT_EQ(error, "cannot merge: node 1 (load1) ran 30 s cycles, node 0 (load0) ran 20 s");

  nodes[1] = nodes[0];
  EXPECT_FALSE(merge_results(nodes, {}, &error));
  EXPECT_EQ(error, "cannot merge: node 0 (load0) appears twice");

  nodes[1] = node_results(samples, 1, 0);
  nodes[1].nodes.push_back({});
  EXPECT_FALSE(merge_results(nodes, {}, &error));
  EXPECT_EQ(error, "cannot merge: node 1 (load1) is already a merged file");

  EXPECT_FALSE(merge_results({}, {}, &error));
  EXPECT_EQ(error, "cannot merge: nothing to merge");
}

TEST(MergeResults, InterruptedNodeMakesLaterCyclesIncomplete) {
  const std::vector<Sample> samples = make_samples(2, 8);
  std::vector<Results> nodes = {node_results(samples, 0, 0), node_results(samples, 1, 0)};
  nodes[1].cycles.pop_back();
  nodes[1].run.status = RunStatus::interrupted;
  std::string error;
  MergeOptions options;
  options.nodes.resize(2);
  options.nodes[1].status = NodeStatus::failed;
  options.nodes[1].message = "ssh: connection lost";
  const std::optional<Results> merged = merge_results(nodes, options, &error);
  ASSERT_TRUE(merged) << error;
  EXPECT_EQ(merged->cycles[0].status, CycleStatus::complete);
  EXPECT_EQ(merged->cycles[1].status, CycleStatus::incomplete);
  EXPECT_EQ(merged->cycles[1].cvus, kCyclesPerNode[1]);
  EXPECT_EQ(merged->run.status, RunStatus::interrupted);
  EXPECT_EQ(merged->nodes[1].status, NodeStatus::failed);
  EXPECT_EQ(merged->nodes[1].message, "ssh: connection lost");
}

SeriesPoint point_at(int64_t t, uint64_t requests_ok) {
  SeriesPoint p;
  p.t = t;
  p.phase = Phase::window;
  p.cvus = 1;
  p.requests_ok = requests_ok;
  return p;
}

TEST(MergeResults, SeriesAlignOnTheMasterClock) {
  EXPECT_EQ(offset_seconds(1'400'000), 1);
  EXPECT_EQ(offset_seconds(1'500'000), 2);
  EXPECT_EQ(offset_seconds(-1'499'999), -1);
  EXPECT_EQ(offset_seconds(-1'500'000), -2);

  std::vector<Results> nodes = {empty_results(0, 1), empty_results(1, 1), empty_results(2, 1)};
  // Master seconds 100 and 101 as each node's clock saw them.
  nodes[0].series = {point_at(100, 1), point_at(101, 10)};
  nodes[1].series = {point_at(101, 100), point_at(102, 1000)};   // clock 1.4 s ahead
  nodes[2].series = {point_at(98, 10000), point_at(99, 100000)};  // clock 1.6 s behind
  MergeOptions options;
  options.nodes = {offset_by(0), offset_by(1'400'000), offset_by(-1'600'000)};
  std::string error;
  const std::optional<Results> merged = merge_results(nodes, options, &error);
  ASSERT_TRUE(merged) << error;
  ASSERT_EQ(merged->series.size(), 2u);
  EXPECT_EQ(merged->series[0].t, 100);
  EXPECT_EQ(merged->series[0].requests_ok, 10101u);
  EXPECT_EQ(merged->series[0].cvus, 3);
  EXPECT_EQ(merged->series[1].t, 101);
  EXPECT_EQ(merged->series[1].requests_ok, 101010u);
}

TEST(MergeResults, MonitorAndGeneratorsMoveOntoTheMasterClock) {
  std::vector<Results> nodes = {empty_results(0, 1), empty_results(1, 1)};
  nodes[0].monitor.hosts.push_back(testing::monitor_host("web", 100'000'000, 2));
  nodes[0].monitor.hosts[0].gaps.push_back({100'200'000, 100'400'000, "down"});
  for (int n = 0; n < 2; ++n) {
    GeneratorHealth g;
    g.node_num = 7;  // replaced by the node's own number
    g.host = "gen" + std::to_string(n);
    g.workers = 2;
    g.cores = 2;
    g.points = {{100, 0.5, 0.6, 0.01, 1.0, 1000, 10, false}, {101, 1.9, 1.0, 0.3, 80.0, 1000, 10, true}};
    nodes[static_cast<std::size_t>(n)].generators.push_back(g);
  }
  MergeOptions options;
  options.nodes = {offset_by(2'000'000), offset_by(-1'000'000)};
  std::string error;
  const std::optional<Results> merged = merge_results(nodes, options, &error);
  ASSERT_TRUE(merged) << error;
  ASSERT_EQ(merged->monitor.hosts.size(), 1u);
  EXPECT_EQ(merged->monitor.hosts[0].points[0].t_us, 98'000'000);
  EXPECT_EQ(merged->monitor.hosts[0].gaps[0].from_us, 98'200'000);
  ASSERT_EQ(merged->generators.size(), 2u);
  EXPECT_EQ(merged->generators[0].node_num, 0);
  EXPECT_EQ(merged->generators[0].points[0].t, 98);
  EXPECT_EQ(merged->generators[1].node_num, 1);
  EXPECT_EQ(merged->generators[1].points[0].t, 101);
  // And they survive the file.
  Results loaded;
  ASSERT_TRUE(parse_results(results_to_string(*merged), loaded, &error)) << error;
  EXPECT_EQ(loaded.generators, merged->generators);
  EXPECT_EQ(loaded.monitor, merged->monitor);
}

TEST(GeneratorHealth, SaturatedByCpuByWaitingOrByLag) {
  EXPECT_FALSE(is_saturated(1.7, 0.1, 10.0, 2, 2));
  EXPECT_TRUE(is_saturated(1.8, 0.1, 10.0, 2, 2));    // 90 % of two cores
  EXPECT_TRUE(is_saturated(0.9, 0.0, 0.0, 4, 1));     // one core usable, whatever the workers
  EXPECT_TRUE(is_saturated(0.5, 0.25, 0.0, 2, 2));    // waited for a CPU a quarter of the time
  EXPECT_TRUE(is_saturated(0.2, 0.0, 50.0, 2, 2));    // a loop 50 ms late
  EXPECT_FALSE(is_saturated(0.2, 0.24, 49.9, 2, 2));

  GeneratorHealth g;
  for (int64_t t = 100; t < 110; ++t) g.points.push_back({t, 1.0, 0.5, t == 104 ? 0.5 : 0.0, 1.0, 0, 0, t >= 104});
  // A window of [102.5 s, 106.5 s): the seconds 102 to 105 have their middles in it.
  const SaturationSummary s = saturation_between(g, 102'500'000, 106'500'000);
  EXPECT_EQ(s.seconds, 4);
  EXPECT_EQ(s.saturated_s, 2);
  EXPECT_DOUBLE_EQ(s.cpu_wait_peak, 0.5);
  EXPECT_EQ(saturation_between(g, 0, 0).seconds, 0);
}

TEST(CycleResults, MergeSpansBothWindows) {
  CycleResults a;
  a.cvus = 5;
  a.start_epoch_us = 100;
  a.window_start_epoch_us = 200;
  a.window_end_epoch_us = 1200;
  a.end_epoch_us = 1300;
  a.window_s = 10;
  CycleResults b = a;
  b.start_epoch_us = 90;
  b.window_start_epoch_us = 210;
  b.window_end_epoch_us = 1250;
  b.end_epoch_us = 0;  // still running
  b.window_s = 9.5;
  b.status = CycleStatus::incomplete;
  b.outside_window = {1, 2, 3};
  a.merge(b);
  EXPECT_EQ(a.cvus, 10);
  EXPECT_EQ(a.start_epoch_us, 90);
  EXPECT_EQ(a.window_start_epoch_us, 200);
  EXPECT_EQ(a.window_end_epoch_us, 1250);
  EXPECT_EQ(a.end_epoch_us, 1300);
  EXPECT_EQ(a.window_s, 10);
  EXPECT_EQ(a.status, CycleStatus::incomplete);
  EXPECT_EQ(a.outside_window, (OutsideWindow{1, 2, 3}));
}

}  // namespace
}  // namespace bm::stats
