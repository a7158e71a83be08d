"""bench-record (docs/recording.md): real clients (headless Chromium and curl) browse the
demo target through the recording proxy; the test it writes is run with bench-test and
must replay the same requests, compared with the target's own counter. Also: HAR
import, HTTPS tunnelled through CONNECT, and bad input."""
import http.server
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import unittest
from collections import Counter

from browser import Browser
from harness import BENCHMASTER, SOURCE_DIR, DemoServer, Nginx, TestCase, run, skip_under_sanitizers

HAR = os.path.join(SOURCE_DIR, "tests", "data", "record", "shop-chromium.har")
RESOURCE_TYPES = {"image", "stylesheet", "script", "font", "media", "manifest", "texttrack"}


def pages_only(by_path):
    """The counter without page resources (fetched by the engine's resource fetching in a
    replay, by the browser's cache rules when recorded) and the browser's favicon."""
    return {p: n for p, n in by_path.items() if not p.startswith("/static/") and p != "/favicon.ico"}


class Recorder:
    """bench-record as a child process on an ephemeral port, stopped with Ctrl-C."""

    def __init__(self, out, name, *extra):
        self.proc = subprocess.Popen([BENCHMASTER, "record", name, "-p", "0", "-o", out, *extra], cwd=out,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"recording through (http://127\.0\.0\.1:(\d+))", line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f"bench-record did not start: {line!r} {self.proc.stderr.read()!r}")
        self.url, self.port = match.group(1), int(match.group(2))

    def stop(self):
        """Ctrl-C: writes the test; returns (exit code, stdout, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def line_within(stream, text, timeout):
    """The first line of stream holding text, read for at most timeout seconds ("" if none)."""
    found = queue.Queue()

    def read():
        for line in iter(stream.readline, ""):
            if text in line:
                found.put(line)
                return
        found.put("")
    threading.Thread(target=read, daemon=True).start()
    try:
        return found.get(timeout=timeout)
    except queue.Empty:
        return ""


def curl(proxy, *args):
    return subprocess.run(["curl", "-sS", "--max-time", "20", "-x", proxy, *args], capture_output=True, text=True)


class RecordCase(TestCase):
    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer(threads=2))

    def recorder(self, name, *extra):
        recorder = Recorder(self.out, name, *extra)
        self.addCleanup(recorder.kill)
        return recorder

    def replay(self, name, *extra):
        """bench-test on the written test; the target's counter of what it sent."""
        self.demo.reset_counter()
        proc = run(["test", os.path.join(self.out, f"test_{name}.lua"), "-u", self.demo.url, *extra], timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return self.demo.counter()["by_path"]

    def read(self, name):
        with open(os.path.join(self.out, name)) as f:
            return f.read()


class Proxy(RecordCase):
    def test_a_browser_and_curl_recorded_then_replayed(self):
        self.demo.reset_counter()
        recorder = self.recorder("Live", "--think-time", "60")
        browser = Browser(extra_args=(f"--proxy-server={recorder.url}",
                                      # Chromium sends loopback addresses around a proxy unless told not to.
                                      "--proxy-bypass-list=<-loopback>"))
        try:
            browser.navigate(self.demo.url + "/")
            browser.navigate(self.demo.url + "/login")
            browser.call("Runtime.evaluate", expression=(
                "document.querySelector('input[name=user]').value = 'alice';"
                "document.querySelector('input[name=password]').value = 'secret';"
                "document.querySelector('form').submit()"))
            browser.wait_for_event("Page.loadEventFired")
            self.assertIn("Welcome alice", browser.evaluate("document.body.textContent"))
            browser.navigate(self.demo.url + "/search?q=green+tea")
        finally:
            browser.close()
        posted = curl(recorder.url, "-H", "Content-Type: application/json", "-d", '{"order": [1, 2], "note": "gift"}',
                      self.demo.url + "/echo")
        self.assertEqual(json.loads(posted.stdout)["body"], '{"order": [1, 2], "note": "gift"}', posted.stderr)
        recorded = self.demo.counter()["by_path"]
        code, out, err = recorder.stop()
        self.assertEqual(code, 0, out + err)
        self.assertIn("Wrote ", out)

        lua = self.read("test_Live.lua")
        self.assertIn('local base = conf_get("main", "url")', lua)
        self.assertRegex(lua, r'local token_1 = r\d+:extract\("<input type=\\"hidden\\" name=\\"token\\" value=\\"", "\\""\)')
        self.assertIn('{"token", token_1}', lua)
        self.assertIn("-- A login:", lua)
        self.assertIn('content_type = "application/json"', lua)
        self.assertNotIn("/static/", lua, "resources are left to the engine")
        self.assertNotIn('"/account"', lua, "the login's redirect is followed by the engine")
        self.assertIn(f"url = {self.demo.url}", self.read("Live.conf"))

        replayed = self.replay("Live")
        self.assertEqual(pages_only(replayed), pages_only(recorded))
        self.assertEqual({p for p in replayed if p.startswith("/static/")},
                         {p for p in recorded if p.startswith("/static/")}, "the same resources, fetched by the engine")

    def test_https_is_tunnelled_and_said_not_recorded(self):
        root = os.path.join(self.out, "www")
        os.makedirs(root)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("secure\n")
        nginx = self.start(Nginx(root, os.path.join(self.out, "nginx"), tls=True))
        recorder = self.recorder("Tunnel", "--stop-after", "1")
        tunnelled = curl(recorder.url, "--cacert", nginx.cert, nginx.url + "/index.html")
        self.assertEqual(tunnelled.stdout, "secure\n", tunnelled.stderr)
        curl(recorder.url, self.demo.url + "/")
        code, out, err = recorder.stop()
        self.assertEqual(code, 0, out + err)
        self.assertRegex(out, rf"1 HTTPS session tunnelled, not recorded \(127\.0\.0\.1:{nginx.port}\)")
        self.assertNotIn(str(nginx.port), self.read("test_Tunnel.lua"))

    def test_intercept_records_https_and_the_test_replays_it(self):
        root = os.path.join(self.out, "www")
        os.makedirs(root)
        for name in ("index.html", "about.html"):
            with open(os.path.join(root, name), "w") as f:
                f.write(f"<p>{name}</p>\n")
        nginx = self.start(Nginx(root, os.path.join(self.out, "nginx"), tls=True))
        recorder = self.recorder("Secure", "--intercept", "--upstream-ca-file", nginx.cert, "--stop-after", "2")
        ca_line = recorder.proc.stdout.readline()
        ca = os.path.join(self.out, "bench-record-ca.pem")
        self.assertIn(f"the browser must trust {ca} (made now;", ca_line)
        self.assertEqual(os.stat(os.path.join(self.out, "bench-record-ca.key")).st_mode & 0o777, 0o600)
        # curl trusts the local CA only: the certificate it got for 127.0.0.1 was made by it.
        fetched = curl(recorder.url, "--cacert", ca, nginx.url + "/index.html", nginx.url + "/about.html")
        self.assertEqual(fetched.stdout, "<p>index.html</p>\n<p>about.html</p>\n", fetched.stderr)
        code, out, err = recorder.stop()
        self.assertEqual(code, 0, out + err)
        self.assertIn(f"url = {nginx.url}", self.read("Secure.conf"))
        before = nginx.served()
        proc = run(["test", os.path.join(self.out, "test_Secure.lua"), "--tls-ca-file", nginx.cert], timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(nginx.served() - before, 2, "the two recorded requests, replayed over TLS")

    @skip_under_sanitizers("it bounds the proxy's peak resident memory at 24 MB, and the sanitizer build's "
                           "executable is resident at about 67 MB before it proxies a byte (instrumented code, "
                           "shadow memory)")
    def test_a_large_download_is_streamed_not_held(self):
        root = os.path.join(self.out, "www")
        os.makedirs(root)
        size = 96 * 1024 * 1024
        with open(os.path.join(root, "big.bin"), "wb") as f:
            for _ in range(size // (1 << 20)):
                f.write(bytes(range(256)) * 4096)
        nginx = self.start(Nginx(root, os.path.join(self.out, "nginx")))
        recorder = self.recorder("Download", "--stop-after", "2")
        fetched = subprocess.run(["curl", "-sS", "-x", recorder.url, nginx.url + "/big.bin", "-o", "-"],
                                 capture_output=True, timeout=120)
        self.assertEqual(len(fetched.stdout), size, fetched.stderr)
        self.assertEqual(fetched.stdout[:512], bytes(range(256)) * 2)
        self.assertEqual(fetched.stdout[-256:], bytes(range(256)))
        with open(f"/proc/{recorder.proc.pid}/status") as f:
            peak_kib = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
        self.assertLess(peak_kib * 1024, size // 4, "the body went through, not into the proxy's memory")
        curl(recorder.url, nginx.url + "/big.bin", "-o", "/dev/null")
        code, out, err = recorder.stop()
        self.assertEqual(code, 0, out + err)
        self.assertEqual(self.read("test_Download.lua").count('vu:get(base .. "/big.bin"'), 2)

    def test_the_proxy_survives_bad_clients_and_dead_servers(self):
        recorder = self.recorder("Survivor", "--stop-after", "1")
        # A client that hangs up halfway through its request.
        with socket.create_connection(("127.0.0.1", recorder.port)) as s:
            s.sendall(b"POST " + self.demo.url.encode() + b"/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        # A server that refuses: 502 with the reason.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            dead = probe.getsockname()[1]
        refused = curl(recorder.url, "-i", f"http://127.0.0.1:{dead}/")
        self.assertIn("502", refused.stdout.splitlines()[0] if refused.stdout else "", refused.stderr)
        self.assertIn("Connection refused", refused.stdout)
        # Not a proxy request: 400 that says what the proxy is.
        direct = curl("", "-i", recorder.url + "/")
        self.assertIn("400", direct.stdout.splitlines()[0], direct.stdout + direct.stderr)
        # And it still records.
        self.assertEqual(curl(recorder.url, self.demo.url + "/delay/0").stdout, "ok")
        code, out, err = recorder.stop()
        self.assertEqual(code, 0, out + err)
        self.assertIn("Wrote ", out)
        self.assertIn('vu:get(base .. "/delay/0"', self.read("test_Survivor.lua"))


    def test_an_exchange_under_way_at_ctrl_c_is_finished_and_recorded(self):
        # An origin that answers only when the test says so: the request is upstream when
        # Ctrl-C comes. Before, the proxy stopped at once and lost it (and, by a hair, an
        # answer the browser already had but the proxy had yet to note: "nothing was
        # recorded" under the sanitizers).
        arrived, release = threading.Event(), threading.Event()

        class Late(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                arrived.set()
                release.wait(60)
                body = b"late but whole"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Late)
        threading.Thread(target=origin.serve_forever, daemon=True).start()
        self.addCleanup(origin.server_close)
        self.addCleanup(origin.shutdown)
        self.addCleanup(release.set)
        recorder = self.recorder("Late")
        client = subprocess.Popen(["curl", "-sS", "--max-time", "60", "-x", recorder.url,
                                   f"http://127.0.0.1:{origin.server_port}/report"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(client.kill)
        self.assertTrue(arrived.wait(60), "the request never reached the origin")
        recorder.proc.send_signal(signal.SIGINT)
        said = line_within(recorder.proc.stderr, "stopping", 60)
        self.assertIn("stopping: 1 exchange under way, waiting for it (at most 5 s)", said)
        release.set()
        out, err = client.communicate(timeout=60)
        self.assertEqual(out, "late but whole", err)
        code, out, err = recorder.stop()
        self.assertEqual(code, 0, out + err)
        self.assertIn('"/report"', self.read("test_Late.lua"))


class HarImport(RecordCase):
    def test_a_chromium_har_replays_its_pages(self):
        with open(HAR) as f:
            har = json.load(f)
        expected = Counter()
        for entry in har["log"]["entries"]:
            url = entry["request"]["url"]
            if url.startswith("http://127.0.0.1:8080") and entry.get("_resourceType") not in RESOURCE_TYPES:
                expected[url[len("http://127.0.0.1:8080"):].split("?")[0]] += 1
        converted = run(["record", "Shop", "--from-har", HAR, "-o", self.out], check=0)
        self.assertIn("5 page resources left to resource fetching; 2 redirects left to the engine; "
                      "1 request to other hosts left out (api.example.net)", converted.stdout)
        lua = self.read("test_Shop.lua")
        self.assertIn("vu:sleep(2.5)", lua, "the recorded pause before the login page")
        self.assertNotIn("api.example.net", lua.split("function")[1], "the third-party request is left out")
        # Replayed quickly: pauses of under a minute are not written this time.
        run(["record", "Shop", "--from-har", HAR, "-o", self.out, "--force", "--think-time", "60"], check=0)
        replayed = self.replay("Shop")
        self.assertEqual(pages_only(replayed), dict(expected))

    def test_include_host_and_all_requests(self):
        run(["record", "Wide", "--from-har", HAR, "-o", self.out, "--all-requests", "--include-host",
             "api.example.net"], check=0)
        lua = self.read("test_Wide.lua")
        self.assertIn('vu:get("https://api.example.net/track", {', lua)
        self.assertIn('vu:get(base .. "/static/style.css", {', lua)
        self.assertIn("fetch_resources = false", lua)

    def test_bad_files_are_one_line_and_write_nothing(self):
        cases = [
            ("not-json.har", "{\"log\": ", "not JSON"),
            ("no-entries.har", "{\"log\": {\"version\": \"1.2\"}}", "log: no entries"),
            ("bad-entry.har", json.dumps({"log": {"entries": [{"request": {"method": "GET"}, "response": {}}]}}),
             "log.entries[0].request: no url"),
        ]
        for name, text, message in cases:
            with self.subTest(name=name):
                path = self.write(name, text)
                proc = run(["record", "Bad", "--from-har", path, "-o", self.out])
                self.assertEqual(proc.returncode, 2)
                self.assertEqual(proc.stderr.strip().splitlines(), [f"benchmaster record: {path}: " +
                                                                     (message if message != "not JSON" else
                                                                      'not JSON (a HAR file is a browser\'s "Save all '
                                                                      'as HAR" export)')])
                self.assertFalse(os.path.exists(os.path.join(self.out, "test_Bad.lua")))
        self.write("test_Kept.lua", "-- mine\n")
        proc = run(["record", "Kept", "--from-har", HAR, "-o", self.out])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("test_Kept.lua exists (--force replaces it)", proc.stderr)
        self.assertEqual(self.read("test_Kept.lua"), "-- mine\n")
        proc = run(["record", "9lives", "--from-har", HAR, "-o", self.out])
        self.assertIn("'9lives' cannot name a test", proc.stderr)


class FunkLoadImport(RecordCase):
    FOLDER = os.path.join(SOURCE_DIR, "tests", "data", "record", "funkload")

    def test_an_fl_record_test_converts_and_replays(self):
        proc = run(["record", "--from-funkload", os.path.join(self.FOLDER, "test_Shop.py"), "-o", self.out], timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("28 of 28 statements converted; test function test_shop", proc.stdout)
        # The conf keeps FunkLoad's keys; the ones benchmaster does not use are named once.
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertIn("benchmaster does not use: [ftest] log_to, [ftest] log_path", proc.stderr)
        with open(os.path.join(self.FOLDER, "Shop.conf")) as f:
            self.assertEqual(self.read("Shop.conf"), f.read())
        lua = self.read("test_Shop.lua")
        self.assertIn("function test_shop(vu)", lua, "FunkLoad's method name is kept (and its conf section)")
        self.assertIn("local function search(vu, words)", lua)
        # Replayed: what the Python test would have asked for ([test_shop] nb_searches = 3).
        replayed = self.replay("Shop")
        self.assertEqual(pages_only(replayed), {"/": 2, "/login": 2, "/account": 1, "/search": 3, "/cart/add": 1,
                                                "/echo": 1, "/logout": 1})

    def test_what_cannot_be_converted_is_kept_as_a_comment_with_a_warning(self):
        self.write("test_Odd.py", "from funkload.FunkLoadTestCase import FunkLoadTestCase\n"
                                  "class Odd(FunkLoadTestCase):\n"
                                  "    def test_odd(self):\n"
                                  "        self.get(self.conf_get('main', 'url') + '/')\n"
                                  "        try:\n"
                                  "            self.get(self.conf_get('main', 'url') + '/delay/0')\n"
                                  "        except Exception:\n"
                                  "            pass\n"
                                  "        data = {'a': 1}\n")
        self.write("Odd.conf", f"[main]\nurl = {self.demo.url}\n")
        out = os.path.join(self.out, "converted")
        os.makedirs(out)
        proc = run(["record", "--from-funkload", os.path.join(self.out, "test_Odd.py"), "-o", out], timeout=30)
        self.assertEqual(proc.returncode, 1, "converted in part")
        self.assertEqual(proc.stderr.strip().splitlines(), [
            "benchmaster record: warning: test_Odd.py:5: not converted ('try'): try:",
            "benchmaster record: warning: test_Odd.py:9: not converted (a dict literal): data = {'a': 1}"])
        with open(os.path.join(out, "test_Odd.lua")) as f:
            lua = f.read()
        self.assertIn("  -- not converted: self.get(self.conf_get('main', 'url') + '/delay/0')", lua,
                      "the block goes with its statement")
        proc = run(["test", os.path.join(out, "test_Odd.lua"), "-u", self.demo.url], timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_a_file_that_is_not_a_funkload_test(self):
        path = self.write("test_Not.py", "print('hello')\n")
        proc = run(["record", "--from-funkload", path, "-o", self.out])
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stderr.strip(), "benchmaster record: test_Not.py: not a FunkLoad test (no class deriving "
                                              "from FunkLoadTestCase)")
        self.assertFalse(os.path.exists(os.path.join(self.out, "test_Not.lua")))


if __name__ == "__main__":
    unittest.main()
