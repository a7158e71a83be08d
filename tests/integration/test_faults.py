"""The network fault matrix (issue: hardening): the demo target runs in a network namespace
this test makes, joined to ours by a veth pair, and each fault is made on that link or by
the target: 10 % packet loss (iptables' statistic match; this kernel has no netem), a
bandwidth limit (tbf), the link cut mid-cycle (`ip link set down`), added delay, a target
that accepts and never answers, resets mid-response, a half-closed connection, and a
refused port. For each: the bench ends on time, its errors carry the right kind, and every
iteration started is accounted for exactly once (ok + failures + errors, plus those that
ended outside the window or were abandoned). The open model is used where it can be: it
counts the iterations it started independently of how they ended.

Needs root (CAP_NET_ADMIN) and iproute2 + iptables (scripts/install-deps.sh); skipped, with
the reason, where a namespace cannot be made."""

import os
import subprocess
import time
import unittest
import urllib.request

from harness import DemoServer, TestCase, bench_conf, read_json, run
from test_master import wait_for

ONE_GET_LUA = """
function test_Fault(vu)
  vu:get(conf_get("main", "url") .. conf_get("fault", "path"), {description = "fault"})
end
"""

# Slack over the planned end for process start, results writing and this busy machine.
SLACK_S = 4.0


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


