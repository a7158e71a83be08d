#!/usr/bin/env python3
"""Side-by-side load-generator benchmark: wrk, h2load --h1 and benchmaster against one nginx.

nginx (one worker) is pinned to core 1 and serves a 1 KiB file on 127.0.0.1 with keep-alive;
every load tool is pinned to core 0. Runs are interleaved (the tool order rotates every
repetition) so that the noise of a shared machine falls on all tools alike. Printed:

  - req/s, tool CPU-us per request (user+sys of the tool's process / requests it completed),
    max RSS, and the ratios to wrk of the same connection count (medians of the repetitions);
  - system calls per request in steady state, counted untraced at full speed (perf stat on
    the syscalls:sys_enter_* tracepoints, marginal between a 3 s and a 6 s run, so
    connection set-up cancels out; median of the repetitions);
  - user-space instructions per request (callgrind, marginal between two run lengths:
    stable on a noisy machine);
  - the tests people write, each beside the one-GET test and wrk: the README's form
    (conf_get inside the test), a 5-request journey with cookies, a form POST, a check
    and an extract, and an HTML page with its resources;
  - start-up: time from exec to the first request, and to 10,000 established users.
  - the open model at one fixed rate (--open-rate, 20,000/s): benchmaster -r beside its
    closed model paced by think time (users/rate per test) and at full speed, h2load --rps
    at that rate (wrk2's -R is not in Debian) and wrk at full speed.

It is a report, never a pass/fail test: absolute figures depend on the machine and its load.
Only the standard library is used; the tools come from scripts/install-deps.sh.

  bench/run.py [--benchmaster PATH] [--reps 3] [--duration 10] [--quick] [--skip ...] [--open-rate N]
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PORT = 18090
SERVER_CORE, TOOL_CORE = "1", "0"
BIG = 10000  # the open-file limit here is 20,000: 10,000 connections is the most one process holds

NGINX_CONF = """worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_rlimit_nofile 40000;
events {{ worker_connections 30000; multi_accept on; }}
http {{
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  default_type text/plain;
  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
  server {{
    listen 127.0.0.1:{port} backlog=32768 reuseport;
    root {d}/www;
    location = /login.txt {{ add_header Set-Cookie "session=0123456789abcdef; Path=/"; }}
    location = /status {{ stub_status; }}
    location = /form {{ return 200 "saved\\n"; }}
  }}
}}
"""

ONE_TEST = """-- One GET per test: the figure to compare with wrk and h2load.
local url = conf_get("main", "url") .. "/1k.txt"
function test_One(vu)
  vu:get(url)
end
"""

PAGE5_TEST = """-- Five pages per test; the first sets a session cookie that the others send back.
local base = conf_get("main", "url")
local login, a, b, c, d = base .. "/login.txt", base .. "/a.txt", base .. "/b.txt", base .. "/c.txt", base .. "/d.txt"
function test_Page5(vu)
  vu:get(login)
  vu:get(a)
  vu:get(b)
  vu:get(c)
  vu:get(d)
end
"""

# The test as README.md teaches it (examples/test_Simple.lua): the URL read inside the
# test, the page named by an options table, its body checked.
README_TEST = """-- The README's form: conf_get inside the test function.
function test_Readme(vu)
  local base = conf_get("main", "url")
  local home = vu:get(base .. "/1k.txt", {description = "Home page"})
  assert(home:contains("cdef"), "not the test file")
end
"""

# The same without the check: the figure issue 18 set against wrk's.
README_GET_TEST = """-- The README's request alone: conf_get inside the test, the page named by an options table.
function test_ReadmeGet(vu)
  local base = conf_get("main", "url")
  vu:get(base .. "/1k.txt", {description = "Home page"})
end
"""

POST_TEST = """-- A form POST, as a login would send it.
function test_Post(vu)
  local base = conf_get("main", "url")
  vu:post(base .. "/form", {params = {{"user", "alice"}, {"password", "secret"}}, description = "Save"})
end
"""

EXTRACT_TEST = """-- A page whose body is checked and a token extracted from it.
function test_Extract(vu)
  local base = conf_get("main", "url")
  local r = vu:get(base .. "/token.html")
  assert(r:contains("Welcome"), "not the welcome page")
  local token = r:extract('name="token" value="', '"')
  assert(token == "abc123", "no token")
