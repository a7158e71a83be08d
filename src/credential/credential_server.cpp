#include "credential/credential_server.hpp"

#include <unistd.h>

#include <chrono>
#include <deque>
#include <map>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "credential/credential_store.hpp"
#include "service/form.hpp"
#include "service/http_service.hpp"

namespace bm::credential {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kExpiryTick = 100ms;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

service::Response json_answer(const service::Request& request, int status, const nlohmann::json& body) {
  return service::make_response(request, status, "application/json", body.dump() + "\n");
}

service::Response error_answer(const service::Request& request, int status, const std::string& message) {
  return json_answer(request, status, {{"error", message}});
}

// A number of seconds in [low, high] from the query, or `fallback` when absent.
std::optional<double> seconds_param(const service::Params& query, std::string_view name, double fallback, double low,
                                    double high, std::string* error) {
  const std::optional<std::string> text = query.get(name);
  if (!text) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (text->empty() || end != text->c_str() + text->size() || !(value >= low && value <= high)) {
    *error = fmt::format("{}: '{}' is not a number of seconds from {} to {}", name, *text, low, high);
    return std::nullopt;
  }
  return value;
}

}  // namespace

struct CredentialServer::Impl {
  CredentialServerOptions options;
  std::size_t logins = 0, group_count = 0;  // before `store`, which takes the book
  CredentialStore store;
  std::unique_ptr<service::HttpService> http;

  struct Waiter {
    explicit Waiter(asio::io_context& io) : timer(io) {}
    std::string group;
    int64_t ttl_ms = 0;
    bool gone = false;  // its wait ended without a lease
    std::optional<CredentialStore::Lease> granted;
    asio::steady_timer timer;
  };
  std::map<std::string, std::deque<std::shared_ptr<Waiter>>, std::less<>> waiting;

  Impl(const CredentialServerOptions& o, CredentialBook book)
      : options(o), logins(book.credentials.size()), group_count(book.groups.size() - 1),
        store(std::move(book), o.loop_on_first) {}

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }

  // Hands freed credentials to the clients waiting longest, group by group.
  void serve_waiters() {
    const int64_t now = now_ms();
    for (auto& [group, queue] : waiting) {
      while (!queue.empty()) {
        std::shared_ptr<Waiter>& first = queue.front();
        if (first->gone) {
          queue.pop_front();
          continue;
        }
        std::optional<CredentialStore::Lease> lease = store.lease(group, now, first->ttl_ms);
        if (!lease) break;
        first->granted = std::move(lease);
        first->timer.cancel();
        queue.pop_front();
      }
    }
    std::erase_if(waiting, [](const auto& entry) { return entry.second.empty(); });
  }

  asio::awaitable<void> expiry_loop() {
    asio::steady_timer timer(http->io());
    for (;;) {
      timer.expires_after(kExpiryTick);
      auto [error] = co_await timer.async_wait(kNoThrow);
      if (error) co_return;
      if (const std::size_t ended = store.expire(now_ms()); ended > 0) {
        log(fmt::format("{} lease{} expired", ended, ended == 1 ? "" : "s"));
        serve_waiters();
      }
    }
  }

  nlohmann::json lease_json(const CredentialStore::Lease& lease, const std::string& group) const {
    return {{"login", lease.credential.login},
            {"password", lease.credential.password},
            {"lease", lease.id},
            {"group", group},
            {"ttl_s", static_cast<double>(lease.expires_ms - now_ms()) / 1000.0}};
  }

  std::string unknown_group(const std::string& group) const {
    return fmt::format("no group '{}' (groups: {})", group, store.group_list());
  }

  asio::awaitable<service::Response> lease(const service::Request& request, const service::Params& query,
                                           service::ClientWatch& watch) {
    const std::string group = query.get("group").value_or("");
    if (!store.has_group(group)) co_return error_answer(request, 404, unknown_group(group));
    std::string problem;
    const std::optional<double> wait = seconds_param(query, "wait", 0, 0, options.max_wait_s, &problem);
    const std::optional<double> ttl =
        wait ? seconds_param(query, "ttl", options.lease_s, 0.1, options.max_lease_s, &problem) : std::nullopt;
    if (!wait || !ttl) co_return error_answer(request, 400, problem);
    const int64_t ttl_ms = static_cast<int64_t>(*ttl * 1000);
    // Clients already waiting for this group come first.
    const bool others_waiting = waiting.contains(group);
    if (!others_waiting) {
      if (std::optional<CredentialStore::Lease> lease = store.lease(group, now_ms(), ttl_ms)) {
        co_return json_answer(request, 200, lease_json(*lease, group));
      }
    }
    if (*wait > 0) {
      auto waiter = std::make_shared<Waiter>(http->io());
      waiter->group = group;
      waiter->ttl_ms = ttl_ms;
      waiting[group].push_back(waiter);
      if (others_waiting) serve_waiters();
      if (!waiter->granted && !watch.gone) {
        // A client that hangs up stops waiting at once: no login is handed to no one.
        watch.on_gone = [waiter] {
          waiter->gone = true;
          waiter->timer.cancel();
        };
        waiter->timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(*wait)));
        co_await waiter->timer.async_wait(kNoThrow);
        watch.on_gone = nullptr;
      }
      if (waiter->granted && watch.hung_up()) {
        // Granted as its client left: back to the next one waiting.
        store.release(waiter->granted->id);
        serve_waiters();
        waiter->granted.reset();
      }
      if (waiter->granted) co_return json_answer(request, 200, lease_json(*waiter->granted, group));
      waiter->gone = true;
    }
    std::size_t members = 0, held = 0;
    for (const auto& status : store.status()) {
      if (status.name == group) members = status.members, held = status.held;
    }
    co_return error_answer(request, 503,
                           fmt::format("no free credential in group '{}' after {} s ({} of {} held)",
                                       group.empty() ? "(all)" : group, *wait, held, members));
  }

  service::Response release(const service::Request& request, const service::Params& query) {
    const std::optional<std::string> ids = query.get("lease");
    if (!ids || ids->empty()) return error_answer(request, 400, "lease: the id(s) to release, comma-separated");
    std::size_t released = 0, unknown = 0;
    std::string_view rest = *ids;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view id = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (id.empty()) continue;
      (store.release(id) ? released : unknown) += 1;
    }
    if (released > 0) serve_waiters();
    return json_answer(request, 200, {{"released", released}, {"unknown", unknown}});
  }

  nlohmann::json status_json() const {
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : store.status()) {
      const auto queue = waiting.find(g.name);
      std::size_t waiters = 0;
      if (queue != waiting.end()) {
        for (const auto& waiter : queue->second) waiters += waiter->gone ? 0 : 1;
      }
      groups.push_back({{"group", g.name},
                        {"members", g.members},
                        {"held", g.held},
                        {"waiting", waiters},
                        {"handed_out", g.handed_out},
                        {"leases", g.leases},
                        {"expired", g.expired}});
    }
    return {{"status", "running"}, {"pid", ::getpid()}, {"logins", logins}, {"held", store.held()},
            {"groups", std::move(groups)}};
  }

  asio::awaitable<service::Response> answer(const service::Request& request, service::ClientWatch& watch) {
    const std::string_view raw(request.target().data(), request.target().size());
    const std::optional<service::Target> target = service::parse_target(raw);
    if (!target) co_return error_answer(request, 400, "the target is not a valid /path?query");
    const std::string& path = target->path;
    const bool get = request.method() == http::verb::get || request.method() == http::verb::head;
    const bool post = request.method() == http::verb::post;
    const bool changes = path == "/lease" || path == "/release";
    if (changes ? !post : !get) {
      service::Response response = error_answer(request, 405, changes ? "POST only" : "GET only");
      response.set(http::field::allow, changes ? "POST" : "GET, HEAD");
      co_return response;
    }
    const service::Params& query = target->query;
    if (path == "/lease") co_return co_await lease(request, query, watch);
    if (path == "/release") co_return release(request, query);
    if (path == "/credential" || path == "/credentials") {
      const std::string group = query.get("group").value_or("");
      if (!store.has_group(group)) co_return error_answer(request, 404, unknown_group(group));
      if (path == "/credential") {
        const Credential c = *store.next(group);
        co_return json_answer(request, 200, {{"login", c.login}, {"password", c.password}});
      }
      nlohmann::json list = nlohmann::json::array();
      const std::vector<Credential> members = *store.list(group);
      for (const Credential& c : members) list.push_back({{"login", c.login}, {"password", c.password}});
      co_return json_answer(request, 200, {{"group", group}, {"credentials", std::move(list)}});
    }
    if (path == "/groups") co_return json_answer(request, 200, {{"groups", store.groups()}});
    if (path == "/seq") co_return json_answer(request, 200, {{"seq", store.next_sequence()}});
    if (path == "/status") co_return json_answer(request, 200, status_json());
    if (path == "/") {
      co_return service::make_response(
          request, 200, "text/plain",
          "bench-credential: GET /credential?group=G, /credentials?group=G, /groups, /seq, /status; "
          "POST /lease?group=G&wait=S&ttl=S, /release?lease=ID\n");
    }
    co_return error_answer(request, 404, "not found");
  }
};

