"""The engine end to end: bench-test and bench-run of the bundled examples and of
purpose-made tests against the demo target and nginx, checking that the numbers are
right (every request accounted for, failures attributed to the right page, percentiles
of a known delay distribution)."""

import os
import shutil
import unittest

from harness import (EXAMPLES, DemoServer, Nginx, TestCase, bench_conf, histogram_percentile, read_json, run)


def total(entries, field):
    return sum(e[field] for e in entries)


def requests_counted(results):
    """Requests inside windows plus those counted apart as outside them."""
    n = 0
    for c in results["cycles"]:
        n += sum(r["ok"] + r["failures"] + r["errors"] for r in c["requests"])
        n += c["outside_window"]["requests"]
    return n


class BundledExamples(TestCase):
    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer(threads=2))

    def test_bench_test_runs_each_example_once(self):
        for name in ("Simple", "Shop"):
            with self.subTest(example=name):
                proc = run(["test", os.path.join(EXAMPLES, f"test_{name}.lua"), "-u", self.demo.url], check=0)
                self.assertIn(f"ok test_{name} #1", proc.stdout)
                self.assertIn("1 passed, 0 failed", proc.stdout)
                # Every request is printed with method, URL, status, time and size.
                self.assertRegex(proc.stdout, r"GET http://127\.0\.0\.1:\d+/ -> 200 in [\d.]+ (µs|ms|s), \d+ bytes")

    def test_simple_fetches_resources_once_per_virtual_user(self):
        proc = run(["test", os.path.join(EXAMPLES, "test_Simple.lua"), "-u", self.demo.url, "-n", "3"], check=0)
        resources = [l for l in proc.stdout.splitlines() if l.endswith("(resource)")]
        self.assertGreater(len(resources), 0, proc.stdout)
        # Three iterations, one virtual user: each resource is fetched once.
        self.assertEqual(len(resources), len(set(resources)), proc.stdout)
        counts = self.demo.counter()["by_path"]
        self.assertEqual(counts.get("/"), 3)
        for path, n in counts.items():
            if path.startswith("/static/"):
                self.assertEqual(n, 1, path)

    def test_bench_run_counts_every_request_the_server_served(self):
        before = self.demo.counter()["requests"]
        out = os.path.join(self.out, "run")
        proc = run(["run", os.path.join(EXAMPLES, "test_Shop.lua"), "-u", self.demo.url, "-c", "2:4", "-D", "2",
                    "-s", "0.01", "--cycle-time", "0", "-m", "0", "-M", "0.05", "-o", out], check=0)
        self.assertIn("Starting 2 virtual users", proc.stdout)
        self.assertIn("Logging for 2 seconds", proc.stdout)
        self.assertIn("Stopping virtual users", proc.stdout)
        self.assertIn(f"Results: {out}/results.json", proc.stdout)
        self.assertIn(f"Report: {out}/index.html", proc.stdout)
        self.assertTrue(os.path.getsize(os.path.join(out, "index.html")) > 10_000)
        served = self.demo.counter()["requests"] - before
        results = read_json(os.path.join(out, "results.json"))
        self.assertEqual(results["format"], "benchmaster-results")
        self.assertEqual(results["run"]["status"], "complete")
        self.assertEqual([c["cvus"] for c in results["cycles"]], [2, 4])
        self.assertEqual(requests_counted(results), served)
        for cycle in results["cycles"]:
            pages = {p["key"]: p for p in cycle["pages"]}
            self.assertEqual(set(pages), {"Home", "Login form", "Log in", "Add to cart", "Log out"})
            test = cycle["tests"][0]
            self.assertGreater(test["ok"], 0)
            self.assertEqual(test["failures"] + test["errors"], 0, cycle["errors"])
            # Logging in redirects (303) to the account page: one page, two requests.
            login = [r for r in cycle["requests"] if r["page"] == "Log in"]
            self.assertEqual({r["kind"] for r in login}, {"main", "redirect"})
            self.assertEqual(pages["Log in"]["status_codes"], {"200": pages["Log in"]["ok"]})