end
"""

PAGE_TEST = """-- An HTML page whose resources (a style sheet, a script, two images) are fetched too.
function test_Page(vu)
  local base = conf_get("main", "url")
  vu:get(base .. "/page.html")
end
"""

# name: (source, requests per test)
SCENARIOS = {
    "One": (ONE_TEST, 1),
    "Readme": (README_TEST, 1),
    "ReadmeGet": (README_GET_TEST, 1),
    "Page5": (PAGE5_TEST, 5),
    "Post": (POST_TEST, 1),
    "Extract": (EXTRACT_TEST, 1),
    "Page": (PAGE_TEST, 5),
}

CONF = """[main]
title = {name}
url = http://127.0.0.1:{port}
[bench]
cycles = 50
duration = 10
startup_delay = 0
sleep_time = 0
sleep_time_min = 0
sleep_time_max = 0
cycle_time = 0
"""


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def tool_path(name):
    path = shutil.which(name)
    if path is None:
        sys.exit(f"run.py: {name} not found (scripts/install-deps.sh installs it)")
    return path


def run_measured(argv):
    """Runs argv pinned to the tool core; returns (output, user+sys seconds, max RSS KiB).

    GNU time forks the tool from a small process: the maximum RSS of a child forked from
    this Python process would start at Python's own size.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as usage:
        proc = subprocess.run([tool_path("time"), "-f", "%U %S %M", "-o", usage.name, "taskset", "-c", TOOL_CORE]
                              + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              text=True)
        user, system, rss_kb = usage.read().split()[-3:]
    if proc.returncode != 0:
        log(f"run.py: {' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-2000:]}")
    return proc.stdout, float(user) + float(system), int(rss_kb)


def require_free_port(port):
    """Another server on the port would take part of the load and of the counts."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are fine
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            sys.exit(f"run.py: 127.0.0.1:{port} is already in use ({e.strerror}); stop what listens there first")


class Nginx:
    def __init__(self, workdir):
        require_free_port(PORT)
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(os.path.join(self.dir, "www"))
        os.makedirs(os.path.join(self.dir, "tmp"))
        body = (b"0123456789abcdef" * 64)[:1023] + b"\n"
        for name in ("1k.txt", "login.txt", "a.txt", "b.txt", "c.txt", "d.txt", "style.css", "app.js", "1.png",
                     "2.png"):
            with open(os.path.join(self.dir, "www", name), "wb") as f:
                f.write(body)
        # About 1 KiB of HTML each, as the scenarios need them.
        pages = {
            "token.html": '<html><body><h1>Welcome</h1><form><input type="hidden" name="token" value="abc123">'
                          "</form>" + "<p>filler text</p>" * 50 + "</body></html>\n",
            "page.html": '<html><head><link rel="stylesheet" href="/style.css"><script src="/app.js"></script>'
                         '</head><body><img src="/1.png"><img src="/2.png">' + "<p>filler text</p>" * 50
                         + "</body></html>\n",
        }
        for name, text in pages.items():
            with open(os.path.join(self.dir, "www", name), "w") as f:
                f.write(text)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(d=self.dir, port=PORT))
        # nginx's workers drop root: they must be able to read the files.
        for path in (workdir, self.dir, os.path.join(self.dir, "www")):
            os.chmod(path, 0o755)
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, tool_path("nginx"), "-c", conf, "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/login.txt", timeout=1) as response:
                    if response.status == 200 and response.headers["Set-Cookie"]:
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        sys.exit(f"run.py: nginx did not serve the test files (see {self.dir}/error.log)")

    def status(self):
        """(active connections, requests served) from stub_status."""
        text = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/status", timeout=2).read().decode()
        active = int(re.search(r"Active connections:\s*(\d+)", text).group(1))
        requests = int(text.split("\n")[2].split()[2])
        return active, requests

    def stop(self):
        self.proc.terminate()  # nginx's master ends its worker on SIGTERM
        self.proc.wait()


class Tests:
    """The Lua tests and their conf files, in a folder of their own."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "tests")
        os.makedirs(self.dir)
        for name, (source, _) in SCENARIOS.items():
            with open(os.path.join(self.dir, f"test_{name}.lua"), "w") as f:
                f.write(source)
            with open(os.path.join(self.dir, f"{name}.conf"), "w") as f:
                f.write(CONF.format(name=name, port=PORT))

    def path(self, name):
        return os.path.join(self.dir, f"test_{name}.lua")


