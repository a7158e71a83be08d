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

// How a line is stroked: its colour and dash pattern.
enum class Dash { solid, dashed, dotted, dash_dot };

struct LineStyle {
  std::string color;
  Dash dash = Dash::solid;
  friend bool operator==(const LineStyle&, const LineStyle&) = default;
};

// The dash pattern in CSS pixels (on, off, ...); empty for solid.
std::vector<int> dash_pattern(Dash dash);

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
// The hues of series that are simply "the n-th one" (cycles, runs' users, hosts).
inline constexpr std::size_t kHues = 10;
// The n-th line of a chart with many: ten distinct hues drawn solid, then ten darker
// shades of them dashed, then the hues dotted, the shades dash-dotted; 40 lines before
// a style repeats.
LineStyle nth(std::size_t index);
}  // namespace palette

// One line of a chart. Every series of a chart shares its one y axis: a chart holds one
// unit (rates, ms, %, ...), so two lines meet only where their numbers do.
struct ChartSeries {
  std::string label;
  std::vector<std::optional<double>> values;  // unset: no data at that x (a gap)
  LineStyle style;
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
  // x is 1/(1 - p/100) for the percentile p of `percentiles`, on a log axis labelled
  // in percent (the distribution chart).
  std::vector<double> percentiles;
  std::string y_label;  // the one unit of every series
  bool y_log = false;   // logarithmic y axis (values must be above 0)
  std::optional<double> y_max;  // fixed top of the y axis (e.g. 100 for %, 1 for Apdex)
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
