"""bench-master over SSH: a real OpenSSH sshd started by the test on loopback (its own
config, port, host key and authorized key), several host entries (127.0.0.1, 127.0.0.2,
localhost) carrying 5 node processes, and the SSH faults: an unreachable node, a refused
login, an unknown host key, a missing bench-node, Ctrl-C, a hostile label and path."""

import glob
import os
import re
import signal
import unittest
from types import SimpleNamespace

from harness import BENCHMASTER, OUT_DIR, Sshd, read_json, run
from test_master import (DistributedCase, alive, merged_figures, pwned_files, read_text, requests_counted, summed_figures,
                         wait_for)

# The build's bench-node, by absolute path, as -s gives it.
BENCH_NODE = os.path.join(os.path.dirname(os.path.abspath(BENCHMASTER)), "bench-node")


class SshCase(DistributedCase):
    sshd_extra_config = ""  # appended to the test sshd's config

    def setUp(self):
        super().setUp()
        self.sshd = self.start(Sshd(os.path.join(self.out, "sshd"), extra_config=self.sshd_extra_config))
        self.port = self.sshd.port

    def ssh_args(self, label, nodes, *extra, script=BENCH_NODE):
        args = self.master_args(label, "--nodes", nodes, *self.sshd.ssh_options(), *extra)
        return args + (["-s", script] if script else [])

    def rows(self, label):
        """The merged nodes table of run `label`, by node number."""
        return {n["node_num"]: n for n in read_json(os.path.join(self.run_dir(label), "results.json"))["nodes"]}


class SshTransport(SshCase):
    def test_five_nodes_over_three_host_entries_merge_exactly(self):
        self.make_dist_test()
        before = self.demo.counter()["requests"]
        nodes = f"127.0.0.1:{self.port}*2,127.0.0.2:{self.port}*2,localhost:{self.port}"
        proc = run(self.ssh_args("ssh-run", nodes, "-p", "3"), check=0, timeout=120)
        served = self.demo.counter()["requests"] - before
        merged, _ = self.check_merged_run("ssh-run", proc, 5, served, node_dir=self.x)
        self.assertEqual(merged["config"]["cycles"], [10, 15])
        for host in ("127.0.0.1", "127.0.0.2", "localhost"):
            self.assertIn(f"{host}:{self.port}: ready, clock offset", proc.stdout)
        # One connection per host entry carried every step: sshd logged three logins.
        logins = re.findall(r"Accepted publickey for root", read_text(os.path.join(self.out, "sshd", "sshd.log")))
        self.assertEqual(len(logins), 3)

    def test_push_copies_this_program_once_and_a_hostile_label_is_never_run(self):
        self.make_dist_test(cycles="1", duration=1)
        label = 'it\'s $(touch bm-pwned); `touch bm-pwned` "q" a|b *\\'
        x = os.path.join(self.out, "node dir $(touch bm-pwned) 'q';")
        nodes = f"127.0.0.1:{self.port}*2,127.0.0.2:{self.port}"
        args = self.master_args(label, "--nodes", nodes, *self.sshd.ssh_options(), "--push")
        args[args.index("-x") + 1] = x
        # The master keeps its stripped copy in ~/.cache: this test's own home.
        home = os.path.join(self.out, "home")
        env = dict(os.environ, HOME=home)
        run(args, check=0, timeout=120, env=env)
        self.assertEqual(len(glob.glob(os.path.join(home, ".cache", "benchmaster", "push", "*.bench-node"))), 1)
        self.assertEqual(pwned_files(self.out, x), [])
        pushed = glob.glob(os.path.join(glob.escape(x), ".bench-node", "*", "bench-node"))
        self.assertEqual(len(pushed), 1, pushed)
        self.assertTrue(os.access(pushed[0], os.X_OK))
        # The copy is stripped: smaller than this program.
        self.assertLess(os.path.getsize(pushed[0]), os.path.getsize(os.path.realpath(BENCHMASTER)))
        self.assertEqual(len(self.node_files(self.run_dir(label))), 3)
        # A second run finds the same checksum on both hosts and sends nothing.
        copied = os.stat(pushed[0]).st_mtime_ns
        args[args.index("-n") + 1] = label + " again"
        run(args, check=0, timeout=120, env=env)
        self.assertEqual(os.stat(pushed[0]).st_mtime_ns, copied)
        self.assertEqual(len(self.node_files(self.run_dir(label + " again"))), 3)