CredentialServer::CredentialServer() = default;
CredentialServer::~CredentialServer() { stop(); }

std::unique_ptr<CredentialServer> CredentialServer::create(const CredentialServerOptions& options,
                                                           std::string* error) {
  if (options.credentials_file.empty()) {
    *error = "no credentials file ([server] credentials_path)";
    return nullptr;
  }
  std::optional<CredentialBook> book = read_credential_files(options.credentials_file, options.groups_file, error);
  if (!book) return nullptr;
  std::unique_ptr<CredentialServer> server(new CredentialServer());
  server->impl_ = std::make_unique<Impl>(options, std::move(*book));
  Impl& impl = *server->impl_;
  service::HttpServiceOptions http;
  http.host = options.host;
  http.port = options.port;
  http.server_name = "bench-credential";
  http.body_limit = 4096;  // parameters travel in the query; a small form body is tolerated and ignored
  http.max_connections = 4096;  // every virtual user of a node may be waiting for a lease
  http.idle_timeout = 120s;
  impl.http = service::HttpService::create(
      http, [&impl](const service::Request& request, service::ClientWatch& watch) { return impl.answer(request, watch); },
      error);
  if (!impl.http) return nullptr;
  return server;
}

uint16_t CredentialServer::port() const { return impl_->http->port(); }
std::string CredentialServer::url() const { return impl_->http->url(); }

std::string CredentialServer::summary() const {
  return fmt::format("{} login{}, {} group{}", impl_->logins, impl_->logins == 1 ? "" : "s", impl_->group_count,
                     impl_->group_count == 1 ? "" : "s");
}

void CredentialServer::start() {
  asio::co_spawn(impl_->http->io(), impl_->expiry_loop(), asio::detached);
  impl_->http->start();
}

void CredentialServer::stop() {
  if (impl_ && impl_->http) impl_->http->stop();
}

}  // namespace bm::credential
