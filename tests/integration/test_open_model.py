"""The open model (docs/open-model.md) on real runs: iterations start at the rate asked,
the demo target's own counter agrees, a 1 s stall shows in the latency counted from the
intended start and not in the service time, a pool that runs out reports its missed
starts, ramps and Poisson arrivals keep their mean, and bench-master splits one rate
between nodes (and keeps what a killed node had done)."""

import os
import signal
import unittest

from harness import DemoServer, Process, TestCase, BENCHMASTER, bench_conf, histogram_percentile, read_json, run
from test_master import DistributedCase, read_text, wait_for

# One request per iteration; half-way through the window the mid_cycle hook (its own
# user, not counted) makes the target answer nothing for 1 s.
STALL_LUA = """
function test_Open(vu)
  vu:get(conf_get("main", "url") .. "/delay/1", {description = "quick"})
end
function mid_cycle(vu)
  if conf_get("open", "stall", "0") == "1" then
    vu:post(conf_get("main", "url") .. "/switch?stall=1000", {description = "stall"})
  end
end
"""

SLOW_LUA = """
function test_Open(vu)
  vu:get(conf_get("main", "url") .. "/delay/100", {description = "slow"})
end
"""

# Every new user's setup_vu makes a request, then fails: the user stops, counted once.
FAILING_SETUP_LUA = """
function setup_vu(vu)
  vu:get(conf_get("main", "url") .. "/delay/1", {description = "login"})
  error("no login for this user")
end
function test_Open(vu)
  vu:get(conf_get("main", "url") .. "/delay/1", {description = "quick"})
end
"""

NODE_LUA = """
function test_Dist(vu)
  vu:get(conf_get("main", "url") .. "/delay/0", {description = "open"})
end
"""


def within(value, expected, share):
    return abs(value - expected) <= share * expected


