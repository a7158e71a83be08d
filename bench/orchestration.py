#!/usr/bin/env python3
"""Orchestration benchmark: bench-master driving N node processes over a real OpenSSH sshd.

A throwaway sshd (tests/integration/harness.py's: own config, port, host key and client
key) listens on several loopback addresses, 127.0.0.1 .. 127.0.0.H, each one a host of
the run; the demo target serves the requests. bench-master runs a light test (one GET
per test, think time 0.5-1 s, one user per node) on `--nodes 127.0.0.1*K,127.0.0.2*K,...`
and the script prints, per repetition and as medians:

  - time to cycle 1: from the command to the planned start of cycle 1 (the "cycle 1
    begins in X s" line's time + X), and to the moment the last node began it (from
    the nodes' own results);
  - last end to report: from the latest run end among the nodes' results files to the
    master's "Report:" line;
  - the master's peak RSS (VmHWM) and the most descriptors it held, sampled every 20 ms;
  - SSH sessions opened (sshd's "Starting session" lines) and the phases as the
    master's console lines arrived.

A report, never a pass/fail test (kept out of CI): absolute figures depend on the
machine and its load. Standard library only; run it by hand:

  bench/orchestration.py [--benchmaster build/src/app/benchmaster] [--hosts 2] [--nodes-per-host 32]
                         [--duration 2] [--reps 3] [--push] [--lean-login] [--session-per-node] [--keep]
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

LUA = """-- One GET per test and a think time: the load stays light, the orchestration is measured.
function test_Fleet(vu)
  vu:get(conf_get("main", "url") .. "/bytes/100")
end
"""

CONF = """[main]
title = Fleet
url = {url}
[bench]
cycles = 1
duration = {duration}
startup_delay = 0
sleep_time_min = 0.5
sleep_time_max = 1
cycle_time = 0
"""


def watch(pid, peak):
    """Samples the master's VmHWM and open descriptors until it is gone."""
    while True:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak["rss_kb"] = max(peak["rss_kb"], int(line.split()[1]))
            peak["fds"] = max(peak["fds"], len(os.listdir(f"/proc/{pid}/fd")))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return
        time.sleep(0.02)


def one_run(args, sshd, demo, work, rep):
    import harness
    label = f"fleet-{rep}"
    test = os.path.join(work, "test_Fleet.lua")
    with open(test, "w") as f:
        f.write(LUA)
    with open(os.path.join(work, "Fleet.conf"), "w") as f:
        f.write(CONF.format(url=demo.url, duration=args.duration))
    nodes = ",".join(f"{address}:{sshd.port}*{args.nodes_per_host}" for address in sshd.addresses)
    w, x = os.path.join(work, "w"), os.path.join(work, "x")
    command = [args.benchmaster, "master", test, "--nodes", nodes, "-n", label, "-w", w, "-x", x,
               "--workers", "1", *sshd.ssh_options()]
    if args.session_per_node:
        command.append("--session-per-node")
    if args.push:
        command.append("--push")
    else:
        command += ["-s", os.path.join(os.path.dirname(os.path.abspath(args.benchmaster)), "bench-node")]
    with open(os.path.join(sshd.workdir, "sshd.log")) as f:
        sessions_before = f.read().count("Starting session")
    lines = []
    started = time.time()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    peak = {"rss_kb": 0, "fds": 0}
    watcher = threading.Thread(target=watch, args=(proc.pid, peak), daemon=True)
    watcher.start()
    for line in proc.stdout:
        lines.append((time.time(), line.rstrip("\n")))
    err = proc.stderr.read()
    code = proc.wait()
    watcher.join()
    if code not in (0, 3) or not any(text.startswith("Report: ") for _, text in lines):
        print("\n".join(text for _, text in lines), err, sep="\n", file=sys.stderr)
        raise SystemExit(f"bench-master exited {code}")
    with open(os.path.join(sshd.workdir, "sshd.log")) as f:
        sessions = f.read().count("Starting session") - sessions_before

    def first(prefix):
        return next((t for t, text in lines if text.startswith(prefix)), None)

    run_dir = glob.glob(os.path.join(w, label, "reports", "Fleet-*"))[0]
    node_files = []
    for path in glob.glob(os.path.join(run_dir, "results", "node-*.json")):
        with open(path) as f:
            node_files.append(json.load(f))
    if not node_files:
        raise SystemExit("no node brought results back")
    begin_line = next((t, text) for t, text in lines if text.startswith("Starting "))
    planned = begin_line[0] + float(begin_line[1].rsplit(" in ", 1)[1].split()[0])
    last_cycle_start = max(r["cycles"][0]["start_epoch_us"] for r in node_files) / 1e6
    last_end = max(r["run"]["end_epoch_us"] for r in node_files) / 1e6
    report = first("Report: ")
    hosts_ready = max(t for t, text in lines if ": ready, clock offset" in text)
    result = {
        "planned_cycle1_s": planned - started,
        "last_node_cycle1_s": last_cycle_start - started,
        "last_end_to_report_s": report - last_end,
        "command_to_report_s": report - started,
        "hosts_ready_s": hosts_ready - started,
        "starting_line_s": begin_line[0] - started,
        "rss_mb": peak["rss_kb"] / 1024,
        "max_fds": peak["fds"],
        "ssh_sessions": sessions,
        "nodes_merged": len(node_files),
        "exit_code": code,
    }
    if not args.keep:
        shutil.rmtree(w, ignore_errors=True)
        shutil.rmtree(x, ignore_errors=True)
    return result


