#pragma once
// How numbers and times read wherever the tool prints them: the HTML, text, diff and
// trend reports, bench-test's trace and bench-master's live line. One rule per kind of
// value, fixed so that a reader, or a test, can recompute any figure.

#include <cstdint>
#include <optional>
#include <string>

namespace bm::common {

// Cycles as people count them: the first is cycle 1 ("Cycle #1", "C1") in every report,
// console line and message. Results files (cycles[].index) and the Lua API (vu.cycle)
// count from 0.
inline int cycle_number(int index) { return index + 1; }


inline constexpr const char* kNoValue = "–";  // en dash: no data for this cell

// A duration with its unit, for prose and text tables: whole µs below 1 ms, then three
// significant digits in ms or s ("850 µs", "1.23 ms", "45.6 ms", "2.35 s").
std::string format_latency(int64_t us);
// The same with a sign for changes: "+1.50 ms", "-850 µs", "0 µs".
std::string format_signed_latency(int64_t us);
// Milliseconds from microseconds, for columns headed "ms": 2 decimals under 10 ms, 1 under 1000 ms, else none.
std::string format_ms(int64_t us);
std::string format_ms(double us);
// Rates per second: 2 decimals under 10, 1 under 1000, else none.
std::string format_rate(double per_second);
// Counts with a narrow no-break space (U+202F) between groups of three from 10 000 up.
std::string format_count(uint64_t count);
// A fraction as a percentage with 2 decimals ("99.52 %"); kNoValue when unset.
std::string format_percent(std::optional<double> fraction);
// Apdex score cut to 3 decimals; kNoValue when unset.
std::string format_apdex(std::optional<double> score);
// "2026-11-27 21:07:03 UTC"; kNoValue for 0.
std::string format_epoch_us(int64_t epoch_us);
// "HH:MM:SS" UTC of an epoch time; kNoValue for 0.
std::string format_clock_us(int64_t epoch_us);
// "45.2 s", "12 min 05 s", "2 h 03 min 10 s".
std::string format_duration_s(double seconds);
// "512 B", "1.50 KiB", "12.3 MiB", "102 GiB": three significant digits.
std::string format_bytes(double bytes);
// Bytes per second, rounded to whole bytes first as the text report's Traffic table
// does, then as format_bytes: "512 B/s", "1.50 MiB/s".
std::string format_byte_rate(double bytes_per_second);
// Items per item with 1 decimal, e.g. pages per successful test: "3.0"; the text
// report's Pages/test and Req/test.
std::string format_per_item(double value);
// Seconds as the conf writes them: "0.5", "60", "1.25".
std::string format_seconds(double seconds);
// A signed change: "+12.3", "-4.05" (rate rules), "+1.25 ms"-style via the caller.
std::string format_signed_rate(double delta);
std::string format_signed_ms(double delta_us);
// A signed percentage with 1 decimal: "+12.3 %", "-0.4 %"; kNoValue when unset.
std::string format_signed_percent(std::optional<double> fraction);

}  // namespace bm::common
