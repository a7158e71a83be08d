"""bench-master end to end with the local transport (node processes on this machine):
the merge is exact against the demo target's own count and the nodes' histograms, and
each fault (a node killed mid-run, a node whose clock is off, Ctrl-C on the master, a
missing bench-node, a full or unwritable output folder, a hostile label) ends as
documented in docs/distributed.md. test_master_ssh.py runs the same over OpenSSH."""

import glob
import os
import re
import signal
import subprocess
import time
import unittest

from harness import (BENCHMASTER, DemoServer, Process, TestCase, bench_conf, histogram_percentile, read_json,
                     run)

LUA = """
-- Each node requests its own path and sleeps its own time, so the nodes' shares and
-- latency distributions differ, and vu.node_num is checked per node.
function test_Dist(vu)
  local base = conf_get("main", "url")
  vu:get(base .. "/bytes/" .. (100 + vu.node_num), {description = "node " .. vu.node_num})
  vu:get(base .. "/delay/" .. (1 + 2 * vu.node_num), {description = "delay"})
end
"""


# [bench] lines beyond bench_conf's and the data file every node gets.
DIST_EXTRA = """sleep_time_min = 0
sleep_time_max = 0.01
[distribute]
files = data/users.csv
"""

PERCENTILES = (50, 90, 95, 99, 100)


def requests_counted(results):
    """Requests inside windows plus those counted apart: outside them, or abandoned in
    flight when a run was stopped."""
    n = 0
    for c in results["cycles"]:
        n += sum(r["ok"] + r["failures"] + r["errors"] for r in c["requests"])
        n += c["outside_window"]["requests"]
        n += c.get("abandoned", {}).get("requests", 0)
    return n


def summed(histograms):
    """The union of several histograms, bucket by bucket, as the schema stores one."""
    buckets = {}
    for h in histograms:
        for index, n in h["buckets"]:
            buckets[index] = buckets.get(index, 0) + n
    return {"count": sum(h["count"] for h in histograms), "max_us": max((h["max_us"] for h in histograms), default=0),
            "buckets": sorted(buckets.items())}


def entry_figures(entry):
    """An entry's counts and latency histogram (bucket index -> count)."""
    return ((entry["ok"], entry["failures"], entry["errors"]), entry["latency"]["count"],
            {index: n for index, n in entry["latency"]["buckets"]})


def add_figures(into, entry):
    counts, count, buckets = entry_figures(entry)
    if entry_key(entry) not in into:
        into[entry_key(entry)] = ((0, 0, 0), 0, {})
    old_counts, old_count, old_buckets = into[entry_key(entry)]
    merged = dict(old_buckets)
    for index, n in buckets.items():
        merged[index] = merged.get(index, 0) + n
    into[entry_key(entry)] = (tuple(a + b for a, b in zip(old_counts, counts)), old_count + count, merged)


def entry_key(entry):
    return entry.get("page", ""), entry["key"]


def merged_figures(merged):
    """What a merge decides, read from a merged file: per cycle the users and each test's,
    page's and request's counts and histogram; the requests of each second."""
    cycles = []
    for cycle in merged["cycles"]:
        cycles.append({"cvus": cycle["cvus"], **{kind: {entry_key(e): entry_figures(e) for e in cycle[kind]}
                                                for kind in ("tests", "pages", "requests")}})
    series = {p["t"]: p["requests_ok"] + p["requests_failed"] for p in merged["series"]}
    return {"users": merged["config"]["cycles"], "cycles": cycles, "series": series}


def summed_figures(nodes):
    """The same figures as merged_figures, summed here from the nodes' own files."""
    users = [sum(n["config"]["cycles"][i] for n in nodes) for i in range(len(nodes[0]["config"]["cycles"]))]
    cycles = []
    for i in range(max(len(n["cycles"]) for n in nodes)):
        cycle = {"cvus": 0, "tests": {}, "pages": {}, "requests": {}}
        for node in nodes:
            if i < len(node["cycles"]):
                cycle["cvus"] += node["cycles"][i]["cvus"]
                for kind in ("tests", "pages", "requests"):
                    for entry in node["cycles"][i][kind]:
                        add_figures(cycle[kind], entry)
        cycles.append(cycle)
    series = {}
    for node in nodes:
        for p in node["series"]:
            series[p["t"]] = series.get(p["t"], 0) + p["requests_ok"] + p["requests_failed"]
    return {"users": users, "cycles": cycles, "series": series}


