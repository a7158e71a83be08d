"""Test data across nodes (docs/test-data.md): CSV feeders partitioned by node and
credentials leased from bench-credential, checked against the demo target's own session
log: no account is used by two sessions at once, and every row or login is used."""
import glob
import os
import re
import signal
import subprocess
import time
import unittest

from harness import (BENCHMASTER, CredentialServer, DemoServer, TestCase, bench_conf, read_json, run)

# Log in, look at the account, log out: the demo target logs each session per account.
LOGIN_LUA = """
function test_Data(vu)
  local base = conf_get("main", "url")
  local login, password = %s
  vu:post(base .. "/login", {params = {user = login, password = password}, description = "login"})
  if vu:last().url ~= base .. "/account" then fail("not logged in as " .. login) end
  vu:get(base .. "/delay/5", {description = "work"})
  vu:get(base .. "/logout", {description = "logout"})
end
"""

FEED = "(function() local row = feed('users'); return row.login, row.password end)()"
LEASE = 'lease_credential("shop")'


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def numbered_users(n):
    return [(f"user{i}", f"pass{i}") for i in range(n)]


class TestDataCase(TestCase):
    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer(threads=2))
        self.demo.reset_counter()
        self.w = os.path.join(self.out, "w")
        self.x = os.path.join(self.out, "x")

    def master(self, label, nodes=4, cycles=50, duration=2, *extra):
        proc = run(["master", os.path.join(self.out, "test_Data.lua"), "-n", label, "-w", self.w, "-x", self.x,
                    "--nodes", f"local*{nodes}", "-c", str(cycles), "-D", str(duration), *extra], timeout=240)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        runs = glob.glob(os.path.join(self.w, label, "reports", "Data-*"))
        self.assertEqual(len(runs), 1, runs)
        return proc, runs[0], read_json(os.path.join(runs[0], "results.json"))

    def check_sessions(self, logins, merged):
        """No account had two sessions at once; every login was used; every session ended."""
        sessions = self.demo.get_json("/sessions")
        self.assertEqual(sessions["overlaps"], 0, sessions)
        self.assertEqual(set(sessions["accounts"]), set(logins), "every row or login is used, and only those")
        for login, account in sessions["accounts"].items():
            self.assertEqual(account["max_open"], 1, (login, account))
            self.assertEqual(account["open"], 0, (login, account))
        tests = merged["cycles"][0]["tests"][0]
        self.assertGreater(tests["ok"], len(logins))
        self.assertEqual(tests.get("error", 0) + tests.get("failure", 0), 0, merged["cycles"][0].get("errors"))
        return sessions