class Accounting(TestCase):
    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer(threads=2))

    def test_failures_are_attributed_to_their_page(self):
        test = self.make_test("Mixed", """
function test_Mixed(vu)
  local base = conf_get("main", "url")
  vu:get(base .. "/bytes/100", {description = "Fine"})
  local r = vu:get(base .. "/status/503", {description = "Broken", ok_codes = {200, 503}})
  assert(r.status == 503)
  vu:get(base .. "/status/404", {description = "Missing"})
  vu:get(base .. "/bytes/10", {description = "Never reached"})
end
""", f"""[main]
title = Mixed
url = {self.demo.url}
[bench]
cycles = 3
duration = 2
startup_delay = 0
sleep_time = 0
cycle_time = 0
""")
        out = os.path.join(self.out, "run")
        proc = run(["run", test, "-o", out], check=1)
        results = read_json(os.path.join(out, "results.json"))
        cycle = results["cycles"][0]
        pages = {p["key"]: p for p in cycle["pages"]}
        self.assertNotIn("Never reached", pages)
        self.assertEqual(pages["Broken"]["failures"], 0)
        self.assertEqual(pages["Broken"]["status_codes"], {"503": pages["Broken"]["ok"]})
        self.assertEqual(pages["Missing"]["ok"], 0)
        self.assertGreater(pages["Missing"]["failures"], 0)
        self.assertEqual(pages["Missing"]["error_kinds"], {"status": pages["Missing"]["failures"]})
        self.assertEqual(pages["Fine"]["failures"], 0)
        test_entry = cycle["tests"][0]
        self.assertEqual(test_entry["ok"], 0)
        # The page and its test complete microseconds apart: at a window's edge one may
        # count and the other not, at most once per user and edge.
        self.assertLessEqual(abs(test_entry["failures"] - pages["Missing"]["failures"]), 2 * 3)
        groups = cycle["errors"]
        self.assertEqual(len(groups), 1, groups)
        self.assertEqual(groups[0]["page"], "Missing")
        self.assertEqual(groups[0]["kind"], "status")
        self.assertEqual(groups[0]["status"], 404)
        self.assertIn("test_Mixed.lua:7:", groups[0]["examples"][0]["message"]
                      if isinstance(groups[0]["examples"][0], dict) else groups[0]["examples"][0])
        self.assertIn("F", proc.stdout)

    def test_a_failed_check_fails_the_page_it_was_made_on(self):
        test = self.make_test("Checked", """
function test_Checked(vu)
  local base = conf_get("main", "url")
  local r = vu:get(base .. "/bytes/5", {description = "Short"})
  vu:get(base .. "/bytes/7", {description = "Other"})
  assert(r.size == 5)
  local s = vu:get(base .. "/bytes/6", {description = "Checked"})
  assert(s.size == 60, "wanted 60 bytes")
end
""", f"""[main]
title = Checked
url = {self.demo.url}
[bench]
cycles = 2
duration = 1
startup_delay = 0
sleep_time = 0
cycle_time = 0
""")
        out = os.path.join(self.out, "run")
        run(["run", test, "-o", out], check=1)
        cycle = read_json(os.path.join(out, "results.json"))["cycles"][0]
        pages = {p["key"]: p for p in cycle["pages"]}
        self.assertEqual(pages["Short"]["failures"], 0)
        self.assertEqual(pages["Other"]["failures"], 0)
        self.assertEqual(pages["Checked"]["ok"], 0)
        self.assertEqual(pages["Checked"]["error_kinds"], {"assertion": pages["Checked"]["failures"]})
        # The request itself was fine: only the page and the test failed the check.
        checked = [r for r in cycle["requests"] if r["page"] == "Checked"][0]
        self.assertEqual(checked["failures"], 0)
        self.assertGreater(pages["Checked"]["failures"], 0)
        # The page completes before the check that fails its test: at a window's edge one
        # may count and the other not, at most once per user and edge.
        self.assertLessEqual(abs(cycle["tests"][0]["failures"] - pages["Checked"]["failures"]), 2 * 2)
        self.assertEqual(cycle["errors"][0]["page"], "Checked")

    def test_percentiles_match_a_known_delay_distribution(self):
        # The target serves 10, 20, ..., 100 ms in turn: one user, one request at a time.
        delays = list(range(10, 101, 10))
        values = ",".join(map(str, delays))
        test = self.make_test("Delays", f"""
function test_Delays(vu)
  vu:get(conf_get("main", "url") .. "/seq-delay?values={values}", {{description = "Delay"}})
end
""", f"""[main]
title = Delays
url = {self.demo.url}
[bench]
cycles = 1
duration = 3
startup_delay = 0
sleep_time = 0
cycle_time = 0
""")
        out = os.path.join(self.out, "run")
        run(["run", test, "-o", out, "--workers", "1"], check=0)
        results = read_json(os.path.join(out, "results.json"))
        page = results["cycles"][0]["pages"][0]
        hist = page["latency"]
        n = hist["count"]
        self.assertGreaterEqual(n, 20)
        for p in (50, 90):
            got_us = histogram_percentile(hist, p)
            # Which delay holds rank ceil(p% n) depends on where the window cut the
            # sequence; it is one of the delays near the p-th, never below the smallest.
            self.assertGreaterEqual(got_us, 10_000)
            self.assertLessEqual(got_us, 100_000 * 1.001 + 20_000)
        self.assertGreaterEqual(hist["min_us"], 10_000)
        self.assertLess(hist["min_us"], 10_000 + 20_000)
        self.assertGreaterEqual(hist["max_us"], 100_000)
        # The mean of whole sequences of 10..100 ms is 55 ms (plus a little transport time).
        mean_ms = hist["sum_us"] / n / 1000
        self.assertGreater(mean_ms, 45)
        self.assertLess(mean_ms, 75)

    def test_connect_and_first_byte_times_per_request(self):
        # "Connection: close" on both: each request opens its own connection, so each one
        # has a connect time; a 30 ms delay before the answer shows in the time to first byte.
        test = self.make_test("Conn", """
function test_Conn(vu)
  local base = conf_get("main", "url")
  vu:get(base .. "/delay/30", {description = "Slow", headers = {Connection = "close"}})
  vu:get(base .. "/", {description = "Home", headers = {Connection = "close"}})
end
""", bench_conf(self.demo.url, title="Conn", cycles=2, duration=1.5))
        out = os.path.join(self.out, "run")
        run(["run", test, "-o", out, "--simple-fetch"], check=0)
        results = read_json(os.path.join(out, "results.json"))
        requests = {r["page"]: r for r in results["cycles"][0]["requests"]}
        slow, home = requests["Slow"], requests["Home"]
        done = slow["ok"] + slow["failures"] + slow["errors"]
        self.assertGreater(done, 10)
        self.assertEqual(slow["connect"]["count"], done)
        self.assertEqual(slow["first_byte"]["count"], done)
        self.assertGreaterEqual(slow["first_byte"]["min_us"], 30_000)
        self.assertLessEqual(slow["first_byte"]["max_us"], slow["latency"]["max_us"])
        self.assertEqual(home["connect"]["count"], home["ok"] + home["failures"] + home["errors"])
        self.assertLess(home["first_byte"]["min_us"], 30_000)
        self.assertNotIn("connect", results["cycles"][0]["pages"][0])
        text = run(["report", out], check=0).stdout
        self.assertIn("1st byte p95", text)
        with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
            html = f.read()
        table = html[html.index('id="traffic-table"'):]
        table = table[:table.index("</table>")]
        self.assertIn("Connect p95", table)
        # The first cycle's row: its connections opened, every request of the window's.
        opened = sum(r["connect"]["count"] for r in results["cycles"][0]["requests"])
        row = table[table.index('<tr data-cycle="0">'):]
        self.assertIn(f"<td>{opened}</td>", row[:row.index("</tr>")].replace("\u202f", ""))


class AgainstNginx(TestCase):
    def test_request_count_equals_nginx_access_log(self):
        self.check_count(tls=False)

    def test_https_request_count_equals_nginx_access_log(self):
        self.check_count(tls=True)

    def check_count(self, tls):
        root = os.path.join(self.out, "www")
        os.makedirs(root)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("x" * 1024)
        nginx = self.start(Nginx(root, os.path.join(self.out, "nginx"), tls=tls))
        test = self.make_test("Nginx", """
function test_Nginx(vu)
  vu:get(conf_get("main", "url") .. "/index.html")
end
""", f"""[main]
title = Nginx
url = {nginx.url}
[bench]
cycles = 4:8
duration = 2
startup_delay = 0.01
sleep_time = 0
cycle_time = 0
""")
        out = os.path.join(self.out, "run")
        run(["run", test, "-o", out], check=0)
        results = read_json(os.path.join(out, "results.json"))
        counted = requests_counted(results)
        self.assertGreater(counted, 100)
        nginx.stop()  # flushes the log
        self.assertEqual(nginx.served(), counted)


if __name__ == "__main__":
    unittest.main()