def count_requests(results_file):
    """Every request of the run, inside the logging window or not."""
    with open(results_file) as f:
        results = json.load(f)
    total = 0
    for cycle in results["cycles"]:
        total += cycle["outside_window"]["requests"]
        for entry in cycle["requests"]:
            total += entry["ok"] + entry["failures"] + entry["errors"]
    return total


def window_rate(results_file):
    with open(results_file) as f:
        results = json.load(f)
    cycle = results["cycles"][0]
    served = sum(e["ok"] + e["failures"] + e["errors"] for e in cycle["requests"])
    return served / cycle["window_s"] if cycle["window_s"] > 0 else 0.0


URL = f"http://127.0.0.1:{PORT}/1k.txt"


def wrk_argv(conns, seconds):
    return [tool_path("wrk"), "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", URL]


def parse_wrk(out):
    if "Non-2xx" in out:
        log("run.py: wrk saw responses other than 2xx/3xx")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    return requests, rate


def h2load_argv(conns, seconds=None, count=None):
    argv = [tool_path("h2load"), "--h1", "-t1", f"-c{conns}"]
    argv += ["-D", str(seconds)] if seconds else ["-n", str(count)]
    return argv + [URL]


def parse_h2load(out):
    done = int(re.search(r"requests: \d+ total, \d+ started, (\d+) done", out).group(1))
    rate = float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out).group(1))
    return done, rate


class Benchmaster:
    def __init__(self, binary, tests, workdir):
        self.binary = binary
        self.tests = tests
        self.out = os.path.join(workdir, "results")

    def run_argv(self, test, conns, seconds, tag):
        out_dir = os.path.join(self.out, tag)
        shutil.rmtree(out_dir, ignore_errors=True)
        argv = [self.binary, "run", self.tests.path(test), "-c", str(conns), "-D", str(seconds), "-f",
                "--workers", "1", "-o", out_dir]
        return argv, os.path.join(out_dir, "results.json")

    def test_argv(self, users, iterations, test="One"):
        """A fixed amount of work: `users` virtual users running the test `iterations` times each."""
        return [self.binary, "test", self.tests.path(test), "--users", str(users), "-n", str(iterations), "-q"]


def median(values):
    return statistics.median(values) if values else float("nan")


def throughput(args, bm, nginx):
    """req/s, CPU-us/request and RSS of every tool, interleaved repetitions."""
    rows = {}
    # The README's form beside the one-GET test at every connection count (issue 18's targets).
    tools = ["wrk", "h2load", "benchmaster", "benchmaster Readme"]
    for rep in range(args.reps):
        for conns in args.connections:
            order = tools[rep % len(tools):] + tools[:rep % len(tools)]
            for tool in order:
                if tool == "wrk":
                    out, cpu, rss = run_measured(wrk_argv(conns, args.duration))
                    requests, rate = parse_wrk(out)
                elif tool == "h2load":
                    out, cpu, rss = run_measured(h2load_argv(conns, seconds=args.duration))
                    requests, rate = parse_h2load(out)
                else:
                    test = tool.split()[1] if " " in tool else "One"
                    argv, results = bm.run_argv(test, conns, args.duration, f"{test.lower()}-{conns}")
                    out, cpu, rss = run_measured(argv)
                    requests, rate = count_requests(results), window_rate(results)
                row = rows.setdefault((tool, conns), {"rate": [], "cpu_us": [], "rss_kb": []})
                row["rate"].append(rate)
                row["cpu_us"].append(cpu * 1e6 / max(requests, 1))
                row["rss_kb"].append(rss)
                log(f"  rep {rep + 1} {tool:11} c={conns:<5} {rate:9.0f} req/s {cpu * 1e6 / max(requests, 1):6.2f} "
                    f"CPU-us/req {rss / 1024:6.1f} MB")
        if args.scenario:
            names = list(SCENARIOS)
            names = names[rep % len(names):] + names[:rep % len(names)]  # interleaved, rotating
            for test in names:
                argv, results = bm.run_argv(test, 50, args.duration, f"scenario-{test}")
                out, cpu, rss = run_measured(argv)
                requests = count_requests(results)
                row = rows.setdefault((f"benchmaster {test}", 50), {"rate": [], "cpu_us": [], "rss_kb": []})
                row["rate"].append(window_rate(results))
                row["cpu_us"].append(cpu * 1e6 / max(requests, 1))
                row["rss_kb"].append(rss)
                log(f"  rep {rep + 1} scenario {test:7} {row['rate'][-1]:9.0f} req/s {row['cpu_us'][-1]:6.2f} CPU-us/req")
    return rows