class SshFleet(SshCase):
    """Set-up in one session per host, results collected as each node ends."""

    def test_an_early_node_is_collected_before_the_others_end_and_the_merge_is_the_files_merge(self):
        self.make_dist_test(cycles="1", duration=1)
        # Node 0 ends with its window; the others drain a request of 6 s first.
        with open(os.path.join(self.out, "test_Dist.lua"), "a") as f:
            f.write('\nlocal original = test_Dist\nfunction test_Dist(vu)\n  original(vu)\n'
                    '  if vu.node_num ~= 0 then vu:get(conf_get("main", "url") .. "/delay/6000") end\nend\n')
        before = self.demo.counter()["requests"]
        nodes = f"127.0.0.1:{self.port}*2,127.0.0.2:{self.port}*2"
        proc = run(self.ssh_args("early", nodes), check=0, timeout=120)
        served = self.demo.counter()["requests"] - before
        lines = proc.stdout.splitlines()
        collected = lines.index(f"node 0 (127.0.0.1:{self.port}): results collected")
        for num, host in ((1, "127.0.0.1"), (2, "127.0.0.2"), (3, "127.0.0.2")):
            self.assertLess(collected, lines.index(f"node {num} ({host}:{self.port}): finished"), proc.stdout)
        # One set-up session per host (plus its clock): not one per node or file.
        self.assertIn(f"127.0.0.1:{self.port}: ready", proc.stdout)
        self.assertRegex(proc.stdout, rf"127\.0\.0\.2:{self.port}: ready, .*; 2 of 2 nodes set up")
        # The merge folded in as the nodes ended is the merge of their files.
        run_dir = self.run_dir("early")
        merged = read_json(os.path.join(run_dir, "results.json"))
        nodes = self.node_files(run_dir)
        self.assertEqual(requests_counted(merged), served)
        self.assertEqual(merged_figures(merged), summed_figures([nodes[n] for n in sorted(nodes)]))


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def children_of(pid):
    return [p for p in map(int, filter(str.isdigit, os.listdir("/proc"))) if parent_of(p) == pid]