def read_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class DistributedCase(TestCase):
    """Writes the distributed test, runs bench-master, and checks a merged run."""

    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer(threads=2))
        self.w = os.path.join(self.out, "w")
        self.x = os.path.join(self.out, "x")

    def make_dist_test(self, cycles="2:3", duration=2):
        os.makedirs(os.path.join(self.out, "data"), exist_ok=True)
        self.write("data/users.csv", "user,password\nalice,secret\n")
        self.make_test("Dist", LUA, bench_conf(self.demo.url, title="Distributed", cycles=cycles, duration=duration,
                                                 extra=DIST_EXTRA))
        return os.path.join(self.out, "test_Dist.lua")

    def master_args(self, label, *extra):
        return ["master", os.path.join(self.out, "test_Dist.lua"), "-n", label, "-w", self.w, "-x", self.x,
                *extra]

    def run_dir(self, label):
        runs = glob.glob(os.path.join(self.w, label, "reports", "Dist-*"))
        self.assertEqual(len(runs), 1, runs)
        return runs[0]

    def node_files(self, run_dir):
        return {int(re.search(r"node-(\d+)\.json$", p).group(1)): read_json(p)
                for p in glob.glob(os.path.join(run_dir, "results", "node-*.json"))}

    def check_merged_run(self, label, proc, node_count, served, node_dir=None):
        """Every node ran, counts and percentiles are exact, outputs and report exist."""
        run_dir = self.run_dir(label)
        merged = read_json(os.path.join(run_dir, "results.json"))
        nodes = self.node_files(run_dir)
        self.assertEqual(sorted(nodes), list(range(node_count)))
        self.assertEqual([n["status"] for n in merged["nodes"]], ["complete"] * node_count, merged["nodes"])
        self.assertEqual([n["node_num"] for n in merged["nodes"]], list(range(node_count)))
        # Every request the target served is counted once, and the nodes' counts add up.
        self.assertEqual(requests_counted(merged), served)
        self.assertEqual(sum(requests_counted(r) for r in nodes.values()), served)
        # Each node ran with its own node_num: its own page and path only.
        by_path = self.demo.counter()["by_path"]
        for num, results in nodes.items():
            self.assertEqual(results["run"]["node_num"], num)
            pages = {p["key"] for c in results["cycles"] for p in c["pages"]}
            self.assertEqual(pages, {f"node {num}", "delay"})
            urls = {r["url"] for c in results["cycles"] for r in c["requests"] if "/bytes/" in r["url"]}
            self.assertEqual({u[u.index("/bytes/"):] for u in urls}, {f"/bytes/{100 + num}"})
        self.assertEqual({p for p in by_path if p.startswith("/bytes/")}, {f"/bytes/{100 + n}" for n in nodes})
        # The merge is exact: counts add, percentiles are those of the union of histograms.
        self.assertEqual(merged["config"]["cycles"],
                         [sum(r["config"]["cycles"][i] for r in nodes.values())
                          for i in range(len(merged["config"]["cycles"]))])
        for ci, cycle in enumerate(merged["cycles"]):
            self.assertEqual(cycle["status"], "complete")
            for request in cycle["requests"]:
                parts = [r for n in nodes.values() for r in n["cycles"][ci]["requests"] if r["key"] == request["key"]]
                self.assertEqual(request["ok"], sum(p["ok"] for p in parts))
                union = summed([p["latency"] for p in parts])
                self.assertEqual(request["latency"]["count"], union["count"])
                for p in PERCENTILES:
                    self.assertEqual(histogram_percentile(request["latency"], p), histogram_percentile(union, p),
                                     f"cycle {ci} {request['key']} p{p}")
        # Series seconds merge by wall-clock second on the master's clock.
        self.assertEqual(sum(p["requests_ok"] + p["requests_failed"] for p in merged["series"]),
                         sum(p["requests_ok"] + p["requests_failed"] for r in nodes.values() for p in r["series"]))
        # Outputs streamed per node; the report exists and is named last.
        for num in range(node_count):
            out = read_text(os.path.join(self.w, label, "out", f"node-{num}.txt"))
            self.assertIn(f'"node_num":{num}', out)
            self.assertIn("@progress", out)
            self.assertTrue(os.path.exists(os.path.join(self.w, label, "err", f"node-{num}.txt")))
            if node_dir is not None:
                self.assertTrue(os.path.exists(os.path.join(node_dir, label, f"node-{num}", "data", "users.csv")))
        self.assertTrue(os.path.exists(os.path.join(run_dir, "report.txt")))
        last = proc.stdout.strip().splitlines()[-1]
        self.assertTrue(last.startswith("Report: "), proc.stdout)
        self.assertTrue(os.path.exists(last[len("Report: "):]), last)
        return merged, nodes

    def tearDown(self):
        super().tearDown()
        for name in ("master_out", "master_err"):
            if hasattr(self, name):
                getattr(self, name).close()

    def start_master(self, args, env=None):
        """bench-master in the background, its output in files (read when it ends)."""
        self.master_out = open(os.path.join(self.out, "master.out"), "w+")
        self.master_err = open(os.path.join(self.out, "master.err"), "w+")
        return self.start(Process([BENCHMASTER] + args, stdout=self.master_out, stderr=self.master_err, text=True,
                                  env=env))

    def master_paused_at(self, phase, label):
        """bench-master on two local nodes, stopped by itself (SIGSTOP) as `phase` begins
        (BM_TEST_PAUSE_AT: collect, merge or report), for the test to signal or kill it."""
        self.make_dist_test(cycles="1", duration=1)
        master = self.start_master(self.master_args(label, "--nodes", "local*2"),
                                   env=dict(os.environ, BM_TEST_PAUSE_AT=phase))
        self.addCleanup(lambda: alive(master.pid) and os.kill(master.pid, signal.SIGCONT))
        wait_for(lambda: process_state(master.pid) == "T", 60, f"the master to stop as {phase} begins")
        return master

    def master_output(self):
        self.master_out.seek(0)
        self.master_err.seek(0)
        return self.master_out.read(), self.master_err.read()

    def hang_node_until_master_ends(self, master, pid):
        """SIGSTOP for node process `pid`; the master's exit code and output once it ends
        (the node is woken if it is still there, so that no stopped process outlives the test)."""
        os.kill(pid, signal.SIGSTOP)
        try:
            code = master.proc.wait(timeout=60)
        finally:
            if alive(pid):
                os.kill(pid, signal.SIGCONT)
        out, err = self.master_output()
        self.assertEqual(code, 3, out + err)
        return out

    def node_pids(self, label, count):
        """The pids the nodes printed (@node lines in out/), once all have."""
        return self.node_pids_of(label, range(count))

    def node_pids_of(self, label, nums):
        """The pids nodes `nums` printed (@node lines in out/), once all of them have."""
        nums = list(nums)
        def read():
            pids = {}
            for num in nums:
                path = os.path.join(self.w, label, "out", f"node-{num}.txt")
                if os.path.exists(path):
                    m = re.search(r'@node \{"node_num":\d+,"pid":(\d+)\}', read_text(path))
                    if m:
                        pids[num] = int(m.group(1))
            return pids if len(pids) == len(nums) else None
        return wait_for(read, 20, "every node's @node line")

    def wait_for_cycle(self, label, num, cycle):
        """Until node `num` has begun the cycle of index `cycle` (consoles count from 1)."""
        path = os.path.join(self.w, label, "out", f"node-{num}.txt")
        wait_for(lambda: os.path.exists(path) and f"Cycle #{cycle + 1} " in read_text(path), 30,
                 f"node {num} in cycle {cycle}")


