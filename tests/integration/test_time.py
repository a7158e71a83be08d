"""Exact in time: every cycle starts together on every node (a barrier through the
master), control actions (stop, window end) take effect promptly at 10,000 users, a
test that never yields is ended and SIGTERM always ends the process, what was in flight
at a stop is counted, and an unreachable target is not hammered. docs/statistics.md and
docs/engine.md state these guarantees."""

import glob
import json
import os
import re
import signal
import subprocess
import time
import unittest

from harness import (BENCHMASTER, DemoServer, Nginx, Process, TestCase, bench_conf, free_port, read_json, run,
                     skip_under_sanitizers)
from test_master import read_text, requests_counted, wait_for

SKEW_BOUND_US = 50_000


def nginx_root(out):
    root = os.path.join(out, "www")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("x" * 512)
    return root


class BackgroundBench(TestCase):
    """bench-run in the background, its output in a file the test can wait on."""

    def start_bench(self, test, out):
        self.bench_log = os.path.join(self.out, "stdout.txt")
        log = open(self.bench_log, "w")
        self.addCleanup(log.close)
        return self.start(Process([BENCHMASTER, "run", test, "-o", out], stdout=log, stderr=subprocess.STDOUT))

    def wait_for_output(self, text, what):
        def seen():
            with open(self.bench_log) as f:
                return text in f.read()
        wait_for(seen, 60, what)


class CyclesInStep(TestCase):
    @skip_under_sanitizers("its count check (nginx against the nodes, within one request per user at each "
                           "edge of the merged window) holds when the nodes open their windows within a "
                           "millisecond; the sanitizer build's nodes opened them 4.3 and 6.6 ms apart (inside "
                           "the test's 50 ms bound), 61 requests at 14,000/s")
    def test_every_cycle_starts_together_though_one_node_drains_slowly(self):
        nginx = self.start(Nginx(nginx_root(self.out), os.path.join(self.out, "nginx")))
        # Node 2 thinks for 1.5 s after each request: its drain lasts up to 1.5 s longer
        # than the others', which used to push its later windows apart from theirs.
        test = self.make_test("Step", """
function test_Step(vu)
  vu:get(conf_get("main", "url") .. "/index.html")
  if vu.node_num == 2 then vu:sleep(1.5) end
end
""", bench_conf(nginx.url, title="Step", cycles="2:4:6", duration=2, startup_delay=0, sleep_time=0, cycle_time=0))
        w = os.path.join(self.out, "w")
        proc = run(["master", test, "--nodes", "local*3", "-n", "step", "-w", w, "-x", os.path.join(self.out, "x")],
                   check=0, timeout=180)
        run_dir = glob.glob(os.path.join(w, "step", "reports", "Step-*"))[0]
        merged = read_json(os.path.join(run_dir, "results.json"))
        nodes = [read_json(p) for p in sorted(glob.glob(os.path.join(run_dir, "results", "node-*.json")))]
        self.assertEqual(len(nodes), 3)
        offsets = {n["node_num"]: n["clock_offset_us"] for n in merged["nodes"]}
        for ci in range(3):
            starts = [n["cycles"][ci]["window_start_epoch_us"] - offsets[n["run"]["node_num"]] for n in nodes]
            ends = [n["cycles"][ci]["window_end_epoch_us"] - offsets[n["run"]["node_num"]] for n in nodes]
            self.assertLess(max(starts) - min(starts), SKEW_BOUND_US, f"cycle {ci + 1} windows opened apart")
            self.assertLess(max(ends) - min(ends), SKEW_BOUND_US, f"cycle {ci + 1} windows closed apart")
            self.assertLess(merged["cycles"][ci]["window_skew_us"], SKEW_BOUND_US)
            # The merged window is the span every node was in its window.
            self.assertEqual(merged["cycles"][ci]["window_start_epoch_us"], max(starts))
            self.assertEqual(merged["cycles"][ci]["window_end_epoch_us"], min(ends))
        self.assertIn("Window skew between nodes", read_text(os.path.join(run_dir, "report.txt")))
        self.assertNotIn("warning: the nodes' windows", proc.stdout)
        nginx.stop()  # flushes the log
        # What nginx finished inside each merged window equals what the nodes counted
        # there, within the requests in flight at its edges (one per user at each end).
        for cycle in merged["cycles"]:
            counted = sum(r["ok"] + r["failures"] + r["errors"] for r in cycle["requests"])
            served = nginx.served_between(cycle["window_start_epoch_us"], cycle["window_end_epoch_us"])
            self.assertGreater(counted, 0)
            self.assertLessEqual(abs(served - counted), 2 * cycle["cvus"] + 2,
                                 f"cycle {cycle['index']}: nginx {served}, counted {counted}")


