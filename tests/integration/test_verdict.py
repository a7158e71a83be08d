"""Verdicts on real runs (docs/verdicts.md): a run whose target starts failing half-way
fails at the top of every report and in its exit code, a healthy one passes, a target
with a known capacity gets its knee named, every kind of threshold passes and fails, the
JUnit file is read by real consumers, --abort-on-fail stops early, and bench-master
judges the merged figures."""
import glob
import json
import os
import subprocess
import unittest

from harness import BENCHMASTER, DemoServer, TestCase, bench_conf, read_json, run

SOURCE_DIR = os.environ.get("BM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
JUNIT_XSD = os.path.join(SOURCE_DIR, "tests", "data", "junit.xsd")

# Two pages per test, so page and test figures differ.
SHOP_LUA = """
function test_Shop(vu)
  local base = conf_get("main", "url")
  vu:get(base .. "/", {description = "home"})
  vu:get(base .. "/search?q=tea", {description = "search"})
end
"""

SLOW_LUA = """
function test_Slow(vu)
  vu:get(conf_get("main", "url") .. "/delay/50", {description = "slow"})
end
"""


class VerdictCase(TestCase):
    def bench(self, name, *args, expect=None, timeout=300):
        proc = run(["run", os.path.join(self.out, f"test_{name}.lua"), "-o", os.path.join(self.out, name + "-out"),
                    *args], timeout=timeout)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, proc.stdout + proc.stderr)
        return proc, os.path.join(self.out, name + "-out")

    def text_report(self, folder, *args, expect=0):
        proc = run(["report", folder, *args])
        self.assertEqual(proc.returncode, expect, proc.stdout + proc.stderr)
        return proc.stdout

    def html(self, folder):
        with open(os.path.join(folder, "index.html"), encoding="utf-8") as f:
            return f.read()

    def check_junit(self, path, tests, failures):
        """xmllint against the JUnit schema kept in tests/data, then junitparser (Debian's
        python3-junitparser, run by the system Python that has it)."""
        lint = subprocess.run(["xmllint", "--noout", "--schema", JUNIT_XSD, path], capture_output=True, text=True)
        self.assertEqual(lint.returncode, 0, lint.stderr)
        script = ("import json, sys, junitparser\n"
                  "x = junitparser.JUnitXml.fromfile(sys.argv[1])\n"
                  "cases = [(c.name, [type(r).__name__ for r in c.result]) for s in x for c in s]\n"
                  "print(json.dumps({'tests': x.tests, 'failures': x.failures, 'cases': cases}))\n")
        parsed = subprocess.run(["/usr/bin/python3", "-c", script, path], capture_output=True, text=True)
        self.assertEqual(parsed.returncode, 0, parsed.stderr)
        doc = json.loads(parsed.stdout)
        self.assertEqual(doc["tests"], tests)
        self.assertEqual(doc["failures"], failures)
        self.assertEqual(sum(1 for _, results in doc["cases"] if "Failure" in results), failures)
        return doc["cases"]


