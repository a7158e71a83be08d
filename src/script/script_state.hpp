#pragma once
// One Lua state holding a loaded test (test_Name.lua), as each worker thread owns one.
// Virtual users are coroutines of this state; the engine drives them through the
// small resume interface below and never touches the Lua stack itself.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "script/vu_state.hpp"

struct lua_State;
struct lua_Debug;

namespace bm::conf {
class ConfFile;
}
namespace bm::feeder {
class FeederSet;
}

namespace bm::script {

class LuaAllocator;

// What the test file may define besides its test function.
enum class Hook { setup_bench, teardown_bench, setup_cycle, mid_cycle, teardown_cycle,
                  setup_vu, teardown_vu, setup, teardown };
const char* hook_name(Hook hook);

// How one resume of a coroutine ended.
struct RunResult {
  enum class State { waiting, finished, failed } state = State::finished;
  Verdict verdict = Verdict::ok;  // for failed: failure or error
  std::string kind;               // "assertion", "status", "timeout", "script", ...
  std::string message;            // one line, "file:line: text" where there is one
  std::string traceback;          // Lua traceback for script errors
};

struct ScriptIdentity {
  int node_num = 0;
  std::string test_name;   // "Simple"
  // The test file as the user named it ("shop/test_Shop.lua"), for "file:line:" in
  // messages; empty: the file's base name.
  std::string test_file_shown;
  std::string url;         // [main] url after overrides
  std::string version;
  std::function<void(std::string_view)> log_sink;  // where log() lines go
  // The [feeder.NAME] files, loaded once per process and shared by every worker's state.
  std::shared_ptr<feeder::FeederSet> feeders;
};

// RunResult::kind of a test that ended because a feeder with at_end = stop_user ran out:
// the virtual user stops; the test is neither passed nor failed.
inline constexpr std::string_view kStopUserKind = "stop_user";

class ScriptState {
 public:
  ScriptState();
  ~ScriptState();
  ScriptState(const ScriptState&) = delete;
  ScriptState& operator=(const ScriptState&) = delete;

  // Loads and runs the test file's chunk. Errors come as one line: "file:line: message".
  bool load(const std::filesystem::path& test_file, const conf::ConfFile* conf,
            const ScriptIdentity& identity, std::string* error);
  bool has_function(std::string_view name) const;
  // The names of the global functions (the test file's and the API's), sorted.
  std::vector<std::string> global_functions() const;
  // The hooks the file defined when it had loaded (later definitions are not seen).
  bool has_hook(Hook hook) const;

  // A virtual user: a coroutine bound to its host. Returns an id for the calls below.
  int create_vu(VuHost* host);
  void destroy_vu(int vu);

  // A registry reference to a global function (looked up once), LUA_NOREF (-2) if none.
  int function_ref(std::string_view name);
  // Starts `function(vu, args...)` in the virtual user's coroutine.
  RunResult start(int vu, int function_ref, std::initializer_list<double> args = {});
  RunResult start(int vu, std::string_view function, std::initializer_list<double> args = {});
  RunResult start_hook(int vu, Hook hook, std::initializer_list<double> args = {});
  // Runs `test(vu)` again and again in the coroutine for as long as the host's
  // test_passed() says so: one resume per request instead of two for a one-request
  // test. An error ends the loop like any failed test.
  RunResult start_tests(int vu, int test_ref);
  // Resumes after the asynchronous operation the coroutine waited for has finished.
  RunResult resume(int vu);

  // How many virtual users share this state: tunes the garbage collector.
  void set_users(size_t users);

  // A run that does not yield (a test in a loop of its own) holds the worker's thread.
  // Another thread may break it: running_run() names the resume in progress (0 when
  // none), and break_run() makes that resume fail with "file:line: <reason>" if it is
  // still the one running. Returns whether it was.
  uint64_t running_run() const;
  // `abandon`: the run stops (Ctrl-C), the test is not to blame: its result's kind is
  // "abandoned", and the engine counts it apart instead of as an error.
  bool break_run(uint64_t run, std::string reason, bool abandon = false);

  lua_State* lua() { return L_; }
  size_t memory_bytes() const;

 private:
  RunResult run(int vu, int nargs);
  static void break_hook(lua_State* L, struct lua_Debug* ar);
  bool push_break_message(lua_State* co);
  void replace_coroutine(int vu);  // false: no break is due for this run
  // Lua's "test_X.lua:12:" locations in a message, as the user named the file.
  void name_file_as_shown(std::string* text) const;
  static std::string describe_error_value(lua_State* L, int index);  // pops the value
  lua_State* idle_coroutine(int vu);
  std::unordered_map<std::string, int> function_refs_;
  std::array<int, 9> hook_refs_;  // by Hook; LUA_NOREF (-2) where the file defines none
  int test_loop_ref_ = -2;        // the chunk behind start_tests
  std::unique_ptr<LuaAllocator> allocator_;  // outlives L_
  std::shared_ptr<feeder::FeederSet> feeders_;  // what feed() reads
  lua_State* L_ = nullptr;
  int gc_pause_ = 0;
  struct Vu;
  std::vector<Vu*> vus_;
  std::vector<int> free_ids_;
  std::atomic<lua_State*> running_co_{nullptr};
  std::atomic<uint64_t> run_seq_{0};
  std::mutex break_mutex_;
  uint64_t break_seq_ = 0;
  uint64_t broken_run_ = 0;  // the run the hook broke (worker thread only)
  bool broken_run_abandoned_ = false;
  bool break_abandons_ = false;
  std::string break_reason_;
  std::string chunk_location_;  // "test_X.lua:", as Lua writes locations in the file
  std::string shown_location_;  // "shop/test_X.lua:", as messages write them
};

}  // namespace bm::script