class PromptControl(TestCase):
    def test_stop_and_window_end_take_effect_promptly_at_10000_users(self):
        nginx = self.start(Nginx(nginx_root(self.out), os.path.join(self.out, "nginx"), connections=10500))
        test = self.make_test("Small", """
function test_Small(vu)
  vu:get(conf_get("main", "url") .. "/index.html")
end
""", bench_conf(nginx.url, title="Small", cycles=10000, duration=3, startup_delay=None,
                                                                       sleep_time=None, cycle_time=None))
        out = os.path.join(self.out, "run")
        proc = run(["run", test, "-f", "--workers", "1", "-o", out], timeout=300)
        self.assertIn(proc.returncode, (0, 1), proc.stderr)  # nginx may reset a connection under this load
        cycle = read_json(os.path.join(out, "results.json"))["cycles"][0]
        # Posted control work (the stop at the window's end) waited behind the sockets'
        # events for 0.4 to 20 s before. The design bound is 50 ms and a quiet machine
        # shows about 1 ms (docs/engine.md); this wall-clock figure also counts the time
        # a loaded machine leaves the worker descheduled, so the test allows 1 s. The
        # unit test ReadyPollerFairness checks the mechanism exactly, and the drain
        # count below checks its effect.
        self.assertLess(cycle["control_lag_us"], 1_000_000, cycle["control_lag_us"])
        # Once the stop has run, each user finishes at most the test it is in: what
        # completes in the drain is one test per user plus what ran while the stop was
        # on its way (a few thousand at ~20,000 tests/s); 852,184 in one 5 s run before.
        self.assertGreater(sum(t["ok"] for t in cycle["tests"]), 0)
        self.assertLessEqual(cycle["outside_window"]["tests"], 3 * 10000)


class NeverYields(BackgroundBench):
    LUA = """
function test_Spin(vu)
  vu:get(conf_get("main", "url") .. "/")
  while true do end
end
"""

    def conf(self, url, limit):
        return bench_conf(url, title="Spin", cycles=1, duration=3, startup_delay=None, sleep_time=None,
                          cycle_time=None, extra=f"lua_time_limit = {limit}\n")

    def test_a_test_that_never_yields_ends_as_an_error(self):
        demo = self.start(DemoServer())
        test = self.make_test("Spin", self.LUA, self.conf(demo.url, 1))
        out = os.path.join(self.out, "run")
        started = time.monotonic()
        proc = run(["run", test, "-o", out], timeout=120)
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        results = read_json(os.path.join(out, "results.json"))
        self.assertEqual(results["run"]["status"], "complete")
        messages = [g["message"] for c in results["cycles"] for g in c["errors"]]
        self.assertTrue(any("lua_time_limit" in m and "test_Spin.lua:4:" in m for m in messages), messages)

    def test_sigterm_ends_the_process_even_when_the_test_never_yields(self):
        demo = self.start(DemoServer())
        test = self.make_test("Spin", self.LUA, self.conf(demo.url, 0).replace("duration = 3", "duration = 600"))
        out = os.path.join(self.out, "run")
        bench = self.start_bench(test, out)
        self.wait_for_output("Logging", "the logging window")
        bench.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = bench.proc.wait(timeout=60)
        self.assertLess(time.monotonic() - started, 16)  # the documented bound: 15 s
        self.assertEqual(code, 130)
        results = read_json(os.path.join(out, "results.json"))
        self.assertEqual(results["run"]["status"], "interrupted")
        # The test broken by the stop is not the test's error: it is abandoned.
        cycle = results["cycles"][0]
        self.assertEqual(cycle["abandoned"]["tests"], 1)
        self.assertEqual(sum(t["errors"] for t in cycle["tests"]), 0)


