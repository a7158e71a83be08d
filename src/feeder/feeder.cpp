#include "feeder/feeder.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

#include "common/files.hpp"
#include "common/location.hpp"

namespace bm::feeder {

const char* to_string(FeedOrder order) {
  switch (order) {
    case FeedOrder::sequence: return "sequence";
    case FeedOrder::per_user: return "per_user";
    case FeedOrder::random: return "random";
  }
  return "sequence";
}

const char* to_string(AtEnd at_end) {
  switch (at_end) {
    case AtEnd::wrap: return "wrap";
    case AtEnd::stop_user: return "stop_user";
    case AtEnd::fail: return "fail";
  }
  return "fail";
}

namespace {

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

std::optional<std::vector<FeederSpec>> read_feeder_specs(const conf::ConfFile& conf, std::string* error) {
  std::vector<FeederSpec> specs;
  for (const std::string& section : conf.sections()) {
    if (!section.starts_with(kSectionPrefix)) continue;
    FeederSpec spec;
    spec.name = section.substr(kSectionPrefix.size());
    const auto at_section = [&](std::string message) {
      *error = common::located(conf.source(), conf.section_line(section), message);
      return std::nullopt;
    };
    if (!valid_name(spec.name)) {
      return at_section(fmt::format("[{}]: a feeder's name is letters, digits, '_' and '-'", section));
    }
    for (const std::string& key : conf.keys(section)) {
      static constexpr std::array<std::string_view, 6> kKeys{"file", "order", "at_end", "partition", "delimiter", "part"};
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
        *error = common::located(conf.source(), conf.line_of(section, key),
                                 fmt::format("[{}] {}: unknown key (file, order, at_end, partition, delimiter)",
                                             section, key));
        return std::nullopt;
      }
    }
    const std::optional<std::string> file = conf.get(section, "file", error);
    if (!file || file->empty()) return at_section(fmt::format("[{}]: no file (the CSV file to read)", section));
    spec.file = *file;
    const auto choice = [&](const char* key, std::initializer_list<const char*> allowed) -> std::optional<std::string> {
      const std::optional<std::string> value = conf.get(section, key, error);
      if (!value) return std::string();
      for (const char* option : allowed) {
        if (*value == option) return *value;
      }
      std::string list;
      for (const char* option : allowed) list += (list.empty() ? "" : ", ") + std::string(option);
      *error = conf.value_error(section, key, *value, list);
      return std::nullopt;
    };
    const std::optional<std::string> order = choice("order", {"sequence", "per_user", "random"});
    if (!order) return std::nullopt;
    if (*order == "per_user") spec.order = FeedOrder::per_user;
    if (*order == "random") spec.order = FeedOrder::random;
    const std::optional<std::string> at_end = choice("at_end", {"wrap", "stop_user", "fail"});
    if (!at_end) return std::nullopt;
    if (*at_end == "wrap") spec.at_end = AtEnd::wrap;
    if (*at_end == "stop_user") spec.at_end = AtEnd::stop_user;
    const std::optional<std::string> partition = choice("partition", {"node", "whole"});
    if (!partition) return std::nullopt;
    spec.partition_by_node = *partition != "whole";
    if (const std::optional<std::string> delimiter = conf.get(section, "delimiter")) {
      const std::string d = *delimiter == "\\t" || *delimiter == "tab" ? "\t" : *delimiter;
      if (d.size() != 1 || d == "\"" || d == "\n" || d == "\r") {
        *error = conf.value_error(section, "delimiter", *delimiter, "one character (or tab), not a quote");
        return std::nullopt;
      }
      spec.delimiter = d[0];
    }
    spec.part = conf.get(section, "part").value_or("");
    specs.push_back(std::move(spec));
  }
  return specs;
}

std::optional<std::size_t> Feeder::draw(uint64_t vu, uint64_t random) {
  const std::size_t n = table_.rows.size();
  uint64_t index = 0;
  switch (spec_.order) {
    case FeedOrder::random:
      handed_out_.fetch_add(1, std::memory_order_relaxed);
      return static_cast<std::size_t>(random % n);
    case FeedOrder::per_user: index = vu; break;
    case FeedOrder::sequence: index = next_.fetch_add(1, std::memory_order_relaxed); break;
  }
  if (index >= n) {
    exhausted_.fetch_add(1, std::memory_order_relaxed);
    if (spec_.at_end != AtEnd::wrap) return std::nullopt;
    index %= n;
  }
  handed_out_.fetch_add(1, std::memory_order_relaxed);
  return static_cast<std::size_t>(index);
}

std::shared_ptr<FeederSet> FeederSet::load(std::vector<FeederSpec> specs, const std::filesystem::path& test_folder,
                                           std::string* error) {
  auto set = std::make_shared<FeederSet>();
  for (FeederSpec& spec : specs) {
    const std::filesystem::path path = test_folder / spec.file;
    int error_number = 0;
    const std::optional<std::string> text = common::read_whole_file(path, &error_number);
    if (!text) {
      *error = fmt::format("feeder '{}': cannot read {}: {}", spec.name, path.string(), std::strerror(error_number));
      return nullptr;
    }
    std::optional<CsvTable> table = parse_csv(*text, spec.file, spec.delimiter, error);
    if (!table) return nullptr;
    set->feeders_.push_back(std::make_unique<Feeder>(std::move(spec), std::move(*table)));
  }
  return set;
}

Feeder* FeederSet::find(std::string_view name) const {
  for (const auto& feeder : feeders_) {
    if (feeder->spec().name == name) return feeder.get();
  }
  return nullptr;
}

std::string FeederSet::names() const {
  std::string list;
  for (const auto& feeder : feeders_) list += (list.empty() ? "" : ", ") + feeder->spec().name;
  return list.empty() ? "none: the conf has no [feeder.NAME] section" : list;
}

}  // namespace bm::feeder
