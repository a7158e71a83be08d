"""The command line as FunkLoad and Bench Master users type it, and what they expect of
it: one class per behaviour."""

import glob
import os
import unittest

from harness import DemoServer, TestCase, bench_conf, read_json, run


def error_lines(proc):
    return [l for l in proc.stderr.splitlines() if l.strip() and "warning:" not in l]


class Labels(TestCase):
    def test_bench_run_refuses_a_label_that_leaves_results(self):
        demo = self.start(DemoServer())
        test = self.make_test("T", 'function test_T(vu) vu:get(conf_get("main", "url") .. "/") end\n',
                              bench_conf(demo.url))
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


class FunkLoadFlags(TestCase):
    def test_verbose_and_debug_are_accepted_and_distribute_says_what_replaces_it(self):
        demo = self.start(DemoServer())
        test = self.make_test("T", 'function test_T(vu) vu:get(conf_get("main", "url") .. "/") end\n',
                              bench_conf(demo.url))
        proc = run(["test", test, "-v", "-d"], timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("test_T: 1 passed", proc.stdout)
        for command in ("run", "test"):
            proc = run([command, test, "--distribute", "--distribute-workers", "a@h1,h2"], timeout=60)
            self.assertEqual(proc.returncode, 2)
            self.assertEqual(error_lines(proc), [f"benchmaster {command}: --distribute and --distribute-workers are "
                                                 "FunkLoad's distributed mode; here it is bench-master: bench-master "
                                                 "test_Name.lua --nodes host1,host2*4 (docs/distributed.md)"])


class MasterArguments(TestCase):
    """bench-master takes its options before or after the test (and the nodes file)."""

    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer())
        self.test = self.make_test("T", 'function test_T(vu) vu:get(conf_get("main", "url") .. "/") end\n',
                                   bench_conf(self.demo.url))
        self.nodes_file = self.write("nodes.txt", "local\n")

    def master(self, label, *args):
        w, x = os.path.join(self.out, "w"), os.path.join(self.out, "x")
        proc = run(["master", *args, "-n", label, "-w", w, "-x", x, "-c", "1", "-D", "1"], timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        runs = glob.glob(os.path.join(w, label, "reports", "T-*", "results.json"))
        self.assertEqual(len(runs), 1, runs)
        return read_json(runs[0])

    def test_nodes_before_or_after_the_test(self):
        before = self.master("before", "--nodes", "local*2", self.test)
        after = self.master("after", self.test, "--nodes", "local*2")
        for merged in (before, after):
            self.assertEqual([n["status"] for n in merged["nodes"]], ["complete", "complete"])
            self.assertGreater(merged["cycles"][0]["pages"][0]["ok"], 0)

    def test_nodes_file_with_nodes_and_ssh_options_first(self):
        # -o and --nodes are repeatable: each takes one value, the operands stay operands.
        merged = self.master("file", "-o", "ConnectTimeout=5", "--nodes", "local", "--nodes", "local",
                             self.nodes_file, self.test)
        self.assertEqual([n["node_num"] for n in merged["nodes"]], [0, 1, 2])
        self.assertEqual([n["status"] for n in merged["nodes"]], ["complete"] * 3)


class ConfSections(TestCase):
    def test_misspelt_section_warns_and_free_sections_do_not(self):
        demo = self.start(DemoServer())
        test = self.make_test("T", """
function test_T(vu)
  vu:get(conf_get("main", "url") .. conf_get("shop", "path"))
end
""", bench_conf(demo.url) + "[bnech]\nduration = 5\n[shop]\npath = /\n[test_T]\ndescription = d\n")
        proc = run(["test", test], timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        warnings = [l for l in proc.stderr.splitlines() if "warning:" in l]
        self.assertEqual(len(warnings), 1, proc.stderr)
        self.assertIn("T.conf:10: unknown section [bnech]", warnings[0])
        self.assertIn("did you mean [bench]?", warnings[0])


class TestFunctions(TestCase):
    """A FunkLoad test file's function need not be test_<Name>."""

    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer())

    def shop(self, lua):
        conf = bench_conf(self.demo.url, title="Shop", duration=0.5, startup_delay=None, sleep_time=None, cycle_time=None)
        return self.make_test("Shop", lua, conf)

    def test_the_only_test_function_runs_without_naming_it(self):
        test = self.shop("""
local function page(vu) vu:get(conf_get("main", "url") .. "/") end
function test_shop(vu) page(vu) end
""")
        proc = run(["test", test], timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("ok test_shop #1", proc.stdout)
        out = os.path.join(self.out, "bench")
        proc = run(["run", test, "-o", out], timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertTrue(proc.stdout.startswith("Benching test_shop "), proc.stdout)
        self.assertEqual(read_json(os.path.join(out, "results.json"))["run"]["function"], "test_shop")

    def test_several_test_functions_are_listed_with_how_to_choose(self):
        test = self.shop("""
function test_browse(vu) vu:get(conf_get("main", "url") .. "/") end
function test_buy(vu) vu:get(conf_get("main", "url") .. "/bytes/3") end
""")
        for command in ("test", "run"):
            proc = run([command, test], timeout=60)
            self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
            self.assertEqual(proc.stdout, "")
            lines = error_lines(proc)
            self.assertEqual(len(lines), 1, proc.stderr)
            for fragment in ("test_Shop.lua", "test_browse, test_buy", "-e/--function", "Shop.test_browse"):
                self.assertIn(fragment, lines[0])
        # Chosen with -e, or FunkLoad's Class.method after the file.
        for args in (["-e", "test_buy"], ["Shop.test_buy"], ["test_buy"], ["Shop.test_buy", "-e", "test_buy"]):
            proc = run(["test", test, *args], timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertIn("ok test_buy #1", proc.stdout)
        proc = run(["test", test, "test_browse", "-e", "test_buy"], timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("name different functions", proc.stderr)
        proc = run(["test", test, "Store.test_buy"], timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("Shop.test_name", proc.stderr)
        proc = run(["test", test, "-e", "test_pay"], timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("defines no function 'test_pay' (its test functions: test_browse, test_buy)", proc.stderr)

    def test_bench_master_runs_the_only_test_function_or_the_named_one(self):
        test = self.shop("""
function test_browse(vu) vu:get(conf_get("main", "url") .. "/") end
function test_buy(vu) vu:get(conf_get("main", "url") .. "/bytes/" .. (3 + vu.node_num)) end
""")
        w, x = os.path.join(self.out, "w"), os.path.join(self.out, "x")
        proc = run(["master", test, "Shop.test_buy", "--nodes", "local*2", "-n", "buy", "-w", w, "-x", x], timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        merged = read_json(glob.glob(os.path.join(w, "buy", "reports", "Shop-*", "results.json"))[0])
        self.assertEqual(merged["run"]["function"], "test_buy")
        self.assertEqual({n["status"] for n in merged["nodes"]}, {"complete"})
        proc = run(["master", test, "--nodes", "local", "-w", w, "-x", x], timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("-e/--function", proc.stderr)
        self.assertEqual(proc.stdout, "")


class LoadBeforeBanner(TestCase):
    def test_syntax_error_before_any_banner(self):
        for lua, where in (("function test_T(vu)\n  local x = = 1\nend\n", "test_T.lua:2:"),
                           ("local data = nil\nlocal n = #data\nfunction test_T(vu) end\n", "test_T.lua:2:")):
            test = self.make_test("T", lua, bench_conf("http://127.0.0.1:1"))
            out = os.path.join(self.out, "run")
            proc = run(["run", test, "-o", out], timeout=60)
            self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
            self.assertEqual(proc.stdout, "")
            lines = error_lines(proc)
            self.assertEqual(len(lines), 1, proc.stderr)
            self.assertIn(where, lines[0])
            self.assertFalse(os.path.exists(out))

    def test_bench_master_loads_the_test_as_node_0_does(self):
        # Its top-level code reads a data file beside it and [bench] node_num, which only
        # the nodes' confs hold: the master's own load runs in the test's folder with 0.
        demo = self.start(DemoServer())
        os.makedirs(os.path.join(self.out, "data"))
        self.write("data/words.txt", "a\nb\n")
        test = self.make_test("T", """
local words = {}
for line in io.lines("data/words.txt") do words[#words + 1] = line end
local node = conf_get_number("bench", "node_num") + 1
function test_T(vu) vu:get(conf_get("main", "url") .. "/bytes/" .. (#words + node)) end
""", bench_conf(demo.url) + "[distribute]\nfiles = data/words.txt\n")
        elsewhere = os.path.join(self.out, "elsewhere")
        os.makedirs(elsewhere)
        proc = run(["master", test, "--nodes", "local", "-n", "n0", "-w", "w", "-x", os.path.join(self.out, "x")],
                   cwd=elsewhere, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(len(glob.glob(os.path.join(elsewhere, "w", "n0", "reports", "T-*", "results.json"))), 1)


class QuietTest(TestCase):
    def test_quiet_silences_log_lines(self):
        demo = self.start(DemoServer())
        test = self.make_test("T", """
log("loaded")
function test_T(vu)
  log("in the test")
  vu:log("from the user")
  vu:get(conf_get("main", "url") .. "/")
end
""", bench_conf(demo.url))
        loud = run(["test", test], timeout=60)
        self.assertEqual(loud.returncode, 0, loud.stdout + loud.stderr)
        self.assertIn("in the test", loud.stdout)
        self.assertIn("from the user", loud.stdout)
        quiet = run(["test", test, "-q", "-n", "3"], timeout=60)
        self.assertEqual(quiet.returncode, 0, quiet.stdout + quiet.stderr)
        self.assertEqual(quiet.stdout, "test_T: 3 passed, 0 failed\n")
        self.assertEqual(quiet.stderr, "")


if __name__ == "__main__":
    unittest.main()
