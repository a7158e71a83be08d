"""Shared helpers for integration tests: start real servers on loopback, run the real
benchmaster executable, read results. Standard library only; every process a test
starts is ended by the test (by PID) when it finishes."""

import json
import re
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

BENCHMASTER = os.environ.get("BENCHMASTER") or shutil.which("benchmaster") or "benchmaster"
SOURCE_DIR = os.environ.get("BM_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.environ.get("BM_TEST_OUT") or os.path.join(tempfile.gettempdir(), "benchmaster-test-output")
EXAMPLES = os.path.join(SOURCE_DIR, "examples")
# Set by tests/CMakeLists.txt in the ASan + UBSan build (scripts/sanitize.sh).
SANITIZED = os.environ.get("BM_SANITIZED") == "1"


def skip_under_sanitizers(reason):
    """Skips a test in the sanitizer build only, saying why (docs/fuzzing.md lists them)."""
    return unittest.skipIf(SANITIZED, f"not under the sanitizers: {reason}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


class Process:
    """A child process ended by PID when the test is over."""

    def __init__(self, args, **kwargs):
        self.args = args
        self.proc = subprocess.Popen(args, **kwargs)

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


class DemoServer(Process):
    """benchmaster demo-server on an ephemeral loopback port."""

    def __init__(self, threads=1, extra_args=(), wrap=()):
        # wrap: a command that runs the server, e.g. ["ip", "netns", "exec", name] (which execs:
        # the PID stays the server's).
        super().__init__([*wrap, BENCHMASTER, "demo-server", "--port", "0", "--threads", str(threads), "--quiet",
                          *extra_args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"demo-server did not start: {line!r} {err!r}")
        self.url = line.strip().rsplit(" ", 1)[-1]

    def get_json(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())

    def counter(self):
        return self.get_json("/counter")

    def switch(self, fail):
        """POST /switch?fail=1|0: the target answers 503 to everything but its control paths."""
        req = urllib.request.Request(f"{self.url}/switch?fail={1 if fail else 0}", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def reset_counter(self):
        req = urllib.request.Request(self.url + "/counter/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()


class BenchMonitor(Process):
    """benchmaster monitor startd (in the foreground, so the test owns its PID) on an
    ephemeral loopback port, watching lo."""

    def __init__(self, workdir, interval=0.25):
        self.pid_file = os.path.join(workdir, f"bench-monitor-{time.monotonic_ns()}.pid")
        super().__init__([BENCHMASTER, "monitor", "startd", "--port", "0", "--interval", str(interval),
                          "--interface", "lo", "--pid-file", self.pid_file, "--log-file", self.pid_file + ".log"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"bench-monitor did not start: {line!r} {err!r}")
        self.url = re.search(r"http://[\d.]+:\d+", line).group(0)
        self.port = int(self.url.rsplit(":", 1)[1])

    def get_json(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())


class CredentialServer(Process):
    """benchmaster credential startd (in the foreground, so the test owns its PID) on an
    ephemeral loopback port."""

    def __init__(self, workdir, credentials, groups=None, lease_time=None):
        self.pid_file = os.path.join(workdir, f"bench-credential-{time.monotonic_ns()}.pid")
        args = [BENCHMASTER, "credential", "startd", "--port", "0", "--credentials", credentials,
                "--pid-file", self.pid_file, "--log-file", self.pid_file + ".log"]
        if groups:
            args += ["--groups", groups]
        if lease_time:
            args += ["--lease-time", str(lease_time)]
        super().__init__(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"bench-credential did not start: {line!r} {err!r}")
        self.url = re.search(r"http://[\d.]+:\d+", line).group(0)
        self.port = int(self.url.rsplit(":", 1)[1])

    def get_json(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())


class NodeExporter(Process):
    """Debian's prometheus-node-exporter on a free loopback port, with the collectors the
    monitor maps (docs/monitoring.md)."""

    PROGRAM = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"

    def __init__(self):
        self.port = free_port()
        super().__init__([self.PROGRAM, f"--web.listen-address=127.0.0.1:{self.port}", "--collector.disable-defaults",
                          "--collector.cpu", "--collector.loadavg", "--collector.meminfo", "--collector.netdev",
                          "--collector.diskstats", "--collector.netstat",
                          # lo too (excluded by default): the tests' traffic is on loopback.
                          "--collector.netdev.device-exclude=^$"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_port(self.port)
        self.url = f"http://127.0.0.1:{self.port}/metrics"

    def metrics(self):
        """{(name, ((label, value), ...)): value} of one scrape."""
        with urllib.request.urlopen(self.url, timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
            if m:
                labels = tuple(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
                out[(m.group(1), labels)] = float(m.group(4))
        return out


class Nginx(Process):
    """nginx with one worker on a free loopback port, serving `root`, logging every
    request to access.log so tests can count what it served."""

    def __init__(self, root, workdir, tls=False, connections=4096):
        self.port = free_port()
        self.workdir = workdir
        self.access_log = os.path.join(workdir, "access.log")
        os.makedirs(os.path.join(workdir, "tmp"), exist_ok=True)
        listen = f"127.0.0.1:{self.port}"
        tls_lines = ""
        if tls:
            # A self-signed certificate made for this server alone, naming its address
            # (tests that verify certificates trust it as its own CA: self.cert).
            key, cert = os.path.join(workdir, "key.pem"), os.path.join(workdir, "cert.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", key, "-out", cert],
                           check=True, capture_output=True)
            self.cert = cert
            listen += " ssl"
            tls_lines = f"ssl_certificate {cert}; ssl_certificate_key {key};"
        conf = os.path.join(workdir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
worker_processes 1;
worker_rlimit_nofile {connections + 100};
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
  log_format stamped '$msec $status "$request"';
  access_log {self.access_log} stamped;
  client_body_temp_path {workdir}/tmp;
  proxy_temp_path {workdir}/tmp;
  fastcgi_temp_path {workdir}/tmp;
  uwsgi_temp_path {workdir}/tmp;
  scgi_temp_path {workdir}/tmp;
  keepalive_requests 1000000;
  server {{
    listen {listen};
    {tls_lines}
    root {root};
    location / {{ }}
  }}
}}
""")
        super().__init__(["nginx", "-c", conf, "-p", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_port(self.port)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def served(self):
        # nginx writes a log line when it has finished a response; give it a moment to flush.
        with open(self.access_log) as f:
            return sum(1 for _ in f)

    def served_between(self, start_epoch_us, end_epoch_us, request_has=""):
        """Responses nginx finished in [start, end) (its $msec: millisecond resolution),
        of requests whose line holds request_has."""
        n = 0
        with open(self.access_log) as f:
            for line in f:
                if request_has in line:
                    t = float(line.split(" ", 1)[0]) * 1e6
                    n += start_epoch_us <= t < end_epoch_us
        return n


def run(args, timeout=300, check=None, **kwargs):
    """Runs benchmaster (args without the program) and returns CompletedProcess."""
    kwargs.setdefault("cwd", OUT_DIR)  # never write into the source tree
    os.makedirs(kwargs["cwd"], exist_ok=True)
    proc = subprocess.run([BENCHMASTER] + list(args), capture_output=True, text=True, timeout=timeout, **kwargs)
    if check is not None and proc.returncode != check:
        raise AssertionError(f"exit {proc.returncode} (wanted {check}) for {args}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def read_json(path):
    with open(path) as f:
        return json.load(f)


def histogram_percentile(hist, p):
    """The schema's percentile rule: the highest equivalent value of the bucket holding
    rank ceil(p/100 * count), clamped to max. Recomputed here from the raw buckets."""
    import math
    count = hist["count"]
    if count == 0:
        return 0
    rank = max(1, math.ceil(p / 100.0 * count))
    seen = 0
    for index, n in hist["buckets"]:
        seen += n
        if seen >= rank:
            return min(highest_equivalent(index), hist["max_us"])
    return hist["max_us"]


SUB_BUCKET_HALF_COUNT_MAG = 10  # sub-bucket count 2048, unit 1 µs
SUB_BUCKET_HALF = 1 << SUB_BUCKET_HALF_COUNT_MAG


def value_from_index(index):
    bucket = (index >> SUB_BUCKET_HALF_COUNT_MAG) - 1
    sub = (index & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF
    if bucket < 0:
        sub -= SUB_BUCKET_HALF
        bucket = 0
    return sub << bucket


def highest_equivalent(index):
    bucket = (index >> SUB_BUCKET_HALF_COUNT_MAG) - 1
    if bucket < 0:
        bucket = 0
    return value_from_index(index) + (1 << bucket) - 1


def bench_conf(url, title="T", cycles=1, duration=1, startup_delay=0, sleep_time=0, cycle_time=0, extra=""):
    """A test's conf: [main] title and url, then [bench] with each value that is not None,
    then `extra` (more [bench] lines or further sections) as given."""
    lines = ["[main]", f"title = {title}", f"url = {url}", "[bench]"]
    for key, value in (("cycles", cycles), ("duration", duration), ("startup_delay", startup_delay),
                       ("sleep_time", sleep_time), ("cycle_time", cycle_time)):
        if value is not None:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n" + extra


class TestCase(unittest.TestCase):
    """Gives each test its own output folder and ends what it started."""

    def setUp(self):
        self.out = os.path.join(OUT_DIR, self.id().split(".", 1)[-1])
        shutil.rmtree(self.out, ignore_errors=True)
        os.makedirs(self.out)
        self._procs = []

    def tearDown(self):
        for p in reversed(self._procs):
            p.stop()

    def start(self, proc):
        self._procs.append(proc)
        return proc

    def write(self, name, text):
        path = os.path.join(self.out, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def make_test(self, name, lua, conf):
        """Writes test_<name>.lua and <name>.conf into the output folder."""
        self.write(f"{name}.conf", conf)
        return self.write(f"test_{name}.lua", lua)


class Sshd(Process):
    """A real OpenSSH server on loopback for the distributed tests: its own config, free
    port, host key and one authorized client key, all made in `workdir`. Listens on
    127.0.0.1, 127.0.0.2 and 127.0.0.3 (or the loopback `addresses` given); known_hosts
    lists its key for `known_names` (so 127.0.0.3 stays unknown unless the test adds it).
    `extra_config` is appended to sshd_config (e.g. a Match block)."""

    ADDRESSES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")

    def __init__(self, workdir, known_names=("127.0.0.1", "127.0.0.2", "localhost"), addresses=ADDRESSES,
                 extra_config=""):
        self.workdir = workdir
        self.addresses = tuple(addresses)
        self.port = free_port()
        os.makedirs(workdir, exist_ok=True)
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation folder
        self.host_key = os.path.join(workdir, "host_key")
        self.client_key = os.path.join(workdir, "client_key")
        for key in (self.host_key, self.client_key):
            if not os.path.exists(key):
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        self.authorized_keys = os.path.join(workdir, "authorized_keys")
        shutil.copy(self.client_key + ".pub", self.authorized_keys)
        with open(self.host_key + ".pub") as f:
            self.host_public_key = " ".join(f.read().split()[:2])
        self.known_hosts = os.path.join(workdir, "known_hosts")
        with open(self.known_hosts, "w") as f:
            for name in known_names:
                f.write(f"[{name}]:{self.port} {self.host_public_key}\n")
        self.client_config = os.path.join(workdir, "ssh_config")
        with open(self.client_config, "w") as f:
            f.write("# empty: the tests pass every option on the command line\n")
        self.config = os.path.join(workdir, "sshd_config")
        with open(self.config, "w") as f:
            listen = "".join(f"ListenAddress {a}\n" for a in self.addresses)
            f.write(f"""Port {self.port}
{listen}HostKey {self.host_key}
AuthorizedKeysFile {self.authorized_keys}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PidFile {workdir}/sshd.pid
MaxStartups 200
MaxSessions 200
LogLevel VERBOSE
{extra_config}""")
        self.log = open(os.path.join(workdir, "sshd.log"), "w")
        super().__init__(["/usr/sbin/sshd", "-D", "-e", "-f", self.config], stdout=self.log, stderr=subprocess.STDOUT)
        for host in self.addresses:
            wait_for_port(self.port, host=host)

    def ssh_options(self):
        """bench-master's options to reach this server."""
        return ["-i", self.client_key, "--known-hosts", self.known_hosts, "-F", self.client_config]

    def stop(self, sig=signal.SIGTERM, timeout=10):
        super().stop(sig, timeout)
        self.log.close()
