"""The engine's plain-TCP path against servers that behave in awkward but legal ways:
bodies much larger than one read, a server that closes every kept-alive connection
after one response, and a server whose accept queue is full (connect timeout)."""

import socket
import threading
import unittest

from harness import DemoServer, TestCase, bench_conf, run


ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-\\n"


class OneResponsePerConnection:
    """Answers one request per connection, then closes it without saying so
    (no `Connection: close`): to the client, an idle keep-alive connection that went stale."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.requests = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed by stop()
            self.connections += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if b"\r\n\r\n" in data:
                    self.requests += 1
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def stop(self):
        self.listener.close()
        self.thread.join(timeout=5)


class EngineIo(TestCase):
    def test_bodies_larger_than_the_read_buffer_arrive_whole(self):
        demo = self.start(DemoServer())
        lua = f"""
local alphabet = "{ALPHABET}"
function test_T(vu)
  local base = conf_get("main", "url")
  for _, path in ipairs({{"/bytes/1000000", "/bytes/1000000?chunked=1", "/bytes/65536", "/bytes/65537"}}) do
    local r = vu:get(base .. path)
    local n = tonumber(path:match("/bytes/(%d+)"))
    assert(#r.body == n, path .. ": " .. #r.body .. " bytes")
    assert(r.body:sub(1, 64) == alphabet, path .. ": first bytes")
    local last = n - (n % 64) - 63
    assert(r.body:sub(last, last + 63) == alphabet, path .. ": bytes at " .. last)
  end
end
"""
        test = self.make_test("T", lua, bench_conf(demo.url))
        proc = run(["test", test, "-n", "3"])
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("3 passed, 0 failed", proc.stdout)

    def test_stale_keep_alive_connections_are_retried_once_on_a_fresh_one(self):
        server = OneResponsePerConnection()
        self.addCleanup(server.stop)
        lua = """
function test_T(vu)
  for i = 1, 5 do
    local r = vu:get(conf_get("main", "url") .. "/page" .. i)
    assert(r.body == "ok")
  end
end
"""
        test = self.make_test("T", lua, bench_conf(f"http://127.0.0.1:{server.port}"))
        proc = run(["test", test, "-n", "4"])
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("4 passed, 0 failed", proc.stdout)
        # Every page went out once on a connection of its own: the retries were not
        # counted as requests, and no request was sent twice.
        self.assertEqual(server.requests, 20)
        self.assertEqual(server.connections, 20)

    def test_a_full_accept_queue_ends_in_a_connect_timeout(self):
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: the queue fills with the first connection
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(16):
            s = socket.socket()
            s.settimeout(0.3)
            fillers.append(s)
            try:
                s.connect(("127.0.0.1", port))
            except socket.timeout:
                break
        else:
            self.skipTest("the kernel kept accepting connections into a backlog of 0")
        for s in fillers:
            self.addCleanup(s.close)
        lua = """
function test_T(vu)
  vu:get(conf_get("main", "url") .. "/")
end
"""
        test = self.make_test("T", lua, bench_conf(f"http://127.0.0.1:{port}"))
        proc = run(["test", test, "--connect-timeout", "0.5"], timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("ERROR test_T #1: timeout (E)", proc.stdout)
        self.assertIn("timed out after 0.5s", proc.stdout)


if __name__ == "__main__":
    unittest.main()
