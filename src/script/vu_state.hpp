#pragma once
// What the Lua API knows of a virtual user, and the narrow interface through which it
// asks the engine to do asynchronous work (a page, a sleep). The engine implements
// VuHost; the script layer never sees sockets or event loops.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/cookie_jar.hpp"
#include "http/response_parser.hpp"
#include "http/url.hpp"

namespace bm::script {

// One explicit call of the test (vu:get, vu:post, ...): a page. Views point into Lua
// strings that stay on the calling coroutine's stack until the page is over.
struct PageRequest {
  std::string_view method;
  std::string_view url;
  std::string_view description;
  std::string_view body;
  std::string_view content_type;
  std::vector<std::pair<std::string_view, std::string_view>> params;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  struct File {
    std::string_view field, filename, content_type, content;
  };
  std::vector<File> files;
  bool multipart = false;
  std::optional<std::vector<int>> ok_codes;
  std::optional<bool> follow_redirects;
  std::optional<bool> fetch_resources;
  bool keep_body = true;  // false: the body is counted, not kept (r.body empty, no resources)
  double timeout_s = 0;  // 0 = the run's read timeout
  // Strings made while reading the options (numbers turned into text); deque keeps
  // the views above valid as it grows.
  std::deque<std::string> scratch;

  void clear() {
    scratch.clear();
    method = url = description = body = content_type = {};
    params.clear();
    headers.clear();
    files.clear();
    multipart = false;
    ok_codes.reset();
    follow_redirects.reset();
    fetch_resources.reset();
    keep_body = true;
    timeout_s = 0;
  }
};

enum class Verdict : uint8_t { ok, failure, error };

// The outcome of the last page, read by the Lua response object.
struct PageOutcome {
  Verdict verdict = Verdict::ok;
  int status = 0;                 // final HTTP status, 0 if none was received
  std::string method;
  std::string final_url;
  std::string key;                // the page's statistics key
  std::string error_kind;         // "timeout", "status", ... empty when ok
  std::string message;            // one line, empty when ok
  int redirects = 0;
  int resources = 0;
  int64_t connect_us = 0;         // time spent connecting (0 on a reused connection)
  int64_t first_byte_us = 0;      // from sending the main request to its first byte
  int64_t total_us = 0;           // whole page: hops and resources included
  uint64_t body_bytes = 0;
  uint64_t wire_bytes = 0;
  uint64_t sequence = 0;          // increases with every page of the virtual user
};

// A call to the credential server (docs/test-data.md), made by the engine for the script.
struct CredentialCall {
  enum class Kind : uint8_t { next, list, lease, release, sequence } kind = Kind::next;
  std::string group;   // next, list, lease: the group ("" = every login); release: the login, "" = all held
  double wait_s = -1;  // lease: how long to wait for a free one; < 0: [credential] lease_wait
  double ttl_s = 0;    // lease: how long it lasts; 0: [credential] lease_time, else the server's
};

struct CredentialAnswer {
  std::string error;  // one line; empty when the call succeeded
  std::vector<std::pair<std::string, std::string>> credentials;  // login, password
  uint64_t sequence = 0;
  int released = 0;
};

// Per-virtual-user settings the test changes through the API.
struct VuSettings {
  std::vector<std::pair<std::string, std::string>> default_headers;
  std::string user_agent;
  std::string authorization;  // full header value, e.g. "Basic ..."; empty = none
  std::vector<int> ok_codes;
};

class VuHost {
 public:
  virtual ~VuHost() = default;
  // Starts a page. Returns false with a message when the request cannot be made
  // (bad URL, bad options): the script layer raises it as a script error.
  virtual bool begin_page(const PageRequest& request, std::string* error) = 0;
  virtual void begin_sleep(double seconds) = 0;
  virtual const PageOutcome& outcome() const = 0;
  // The last main response; valid while outcome().sequence is unchanged.
  virtual const http::ResponseParser& last_response() const = 0;
  virtual http::CookieJar& cookies() = 0;
  virtual VuSettings& settings() = 0;
  virtual void log(std::string_view line) = 0;
  // Identity shown to the test.
  virtual int vu_id() const = 0;
  virtual int cycle() const = 0;
  virtual int cvus() const = 0;
  virtual uint64_t iteration() const = 0;
  // Starts a credential call; the coroutine yields until the engine resumes it, then reads
  // credential_answer(). False when the answer is ready at once (nothing to wait for).
  virtual bool begin_credential(const CredentialCall& call) { return (void)call, false; }
  virtual const CredentialAnswer& credential_answer() const {
    static const CredentialAnswer none{"credential calls need a virtual user of the engine", {}, 0, 0};
    return none;
  }
  // Run by ScriptState::start_tests when the test function returned: the test passed.
  // True when the next test starts at once, in the same resume of the coroutine.
  virtual bool test_passed() { return false; }
};

}  // namespace bm::script
