#include "report/html_page.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <openssl/evp.h>

#include "report/html_assets.hpp"
#include "stats/results.hpp"

namespace bm::report {

namespace fs = std::filesystem;

std::vector<int> dash_pattern(Dash dash) {
  switch (dash) {
    case Dash::dashed: return {7, 4};
    case Dash::dotted: return {2, 3};
    case Dash::dash_dot: return {9, 3, 2, 3};
    case Dash::solid: break;
  }
  return {};
}

namespace palette {
LineStyle nth(std::size_t index) {
  // Tableau 10's hues (chosen to stay apart for most colour vision), and darker shades
  // of the same for the second ten.
  constexpr std::array<const char*, kHues> kBase = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  constexpr std::array<const char*, kHues> kDark = {"#0b3f6b", "#a14a00", "#145a14", "#7f1010", "#4f2f7a",
                                                    "#4a2a22", "#9c2f7f", "#333333", "#66660a", "#0a6b75"};
  constexpr std::array<Dash, 4> kDashes = {Dash::solid, Dash::dashed, Dash::dotted, Dash::dash_dot};
  const std::size_t round = index / kHues;
  return {(round % 2 == 0 ? kBase : kDark)[index % kHues], kDashes[round % kDashes.size()]};
}
}  // namespace palette

namespace {

// 'sha256-…' of a script's exact text, for the Content-Security-Policy.
std::string csp_hash(std::string_view script) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(script.data(), script.size(), digest.data(), &length, EVP_sha256(), nullptr);
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> base64{};
  const int written = EVP_EncodeBlock(base64.data(), digest.data(), static_cast<int>(length));
  return fmt::format("'sha256-{}'", std::string_view(reinterpret_cast<const char*>(base64.data()), written));
}

// No network at all (default-src 'none'), and only our two scripts may run: even a
// string that escaped escaping could not execute.
const std::string& content_security_policy() {
  static const std::string policy = fmt::format(
      "default-src 'none'; script-src {} {}; style-src 'unsafe-inline'; img-src data:; "
      "base-uri 'none'; form-action 'none'",
      csp_hash(assets::uplot_js()), csp_hash(assets::report_js()));
  return policy;
}

}  // namespace

nlohmann::json chart_values(const std::vector<std::optional<double>>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::optional<double>& value : values) {
    if (value && std::isfinite(*value)) {
      out.push_back(chart_value(*value));
    } else {
      out.push_back(nullptr);
    }
  }
  return out;
}

double chart_value(double value) {
  if (value == 0 || !std::isfinite(value)) return value;
  // Four significant digits, and whole numbers from 10 000 up: more than a chart shows.
  const int digits = 3 - static_cast<int>(std::floor(std::log10(std::fabs(value))));
  if (digits <= 0) return std::round(value);
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

nlohmann::json ChartSpec::to_json() const {
  nlohmann::json out = {{"xlabel", x_label}, {"ylabel", y_label}, {"height", height}};
  nlohmann::json xs = nlohmann::json::array();
  for (double value : x) xs.push_back(value);
  out["x"] = std::move(xs);
  if (!x_categories.empty()) out["cats"] = x_categories;
  if (!percentiles.empty()) out["pct"] = percentiles;
  if (time_axis) out["time"] = true;
  if (points) out["points"] = true;
  if (span_gaps) out["span"] = true;
  if (y_log) out["ylog"] = true;
  if (y_max) out["ymax"] = *y_max;
  nlohmann::json lines = nlohmann::json::array();
  for (const ChartSeries& s : series) {
    nlohmann::json line = {{"label", s.label}, {"color", s.style.color}, {"data", chart_values(s.values)}};
    if (s.style.dash != Dash::solid) line["dash"] = dash_pattern(s.style.dash);
    if (s.fill) line["fill"] = true;
    lines.push_back(std::move(line));
  }
  out["series"] = std::move(lines);
  if (!bands.empty()) {
    nlohmann::json shaded = nlohmann::json::array();
    for (const ChartBand& band : bands) {
      nlohmann::json item = {band.from, band.to, band.label};
      if (band.alert) item.push_back(true);
      shaded.push_back(std::move(item));
    }
    out["bands"] = std::move(shaded);
  }
  return out;
}

std::string ChartRegistry::placeholder(std::string& out, std::string_view caption, std::string_view note, int height) {
  const std::string id = fmt::format("c{}", next_++);
  put(out, "<figure class=\"chart\"><figcaption>{}</figcaption>", Esc{caption});
  if (!note.empty()) put(out, "<p class=\"chart-note\">{}</p>", Esc{note});
  put(out,
      "<div class=\"plot\" data-chart=\"{}\" style=\"min-height:{}px\">"
      "<noscript>Charts need JavaScript; the tables hold every number.</noscript></div></figure>\n",
      id, height + 40);
  return id;
}

void ChartRegistry::figure(std::string& out, std::string_view caption, const ChartSpec& spec, std::string_view note) {
  specs_[placeholder(out, caption, note, spec.height)] = spec.to_json();
}

std::string ChartRegistry::add_columns(nlohmann::json columns) {
  std::string id = fmt::format("s{}", columns_.size());
  columns_[id] = std::move(columns);
  return id;
}

void ChartRegistry::view_figure(std::string& out, std::string_view caption, std::string_view view,
                                const std::string& columns_id) {
  specs_[placeholder(out, caption, {}, 260)] = {{"view", view}, {"columns", columns_id}};
}

void begin_document(std::string& out, std::string_view title, std::string_view kind, const std::vector<NavLink>& nav) {
  put(out,
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n"
      "<meta name=\"generator\" content=\"benchmaster {}\">\n"
      "<title>{} · {}</title>\n<link rel=\"icon\" href=\"data:,\">\n",
      content_security_policy(), Esc{stats::tool_version()}, Esc{title}, kind);
  put(out, "<style>\n{}\n{}\n</style>\n</head>\n<body>\n", assets::uplot_css(), assets::report_css());
  put(out,
      "<header class=\"topbar\"><div class=\"topbar-inner\"><span class=\"brand\">benchmaster</span>"
      "<span class=\"kind\">{}</span><span class=\"doc-title\">{}</span></div>",
      kind, Esc{title});
  out += "<nav class=\"toc\" aria-label=\"Sections\">";
  for (const NavLink& link : nav) put(out, "<a href=\"#{}\">{}</a>", link.anchor, link.label);
  out += "</nav></header>\n<main>\n";
}

void end_document(std::string& out, const nlohmann::json& data, std::string_view footer_html) {
  put(out, "</main>\n<footer class=\"footer\">{}</footer>\n", footer_html);
  out += "<script type=\"application/json\" id=\"bm-data\">";
  out += json_for_script(data);
  out += "</script>\n<script>";
  out += assets::uplot_js();
  out += "</script>\n<script>";
  out += assets::report_js();
  out += "</script>\n</body>\n</html>\n";
}

bool write_file_atomic(const std::string& text, const fs::path& path, std::string* error) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) {
    if (error) *error = fmt::format("{}: cannot create the folder: {}", path.parent_path().string(), ec.message());
    return false;
  }
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    file.write(text.data(), static_cast<std::streamsize>(text.size()));
    file.close();
    if (!file) {
      if (error) *error = fmt::format("{}: cannot write", temporary.string());
      fs::remove(temporary, ec);
      return false;
    }
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    if (error) *error = fmt::format("{}: cannot rename into place: {}", path.string(), ec.message());
    fs::remove(temporary, ec);
    return false;
  }
  return true;
}

}  // namespace bm::report
