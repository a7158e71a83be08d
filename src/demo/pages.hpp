// The demo shop's content: HTML pages, static files, and the byte pattern of /bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bm::demo {

struct StaticFile {
  std::string_view content_type;
  std::string_view body;
};

// /static/<name>: style.css, app.js, logo.png, item-1.png .. item-3.png.
std::optional<StaticFile> static_file(std::string_view name);

std::string html_escape(std::string_view text);

std::string home_page();
// The login form; `message` (already HTML) is shown above it, e.g. "Invalid credentials".
std::string login_page(std::string_view token, std::string_view message = {});
std::string account_page(std::string_view user);
std::string search_page(std::string_view query);
std::string cart_page(std::string_view item, int quantity, int cart_count);
std::string feedback_form_page();
std::string feedback_page(std::string_view name);

// /bytes/<n> bodies repeat this 64-byte line; byte i of a body is kBytePattern[i % 64].
inline constexpr std::string_view kBytePattern =
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";
// 64 KiB of the pattern, the unit bodies are written in.
std::string_view pattern_block();

}  // namespace bm::demo
