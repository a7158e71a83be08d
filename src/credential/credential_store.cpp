#include "credential/credential_store.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace bm::credential {

CredentialStore::CredentialStore(CredentialBook book, std::size_t loop_on_first, uint64_t seed)
    : book_(std::move(book)), random_(seed != 0 ? seed : std::random_device{}()) {
  for (const auto& [name, members] : book_.groups) {
    Group group;
    group.members = members;
    if (loop_on_first > 0 && group.members.size() > loop_on_first) group.members.resize(loop_on_first);
    groups_.emplace(name, std::move(group));
  }
  held_.assign(book_.credentials.size(), 0);
}

const CredentialStore::Group* CredentialStore::find(std::string_view group) const {
  const auto it = groups_.find(std::string(group));
  return it == groups_.end() ? nullptr : &it->second;
}

CredentialStore::Group* CredentialStore::find(std::string_view group) {
  const auto it = groups_.find(std::string(group));
  return it == groups_.end() ? nullptr : &it->second;
}

bool CredentialStore::has_group(std::string_view group) const { return find(group) != nullptr; }

std::vector<std::string> CredentialStore::groups() const {
  std::vector<std::string> names;
  for (const auto& [name, group] : groups_) {
    if (!name.empty()) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string CredentialStore::group_list() const {
  std::string list;
  for (const std::string& name : groups()) list += (list.empty() ? "" : ", ") + name;
  return list.empty() ? "none but the unnamed group of every login" : list;
}

std::optional<Credential> CredentialStore::next(std::string_view name) {
  Group* group = find(name);
  if (group == nullptr) return std::nullopt;
  const std::size_t index = group->members[group->next_cursor];
  group->next_cursor = (group->next_cursor + 1) % group->members.size();
  ++group->handed_out;
  return book_.credentials[index];
}

std::optional<std::vector<Credential>> CredentialStore::list(std::string_view name) const {
  const Group* group = find(name);
  if (group == nullptr) return std::nullopt;
  std::vector<Credential> out;
  out.reserve(group->members.size());
  for (std::size_t index : group->members) out.push_back(book_.credentials[index]);
  return out;
}

std::string CredentialStore::new_id() {
  for (;;) {
    std::string id = fmt::format("{:016x}{:016x}", random_(), random_());
    if (!held_by_.contains(id)) return id;
  }
}

std::optional<CredentialStore::Lease> CredentialStore::lease(std::string_view name, int64_t now_ms,
                                                             int64_t ttl_ms) {
  Group* group = find(name);
  if (group == nullptr) return std::nullopt;
  const std::size_t n = group->members.size();
  for (std::size_t step = 0; step < n; ++step) {
    const std::size_t position = (group->lease_cursor + step) % n;
    const std::size_t index = group->members[position];
    if (held_[index]) continue;
    group->lease_cursor = (position + 1) % n;
    ++group->leases;
    held_[index] = 1;
    Lease lease{new_id(), book_.credentials[index], now_ms + ttl_ms};
    held_by_.emplace(lease.id, Held{index, std::string(name), lease.expires_ms});
    return lease;
  }
  return std::nullopt;
}

bool CredentialStore::release(std::string_view lease_id) {
  const auto it = held_by_.find(std::string(lease_id));
  if (it == held_by_.end()) return false;
  held_[it->second.credential] = 0;
  held_by_.erase(it);
  return true;
}

std::size_t CredentialStore::expire(int64_t now_ms) {
  std::size_t ended = 0;
  for (auto it = held_by_.begin(); it != held_by_.end();) {
    if (it->second.expires_ms > now_ms) {
      ++it;
      continue;
    }
    held_[it->second.credential] = 0;
    if (Group* group = find(it->second.group)) ++group->expired;
    it = held_by_.erase(it);
    ++ended;
  }
  return ended;
}

std::vector<CredentialStore::GroupStatus> CredentialStore::status() const {
  std::vector<GroupStatus> out;
  const auto add = [&](const std::string& name) {
    const Group& group = *find(name);
    GroupStatus s{name, group.members.size(), 0, group.handed_out, group.leases, group.expired};
    for (std::size_t index : group.members) s.held += held_[index] ? 1 : 0;
    out.push_back(std::move(s));
  };
  add("");
  for (const std::string& name : groups()) add(name);
  return out;
}

}  // namespace bm::credential
