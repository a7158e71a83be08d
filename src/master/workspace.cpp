#include "master/workspace.hpp"

#include <ctime>

#include <fmt/format.h>

namespace bm::master {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_whitespace(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// A data file must stay inside the test's folder so that it lands inside the node's.
bool inside_folder(const fs::path& relative) {
  if (relative.empty() || relative.is_absolute()) return false;
  for (const auto& part : relative) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

std::optional<TestBundle> load_test_bundle(const fs::path& test_file, const fs::path& conf_file, std::string* error) {
  auto conf = conf::ConfFile::load(conf_file, error);
  if (!conf) return std::nullopt;
  TestBundle bundle{test_file, "", std::move(*conf), {}, nullptr};
  std::string stem = test_file.stem().string();
  bundle.name = stem.rfind("test_", 0) == 0 ? stem.substr(5) : stem;
  const fs::path test_dir = test_file.parent_path();
  if (auto files = bundle.conf.get("distribute", "files", error)) {
    for (const auto& file : split_whitespace(*files)) {
      std::error_code ec;
      if (!inside_folder(file)) {
        *error = fmt::format("{}: [distribute] files: '{}' must be a path inside the test's folder",
                             bundle.conf.location_of("distribute", "files"), file);
        return std::nullopt;
      }
      if (!fs::is_regular_file(test_dir / file, ec)) {
        *error = fmt::format("{}: [distribute] files: no such file {}", bundle.conf.location_of("distribute", "files"),
                             (test_dir / file).string());
        return std::nullopt;
      }
      bundle.data_files.push_back(file);
    }
  } else if (!error->empty()) {
    return std::nullopt;
  }
  std::optional<std::vector<feeder::FeederSpec>> specs = feeder::read_feeder_specs(bundle.conf, error);
  if (!specs) return std::nullopt;
  for (const feeder::FeederSpec& spec : *specs) {
    if (!inside_folder(spec.file)) {
      *error = fmt::format("{}: [feeder.{}] file: '{}' must be a path inside the test's folder",
                           bundle.conf.location_of(std::string(feeder::kSectionPrefix) + spec.name, "file"), spec.name,
                           spec.file);
      return std::nullopt;
    }
    // Sent by the feeder rules below, not as a plain data file.
    std::erase(bundle.data_files, spec.file);
  }
  if (!specs->empty()) {
    bundle.feeders = feeder::FeederSet::load(std::move(*specs), test_dir, error);
    if (!bundle.feeders) return std::nullopt;
  }
  return bundle;
}

std::string tailored_conf(const conf::ConfFile& conf, int node_num, int nodes) {
  conf::ConfFile copy = conf;
  copy.set("bench", "node_num", std::to_string(node_num));
  // Open model: node i of N starts every N-th start of the whole schedule, from the i-th,
  // so the nodes' parts interleave and add up to the rate asked (docs/open-model.md).
  copy.set("bench", "rate_part", fmt::format("{}/{}", node_num, nodes));
  if (node_num != 0 && copy.has_key("monitor", "hosts")) copy.set("monitor", "hosts", "");
  for (const std::string& section : conf.sections()) {
    if (!section.starts_with(feeder::kSectionPrefix)) continue;
    if (conf.get(section, "partition").value_or("node") == "whole") continue;
    copy.set(section, "part", fmt::format("{}/{}", node_num, nodes));
  }
  return copy.to_ini();
}

std::string check_feeder_parts(const TestBundle& bundle, int nodes) {
  if (!bundle.feeders) return {};
  for (const auto& feeder : bundle.feeders->all()) {
    const feeder::FeederSpec& spec = feeder->spec();
    if (spec.partition_by_node && feeder->rows() < static_cast<std::size_t>(nodes)) {
      return fmt::format("[feeder.{}] {}: {} row{} for {} nodes: each node needs one at least (add rows, or "
                         "partition = whole to give every node every row)",
                         spec.name, spec.file, feeder->rows(), feeder->rows() == 1 ? "" : "s", nodes);
    }
  }
  return {};
}

std::string feeder_file_for(const feeder::Feeder& feeder, int node_num, int nodes) {
  const feeder::FeederSpec& spec = feeder.spec();
  if (!spec.partition_by_node) nodes = 1, node_num = 0;
  return feeder::write_csv_part(feeder.table(), spec.delimiter, static_cast<std::size_t>(node_num),
                                static_cast<std::size_t>(nodes));
}

MasterLayout master_layout(const fs::path& output_dir, const std::string& label, const std::string& test,
                           const std::string& timestamp) {
  MasterLayout layout;
  layout.label_dir = output_dir / label;
  layout.out_dir = layout.label_dir / "out";
  layout.err_dir = layout.label_dir / "err";
  layout.run_dir = layout.label_dir / "reports" / (test + "-" + timestamp);
  layout.results_dir = layout.run_dir / "results";
  return layout;
}

bool create_layout(const MasterLayout& layout, std::string* error) {
  for (const auto& dir : {layout.out_dir, layout.err_dir, layout.results_dir}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      *error = fmt::format("cannot create {}: {}", dir.string(), ec.message());
      return false;
    }
  }
  return true;
}

std::string node_folder(const std::string& node_dir, const std::string& label, int node_num) {
  return join_remote(join_remote(node_dir, label), "node-" + std::to_string(node_num));
}

std::string join_remote(const std::string& folder, const std::string& name) {
  if (folder.empty() || folder.back() == '/') return folder + name;
  return folder + "/" + name;
}

std::string compact_timestamp(int64_t epoch_us) {
  std::time_t seconds = static_cast<std::time_t>(epoch_us / 1'000'000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%S", &tm);
  return buffer;
}

}  // namespace bm::master