class OpenModel(TestCase):
    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer(threads=2))

    def bench(self, lua, *args, stall=False, expect=0, conf_extra=""):
        conf = bench_conf(self.demo.url, title="Open", cycles=None, duration=None, startup_delay=None,
                          sleep_time=None, cycle_time=None, extra=conf_extra + ("[open]\nstall = 1\n" if stall else ""))
        self.make_test("Open", lua, conf)
        out = os.path.join(self.out, "out")
        proc = run(["run", os.path.join(self.out, "test_Open.lua"), "-o", out, *args], timeout=120)
        self.assertEqual(proc.returncode, expect, proc.stdout + proc.stderr)
        return proc, read_json(os.path.join(out, "results.json")) if expect in (0, 1) else None

    def test_a_stall_shows_from_the_intended_start_and_not_in_service_time(self):
        before = self.demo.counter()["requests"]
        proc, results = self.bench(STALL_LUA, "-r", "100", "-D", "6", "--max-users", "4", stall=True)
        served = self.demo.counter()["requests"] - before
        cycle = results["cycles"][0]
        arrivals = cycle["arrivals"]
        # 100/s over a 6 s window: 600 starts due, each begun (late or not), none missed.
        self.assertTrue(within(arrivals["due"], 600, 0.01), arrivals)
        self.assertEqual(arrivals["started"] + arrivals["missed"], arrivals["due"], arrivals)
        self.assertEqual(arrivals["missed"], 0, arrivals)
        self.assertTrue(within(arrivals["started"], 600, 0.01), arrivals)
        # Starts meant for the stall waited for the 4 users, held by the target: ~100 late.
        self.assertGreaterEqual(arrivals["late"], 50, arrivals)
        self.assertGreaterEqual(arrivals["max_wait_us"], 500_000, arrivals)
        # The target's own count: one request per iteration started (the hook's POST is a
        # control request the counter leaves out).
        self.assertEqual(served, arrivals["started"], (served, arrivals))
        page = cycle["pages"][0]
        self.assertEqual(page["ok"], arrivals["started"])
        from_intended = histogram_percentile(page["latency"], 99)
        service = histogram_percentile(page["service"], 99)
        # At most 4 requests (the pool) were in service through the stall: under 1 %.
        self.assertGreaterEqual(from_intended, 500_000, (from_intended, service))
        self.assertLess(service, 250_000, (from_intended, service))
        request = cycle["requests"][0]
        self.assertGreaterEqual(histogram_percentile(request["latency"], 99), 500_000)
        self.assertLess(histogram_percentile(request["service"], 99), 250_000)
        test = cycle["tests"][0]
        self.assertGreaterEqual(histogram_percentile(test["latency"], 99), 500_000)
        self.assertLess(histogram_percentile(test["service"], 99), 250_000)
        self.assertEqual(results["config"]["rates"], "100")
        self.assertEqual(results["config"]["max_users"], 4)
        self.assertLessEqual(cycle["cvus"], 4)
        self.assertIn("Cycle #1 at 100 iterations/s", proc.stdout)
        self.assertRegex(proc.stdout, r"iterations started 100\.\d/s of 100/s asked: \d+ of \d+ due, \d+ late")

    def test_a_pool_that_runs_out_reports_its_missed_starts(self):
        # One user, 100 ms per iteration: at most ~10 starts a second of the 50 asked.
        proc, results = self.bench(SLOW_LUA, "-r", "50", "-D", "2", "--max-users", "1")
        arrivals = results["cycles"][0]["arrivals"]
        self.assertEqual(arrivals["due"], 100, arrivals)
        self.assertEqual(arrivals["started"] + arrivals["missed"], arrivals["due"], arrivals)
        self.assertGreater(arrivals["missed"], 50, arrivals)
        self.assertGreater(arrivals["late"], 0, arrivals)
        self.assertEqual(arrivals["peak_users"], 1, arrivals)
        self.assertIn(f"{arrivals['missed']} missed", proc.stdout)

    def test_users_whose_setup_fails_are_replaced_and_counted_once(self):
        proc, results = self.bench(FAILING_SETUP_LUA, "-r", "50", "-D", "2", "--max-users", "5", expect=1)
        cycle = results["cycles"][0]
        arrivals = cycle["arrivals"]
        self.assertEqual(arrivals["started"] + arrivals["missed"], arrivals["due"], arrivals)
        self.assertEqual(arrivals["missed"], 0, arrivals)  # a stopped user's place is taken again
        test = cycle["tests"][0]
        # Each start went to a new user (the one before had stopped), whose setup failed:
        # one error per start, the test function never ran.
        self.assertEqual(test["ok"], 0, test)
        self.assertGreaterEqual(test["errors"] + cycle["outside_window"]["tests"], arrivals["started"] - 5, test)
        self.assertFalse(any(p["key"] == "quick" for p in cycle["pages"]), cycle["pages"])

    def test_closed_users_whose_setup_fails_run_no_test(self):
        # The same in the closed model: each user counts one error and stops; before, a
        # setup_vu that had made a request started a test on its way out.
        proc, results = self.bench(FAILING_SETUP_LUA, "-c", "3", "-D", "1", expect=1)
        cycle = results["cycles"][0]
        self.assertFalse(any(p["key"] == "quick" for p in cycle["pages"]), cycle["pages"])
        test = cycle["tests"][0]
        self.assertEqual(test["ok"] + test["failures"], 0, test)

    def test_ramps_and_poisson_arrivals_keep_their_mean(self):
        # 0 -> 200/s over a 4 s window: 400 starts (the area under the ramp).
        proc, results = self.bench(STALL_LUA, "-r", "0->200", "-D", "4", "--max-users", "50")
        arrivals = results["cycles"][0]["arrivals"]
        self.assertTrue(within(arrivals["due"], 400, 0.01), arrivals)
        self.assertEqual((arrivals["rate_from"], arrivals["rate_to"]), (0, 200))
        self.assertEqual(results["config"]["rates"], "0->200")
        # Poisson at 100/s for 4 s: 400 on average, a standard deviation of 20.
        proc, results = self.bench(STALL_LUA, "-r", "100", "-D", "4", "--arrivals", "poisson", "--seed", "7")
        arrivals = results["cycles"][0]["arrivals"]
        self.assertTrue(within(arrivals["due"], 400, 0.25), arrivals)
        self.assertEqual(results["config"]["arrivals"], "poisson")

    def test_bad_rates_get_one_clear_line(self):
        for args, message in ((["-r", "abc"], "is not a list of arrival rates per second"),
                              (["-r", "0"], "is not a list of arrival rates per second"),
                              (["-r", "10", "-c", "5"], "give one"),
                              (["-r", "10", "--arrivals", "bursty"], "must be constant or poisson"),
                              (["-r", "10", "--max-users", "0"], "must be a whole number from 1 to 1000000")):
            proc, _ = self.bench(STALL_LUA, *args, expect=2)
            lines = proc.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, proc.stderr)
            self.assertIn(message, lines[0])