class NetNamespace:
    """A network namespace joined to this one by a veth pair: a small network of the test's
    own (10.213.N.1 here, 10.213.N.2 there). Deleting the namespace deletes the pair."""

    def __init__(self):
        remove_stale_namespaces()
        tag = os.getpid()
        self.name = f"bmfault{tag}"
        self.host_if, self.ns_if = f"bmf{tag}h", f"bmf{tag}n"  # interface names: 15 bytes at most
        octet = tag % 250 + 1
        self.host_ip, self.ns_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"
        ip("netns", "add", self.name)
        try:
            ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
            ip("link", "set", self.ns_if, "netns", self.name)
            ip("addr", "add", f"{self.host_ip}/24", "dev", self.host_if)
            ip("link", "set", self.host_if, "up")
            ip("-n", self.name, "addr", "add", f"{self.ns_ip}/24", "dev", self.ns_if)
            ip("-n", self.name, "link", "set", self.ns_if, "up")
            ip("-n", self.name, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def wrap(self):
        return ["ip", "netns", "exec", self.name]

    def run(self, *args):
        return subprocess.run([*self.wrap(), *args], capture_output=True, text=True, check=True, timeout=30)

    def close(self):
        ip("link", "del", self.host_if, check=False)
        ip("netns", "del", self.name, check=False)


def remove_stale_namespaces():
    """Namespaces (and their veth ends) left by a test process that was killed."""
    listing = ip("netns", "list", check=False).stdout.split()
    for name in listing:
        if name.startswith("bmfault") and name[7:].isdigit() and not os.path.exists(f"/proc/{name[7:]}"):
            ip("link", "del", f"bmf{name[7:]}h", check=False)
            ip("netns", "del", name, check=False)


def make_namespace():
    """A NetNamespace, or the reason none can be made here."""
    if os.geteuid() != 0:
        return None, "network namespaces need root"
    try:
        return NetNamespace(), None
    except (OSError, subprocess.CalledProcessError) as e:
        detail = e.stderr.strip() if isinstance(e, subprocess.CalledProcessError) else str(e)
        return None, f"cannot make a network namespace here: {detail}"


def counted(entry):
    return entry["ok"] + entry["failures"] + entry["errors"]


class NetworkFaults(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ns, reason = make_namespace()
        if cls.ns is None:
            raise unittest.SkipTest(reason)

    @classmethod
    def tearDownClass(cls):
        cls.ns.close()

    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer(threads=2, extra_args=["--host", self.ns.ns_ip], wrap=self.ns.wrap()))
        self.assertIn(self.ns.ns_ip, self.demo.url)
        self.faults_to_clear = []

    def tearDown(self):
        for clear in reversed(self.faults_to_clear):
            clear()
        super().tearDown()

    # ---- faults on the link ----

    def drop_share_of_packets(self, share):
        # Both ways, on the target's side of the link.
        for chain in ("INPUT", "OUTPUT"):
            rule = [chain, "-m", "statistic", "--mode", "random", "--probability", str(share), "-j", "DROP"]
            self.ns.run("iptables", "-A", *rule)
            self.faults_to_clear.append(lambda rule=rule: self.ns.run("iptables", "-D", *rule))

    def limit_rate(self, rate):
        # On the target's side: the responses are what the limit slows.
        self.ns.run("tc", "qdisc", "add", "dev", self.ns.ns_if, "root", "tbf", "rate", rate,
                    "burst", "16kbit", "latency", "200ms")
        self.faults_to_clear.append(lambda: self.ns.run("tc", "qdisc", "del", "dev", self.ns.ns_if, "root"))

    def cut_link(self):
        ip("-n", self.ns.name, "link", "set", self.ns.ns_if, "down")
        self.faults_to_clear.append(lambda: ip("-n", self.ns.name, "link", "set", self.ns.ns_if, "up"))

    # ---- running and checking ----

    def start_bench(self, path, *args, url=None, duration=3, timeout=1.0):
        conf = bench_conf(url or self.demo.url, title="Fault", cycles=1, duration=duration,
                          extra=f"[fault]\npath = {path}\n")
        test = self.make_test("Fault", ONE_GET_LUA, conf)
        self.results_dir = os.path.join(self.out, "out")
        self.planned_s = duration + timeout
        self.started_at = time.monotonic()
        return subprocess.Popen(
            [os.environ["BENCHMASTER"], "run", test, "-o", self.results_dir, "--timeout", str(timeout),
             "--connect-timeout", str(timeout), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish_bench(self, proc):
        """Waits for the bench, checks that it ended on time (the window, then at most one
        timeout of drain), and returns its only cycle."""
        try:
            out, err = proc.communicate(timeout=self.planned_s + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            self.fail("the bench did not end")
        took = time.monotonic() - self.started_at
        self.assertIn(proc.returncode, (0, 1), out + err)
        self.assertLessEqual(took, self.planned_s + SLACK_S, f"ended {took:.1f} s after its start\n{out}")
        self.log = out
        cycle = read_json(os.path.join(self.results_dir, "results.json"))["cycles"][0]
        self.assertEqual(cycle["status"], "complete", cycle)
        return cycle

    def bench(self, path, *args, **kwargs):
        return self.finish_bench(self.start_bench(path, *args, **kwargs))

    def open_bench(self, path, rate=50, max_users=100, **kwargs):
        return self.bench(path, "-r", str(rate), "--max-users", str(max_users), **kwargs)

    def assert_every_start_accounted(self, cycle):
        """Every iteration the open model started ended exactly once: counted in the window,
        outside it (in the drain) or abandoned; one request each."""
        started = cycle["arrivals"]["started"]
        self.assertGreater(started, 0, cycle["arrivals"])
        outside = cycle["outside_window"]
        abandoned = cycle.get("abandoned", {"tests": 0, "pages": 0, "requests": 0})
        tests = sum(counted(t) for t in cycle["tests"]) + outside["tests"] + abandoned["tests"]
        requests = sum(counted(r) for r in cycle["requests"]) + outside["requests"] + abandoned["requests"]
        self.assertEqual(tests, started, (cycle["arrivals"], outside, abandoned))
        self.assertEqual(requests, started, (cycle["arrivals"], outside, abandoned))

    def error_kinds(self, cycle):
        kinds = {}
        for r in cycle["requests"]:
            for kind, n in r.get("error_kinds", {}).items():
                kinds[kind] = kinds.get(kind, 0) + n
        return kinds

    def ok(self, cycle):
        return sum(r["ok"] for r in cycle["requests"])

    def failed(self, cycle):
        return sum(r["failures"] + r["errors"] for r in cycle["requests"])

    # ---- the matrix ----

    def test_ten_percent_packet_loss(self):
        self.drop_share_of_packets(0.1)
        cycle = self.open_bench("/delay/0", timeout=2.0)
        self.assert_every_start_accounted(cycle)
        # TCP recovers most losses by retransmission; what it cannot within the timeout
        # is a timeout, nothing else.
        self.assertGreater(self.ok(cycle), 0.5 * cycle["arrivals"]["started"], cycle["arrivals"])
        self.assertLessEqual(set(self.error_kinds(cycle)), {"timeout", "connect"}, self.error_kinds(cycle))

    def test_a_bandwidth_limit_bounds_the_bytes_received(self):
        self.limit_rate("2mbit")  # 250 kB/s; each response is 50 kB, so ~5/s
        cycle = self.open_bench("/bytes/50000", rate=20, max_users=200, timeout=10.0, duration=3)
        self.assert_every_start_accounted(cycle)
        received = sum(r["bytes_received"] for r in cycle["requests"])
        # The responses counted in the window came through the link in it (plus one burst
        # and the response under way when the window opened).
        self.assertLessEqual(received, 250_000 * 1.1 * cycle["window_s"] + 2_000 + 50_300, received)
        self.assertGreater(received, 0)
        # The rest were finished in the drain, within the timeout: none lost, none failed.
        self.assertEqual(self.failed(cycle), 0)
        # 20/s were asked and ~5/s fit: users piled up behind the link.
        self.assertGreater(cycle["arrivals"]["peak_users"], 10, cycle["arrivals"])
        self.assertLess(self.ok(cycle), cycle["arrivals"]["started"], cycle["arrivals"])

    def test_the_link_cut_mid_cycle(self):
        proc = self.start_bench("/delay/0", "-c", "10", duration=3, timeout=1.0)
        before = self.demo.counter()["requests"]
        wait_for(lambda: self.demo.counter()["requests"] > before + 200, 20, "requests to reach the target")
        self.cut_link()
        cycle = self.finish_bench(proc)
        kinds = self.error_kinds(cycle)
        # Each of the 10 users had a request under way or about to be: each timed out at
        # least once; none hangs, nothing else goes wrong.
        self.assertGreaterEqual(kinds.get("timeout", 0), 10, kinds)
        self.assertLessEqual(set(kinds), {"timeout", "connect"}, kinds)
        self.assertGreater(self.ok(cycle), 0)
        # One request per test: both tallies agree, whatever ended where.
        outside, abandoned = cycle["outside_window"], cycle.get("abandoned", {"tests": 0, "requests": 0})
        self.assertEqual(sum(counted(t) for t in cycle["tests"]) + outside["tests"] + abandoned["tests"],
                         sum(counted(r) for r in cycle["requests"]) + outside["requests"] + abandoned["requests"])

    def test_added_delay(self):
        cycle = self.open_bench("/delay/300", rate=20)
        self.assert_every_start_accounted(cycle)
        latency = cycle["requests"][0]["latency"]
        self.assertGreaterEqual(latency["min_us"], 300_000, latency)
        self.assertEqual(self.failed(cycle), 0)

    def test_a_target_that_accepts_and_never_answers(self):
        cycle = self.open_bench("/hostile/no-response", rate=20, timeout=0.5)
        self.assert_every_start_accounted(cycle)
        self.assertEqual(self.ok(cycle), 0)
        self.assertEqual(set(self.error_kinds(cycle)), {"timeout"})

    def test_resets_mid_response(self):
        cycle = self.open_bench("/hostile/reset-mid", rate=50)
        self.assert_every_start_accounted(cycle)
        self.assertEqual(self.ok(cycle), 0)
        self.assertEqual(set(self.error_kinds(cycle)), {"reset"})

    def test_a_half_closed_connection(self):
        cycle = self.open_bench("/hostile/half-close", rate=50)
        self.assert_every_start_accounted(cycle)
        self.assertEqual(self.ok(cycle), 0)
        self.assertEqual(set(self.error_kinds(cycle)), {"reset"})

    def test_a_refused_port(self):
        # Nothing listens on port 9 in the namespace: the kernel there answers with a reset.
        cycle = self.open_bench("/", rate=50, url=f"http://{self.ns.ns_ip}:9")
        self.assert_every_start_accounted(cycle)
        self.assertEqual(self.ok(cycle), 0)
        self.assertEqual(set(self.error_kinds(cycle)), {"connect"})
        self.assertIn("refused", self.log.lower() + str(cycle.get("errors", "")).lower())


if __name__ == "__main__":
    unittest.main()