class TestFailingAndHealthyRuns(VerdictCase):
    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer(threads=2))
        self.make_test("Shop", SHOP_LUA, bench_conf(self.demo.url, title="Shop", cycles="2:2:2", duration=1.5))

    def run_failing_half_way(self, *args):
        """Cycle 1 healthy; the target is switched to failing as cycle 2 begins (the bench's
        own 'Cycle #2' line is the cue)."""
        out = os.path.join(self.out, "Shop-out")
        proc = subprocess.Popen([BENCHMASTER, "run", os.path.join(self.out, "test_Shop.lua"), "-o", out, *args],
                                cwd=self.out, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("Cycle #2 "):
                    self.demo.switch(True)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            self.demo.switch(False)
        return proc.returncode, "".join(lines) + proc.stderr.read(), out

    def test_failing_half_way_fails_everywhere(self):
        code, output, out = self.run_failing_half_way("--threshold", "errors < 1%", "--junit",
                                                      os.path.join(self.out, "junit.xml"))
        self.assertEqual(code, 4, output)
        self.assertIn("FAILED: 1 of 1 threshold failed (failed requests < 1.00 %: ", output)
        results = read_json(os.path.join(out, "results.json"))
        self.assertEqual(results["config"]["thresholds"], ["errors < 1%"])
        text = self.text_report(out, expect=4)
        head = text.split("\n\n")[1]
        self.assertTrue(head.startswith("FAILED: 1 of 1 threshold failed"), text[:600])
        self.assertIn("Capacity: 2 users met every threshold (C1 · 2 users).", text)
        self.assertRegex(text, r"Worst cycle: C[23] · 2 users: 100\.00 % of pages failed")
        html = self.html(out)
        verdict = html.index('<section id="verdict" class="verdict verdict-fail"')
        self.assertLess(verdict, html.index('aria-label="Key figures"'))
        self.assertLess(verdict, html.index('id="run"'))
        self.assertIn('<td class="th-fail">FAILED</td>', html)
        cases = self.check_junit(os.path.join(self.out, "junit.xml"), tests=3, failures=2)
        self.assertEqual([name for name, _ in cases],
                         ["errors < 1% [C1 · 2 users]", "errors < 1% [C2 · 2 users]", "errors < 1% [C3 · 2 users]"])
        self.assertEqual(cases[0][1], [])

    def test_failing_half_way_without_thresholds_fails_on_tests(self):
        code, output, out = self.run_failing_half_way()
        self.assertEqual(code, 1, output)
        self.assertIn("; no thresholds set.", output)
        self.assertTrue(self.text_report(out).split("\n\n")[1].startswith("FAILED: "))
        self.assertIn('class="verdict verdict-fail"', self.html(out))

    def test_healthy_run_passes(self):
        summary = os.path.join(self.out, "summary.json")
        proc, out = self.bench("Shop", "--threshold", "p99 < 5s", "--threshold", "tests_failed{run} < 1%",
                               "--summary-json", summary, expect=0)
        self.assertIn("PASSED: 2 thresholds met in 3 complete cycles, up to 2 users.", proc.stdout)
        # The report's path stays the last line.
        self.assertTrue(proc.stdout.rstrip().splitlines()[-1].startswith("Report: "), proc.stdout)
        doc = read_json(summary)
        self.assertEqual((doc["format"], doc["passed"], doc["exit_code"]), ("benchmaster-summary", True, 0))
        self.assertEqual([t["passed"] for t in doc["thresholds"]], [True, True])
        self.assertEqual(len(doc["cycles"]), 3)
        # Two pages per test (within a test or two at the window's edges).
        self.assertAlmostEqual(doc["cycles"][0]["pages"] / doc["cycles"][0]["tests"], 2.0, delta=0.01)
        self.assertIn('class="verdict verdict-pass"', self.html(out))
        self.assertTrue(self.text_report(out).split("\n\n")[1].startswith("PASSED: 2 thresholds met"))


class TestThresholdKinds(VerdictCase):
    """One real run, then each kind of threshold judged on it by bench-report, passing and
    failing: the exit code, the verdict line and the JUnit file agree."""

    @classmethod
    def setUpClass(cls):
        cls.demo = DemoServer(threads=2)
        out = os.path.join(os.environ.get("BM_TEST_OUT", "/tmp"), "TestThresholdKinds-run")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "Shop.conf"), "w") as f:
            f.write(bench_conf(cls.demo.url, title="Shop", cycles="1:2", duration=1))
        with open(os.path.join(out, "test_Shop.lua"), "w") as f:
            f.write(SHOP_LUA)
        cls.results = os.path.join(out, "out")
        proc = run(["run", os.path.join(out, "test_Shop.lua"), "-o", cls.results], timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    @classmethod
    def tearDownClass(cls):
        cls.demo.stop()

    KINDS = [  # (passes, fails)
        ("p95 < 60s", "p95 < 1us"),
        ("p99.9 <= 60s", "p99.9 < 1us"),
        ("median < 60s", "median > 60s"),
        ("mean < 60s", "mean < 1us"),
        ("max < 60s", "max < 1us"),
        ("min >= 1us", "min > 60s"),
        ("errors < 0.5%", "errors > 0.5%"),
        ("tests_failed < 1%", "tests_failed > 1%"),
        ("pages_failed{run} <= 0", "pages_failed{run} > 0%"),
        ("rps > 1", "rps > 100000000"),
        ("rate{tests} > 1/s", "tests_per_s > 100000000"),
        ("apdex >= 0.5", "apdex > 1"),
        ("p95{page=search} < 60s", "p95{page=search} < 1us"),
        ("errors{page=home,run} < 1%", "p50{page=nowhere} < 60s"),
    ]

    def test_each_kind_passes_and_fails(self):
        for passing, failing in self.KINDS:
            with self.subTest(threshold=passing):
                junit = os.path.join(self.out, "pass.xml")
                proc = run(["report", self.results, "--threshold", passing, "--junit", junit])
                self.assertEqual(proc.returncode, 0, passing + "\n" + proc.stdout[:800] + proc.stderr)
                self.assertIn("PASSED: 1 threshold met", proc.stdout)
                count = 1 if "{run" in passing or ",run}" in passing else 2
                self.check_junit(junit, tests=count, failures=0)
            with self.subTest(threshold=failing):
                junit = os.path.join(self.out, "fail.xml")
                proc = run(["report", self.results, "--threshold", failing, "--junit", junit])
                self.assertEqual(proc.returncode, 4, failing + "\n" + proc.stdout[:800] + proc.stderr)
                self.assertIn("FAILED: 1 of 1 threshold failed", proc.stdout)
                count = 1 if "{run" in failing else 2
                self.check_junit(junit, tests=count, failures=count)

    def test_bad_threshold_is_one_line_and_exit_2(self):
        proc = run(["report", self.results, "--threshold", "p95 < 300"])
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stderr.strip().count("\n"), 0, proc.stderr)
        self.assertIn("'300' is not a latency with its unit", proc.stderr)
        conf = self.write("Bad.conf", bench_conf(self.demo.url, extra="[thresholds]\nslow = p95 <\n"))
        self.write("test_Bad.lua", SHOP_LUA.replace("test_Shop", "test_Bad"))
        proc = run(["run", os.path.join(self.out, "test_Bad.lua"), "-o", os.path.join(self.out, "bad")])
        self.assertEqual(proc.returncode, 2)
        line = open(conf).read().splitlines().index("slow = p95 <") + 1
        self.assertIn(f"{conf}:{line}: [thresholds] slow: threshold 'p95 <': no value", proc.stderr)


