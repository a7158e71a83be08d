// Where the report builders plug into the master: one call site, build_reports().

#include <fstream>

#include <fmt/format.h>

#include "master/master.hpp"
#include "report/html_report.hpp"
#include "report/text_report.hpp"
#include "stats/results.hpp"

namespace bm::master {

namespace fs = std::filesystem;

fs::path build_reports(const fs::path& run_dir, std::string* error) {
  stats::Results results;
  if (!stats::read_results(run_dir / "results.json", results, error)) return {};
  const fs::path text = run_dir / "report.txt";
  {
    std::ofstream file(text, std::ios::binary | std::ios::trunc);
    report::render_text_report(results, file, report::TextOptions{});
    if (!file.flush()) {
      *error = fmt::format("cannot write {}", text.string());
      return {};
    }
  }
  fs::path html;
  if (!report::build_html_report(results, run_dir, error, &html)) return {};
  return html;
}

}  // namespace bm::master
