"""Bad input gets one clear line and a non-zero exit; nothing crashes, hangs or loses
finished results. One test per row of the engine issue's list."""

import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import BENCHMASTER, DemoServer, Process, TestCase, bench_conf, free_port, read_json, run


GET_ROOT = """
function test_T(vu)
  vu:get(conf_get("main", "url") .. "{path}", {{description = "Page"}})
end
"""


class BadInput(TestCase):
    def assert_one_line_error(self, proc, *fragments, code=2):
        self.assertEqual(proc.returncode, code, proc.stdout + proc.stderr)
        lines = [l for l in proc.stderr.splitlines() if l.strip() and "warning:" not in l]
        self.assertEqual(len(lines), 1, proc.stderr)
        for f in fragments:
            self.assertIn(f, lines[0])
        self.assertNotIn("Traceback", proc.stderr)
        self.assertNotIn("terminate called", proc.stderr)

    def test_missing_test_file(self):
        proc = run(["run", os.path.join(self.out, "test_Nope.lua")])
        self.assert_one_line_error(proc, "test_Nope.lua", "no such test file")

    def test_missing_conf(self):
        test = self.write("test_T.lua", "function test_T(vu) end\n")
        proc = run(["test", test])
        self.assert_one_line_error(proc, "T.conf", "no such conf file")

    def test_unreadable_conf(self):
        test = self.make_test("T", "function test_T(vu) end\n", bench_conf("http://127.0.0.1:1"))
        os.chmod(os.path.join(self.out, "T.conf"), 0)
        if os.access(os.path.join(self.out, "T.conf"), os.R_OK):
            self.skipTest("running as a user who can read any file")
        proc = run(["test", test])
        self.assert_one_line_error(proc, "T.conf")

    def test_lua_syntax_error_names_file_and_line(self):
        test = self.make_test("T", "function test_T(vu)\n  local x = = 1\nend\n",
                              bench_conf("http://127.0.0.1:1"))
        proc = run(["run", test])
        self.assert_one_line_error(proc, "test_T.lua:2:")

    def test_lua_runtime_error_is_an_error_with_file_line_and_page(self):
        demo = self.start(DemoServer())
        test = self.make_test("T", """
function test_T(vu)
  local r = vu:get(conf_get("main", "url") .. "/bytes/10", {description = "Ten"})
  local t = nil
  return t.field
end
""", bench_conf(demo.url))
        proc = run(["test", test])
        self.assertEqual(proc.returncode, 1)
        self.assertIn(f"ERROR test_T #1: script (E): {test}:5: attempt to index a nil value", proc.stdout)
        self.assertIn("after page 'Ten'", proc.stdout)

    def test_failed_assertion_is_a_failure(self):
        demo = self.start(DemoServer())
        test = self.make_test("T", """
function test_T(vu)
  local r = vu:get(conf_get("main", "url") .. "/bytes/10")
  assert(r.size == 11, "wrong size " .. r.size)
end
""", bench_conf(demo.url))
        proc = run(["test", test])
        self.assertEqual(proc.returncode, 1)
        self.assertIn(f"FAIL test_T #1: assertion (F): {test}:4: wrong size 10", proc.stdout)

    def test_malformed_conf_value(self):
        test = self.make_test("T", "function test_T(vu) end\n",
                              bench_conf("http://127.0.0.1:1", cycles=1, duration="soon"))
        proc = run(["run", test])
        self.assert_one_line_error(proc, "T.conf:", "duration", "soon")

    def test_bad_cycles_in_conf_and_on_command_line(self):
        test = self.make_test("T", "function test_T(vu) end\n",
                              bench_conf("http://127.0.0.1:1", cycles="10:x", duration=1))
        proc = run(["run", test])
        self.assert_one_line_error(proc, "T.conf:5:", "10:x")
        self.write("T.conf", bench_conf("http://127.0.0.1:1", cycles="1", duration=1))
        proc = run(["run", test, "-c", "10:x"])
        self.assert_one_line_error(proc, "-c/--cycles", "10:x")

    def test_unknown_and_malformed_cli_options(self):
        test = self.make_test("T", "function test_T(vu) end\n",
                              bench_conf("http://127.0.0.1:1"))
        self.assert_one_line_error(run(["run", test, "--no-such-option"]), "--no-such-option")
        self.assert_one_line_error(run(["run", test, "-D", "abc"]), "-D/--duration", "abc")

    def test_missing_test_function(self):
        # No test_T, and no other test_* function to run instead (test_cli_funkload.py).
        test = self.make_test("T", "function other(vu) end\n",
                              bench_conf("http://127.0.0.1:1"))
        self.assert_one_line_error(run(["run", test]), "test_T")

    def test_refused_target_is_counted_as_connect_errors(self):
        port = free_port()  # nothing listens there
        test = self.make_test("T", GET_ROOT.format(path="/"),
                              bench_conf(f"http://127.0.0.1:{port}", cycles=2, duration=1))
        out = os.path.join(self.out, "run")
        proc = run(["run", test, "-o", out])
        self.assertEqual(proc.returncode, 1, proc.stderr)
        results = read_json(os.path.join(out, "results.json"))
        page = results["cycles"][0]["pages"][0]
        self.assertGreater(page["errors"], 0)
        self.assertEqual(list(page["error_kinds"]), ["connect"])
        self.assertIn("E", proc.stdout)

    def hostile(self, path, kind, timeout="5"):
        demo = self.start(DemoServer())
        test = self.make_test("T", GET_ROOT.format(path=path),
                              bench_conf(demo.url))
        proc = run(["test", test, "--timeout", timeout], timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn(f"ERROR test_T #1: {kind} (E)", proc.stdout)
        return proc

    def test_target_closing_mid_response(self):
        proc = self.hostile("/hostile/close-mid", "reset")
        self.assertIn("closed", proc.stdout)

    def test_target_sending_garbage(self):
        self.hostile("/hostile/garbage", "protocol")

    def test_target_sending_an_endless_body(self):
        proc = self.hostile("/hostile/endless", "too_large", timeout="60")
        self.assertIn("larger than", proc.stdout)

    def test_target_sending_headers_too_large(self):
        proc = self.hostile("/hostile/huge-headers", "too_large")
        self.assertIn("headers larger than", proc.stdout)

    def test_target_never_answering_times_out(self):
        proc = self.hostile("/hostile/no-response", "timeout", timeout="0.5")
        self.assertIn("within 0.5s", proc.stdout)


class Interrupt(TestCase):
    def test_sigint_mid_cycle_keeps_finished_cycles(self):
        demo = self.start(DemoServer())
        test = self.make_test("T", GET_ROOT.format(path="/delay/5"),
                              bench_conf(demo.url, cycles="2:2:2", duration=2))
        out = os.path.join(self.out, "run")
        bench = self.start(Process([BENCHMASTER, "run", test, "-o", out], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True))
        # Wait until the first cycle is done, then interrupt during the second.
        seen = []
        while True:
            line = bench.proc.stdout.readline()
            self.assertTrue(line, "bench ended early: " + "".join(seen))
            seen.append(line)
            if line.startswith("Cycle #2"):  # the second cycle begins
                break
        bench.proc.send_signal(signal.SIGINT)
        rest, err = bench.proc.communicate(timeout=30)
        self.assertEqual(bench.proc.returncode, 130, rest + err)
        self.assertIn("Interrupted", rest)
        results = read_json(os.path.join(out, "results.json"))
        self.assertEqual(results["run"]["status"], "interrupted")
        self.assertEqual([c["status"] for c in results["cycles"]], ["complete", "incomplete"])
        self.assertGreater(results["cycles"][0]["pages"][0]["ok"], 0)


if __name__ == "__main__":
    unittest.main()
