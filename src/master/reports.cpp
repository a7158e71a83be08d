// Where the report builders plug into the master: one call site, build_reports().

#include <fstream>

#include <fmt/format.h>

#include "master/master.hpp"
#include "stats/results.hpp"

#if __has_include("report/text_report.hpp")
#include "report/text_report.hpp"
#define BM_MASTER_TEXT_REPORT 1
#endif
#if __has_include("report/html_report.hpp")
#include "report/html_report.hpp"
#define BM_MASTER_HTML_REPORT 1
#endif

namespace bm::master {

namespace fs = std::filesystem;

fs::path build_reports(const fs::path& run_dir, std::string* error) {
  stats::Results results;
  if (!stats::read_results(run_dir / "results.json", results, error)) return {};
  fs::path shown;
#ifdef BM_MASTER_TEXT_REPORT
  {
    const fs::path text = run_dir / "report.txt";
    std::ofstream file(text, std::ios::binary | std::ios::trunc);
    report::render_text_report(results, file, report::TextOptions{});
    if (!file.flush()) {
      *error = fmt::format("cannot write {}", text.string());
      return {};
    }
    shown = text;
  }
#endif
#ifdef BM_MASTER_HTML_REPORT
  fs::path html;
  if (!report::build_html_report(results, run_dir, error, &html)) return {};
  shown = html;
#endif
  if (shown.empty()) shown = run_dir / "results.json";
  return shown;
}

}  // namespace bm::master
