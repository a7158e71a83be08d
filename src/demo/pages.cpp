#include "demo/pages.hpp"

#include <array>

#include <fmt/format.h>

namespace bm::demo {
namespace {

// Solid-colour PNG images (32x16 logo, 16x16 items): small, valid, and all different.
constexpr char kLogoPng[] =
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x20\x00\x00"
    "\x00\x10\x08\x02\x00\x00\x00\xf8\x62\xea\x0e\x00\x00\x00\x1d\x49\x44\x41\x54\x78\xda\x63"
    "\xd0\xce\xd9\x40\x53\xc4\x30\x6a\xc1\xa8\x05\xa3\x16\x8c\x5a\x30\x6a\xc1\x50\xb0\x00\x00"
    "\xe0\x23\x8e\x1f\x01\x18\x96\x7f\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
constexpr char kItem1Png[] =
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x10\x00\x00"
    "\x00\x10\x08\x02\x00\x00\x00\x90\x91\x68\x36\x00\x00\x00\x16\x49\x44\x41\x54\x78\xda\x63"
    "\xb8\xe9\x61\x4d\x12\x62\x18\xd5\x30\xaa\x61\xf8\x6a\x00\x00\xa0\x4b\x5c\x10\x2f\x74\x6d"
    "\xc5\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
constexpr char kItem2Png[] =
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x10\x00\x00"
    "\x00\x10\x08\x02\x00\x00\x00\x90\x91\x68\x36\x00\x00\x00\x16\x49\x44\x41\x54\x78\xda\x63"
    "\xb0\x5e\x1a\x43\x12\x62\x18\xd5\x30\xaa\x61\xf8\x6a\x00\x00\xde\x5d\x3c\x10\x1d\x7f\x37"
    "\x85\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
constexpr char kItem3Png[] =
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x10\x00\x00"
    "\x00\x10\x08\x02\x00\x00\x00\x90\x91\x68\x36\x00\x00\x00\x16\x49\x44\x41\x54\x78\xda\x63"
    "\xf8\xb4\xd1\x84\x24\xc4\x30\xaa\x61\x54\xc3\xf0\xd5\x00\x00\x23\x5e\xd7\x10\x8b\x1d\x31"
    "\xe5\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

template <std::size_t N>
constexpr std::string_view bytes(const char (&literal)[N]) {
  return {literal, N - 1};  // without the terminating NUL; the PNGs contain NULs
}

constexpr std::string_view kStyleCss = R"(body { font-family: sans-serif; margin: 2em; color: #222; }
header { display: flex; align-items: center; gap: 1em; }
.items { display: flex; gap: 2em; list-style: none; padding: 0; }
.items img { width: 64px; height: 64px; image-rendering: pixelated; }
.error { color: #b00; }
)";

constexpr std::string_view kAppJs = R"(// Demo shop: marks the page as scripted, nothing more.
document.addEventListener("DOMContentLoaded", function () {
  document.body.setAttribute("data-ready", "1");
});
)";

struct NamedFile {
  std::string_view name;
  StaticFile file;
};

constexpr std::array kStaticFiles{
    NamedFile{"style.css", {"text/css; charset=utf-8", kStyleCss}},
    NamedFile{"app.js", {"text/javascript; charset=utf-8", kAppJs}},
    NamedFile{"logo.png", {"image/png", bytes(kLogoPng)}},
    NamedFile{"item-1.png", {"image/png", bytes(kItem1Png)}},
    NamedFile{"item-2.png", {"image/png", bytes(kItem2Png)}},
    NamedFile{"item-3.png", {"image/png", bytes(kItem3Png)}},
};

std::string page(std::string_view title, std::string_view body) {
  return fmt::format(R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{} - Demo shop</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js"></script>
</head>
<body>
<header><a href="/"><img src="/static/logo.png" alt="Demo shop"></a><h1>{}</h1></header>
{}
</body>
</html>
)",
                     title, title, body);
}

}  // namespace

std::optional<StaticFile> static_file(std::string_view name) {
  for (const NamedFile& entry : kStaticFiles) {
    if (entry.name == name) return entry.file;
  }
  return std::nullopt;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string home_page() {
  return page("Demo shop", R"(<p><a href="/login">Log in</a> to fill a cart.</p>
<form action="/search" method="get"><input name="q"><button>Search</button></form>
<ul class="items">
<li><img src="/static/item-1.png" alt="Tea"> Tea</li>
<li><img src="/static/item-2.png" alt="Coffee"> Coffee</li>
<li><img src="/static/item-3.png" alt="Cake"> Cake</li>
</ul>
<p><a href="/feedback">Feedback</a> is welcome.</p>)");
}

std::string login_page(std::string_view token, std::string_view message) {
  const std::string notice =
      message.empty() ? std::string() : fmt::format("<p class=\"error\">{}</p>\n", message);
  return page("Log in", fmt::format(R"({}<form action="/login" method="post">
<input type="hidden" name="token" value="{}">
<label>User <input name="user"></label>
<label>Password <input name="password" type="password"></label>
<button>Log in</button>
</form>)",
                                     notice, html_escape(token)));
}

std::string account_page(std::string_view user) {
  return page("Account", fmt::format(R"(<p>Welcome {}</p>
<form action="/cart/add" method="post"><input name="item" value="Tea"><input name="qty" value="1"><button>Add</button></form>
<p><a href="/logout">Log out</a></p>)",
                                      html_escape(user)));
}

std::string search_page(std::string_view query) {
  const std::string q = html_escape(query);
  return page("Search", fmt::format(R"(<p>Results for {}</p>
<ol>
<li><a href="/search?q=tea">Tea</a> matches {}</li>
<li><a href="/search?q=coffee">Coffee</a> matches {}</li>
</ol>)",
                                     q, q, q));
}

std::string cart_page(std::string_view item, int quantity, int cart_count) {
  return page("Cart", fmt::format("<p>Added {} x {}</p>\n<p>Cart: {} items</p>", quantity,
                                  html_escape(item), cart_count));
}

std::string feedback_form_page() {
  return page("Feedback", R"(<form action="/feedback" method="post">
<label>Name <input name="name"></label>
<label>Text <textarea name="text"></textarea></label>
<button>Send</button>
</form>)");
}

std::string feedback_page(std::string_view name) {
  return page("Feedback", fmt::format("<p>Thanks {}</p>", html_escape(name)));
}

std::string_view pattern_block() {
  static const std::string block = [] {
    std::string text;
    text.reserve(64 * 1024);
    while (text.size() < 64 * 1024) text += kBytePattern;
    return text;
  }();
  return block;
}

}  // namespace bm::demo