class SshAgent(SshCase):
    """One SSH session per host while nodes run: bench-node --agent there starts them."""

    def sessions(self):
        return read_text(os.path.join(self.out, "sshd", "sshd.log")).count("Starting session")

    def test_a_host_runs_its_nodes_under_one_agent_and_the_master_holds_one_session_per_host(self):
        self.make_dist_test(cycles="1:1", duration=2)
        nodes = f"127.0.0.1:{self.port}*3,127.0.0.2:{self.port}*3"
        before = self.demo.counter()["requests"]
        master = self.start_master(self.ssh_args("agent", nodes))
        pids = self.node_pids("agent", 6)
        for num in range(6):
            self.wait_for_cycle("agent", num, 0)
        # Each host's three nodes are children of one agent there...
        agents = {parent_of(pid) for pid in pids.values()}
        self.assertEqual(len(agents), 2, pids)
        for agent in agents:
            self.assertIn(b"--agent", command_line(agent))
        # ... and the master holds, per host, its ControlMaster and the agent's session:
        # 4 ssh processes, not one more per node.
        ssh = [p for p in children_of(master.pid) if command_line(p)[:1] == [b"ssh"]]
        self.assertEqual(len(ssh), 4, [command_line(p) for p in ssh])
        self.assertEqual(master.proc.wait(timeout=120), 0, self.master_output())
        out, _ = self.master_output()
        served = self.demo.counter()["requests"] - before
        self.check_merged_run("agent", SimpleNamespace(stdout=out), 6, served, node_dir=self.x)
        # Per host: the clock, the set-up and the agent, which also brought the results
        # back: never one session per node, nor one per collected batch.
        self.assertEqual(self.sessions(), 2 * 3)
        for pid in list(pids.values()) + list(agents):
            self.assertFalse(alive(pid))

    def test_session_per_node_runs_a_session_for_each_node_as_before(self):
        self.make_dist_test(cycles="1", duration=1)
        nodes = f"127.0.0.1:{self.port}*3"
        before = self.demo.counter()["requests"]
        master = self.start_master(self.ssh_args("per-node", nodes, "--session-per-node"))
        pids = self.node_pids("per-node", 3)
        self.assertFalse(any(b"--agent" in command_line(parent_of(pid)) for pid in pids.values()))
        self.assertEqual(master.proc.wait(timeout=120), 0, self.master_output())
        out, _ = self.master_output()
        self.check_merged_run("per-node", SimpleNamespace(stdout=out), 3, self.demo.counter()["requests"] - before,
                              node_dir=self.x)

    def test_a_killed_agent_loses_its_hosts_nodes_and_the_others_finish(self):
        self.make_dist_test(cycles="1:1", duration=3)
        nodes = f"127.0.0.1:{self.port}*2,127.0.0.2:{self.port}*2"
        master = self.start_master(self.ssh_args("agent-killed", nodes))
        pids = self.node_pids("agent-killed", 4)
        for num in range(4):
            self.wait_for_cycle("agent-killed", num, 0)
        agent = parent_of(pids[2])
        self.assertEqual(parent_of(pids[3]), agent)
        os.kill(agent, signal.SIGKILL)
        self.assertEqual(master.proc.wait(timeout=120), 3, self.master_output())
        out, _ = self.master_output()
        rows = self.rows("agent-killed")
        self.assertEqual([rows[n]["status"] for n in (0, 1)], ["complete", "complete"], out)
        for num in (2, 3):
            self.assertNotEqual(rows[num]["status"], "complete", out)
            self.assertIn("the session to the host agent ended", rows[num]["message"])
        self.assertTrue(out.strip().splitlines()[-1].startswith("Report: "), out)
        # Their input gone, the agent's nodes stopped there: no process is left.
        for num in (2, 3):
            wait_for(lambda: not alive(pids[num]), 20, f"node {num} to end with its agent")


class SshSetUpFault(SshCase):
    # On 127.0.0.2, tar reads only the first 3000 bytes of the set-up archive: it lays
    # out part of the first node's folder, then fails (unexpected end of the archive).
    sshd_extra_config = "Match LocalAddress 127.0.0.2\n    SetEnv PATH={bin}:/usr/local/bin:/usr/bin:/bin\n"

    def setUp(self):
        self.fault_bin = os.path.join(OUT_DIR, type(self).__name__ + "-bin")
        os.makedirs(self.fault_bin, exist_ok=True)
        self.extracted = os.path.join(self.fault_bin, "extracted.txt")
        with open(os.path.join(self.fault_bin, "tar"), "w") as f:
            f.write(f"#!/bin/sh\nhead -c 3000 | /usr/bin/tar \"$@\" -v > {self.extracted}\n")
        os.chmod(os.path.join(self.fault_bin, "tar"), 0o755)
        self.sshd_extra_config = SshSetUpFault.sshd_extra_config.format(bin=self.fault_bin)
        super().setUp()

    def test_a_host_whose_set_up_fails_halfway_leaves_no_partial_folder_and_the_others_run(self):
        self.make_dist_test(cycles="1", duration=1)
        # An earlier run's folder of a failing node stays as it was, not half replaced.
        earlier = os.path.join(self.x, "halfway", "node-3")
        os.makedirs(earlier)
        self.write(os.path.join(earlier, "from-before"), "")
        nodes = f"127.0.0.1:{self.port}*2,127.0.0.2:{self.port}*2"
        proc = run(self.ssh_args("halfway", nodes), check=3, timeout=120)
        self.assertIn("node-2/", read_text(self.extracted))  # it did fail halfway
        rows = self.rows("halfway")
        self.assertEqual([rows[n]["status"] for n in range(4)], ["complete", "complete", "failed", "failed"], proc.stdout)
        self.assertIn("the set-up archive ended early", rows[2]["message"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.x, "halfway"))), ["node-0", "node-1", "node-3"])
        self.assertEqual(os.listdir(earlier), ["from-before"])
        self.assertIn(f"127.0.0.2:{self.port}: ready, ", proc.stdout)
        self.assertIn("0 of 2 nodes set up", proc.stdout)
        self.assertIn("Merged 2 of 4 nodes", proc.stdout)


