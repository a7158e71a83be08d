// ConfFile (ConfigParser's rules, %(key)s interpolation): parse the input, then read
// every key of every section (and [DEFAULT]'s keys through every section) with every
// typed getter, and write the file back. Checks, besides the sanitizers: a refused file
// says why in one "file:line: message"; to_ini() reads back with the same keys and the
// same values; a key that parse() listed is found.
#include "conf/bench_settings.hpp"
#include "conf/conf_file.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using bm::conf::ConfFile;

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "conf: %s\n", what);
  abort();
}

// Every getter on one key; returns the interpolated value (nullopt if it failed).
std::optional<std::string> read_key(const ConfFile& conf, const std::string& section, const std::string& key) {
  std::string error;
  auto value = conf.get(section, key, &error);
  check(value.has_value() || !error.empty(), "get() failed without a message");
  check(error.find('\n') == std::string::npos, "get()'s message is not one line");
  const auto one_line = [&](auto&&) {
    check(error.find('\n') == std::string::npos, "a typed getter's message is not one line");
    error.clear();
  };
  error.clear();
  one_line(conf.get_int(section, key, &error));
  one_line(conf.get_double(section, key, &error));
  one_line(conf.get_seconds(section, key, 0, 3600, &error));
  one_line(conf.get_bool(section, key, &error));
  one_line(conf.get_list(section, key, &error));
  one_line(conf.get_list(section, key, &error, ','));
  one_line(conf.get_cycles(section, key, &error));
  (void)conf.line_of(section, key);
  (void)conf.location_of(section, key);
  check(conf.has_key(section, key), "a listed key is not found");
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto conf = ConfFile::parse(input, "fuzz.conf", &error);
  if (!conf) {
    check(error.starts_with("fuzz.conf"), "a refused file's message does not name the file");
    check(error.find('\n') == std::string::npos, "a refused file's message is not one line");
    return 0;
  }
  std::vector<std::string> sections = conf->sections();
  const std::vector<std::string> defaults = conf->keys(std::string(bm::conf::kDefaultSection));
  std::vector<std::pair<std::string, std::string>> values;  // "section\nkey", value
  for (const std::string& section : sections) {
    check(conf->has_section(section), "a listed section is not found");
    (void)conf->section_line(section);
    for (const std::string& key : conf->keys(section)) {
      if (auto value = read_key(*conf, section, key)) values.emplace_back(section + "\n" + key, *value);
    }
    for (const std::string& key : defaults) (void)read_key(*conf, section, key);
  }
  for (const std::string& key : defaults) (void)read_key(*conf, std::string(bm::conf::kDefaultSection), key);

  // The settings resolved from it (rates, cycles, seconds, codes...): a value or one line.
  for (const auto mode : {bm::conf::Mode::test, bm::conf::Mode::bench}) {
    std::string settings_error;
    std::vector<std::string> warnings;
    const auto settings = bm::conf::resolve_bench_settings(*conf, {}, mode, &settings_error, &warnings);
    if (!settings) {
      check(!settings_error.empty(), "settings refused without a message");
      check(settings_error.find('\n') == std::string::npos, "a settings message is not one line");
    } else if (settings->open_model()) {
      check(settings->cycles.size() == settings->rates.size(), "open model: not one cycle per rate");
      check(settings->rate_part_index >= 0 && settings->rate_part_index < settings->rate_part_count,
            "rate_part out of range");
    }
  }

  // Written back, the file reads the same.
  const std::string ini = conf->to_ini();
  error.clear();
  const auto again = ConfFile::parse(ini, "again.conf", &error);
  if (!again) {
    fprintf(stderr, "conf: to_ini() does not read back: %s\n--- ini:\n%s\n", error.c_str(), ini.c_str());
    abort();
  }
  check(again->sections() == sections, "to_ini() reads back with other sections");
  for (const auto& [where, value] : values) {
    const size_t nl = where.find('\n');
    const auto other = again->get(where.substr(0, nl), where.substr(nl + 1));
    if (!other || *other != value) {
      fprintf(stderr, "conf: [%s] %s reads back as '%s', was '%s'\n", where.substr(0, nl).c_str(),
              where.substr(nl + 1).c_str(), other ? other->c_str() : "(none)", value.c_str());
      abort();
    }
  }

  // set() of a literal value, then read back.
  ConfFile copy = *conf;
  const std::string literal(input.substr(0, std::min<size_t>(input.size(), 40)));
  bool set_ok = true;
  try {
    copy.set("fuzz", "key", literal);
  } catch (const std::invalid_argument&) {
    set_ok = false;
  }
  if (set_ok) (void)copy.get("fuzz", "key");
  return 0;
}
