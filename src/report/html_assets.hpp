#pragma once
// Files embedded at build time (src/report/CMakeLists.txt): uPlot from npm and the
// report's own stylesheet and script (src/report/assets/).

#include <string_view>

namespace bm::report::assets {

std::string_view uplot_js() noexcept;
std::string_view uplot_css() noexcept;
std::string_view report_css() noexcept;
std::string_view report_js() noexcept;

}  // namespace bm::report::assets
