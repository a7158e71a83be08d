#pragma once
// What the credential server hands out, without sockets or clocks (time is passed in, in
// ms, so tests drive it): FunkLoad's round robin per group, the group lists, and
// exclusive leases. A leased credential is held by one holder until it is released or
// its lease expires; it is not free in any group it belongs to meanwhile. Leases of a
// group go round its members, so every credential gets used.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "credential/credential_files.hpp"

namespace bm::credential {

class CredentialStore {
 public:
  // loop_on_first: FunkLoad's loop_on_first_credentials, N > 0 hands out only the first N
  // members of each group; 0 all of them.
  explicit CredentialStore(CredentialBook book, std::size_t loop_on_first = 0, uint64_t seed = 0);

  bool has_group(std::string_view group) const;
  std::vector<std::string> groups() const;  // named groups, sorted (the unnamed one left out)
  // "a, b, c" for messages.
  std::string group_list() const;

  // The next member of the group, round robin (one cursor per group, FunkLoad's
  // getCredential); nullopt for an unknown group.
  std::optional<Credential> next(std::string_view group);
  // The members handed out (FunkLoad's listCredentials); nullopt for an unknown group.
  std::optional<std::vector<Credential>> list(std::string_view group) const;
  // FunkLoad's getSeq: 1, 2, 3, ...
  uint64_t next_sequence() { return ++sequence_; }

  struct Lease {
    std::string id;  // 32 hex digits
    Credential credential;
    int64_t expires_ms = 0;
  };
  // A free member of a known group, held until now_ms + ttl_ms; nullopt when every
  // member is held. Expired leases are ended by expire(), not here (the server calls it
  // on a timer: one pass over the held leases per tick, not per lease).
  std::optional<Lease> lease(std::string_view group, int64_t now_ms, int64_t ttl_ms);
  // False when the id is unknown: never given, released already, or expired.
  bool release(std::string_view lease_id);
  // Ends the leases whose time is up; returns how many.
  std::size_t expire(int64_t now_ms);

  struct GroupStatus {
    std::string name;
    std::size_t members = 0, held = 0;
    uint64_t handed_out = 0;  // next()
    uint64_t leases = 0, expired = 0;
  };
  std::vector<GroupStatus> status() const;  // the unnamed group first, then sorted
  std::size_t held() const { return held_by_.size(); }

 private:
  struct Group {
    std::vector<std::size_t> members;
    std::size_t next_cursor = 0, lease_cursor = 0;
    uint64_t handed_out = 0, leases = 0, expired = 0;
  };
  struct Held {
    std::size_t credential;
    std::string group;
    int64_t expires_ms;
  };
  const Group* find(std::string_view group) const;
  Group* find(std::string_view group);
  std::string new_id();

  CredentialBook book_;
  std::unordered_map<std::string, Group> groups_;
  std::vector<char> held_;                          // by credential index
  std::unordered_map<std::string, Held> held_by_;  // lease id -> what it holds
  std::mt19937_64 random_;
  uint64_t sequence_ = 0;
};

}  // namespace bm::credential
