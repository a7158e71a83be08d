"""The Lua API against the demo target's /echo and friends: what the virtual user
sends (headers, auth, cookies, forms, multipart, bodies), redirects, hooks, think time,
conf access and node numbers."""

import json
import os
import re
import unittest

from harness import DemoServer, TestCase, bench_conf, read_json, run

# Read by the conf functions' tests.
CUSTOM_SECTION = """[custom]
greeting = hello
sizes = 1:2: 3
ratio = 0.5
"""


def api_conf(url, **bench):
    return bench_conf(url, title="Api", extra=CUSTOM_SECTION, **bench)


class LuaApi(TestCase):
    def setUp(self):
        super().setUp()
        self.demo = self.start(DemoServer())

    def bench_test(self, lua, *args, code=0):
        test = self.make_test("Api", lua, api_conf(self.demo.url))
        proc = run(["test", test, *args])
        self.assertEqual(proc.returncode, code, proc.stdout + proc.stderr)
        return proc

    def echoes(self, proc):
        prefix = "log: [vu 0 cycle 0] echo: "
        return [json.loads(l[len(prefix):]) for l in proc.stdout.splitlines() if l.startswith(prefix)]

    def test_a_method_called_with_a_dot_or_on_another_table_is_a_script_error(self):
        for call in ('vu.get(conf_get("main", "url") .. "/")', 'vu.get({}, conf_get("main", "url") .. "/")'):
            with self.subTest(call=call):
                proc = self.bench_test("function test_Api(vu)\n  " + call + "\nend\n", code=1)
                self.assertIn("test_Api.lua:2: vu:get: call it with a colon (vu:get(...)), not a dot", proc.stdout)
        # Another table with the vu metatable passes for a vu: the request is the user's own.
        self.bench_test('function test_Api(vu)\n  vu.get(setmetatable({}, getmetatable(vu)), '
                        'conf_get("main", "url") .. "/")\nend\n')

    def test_headers_auth_user_agent_and_cookies_reach_the_server(self):
        proc = self.bench_test("""
function test_Api(vu)
  local base = conf_get("main", "url")
  vu:set_header("X-Team", "perf")
  vu:add_header("X-Multi", "a")
  vu:add_header("X-Multi", "b")
  vu:basic_auth("alice", "secret")
  vu:set_user_agent("probe/1")
  vu:set_cookie("flavour", "oat", "127.0.0.1", "/")
  local r = vu:get(base .. "/echo", {headers = {["X-Once"] = "1"}})
  log("echo: " .. r.body)
  vu:set_header("X-Team", nil)
  vu:clear_basic_auth()
  r = vu:get(base .. "/echo")
  log("echo: " .. r.body)
end
""")
        first, second = self.echoes(proc)
        h1 = {k.lower(): v for k, v in first["headers"]}
        self.assertEqual(h1["x-team"], "perf")
        self.assertEqual([v for k, v in first["headers"] if k.lower() == "x-multi"], ["a", "b"])
        self.assertEqual(h1["authorization"], "Basic YWxpY2U6c2VjcmV0")
        self.assertEqual(h1["user-agent"], "probe/1")
        self.assertEqual(h1["x-once"], "1")
        self.assertEqual(h1["cookie"], "flavour=oat")
        h2 = {k.lower(): v for k, v in second["headers"]}
        self.assertNotIn("x-team", h2)
        self.assertNotIn("authorization", h2)
        self.assertNotIn("x-once", h2)

    def test_forms_query_multipart_and_raw_bodies(self):
        proc = self.bench_test("""
function test_Api(vu)
  local base = conf_get("main", "url")
  local r = vu:get(base .. "/echo", {params = {{"q", "a b"}, {"q", "c&d"}}})
  log("echo: " .. r.body)
  r = vu:post(base .. "/echo", {params = {{"name", "zoë"}, {"n", 3}}})
  log("echo: " .. r.body)
  r = vu:post(base .. "/echo", {params = {{"field", "v"}}, files = {{field = "up", filename = "a.txt", content = "DATA", content_type = "text/plain"}}})
  log("echo: " .. r.body)
  r = vu:put(base .. "/echo", {body = '{"k":1}', content_type = "application/json"})
  log("echo: " .. r.body)
  r = vu:request("PROPFIND", base .. "/echo", {ok_codes = {200, 405}})
  log("echo: " .. tostring(r.status))
end
""")
        prefix = "log: [vu 0 cycle 0] echo: "
        lines = [l for l in proc.stdout.splitlines() if l.startswith(prefix)]
        get, post, multipart, put = (json.loads(l[len(prefix):]) for l in lines[:4])
        self.assertEqual(get["target"], "/echo?q=a+b&q=c%26d")
        self.assertEqual(post["body"], "name=zo%C3%AB&n=3")
        ctype = {k.lower(): v for k, v in multipart["headers"]}["content-type"]
        self.assertTrue(ctype.startswith("multipart/form-data; boundary="), ctype)
        self.assertIn('name="up"; filename="a.txt"', multipart["body"])
        self.assertIn("DATA", multipart["body"])
        self.assertEqual(put["method"], "PUT")
        self.assertEqual(put["body"], '{"k":1}')
        self.assertRegex(lines[4], r"echo: (200|405)$")

    def test_request_options_that_would_break_the_request_head_are_refused(self):
        proc = self.bench_test(r"""
function test_Api(vu)
  local base = conf_get("main", "url")
  for _, opts in ipairs({
      {headers = {["X-A"] = "v\r\nX-Evil: 1"}},
      {headers = {{"X-A\nB", "v"}}},
      {headers = {{"X-A: b", "v"}}},
      {body = "x", content_type = "text/plain\r\nX-Evil: 1"},
      {files = {{field = "up", filename = "a.txt", content = "D", content_type = "text/plain\r\nX-Evil: 1"}}}}) do
    local ok, err = pcall(vu.post, vu, base .. "/echo", opts)
    log("refused: " .. tostring(ok) .. " " .. tostring(err))
  end
  local ok, err = pcall(vu.set_cookie, vu, "a", "v\r\nX-Evil: 1")
  log("refused: " .. tostring(ok) .. " " .. tostring(err))
  log("echo: " .. vu:get(base .. "/echo").body)
end
""")
        # Called through pcall, the message has no file:line before it (a C function raised it).
        prefix = "log: [vu 0 cycle 0] refused: false "
        refused = [l[len(prefix):] for l in proc.stdout.splitlines() if l.startswith(prefix)]
        self.assertEqual(refused, [
            "vu:post: header 'X-A' has a line break in its value",
            "vu:post: header name 'X-A\\nB' is not valid",
            "vu:post: header name 'X-A: b' is not valid",
            "vu:post: the content type has a line break",
            "vu:post: the content type of file 'a.txt' has a line break",
            "vu:set_cookie: a cookie value must not contain ';', CR, LF or NUL",
        ], proc.stdout)
        # The request after them carries nothing of them.
        (echo,) = self.echoes(proc)
        self.assertEqual(echo["method"], "GET")
        self.assertNotIn("x-evil", [k.lower() for k, _ in echo["headers"]])
        self.assertNotIn("cookie", [k.lower() for k, _ in echo["headers"]])

    def test_redirects_are_followed_counted_and_part_of_the_page(self):
        test = self.make_test("Api", """
function test_Api(vu)
  local base = conf_get("main", "url")
  local r = vu:get(base .. "/redirect/3", {description = "Hops", fetch_resources = false})
  -- /redirect/3 -> /redirect/2 -> /redirect/1 -> /redirect/0 -> /
  assert(r.redirects == 4, "redirects " .. r.redirects)
  assert(r.url == base .. "/", "final url " .. r.url)
  local raw = vu:get(base .. "/redirect/1", {description = "Raw", follow_redirects = false})
  assert(raw.status == 302 and raw:header("location") ~= nil)
  local p = vu:post(base .. "/redirect/1?code=307", {description = "Keep", body = "x", ok_codes = {200, 404, 405}})
  log("after 307: " .. p.method .. " " .. p.status)
end
""", api_conf(self.demo.url))
        out = os.path.join(self.out, "run")
        proc = run(["run", test, "-o", out], check=0)
        cycle = read_json(os.path.join(out, "results.json"))["cycles"][0]
        hops = [r for r in cycle["requests"] if r["page"] == "Hops"]
        self.assertEqual(sorted(r["kind"] for r in hops), ["main", "redirect", "redirect", "redirect", "redirect"])
        pages = {p["key"]: p for p in cycle["pages"]}
        self.assertEqual(set(pages), {"Hops", "Raw", "Keep"})
        # Each test is three pages, whatever the hops.
        self.assertEqual(cycle["tests"][0]["pages"], 3 * cycle["tests"][0]["ok"])
        # 307 keeps the method (and body); log() lines go to bench.log.
        with open(os.path.join(out, "bench.log")) as f:
            self.assertIn("after 307: POST", f.readline())

    def test_conf_access_and_identity(self):
        proc = self.bench_test("""
function test_Api(vu)
  log(conf_get("custom", "greeting"), conf_get("custom", "missing", "dflt"))
  local sizes = conf_get_list("custom", "sizes")
  log(#sizes, sizes[3], conf_get_number("custom", "ratio") * 2)
  log(conf_get("bench", "node_num"), vu.node_num, vu.id, vu.cycle, vu.cvus, vu:iteration(), bench.test_name)
  local ok, err = pcall(conf_get, "custom", "nope")
  log(ok, err)
end
""")
        self.assertIn("log: [vu 0 cycle 0] hello\tdflt", proc.stdout)
        self.assertIn("log: [vu 0 cycle 0] 3\t3\t1.0", proc.stdout)
        self.assertIn("log: [vu 0 cycle 0] 0\t0\t0\t0\t1\t1\tApi", proc.stdout)
        self.assertRegex(proc.stdout, r"false\t.*no key 'nope' in section \[custom\]")

    def test_hooks_run_in_order(self):
        test = self.make_test("Api", """
local function note(vu, what)
  vu:get(conf_get("main", "url") .. "/bytes/1?hook=" .. what, {description = what})
end
function setup_bench(vu) note(vu, "setup_bench") end
function setup_cycle(vu, cycle, cvus) note(vu, "setup_cycle_" .. cycle .. "_" .. cvus) end
function mid_cycle(vu, cycle, cvus) note(vu, "mid_cycle") end
function teardown_cycle(vu, cycle, cvus) note(vu, "teardown_cycle") end
function teardown_bench(vu) note(vu, "teardown_bench") end
function setup_vu(vu) note(vu, "setup_vu") end
function teardown_vu(vu) note(vu, "teardown_vu") end
function setup(vu) vu.started = (vu.started or 0) + 1 end
function teardown(vu) assert(vu.started >= 1) end
function test_Api(vu) vu:sleep(0.01) end
""", api_conf(self.demo.url, cycles="2:3"))
        out = os.path.join(self.out, "run")
        run(["run", test, "-o", out], check=0)
        counts = self.demo.counter()["by_path"]
        self.assertEqual(counts.get("/bytes/1"), 1 + 2 + 2 + 2 + 1 + 5 + 5, counts)
        results = read_json(os.path.join(out, "results.json"))
        for cycle in results["cycles"]:
            self.assertGreater(cycle["tests"][0]["ok"], 10)

    def test_think_time_is_within_bounds(self):
        test = self.make_test("Api", """
function test_Api(vu)
  local base = conf_get("main", "url")
  vu:get(base .. "/bytes/1")
  vu:get(base .. "/bytes/1")
end
""", api_conf(self.demo.url, duration=3))
        out = os.path.join(self.out, "run")
        run(["run", test, "-o", out, "-m", "0.1", "-M", "0.2"], check=0)
        test_entry = read_json(os.path.join(out, "results.json"))["cycles"][0]["tests"][0]
        mean_s = test_entry["latency"]["sum_us"] / test_entry["latency"]["count"] / 1e6
        # Two pages, each followed by a pause in [0.1, 0.2] s.
        self.assertGreaterEqual(test_entry["latency"]["min_us"], 200_000)
        self.assertLess(test_entry["latency"]["max_us"], 450_000)
        self.assertGreater(mean_s, 0.25)
        self.assertLess(mean_s, 0.37)


if __name__ == "__main__":
    unittest.main()
