#include "engine/generator_sampler.hpp"

#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace bm::engine {

namespace {

int64_t mono_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Small /proc files read with one read(): no allocation beyond the buffer.
std::size_t read_small(const char* path, char* buffer, std::size_t size) {
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return 0;
  const std::size_t n = std::fread(buffer, 1, size - 1, f);
  std::fclose(f);
  buffer[n] = '\0';
  return n;
}

// utime + stime of this process, in seconds (fields 14 and 15 of /proc/self/stat).
double process_cpu_seconds() {
  char buffer[1024];
  if (read_small("/proc/self/stat", buffer, sizeof buffer) == 0) return -1;
  const char* after_name = std::strrchr(buffer, ')');  // the name may hold spaces
  if (after_name == nullptr) return -1;
  unsigned long long utime = 0, stime = 0;
  // After ")": state, then fields 4..13, then utime (14) and stime (15).
  if (std::sscanf(after_name + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) {
    return -1;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

uint64_t resident_bytes() {
  char buffer[256];
  if (read_small("/proc/self/statm", buffer, sizeof buffer) == 0) return 0;
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buffer, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// The machine's busy and total jiffies from /proc/stat's first line.
bool host_jiffies(double* busy, double* total) {
  char buffer[512];
  if (read_small("/proc/stat", buffer, sizeof buffer) == 0) return false;
  unsigned long long v[8] = {};
  if (std::sscanf(buffer, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &v[6], &v[7]) < 4) {
    return false;
  }
  *total = 0;
  for (unsigned long long x : v) *total += static_cast<double>(x);
  *busy = *total - static_cast<double>(v[3] + v[4]);  // idle and iowait
  return true;
}

// Nanoseconds this process's threads have waited on a run queue (runnable, not running):
// the second field of each /proc/self/task/*/schedstat. -1 when the kernel keeps none.
int64_t run_queue_wait_ns() {
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return -1;
  int64_t total = 0;
  bool any = false;
  while (const dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    char path[sizeof "/proc/self/task//schedstat" + sizeof entry->d_name];
    std::snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", entry->d_name);
    char buffer[128];
    if (read_small(path, buffer, sizeof buffer) == 0) continue;
    unsigned long long running = 0, waiting = 0;
    if (std::sscanf(buffer, "%llu %llu", &running, &waiting) != 2) continue;
    total += static_cast<int64_t>(waiting);
    any = true;
  }
  ::closedir(tasks);
  return any ? total : -1;
}

}  // namespace

int GeneratorSampler::usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(online) : 1;
}

GeneratorSampler::GeneratorSampler(stats::GeneratorHealth identity, std::function<LoopFigures()> figures)
    : health_(std::move(identity)), figures_(std::move(figures)) {
  if (health_.cores == 0) health_.cores = usable_cores();
}

GeneratorSampler::~GeneratorSampler() { stop(); }

void GeneratorSampler::start() {
  process_seconds_ = process_cpu_seconds();
  wait_ns_ = run_queue_wait_ns();
  host_jiffies(&host_busy_, &host_total_);
  mono_ns_ = mono_now_ns();
  thread_ = std::thread([this] { run(); });
}

void GeneratorSampler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

stats::GeneratorHealth GeneratorSampler::snapshot() const {
  std::lock_guard lock(mutex_);
  return health_;
}

void GeneratorSampler::run() {
  using clock = std::chrono::system_clock;
  for (;;) {
    // Wake at the next wall-clock second: a point covers one second of the series.
    const auto now = clock::now();
    const auto next = std::chrono::ceil<std::chrono::seconds>(now + std::chrono::milliseconds(1));
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
    }
    sample(std::chrono::duration_cast<std::chrono::seconds>(next.time_since_epoch()).count() - 1);
  }
}

void GeneratorSampler::sample(int64_t second) {
  const int64_t mono = mono_now_ns();
  const double elapsed = static_cast<double>(mono - mono_ns_) / 1e9;
  const double process = process_cpu_seconds();
  const int64_t wait = run_queue_wait_ns();
  double busy = 0, total = 0;
  const bool host = host_jiffies(&busy, &total);
  const LoopFigures loops = figures_ ? figures_() : LoopFigures{};
  stats::GeneratorPoint p;
  p.t = second;
  if (elapsed > 0 && process >= 0 && process_seconds_ >= 0) p.process_cpu = (process - process_seconds_) / elapsed;
  if (host && total > host_total_) p.host_cpu = (busy - host_busy_) / (total - host_total_);
  // Threads that ended meanwhile take their waits with them: a drop counts as none.
  if (elapsed > 0 && wait >= 0 && wait_ns_ >= 0 && wait > wait_ns_) {
    p.cpu_wait = static_cast<double>(wait - wait_ns_) / 1e9 / elapsed / std::max(1, health_.workers);
  }
  p.lag_ms = static_cast<double>(loops.lag_ns) / 1e6;
  p.rss_bytes = resident_bytes();
  p.connections = loops.connections;
  p.saturated = stats::is_saturated(p.process_cpu, p.cpu_wait, p.lag_ms, health_.workers, health_.cores);
  process_seconds_ = process;
  wait_ns_ = wait;
  if (host) host_busy_ = busy, host_total_ = total;
  mono_ns_ = mono;
  std::lock_guard lock(mutex_);
  if (health_.points.empty() || health_.points.back().t < p.t) health_.points.push_back(p);
}

}  // namespace bm::engine
