// Compiled into benchmaster in the sanitizer build only (-DBM_SANITIZE=ON,
// docs/fuzzing.md). The sanitizers' options when ASAN_OPTIONS and UBSAN_OPTIONS do not
// say otherwise: a node started over SSH gets no environment from the tests, and with
// the defaults a report would end it with exit code 1, which the master reads as
// "finished, some tests failed". 86 is a code no command of ours uses.
extern "C" const char* __asan_default_options() {
  return "exitcode=86:detect_leaks=1:check_initialization_order=1:strict_init_order=1:"
         "detect_stack_use_after_return=1";
}

extern "C" const char* __ubsan_default_options() {
  return "exitcode=86:halt_on_error=1:print_stacktrace=1";
}
