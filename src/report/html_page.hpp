#pragma once
// The frame every HTML report shares (run report, diff, trend): one self-contained
// document with inline styles, data and scripts, a Content-Security-Policy that allows
// no network access and no script but our own, and chart placeholders that the
// embedded script fills from the data block.

#include <filesystem>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/html_escape.hpp"

namespace bm::report {

// Appends formatted HTML. Strings from results go in as Esc{...}.
template <class... Args>
void put(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

// Series colours, one place for every chart and legend.
namespace palette {
inline constexpr const char* kBlue = "#2563eb";
inline constexpr const char* kGreen = "#16a34a";
inline constexpr const char* kRed = "#dc2626";
inline constexpr const char* kAmber = "#d97706";
inline constexpr const char* kViolet = "#7c3aed";
inline constexpr const char* kTeal = "#0d9488";
inline constexpr const char* kSlate = "#64748b";
inline constexpr const char* kPink = "#db2777";
// For series that are simply "the n-th one" (cycles in a trend, hosts).
const char* nth(std::size_t index) noexcept;
}  // namespace palette

struct ChartSeries {
  std::string label;
  std::vector<std::optional<double>> values;  // unset: no data at that x (a gap)
  std::string color;
  bool right_axis = false;
  bool dashed = false;
  bool fill = false;
};

// A shaded x range with a label, e.g. a cycle's logging window on a time axis.
struct ChartBand {
  double from = 0;
  double to = 0;
  std::string label;
  bool alert = false;  // drawn red, labelled at the bottom: e.g. seconds the generator was saturated
};

struct ChartSpec {
  std::string x_label;
  std::vector<double> x;
  std::vector<std::string> x_categories;  // set: x is 0..n-1 and these label the ticks
  bool time_axis = false;                 // x in epoch seconds, shown as UTC clock times
  std::string y_label;
  std::string y2_label;  // right axis, for series with right_axis
  std::vector<ChartSeries> series;
  std::vector<ChartBand> bands;
  bool points = false;      // mark each data point (few points, e.g. one per cycle)
  bool span_gaps = false;   // join the line over missing points (cycles a run lacks)
  int height = 260;

  nlohmann::json to_json() const;
};

// Rounds for the data block to 4 significant digits (whole numbers from 10 000 up).
double chart_value(double value);
// A series for the data block: rounded numbers, null for gaps.
nlohmann::json chart_values(const std::vector<std::optional<double>>& values);

// Chart placeholders of one document; their specs travel in the data block.
class ChartRegistry {
 public:
  // Writes <figure> with a caption and a placeholder, and keeps the spec. `note` is a
  // literal line under the caption.
  void figure(std::string& out, std::string_view caption, const ChartSpec& spec, std::string_view note = {});
  // Columns shared by several charts (x and named series); returns their id.
  std::string add_columns(nlohmann::json columns);
  // A placeholder for a chart that report.js builds from shared columns with one of its
  // views ("rate", "times"): one copy of an entry's numbers serves both its charts.
  void view_figure(std::string& out, std::string_view caption, std::string_view view, const std::string& columns_id);

  const nlohmann::json& specs() const noexcept { return specs_; }
  std::size_t size() const noexcept { return specs_.size(); }
  // The data block: {"charts": {id: spec}, "columns": {id: columns}}.
  nlohmann::json data() const { return {{"charts", specs_}, {"columns", columns_}}; }

 private:
  std::string placeholder(std::string& out, std::string_view caption, std::string_view note, int height);

  nlohmann::json specs_ = nlohmann::json::object();
  nlohmann::json columns_ = nlohmann::json::object();
  std::size_t next_ = 0;
};

struct NavLink {
  std::string_view anchor;
  std::string_view label;
};

// <!doctype html> .. <body>, the top bar with `kind` (a literal) and the escaped
// `title`, and the section navigation.
void begin_document(std::string& out, std::string_view title, std::string_view kind, const std::vector<NavLink>& nav);
// The data block (json_for_script), the scripts, and the closing tags.
void end_document(std::string& out, const nlohmann::json& data, std::string_view footer_html);

// Writes `text` to `path` through a temporary file and a rename (never a half file).
bool write_file_atomic(const std::string& text, const std::filesystem::path& path, std::string* error);

}  // namespace bm::report
