#pragma once
// FunkLoad's example conf, as shipped with the original system: the conf tests read it.
#include <string_view>

namespace bm::conf::testing {

constexpr std::string_view kSimpleConf = R"([main]
title=Simple
description=Front page, search, feedback form
url=http://127.0.0.1:8080

[test_simple]
description=One visit of the front page, a search and the feedback form

[monitor]
hosts=web1

[web1]
description=The web server
port=8008

[credential]
host=localhost
port=8007

[ftest]
log_to = console file
log_path = simple-test.log
result_path = simple-test.xml
sleep_time_min = 0
sleep_time_max = 0

[bench]
cycles = 10:20:30
duration = 60
startup_delay = 0.05
sleep_time = 0.5
cycle_time = 5
log_to = file
log_path = simple-bench.log
result_path = simple-bench.xml
sleep_time_min = 0.2
sleep_time_max = 1.0
)";

}  // namespace bm::conf::testing
