#pragma once
// A script::VuHost without sockets or event loop, for testing the Lua API through
// ScriptState. It records what the script asks for (pages, sleeps, log lines, passed
// tests) and answers each page with a reply the test chooses: raw HTTP bytes fed to a
// real http::ResponseParser (what last_response() returns, as in engine::VirtualUser),
// plus the verdict and figures the engine would have put in the page's outcome.
//
// The reply is applied in begin_page, before the script yields: the coroutine sees it
// when the test resumes it (drive() below), as it would after the engine's exchange.
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "script/script_state.hpp"
#include "script/vu_state.hpp"

namespace bm::script {

// Readable GoogleTest output for the enums the tests compare (found by ADL).
inline void PrintTo(Verdict verdict, std::ostream* os) {
  *os << (verdict == Verdict::ok ? "ok" : verdict == Verdict::failure ? "failure" : "error");
}
inline void PrintTo(RunResult::State state, std::ostream* os) {
  *os << (state == RunResult::State::waiting ? "waiting" : state == RunResult::State::finished ? "finished" : "failed");
}

}  // namespace bm::script

namespace bm::script::testing {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// A PageRequest with its views copied: they point into Lua strings that die with the page.
struct RecordedPage {
  struct File {
    std::string field, filename, content_type, content;
  };
  std::string method, url, description, body, content_type;
  Pairs params, headers;
  std::vector<File> files;
  bool multipart = false;
  std::optional<std::vector<int>> ok_codes;
  std::optional<bool> follow_redirects, fetch_resources;
  double timeout_s = 0;

  explicit RecordedPage(const PageRequest& r)
      : method(r.method), url(r.url), description(r.description), body(r.body), content_type(r.content_type),
        multipart(r.multipart), ok_codes(r.ok_codes), follow_redirects(r.follow_redirects),
        fetch_resources(r.fetch_resources), timeout_s(r.timeout_s) {
    for (auto [n, v] : r.params) params.emplace_back(n, v);
    for (auto [n, v] : r.headers) headers.emplace_back(n, v);
    for (const auto& f : r.files) files.push_back({std::string(f.field), std::string(f.filename),
                                                   std::string(f.content_type), std::string(f.content)});
  }
};

// A whole HTTP/1.1 response with a Content-Length.
inline std::string http_response(int status, std::string_view body, const Pairs& headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " Status\r\n";
  for (const auto& [n, v] : headers) out += n + ": " + v + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out.append(body);
  return out;
}

// How the fake answers one page.
struct FakeReply {
  std::string raw;  // the main response's bytes; empty: no response (status 0)
  Verdict verdict = Verdict::ok;
  std::string error_kind, message;  // for a failed page, as the engine words them
  std::string final_url;            // empty: the requested URL
  int redirects = 0, resources = 0;
  int64_t connect_us = 0, first_byte_us = 0, total_us = 0;

  static FakeReply ok(int status, std::string_view body = "", const Pairs& headers = {}) {
    FakeReply r;
    r.raw = http_response(status, body, headers);
    return r;
  }
  static FakeReply failed(Verdict verdict, std::string kind, std::string message, std::string raw = "") {
    FakeReply r;
    r.raw = std::move(raw);
    r.verdict = verdict;
    r.error_kind = std::move(kind);
    r.message = std::move(message);
    return r;
  }
};

class FakeVuHost : public VuHost {
 public:
  // What the test sets.
  std::deque<FakeReply> replies;                               // used in order, then 200 ""
  std::function<FakeReply(const RecordedPage&)> responder;     // when set, used instead
  std::string reject_with;  // non-empty: begin_page refuses the page with this message
  int passes = 0;           // how many times test_passed() says "go on"
  int id = 0, cycle_num = 0, concurrency = 1;
  uint64_t iteration_num = 1;

  // What the script did.
  std::vector<RecordedPage> pages;
  std::vector<double> sleeps;
  std::vector<std::string> logs;
  int tests_passed = 0;

  bool begin_page(const PageRequest& request, std::string* error) override {
    pages.emplace_back(request);
    if (!reject_with.empty()) {
      *error = reject_with;
      return false;
    }
    const RecordedPage& page = pages.back();
    FakeReply reply;
    if (responder) {
      reply = responder(page);
    } else if (!replies.empty()) {
      reply = std::move(replies.front());
      replies.pop_front();
    } else {
      reply = FakeReply::ok(200);
    }
    apply(page, reply);
    return true;
  }
  void begin_sleep(double seconds) override { sleeps.push_back(seconds); }
  const PageOutcome& outcome() const override { return outcome_; }
  const http::ResponseParser& last_response() const override { return parser_; }
  http::CookieJar& cookies() override { return cookies_; }
  VuSettings& settings() override { return settings_; }
  void log(std::string_view line) override { logs.emplace_back(line); }
  int vu_id() const override { return id; }
  int cycle() const override { return cycle_num; }
  int cvus() const override { return concurrency; }
  uint64_t iteration() const override { return iteration_num; }
  bool test_passed() override {
    ++tests_passed;
    if (passes <= 0) return false;
    --passes;
    return true;
  }

 private:
  // Fills the outcome as engine::VirtualUser does: a new sequence for every page, the key
  // is the description or "METHOD url", and the parser holds the main response.
  void apply(const RecordedPage& page, const FakeReply& reply) {
    parser_.reset(page.method == "HEAD");
    if (!reply.raw.empty()) {
      size_t consumed = 0;
      auto result = parser_.feed(reply.raw.data(), reply.raw.size(), &consumed);
      EXPECT_EQ(result, http::ResponseParser::Result::complete) << "fake reply is no whole response: " << reply.raw;
    }
    outcome_.verdict = reply.verdict;
    outcome_.status = reply.raw.empty() ? 0 : parser_.status();
    outcome_.method = page.method;
    outcome_.final_url = reply.final_url.empty() ? page.url : reply.final_url;
    outcome_.key = page.description.empty() ? page.method + " " + page.url : page.description;
    outcome_.error_kind = reply.error_kind;
    outcome_.message = reply.message;
    outcome_.redirects = reply.redirects;
    outcome_.resources = reply.resources;
    outcome_.connect_us = reply.connect_us;
    outcome_.first_byte_us = reply.first_byte_us;
    outcome_.total_us = reply.total_us;
    outcome_.body_bytes = parser_.body_bytes();
    outcome_.wire_bytes = parser_.wire_bytes();
    ++outcome_.sequence;
  }

  PageOutcome outcome_;
  http::ResponseParser parser_;
  http::CookieJar cookies_;
  VuSettings settings_;
};

// Resumes the virtual user for as long as it waits (for a page or a sleep), as the
// engine does once the operation is over. Bounded, so a script that never ends fails.
inline RunResult drive(ScriptState& state, int vu, RunResult result) {
  for (int resumes = 0; result.state == RunResult::State::waiting; ++resumes) {
    if (resumes == 10000) {
      ADD_FAILURE() << "the script still waits after 10000 resumes";
      break;
    }
    result = state.resume(vu);
  }
  return result;
}

}  // namespace bm::script::testing