def open_model(args, bm):
    """CPU per request at one arrival rate: the open model against the closed one paced to
    the same rate, h2load --rps and wrk (full speed); interleaved repetitions."""
    rate, conns = args.open_rate, 50
    rows = {}
    tools = ["open", "closed", "full", "h2load", "wrk"]
    for rep in range(args.reps):
        for tool in tools[rep % 5:] + tools[:rep % 5]:
            if tool == "open":
                out_dir = os.path.join(bm.out, "open")
                shutil.rmtree(out_dir, ignore_errors=True)
                argv = [bm.binary, "run", bm.tests.path("One"), "-r", str(rate), "--max-users", str(conns), "-D",
                        str(args.duration), "-f", "--workers", "1", "-o", out_dir]
                out, cpu, rss = run_measured(argv)
                results = os.path.join(out_dir, "results.json")
                requests, got = count_requests(results), window_rate(results)
                name = f"benchmaster -r {rate} (open model, {conns} users at most)"
            elif tool == "closed":
                # Each of the users waits users/rate between tests: about `rate` in all.
                argv, results = bm.run_argv("One", conns, args.duration, "open-closed")
                argv[argv.index("-f"):argv.index("-f") + 1] = ["-m", "0", "-M", "0"]  # -f would zero -t
                argv += ["-t", f"{conns / rate:.6f}"]
                out, cpu, rss = run_measured(argv)
                requests, got = count_requests(results), window_rate(results)
                name = f"benchmaster -c {conns} -t {conns / rate:g} (closed, paced)"
            elif tool == "full":
                argv, results = bm.run_argv("One", conns, args.duration, "open-full")
                out, cpu, rss = run_measured(argv)
                requests, got = count_requests(results), window_rate(results)
                name = f"benchmaster -c {conns} -f (closed, full speed)"
            elif tool == "h2load":
                argv = h2load_argv(conns, seconds=args.duration) + [f"--rps={rate / conns:g}"]
                out, cpu, rss = run_measured(argv)
                requests, got = parse_h2load(out)
                name = f"h2load --h1 -c {conns} --rps {rate / conns:g}"
            else:
                out, cpu, rss = run_measured(wrk_argv(conns, args.duration))
                requests, got = parse_wrk(out)
                name = f"wrk -c {conns} (full speed)"
            row = rows.setdefault(name, {"rate": [], "cpu_us": [], "rss_kb": []})
            row["rate"].append(got)
            row["cpu_us"].append(cpu * 1e6 / max(requests, 1))
            row["rss_kb"].append(rss)
            log(f"  rep {rep + 1} {name:55} {got:9.0f} req/s {row['cpu_us'][-1]:6.2f} CPU-us/req")
    return rows


def count_syscalls(argv, cwd=None):
    """(system calls of the whole process tree, its output), counted untraced by the kernel's
    syscalls:sys_enter_* tracepoints with perf stat: the tool runs at full speed, so as many
    responses share a wake-up as in a real run (perf trace or strace would slow it down)."""
    with tempfile.NamedTemporaryFile("r", suffix=".perf") as counts:
        cmd = [tool_path("perf"), "stat", "-x", ",", "-o", counts.name, "-e", "syscalls:sys_enter_*", "--"]
        proc = subprocess.run(cmd + ["taskset", "-c", TOOL_CORE] + argv, cwd=cwd, capture_output=True, text=True)
        text = counts.read()
    total = 0
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("syscalls:sys_enter_") and fields[0].isdigit():
            total += int(fields[0])
    return total, proc.stdout + proc.stderr


