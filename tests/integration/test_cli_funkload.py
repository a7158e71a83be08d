"""The command line as FunkLoad and Bench Master users type it, and what they expect of
it: one class per behaviour."""

import os
import unittest

from harness import DemoServer, TestCase, run

CONF = """[main]
title = T
url = {url}
[bench]
cycles = 1
duration = 1
startup_delay = 0
sleep_time = 0
cycle_time = 0
"""


def error_lines(proc):
    return [l for l in proc.stderr.splitlines() if l.strip() and "warning:" not in l]


class Labels(TestCase):
    def test_bench_run_refuses_a_label_that_leaves_results(self):
        demo = self.start(DemoServer())
        test = self.make_test("T", 'function test_T(vu) vu:get(conf_get("main", "url") .. "/") end\n',
                              CONF.format(url=demo.url))
        work = os.path.join(self.out, "work")
        os.makedirs(work)
        for label in ("a/../../../x", "..", "line\nbreak"):
            proc = run(["run", test, "-l", label], cwd=work, timeout=60)
            self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
            lines = error_lines(proc)
            self.assertEqual(len(lines), 1, proc.stderr)
            self.assertIn("-l/--label", lines[0])
            self.assertEqual(proc.stdout, "")
            # Nothing written, inside results/ or anywhere around it.
            self.assertEqual(os.listdir(work), [])
            self.assertEqual(sorted(os.listdir(self.out)), ["T.conf", "test_T.lua", "work"])
        # A label with spaces and punctuation is fine, as with bench-master.
        proc = run(["run", test, "-l", "it's a b", "-D", "0.2"], cwd=work, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(len(os.listdir(os.path.join(work, "results"))), 1)
        self.assertTrue(os.listdir(os.path.join(work, "results"))[0].endswith("-it's a b"))


if __name__ == "__main__":
    unittest.main()