class NothingLost(BackgroundBench):
    def test_ctrl_c_counts_the_requests_in_flight_as_abandoned(self):
        demo = self.start(DemoServer(threads=2))
        test = self.make_test("Slow", """
function test_Slow(vu)
  vu:get(conf_get("main", "url") .. "/delay/300", {description = "slow"})
end
""", bench_conf(demo.url, title="Slow", cycles=10, duration=30, startup_delay=0, sleep_time=0, cycle_time=None))
        out = os.path.join(self.out, "run")
        bench = self.start_bench(test, out)
        self.wait_for_output("Logging", "the logging window")
        wait_for(lambda: demo.counter()["requests"] >= 30, 60, "some requests")
        bench.proc.send_signal(signal.SIGINT)
        self.assertEqual(bench.proc.wait(timeout=60), 130)
        results = read_json(os.path.join(out, "results.json"))
        cycle = results["cycles"][0]
        self.assertEqual(cycle["abandoned"]["requests"], 10)  # every user had one out
        self.assertEqual(sum(p["abandoned"] for p in cycle["pages"]), 10)
        counted = requests_counted(results)
        # The server finishes the abandoned ones 300 ms after the stop.
        wait_for(lambda: demo.counter()["requests"] == counted, 10,
                 f"the server's count to reach the tool's {counted}")
        # Per page and request, the counts outside the window are there to reconcile.
        page = next(p for p in cycle["pages"] if p["key"] == "slow")
        self.assertEqual(page["ok"] + page.get("outside_window", 0) + page["abandoned"],
                         demo.counter()["by_path"]["/delay/300"])

    def test_an_interrupted_cycle_never_feeds_the_peak(self):
        demo = self.start(DemoServer())
        test = self.make_test("Peak", """
function test_Peak(vu)
  vu:get(conf_get("main", "url") .. "/delay/20")
end
""", bench_conf(demo.url, title="Peak", cycles="2:2", duration=2, startup_delay=0, sleep_time=0, cycle_time=0))
        out = os.path.join(self.out, "run")
        bench = self.start_bench(test, out)
        self.wait_for_output("Cycle #2 with", "the second cycle")
        bench.proc.send_signal(signal.SIGINT)
        self.assertEqual(bench.proc.wait(timeout=60), 130)
        results = read_json(os.path.join(out, "results.json"))
        self.assertEqual([c["status"] for c in results["cycles"]], ["complete", "incomplete"])
        html = os.path.join(self.out, "report.html")
        run(["report", out, "--html", "-o", html], check=0)
        page = read_text(html if os.path.isfile(html) else glob.glob(os.path.join(html, "*.html"))[0])
        peak = re.search(r"Peak throughput</div><div class=\"card-value\">[^<]*<span[^>]*>[^<]*</span></div>"
                         r"<div class=\"card-sub\">([^<]*)</div>", page)
        self.assertIsNotNone(peak)
        self.assertIn("C1", peak.group(1))


class UnreachableTarget(TestCase):
    def test_connect_errors_back_off_and_rates_count_successes(self):
        port = free_port()  # nothing listens there
        test = self.make_test("Down", f"""
function test_Down(vu)
  vu:get("http://127.0.0.1:{port}/")
end
""", """[main]
title = Down
url = http://127.0.0.1:1
[bench]
cycles = 2
duration = 2
startup_delay = 0
sleep_time = 0
""")
        out = os.path.join(self.out, "run")
        proc = run(["run", test, "-o", out], timeout=120)
        self.assertEqual(proc.returncode, 1)
        cycle = read_json(os.path.join(out, "results.json"))["cycles"][0]
        errors = sum(r["errors"] for r in cycle["requests"])
        self.assertGreater(errors, 2)
        # Backing off to 1 s between tries: two users over a 2 s window try a handful
        # of times, not tens of thousands.
        self.assertLess(errors, 60)
        self.assertIn("0.0 successful requests/s", proc.stdout)


if __name__ == "__main__":
    unittest.main()