class TestKneeAndAbort(VerdictCase):
    def test_knee_of_a_target_that_serves_four_at_once(self):
        demo = self.start(DemoServer(threads=2, extra_args=("--max-concurrent", "4")))
        self.make_test("Slow", SLOW_LUA, bench_conf(demo.url, title="Slow", cycles="1:2:4:8:16", duration=1.5))
        summary = os.path.join(self.out, "summary.json")
        proc, out = self.bench("Slow", "--summary-json", summary, expect=0)
        self.assertIn("Knee: C3 · 4 users (", proc.stdout)
        self.assertIn("at C4 · 8 users throughput stopped rising", proc.stdout)
        doc = read_json(summary)
        self.assertEqual(doc["knee"], {"cycle": 3, "users": 4, "cause": "throughput"})
        self.assertIn("Knee: C3 · 4 users (", self.text_report(out))
        html = self.html(out)
        self.assertIn("Knee: C3 · 4 users (", html)
        self.assertRegex(html, r'<div class="card-label">Knee</div><div class="card-value">4<')

    def test_abort_on_fail_stops_after_the_failing_cycle(self):
        demo = self.start(DemoServer(threads=2))
        self.make_test("Shop", SHOP_LUA, bench_conf(demo.url, title="Shop", cycles="1:2:3", duration=1))
        proc, out = self.bench("Shop", "--threshold", "p95 < 1us", "--abort-on-fail", expect=4)
        self.assertIn("* Stopping the bench after cycle #1: threshold failed: p95 of pages < 1 µs: ", proc.stdout)
        self.assertNotIn("Cycle #2", proc.stdout)
        results = read_json(os.path.join(out, "results.json"))
        self.assertEqual(len(results["cycles"]), 1)
        self.assertEqual(results["run"]["status"], "complete")
        self.assertTrue(results["run"]["stop_reason"].startswith("threshold failed: p95 of pages < 1 µs"))
        proc = run(["run", os.path.join(self.out, "test_Shop.lua"), "--abort-on-fail"])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--abort-on-fail: no thresholds", proc.stderr)


