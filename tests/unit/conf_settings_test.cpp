// resolve_bench_settings: command line > conf > default, range checks, warnings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "funkload_simple_conf.hpp"

#include <limits>
#include <string>

#include "conf/bench_settings.hpp"

namespace bm::conf {
namespace {

using ::testing::ElementsAre;

using testing::kSimpleConf;

ConfFile conf_of(std::string_view text, std::string name = "Shop.conf") {
  std::string error;
  std::optional<ConfFile> conf = ConfFile::parse(text, std::move(name), &error);
  EXPECT_TRUE(conf) << error;
  return conf ? *conf : *ConfFile::parse("", name, nullptr);
}

BenchSettings resolved(const ConfFile& conf, const Overrides& overrides = {},
                       Mode mode = Mode::bench) {
  std::string error;
  std::optional<BenchSettings> settings = resolve_bench_settings(conf, overrides, mode, &error);
  EXPECT_TRUE(settings) << error;
  return settings.value_or(BenchSettings{});
}

std::string error_of(std::string_view text, const Overrides& overrides = {},
                     Mode mode = Mode::bench) {
  std::string error;
  EXPECT_FALSE(resolve_bench_settings(conf_of(text), overrides, mode, &error));
  return error;
}

TEST(ConfSettings, SimpleConfInBenchMode) {
  std::vector<std::string> warnings;
  std::string error;
  const std::optional<BenchSettings> s = resolve_bench_settings(
      conf_of(kSimpleConf, "Simple.conf"), {}, Mode::bench, &error, &warnings);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->cycles, (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(s->duration_s, 60);
  EXPECT_EQ(s->startup_delay_s, 0.05);
  EXPECT_EQ(s->sleep_time_s, 0.5);
  EXPECT_EQ(s->cycle_time_s, 5);
  EXPECT_EQ(s->sleep_time_min_s, 0.2);
  EXPECT_EQ(s->sleep_time_max_s, 1.0);
  EXPECT_EQ(s->url, "http://127.0.0.1:8080");
  EXPECT_EQ(s->title, "Simple");
  EXPECT_EQ(s->description, "Front page, search, feedback form");
  EXPECT_EQ(s->user_agent, kDefaultUserAgent);
  EXPECT_EQ(s->ok_codes, (std::vector<int>{200, 301, 302, 303, 307, 308}));
  EXPECT_TRUE(s->fetch_resources);
  EXPECT_EQ(s->apdex_t_s, 1.5);
  EXPECT_EQ(s->connect_timeout_s, 10);
  EXPECT_EQ(s->read_timeout_s, 30);
  EXPECT_EQ(s->max_redirects, 10);
  EXPECT_THAT(warnings,
              ElementsAre("Simple.conf:21: [ftest] log_to: FunkLoad key not used by benchmaster "
                          "(ignored)",
                          "Simple.conf:22: [ftest] log_path: FunkLoad key not used by "
                          "benchmaster (ignored)",
                          "Simple.conf:23: [ftest] result_path: FunkLoad key not used by "
                          "benchmaster (ignored)",
                          "Simple.conf:33: [bench] log_to: FunkLoad key not used by benchmaster "
                          "(ignored)",
                          "Simple.conf:34: [bench] log_path: FunkLoad key not used by "
                          "benchmaster (ignored)",
                          "Simple.conf:35: [bench] result_path: FunkLoad key not used by "
                          "benchmaster (ignored)"));
}

TEST(ConfSettings, AValueOnSeveralLinesIsQuotedOnOneLine) {
  // Found by the conf fuzz target: a continuation line put a line break in the message.
  const std::string message = error_of("[main]\nurl = htt x\n  more\n");
  EXPECT_EQ(message, "Shop.conf:2: [main] url: 'htt x\\nmore' is not an http:// or https:// URL");
  EXPECT_EQ(error_of("[bench]\nrates = 10\n  x\n"),
            "Shop.conf:2: [bench] rates: '10\\nx' is not a list of arrival rates per second separated by ':' "
            "(e.g. 100:200, or 50->200 for a ramp)");
}

TEST(ConfSettings, OpenModelKeys) {
  const BenchSettings s = resolved(conf_of("[bench]\nrates = 100:50->400\nmax_users = 20\narrivals = poisson\n"
                                           "rate_part = 1/3\ncycles = 7\n"));
  ASSERT_TRUE(s.open_model());
  EXPECT_EQ(s.rates, (std::vector<RateStep>{{100, 100}, {50, 400}}));
  EXPECT_EQ(s.cycles, (std::vector<int>{20, 20}));  // one per rate: the pool bound
  EXPECT_TRUE(s.poisson_arrivals);
  EXPECT_EQ(s.rate_part_index, 1);
  EXPECT_EQ(s.rate_part_count, 3);
  // -c on the command line means users: the conf's rates are put aside.
  Overrides users;
  users.cycles = std::vector<int>{5};
  const BenchSettings closed = resolved(conf_of("[bench]\nrates = 100\n"), users);
  EXPECT_FALSE(closed.open_model());
  EXPECT_EQ(closed.cycles, std::vector<int>{5});
  Overrides both = users;
  both.rates = "10";
  EXPECT_EQ(error_of("[bench]\n", both),
            "command line: -c/--cycles and -r/--rates: give one (virtual users or arrival rates per cycle)");
  EXPECT_EQ(error_of("[bench]\nrates = 10\nmax_users = 0\n"),
            "Shop.conf:3: [bench] max_users: must be a whole number from 1 to 1000000 (got '0')");
  EXPECT_EQ(error_of("[bench]\nrates = 10\narrivals = bursty\n"),
            "Shop.conf:3: [bench] arrivals: must be constant or poisson (got 'bursty')");
  EXPECT_EQ(error_of("[bench]\nrate_part = 3/3\n"), "Shop.conf:2: [bench] rate_part: must be i/N with 0 <= i < N (got '3/3')");
}

TEST(ConfSettings, TestModeReadsPageSettingsFromFtest) {
  const BenchSettings s = resolved(conf_of(kSimpleConf), {}, Mode::test);
  EXPECT_EQ(s.sleep_time_min_s, 0);
  EXPECT_EQ(s.sleep_time_max_s, 0);
  EXPECT_EQ(s.cycles, (std::vector<int>{10, 20, 30}));  // [bench] keys are read in both modes
  EXPECT_STREQ(page_section(Mode::test), "ftest");
  EXPECT_STREQ(page_section(Mode::bench), "bench");
}

TEST(ConfSettings, DefaultsForAnEmptyConf) {
  const BenchSettings s = resolved(conf_of("", "examples/Shop.conf"));
  EXPECT_EQ(s.cycles, (std::vector<int>{1}));
  EXPECT_EQ(s.duration_s, 60);
  EXPECT_EQ(s.startup_delay_s, 0);
  EXPECT_EQ(s.sleep_time_s, 0);
  EXPECT_EQ(s.cycle_time_s, 0);
  EXPECT_EQ(s.sleep_time_min_s, 0);
  EXPECT_EQ(s.sleep_time_max_s, 0);
  EXPECT_EQ(s.title, "Shop");
  EXPECT_EQ(s.url, "");
  EXPECT_EQ(s.description, "");
  EXPECT_EQ(s.user_agent, kDefaultUserAgent);
  EXPECT_THAT(kDefaultUserAgent, ::testing::StartsWith("benchmaster/"));
}

TEST(ConfSettings, OwnKeysAndFunkLoadPageKeys) {
  const BenchSettings s = resolved(conf_of(
      "[main]\nuser_agent = Mozilla/5.0 (bench)\n"
      "[bench]\napdex_t = 0.5\nconnect_timeout = 2\nread_timeout = 7.5\nmax_redirects = 0\n"
      "ok_codes = 200:404\nsimple_fetch = 1\n"));
  EXPECT_EQ(s.user_agent, "Mozilla/5.0 (bench)");
  EXPECT_EQ(s.apdex_t_s, 0.5);
  EXPECT_EQ(s.connect_timeout_s, 2);
  EXPECT_EQ(s.read_timeout_s, 7.5);
  EXPECT_EQ(s.max_redirects, 0);
  EXPECT_EQ(s.ok_codes, (std::vector<int>{200, 404}));
  EXPECT_FALSE(s.fetch_resources);
}

TEST(ConfSettings, DefaultSectionServesBothModes) {
  const ConfFile conf = conf_of("[DEFAULT]\nread_timeout = 3\nsimple_fetch = yes\n[ftest]\n[bench]\n");
  EXPECT_EQ(resolved(conf, {}, Mode::test).read_timeout_s, 3);
  EXPECT_EQ(resolved(conf, {}, Mode::bench).read_timeout_s, 3);
  EXPECT_FALSE(resolved(conf, {}, Mode::bench).fetch_resources);
}

TEST(ConfSettings, CommandLineBeatsConfBeatsDefault) {
  Overrides o;
  o.cycles = std::vector<int>{5, 6};
  o.duration_s = 12;
  o.sleep_time_max_s = 3;
  o.url = "https://127.0.0.2/";
  o.fetch_resources = true;
  o.max_redirects = 4;
  o.read_timeout_s = 1;
  const BenchSettings s = resolved(
      conf_of(std::string(kSimpleConf) + "simple_fetch = 1\n", "Simple.conf"), o);
  EXPECT_EQ(s.cycles, (std::vector<int>{5, 6}));        // command line
  EXPECT_EQ(s.duration_s, 12);                         // command line
  EXPECT_EQ(s.sleep_time_max_s, 3);                    // command line
  EXPECT_EQ(s.sleep_time_min_s, 0.2);                  // conf
  EXPECT_EQ(s.url, "https://127.0.0.2/");              // command line
  EXPECT_TRUE(s.fetch_resources);                      // command line over simple_fetch = 1
  EXPECT_EQ(s.max_redirects, 4);                       // command line
  EXPECT_EQ(s.read_timeout_s, 1);                      // command line over default
  EXPECT_EQ(s.connect_timeout_s, 10);                  // default
  EXPECT_EQ(s.title, "Simple");                        // conf
}

TEST(ConfSettings, EveryOverrideIsApplied) {
  Overrides o;
  o.cycles = std::vector<int>{2};
  o.duration_s = 1;
  o.startup_delay_s = 0.1;
  o.sleep_time_s = 0.2;
  o.cycle_time_s = 0.3;
  o.apdex_t_s = 0.4;
  o.sleep_time_min_s = 0.5;
  o.sleep_time_max_s = 0.6;
  o.connect_timeout_s = 0.7;
  o.read_timeout_s = 0.8;
  o.ok_codes = std::vector<int>{201};
  o.fetch_resources = false;
  o.max_redirects = 9;
  o.url = "http://127.0.0.1:1/";
  o.title = "T";
  o.description = "D";
  o.user_agent = "UA";
  const BenchSettings s = resolved(conf_of(kSimpleConf), o, Mode::test);
  EXPECT_EQ(s.cycles, (std::vector<int>{2}));
  EXPECT_EQ(s.duration_s, 1);
  EXPECT_EQ(s.startup_delay_s, 0.1);
  EXPECT_EQ(s.sleep_time_s, 0.2);
  EXPECT_EQ(s.cycle_time_s, 0.3);
  EXPECT_EQ(s.apdex_t_s, 0.4);
  EXPECT_EQ(s.sleep_time_min_s, 0.5);
  EXPECT_EQ(s.sleep_time_max_s, 0.6);
  EXPECT_EQ(s.connect_timeout_s, 0.7);
  EXPECT_EQ(s.read_timeout_s, 0.8);
  EXPECT_EQ(s.ok_codes, (std::vector<int>{201}));
  EXPECT_FALSE(s.fetch_resources);
  EXPECT_EQ(s.max_redirects, 9);
  EXPECT_EQ(s.url, "http://127.0.0.1:1/");
  EXPECT_EQ(s.title, "T");
  EXPECT_EQ(s.description, "D");
  EXPECT_EQ(s.user_agent, "UA");
}

TEST(ConfSettings, AnOverrideHidesAMalformedConfValue) {
  Overrides o;
  o.duration_s = 5;
  EXPECT_EQ(resolved(conf_of("[bench]\nduration = soon\n"), o).duration_s, 5);
}

TEST(ConfSettings, MalformedConfValues) {
  EXPECT_EQ(error_of("[bench]\ncycles = 10:x\n"),
            "Shop.conf:2: [bench] cycles: '10:x' is not a list of positive integers separated "
            "by ':'");
  EXPECT_EQ(error_of("[bench]\n\nduration = a minute\n"),
            "Shop.conf:3: [bench] duration: 'a minute' is not a number");
  EXPECT_EQ(error_of("[bench]\nok_codes = 200:2000\n"),
            "Shop.conf:2: [bench] ok_codes: '200:2000' is not a list of HTTP status codes "
            "(100-599) separated by ':'");
  EXPECT_EQ(error_of("[ftest]\nsimple_fetch = sometimes\n", {}, Mode::test),
            "Shop.conf:2: [ftest] simple_fetch: 'sometimes' is not a boolean (1/0, yes/no, "
            "true/false, on/off)");
  EXPECT_EQ(error_of("[bench]\nmax_redirects = 2.5\n"),
            "Shop.conf:2: [bench] max_redirects: '2.5' is not an integer");
  EXPECT_EQ(error_of("[DEFAULT]\nduration = %(x)s\n[bench]\n"),
            "Shop.conf:2: [bench] duration: '%(x)s' refers to a key that is in neither [bench] "
            "nor [DEFAULT]");
}

TEST(ConfSettings, OutOfRangeConfValues) {
  EXPECT_EQ(error_of("[bench]\nduration = 0\n"),
            "Shop.conf:2: [bench] duration: must be greater than 0 (got 0)");
  EXPECT_EQ(error_of("[bench]\nstartup_delay = -0.5\n"),
            "Shop.conf:2: [bench] startup_delay: must be 0 or more (got -0.5)");
  EXPECT_EQ(error_of("[bench]\nsleep_time = -1\n"),
            "Shop.conf:2: [bench] sleep_time: must be 0 or more (got -1)");
  EXPECT_EQ(error_of("[bench]\ncycle_time = -2\n"),
            "Shop.conf:2: [bench] cycle_time: must be 0 or more (got -2)");
  EXPECT_EQ(error_of("[bench]\napdex_t = 0\n"),
            "Shop.conf:2: [bench] apdex_t: must be greater than 0 (got 0)");
  EXPECT_EQ(error_of("[bench]\nsleep_time_min = -1\n"),
            "Shop.conf:2: [bench] sleep_time_min: must be 0 or more (got -1)");
  EXPECT_EQ(error_of("[bench]\nsleep_time_max = -1\n"),
            "Shop.conf:2: [bench] sleep_time_max: must be 0 or more (got -1)");
  EXPECT_EQ(error_of("[bench]\nsleep_time_min = 2\nsleep_time_max = 1.5\n"),
            "Shop.conf:2: [bench] sleep_time_min: 2 is greater than [bench] sleep_time_max "
            "(1.5)");
  EXPECT_EQ(error_of("[bench]\nsleep_time_max = 1\n[ftest]\nsleep_time_min = 2\n", {},
                     Mode::test),
            "Shop.conf:4: [ftest] sleep_time_min: 2 is greater than sleep_time_max (0)");
  EXPECT_EQ(error_of("[ftest]\nconnect_timeout = 0\n", {}, Mode::test),
            "Shop.conf:2: [ftest] connect_timeout: must be greater than 0 (got 0)");
  EXPECT_EQ(error_of("[bench]\nread_timeout = -3\n"),
            "Shop.conf:2: [bench] read_timeout: must be greater than 0 (got -3)");
  EXPECT_EQ(error_of("[bench]\nmax_redirects = 101\n"),
            "Shop.conf:2: [bench] max_redirects: must be between 0 and 100 (got 101)");
  EXPECT_EQ(error_of("[bench]\nmax_redirects = -1\n"),
            "Shop.conf:2: [bench] max_redirects: must be between 0 and 100 (got -1)");
  EXPECT_EQ(error_of("[main]\nurl = ftp://127.0.0.1/\n"),
            "Shop.conf:2: [main] url: 'ftp://127.0.0.1/' is not an http:// or https:// URL");
  EXPECT_EQ(error_of("[main]\nurl = http:///path\n"),
            "Shop.conf:2: [main] url: 'http:///path' is not an http:// or https:// URL");
  EXPECT_EQ(error_of("[main]\nuser_agent = two\n  lines\n"),
            "Shop.conf:2: [main] user_agent: must be a single line");
}

TEST(ConfSettings, OnlyTheModesPageSectionIsChecked) {
  // [ftest] values are not read in bench mode, so a bad one there is not an error.
  EXPECT_EQ(resolved(conf_of("[ftest]\nsleep_time_min = 5\nsleep_time_max = 1\n")).sleep_time_min_s,
            0);
}

TEST(ConfSettings, OutOfRangeOverrides) {
  const auto with = [](auto set) {
    Overrides o;
    set(o);
    return error_of("", o);
  };
  EXPECT_EQ(with([](Overrides& o) { o.duration_s = -1; }),
            "command line: duration: must be greater than 0 (got -1)");
  EXPECT_EQ(with([](Overrides& o) { o.cycles = std::vector<int>{10, 0}; }),
            "command line: cycles: must be a list of positive integers");
  EXPECT_EQ(with([](Overrides& o) { o.cycles = std::vector<int>{}; }),
            "command line: cycles: must be a list of positive integers");
  EXPECT_EQ(with([](Overrides& o) { o.sleep_time_min_s = 3; }),
            "command line: sleep_time_min: 3 is greater than sleep_time_max (0)");
  EXPECT_EQ(with([](Overrides& o) { o.ok_codes = std::vector<int>{200, 99}; }),
            "command line: ok_codes: must be a list of HTTP status codes (100-599)");
  EXPECT_EQ(with([](Overrides& o) { o.max_redirects = 1000; }),
            "command line: max_redirects: must be between 0 and 100 (got 1000)");
  EXPECT_EQ(with([](Overrides& o) { o.url = "127.0.0.1:8080"; }),
            "command line: url: '127.0.0.1:8080' is not an http:// or https:// URL");
  EXPECT_EQ(with([](Overrides& o) { o.read_timeout_s = std::numeric_limits<double>::infinity(); }),
            "command line: read_timeout: must be greater than 0 (got inf)");
}

TEST(ConfSettings, MinAboveMaxBlamesTheConfLineWhenMaxIsAnOverride) {
  Overrides o;
  o.sleep_time_max_s = 0.1;
  EXPECT_EQ(error_of("[bench]\nsleep_time_min = 0.5\n", o),
            "Shop.conf:2: [bench] sleep_time_min: 0.5 is greater than sleep_time_max (0.1)");
}

TEST(ConfSettings, TlsVerificationIsOffByDefaultAndACaFileTurnsItOn) {
  EXPECT_FALSE(resolved(conf_of("[bench]\n")).tls_verify);
  EXPECT_TRUE(resolved(conf_of("[bench]\ntls_verify = yes\n")).tls_verify);
  const BenchSettings with_file = resolved(conf_of("[bench]\ntls_verify = no\ntls_ca_file = ca.pem\n"));
  EXPECT_TRUE(with_file.tls_verify);
  EXPECT_EQ(with_file.tls_ca_file, "ca.pem");
  Overrides cli;
  cli.tls_ca_file = "other.pem";
  EXPECT_EQ(resolved(conf_of("[bench]\ntls_ca_file = ca.pem\n"), cli).tls_ca_file, "other.pem");
  // In test mode the keys are read from [ftest], like the other connection settings.
  EXPECT_TRUE(resolved(conf_of("[ftest]\ntls_verify = 1\n"), {}, Mode::test).tls_verify);
  EXPECT_THAT(error_of("[bench]\ntls_verify = sometimes\n"), ::testing::HasSubstr("tls_verify"));
}

TEST(ConfSettings, WarningsForUnknownKeysOnlyInOurSections) {
  const ConfFile conf = conf_of(
      "[main]\ntitel = Shop\nlabel = x\n"
      "[bench]\nduraton = 10\nnode_num = 3\ncycle = 1:2\n"
      "[ftest]\ncycles = 1\n"
      "[test_shop]\nanything = goes\n"
      "[DEFAULT]\nshared = 1\n");
  std::vector<std::string> warnings;
  std::string error;
  ASSERT_TRUE(resolve_bench_settings(conf, {}, Mode::bench, &error, &warnings)) << error;
  EXPECT_THAT(warnings,
              ElementsAre("Shop.conf:2: [main] unknown key 'titel' (ignored; did you mean "
                          "'title'?)",
                          "Shop.conf:3: [main] unknown key 'label' (ignored)",
                          "Shop.conf:5: [bench] unknown key 'duraton' (ignored; did you mean "
                          "'duration'?)",
                          "Shop.conf:7: [bench] unknown key 'cycle' (ignored; did you mean "
                          "'cycles'?)",
                          "Shop.conf:9: [ftest] unknown key 'cycles' (ignored)"));
  EXPECT_EQ(unknown_key_warnings(conf), warnings);
}

TEST(ConfSettings, WarningsForMisspeltSections) {
  // One typo from [main], [bench] or [ftest]: a letter swapped, missing, extra or wrong,
  // or another case (section names are case-sensitive).
  const ConfFile conf = conf_of(
      "[main]\nurl = http://127.0.0.1:1\n"
      "[bnech]\nduration = 10\n"
      "[Main]\ntitle = T\n"
      "[fest]\nsleep_time_min = 1\n"
      "[benchs]\ncycles = 1\n"
      "[BENCH]\n"
      "[maim]\n");
  std::vector<std::string> warnings;
  std::string error;
  ASSERT_TRUE(resolve_bench_settings(conf, {}, Mode::bench, &error, &warnings)) << error;
  EXPECT_THAT(warnings,
              ElementsAre("Shop.conf:3: unknown section [bnech] (not read by benchmaster; did you "
                          "mean [bench]?)",
                          "Shop.conf:5: unknown section [Main] (not read by benchmaster; did you "
                          "mean [main]?)",
                          "Shop.conf:7: unknown section [fest] (not read by benchmaster; did you "
                          "mean [ftest]?)",
                          "Shop.conf:9: unknown section [benchs] (not read by benchmaster; did "
                          "you mean [bench]?)",
                          "Shop.conf:11: unknown section [BENCH] (not read by benchmaster; did "
                          "you mean [bench]?)",
                          "Shop.conf:12: unknown section [maim] (not read by benchmaster; did you "
                          "mean [main]?)"));
}

TEST(ConfSettings, FreeSectionsDoNotWarn) {
  // The sections of FunkLoad's example, test and monitor sections, and any name that is
  // not one typo from a section benchmaster reads: tests read them with conf_get.
  std::vector<std::string> warnings;
  std::string error;
  ASSERT_TRUE(resolve_bench_settings(conf_of(testing::kSimpleConf, "Simple.conf"), {},
                                     Mode::bench, &error, &warnings))
      << error;
  for (const std::string& w : warnings) EXPECT_THAT(w, ::testing::Not(::testing::HasSubstr("section")));
  const ConfFile free = conf_of(
      "[main]\nurl = http://127.0.0.1:1\n"
      "[test_shop]\n[shop]\n[users]\n[bench_data]\n[benchmark]\n[mainframe]\n[ftests_extra]\n"
      "[credential]\n[distribute]\n[workers]\nhosts = bench1\n[bench1]\nhost = 10.0.0.1\n"
      "[monitor]\nhosts = mian fetst\n[mian]\nport = 8008\n[fetst]\nport = 8009\n[DEFAULT]\nx = 1\n");
  ASSERT_TRUE(resolve_bench_settings(free, {}, Mode::bench, &error, &warnings)) << error;
  EXPECT_THAT(warnings, ::testing::IsEmpty());
}

}  // namespace
}  // namespace bm::conf