class OpenModelNodes(DistributedCase):
    def make_open_test(self, duration):
        self.make_test("Dist", NODE_LUA, bench_conf(self.demo.url, title="Open", cycles=None, duration=duration,
                                                     extra="sleep_time_min = 0\nsleep_time_max = 0\n"))

    def test_four_nodes_share_one_rate_and_the_target_counts_it(self):
        self.make_open_test(duration=4)
        self.demo.reset_counter()
        proc = run(self.master_args("open4", "--nodes", "local*4", "-r", "200", "--max-users", "20"), check=0,
                   timeout=120)
        served = self.demo.counter()["by_path"].get("/delay/0", 0)
        # 200/s for 4 s, all nodes together: the target's own count within 2 %.
        self.assertTrue(within(served, 800, 0.02), (served, proc.stdout))
        run_dir = self.run_dir("open4")
        merged = read_json(os.path.join(run_dir, "results.json"))
        arrivals = merged["cycles"][0]["arrivals"]
        self.assertAlmostEqual(arrivals["rate_from"], 200)
        self.assertTrue(within(arrivals["started"], 800, 0.01), arrivals)
        self.assertEqual(arrivals["missed"], 0, arrivals)
        self.assertEqual(merged["config"]["rate_part"], "")
        nodes = self.node_files(run_dir)
        for num, results in nodes.items():
            self.assertEqual(results["config"]["rate_part"], f"{num}/4")
            self.assertAlmostEqual(results["cycles"][0]["arrivals"]["rate_from"], 50)
        for row in merged["nodes"]:
            self.assertEqual(len(row["arrivals"]), 1, row)
            self.assertTrue(within(row["arrivals"][0]["started"], 200, 0.01), row)
        self.assertEqual(sum(r["arrivals"][0]["started"] for r in merged["nodes"]), arrivals["started"])

    def test_a_node_killed_mid_cycle_keeps_what_it_had_done(self):
        self.make_open_test(duration=2)
        master = self.start_master(self.master_args("open-killed", "--nodes", "local*4", "-r", "100:100"))
        pids = self.node_pids("open-killed", 4)
        self.wait_for_cycle("open-killed", 1, 1)
        os.kill(pids[1], signal.SIGKILL)
        self.assertEqual(master.proc.wait(timeout=60), 3)
        out, err = self.master_output()
        run_dir = self.run_dir("open-killed")
        merged = read_json(os.path.join(run_dir, "results.json"))
        rows = {n["node_num"]: n for n in merged["nodes"]}
        self.assertEqual(rows[1]["status"], "incomplete")
        # Node 1 is reported with its first cycle, the one it finished: its quarter of it.
        self.assertEqual(len(rows[1]["arrivals"]), 1, rows[1])
        self.assertTrue(within(rows[1]["arrivals"][0]["started"], 50, 0.04), rows[1])
        for num in (0, 2, 3):
            self.assertEqual(len(rows[num]["arrivals"]), 2, rows[num])
        first, second = merged["cycles"]
        self.assertEqual(first["status"], "complete")
        self.assertTrue(within(first["arrivals"]["started"], 200, 0.02), first["arrivals"])
        self.assertEqual(second["status"], "incomplete")
        # The second cycle holds the three nodes that finished it: three quarters.
        self.assertAlmostEqual(second["arrivals"]["rate_from"], 75)
        self.assertEqual(second["arrivals"]["started"], sum(rows[n]["arrivals"][1]["started"] for n in (0, 2, 3)))
        self.assertTrue(out.strip().splitlines()[-1].startswith("Report: "), out)


if __name__ == "__main__":
    unittest.main()