class SshFaults(SshCase):
    def test_unreachable_node_and_refused_login_leave_the_others_running(self):
        self.make_dist_test(cycles="1", duration=1)
        nothing_there = self.sshd.port + 1 if self.sshd.port < 65535 else 1024
        nodes = (f"127.0.0.1:{self.port},127.0.0.1:{nothing_there},ghost@127.0.0.2:{self.port},"
                 f"localhost:{self.port}")
        proc = run(self.ssh_args("faults", nodes), check=3, timeout=120)
        rows = self.rows("faults")
        self.assertEqual(rows[0]["status"], "complete")
        self.assertEqual(rows[3]["status"], "complete")
        self.assertEqual(rows[1]["status"], "failed")
        self.assertIn("Connection refused", rows[1]["message"])
        self.assertEqual(rows[2]["status"], "failed")
        self.assertIn("Permission denied", rows[2]["message"])
        self.assertIn(f"node 1 (127.0.0.1:{nothing_there}): cannot connect", proc.stdout)
        self.assertTrue(proc.stdout.strip().splitlines()[-1].startswith("Report: "))

    def test_require_all_starts_nothing_when_a_node_is_unreachable(self):
        self.make_dist_test(cycles="1", duration=1)
        proc = run(self.ssh_args("all", f"127.0.0.1:{self.port},127.0.0.1:1", "--require-all"), check=2, timeout=60)
        self.assertIn("--require-all: not every node is ready, nothing started", proc.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.x, "all", "node-0", "results")))

    def test_unknown_host_key_is_refused_unless_accept_new(self):
        self.make_dist_test(cycles="1", duration=1)
        nodes = f"127.0.0.1:{self.port},127.0.0.3:{self.port}"
        proc = run(self.ssh_args("unknown-key", nodes), check=3, timeout=60)
        row = self.rows("unknown-key")[1]
        self.assertEqual(row["status"], "failed")
        self.assertIn("Host key verification failed", row["message"])
        self.assertNotIn("127.0.0.3", read_text(self.sshd.known_hosts))

        run(self.ssh_args("accept-new", nodes, "--accept-new-host-keys"), check=0, timeout=60)
        self.assertEqual([r["status"] for r in self.rows("accept-new").values()], ["complete", "complete"])
        self.assertIn(f"[127.0.0.3]:{self.port}", read_text(self.sshd.known_hosts))

    def test_changed_host_key_is_refused_even_with_accept_new(self):
        self.make_dist_test(cycles="1", duration=1)
        with open(self.sshd.known_hosts, "w") as f:
            f.write(f"[127.0.0.1]:{self.port} ssh-ed25519 "
                    "AAAAC3NzaC1lZDI1NTE5AAAAIBm2G2vMtmlOVwhRqM5Bb+1DxTd1G9J1fd7ozi6mSq5Y\n")
        proc = run(self.ssh_args("changed", f"127.0.0.1:{self.port}", "--accept-new-host-keys"), check=2, timeout=60)
        self.assertIn("Host key verification failed", proc.stdout)

    def test_missing_bench_node_names_the_program(self):
        self.make_dist_test(cycles="1", duration=1)
        proc = run(self.ssh_args("no-node", f"127.0.0.1:{self.port},127.0.0.2:{self.port}",
                                 script="/nonexistent/bench-node"), check=2, timeout=60)
        self.assertIn("cannot run the node program '/nonexistent/bench-node'", proc.stdout)
        self.assertIn("exit 127", proc.stdout)
        self.assertIn("No node can run: nothing started", proc.stdout)

    def test_ctrl_c_stops_the_remote_nodes(self):
        self.make_dist_test(cycles="1:1", duration=3)
        nodes = f"127.0.0.1:{self.port}*2,127.0.0.2:{self.port}"
        master = self.start_master(self.ssh_args("ssh-interrupted", nodes))
        pids = self.node_pids("ssh-interrupted", 3)
        for num in range(3):
            self.wait_for_cycle("ssh-interrupted", num, 1)
        master.proc.send_signal(signal.SIGINT)
        self.assertEqual(master.proc.wait(timeout=60), 130)
        out, _ = self.master_output()
        for pid in pids.values():
            self.assertFalse(alive(pid), f"remote node process {pid} still runs")
        merged = read_json(os.path.join(self.run_dir("ssh-interrupted"), "results.json"))
        self.assertEqual([c["status"] for c in merged["cycles"]], ["complete", "incomplete"])
        self.assertEqual([n["status"] for n in merged["nodes"]], ["incomplete"] * 3)
        self.assertTrue(out.strip().splitlines()[-1].startswith("Report: "), out)

    def test_a_node_killed_over_ssh_is_named_killed_by_signal_9(self):
        self.make_dist_test(cycles="1:1:1", duration=2)
        nodes = f"127.0.0.1:{self.port}*2"
        master = self.start_master(self.ssh_args("ssh-killed", nodes))
        pids = self.node_pids("ssh-killed", 2)
        self.wait_for_cycle("ssh-killed", 1, 1)
        os.kill(pids[1], signal.SIGKILL)
        self.assertEqual(master.proc.wait(timeout=90), 3)
        rows = self.rows("ssh-killed")
        self.assertIn("killed by signal 9", rows[1]["message"])
        self.assertNotIn("exit 255", rows[1]["message"])
        # The nodes table names each node as the user gave it.
        self.assertEqual(rows[0]["host"], f"127.0.0.1:{self.port}")

    def test_nodes_stopped_over_ssh_are_stopped_for_good_and_leave_no_process(self):
        # SIGSTOP on the nodes' host, every node: their heartbeats stop (no node finishes,
        # so nothing else would tell); the master stops them there (TERM and CONT over
        # SSH) and keeps their finished cycles.
        self.make_dist_test(cycles="1:1", duration=2)
        nodes = f"127.0.0.1:{self.port}*2"
        master = self.start_master(self.ssh_args("ssh-stopped", nodes, "--heartbeat-timeout", "2"))
        pids = self.node_pids("ssh-stopped", 2)
        self.wait_for_cycle("ssh-stopped", 0, 1)
        self.wait_for_cycle("ssh-stopped", 1, 1)
        os.kill(pids[0], signal.SIGSTOP)
        try:
            out = self.hang_node_until_master_ends(master, pids[1])
        finally:
            if alive(pids[0]):
                os.kill(pids[0], signal.SIGCONT)
        self.assertIn("no heartbeat for 2 s", out)
        self.assertFalse(alive(pids[0]), "a stopped node still runs")
        self.assertFalse(alive(pids[1]), "a stopped node still runs")
        rows = self.rows("ssh-stopped")
        for num in range(2):
            self.assertEqual(rows[num]["status"], "incomplete")
            self.assertIn("hung: no heartbeat", rows[num]["message"])
            node = read_json(os.path.join(self.run_dir("ssh-stopped"), "results", f"node-{num}.json"))
            self.assertEqual(node["cycles"][0]["status"], "complete")

    def test_kill_9_of_the_master_leaves_no_ssh_process_and_the_next_run_cleans_up(self):
        self.make_dist_test(cycles="1:1", duration=30)
        master = self.start_master(self.ssh_args("master-killed", f"127.0.0.1:{self.port}"))
        self.node_pids("master-killed", 1)
        children = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                    if parent_of(pid) == master.pid]
        self.assertTrue(children)  # its ssh ControlMaster and the node's session
        private = [d for d in glob.glob("/tmp/bench-master-*")
                   if read_text(os.path.join(d, "master.pid")).strip() == str(master.pid)]
        self.assertEqual(len(private), 1)
        master.proc.kill()
        master.proc.wait()
        for pid in children:
            wait_for(lambda: not alive(pid), 10, f"ssh process {pid} to end with the master")
        self.assertTrue(os.path.isdir(private[0]))  # nothing could clean up at kill -9
        # The next master removes the folder of the one that died.
        run(self.ssh_args("after-kill", f"127.0.0.1:{self.port}", script="/nonexistent/bench-node"), timeout=60)
        self.assertFalse(os.path.exists(private[0]))


def parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(") ", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


if __name__ == "__main__":
    unittest.main()