def syscalls(args, bm):
    """Steady-state system calls per request at 50 connections, marginal between a 3 s and a
    6 s run: (S(6) - S(3)) / (R(6) - R(3)), so start-up and connection set-up cancel out;
    the median of --reps repetitions."""
    out = {}
    short, long_ = 3, 6
    for tool in ("wrk", "h2load", "benchmaster", "benchmaster Readme", "benchmaster Page5"):
        values = []
        for rep in range(args.reps):
            points = []
            for seconds in (short, long_):
                if tool == "wrk":
                    calls, text = count_syscalls(wrk_argv(50, seconds))
                    requests = parse_wrk(text)[0]
                elif tool == "h2load":
                    calls, text = count_syscalls(h2load_argv(50, seconds=seconds))
                    requests = parse_h2load(text)[0]
                else:
                    test = tool.split()[1] if " " in tool else "One"
                    argv, results = bm.run_argv(test, 50, seconds, f"syscalls-{test}-{seconds}")
                    calls, text = count_syscalls(argv)
                    requests = count_requests(results)
                points.append((calls, requests))
            (c1, r1), (c2, r2) = points
            values.append((c2 - c1) / (r2 - r1) if r2 > r1 else float("nan"))
        # A pair where the longer run did not complete more requests (a stall on a busy
        # machine) says nothing: left out of the median.
        out[tool] = median([v for v in values if v == v])
        log(f"  syscalls {tool:19} {out[tool]:.2f} per request (runs: {', '.join(f'{v:.2f}' for v in values)})")
    return out