ROWS = [
    ("planned_cycle1_s", "command -> planned start of cycle 1 (s)"),
    ("last_node_cycle1_s", "command -> last node began cycle 1 (s)"),
    ("last_end_to_report_s", "last node's end -> Report line (s)"),
    ("command_to_report_s", "command -> Report line (s)"),
    ("hosts_ready_s", "command -> every host ready (s)"),
    ("starting_line_s", "command -> 'Starting N nodes' (s)"),
    ("rss_mb", "master peak RSS (MB)"),
    ("max_fds", "master's most open descriptors"),
    ("ssh_sessions", "SSH sessions opened"),
    ("nodes_merged", "nodes merged"),
    ("exit_code", "bench-master's exit code"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmaster", default=os.environ.get("BENCHMASTER",
                                                                os.path.join(ROOT, "build", "src", "app", "benchmaster")))
    parser.add_argument("--hosts", type=int, default=2, help="loopback addresses 127.0.0.1.. (at most 250)")
    parser.add_argument("--nodes-per-host", type=int, default=32)
    parser.add_argument("--duration", type=int, default=2, help="the cycle's window, seconds")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--push", action="store_true", help="bench-master --push instead of -s bench-node")
    parser.add_argument("--session-per-node", action="store_true",
                        help="bench-master --session-per-node: an SSH session per node, not one agent per host")
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    parser.add_argument("--lean-login", action="store_true",
                        help="the throwaway sshd sets HOME to an empty folder, so the login shell reads no ~/.bashrc "
                             "(on this machine root's runs pyenv init: ~0.1 s of CPU per SSH session)")
    args = parser.parse_args()
    args.benchmaster = os.path.abspath(args.benchmaster)
    os.environ["BENCHMASTER"] = args.benchmaster
    import harness
    work = tempfile.mkdtemp(prefix="bm-orchestration-")
    addresses = [f"127.0.0.{i}" for i in range(1, args.hosts + 1)]
    extra = ""
    if args.lean_login:
        os.makedirs(os.path.join(work, "home"))
        extra = f"SetEnv HOME={os.path.join(work, 'home')}\n"
    sshd = harness.Sshd(os.path.join(work, "sshd"), known_names=addresses, addresses=addresses, extra_config=extra)
    demo = harness.DemoServer(threads=1)
    results = []
    try:
        for rep in range(args.reps):
            result = one_run(args, sshd, demo, work, rep)
            results.append(result)
            print(f"rep {rep + 1}: " + ", ".join(f"{k} {v:.3g}" for k, v in result.items()), flush=True)
    finally:
        demo.stop()
        sshd.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.hosts} hosts x {args.nodes_per_host} node processes, {args.duration} s window, "
          f"{'--push' if args.push else '-s bench-node'}{', lean login' if args.lean_login else ''}, "
          f"{len(results)} reps (median, min-max)\n")
    print("| measure | median | min | max |\n|---|---:|---:|---:|")
    for key, title in ROWS:
        values = [r[key] for r in results]
        print(f"| {title} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")


if __name__ == "__main__":
    main()
