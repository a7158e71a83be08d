#pragma once
// bench-credential's server (FunkLoad's credential server, over HTTP and JSON rather than
// XML-RPC), one thread:
//   GET  /credential?group=G               next member of G, round robin: {"login", "password"}
//   GET  /credentials?group=G              the members of G: {"group", "credentials": [...]}
//   GET  /groups                           {"groups": [...]}
//   GET  /seq                              {"seq": n}: 1, 2, 3, ... shared by every client
//   POST /lease?group=G&wait=S&ttl=S       a member no one holds, held for ttl seconds:
//                                          {"login", "password", "lease", "ttl_s"}; when none
//                                          is free, waits up to `wait` s (first come, first
//                                          served), then 503 {"error"}
//   POST /release?lease=ID[,ID...]         {"released": n, "unknown": m}
//   GET  /status                           {"status": "running", "pid", "held", "groups": [...]}
// G absent or empty: the unnamed group of every login. Errors are JSON {"error": "..."}:
// 404 unknown group, 400 bad parameters, 405 wrong method. docs/test-data.md has it all.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace bm::credential {

struct CredentialServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8007;  // 0: any free port
  std::filesystem::path credentials_file;
  std::filesystem::path groups_file;  // optional
  std::size_t loop_on_first = 0;      // FunkLoad's loop_on_first_credentials
  double lease_s = 60;                // a lease's time when the client names none
  double max_wait_s = 120;            // the longest a client may wait for a lease
  double max_lease_s = 86400;
  std::function<void(const std::string&)> log;
};

class CredentialServer {
 public:
  // Reads the files and binds; one line in *error and nullptr when either fails.
  static std::unique_ptr<CredentialServer> create(const CredentialServerOptions& options, std::string* error);
  ~CredentialServer();
  CredentialServer(const CredentialServer&) = delete;
  CredentialServer& operator=(const CredentialServer&) = delete;

  uint16_t port() const;
  std::string url() const;
  // "3 groups, 120 logins" for the start line.
  std::string summary() const;
  void start();
  void stop();

 private:
  CredentialServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bm::credential
