#pragma once
// What the master copies to each node (the test, its conf tailored for that node, the
// data files the conf names) and where things go on the master and on the nodes.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "conf/conf_file.hpp"
#include "feeder/feeder.hpp"

namespace bm::master {

struct TestBundle {
  std::filesystem::path test_file;  // test_Name.lua on the master
  std::string name;                 // Name
  conf::ConfFile conf;              // Name.conf (or --config) as read
  // Relative to the test's folder, copied to the same place under each node's folder:
  // the paths listed (separated by spaces or new lines) by [distribute] files.
  std::vector<std::string> data_files;
  // The [feeder.NAME] CSV files, read: each node gets its part (partition = node) or the
  // whole file, at the same place under its folder.
  std::shared_ptr<feeder::FeederSet> feeders;
};

// Reads the conf and checks the data files exist; one line in *error otherwise.
std::optional<TestBundle> load_test_bundle(const std::filesystem::path& test_file,
                                           const std::filesystem::path& conf_file, std::string* error);

// Node i's copy of the conf: [bench] node_num = i; [monitor] hosts emptied on every node
// but node 0 (only node 0 collects monitoring, as Bench Master did); each partitioned
// feeder's `part = i/nodes`.
std::string tailored_conf(const conf::ConfFile& conf, int node_num, int nodes = 1);

// One line when a partitioned feeder has fewer rows than there are nodes (a node would
// get none); empty when every node gets at least one.
std::string check_feeder_parts(const TestBundle& bundle, int nodes);
// Node i's copy of a feeder's file: its part, or the whole file.
std::string feeder_file_for(const feeder::Feeder& feeder, int node_num, int nodes);

// The master's folders: <w>/<label>/out, err, reports/<test>-<YYYYmmddTHHMMSS>/results.
struct MasterLayout {
  std::filesystem::path label_dir, out_dir, err_dir, run_dir, results_dir;
};
MasterLayout master_layout(const std::filesystem::path& output_dir, const std::string& label,
                           const std::string& test, const std::string& timestamp);
// Creates them; one line in *error ("cannot create ...: Permission denied") otherwise.
bool create_layout(const MasterLayout& layout, std::string* error);

// On a node: <x>/<label>/node-<i> (POSIX paths, whatever the master's).
std::string node_folder(const std::string& node_dir, const std::string& label, int node_num);
std::string join_remote(const std::string& folder, const std::string& name);

// Local time as YYYYmmddTHHMMSS.
std::string compact_timestamp(int64_t epoch_us);

}  // namespace bm::master