class Feeders(TestDataCase):
    def test_four_nodes_log_in_with_their_own_rows(self):
        users = numbered_users(200)
        self.write("users.csv", "login,password\n" + "".join(f"{u},{p}\n" for u, p in users))
        self.make_test("Data", LOGIN_LUA % FEED,
                       bench_conf(self.demo.url, cycles=50, duration=2,
                                  extra="[feeder.users]\nfile = users.csv\norder = per_user\nat_end = fail\n"))
        proc, run_dir, merged = self.master("feed")
        self.check_sessions([u for u, _ in users], merged)
        # The report says which file fed the run, and how.
        self.assertEqual(merged["feeders"], [{"name": "users", "file": "users.csv", "order": "per_user",
                                              "at_end": "fail", "partitioned": True, "rows": 200,
                                              "handed_out": merged["feeders"][0]["handed_out"], "exhausted": 0,
                                              "nodes": 4}])
        # Node i got rows i, i+4, ...: disjoint parts, each with the header.
        for node in range(4):
            part = os.path.join(self.x, "feed", f"node-{node}", "users.csv")
            with open(part) as f:
                lines = f.read().splitlines()
            self.assertEqual(lines[0], "login,password")
            self.assertEqual(lines[1:], [f"{u},{p}" for u, p in users[node::4]])
        text = run(["report", os.path.join(run_dir, "results.json")], check=0).stdout
        self.assertIn("Test data", text)
        self.assertIn("users.csv (feeder users): per_user, at end fail, split over 4 nodes; 200 rows", text)
        with open(os.path.join(run_dir, "index.html")) as f:
            self.assertIn("split over 4 nodes; 200 rows", f.read())

    def test_too_few_rows_for_the_nodes_is_one_line(self):
        self.write("users.csv", "login,password\nuser1,pass1\nuser2,pass2\n")
        self.make_test("Data", LOGIN_LUA % FEED,
                       bench_conf(self.demo.url, extra="[feeder.users]\nfile = users.csv\n"))
        proc = run(["master", os.path.join(self.out, "test_Data.lua"), "-n", "few", "-w", self.w, "-x", self.x,
                    "--nodes", "local*3"], timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("[feeder.users] users.csv: 2 rows for 3 nodes", proc.stderr)

    def test_stop_user_at_the_end_of_a_shared_sequence(self):
        self.write("users.csv", "login,password\nuser1,pass1\nuser2,pass2\nuser3,pass3\n")
        self.make_test("Data", LOGIN_LUA % FEED,
                       bench_conf(self.demo.url, cycles=2, duration=2,
                                  extra="[feeder.users]\nfile = users.csv\nat_end = stop_user\n"))
        proc = run(["run", os.path.join(self.out, "test_Data.lua"), "-o", os.path.join(self.out, "results")],
                   timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        results = read_json(os.path.join(self.out, "results", "results.json"))
        tests = results["cycles"][0]["tests"][0]
        self.assertEqual(tests["ok"], 3, "one test per row, then the users stopped")
        self.assertEqual(tests.get("error", 0), 0)
        self.assertEqual(results["feeders"][0]["handed_out"], 3)
        self.assertEqual(results["feeders"][0]["exhausted"], 2, "each of the 2 users found the end once")

    def test_a_malformed_csv_is_one_line_with_its_line(self):
        self.write("users.csv", "login,password\nuser1,pass1\nuser2\n")
        self.make_test("Data", LOGIN_LUA % FEED, bench_conf(self.demo.url, extra="[feeder.users]\nfile = users.csv\n"))
        proc = run(["test", os.path.join(self.out, "test_Data.lua")], timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(proc.stderr.strip().splitlines(), ["benchmaster test: users.csv:3: 1 field where the header names 2"])


class Credentials(TestDataCase):
    def credentials(self, users, groups="shop"):
        path = self.write("passwords.txt", "# FunkLoad's passwords file\n" + "".join(f"{u}:{p}\n" for u, p in users))
        groups_path = self.write("groups.txt", f"{groups}:" + ", ".join(u for u, _ in users) + "\n")
        return self.start(CredentialServer(self.out, path, groups_path))

    def test_four_nodes_lease_credentials_and_never_share_one(self):
        users = numbered_users(100)
        server = self.credentials(users)
        # 200 users for 100 logins: half of them wait for a release at any time.
        self.make_test("Data", LOGIN_LUA % LEASE,
                       bench_conf(self.demo.url, cycles=50, duration=2,
                                  extra=f"[credential]\nhost = 127.0.0.1\nport = {server.port}\n"))
        proc, run_dir, merged = self.master("lease")
        self.check_sessions([u for u, _ in users], merged)
        status = server.get_json("/status")
        self.assertEqual(status["held"], 0, "every lease came back when its test ended")
        shop = next(g for g in status["groups"] if g["group"] == "shop")
        self.assertGreater(shop["leases"], 200)
        self.assertEqual(shop["expired"], 0)

    def test_a_lease_taken_in_setup_vu_is_the_users_until_it_stops(self):
        users = numbered_users(6)
        server = self.credentials(users)
        lua = """
function setup_vu(vu)
  vu.login, vu.password = lease_credential("shop")
end
""" + LOGIN_LUA % "vu.login, vu.password"
        self.make_test("Data", lua, bench_conf(self.demo.url, cycles=6, duration=1,
                                               extra=f"[credential]\nport = {server.port}\n"))
        proc = run(["run", os.path.join(self.out, "test_Data.lua"), "-o", os.path.join(self.out, "results")],
                   timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        sessions = self.demo.get_json("/sessions")
        self.assertEqual(sessions["overlaps"], 0, sessions)
        self.assertEqual(set(sessions["accounts"]), {u for u, _ in users})
        self.assertTrue(all(a["sessions"] > 1 for a in sessions["accounts"].values()), sessions)
        status = server.get_json("/status")
        shop = next(g for g in status["groups"] if g["group"] == "shop")
        self.assertEqual(shop["leases"], 6, "one lease per user, kept across its tests")
        self.assertEqual(status["held"], 0, "returned when the users stopped")

    def test_ctrl_c_returns_the_leases_and_ends_the_waits(self):
        server = self.credentials(numbered_users(1))
        lua = """
function test_Data(vu)
  local login = lease_credential("shop")
  vu:get(conf_get("main", "url") .. "/delay/5000", {description = "slow"})
end
"""
        self.make_test("Data", lua, bench_conf(self.demo.url, cycles=4, duration=30,
                                               extra=f"[credential]\nport = {server.port}\nlease_wait = 60\n"))
        bench = subprocess.Popen([BENCHMASTER, "run", os.path.join(self.out, "test_Data.lua"), "-o",
                                  os.path.join(self.out, "results")], cwd=self.out, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        try:
            shop = lambda: next(g for g in server.get_json("/status")["groups"] if g["group"] == "shop")
            wait_until(lambda: shop()["held"] == 1 and shop()["waiting"] == 3, 30, "one user holding, three waiting")
            bench.send_signal(signal.SIGINT)
            bench.communicate(timeout=30)
        finally:
            if bench.poll() is None:
                bench.kill()
                bench.wait()
        # Returned and hung up at once, not when the 60 s lease or wait runs out.
        try:
            wait_until(lambda: shop()["held"] == 0 and shop()["waiting"] == 0, 10, "the lease back, no one waiting")
        except AssertionError:
            raise AssertionError(f"{shop()}")
        self.assertEqual(shop()["expired"], 0)

    def test_errors_are_clear_test_errors(self):
        server = self.credentials(numbered_users(1))
        lua = """
function test_Data(vu)
  local login = %s
end
"""
        cases = [
            ('lease_credential("nobody")', server.port, "no group 'nobody' (groups: shop)"),
            ('lease_credential("shop", {wait = 0.2}) and lease_credential("shop", {wait = 0.2})', server.port,
             "no free credential in group 'shop' after 0.2 s (1 of 1 held)"),
            ('credential("shop")', server.port + 1 if server.port < 65535 else 1, "connect: Connection refused"),
        ]
        for call, port, message in cases:
            with self.subTest(call=call):
                self.make_test("Data", lua % call,
                               bench_conf(self.demo.url, extra=f"[credential]\nhost = 127.0.0.1\nport = {port}\n"))
                proc = run(["test", os.path.join(self.out, "test_Data.lua")], timeout=30)
                self.assertNotEqual(proc.returncode, 0)
                self.assertRegex(proc.stdout + proc.stderr,
                                 r"test_data \(E\): \S*test_Data\.lua:3: credential server 127\.0\.0\.1:\d+: .*"
                                 + re.escape(message))
        self.assertEqual(server.get_json("/status")["held"], 0, "the failed test's lease went back")

    def test_no_credential_section_says_what_to_add(self):
        self.make_test("Data", LOGIN_LUA % LEASE, bench_conf(self.demo.url))
        proc = run(["test", os.path.join(self.out, "test_Data.lua")], timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no credential server: name it in the conf's [credential] host and port", proc.stdout)


class Daemon(TestCase):
    def test_funkload_files_start_stop_and_bad_lines(self):
        # FunkLoad's demo files as they are: comments, a group named twice.
        self.write("passwords.txt", "# $Id$\n#\nadmin:admin\n\nfl_member_01:pw1\nfl_member_02:pw2\n")
        self.write("groups.txt", "# The Zope admin group\nAdminZope:admin\n\nFL_Member:fl_member_01\n"
                                 "FL_Member:fl_member_02\n")
        self.write("credential.conf", "[server]\nhost = 127.0.0.1\nport = 0\ncredentials_path = passwords.txt\n"
                                      "groups_path = groups.txt\nloop_on_first_credentials = 0\n"
                                      "pid_path = credential.pid\nlog_path = credential.log\n")
        conf = os.path.join(self.out, "credential.conf")
        started = run(["credential", "start", "-c", conf], check=0, timeout=30)
        self.assertRegex(started.stdout, r"bench-credential started, pid \d+, listening on http://127\.0\.0\.1:\d+, "
                                         r"3 logins, 2 groups")
        pid = int(re.search(r"pid (\d+)", started.stdout).group(1))
        try:
            self.assertIn("bench-credential running", run(["credential", "status", "-c", conf], check=0).stdout)
            self.assertEqual(run(["credential", "start", "-c", conf], timeout=30).returncode, 1, "already running")
        finally:
            stopped = run(["credential", "stop", "-c", conf], timeout=30)
        self.assertEqual(stopped.returncode, 0, stopped.stderr)
        self.assertFalse(os.path.exists(f"/proc/{pid}"), "stop leaves no process")
        self.assertEqual(run(["credential", "status", "-c", conf]).returncode, 3)

        self.write("groups.txt", "FL_Member:fl_member_01, nobody\n")
        bad = run(["credential", "start", "-c", conf], timeout=30)
        self.assertEqual(bad.returncode, 1)
        self.assertEqual(bad.stderr.strip(), f"benchmaster credential: {os.path.join(self.out, 'groups.txt')}:1: "
                                             "group 'FL_Member': login 'nobody' is not in "
                                             f"{os.path.join(self.out, 'passwords.txt')}")


if __name__ == "__main__":
    unittest.main()
