// ConfFile: ConfigParser-compatible reading, interpolation, typed getters, errors,
// editing and writing back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "funkload_simple_conf.hpp"
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "conf/conf_file.hpp"
#include "conf/values.hpp"

namespace bm::conf {
namespace {

using ::testing::ElementsAre;

ConfFile parse_ok(std::string_view text, std::string name = "Test.conf") {
  std::string error;
  std::optional<ConfFile> conf = ConfFile::parse(text, std::move(name), &error);
  EXPECT_TRUE(conf.has_value()) << error;
  return conf ? *conf : *ConfFile::parse("", "empty", nullptr);
}

std::string parse_error(std::string_view text, std::string name = "Name.conf") {
  std::string error;
  EXPECT_FALSE(ConfFile::parse(text, std::move(name), &error).has_value());
  return error;
}

using testing::kSimpleConf;  // FunkLoad's example file

TEST(ConfIni, ReadsFunkLoadSimpleConf) {
  const ConfFile conf = parse_ok(kSimpleConf, "Simple.conf");
  EXPECT_EQ(conf.source(), "Simple.conf");
  EXPECT_THAT(conf.sections(), ElementsAre("main", "test_simple", "monitor", "web1",
                                           "credential", "ftest", "bench"));
  EXPECT_EQ(conf.get("main", "url"), "http://127.0.0.1:8080");
  EXPECT_EQ(conf.get("main", "description"), "Front page, search, feedback form");
  EXPECT_EQ(conf.get("ftest", "log_to"), "console file");
  EXPECT_EQ(conf.get("web1", "port"), "8008");
  EXPECT_THAT(conf.keys("credential"), ElementsAre("host", "port"));
  EXPECT_EQ(conf.line_of("bench", "cycles"), 28);
  EXPECT_EQ(conf.line_of("bench", "sleep_time_max"), 37);
  EXPECT_EQ(conf.location_of("main", "url"), "Simple.conf:4");

  std::string error;
  EXPECT_EQ(conf.get_cycles("bench", "cycles", &error), (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(conf.get_double("bench", "startup_delay", &error), 0.05);
  EXPECT_EQ(conf.get_int("bench", "duration", &error), 60);
  EXPECT_EQ(error, "");
}

TEST(ConfIni, MissingSectionsAndKeysAreAbsentNotErrors) {
  const ConfFile conf = parse_ok("[main]\nurl = x\n");
  EXPECT_FALSE(conf.get("main", "title"));
  EXPECT_FALSE(conf.get("nosuch", "url"));
  EXPECT_FALSE(conf.has_section("nosuch"));
  EXPECT_TRUE(conf.has_section("main"));
  EXPECT_EQ(conf.line_of("main", "title"), 0);
  EXPECT_EQ(conf.location_of("main", "title"), "Test.conf");
  std::string error;
  EXPECT_FALSE(conf.get_int("main", "title", &error));
  EXPECT_EQ(error, "");
}

TEST(ConfIni, BothDelimitersAndSurroundingSpaces) {
  const ConfFile conf = parse_ok("[s]\na=1\nb : 2\nc   =   three words  \nd: x=y:z\ne =\n");
  EXPECT_EQ(conf.get("s", "a"), "1");
  EXPECT_EQ(conf.get("s", "b"), "2");
  EXPECT_EQ(conf.get("s", "c"), "three words");
  EXPECT_EQ(conf.get("s", "d"), "x=y:z");  // the first '=' or ':' separates
  EXPECT_EQ(conf.get("s", "e"), "");
}

TEST(ConfIni, KeysAreCaseInsensitiveSectionsAreNot) {
  const ConfFile conf = parse_ok("[Main]\nURL = a\n[main]\nUrl = b\n");
  EXPECT_EQ(conf.get("Main", "url"), "a");
  EXPECT_EQ(conf.get("Main", "URL"), "a");
  EXPECT_EQ(conf.get("main", "uRl"), "b");
  EXPECT_THAT(conf.keys("Main"), ElementsAre("url"));
}

TEST(ConfIni, FullLineCommentsOnlyInlineTextIsKept) {
  const ConfFile conf = parse_ok(
      "# heading\n; another\n[s]  ; about s\n  # indented comment\n"
      "a = 1 ; not a comment\nb = 2 # neither\n");
  EXPECT_EQ(conf.get("s", "a"), "1 ; not a comment");
  EXPECT_EQ(conf.get("s", "b"), "2 # neither");
}

TEST(ConfIni, ContinuationLinesJoinWithNewlines) {
  const ConfFile conf = parse_ok(
      "[s]\n"
      "description = first\n"
      "  second\n"
      "\tthird\n"
      "\n"
      "    after a blank line\n"
      "  # a comment inside the value is dropped\n"
      "    last\n"
      "\n"
      "\n"
      "next = 1\n"
      "  [not a section]\n");
  EXPECT_EQ(conf.get("s", "description"), "first\nsecond\nthird\n\nafter a blank line\nlast");
  EXPECT_EQ(conf.get("s", "next"), "1\n[not a section]");
}

TEST(ConfIni, IndentedKeyAfterSectionHeaderIsAKey) {
  const ConfFile conf = parse_ok("[s]\n  a = 1\n  b = 2\n    more\n");
  EXPECT_EQ(conf.get("s", "a"), "1");
  EXPECT_EQ(conf.get("s", "b"), "2\nmore");
}

TEST(ConfIni, WindowsLineEndingsAndByteOrderMark) {
  const ConfFile conf = parse_ok("\xEF\xBB\xBF[s]\r\na = 1\r\nb = two\r\n  lines\r\n");
  EXPECT_EQ(conf.get("s", "a"), "1");
  EXPECT_EQ(conf.get("s", "b"), "two\nlines");
}

TEST(ConfIni, DefaultSectionIsInheritedButNotListed) {
  const ConfFile conf = parse_ok("[DEFAULT]\nhost = localhost\nport = 80\n[a]\nport = 8080\n[b]\n");
  EXPECT_THAT(conf.sections(), ElementsAre("a", "b"));
  EXPECT_FALSE(conf.has_section("DEFAULT"));
  EXPECT_EQ(conf.get("a", "port"), "8080");
  EXPECT_EQ(conf.get("b", "port"), "80");
  EXPECT_EQ(conf.get("b", "host"), "localhost");
  EXPECT_EQ(conf.get("DEFAULT", "host"), "localhost");
  EXPECT_EQ(conf.line_of("b", "host"), 2);
  EXPECT_TRUE(conf.has_key("b", "host"));
  EXPECT_THAT(conf.keys("b"), ElementsAre());
  EXPECT_FALSE(conf.get("nosuch", "host"));  // as ConfigParser: no section, no value
}

TEST(ConfIni, InterpolationFromSectionAndDefault) {
  const ConfFile conf = parse_ok(
      "[DEFAULT]\nhost = 127.0.0.1\nurl = http://%(host)s:%(port)s/\n"
      "[main]\nport = 8080\nhome = %(URL)sindex.html\nliteral = 100%% sure\n"
      "[other]\nhost = example.test\nport = 81\n");
  EXPECT_EQ(conf.get("main", "url"), "http://127.0.0.1:8080/");
  EXPECT_EQ(conf.get("main", "home"), "http://127.0.0.1:8080/index.html");
  EXPECT_EQ(conf.get("main", "literal"), "100% sure");
  EXPECT_EQ(conf.get("other", "url"), "http://example.test:81/");
}

TEST(ConfIni, DefaultValueReferringToAMissingKeyFailsWhereRead) {
  const ConfFile conf =
      parse_ok("[DEFAULT]\nurl = http://%(host)s/\n[main]\nhost = a\n[monitor]\nhosts = w\n");
  EXPECT_EQ(conf.get("main", "url"), "http://a/");
  std::string error;
  EXPECT_FALSE(conf.get("monitor", "url", &error));
  EXPECT_EQ(error,
            "Test.conf:2: [monitor] url: '%(host)s' refers to a key that is in neither "
            "[monitor] nor [DEFAULT]");
  error.clear();
  EXPECT_FALSE(conf.get_int("monitor", "url", &error));
  EXPECT_NE(error, "");
}

TEST(ConfIni, InterpolationErrorsAreReportedWhenParsing) {
  EXPECT_EQ(parse_error("[main]\nurl = http://%(host)s/\n"),
            "Name.conf:2: [main] url: '%(host)s' refers to a key that is in neither [main] "
            "nor [DEFAULT]");
  EXPECT_EQ(parse_error("[main]\n\nurl = http://x/%20y\n"),
            "Name.conf:3: [main] url: bad '%' in 'http://x/%20y': write '%%' for a literal "
            "'%' or '%(name)s' for another key's value");
  EXPECT_EQ(parse_error("[DEFAULT]\na = 50%\n"),
            "Name.conf:2: [DEFAULT] a: bad '%' in '50%': write '%%' for a literal '%' or "
            "'%(name)s' for another key's value");
  EXPECT_EQ(parse_error("[s]\na = %(b)s\nb = %(a)s\n"),
            "Name.conf:2: [s] a: %(name)s references nest deeper than 10 levels (a loop?)");
  // The error points at the key holding the bad reference, even when reached through another.
  EXPECT_EQ(parse_error("[s]\na = %(b)s\nb = x%(c)s\n"),
            "Name.conf:3: [s] b: '%(c)s' refers to a key that is in neither [s] nor [DEFAULT]");
  EXPECT_EQ(parse_error("[s]\na = %()s\n"),
            "Name.conf:2: [s] a: bad '%' in '%()s': write '%%' for a literal '%' or "
            "'%(name)s' for another key's value");
  EXPECT_EQ(parse_error("[s]\na = %(b)\nb = 1\n"),
            "Name.conf:2: [s] a: bad '%' in '%(b)': write '%%' for a literal '%' or "
            "'%(name)s' for another key's value");
}

TEST(ConfIni, ReferencesNestAsDeepAsConfigParserAllows) {
  // k10 -> k9 -> ... -> k0: ten interpolations, ConfigParser's limit.
  std::string text = "[s]\nk0 = end\n";
  for (int i = 1; i <= 10; ++i) {
    text += "k" + std::to_string(i) + " = %(k" + std::to_string(i - 1) + ")s\n";
  }
  EXPECT_EQ(parse_ok(text).get("s", "k10"), "end");
  text += "k11 = %(k10)s\n";
  EXPECT_EQ(parse_error(text),
            "Name.conf:13: [s] k11: %(name)s references nest deeper than 10 levels (a loop?)");
}

TEST(ConfIni, SyntaxErrorsNameFileAndLine) {
  EXPECT_EQ(parse_error("# intro\nurl = x\n"),
            "Name.conf:2: 'url = x' comes before any [section] header");
  EXPECT_EQ(parse_error("[main]\njust words\n"),
            "Name.conf:2: expected 'key = value', '[section]' or a comment, got 'just words'");
  EXPECT_EQ(parse_error("[main]\n = 5\n"), "Name.conf:2: missing key name before '='");
  EXPECT_EQ(parse_error("[main\n"), "Name.conf:1: section header '[main' is missing its ']'");
  EXPECT_EQ(parse_error("[main] trailing\n"),
            "Name.conf:1: unexpected text 'trailing' after section header");
  EXPECT_EQ(parse_error("\n[ ]\n"), "Name.conf:2: empty section name '[]'");
}

TEST(ConfIni, DuplicatesAreErrors) {
  std::string text(kSimpleConf);
  text += "duration = 120\n";  // line 38, in [bench]
  EXPECT_EQ(parse_error(text, "Simple.conf"),
            "Simple.conf:38: duplicate key 'duration' in section [bench]");
  EXPECT_EQ(parse_error("[a]\nx = 1\n[b]\n[a]\n"), "Name.conf:4: duplicate section [a]");
  EXPECT_EQ(parse_error("[a]\nX = 1\nx = 2\n"), "Name.conf:3: duplicate key 'x' in section [a]");
  EXPECT_EQ(parse_error("[DEFAULT]\n[DEFAULT]\n"), "Name.conf:2: duplicate section [DEFAULT]");
}

TEST(ConfIni, SameKeyInDifferentSectionsIsFine) {
  const ConfFile conf = parse_ok(kSimpleConf);
  EXPECT_EQ(conf.get("ftest", "sleep_time_max"), "0");
  EXPECT_EQ(conf.get("bench", "sleep_time_max"), "1.0");
}

TEST(ConfIni, TypedGetters) {
  const ConfFile conf = parse_ok(
      "[s]\nint = 42\nneg = -7\nplus = +3\nreal = 0.25\nsci = 1e3\n"
      "yes = Yes\noff = off\none = 1\nfalse = FALSE\n"
      "list = a : b:c\nempty =\ncycles = 1: 5 :10\n");
  std::string error;
  EXPECT_EQ(conf.get_int("s", "int", &error), 42);
  EXPECT_EQ(conf.get_int("s", "neg", &error), -7);
  EXPECT_EQ(conf.get_int("s", "plus", &error), 3);
  EXPECT_EQ(conf.get_double("s", "real", &error), 0.25);
  EXPECT_EQ(conf.get_double("s", "int", &error), 42.0);
  EXPECT_EQ(conf.get_double("s", "sci", &error), 1000.0);
  EXPECT_EQ(conf.get_bool("s", "yes", &error), true);
  EXPECT_EQ(conf.get_bool("s", "off", &error), false);
  EXPECT_EQ(conf.get_bool("s", "one", &error), true);
  EXPECT_EQ(conf.get_bool("s", "false", &error), false);
  EXPECT_THAT(*conf.get_list("s", "list", &error), ElementsAre("a", "b", "c"));
  EXPECT_THAT(*conf.get_list("s", "empty", &error), ElementsAre());
  EXPECT_THAT(*conf.get_list("s", "list", &error, ','), ElementsAre("a : b:c"));
  EXPECT_EQ(conf.get_cycles("s", "cycles", &error), (std::vector<int>{1, 5, 10}));
  EXPECT_EQ(conf.get_seconds("s", "real", 0, 1, &error), 0.25);
  EXPECT_FALSE(conf.get_seconds("s", "absent", 0, 1, &error));
  EXPECT_EQ(error, "");
  EXPECT_FALSE(conf.get_seconds("s", "int", 0, 10, &error));
  EXPECT_EQ(error, "Test.conf:2: [s] int: '42' is not a number of seconds from 0 to 10");
}

TEST(ConfIni, TypedGetterErrors) {
  const ConfFile conf = parse_ok(
      "[bench]\nduration = sixty\nratio = 1.5.2\ninf = inf\nflag = maybe\n"
      "cycles_zero = 10:0\nbig = 99999999999999999999\n",
      "Simple.conf");
  const auto error_of = [&](auto getter) {
    std::string error;
    EXPECT_FALSE(getter(&error));
    return error;
  };
  EXPECT_EQ(error_of([&](std::string* e) { return conf.get_int("bench", "duration", e); }),
            "Simple.conf:2: [bench] duration: 'sixty' is not an integer");
  EXPECT_EQ(error_of([&](std::string* e) { return conf.get_int("bench", "big", e); }),
            "Simple.conf:7: [bench] big: '99999999999999999999' is not an integer");
  EXPECT_EQ(error_of([&](std::string* e) { return conf.get_double("bench", "ratio", e); }),
            "Simple.conf:3: [bench] ratio: '1.5.2' is not a number");
  EXPECT_EQ(error_of([&](std::string* e) { return conf.get_double("bench", "inf", e); }),
            "Simple.conf:4: [bench] inf: 'inf' is not a number");
  EXPECT_EQ(error_of([&](std::string* e) { return conf.get_bool("bench", "flag", e); }),
            "Simple.conf:5: [bench] flag: 'maybe' is not a boolean (1/0, yes/no, true/false, "
            "on/off)");
  EXPECT_EQ(error_of([&](std::string* e) { return conf.get_cycles("bench", "cycles_zero", e); }),
            "Simple.conf:6: [bench] cycles_zero: '10:0' is not a list of positive integers "
            "separated by ':'");
}

TEST(ConfIni, CyclesErrorAsTheDocsShowIt) {
  std::string text(kSimpleConf);
  text.replace(text.find("10:20:30"), 8, "10:x");
  // The brief's example names line 14 of a file laid out differently; here cycles is on 28.
  const ConfFile conf = parse_ok(text, "Simple.conf");
  std::string error;
  EXPECT_FALSE(conf.get_cycles("bench", "cycles", &error));
  EXPECT_EQ(error,
            "Simple.conf:28: [bench] cycles: '10:x' is not a list of positive integers "
            "separated by ':'");
}

TEST(ConfValues, ParseCyclesAndStatusCodes) {
  EXPECT_EQ(parse_cycles("7"), (std::vector<int>{7}));
  EXPECT_FALSE(parse_cycles(""));
  EXPECT_FALSE(parse_cycles("10::20"));
  EXPECT_FALSE(parse_cycles("-1"));
  EXPECT_FALSE(parse_cycles("3000000000"));
  EXPECT_FALSE(parse_cycles("1.5"));
  EXPECT_EQ(parse_status_codes("200:404"), (std::vector<int>{200, 404}));
  EXPECT_FALSE(parse_status_codes("200:600"));
  EXPECT_FALSE(parse_status_codes("99"));
  EXPECT_FALSE(parse_double("nan"));
  EXPECT_FALSE(parse_double("0x10"));
  EXPECT_FALSE(parse_int("++1"));
  EXPECT_FALSE(parse_int("1 2"));
  EXPECT_EQ(parse_int(" 12 "), 12);
}

TEST(ConfIni, SetAddsAndReplacesKeepingOrder) {
  ConfFile conf = parse_ok(kSimpleConf, "Simple.conf");
  conf.set("bench", "cycles", "5:10");
  conf.set("bench", "node_num", "3");
  conf.set("main", "URL", "http://127.0.0.1:9000/a%20b");
  conf.set("nodes", "list", "a\n  b  \n\n");
  EXPECT_EQ(conf.get("bench", "cycles"), "5:10");
  EXPECT_EQ(conf.line_of("bench", "cycles"), 0);
  EXPECT_EQ(conf.location_of("bench", "cycles"), "Simple.conf");
  EXPECT_EQ(conf.get("main", "url"), "http://127.0.0.1:9000/a%20b");
  EXPECT_EQ(conf.get("nodes", "list"), "a\nb");
  EXPECT_EQ(conf.keys("bench").front(), "cycles");
  EXPECT_EQ(conf.keys("bench").back(), "node_num");
  EXPECT_EQ(conf.sections().back(), "nodes");
}

TEST(ConfIni, SetRefusesNamesThatCannotBeWritten) {
  ConfFile conf = parse_ok("[s]\n");
  EXPECT_THROW(conf.set("a]b", "k", "v"), std::invalid_argument);
  EXPECT_THROW(conf.set("", "k", "v"), std::invalid_argument);
  EXPECT_THROW(conf.set("s", "a=b", "v"), std::invalid_argument);
  EXPECT_THROW(conf.set("s", "#k", "v"), std::invalid_argument);
  EXPECT_THROW(conf.set("s", " k", "v"), std::invalid_argument);
  EXPECT_THROW(conf.set("s", "k", "one\n# two"), std::invalid_argument);
  EXPECT_NO_THROW(conf.set("s", "k", "# one is fine on the key's line"));
}

TEST(ConfIni, ToIniWritesBackWhatWasRead) {
  const ConfFile conf = parse_ok(
      "; comment dropped\n[main]\nURL: http://%(host)s/\nhost = h\n"
      "text = line one\n   line two\n\n   line four\n"
      "empty =\n"
      "[DEFAULT]\nd = 1%%\n");
  EXPECT_EQ(conf.to_ini(),
            "[main]\nurl = http://%(host)s/\nhost = h\ntext = line one\n\tline two\n\t\n"
            "\tline four\nempty =\n\n[DEFAULT]\nd = 1%%\n");
}

TEST(ConfIni, ToIniRoundTripsEveryValue) {
  ConfFile conf = parse_ok(kSimpleConf, "Simple.conf");
  conf.set("bench", "node_num", "2");
  conf.set("main", "description", "  first\n\n  third 100%  \n");
  conf.set("DEFAULT", "shared", "x");
  const ConfFile again = parse_ok(conf.to_ini(), "again.conf");
  EXPECT_EQ(again.sections(), conf.sections());
  for (const std::string& section : conf.sections()) {
    EXPECT_EQ(again.keys(section), conf.keys(section)) << section;
    for (const std::string& key : conf.keys(section)) {
      EXPECT_EQ(again.get(section, key), conf.get(section, key)) << section << " " << key;
    }
  }
  EXPECT_EQ(again.get("main", "description"), "first\n\nthird 100%");
  EXPECT_EQ(again.get("web1", "shared"), "x");
  EXPECT_EQ(again.to_ini(), conf.to_ini());
}

TEST(ConfIni, LoadReadsAFileAndNamesItInErrors) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("bm-conf-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path good = dir / "Simple.conf";
  const std::filesystem::path bad = dir / "Bad.conf";
  std::ofstream(good) << kSimpleConf;
  std::ofstream(bad) << "[bench]\ncycles = 1\ncycles = 2\n";

  std::string error;
  std::optional<ConfFile> conf = ConfFile::load(good, &error);
  ASSERT_TRUE(conf) << error;
  EXPECT_EQ(conf->source(), good.string());
  EXPECT_EQ(conf->get("bench", "duration"), "60");

  EXPECT_FALSE(ConfFile::load(bad, &error));
  EXPECT_EQ(error, bad.string() + ":3: duplicate key 'cycles' in section [bench]");

  EXPECT_FALSE(ConfFile::load(dir / "Missing.conf", &error));
  EXPECT_EQ(error, (dir / "Missing.conf").string() + ": cannot open the file");
  std::filesystem::remove_all(dir);
}

TEST(ConfIni, EmptyTextIsAnEmptyFile) {
  const ConfFile conf = parse_ok("");
  EXPECT_TRUE(conf.sections().empty());
  EXPECT_EQ(conf.to_ini(), "");
}

}  // namespace
}  // namespace bm::conf

namespace bm::conf {
namespace {

TEST(ConfValues, NamesAreSplitOnSpacesTabsAndCommas) {
  EXPECT_EQ(split_names("web db"), (std::vector<std::string>{"web", "db"}));
  EXPECT_EQ(split_names(" eth0,eth1 ,\teth2\n"), (std::vector<std::string>{"eth0", "eth1", "eth2"}));
  EXPECT_TRUE(split_names(" , ").empty());
}

// Found by the conf fuzz target (tests/fuzz): messages that quote a multi-line value
// (continuation lines) spanned several lines; a message is one "file:line: ..." line.
TEST(ConfFile, MessagesQuotingAMultiLineValueStayOneLine) {
  std::string error;
  EXPECT_FALSE(ConfFile::parse("[a]\nx = %(y\n  z\n", "t.conf", &error));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_THAT(error, ::testing::HasSubstr("'%(y\\nz'")) << error;

  const auto conf = ConfFile::parse("[a]\nn = 1\n  2\n", "t.conf", &error);
  ASSERT_TRUE(conf) << error;
  error.clear();
  EXPECT_FALSE(conf->get_int("a", "n", &error));
  EXPECT_EQ(error, "t.conf:2: [a] n: '1\\n2' is not an integer") << error;
}

}  // namespace
}  // namespace bm::conf
