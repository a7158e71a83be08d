#include "common/format.hpp"

#include <cstdint>
#include <cmath>
#include <ctime>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace bm::common {

namespace {

// 2 decimals under 10, 1 under 1000, none above: three or four significant digits.
std::string three_digits(double value) {
  const double magnitude = std::fabs(value);
  if (magnitude < 9.995) return fmt::format("{:.2f}", value);
  if (magnitude < 999.95) return fmt::format("{:.1f}", value);
  return fmt::format("{:.0f}", value);
}

// Three significant digits in `unit`, or nothing if the value rounds to 1000 or more.
std::optional<std::string> three_digits(double value, std::string_view unit) {
  for (int decimals = 2; decimals >= 0; --decimals) {
    const double scale = std::pow(10.0, decimals);
    const double limit = std::pow(10.0, 3 - decimals);
    if (std::round(value * scale) / scale < limit) return fmt::format("{:.{}f} {}", value, decimals, unit);
  }
  return std::nullopt;
}

std::string with_sign(std::string text, double value) { return value > 0 ? "+" + text : text; }

std::tm utc(int64_t epoch_us) {
  const std::time_t seconds = static_cast<std::time_t>(epoch_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

}  // namespace

std::string format_latency(int64_t us) {
  if (us < 0) return "-" + format_latency(us == INT64_MIN ? INT64_MAX : -us);
  if (us < 1000) return fmt::format("{} µs", us);
  if (us < 999'500) {
    if (auto text = three_digits(static_cast<double>(us) / 1e3, "ms")) return *text;
  }
  if (auto text = three_digits(static_cast<double>(us) / 1e6, "s")) return *text;
  return fmt::format("{:.0f} s", static_cast<double>(us) / 1e6);
}

std::string format_signed_latency(int64_t us) { return (us > 0 ? "+" : "") + format_latency(us); }

std::string format_ms(int64_t us) { return three_digits(static_cast<double>(us) / 1000.0); }
std::string format_ms(double us) { return three_digits(us / 1000.0); }
std::string format_rate(double per_second) { return three_digits(per_second); }

std::string format_count(uint64_t count) {
  std::string digits = fmt::format("{}", count);
  if (digits.size() < 5) return digits;
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += "\u202F";
    out += digits[i];
  }
  return out;
}

std::string format_percent(std::optional<double> fraction) {
  if (!fraction) return kNoValue;
  return fmt::format("{:.2f} %", *fraction * 100.0);
}

// Cut (not rounded) to 3 decimals, so a score never reads as the next rating's
// threshold (0.9399 is "G", not "0.940"); the text report prints the same.
std::string format_apdex(std::optional<double> score) {
  if (!score) return kNoValue;
  return fmt::format("{:.3f}", std::floor(*score * 1000 + 1e-9) / 1000);
}

std::string format_epoch_us(int64_t epoch_us) {
  if (epoch_us == 0) return kNoValue;
  const std::tm tm = utc(epoch_us);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string format_clock_us(int64_t epoch_us) {
  if (epoch_us == 0) return kNoValue;
  const std::tm tm = utc(epoch_us);
  return fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string format_duration_s(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  const auto total = static_cast<int64_t>(std::llround(seconds));
  const int64_t hours = total / 3600;
  const int64_t minutes = total % 3600 / 60;
  const int64_t secs = total % 60;
  if (hours == 0) return fmt::format("{} min {:02} s", minutes, secs);
  return fmt::format("{} h {:02} min {:02} s", hours, minutes, secs);
}

std::string format_bytes(double bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (std::fabs(bytes) >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f} B", bytes);
  // Three significant digits: "9.77 KiB", "97.7 KiB", "977 KiB".
  const double magnitude = std::fabs(bytes);
  return fmt::format("{:.{}f} {}", bytes, magnitude < 10 ? 2 : magnitude < 100 ? 1 : 0, kUnits[unit]);
}

std::string format_byte_rate(double bytes_per_second) {
  return format_bytes(static_cast<double>(std::llround(bytes_per_second))) + "/s";
}

std::string format_per_item(double value) { return fmt::format("{:.1f}", value); }

std::string format_seconds(double seconds) { return fmt::format("{:g}", seconds); }

std::string format_signed_rate(double delta) { return with_sign(three_digits(delta), delta); }
std::string format_signed_ms(double delta_us) { return with_sign(format_ms(delta_us), delta_us); }

std::string format_signed_percent(std::optional<double> fraction) {
  if (!fraction) return kNoValue;
  const double percent = *fraction * 100.0;
  return with_sign(fmt::format("{:.1f} %", percent), percent);
}

}  // namespace bm::common
