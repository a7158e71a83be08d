#include "engine/recorder.hpp"

namespace bm::engine {

namespace {
constexpr std::string_view kOverflowKey = "(other: too many distinct keys)";
}  // namespace

Recorder::Recorder(const ClockBase& clock, int64_t apdex_t_us, bool open_model)
    : clock_(clock), apdex_t_us_(apdex_t_us), open_model_(open_model) {}

void Recorder::begin_cycle(int cycle, int cvus, int64_t window_start_ns, int64_t window_end_ns) {
  cycle_ = cycle;
  window_start_ns_ = window_start_ns;
  window_end_ns_ = window_end_ns;
  cycle_results_ = stats::CycleResults{};
  cycle_results_.index = cycle;
  cycle_results_.cvus = cvus;
  page_index_.clear();
  request_index_.clear();
  test_index_.clear();
  main_request_of_page_.clear();
  ++slots_generation_;
}

int Recorder::page_slot(std::string_view key) {
  if (auto it = page_index_.find(key); it != page_index_.end()) return it->second;
  if (page_index_.size() >= kMaxPages) key = kOverflowKey;
  int slot = static_cast<int>(cycle_results_.pages.index_of(key));
  page_index_.emplace(std::string(key), slot);
  return slot;
}

int Recorder::request_slot(int page, std::string_view key, std::string_view method, std::string_view url,
                           RequestKind kind) {
  const std::string& page_key = cycle_results_.pages[static_cast<size_t>(page)].key;
  scratch_key_.assign(page_key);
  scratch_key_ += '\x1f';
  scratch_key_.append(key);
  if (auto it = request_index_.find(scratch_key_); it != request_index_.end()) return it->second;
  if (request_index_.size() >= kMaxRequests) key = kOverflowKey;
  auto index = cycle_results_.requests.index_of(page_key, key);
  stats::Entry& entry = cycle_results_.requests[index];
  if (entry.method.empty()) {
    entry.page = page_key;
    entry.method.assign(method);
    entry.url.assign(url);
    entry.kind = kind;
  }
  int slot = static_cast<int>(index);
  request_index_.emplace(scratch_key_, slot);
  return slot;
}

int Recorder::main_request_slot(int page, std::string_view key, std::string_view method, std::string_view url) {
  const auto index = static_cast<size_t>(page);
  // The overflow page holds many keys: only a page that is its key has one main request.
  const bool own_key = cycle_results_.pages[index].key == key;
  if (own_key && index < main_request_of_page_.size() && main_request_of_page_[index] >= 0) {
    return main_request_of_page_[index];
  }
  const int slot = request_slot(page, key, method, url, RequestKind::main);
  if (own_key) {
    if (index >= main_request_of_page_.size()) main_request_of_page_.resize(index + 1, -1);
    main_request_of_page_[index] = slot;
  }
  return slot;
}

int Recorder::test_slot(std::string_view key) {
  if (auto it = test_index_.find(key); it != test_index_.end()) return it->second;
  int slot = static_cast<int>(cycle_results_.tests.index_of(key));
  test_index_.emplace(std::string(key), slot);
  return slot;
}

void Recorder::roll_second_slow(int64_t t_ns) {
  int64_t second = clock_.epoch_second(t_ns);
  // The monotonic times that epoch_second() puts in this second (checked at both ends:
  // its divisions truncate toward zero, so times before the clock's start are left out).
  const int64_t begin = clock_.mono_at_epoch_us(second * 1'000'000);
  const int64_t end = clock_.mono_at_epoch_us((second + 1) * 1'000'000);
  const bool exact = clock_.epoch_second(begin) == second && clock_.epoch_second(end - 1) == second &&
                     clock_.epoch_second(end) == second + 1 && begin <= t_ns && t_ns < end;
  second_begin_ns_ = exact ? begin : 0;
  second_end_ns_ = exact ? end : 0;
  if (second == current_second_) return;
  if (current_second_ != 0) {
    second_.set_cvus(running_vus_);
    if (auto point = second_.roll(second)) finished_points_.push_back(std::move(*point));
  } else {
    second_ = stats::SecondAccumulator(second);
  }
  current_second_ = second;
  stats::Phase phase = t_ns < window_start_ns_ ? stats::Phase::startup
                       : t_ns < window_end_ns_ ? stats::Phase::window
                                               : stats::Phase::drain;
  second_.set_cycle(cycle_, phase);
}

void Recorder::request_done(int slot, const RequestSample& s) {
  roll_second(s.done_ns);
  Progress::bump(progress_.requests);
  const int64_t latency_us = s.latency_us + s.wait_us;
  if (s.ok) second_.record_request_ok(latency_us);
  else second_.record_request_failed();
  second_.add_bytes_received(s.bytes_received);
  if (!in_window(s.done_ns)) {
    ++cycle_results_.outside_window.requests;
    ++cycle_results_.requests[static_cast<size_t>(slot)].stats.outside_window;
    return;
  }
  stats::EntryStats& e = cycle_results_.requests[static_cast<size_t>(slot)].stats;
  if (s.status != 0) e.add_status(s.status);
  e.add_bytes(s.bytes_sent, s.bytes_received);
  if (s.connect_us >= 0) e.connect.record(s.connect_us);
  if (s.first_byte_us >= 0) e.first_byte.record(s.first_byte_us);
  if (s.ok) {
    e.record_success(latency_us, apdex_t_us_);
    if (open_model_) e.service.record(s.latency_us);
  } else if (stats::default_verdict(s.error) == stats::Verdict::failure) {
    e.record_failure(s.error, s.status != 0 ? latency_us : -1);
  } else {
    e.record_error(s.error);
  }
}

void Recorder::abandoned(int request_slot, int page_slot, int test_slot) {
  if (request_slot >= 0) {
    ++cycle_results_.abandoned.requests;
    ++cycle_results_.requests[static_cast<size_t>(request_slot)].stats.abandoned;
  }
  if (page_slot >= 0) {
    ++cycle_results_.abandoned.pages;
    ++cycle_results_.pages[static_cast<size_t>(page_slot)].stats.abandoned;
  }
  if (test_slot >= 0) {
    ++cycle_results_.abandoned.tests;
    ++cycle_results_.tests[static_cast<size_t>(test_slot)].stats.abandoned;
  }
}

void Recorder::page_done(int slot, bool ok, stats::ErrorKind error, int status, int64_t service_us, int64_t done_ns,
                         int64_t verdict_ns, int64_t wait_us) {
  const int64_t latency_us = service_us + wait_us;
  roll_second(verdict_ns);
  second_.record_page(ok);
  if (!in_window(done_ns)) {
    ++cycle_results_.outside_window.pages;
    ++cycle_results_.pages[static_cast<size_t>(slot)].stats.outside_window;
    return;
  }
  stats::EntryStats& e = cycle_results_.pages[static_cast<size_t>(slot)].stats;
  if (status != 0) e.add_status(status);
  if (ok) {
    e.record_success(latency_us, apdex_t_us_);
    if (open_model_) e.service.record(service_us);
  } else if (stats::default_verdict(error) == stats::Verdict::failure) {
    e.record_failure(error, status != 0 ? latency_us : -1);
  } else {
    e.record_error(error);
  }
}

void Recorder::test_done(int slot, int verdict, stats::ErrorKind kind, int64_t service_us, int pages, int requests,
                         int64_t done_ns, int64_t wait_us) {
  const int64_t latency_us = service_us + wait_us;
  roll_second(done_ns);
  second_.record_test(verdict == 0 ? stats::TestOutcome::ok
                      : verdict == 1 ? stats::TestOutcome::failure
                                     : stats::TestOutcome::error);
  if (!in_window(done_ns)) {
    ++cycle_results_.outside_window.tests;
    ++cycle_results_.tests[static_cast<size_t>(slot)].stats.outside_window;
    return;
  }
  // Progress counts what the report will count: tests completed inside the window.
  Progress::bump(verdict == 0 ? progress_.tests_ok : verdict == 1 ? progress_.tests_failed : progress_.tests_errors);
  stats::EntryStats& e = cycle_results_.tests[static_cast<size_t>(slot)].stats;
  if (verdict == 0) {
    e.record_success(latency_us, apdex_t_us_);
    if (open_model_) e.service.record(service_us);
    e.add_test_content(static_cast<uint64_t>(pages), static_cast<uint64_t>(requests));
  } else if (verdict == 1) {
    e.record_failure(kind, latency_us);
  } else {
    e.record_error(kind);
  }
}

void Recorder::error_event(stats::ErrorKind kind, bool failure, std::string_view page, std::string_view request,
                           int status, std::string_view message, int64_t t_ns) {
  if (!in_window(t_ns)) return;
  // Group by the message without its "file:line:" prefix, so one check failing on
  // many lines of data still reads as one group per line of code.
  std::string_view location;
  std::string_view text = message;
  if (size_t colon = message.find(".lua:"); colon != std::string_view::npos) {
    size_t end = message.find(':', colon + 5);
    if (end != std::string_view::npos) {
      location = message.substr(0, end);
      text = message.substr(end + 1);
      while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    }
  }
  stats::ErrorOccurrence occurrence;
  occurrence.kind = kind;
  occurrence.verdict = failure ? stats::Verdict::failure : stats::Verdict::error;
  occurrence.page = page;
  occurrence.request = request;
  occurrence.status = status;
  occurrence.message = location.empty() ? text : message;
  occurrence.example = message;
  occurrence.location = location;
  occurrence.epoch_us = clock_.epoch_us(t_ns);
  cycle_results_.errors.record(occurrence);
}

stats::CycleResults Recorder::take_cycle() {
  stats::CycleResults out = std::move(cycle_results_);
  cycle_results_ = stats::CycleResults{};
  page_index_.clear();
  request_index_.clear();
  test_index_.clear();
  main_request_of_page_.clear();
  ++slots_generation_;
  return out;
}

std::vector<stats::SeriesPoint> Recorder::take_series(bool include_current) {
  if (include_current && current_second_ != 0) {
    second_.set_cvus(running_vus_);
    if (auto point = second_.roll(current_second_ + 1)) finished_points_.push_back(std::move(*point));
    current_second_ = 0;
    second_begin_ns_ = second_end_ns_ = 0;
  }
  std::vector<stats::SeriesPoint> out;
  out.swap(finished_points_);
  return out;
}

}  // namespace bm::engine