def process_state(pid):
    """The state letter of /proc/<pid>/stat (R, S, T for stopped, Z...), or None once gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not read the status yet.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"


class LocalTransport(DistributedCase):
    def test_three_local_nodes_merge_exactly(self):
        self.make_dist_test()
        before = self.demo.counter()["requests"]
        proc = run(self.master_args("local-run", "--nodes", "local*3", "-p", "2"), check=0, timeout=120)
        served = self.demo.counter()["requests"] - before
        merged, nodes = self.check_merged_run("local-run", proc, 3, served, node_dir=self.x)
        self.assertEqual(merged["config"]["cycles"], [6, 9])
        self.assertIn("Merged 3 of 3 nodes", proc.stdout)
        # Each node as the user named it, not the host's own name.
        self.assertEqual([n["host"] for n in merged["nodes"]], ["local"] * 3)

    def test_only_given_options_override_the_conf(self):
        self.make_dist_test(cycles="1", duration=1)
        proc = run(self.master_args("override", "--nodes", "local,local", "-c", "2"), check=0, timeout=60)
        nodes = self.node_files(self.run_dir("override"))
        for results in nodes.values():
            self.assertEqual(results["config"]["cycles"], [2])     # given: -c
            self.assertEqual(results["config"]["duration_s"], 1)   # not given: the conf's, not a default
        self.assertIn("Report: ", proc.stdout)

    def test_nodes_file_and_num_nodes(self):
        self.make_dist_test(cycles="1", duration=1)
        nodes_file = self.write("nodes.txt", "# two of these three\nlocal*2\n\nlocal\n")
        run(["master", nodes_file, os.path.join(self.out, "test_Dist.lua"), "-n", "nf", "-w", self.w, "-x", self.x,
             "--num-nodes", "2"], check=0, timeout=60)
        self.assertEqual(sorted(self.node_files(self.run_dir("nf"))), [0, 1])
        bad = self.write("bad-nodes.txt", "local\nweb1:99999\n")
        proc = run(["master", bad, os.path.join(self.out, "test_Dist.lua")], check=2)
        self.assertIn("bad-nodes.txt:2: '99999' is not a port", proc.stderr)


class LocalFaults(DistributedCase):
    def test_node_killed_mid_run_keeps_its_finished_cycles(self):
        self.make_dist_test(cycles="1:1:1", duration=2)
        master = self.start_master(self.master_args("killed", "--nodes", "local*3"))
        pids = self.node_pids("killed", 3)
        self.wait_for_cycle("killed", 1, 1)
        os.kill(pids[1], signal.SIGKILL)
        self.assertEqual(master.proc.wait(timeout=60), 3)
        out, err = self.master_output()
        run_dir = self.run_dir("killed")
        merged = read_json(os.path.join(run_dir, "results.json"))
        rows = {n["node_num"]: n for n in merged["nodes"]}
        self.assertEqual(rows[0]["status"], "complete")
        self.assertEqual(rows[2]["status"], "complete")
        self.assertEqual(rows[1]["status"], "incomplete")
        self.assertIn("killed by signal 9", rows[1]["message"])
        self.assertIn("node 1 (local): incomplete", out)
        # Its first cycle, saved before it died, is in the merge; the later ones are not.
        node1 = read_json(os.path.join(run_dir, "results", "node-1.json"))
        self.assertGreaterEqual(len(node1["cycles"]), 1)
        self.assertEqual(merged["cycles"][0]["status"], "complete")
        self.assertEqual(merged["cycles"][0]["cvus"], 3)
        self.assertEqual(merged["cycles"][-1]["status"], "incomplete")
        self.assertTrue(out.strip().splitlines()[-1].startswith("Report: "), out)

    def test_a_hung_node_is_stopped_once_the_others_have_finished(self):
        # SIGSTOP: the node neither works nor ends. The others go on without it after the
        # barrier timeout; once they have finished, it may stay silent for the hang
        # timeout, then it is stopped (SIGTERM, and SIGCONT so that a stopped process gets
        # it), keeping what it had finished. (Its missing heartbeat would tell the same,
        # later than this test lasts: that watch has a test of its own.)
        self.make_dist_test(cycles="1:1:1", duration=2)
        master = self.start_master(self.master_args("hung", "--nodes", "local*3", "--barrier-timeout", "2",
                                                    "--hang-timeout", "2", "--heartbeat-timeout", "300"))
        pids = self.node_pids("hung", 3)
        self.wait_for_cycle("hung", 1, 1)
        stopped_at = time.monotonic()
        out = self.hang_node_until_master_ends(master, pids[1])
        # Cycle 2's drain (2 s barrier), cycle 3 (2 s + drain), 2 s more, the stop: well within 30 s.
        self.assertLess(time.monotonic() - stopped_at, 30, out)
        self.assertIn("node 1 (local): silent for 2 s after another node had finished; stopping it", out)
        for pid in pids.values():
            self.assertFalse(alive(pid), f"node process {pid} still runs")
        run_dir = self.run_dir("hung")
        merged = read_json(os.path.join(run_dir, "results.json"))
        rows = {n["node_num"]: n for n in merged["nodes"]}
        self.assertEqual([rows[0]["status"], rows[1]["status"], rows[2]["status"]],
                         ["complete", "incomplete", "complete"])
        self.assertIn("hung", rows[1]["message"])
        # It saved cycle 1 when it was stopped: that cycle is complete in the merge.
        node1 = read_json(os.path.join(run_dir, "results", "node-1.json"))
        self.assertEqual(node1["cycles"][0]["status"], "complete")
        self.assertEqual(merged["cycles"][0]["status"], "complete")
        self.assertEqual(merged["cycles"][0]["cvus"], 3)
        self.assertTrue(out.strip().splitlines()[-1].startswith("Report: "), out)

    def test_a_run_whose_every_node_hangs_ends_by_their_missing_heartbeats(self):
        # No node finishes, so no "silent after another finished" watch: each node's
        # heartbeat (one byte a second, from a thread of its own) stops with the process.
        self.make_dist_test(cycles="1:1", duration=2)
        master = self.start_master(self.master_args("all-hung", "--nodes", "local*2", "--heartbeat-timeout", "2"))
        pids = self.node_pids("all-hung", 2)
        for num in range(2):
            self.wait_for_cycle("all-hung", num, 1)
        stopped_at = time.monotonic()
        for pid in pids.values():
            os.kill(pid, signal.SIGSTOP)
        try:
            code = master.proc.wait(timeout=60)
        finally:
            for pid in pids.values():
                if alive(pid):
                    os.kill(pid, signal.SIGCONT)
        out, err = self.master_output()
        self.assertEqual(code, 3, out + err)
        # 2 s without a heartbeat (checked every 0.5 s), then TERM and CONT: the nodes save and exit.
        self.assertLess(time.monotonic() - stopped_at, 20, out)
        for num in range(2):
            self.assertIn(f"node {num} (local): no heartbeat for 2 s", out)
        for pid in pids.values():
            self.assertFalse(alive(pid), f"node process {pid} still runs")
        # The heartbeat bytes are not in what the master kept of the nodes' output.
        for num in range(2):
            self.assertNotIn("\x06", read_text(os.path.join(self.w, "all-hung", "out", f"node-{num}.txt")))
        merged = read_json(os.path.join(self.run_dir("all-hung"), "results.json"))
        rows = {n["node_num"]: n for n in merged["nodes"]}
        for num in range(2):
            self.assertEqual(rows[num]["status"], "incomplete")
            self.assertIn("hung: no heartbeat for 2 s", rows[num]["message"])
            self.assertIn("its finished cycles saved", rows[num]["message"])
        # Cycle 1, finished before the stop, is whole in the merge.
        self.assertEqual(merged["cycles"][0]["status"], "complete")
        self.assertEqual(merged["cycles"][0]["cvus"], 2)
        self.assertTrue(out.strip().splitlines()[-1].startswith("Report: "), out)

    def test_ctrl_c_stops_every_node_and_reports_what_finished(self):
        self.make_dist_test(cycles="1:1", duration=3)
        master = self.start_master(self.master_args("interrupted", "--nodes", "local*3"))
        pids = self.node_pids("interrupted", 3)
        for num in range(3):
            self.wait_for_cycle("interrupted", num, 1)
        master.proc.send_signal(signal.SIGINT)
        self.assertEqual(master.proc.wait(timeout=60), 130)
        out, err = self.master_output()
        for pid in pids.values():
            self.assertFalse(alive(pid), f"node process {pid} still runs")
        merged = read_json(os.path.join(self.run_dir("interrupted"), "results.json"))
        self.assertEqual(merged["run"]["status"], "interrupted")
        self.assertEqual([c["status"] for c in merged["cycles"]], ["complete", "incomplete"])
        self.assertEqual([n["status"] for n in merged["nodes"]], ["incomplete"] * 3)
        self.assertIn("Interrupted: stopping every node", out)
        self.assertIn("missing or partial", out)
        self.assertTrue(out.strip().splitlines()[-1].startswith("Report: "), out)

    def test_closing_line_tests_paths_and_partial_runs_are_told_as_they_are(self):
        # One node always fails its test: the closing line and the nodes table count it.
        self.make_dist_test(cycles="1", duration=1)
        test = os.path.join(self.out, "test_Dist.lua")
        with open(test, "a") as f:
            f.write('\nlocal original = test_Dist\nfunction test_Dist(vu)\n  original(vu)\n'
                    '  if vu.node_num == 1 then fail("node 1 fails") end\nend\n')
        # The test as typed, relative to where bench-master runs.
        args = self.master_args("told", "--nodes", "local*2")
        args[1] = "./test_Dist.lua"
        proc = run(args, check=1, timeout=120, cwd=self.out)
        merged = read_json(os.path.join(self.run_dir("told"), "results.json"))
        # Node 1's failures name the test as the user typed it, not its working copy.
        messages = [e["message"] for g in merged["cycles"][0]["errors"] for e in g["examples"]]
        self.assertTrue(messages)
        for message in messages:
            self.assertRegex(message, r"^\./test_Dist\.lua:\d+: node 1 fails \(after page 'delay'\)$")
        rows = {n["node_num"]: n for n in merged["nodes"]}
        self.assertEqual(rows[0]["tests_failed"], 0)
        self.assertGreater(rows[1]["tests_failed"], 0)
        self.assertEqual(rows[1]["tests_failed"], rows[1]["tests"])
        failed = rows[1]["tests_failed"]
        self.assertRegex(proc.stdout, rf"Merged 2 of 2 nodes: \d+ requests, 0 failed; \d+ tests, {failed} failed")
        # The merged run names the test the user gave, not a node's working copy.
        self.assertEqual(merged["run"]["test_file"], test)
        report = read_text(os.path.join(self.run_dir("told"), "report.txt"))
        self.assertNotIn("node-0", report.replace("\n            ", ""))

    def test_a_failed_node_makes_the_text_report_say_partial(self):
        self.make_dist_test(cycles="1:1", duration=1)
        master = self.start_master(self.master_args("partial", "--nodes", "local*2"))
        pids = self.node_pids("partial", 2)
        self.wait_for_cycle("partial", 1, 0)
        os.kill(pids[1], signal.SIGKILL)
        self.assertEqual(master.proc.wait(timeout=60), 3)
        report = read_text(os.path.join(self.run_dir("partial"), "report.txt"))
        self.assertIn("1 of 2 nodes complete", report)
        self.assertNotIn("2 nodes merged", report)
        self.assertRegex(report, r"Run +\S+ on 1 of 2 nodes")

    def test_a_node_program_that_cannot_start_leaves_no_folders(self):
        self.make_dist_test(cycles="1", duration=1)
        proc = run(self.master_args("no-start", "--nodes", "local*2", "-s", "/nonexistent/bench-node"), check=2,
                   timeout=60)
        self.assertIn("No node can run", proc.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.w, "no-start")), os.listdir(self.w) if os.path.isdir(self.w) else None)

    def hanging_node_program(self, name, when, unless=None):
        """A node program that, run with ` when ` among its arguments (and not ` unless `),
        notes its pid in a file and hangs; otherwise it is benchmaster. Returns its path
        and the file's."""
        marker = os.path.join(self.out, f"{name}.pid")
        passing = f"*\" {unless} \"*) ;; " if unless else ""
        wrapper = self.write(name, f"#!/bin/sh\ncase \" $* \" in {passing}*\" {when} \"*) echo $$ > {marker}.tmp; "
                                   f"mv {marker}.tmp {marker}; exec sleep 300;; esac\n"
                                   f"exec {BENCHMASTER} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        return wrapper, marker

    def stop_master_while_setting_up(self, sig):
        """bench-master stopped by `sig` in its first phase: the node program's clock check
        (a wrapper that notes its pid, then hangs). Returns the master's exit code, its
        output, and the pid of the hanging node program."""
        wrapper, marker = self.hanging_node_program("hanging-node", "--clock")
        self.make_dist_test(cycles="1", duration=1)
        master = self.start_master(self.master_args("setting-up", "--nodes", "local*2", "-s", wrapper))
        wait_for(lambda: os.path.exists(marker), 20, "the clock check to begin")
        hanging = int(read_text(marker))
        begin = time.monotonic()
        master.proc.send_signal(sig)
        code = master.proc.wait(timeout=60)
        self.assertLess(time.monotonic() - begin, 10, "the master did not stop promptly")
        out, err = self.master_output()
        return code, out + err, hanging

    def test_sigterm_while_setting_up_stops_at_once_and_leaves_nothing(self):
        code, output, hanging = self.stop_master_while_setting_up(signal.SIGTERM)
        self.assertEqual(code, 130, output)
        self.assertIn("Interrupted while setting up: nothing will start", output)
        wait_for(lambda: not alive(hanging), 10, "the node program to end")
        # Nothing ran: no folder of the run is left.
        self.assertFalse(os.path.exists(os.path.join(self.w, "setting-up")), output)

    def test_kill_9_while_setting_up_leaves_no_process(self):
        code, output, hanging = self.stop_master_while_setting_up(signal.SIGKILL)
        self.assertEqual(code, -signal.SIGKILL)
        wait_for(lambda: not alive(hanging), 10, "the node program to end with the master")

    def test_sigint_before_every_node_is_up_stops_them_and_leaves_no_process(self):
        # Set-up done, the node processes started, one of them not up yet (no @node: a
        # wrapper that notes its pid and hangs before it would start the node): Ctrl-C
        # there ends every node process, started or not, and the run with nothing to report.
        wrapper, marker = self.hanging_node_program("slow-node", "not-up 1", unless="--clock")
        self.make_dist_test(cycles="1", duration=1)
        master = self.start_master(self.master_args("not-up", "--nodes", "local*2", "-s", wrapper))
        wait_for(lambda: os.path.exists(marker), 30, "node 1's process to start")
        pids = [int(read_text(marker))]
        up = self.node_pids_of("not-up", [0])
        pids.append(up[0])
        begin = time.monotonic()
        master.proc.send_signal(signal.SIGINT)
        code = master.proc.wait(timeout=60)
        out, err = self.master_output()
        self.assertLess(time.monotonic() - begin, 20, out + err)
        self.assertEqual(code, 130, out + err)
        for pid in pids:
            wait_for(lambda: not alive(pid), 10, f"node process {pid} to end")
        self.assertIn("Stopped before cycle 1: no node was told to start", out)
        self.assertNotIn("cycle 1 begins", out)
        self.assertIn("No node brought results back: nothing to merge", out)
        self.assertNotIn("Report: ", out)

    def test_sigterm_once_every_node_has_ended_lets_collect_merge_and_report_finish(self):
        master = self.master_paused_at("collect", "late-term")
        master.proc.send_signal(signal.SIGTERM)
        os.kill(master.pid, signal.SIGCONT)
        code = master.proc.wait(timeout=60)
        out, err = self.master_output()
        # Nothing is left to stop: the results are brought home, merged and reported, and
        # the exit code is theirs. (It said "Interrupted while setting up" before, and
        # ended the sessions still collecting.)
        self.assertEqual(code, 0, out + err)
        self.assertIn("Interrupted after every node has ended: collecting their last results, then the merge and "
                      "the report", out)
        self.assertNotIn("setting up", out + err)
        merged = read_json(os.path.join(self.run_dir("late-term"), "results.json"))
        self.assertEqual([n["status"] for n in merged["nodes"]], ["complete"] * 2)
        self.assertTrue(out.strip().splitlines()[-1].startswith("Report: "), out)

    def test_kill_9_before_the_merge_leaves_node_files_that_bench_report_merges(self):
        master = self.master_paused_at("merge", "killed-merging")
        os.kill(master.pid, signal.SIGKILL)
        self.assertEqual(master.proc.wait(timeout=60), -signal.SIGKILL)
        run_dir = self.run_dir("killed-merging")
        self.assertFalse(os.path.exists(os.path.join(run_dir, "results.json")))
        nodes = self.node_files(run_dir)
        self.assertEqual(sorted(nodes), [0, 1])
        # bench-report on the folder merges them as the master would have (its offsets,
        # names and label from the merge plan it wrote before cycle 1), then reports.
        proc = run(["report", run_dir], check=0)
        self.assertIn("no results.json: merged the node files in results/ as bench-master would have (2 nodes)",
                      proc.stderr)
        merged = read_json(os.path.join(run_dir, "results.json"))
        self.assertEqual([n["status"] for n in merged["nodes"]], ["complete"] * 2)
        self.assertEqual([n["host"] for n in merged["nodes"]], ["local"] * 2)
        self.assertEqual(merged["run"]["label"], "killed-merging")
        self.assertEqual(requests_counted(merged), sum(requests_counted(r) for r in nodes.values()))
        self.assertEqual(requests_counted(merged), self.demo.counter()["requests"])
        self.assertIn("Distributed", proc.stdout)
        html = run(["report", run_dir, "--html"], check=0)
        self.assertTrue(os.path.exists(os.path.join(run_dir, "index.html")), html.stdout + html.stderr)

    def test_kill_9_while_reporting_keeps_the_results_and_bench_report_rebuilds_it(self):
        master = self.master_paused_at("report", "killed-reporting")
        os.kill(master.pid, signal.SIGKILL)
        self.assertEqual(master.proc.wait(timeout=60), -signal.SIGKILL)
        run_dir = self.run_dir("killed-reporting")
        merged = read_json(os.path.join(run_dir, "results.json"))  # written before the report
        self.assertEqual([n["status"] for n in merged["nodes"]], ["complete"] * 2)
        run(["report", run_dir, "--html"], check=0)
        self.assertTrue(os.path.exists(os.path.join(run_dir, "index.html")))

    def test_a_full_disk_on_the_nodes_is_reported_with_its_reason(self):
        # The nodes' folders (-x) on a 256 KiB tmpfs of the test's own, filled up once
        # cycle 1 runs: no node can save its results. The master ends, saying why for each
        # node, and reports what it has.
        disk = os.path.join(self.out, "node-disk")
        os.makedirs(disk)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", disk], capture_output=True, text=True)
        if mounted.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", "-l", disk], capture_output=True)
        self.x = os.path.join(disk, "x")
        self.make_dist_test(cycles="1:1", duration=2)
        master = self.start_master(self.master_args("full", "--nodes", "local*2"))
        pids = self.node_pids("full", 2)
        self.wait_for_cycle("full", 0, 0)
        with open(os.path.join(disk, "filler"), "wb") as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass
        self.assertEqual(master.proc.wait(timeout=60), 3)
        out, err = self.master_output()
        for pid in pids.values():
            self.assertFalse(alive(pid), f"node process {pid} still runs")
        merged = read_json(os.path.join(self.run_dir("full"), "results.json"))
        for row in merged["nodes"]:
            self.assertEqual(row["status"], "incomplete", row)
            # The error, not the warning that followed it (no HTML report either).
            self.assertIn("No space left on device", row["message"], row)
            self.assertNotIn("warning", row["message"], row)
        self.assertTrue(out.strip().splitlines()[-1].startswith("Report: "), out)

    def build_clock_shim(self):
        """An LD_PRELOAD shim over the wall clock: BM_TEST_CLOCK_SKEW_S seconds ahead, and
        BM_TEST_CLOCK_JUMP_S more once the file BM_TEST_CLOCK_JUMP_FILE exists."""
        shim_c = self.write("skew.c", r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
static long skew(void) {
  const char *s = getenv("BM_TEST_CLOCK_SKEW_S"), *jump = getenv("BM_TEST_CLOCK_JUMP_S"),
             *file = getenv("BM_TEST_CLOCK_JUMP_FILE");
  return (s ? atol(s) : 0) + (jump && file && access(file, F_OK) == 0 ? atol(jump) : 0);
}
int clock_gettime(clockid_t id, struct timespec *ts) {
  static int (*real)(clockid_t, struct timespec *);
  if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
  int rc = real(id, ts);
  if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += skew();
  return rc;
}
int gettimeofday(struct timeval *tv, void *tz) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tv->tv_sec = ts.tv_sec;
  tv->tv_usec = ts.tv_nsec / 1000;
  return 0;
}
time_t time(time_t *t) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (t) *t = ts.tv_sec;
  return ts.tv_sec;
}
""")
        shim = os.path.join(self.out, "skew.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", shim, shim_c, "-ldl"], check=True)
        return shim

    def test_a_node_clock_jumping_30_s_mid_run_delays_no_cycle(self):
        # Node 1's wall clock jumps 30 s ahead during cycle 1 (an NTP step, a VM resumed).
        # Its cycles are timed on its monotonic clock and its times mapped from the wall
        # clock read at its start, so the jump changes nothing: every cycle starts on time
        # and together, and the merge is exact.
        shim = self.build_clock_shim()
        jump_file = os.path.join(self.out, "jump-now")
        wrapper = self.write("jumping-node", "#!/bin/sh\n"
                             f"[ \"$PSSH_NODENUM\" = 1 ] && export BM_TEST_CLOCK_JUMP_S=30 "
                             f"BM_TEST_CLOCK_JUMP_FILE={jump_file} LD_PRELOAD={shim}\n"
                             f"exec {BENCHMASTER} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        self.make_dist_test(cycles="1:1:1", duration=2)
        before = self.demo.counter()["requests"]
        begin = time.monotonic()
        master = self.start_master(self.master_args("jump", "--nodes", "local*2", "-s", wrapper))
        self.wait_for_cycle("jump", 1, 0)
        open(jump_file, "w").close()
        self.assertEqual(master.proc.wait(timeout=120), 0, self.master_output())
        self.assertLess(time.monotonic() - begin, 25, "a cycle waited for the jumped clock")
        out, err = self.master_output()
        merged = read_json(os.path.join(self.run_dir("jump"), "results.json"))
        self.assertEqual([c["status"] for c in merged["cycles"]], ["complete"] * 3)
        for cycle in merged["cycles"]:
            self.assertLess(cycle["window_skew_us"], 1_000_000, cycle["window_skew_us"])
        self.assertEqual(requests_counted(merged), self.demo.counter()["requests"] - before)

    def test_node_clock_off_by_30_s_is_measured_and_corrected(self):
        # The node program runs with its wall clock 30 s ahead (an LD_PRELOAD shim over
        # clock_gettime): the master measures the offset, starts it at the right moment
        # and merges its timestamps onto the master clock.
        shim = self.build_clock_shim()
        wrapper = self.write("skewed-node", f"#!/bin/sh\nBM_TEST_CLOCK_SKEW_S=30 LD_PRELOAD={shim} exec {BENCHMASTER} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        skewed_clock = subprocess.run([wrapper, "node", "--clock"], input="", capture_output=True, text=True, check=True)
        self.assertAlmostEqual(int(skewed_clock.stdout.split()[1]) / 1e6 - time.time(), 30, delta=2)

        self.make_dist_test(cycles="1", duration=2)
        begin = time.time()
        proc = run(self.master_args("skewed", "--nodes", "local*2", "-s", wrapper), check=0, timeout=60)
        elapsed = time.time() - begin
        self.assertLess(elapsed, 25, "the nodes waited for their own clock instead of the master's")
        self.assertRegex(proc.stdout, r"local: ready, clock offset \+(29|30)\d\d\d\.\d ms")
        merged = read_json(os.path.join(self.run_dir("skewed"), "results.json"))
        for row in merged["nodes"]:
            self.assertAlmostEqual(row["clock_offset_us"] / 1e6, 30, delta=0.5)
            self.assertLess(abs(row["start_skew_us"]), 1_000_000, row)
        # On the master's clock: inside the time the master ran.
        self.assertGreaterEqual(merged["cycles"][0]["start_epoch_us"] / 1e6, begin - 1)
        self.assertLessEqual(merged["cycles"][0]["end_epoch_us"] / 1e6, time.time() + 1)
        for point in merged["series"]:
            self.assertTrue(begin - 1 <= point["t"] <= time.time() + 1, point["t"])

    def test_missing_bench_node_is_a_clear_error(self):
        self.make_dist_test(cycles="1", duration=1)
        proc = run(self.master_args("missing", "--nodes", "local*2", "-s", "/nonexistent/bench-node"), check=2)
        self.assertIn("cannot start /nonexistent/bench-node: No such file or directory", proc.stdout)
        self.assertIn("No node can run: nothing started", proc.stdout)

    def test_unwritable_output_folder_stops_before_anything_starts(self):
        self.make_dist_test(cycles="1", duration=1)
        blocker = self.write("not-a-folder", "a file where the output folder should be\n")
        proc = run(["master", os.path.join(self.out, "test_Dist.lua"), "-n", "nowhere", "-w", blocker,
                    "-x", self.x], check=2)
        self.assertIn(f"cannot create {blocker}/nowhere/out", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.x, "nowhere")))

    def test_full_output_folder_keeps_the_run_going(self):
        self.make_dist_test(cycles="1", duration=1)
        for stream in ("out", "err"):
            os.makedirs(os.path.join(self.w, "full", stream))
            os.symlink("/dev/full", os.path.join(self.w, "full", stream, "node-0.txt"))
        proc = run(self.master_args("full", "--nodes", "local*2"), check=0, timeout=60)
        self.assertIn(f"cannot write {self.w}/full/out/node-0.txt: No space left on device", proc.stderr)
        self.assertIn("@progress", read_text(os.path.join(self.w, "full", "out", "node-1.txt")))
        merged = read_json(os.path.join(self.run_dir("full"), "results.json"))
        self.assertEqual([n["status"] for n in merged["nodes"]], ["complete", "complete"])

    def test_hostile_label_and_paths_are_never_run(self):
        self.make_dist_test(cycles="1", duration=1)
        label = 'it\'s $(touch bm-pwned); `touch bm-pwned` "q" a|b *'
        x = os.path.join(self.out, "node dir $(touch bm-pwned) 'q'")
        run(["master", os.path.join(self.out, "test_Dist.lua"), "--nodes", "local*2", "-n", label,
             "-w", self.w, "-x", x], check=0, timeout=60, cwd=self.out)
        self.assertEqual(pwned_files(self.out, x), [])
        self.assertTrue(os.path.isdir(os.path.join(x, label, "node-1")))
        self.assertEqual(len(self.node_files(self.run_dir(label))), 2)
        for bad in ("a/b", "line\nbreak", ".."):
            proc = run(["master", os.path.join(self.out, "test_Dist.lua"), "-n", bad, "-w", self.w], check=2)
            self.assertIn("-n/--label", proc.stderr)


def pwned_files(*folders):
    """Files a hostile label would have created had a shell run it."""
    found = []
    for folder in (*folders, os.path.expanduser("~"), os.getcwd()):
        for root, _, files in os.walk(folder):
            found += [os.path.join(root, f) for f in files if f == "bm-pwned"]
    return found


if __name__ == "__main__":
    unittest.main()
