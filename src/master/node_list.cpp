#include "master/node_list.hpp"

#include "common/location.hpp"

#include "common/files.hpp"

#include <charconv>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace bm::master {

namespace {

constexpr int kMaxMultiplier = 10000;

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

std::optional<int> parse_int(std::string_view text, int low, int high) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) return std::nullopt;
  return value;
}

// Host names and addresses: what DNS names, IPv4 and IPv6 literals use. Anything else
// (spaces, quotes, $, ;, a leading '-') is refused rather than passed to ssh.
bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '-') return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_' || c == ':' || c == '%';
    if (!ok) return false;
  }
  return true;
}

bool valid_user(std::string_view user) {
  if (user.empty() || user.size() > 64 || user.front() == '-') return false;
  for (char c : user) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_';
    if (!ok) return false;
  }
  return true;
}

// "[user@]host[:port]" or "[user@][v6]:port" into address; "" or the problem.
std::string parse_destination(std::string_view text, NodeAddress& address) {
  if (auto at = text.rfind('@'); at != std::string_view::npos) {
    // "@local" would be an SSH host named "local" that shows (and groups) as the local
    // transport: an '@' needs a user before it.
    if (at == 0) return fmt::format("'{}': no user before '@'", text);
    address.user = std::string(text.substr(0, at));
    text.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return fmt::format("'{}': missing ']' after an IPv6 address", text);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fmt::format("'{}': only ':port' may follow ']'", text);
      port_text = rest.substr(1);
      if (port_text.empty()) return fmt::format("'{}': missing port after ':'", text);
    }
    text = text.substr(1, close - 1);
    if (text.find(':') == std::string_view::npos) {
      return fmt::format("'[{}]': brackets are for IPv6 addresses only", text);
    }
  } else if (auto colon = text.find(':'); colon != std::string_view::npos) {
    if (text.find(':', colon + 1) != std::string_view::npos) {
      return fmt::format("'{}': write an IPv6 address in brackets, e.g. [::1]:22", text);
    }
    port_text = text.substr(colon + 1);
    if (port_text.empty()) return fmt::format("'{}': missing port after ':'", text);
    text = text.substr(0, colon);
  }
  address.host = std::string(text);
  if (!port_text.empty()) {
    auto port = parse_int(port_text, 1, 65535);
    if (!port) return fmt::format("'{}' is not a port (1-65535)", port_text);
    address.port = *port;
  }
  if (!valid_host(address.host)) {
    return fmt::format("'{}' is not a host name or address", address.host);
  }
  // Shown as "local", it would read back as this machine (and group with it).
  if (address.user.empty() && address.port == 0 && address.host == "local") {
    return "'local' is this machine; an SSH host named local needs a user or a port (user@local, local:22)";
  }
  return {};
}

std::string check_user(const NodeAddress& address) {
  if (!address.user.empty() && !valid_user(address.user)) {
    return fmt::format("'{}' is not a user name (letters, digits, '.', '-', '_')", address.user);
  }
  return {};
}

}  // namespace

std::string NodeAddress::display() const {
  if (local) return "local";
  std::string text = user.empty() ? "" : user + "@";
  bool v6 = host.find(':') != std::string::npos;
  if (v6 && port != 0) {
    text += "[" + host + "]";
  } else {
    text += host;
  }
  if (port != 0) text += ":" + std::to_string(port);
  return text;
}

std::optional<std::vector<NodeEntry>> parse_node_entry(std::string_view text, std::string* error) {
  auto words = split_words(trim(text));
  if (words.empty()) {
    *error = "empty node entry";
    return std::nullopt;
  }
  if (words.size() > 2) {
    *error = fmt::format("'{}': expected 'host[:port] [user]' or '[user@]host[:port]'", trim(text));
    return std::nullopt;
  }
  std::string_view first = words[0];
  int count = 1;
  if (auto star = first.rfind('*'); star != std::string_view::npos) {
    auto k = parse_int(first.substr(star + 1), 1, kMaxMultiplier);
    if (!k) {
      *error = fmt::format("'{}': the multiplier after '*' is a whole number from 1 to {}", first, kMaxMultiplier);
      return std::nullopt;
    }
    count = *k;
    first = first.substr(0, star);
  }
  NodeAddress address;
  if (first == "local") {
    if (words.size() > 1) {
      *error = "'local' takes no user";
      return std::nullopt;
    }
    address.local = true;
  } else {
    if (std::string problem = parse_destination(first, address); !problem.empty()) {
      *error = problem;
      return std::nullopt;
    }
    if (words.size() == 2) {
      if (!address.user.empty()) {
        *error = fmt::format("'{}': the user is given twice", trim(text));
        return std::nullopt;
      }
      address.user = std::string(words[1]);
    }
    if (std::string problem = check_user(address); !problem.empty()) {
      *error = problem;
      return std::nullopt;
    }
  }
  return std::vector<NodeEntry>(static_cast<std::size_t>(count), NodeEntry{address, ""});
}

std::optional<std::vector<NodeEntry>> parse_nodes_text(std::string_view text, std::string_view source,
                                                       std::string* error) {
  std::vector<NodeEntry> nodes;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (trim(line).empty()) continue;
    std::string problem;
    auto entries = parse_node_entry(line, &problem);
    if (!entries) {
      *error = common::located(source, line_number, problem);
      return std::nullopt;
    }
    for (auto& entry : *entries) {
      entry.origin = fmt::format("{}:{}", source, line_number);
      nodes.push_back(std::move(entry));
    }
  }
  if (nodes.empty()) {
    *error = fmt::format("{}: no nodes in this file", source);
    return std::nullopt;
  }
  return nodes;
}

std::optional<std::vector<NodeEntry>> read_nodes_file(const std::string& path, std::string* error) {
  int error_number = 0;
  const std::optional<std::string> text = common::read_whole_file(path, &error_number);
  if (!text) {
    *error = fmt::format("{}: cannot read the nodes file: {}", path, std::strerror(error_number));
    return std::nullopt;
  }
  return parse_nodes_text(*text, path, error);
}

std::optional<std::vector<NodeEntry>> parse_nodes_option(std::string_view list, std::string* error) {
  std::vector<NodeEntry> nodes;
  int item = 0;
  while (true) {
    ++item;
    auto comma = list.find(',');
    std::string_view text = list.substr(0, comma);
    std::string problem;
    auto entries = parse_node_entry(text, &problem);
    if (!entries) {
      *error = fmt::format("--nodes: item {}: {}", item, problem);
      return std::nullopt;
    }
    for (auto& entry : *entries) {
      entry.origin = fmt::format("--nodes item {}", item);
      nodes.push_back(std::move(entry));
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return nodes;
}

}  // namespace bm::master
