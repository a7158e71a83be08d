// A virtual user's calls to the credential server: the script yields, the worker's
// client asks, the answer resumes it. Leases are remembered here and returned when the
// test ends (taken in a test) or the user stops (taken in setup_vu or a hook).
#include <fmt/format.h>

#include "engine/virtual_user.hpp"

namespace bm::engine {

namespace {

using Kind = script::CredentialCall::Kind;
using namespace std::chrono_literals;

constexpr auto kCallTimeout = 10s;  // every call but a lease's wait

std::optional<std::string> string_field(const nlohmann::json& body, const char* key) {
  if (!body.is_object()) return std::nullopt;
  const auto it = body.find(key);
  if (it == body.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

const script::CredentialAnswer& VirtualUser::credential_answer() const {
  static const script::CredentialAnswer none;
  return rare_ ? rare_->credential_answer : none;
}

bool VirtualUser::holds_leases(bool all) const {
  if (!rare_) return false;
  for (const auto& lease : rare_->leases) {
    if (all || !lease.for_user) return true;
  }
  return false;
}

void VirtualUser::release_leases(bool all, std::function<void()> then) {
  std::string ids;
  std::erase_if(rare_->leases, [&](const RareState::HeldLease& lease) {
    if (!all && lease.for_user) return false;
    ids += (ids.empty() ? "" : ",") + lease.id;
    return true;
  });
  std::string error;
  credential::CredentialClient* client = worker_.credential_client(&error);
  if (client == nullptr || ids.empty()) {  // cannot be: a lease came from that client
    if (then) then();
    return;
  }
  if (!then) {
    client->call(true, "/release?lease=" + ids, kCallTimeout, nullptr);
    return;
  }
  rare_->credential_call = client->call(true, "/release?lease=" + ids, kCallTimeout,
                                        [this, then = std::move(then)](credential::ClientReply reply) {
                                          rare_->credential_call.reset();
                                          if (!reply.error.empty()) {
                                            log("leases not returned (the server ends them when they expire): " +
                                                reply.error);
                                          }
                                          then();
                                        });
}

bool VirtualUser::begin_credential(const script::CredentialCall& call) {
  RareState& r = rare();
  r.credential_answer = {};
  std::string error;
  credential::CredentialClient* client = worker_.credential_client(&error);
  if (client == nullptr) {
    r.credential_answer.error = error;
    return false;
  }
  const CredentialServerSettings& server = worker_.settings().credential_server;
  const std::string group = credential::CredentialClient::encode(call.group);
  std::string target;
  std::chrono::milliseconds timeout = kCallTimeout;
  bool post = false;
  switch (call.kind) {
    case Kind::next: target = "/credential?group=" + group; break;
    case Kind::list: target = "/credentials?group=" + group; break;
    case Kind::sequence: target = "/seq"; break;
    case Kind::lease: {
      const double wait = call.wait_s >= 0 ? call.wait_s : server.lease_wait_s;
      const double ttl = call.ttl_s > 0 ? call.ttl_s : server.lease_time_s;
      target = fmt::format("/lease?group={}&wait={}", group, wait);
      if (ttl > 0) target += fmt::format("&ttl={}", ttl);
      timeout += std::chrono::milliseconds(static_cast<int64_t>(wait * 1000));
      post = true;
      break;
    }
    case Kind::release: {
      std::string ids;
      std::erase_if(r.leases, [&](const RareState::HeldLease& lease) {
        if (!call.group.empty() && lease.login != call.group) return false;
        ids += (ids.empty() ? "" : ",") + lease.id;
        return true;
      });
      if (ids.empty()) return false;  // nothing held: released 0, at once
      target = "/release?lease=" + ids;
      post = true;
      break;
    }
  }
  // Leases taken outside a test belong to the user, not to one test.
  const bool for_user = phase_ == Phase::setup_vu || phase_ == Phase::hook || phase_ == Phase::teardown_vu;
  r.credential_call = client->call(post, std::move(target), timeout,
                                   [this, kind = call.kind, for_user](credential::ClientReply reply) {
                                     take_credential_answer(kind, for_user, std::move(reply));
                                   });
  return true;
}

void VirtualUser::take_credential_answer(Kind kind, bool for_user, credential::ClientReply reply) {
  RareState& r = *rare_;
  r.credential_call.reset();
  script::CredentialAnswer& answer = r.credential_answer;
  answer.error = std::move(reply.error);
  const nlohmann::json& body = reply.body;
  const std::string server = worker_.credential_client(nullptr)->address();
  const auto unexpected = [&] { answer.error = fmt::format("credential server {}: unexpected answer", server); };
  if (answer.error.empty()) {
    switch (kind) {
      case Kind::next:
      case Kind::lease: {
        const auto login = string_field(body, "login");
        const auto password = string_field(body, "password");
        const auto lease = string_field(body, "lease");
        if (!login || !password || (kind == Kind::lease && !lease)) {
          unexpected();
          break;
        }
        answer.credentials.emplace_back(*login, *password);
        if (kind == Kind::lease) r.leases.push_back({*lease, *login, for_user});
        break;
      }
      case Kind::list: {
        const auto list = body.is_object() ? body.find("credentials") : body.end();
        if (!body.is_object() || list == body.end() || !list->is_array()) {
          unexpected();
          break;
        }
        for (const auto& item : *list) {
          const auto login = string_field(item, "login");
          const auto password = string_field(item, "password");
          if (login && password) answer.credentials.emplace_back(*login, *password);
        }
        break;
      }
      case Kind::sequence:
        if (body.is_object() && body.contains("seq") && body["seq"].is_number_unsigned()) {
          answer.sequence = body["seq"].get<uint64_t>();
        } else {
          unexpected();
        }
        break;
      case Kind::release:
        answer.released = body.is_object() && body.contains("released") && body["released"].is_number_integer()
                              ? body["released"].get<int>()
                              : 0;
        break;
    }
  }
  resume_script();
}

}  // namespace bm::engine
