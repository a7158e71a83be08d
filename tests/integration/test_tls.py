"""HTTPS certificate checks against nginx with a certificate made for the test: not
checked by default, checked with --tls-verify (the system's CAs, which do not know it)
or --tls-ca-file (which trusts it), and the name or address checked as well."""

import os
import unittest

from harness import Nginx, TestCase, run

CONF = """[main]
title = Tls
url = {url}
[ftest]
connect_timeout = 5
"""

LUA = """
function test_Tls(vu)
  local r = vu:get(conf_get("main", "url") .. "/index.html")
  assert(r.body == "secure", "body: " .. r.body)
end
"""


class Tls(TestCase):
    def setUp(self):
        super().setUp()
        root = os.path.join(self.out, "www")
        os.makedirs(root)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("secure")
        self.nginx = self.start(Nginx(root, os.path.join(self.out, "nginx"), tls=True))

    def bench_test(self, url, *args):
        return run(["test", self.make_test("Tls", LUA, CONF.format(url=url)), *args])

    def test_certificates_are_not_checked_by_default(self):
        proc = self.bench_test(self.nginx.url)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("1 passed, 0 failed", proc.stdout)

    def test_an_unknown_issuer_fails_the_handshake_when_verifying(self):
        proc = self.bench_test(self.nginx.url, "--tls-verify")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("ERROR test_Tls #1: tls (E)", proc.stdout)
        self.assertIn("certificate verify failed", proc.stdout)

    def test_a_trusted_ca_file_lets_the_request_through(self):
        proc = self.bench_test(self.nginx.url, "--tls-ca-file", self.nginx.cert)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("1 passed, 0 failed", proc.stdout)

    def test_the_conf_can_name_the_ca_file(self):
        conf = CONF.format(url=self.nginx.url) + f"tls_ca_file = {self.nginx.cert}\n"
        proc = run(["test", self.make_test("Tls", LUA, conf)])
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("1 passed, 0 failed", proc.stdout)

    def test_the_name_is_checked_too(self):
        # The certificate names 127.0.0.1 only: through localhost the name does not match.
        url = self.nginx.url.replace("127.0.0.1", "localhost")
        proc = self.bench_test(url, "--tls-ca-file", self.nginx.cert)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("ERROR test_Tls #1: tls (E)", proc.stdout)

    def test_an_unreadable_ca_file_is_one_clear_error(self):
        missing = os.path.join(self.out, "no-such-ca.pem")
        proc = self.bench_test(self.nginx.url, "--tls-ca-file", missing)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn("tls_ca_file: cannot load", lines[0])
        self.assertIn("no-such-ca.pem", lines[0])


if __name__ == "__main__":
    unittest.main()