def callgrind(argv, cwd=None):
    """(instructions executed in user space, output)."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([tool_path("valgrind"), "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out",
                               "--dump-instr=no", "--collect-jumps=no"] + argv,
                              cwd=cwd, capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", proc.stderr)
    if not m:
        log(f"run.py: callgrind failed for {' '.join(argv)}:\n{proc.stderr[-2000:]}")
        return float("nan"), proc.stdout
    return int(m.group(1)), proc.stdout


def instructions(args, bm):
    """User-space instructions per request, marginal between two run lengths."""
    out = {}
    # Fixed counts where the tool has them; durations (with the requests each completed) otherwise.
    h1, h2 = 20000, 40000
    (i1, _), (i2, _) = callgrind(h2load_argv(50, count=h1)), callgrind(h2load_argv(50, count=h2))
    out["h2load c=50"] = (i2 - i1) / (h2 - h1)
    points = []
    for seconds in (2, 4):
        ins, text = callgrind(wrk_argv(50, seconds))
        points.append((ins, parse_wrk(text)[0]))
    out["wrk c=50"] = (points[1][0] - points[0][0]) / max(points[1][1] - points[0][1], 1)
    # bench-test with full statistics: a fixed number of tests per user; per request.
    for users in (50, 1):
        n1, n2 = 10000 // users, 20000 // users
        (i1, _), (i2, _) = callgrind(bm.test_argv(users, n1)), callgrind(bm.test_argv(users, n2))
        out[f"benchmaster c={users}"] = (i2 - i1) / ((n2 - n1) * users)
    for test, (_, per_test) in SCENARIOS.items():
        if test == "One":
            continue
        n1, n2 = 100 // per_test, 200 // per_test
        (i1, _), (i2, _) = callgrind(bm.test_argv(50, n1, test)), callgrind(bm.test_argv(50, n2, test))
        out[f"benchmaster {test} c=50"] = (i2 - i1) / ((n2 - n1) * 50 * per_test)
    for name, value in out.items():
        log(f"  callgrind {name:36} {value:8.0f} instructions per request")
    return out


def startup(args, bm, nginx):
    """Time from exec to the first request nginx serves, and to 10,000 connections open."""
    results = {}
    for conns in (1, BIG):
        _, before = nginx.status()
        polls = 0
        argv, _ = bm.run_argv("One", conns, 3, f"startup-{conns}")
        start = time.monotonic()
        proc = subprocess.Popen(["taskset", "-c", TOOL_CORE] + argv, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        first = everyone = None
        while proc.poll() is None and time.monotonic() - start < 20:
            active, served = nginx.status()
            polls += 1
            now = time.monotonic() - start
            if first is None and served - before - polls > 0:
                first = now
            if everyone is None and active - 1 >= conns:
                everyone = now
            if first is not None and everyone is not None:
                break
            time.sleep(0.002)
        proc.wait()
        if conns == 1:
            results["first request (ms)"] = first * 1e3 if first is not None else float("nan")
        else:
            results[f"{conns} users connected (ms)"] = everyone * 1e3 if everyone is not None else float("nan")
    for name, value in results.items():
        log(f"  startup {name}: {value:.0f}")
    return results


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Linux {os.uname().release}, load {os.getloadavg()[0]:.1f}"


def print_report(args, rows, calls, ins, start, open_rows=None):
    print(f"# bench/run.py — {time.strftime('%Y-%m-%d %H:%M')}; {machine()}")
    print(f"# {args.reps} interleaved repetitions of {args.duration} s; nginx on core {SERVER_CORE}, tools on core "
          f"{TOOL_CORE}; medians")
    print()
    print("| tool | connections | req/s | vs wrk | CPU-µs/request | vs wrk | max RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (tool, conns), row in rows.items():
        base = rows.get(("wrk", conns))
        rate, cpu, rss = median(row["rate"]), median(row["cpu_us"]), max(row["rss_kb"]) / 1024
        rate_ratio = rate / median(base["rate"]) if base else float("nan")
        cpu_ratio = cpu / median(base["cpu_us"]) if base else float("nan")
        print(f"| {tool} | {conns} | {rate:,.0f} | {rate_ratio:.2f} | {cpu:.2f} | {cpu_ratio:.2f} | {rss:.1f} |")
    if ("benchmaster One", 50) in rows:
        one = median(rows[("benchmaster One", 50)]["cpu_us"])
        print("\n| scenario (c=50) | CPU-µs/request over the one-GET test's |")
        print("|---|---:|")
        for test in SCENARIOS:
            if test != "One" and (f"benchmaster {test}", 50) in rows:
                print(f"| {test} | {median(rows[(f'benchmaster {test}', 50)]['cpu_us']) / one:.2f} |")
    if calls:
        print("\n| tool (c=50, steady state) | system calls per request |")
        print("|---|---:|")
        for tool, value in calls.items():
            print(f"| {tool} | {value:.2f} |")
    if ins:
        print("\n| tool | user-space instructions per request (callgrind) |")
        print("|---|---:|")
        for tool, value in ins.items():
            print(f"| {tool} | {value:,.0f} |")
    if open_rows:
        print(f"\n| at {args.open_rate:,}/s asked (c=50) | req/s | CPU-µs/request | max RSS MB |")
        print("|---|---:|---:|---:|")
        for name, row in open_rows.items():
            print(f"| {name} | {median(row['rate']):,.0f} | {median(row['cpu_us']):.2f} | "
                  f"{max(row['rss_kb']) / 1024:.1f} |")
    if start:
        print("\n| start-up | ms |")
        print("|---|---:|")
        for name, value in start.items():
            print(f"| {name} | {value:.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmaster", default=os.environ.get("BENCHMASTER",
                                                                os.path.join(ROOT, "build", "src", "app", "benchmaster")))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per throughput run")
    parser.add_argument("--connections", default=f"50,{BIG}",
                        help="comma list; empty ('') runs only the scenario comparison")
    parser.add_argument("--quick", action="store_true", help="1 repetition of 3 s (a smoke run)")
    parser.add_argument("--skip", default="",
                        help="comma list of: throughput, scenario, syscalls, callgrind, startup, open")
    parser.add_argument("--open-rate", type=int, default=20000, help="the open-model comparison's rate, req/s")
    args = parser.parse_args()
    if args.quick:
        args.reps, args.duration = 1, 3
    args.connections = [int(c) for c in args.connections.split(",") if c.strip()]
    skip = set(filter(None, args.skip.split(",")))
    args.scenario = "scenario" not in skip
    if not os.access(args.benchmaster, os.X_OK):
        sys.exit(f"run.py: no benchmaster at {args.benchmaster} (build it, or give --benchmaster)")
    args.benchmaster = os.path.abspath(args.benchmaster)
    with tempfile.TemporaryDirectory(prefix="bm-bench-") as workdir:
        nginx = Nginx(workdir)
        try:
            bm = Benchmaster(args.benchmaster, Tests(workdir), workdir)
            rows = throughput(args, bm, nginx) if "throughput" not in skip else {}
            calls = syscalls(args, bm) if "syscalls" not in skip else {}
            ins = instructions(args, bm) if "callgrind" not in skip else {}
            start = startup(args, bm, nginx) if "startup" not in skip else {}
            open_rows = open_model(args, bm) if "open" not in skip else {}
        finally:
            nginx.stop()
    print_report(args, rows, calls, ins, start, open_rows)


if __name__ == "__main__":
    main()
