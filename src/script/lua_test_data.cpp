// Test data: feed(name) reads the next row of a [feeder.NAME] CSV; credential(),
// credentials(), lease_credential(), credential_sequence() and vu:release_credential() ask
// the credential server (bench-credential) through the engine, yielding while they wait.
#include <random>

#include <fmt/format.h>

#include "feeder/feeder.hpp"
#include "script/lua_bindings.hpp"
#include "script/script_state.hpp"

namespace bm::script {
namespace {

constexpr std::string_view kTestDataKind = "test_data";

feeder::FeederSet* feeders_of(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kFeedersKey);
  auto* set = static_cast<feeder::FeederSet*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return set;
}

// A fast generator per worker thread for random feeders: draws need no lock.
uint64_t random_number() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return generator();
}

int l_feed(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  VuHost* host = require_host(L, "feed");
  feeder::FeederSet* set = feeders_of(L);
  feeder::Feeder* feeder = set ? set->find(name) : nullptr;
  // The messages are made in inner blocks and pushed: a Lua error leaves with longjmp,
  // and a std::string alive here would never be freed.
  if (feeder == nullptr) {
    if (set) {
      const std::string names = set->names();
      lua_pushlstring(L, names.data(), names.size());
    } else {
      lua_pushstring(L, "none: the conf has no [feeder.NAME] section");
    }
    return luaL_error(L, "feed: no feeder '%s' (feeders: %s)", name, lua_tostring(L, -1));
  }
  const std::optional<std::size_t> index = feeder->draw(static_cast<uint64_t>(host->vu_id()), random_number());
  if (!index) {
    const feeder::FeederSpec& spec = feeder->spec();
    const bool stop_user = spec.at_end == feeder::AtEnd::stop_user;
    {
      std::string why =
          spec.order == feeder::FeedOrder::per_user
              ? fmt::format("feeder '{}': no row for virtual user {} ({} has {} rows)", name, host->vu_id(),
                            spec.file, feeder->rows())
              : fmt::format("feeder '{}': all {} rows of {} are used", name, feeder->rows(), spec.file);
      if (!stop_user) why += " (at_end = fail)";
      lua_pushlstring(L, why.data(), why.size());
    }
    std::size_t len = 0;
    const char* why = lua_tolstring(L, -1, &len);
    raise_outcome(L, Verdict::error, stop_user ? kStopUserKind : kTestDataKind, std::string_view(why, len));
  }
  const std::vector<std::string>& header = feeder->header();
  const std::vector<std::string>& row = feeder->row(*index);
  lua_createtable(L, 0, static_cast<int>(header.size()));
  for (std::size_t i = 0; i < header.size(); ++i) {
    lua_pushlstring(L, row[i].data(), row[i].size());
    lua_setfield(L, -2, header[i].c_str());
  }
  return 1;
}

// After the engine answered: the values for the caller, or a test error.
int credential_continue(lua_State* L, int, lua_KContext context) {
  const auto kind = static_cast<CredentialCall::Kind>(context);
  const CredentialAnswer& answer = host_of(L)->credential_answer();
  if (!answer.error.empty()) raise_outcome(L, Verdict::error, kTestDataKind, answer.error);
  switch (kind) {
    case CredentialCall::Kind::next:
    case CredentialCall::Kind::lease:
      if (answer.credentials.empty()) raise_outcome(L, Verdict::error, kTestDataKind, "credential server: no login in the answer");
      lua_pushlstring(L, answer.credentials[0].first.data(), answer.credentials[0].first.size());
      lua_pushlstring(L, answer.credentials[0].second.data(), answer.credentials[0].second.size());
      return 2;
    case CredentialCall::Kind::list:
      lua_createtable(L, static_cast<int>(answer.credentials.size()), 0);
      for (std::size_t i = 0; i < answer.credentials.size(); ++i) {
        lua_createtable(L, 0, 2);
        lua_pushlstring(L, answer.credentials[i].first.data(), answer.credentials[i].first.size());
        lua_setfield(L, -2, "login");
        lua_pushlstring(L, answer.credentials[i].second.data(), answer.credentials[i].second.size());
        lua_setfield(L, -2, "password");
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
      return 1;
    case CredentialCall::Kind::sequence:
      lua_pushinteger(L, static_cast<lua_Integer>(answer.sequence));
      return 1;
    case CredentialCall::Kind::release:
      lua_pushinteger(L, answer.released);
      return 1;
  }
  return 0;
}

int start_call(lua_State* L, const CredentialCall& call, const char* what) {
  VuHost* host = require_host(L, what);
  const auto context = static_cast<lua_KContext>(call.kind);
  if (!host->begin_credential(call)) return credential_continue(L, LUA_OK, context);
  return lua_yieldk(L, 0, context, credential_continue);
}

const char* optional_group(lua_State* L, int index, const char* what) {
  if (lua_isnoneornil(L, index)) return "";
  if (lua_type(L, index) != LUA_TSTRING) luaL_error(L, "%s: the group is a string (or nil for every login)", what);
  return lua_tostring(L, index);
}

int l_credential(lua_State* L) {
  CredentialCall call;
  call.kind = CredentialCall::Kind::next;
  call.group = optional_group(L, 1, "credential");
  return start_call(L, call, "credential");
}

int l_credentials(lua_State* L) {
  CredentialCall call;
  call.kind = CredentialCall::Kind::list;
  call.group = optional_group(L, 1, "credentials");
  return start_call(L, call, "credentials");
}

int l_credential_sequence(lua_State* L) {
  CredentialCall call;
  call.kind = CredentialCall::Kind::sequence;
  return start_call(L, call, "credential_sequence");
}

double seconds_field(lua_State* L, int table, const char* key, double low, double high, double fallback) {
  lua_getfield(L, table, key);
  double value = fallback;
  if (!lua_isnil(L, -1)) {
    int is_number = 0;
    value = lua_tonumberx(L, -1, &is_number);
    if (!is_number || !(value >= low && value <= high)) {
      luaL_error(L, "lease_credential: %s must be a number of seconds from %g to %g", key, low, high);
    }
  }
  lua_pop(L, 1);
  return value;
}

int l_lease_credential(lua_State* L) {
  CredentialCall call;
  call.kind = CredentialCall::Kind::lease;
  call.group = optional_group(L, 1, "lease_credential");
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
      const char* key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
      if (std::string_view(key) != "wait" && std::string_view(key) != "ttl") {
        return luaL_error(L, "lease_credential: unknown option '%s' (wait, ttl)", key);
      }
      lua_pop(L, 1);
    }
    call.wait_s = seconds_field(L, 2, "wait", 0, 3600, -1);
    call.ttl_s = seconds_field(L, 2, "ttl", 0.1, 86400, 0);
  }
  return start_call(L, call, "lease_credential");
}

int l_release_credential(lua_State* L) {
  check_self(L, "release_credential");
  CredentialCall call;
  call.kind = CredentialCall::Kind::release;
  call.group = lua_isnoneornil(L, 2) ? "" : luaL_checkstring(L, 2);
  return start_call(L, call, "vu:release_credential");
}

}  // namespace

void register_test_data_globals(lua_State* L) {
  lua_register(L, "feed", l_feed);
  lua_register(L, "credential", l_credential);
  lua_register(L, "credentials", l_credentials);
  lua_register(L, "lease_credential", l_lease_credential);
  lua_register(L, "credential_sequence", l_credential_sequence);
}

const luaL_Reg kTestDataMethods[] = {
    {"release_credential", l_release_credential},
    {nullptr, nullptr},
};

}  // namespace bm::script
