#include "demo/routes.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "service/form.hpp"
#include "demo/pages.hpp"

namespace bm::demo {
namespace {

namespace http = boost::beast::http;
using service::Params;
using service::Target;
using service::parse_target;
using namespace std::chrono_literals;

constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kSessionCookie = "session";

std::string_view view(boost::core::string_view text) { return {text.data(), text.size()}; }

template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
  Number value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

struct Exchange {
  const Request& request;
  std::string_view tail;  // what follows a prefix route's path, e.g. "123" in /bytes/123
  std::string_view encoded_query;
  const Params& query;
  DemoState& state;
};

// ---- building replies ----

Response respond(const Request& request, http::status status, std::string_view content_type,
                 std::string body) {
  Response response{status, request.version()};
  response.set(http::field::server, kServerName);
  response.set(http::field::content_type, content_type);
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Reply text(const Exchange& x, http::status status, std::string body) {
  return Reply{respond(x.request, status, kText, std::move(body))};
}

Reply html(const Exchange& x, std::string body) {
  return Reply{respond(x.request, http::status::ok, kHtml, std::move(body))};
}

Reply json(const Exchange& x, const nlohmann::json& value) {
  return Reply{respond(x.request, http::status::ok, kJson,
                       value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))};
}

Reply bad_request(const Exchange& x, std::string_view why) {
  return text(x, http::status::bad_request, fmt::format("bad request: {}\n", why));
}

Reply redirect(const Exchange& x, http::status status, std::string location) {
  Reply reply = text(x, status, fmt::format("see {}\n", location));
  reply.response.set(http::field::location, location);
  return reply;
}

// A reply whose body the connection writes itself; `response` carries the header only.
Reply streamed(const Exchange& x, Delivery delivery) {
  Reply reply{respond(x.request, http::status::ok, kText, {})};
  reply.delivery = delivery;
  reply.response.keep_alive(false);
  return reply;
}

// ---- forms and cookies ----

// The fields of an urlencoded body; none for other bodies (multipart is not decoded).
Params form_of(const Request& request) {
  constexpr std::string_view kUrlencoded = "application/x-www-form-urlencoded";
  const std::string_view type = view(request[http::field::content_type]);
  if (!boost::beast::iequals(type.substr(0, kUrlencoded.size()), kUrlencoded)) return {};
  return Params::parse(request.body()).value_or(Params{});
}

std::optional<std::string> cookie(const Request& request, std::string_view name) {
  const auto [first, last] = request.equal_range(http::field::cookie);
  for (auto field = first; field != last; ++field) {
    std::string_view rest = view(field->value());
    while (!rest.empty()) {
      const std::size_t end = rest.find(';');
      std::string_view pair = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
      while (pair.starts_with(' ')) pair.remove_prefix(1);
      const std::size_t equals = pair.find('=');
      if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
        return std::string(pair.substr(equals + 1));
      }
    }
  }
  return std::nullopt;
}

std::optional<DemoState::Session> session_of(const Exchange& x) {
  const std::optional<std::string> id = cookie(x.request, kSessionCookie);
  return id ? x.state.session(*id) : std::nullopt;
}

// alice/secret, and userN/passN for N in 0..99999 written without leading zeros.
bool valid_credentials(std::string_view user, std::string_view password) {
  if (user == "alice") return password == "secret";
  if (!user.starts_with("user") || !password.starts_with("pass")) return false;
  const std::string_view digits = user.substr(4);
  const std::optional<int> n = parse_number<int>(digits);
  return n && *n >= 0 && *n <= 99'999 && std::to_string(*n) == digits &&
         password.substr(4) == digits;
}

// ---- endpoints ----

Reply home(const Exchange& x) { return html(x, home_page()); }

Reply static_asset(const Exchange& x) {
  const std::optional<StaticFile> file = static_file(x.tail);
  if (!file) return text(x, http::status::not_found, "not found\n");
  Reply reply{respond(x.request, http::status::ok, file->content_type, std::string(file->body))};
  reply.response.set(http::field::cache_control, "max-age=3600");
  return reply;
}

// n bytes of the pattern, with Content-Length, or as chunks with ?chunked=1 (not in 1.0).
Reply pattern_reply(const Exchange& x, std::uint64_t n) {
  Reply reply = streamed(x, Delivery::pattern_body);
  reply.response.keep_alive(x.request.keep_alive());
  reply.body_bytes = n;
  reply.chunked = x.query.get("chunked") == "1" && x.request.version() >= 11;
  if (reply.chunked) {
    reply.response.chunked(true);
  } else {
    reply.response.content_length(n);
  }
  return reply;
}

Reply bytes(const Exchange& x) {
  const std::optional<std::uint64_t> n = parse_number<std::uint64_t>(x.tail);
  if (!n || *n > kMaxBodyBytes) {
    return bad_request(x, fmt::format("/bytes/<n> takes n from 0 to {}", kMaxBodyBytes));
  }
  return pattern_reply(x, *n);
}

std::optional<std::chrono::milliseconds> parse_delay(std::string_view text) {
  const std::optional<std::int64_t> ms = parse_number<std::int64_t>(text);
  if (!ms || *ms < 0 || *ms > kMaxDelay.count()) return std::nullopt;
  return std::chrono::milliseconds(*ms);
}

Reply delay(const Exchange& x) {
  const std::optional<std::chrono::milliseconds> ms = parse_delay(x.tail);
  if (!ms) return bad_request(x, fmt::format("/delay/<ms> takes ms from 0 to {}", kMaxDelay.count()));
  Reply reply = text(x, http::status::ok, "ok");
  reply.delay = *ms;
  return reply;
}

// "5,10,20" -> {5ms, 10ms, 20ms}; nullopt if any item is not a delay.
std::optional<std::vector<std::chrono::milliseconds>> parse_delays(std::string_view text) {
  std::vector<std::chrono::milliseconds> delays;
  for (;;) {
    const std::size_t comma = text.find(',');
    const std::optional<std::chrono::milliseconds> ms = parse_delay(text.substr(0, comma));
    if (!ms || delays.size() == 10'000) return std::nullopt;
    delays.push_back(*ms);
    if (comma == std::string_view::npos) return delays;
    text.remove_prefix(comma + 1);
  }
}

Reply sequence_delay(const Exchange& x) {
  const std::string values = x.query.get("values").value_or("");
  const std::optional<std::vector<std::chrono::milliseconds>> delays = parse_delays(values);
  if (!delays) {
    return bad_request(x, fmt::format("values must be a comma-separated list of up to 10000 "
                                      "delays from 0 to {} ms",
                                      kMaxDelay.count()));
  }
  const std::uint64_t index = x.state.next_sequence_index(values);
  Reply reply = text(x, http::status::ok, "ok");
  reply.delay = (*delays)[index % delays->size()];
  reply.response.set("X-Sequence-Index", std::to_string(index));
  reply.response.set("X-Delay-Ms", std::to_string(reply.delay.count()));
  return reply;
}

Reply status(const Exchange& x) {
  const std::optional<unsigned> code = parse_number<unsigned>(x.tail);
  if (!code || *code < 200 || *code > 599) {
    return bad_request(x, "/status/<code> takes a code from 200 to 599");
  }
  const http::status known = http::int_to_status(*code);
  const bool no_body = *code == 204 || *code == 304;
  const std::string reason = known == http::status::unknown
                                 ? std::string("Unknown")
                                 : std::string(view(http::obsolete_reason(known)));
  Reply reply = text(x, http::status::ok, no_body ? "" : fmt::format("{} {}\n", *code, reason));
  reply.response.result(*code);
  reply.response.reason(reason);
  if (no_body) reply.response.erase(http::field::content_length);
  return reply;
}

Reply redirect_chain(const Exchange& x) {
  const std::optional<unsigned> hops = parse_number<unsigned>(x.tail);
  if (!hops || *hops > 1000) return bad_request(x, "/redirect/<n> takes n from 0 to 1000");
  const std::optional<std::string> code_text = x.query.get("code");
  const std::optional<unsigned> code = code_text ? parse_number<unsigned>(*code_text) : 302u;
  constexpr std::array kRedirectCodes{301u, 302u, 303u, 307u, 308u};
  if (!code || std::find(kRedirectCodes.begin(), kRedirectCodes.end(), *code) ==
                   kRedirectCodes.end()) {
    return bad_request(x, "code must be 301, 302, 303, 307 or 308");
  }
  const std::string last = x.query.get("to").value_or("/");
  const bool printable = std::all_of(last.begin(), last.end(), [](char c) { return c > ' ' && c < 127; });
  if (!last.starts_with('/') || last.starts_with("//") || !printable) {
    return bad_request(x, "to must be a path starting with a single '/', without spaces");
  }
  std::string location = last;
  if (*hops > 0) {
    location = fmt::format("/redirect/{}", *hops - 1);
    if (!x.encoded_query.empty()) location += fmt::format("?{}", x.encoded_query);
  }
  return redirect(x, http::int_to_status(*code), std::move(location));
}

Reply login_form(const Exchange& x) { return html(x, login_page(x.state.random_token())); }

Reply login(const Exchange& x) {
  const Params form = form_of(x.request);
  const std::string user = form.get("user").value_or("");
  if (!valid_credentials(user, form.get("password").value_or(""))) {
    return html(x, login_page(x.state.random_token(), "Invalid credentials"));
  }
  Reply reply = redirect(x, http::status::see_other, "/account");
  reply.response.set(http::field::set_cookie,
                     fmt::format("{}={}; Path=/; HttpOnly", kSessionCookie,
                                 x.state.open_session(user)));
  return reply;
}

Reply account(const Exchange& x) {
  const std::optional<DemoState::Session> session = session_of(x);
  if (!session) return redirect(x, http::status::found, "/login");
  return html(x, account_page(session->user));
}

Reply add_to_cart(const Exchange& x) {
  const std::optional<std::string> id = cookie(x.request, kSessionCookie);
  if (!id || !x.state.session(*id)) {
    return text(x, http::status::unauthorized, "log in first: POST /login\n");
  }
  const Params form = form_of(x.request);
  const std::string item = form.get("item").value_or("");
  const std::optional<int> quantity = parse_number<int>(form.get("qty").value_or("1"));
  if (item.empty() || item.size() > 200) return bad_request(x, "item must be 1 to 200 characters");
  if (!quantity || *quantity < 1 || *quantity > 1000) {
    return bad_request(x, "qty must be from 1 to 1000");
  }
  const std::optional<int> count = x.state.add_to_cart(*id, *quantity);
  if (!count) return text(x, http::status::unauthorized, "log in first: POST /login\n");
  return html(x, cart_page(item, *quantity, *count));
}

Reply feedback_form(const Exchange& x) { return html(x, feedback_form_page()); }

Reply feedback(const Exchange& x) {
  const std::optional<std::string> name = form_of(x.request).get("name");
  if (!name) return bad_request(x, "the form needs a 'name' field");
  return html(x, feedback_page(*name));
}

Reply search(const Exchange& x) { return html(x, search_page(x.query.get("q").value_or(""))); }

Reply logout(const Exchange& x) {
  if (const std::optional<std::string> id = cookie(x.request, kSessionCookie)) {
    x.state.close_session(*id);
  }
  Reply reply = redirect(x, http::status::found, "/");
  reply.response.set(http::field::set_cookie,
                     fmt::format("{}=; Max-Age=0; Path=/; HttpOnly", kSessionCookie));
  return reply;
}

Reply echo(const Exchange& x) {
  nlohmann::json headers = nlohmann::json::array();
  for (const auto& field : x.request) {
    headers.push_back(nlohmann::json::array(
        {std::string(view(field.name_string())), std::string(view(field.value()))}));
  }
  return json(x, {{"method", std::string(view(x.request.method_string()))},
                  {"target", std::string(view(x.request.target()))},
                  {"version", fmt::format("HTTP/{}.{}", x.request.version() / 10,
                                          x.request.version() % 10)},
                  {"headers", std::move(headers)},
                  {"body", x.request.body()},
                  {"body_size", x.request.body().size()}});
}

Reply counter(const Exchange& x) {
  const DemoState::Counts counts = x.state.counts();
  Reply reply = json(x, {{"requests", counts.total}, {"by_path", counts.by_path}});
  reply.counted = false;
  return reply;
}

Reply sessions(const Exchange& x) {
  const DemoState::SessionLog log = x.state.session_log();
  nlohmann::json accounts = nlohmann::json::object();
  for (const auto& [user, account] : log.accounts) {
    accounts[user] = {{"sessions", account.sessions}, {"open", account.open}, {"max_open", account.max_open}};
  }
  Reply reply = json(x, {{"accounts", std::move(accounts)}, {"overlaps", log.overlaps}});
  reply.counted = false;
  return reply;
}

// POST /switch?fail=1|0: the target fails every request (503) until switched back.
// POST /switch?stall=MS: it answers nothing but control requests for MS milliseconds.
Reply fault_switch(const Exchange& x) {
  const std::optional<std::string> fail = x.query.get("fail");
  const std::optional<std::string> stall = x.query.get("stall");
  std::optional<std::chrono::milliseconds> stall_ms;
  if (stall) {
    stall_ms = parse_delay(*stall);
    if (!stall_ms) return bad_request(x, fmt::format("stall takes ms from 0 to {}", kMaxDelay.count()));
  }
  if (fail) {
    if (*fail != "0" && *fail != "1") return bad_request(x, "fail must be 0 or 1");
    x.state.set_failing(*fail == "1");
  }
  if (stall_ms) x.state.stall_for(*stall_ms);
  Reply reply = json(x, {{"fail", x.state.failing()},
                         {"stall_ms", std::chrono::duration_cast<std::chrono::milliseconds>(x.state.stall_left()).count()}});
  reply.counted = false;
  return reply;
}

Reply reset_counter(const Exchange& x) {
  x.state.reset();
  return counter(x);
}

// ---- hostile endpoints ----

Reply close_mid(const Exchange& x) {
  Reply reply = streamed(x, Delivery::close_mid_body);
  reply.response.content_length(1000);
  return reply;
}

Reply reset_mid(const Exchange& x) {
  Reply reply = streamed(x, Delivery::reset_mid_body);
  reply.response.content_length(1000);
  return reply;
}

Reply half_close(const Exchange& x) { return streamed(x, Delivery::half_close); }

Reply garbage(const Exchange& x) { return streamed(x, Delivery::garbage); }

Reply endless(const Exchange& x) {
  Reply reply = streamed(x, Delivery::endless_chunks);
  reply.response.chunked(true);
  return reply;
}

Reply huge_headers(const Exchange& x) {
  Reply reply = text(x, http::status::ok, "ok");
  if (const auto line = x.query.get("line")) {
    // One header line of that many bytes.
    const std::optional<std::uint64_t> n = parse_number<std::uint64_t>(*line);
    if (!n || *n > kMaxHeaderLineBytes) {
      return bad_request(x, fmt::format("line must be from 0 to {}", kMaxHeaderLineBytes));
    }
    // Written by the connection (Beast's fields hold values up to 64 KiB).
    reply.delivery = Delivery::long_header_line;
    reply.body_bytes = *n;
  } else {
    const std::string filler(1000, 'x');
    for (int i = 0; i < 1050; ++i) reply.response.insert(fmt::format("X-Filler-{:04}", i), filler);
  }
  reply.response.keep_alive(false);
  return reply;
}

// Like /bytes/<n>, for sizes past its limit: streamed from the shared block, so a body of
// any size costs the server no memory.
Reply huge_body(const Exchange& x) {
  const std::optional<std::uint64_t> n = parse_number<std::uint64_t>(x.query.get("bytes").value_or("1073741824"));
  if (!n || *n > kMaxHugeBodyBytes) return bad_request(x, fmt::format("bytes must be from 0 to {}", kMaxHugeBodyBytes));
  return pattern_reply(x, *n);
}

Reply no_response(const Exchange& x) { return streamed(x, Delivery::no_response); }

Reply slow_body(const Exchange& x) {
  const std::optional<std::chrono::milliseconds> every =
      parse_delay(x.query.get("ms").value_or("100"));
  const std::optional<std::uint64_t> size =
      parse_number<std::uint64_t>(x.query.get("bytes").value_or("20"));
  if (!every || every->count() > 60'000) return bad_request(x, "ms must be from 0 to 60000");
  if (!size || *size < 1 || *size > 100'000) return bad_request(x, "bytes must be from 1 to 100000");
  Reply reply = streamed(x, Delivery::slow_body);
  reply.response.content_length(*size);
  reply.body_bytes = *size;
  reply.drip_every = *every;
  return reply;
}

// ---- the table ----

enum Methods : unsigned { kGet = 1, kPost = 2, kOther = 4, kAny = kGet | kPost | kOther };

unsigned method_bit(http::verb verb) {
  switch (verb) {
    case http::verb::get:
    case http::verb::head: return kGet;
    case http::verb::post: return kPost;
    default: return kOther;
  }
}

std::string allow_header(unsigned methods) {
  std::string allow = (methods & kGet) ? "GET, HEAD" : "";
  if (methods & kPost) allow += allow.empty() ? "POST" : ", POST";
  return allow;
}

struct Route {
  std::string_view path;
  bool prefix;  // path is a prefix; the rest of the request path becomes Exchange::tail
  unsigned methods;
  Reply (*handle)(const Exchange&);
};

constexpr std::array kRoutes{
    Route{"/", false, kGet, home},
    Route{"/static/", true, kGet, static_asset},
    Route{"/bytes/", true, kGet, bytes},
    Route{"/delay/", true, kGet, delay},
    Route{"/seq-delay", false, kGet, sequence_delay},
    Route{"/status/", true, kAny, status},
    Route{"/redirect/", true, kAny, redirect_chain},
    Route{"/login", false, kGet, login_form},
    Route{"/login", false, kPost, login},
    Route{"/account", false, kGet, account},
    Route{"/cart/add", false, kPost, add_to_cart},
    Route{"/feedback", false, kGet, feedback_form},
    Route{"/feedback", false, kPost, feedback},
    Route{"/search", false, kGet, search},
    Route{"/logout", false, kGet | kPost, logout},
    Route{"/echo", false, kAny, echo},
    Route{"/counter", false, kGet, counter},
    Route{"/counter/reset", false, kPost, reset_counter},
    Route{"/switch", false, kPost, fault_switch},
    Route{"/sessions", false, kGet, sessions},
    Route{"/hostile/close-mid", false, kAny, close_mid},
    Route{"/hostile/garbage", false, kAny, garbage},
    Route{"/hostile/half-close", false, kAny, half_close},
    Route{"/hostile/reset-mid", false, kAny, reset_mid},
    Route{"/hostile/endless", false, kAny, endless},
    Route{"/hostile/huge-headers", false, kAny, huge_headers},
    Route{"/hostile/huge-body", false, kAny, huge_body},
    Route{"/hostile/no-response", false, kAny, no_response},
    Route{"/hostile/slow-body", false, kAny, slow_body},
};

// HEAD gets GET's header with the body left out.
void strip_body_for_head(const Request& request, Reply& reply) {
  if (request.method() != http::verb::head) return;
  if (reply.delivery == Delivery::pattern_body) {
    reply.delivery = Delivery::normal;
    if (reply.chunked) reply.response.chunked(false);
    reply.response.content_length(reply.body_bytes);
  } else if (reply.delivery == Delivery::normal && !reply.response.body().empty()) {
    const std::size_t length = reply.response.body().size();
    reply.response.body().clear();
    reply.response.content_length(length);
  }
}

}  // namespace

bool is_control_path(std::string_view path) {
  return path == "/counter" || path == "/counter/reset" || path == "/switch" || path == "/sessions";
}

std::string counted_path(const Request& request) {
  const std::string_view target = view(request.target());
  return std::string(target.substr(0, target.find('?')));
}

Reply route(const Request& request, DemoState& state) {
  const std::optional<Target> target = parse_target(view(request.target()));
  if (!target) {
    const Params no_params;
    return bad_request(Exchange{request, {}, {}, no_params, state},
                       "the target is not a valid /path?query");
  }
  const std::string& path = target->path;
  const Exchange base{request, {}, target->encoded_query, target->query, state};
  if (state.failing() && !is_control_path(path)) {
    return text(base, http::status::service_unavailable, "failing: switched by POST /switch?fail=1\n");
  }

  unsigned allowed = 0;  // methods of the routes that match the path
  for (const Route& candidate : kRoutes) {
    const bool matches = candidate.prefix ? path.starts_with(candidate.path) && path.size() > candidate.path.size()
                                          : path == candidate.path;
    if (!matches) continue;
    allowed |= candidate.methods;
    if (!(candidate.methods & method_bit(request.method()))) continue;
    Exchange x = base;
    x.tail = std::string_view(path).substr(candidate.prefix ? candidate.path.size() : path.size());
    Reply reply = candidate.handle(x);
    strip_body_for_head(request, reply);
    return reply;
  }
  if (allowed != 0) {
    Reply reply = text(base, http::status::method_not_allowed, "method not allowed\n");
    reply.response.set(http::field::allow, allow_header(allowed));
    return reply;
  }
  return text(base, http::status::not_found, "not found\n");
}

}  // namespace bm::demo