class TestMasterVerdict(VerdictCase):
    def test_master_judges_the_merged_figures(self):
        demo = self.start(DemoServer(threads=2))
        self.make_test("Shop", SHOP_LUA,
                       bench_conf(demo.url, title="Shop", cycles="1:2", duration=1,
                                  extra="[thresholds]\nquick = p99 < 60s\n"))
        w = os.path.join(self.out, "w")
        summary = os.path.join(self.out, "summary.json")
        junit = os.path.join(self.out, "junit.xml")
        args = ["master", os.path.join(self.out, "test_Shop.lua"), "-n", "ok", "-w", w, "-x", os.path.join(self.out, "x"),
                "--nodes", "local*2", "--summary-json", summary, "--junit", junit]
        proc = run(args, timeout=240)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("PASSED: 1 threshold met in 2 complete cycles, up to 4 users.", proc.stdout)
        self.assertTrue(proc.stdout.rstrip().splitlines()[-1].startswith("Report: "), proc.stdout)
        merged = read_json(glob.glob(os.path.join(w, "ok", "reports", "Shop-*", "results.json"))[0])
        self.assertEqual(merged["config"]["thresholds"], ["p99 < 60s"])
        doc = read_json(summary)
        self.assertEqual([c["users"] for c in doc["cycles"]], [2, 4])
        self.assertEqual(doc["cycles"][1]["tests"], sum(n["tests"] for n in merged["nodes"]) - doc["cycles"][0]["tests"])
        self.check_junit(junit, tests=2, failures=0)

        args[3] = "failing"
        proc = run(args + ["--threshold", "rps > 100000000"], timeout=240)
        self.assertEqual(proc.returncode, 4, proc.stdout + proc.stderr)
        self.assertIn("FAILED: 1 of 2 thresholds failed (successful requests per second > 100000000 /s: ", proc.stdout)
        self.check_junit(junit, tests=4, failures=2)


    def test_master_abort_on_fail_ends_every_node_after_the_failing_cycle(self):
        demo = self.start(DemoServer(threads=2))
        self.make_test("Shop", SHOP_LUA, bench_conf(demo.url, title="Shop", cycles="1:2:3", duration=1))
        w = os.path.join(self.out, "w")
        proc = run(["master", os.path.join(self.out, "test_Shop.lua"), "-n", "ab", "-w", w, "-x",
                    os.path.join(self.out, "x"), "--nodes", "local*2", "--threshold", "p95 < 1us", "--abort-on-fail"],
                   timeout=240)
        self.assertEqual(proc.returncode, 4, proc.stdout + proc.stderr)
        self.assertIn("Stopping after cycle 1 (--abort-on-fail): threshold failed: p95 of pages < 1 µs: ", proc.stdout)
        self.assertIn("stopped after cycle 1 of 3 (--abort-on-fail)", proc.stdout)
        folder = glob.glob(os.path.join(w, "ab", "reports", "Shop-*"))[0]
        merged = read_json(os.path.join(folder, "results.json"))
        self.assertEqual(len(merged["cycles"]), 1)
        self.assertEqual(merged["cycles"][0]["status"], "complete")
        self.assertTrue(merged["run"]["stop_reason"].startswith("threshold failed: p95 of pages < 1 µs"))
        # Each node ended as complete (told to, not killed) after cycle 1.
        self.assertEqual([n["status"] for n in merged["nodes"]], ["complete", "complete"])
        self.assertIn("Stopped early.", self.html(folder))

        proc = run(["master", os.path.join(self.out, "test_Shop.lua"), "--nodes", "local*2", "--abort-on-fail"])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--abort-on-fail: no thresholds", proc.stderr)


if __name__ == "__main__":
    unittest.main()
