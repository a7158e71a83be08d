"""The HTML run report in a real browser: a real bench against the demo target, its
report rendered by `bench-report --html` and opened from file:// in headless Chromium
(no network), checked for console errors, drawn charts and the results' numbers, with a
screenshot left in the test's output folder. Also: strings holding <script> stay text.

The browser is driven over the DevTools protocol (browser.py, standard library only)."""

import base64
import copy
import json
import math
import os
import unittest
import urllib.request

from fractions import Fraction

from browser import Browser
from harness import EXAMPLES, DemoServer, TestCase, highest_equivalent, read_json, run


# Draws every chart, then reports for each placeholder whether a canvas exists and how
# many of its pixels have one of the chart's series colours (so axes alone do not count).
CHART_CHECK = """
(async () => {
  window.bmReport.renderAll();
  await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const rgb = hex => [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
  return Array.from(document.querySelectorAll('[data-chart]')).map(el => {
    const id = el.getAttribute('data-chart');
    const chart = window.bmReport.charts[id];
    const canvas = el.querySelector('canvas');
    if (!chart || !canvas || !canvas.width || !canvas.height) return {id, drawn: 0};
    const colours = chart.colors.map(rgb);
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      if (pixels[i + 3] < 160) continue;
      for (const [r, g, b] of colours) {
        if (Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g) + Math.abs(pixels[i + 2] - b) < 40) { drawn++; break; }
      }
    }
    return {id, drawn, caption: el.closest('figure').querySelector('figcaption').textContent};
  });
})()
"""


# Draws every chart, then reads each one back from uPlot: its section, plot area (bbox),
# scales, and for each series its data and its pixel positions (u.valToPos) on every y
# scale of the chart, so a test can tell whether two lines lie on each other.
SERIES_CHECK = """
(async () => {
  window.bmReport.renderAll();
  await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  return Array.from(document.querySelectorAll('[data-chart]')).map(el => {
    const id = el.getAttribute('data-chart');
    const chart = window.bmReport.charts[id];
    const figure = el.closest('figure');
    const caption = figure.querySelector('figcaption').textContent;
    const section = el.closest('section') ? el.closest('section').id : '';
    if (!chart) return {id, caption, section, missing: true};
    const u = chart.plot;
    const keys = Object.keys(u.scales).filter(k => k !== 'x');
    const series = [];
    for (let s = 1; s < u.series.length; s++) {
      const px = {};
      for (const key of keys) px[key] = Array.from(u.data[s], v => v == null ? null : u.valToPos(v, key));
      series.push({label: u.series[s].label, scale: u.series[s].scale, dash: u.series[s].dash || [],
                   stroke: u.series[s].stroke(u, s), data: Array.from(u.data[s]), px});
    }
    return {id, caption, section, time: !!chart.spec.time, pct: chart.spec.pct || null,
            bbox: {left: u.bbox.left, width: u.bbox.width, top: u.bbox.top, height: u.bbox.height},
            xdistr: u.scales.x.distr, ydistr: u.scales.y.distr, x: Array.from(u.data[0]), series};
  });
})()
"""


def coinciding_lines(chart):
    """Pairs of series of a chart drawn on each other (under a pixel apart at a point)
    where their numbers differ (a pixel or more apart on the first one's own scale)."""
    found = []
    series = chart["series"]
    for i, a in enumerate(series):
        for b in series[i + 1:]:
            for k, (va, vb) in enumerate(zip(a["data"], b["data"])):
                if va is None or vb is None:
                    continue
                pa, pb = a["px"][a["scale"]][k], b["px"][b["scale"]][k]
                pb_on_a = b["px"][a["scale"]][k]
                if abs(pa - pb_on_a) >= 1 and abs(pa - pb) < 1:
                    found.append((chart["caption"], a["label"], b["label"], k, va, vb))
    return found


def table_rows(browser, selector):
    return browser.evaluate(
        "Array.from(document.querySelectorAll(%s)).map(tr => Array.from(tr.cells).map(td => td.textContent.trim()))"
        % json.dumps(selector))


# ---- The report's number formats (src/report/html_format.cpp), for comparison ----

def three_digits(value):
    magnitude = abs(value)
    if magnitude < 9.995:
        return f"{value:.2f}"
    if magnitude < 999.95:
        return f"{value:.1f}"
    return f"{value:.0f}"


def ms(us):
    return three_digits(us / 1000.0)


def fmt_bytes(value):
    """common::format_bytes: three significant digits in B, KiB, MiB, GiB, TiB."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    unit = 0
    while abs(value) >= 1024 and unit < 4:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{value:.0f} B"
    decimals = 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
    return f"{value:.{decimals}f} {units[unit]}"


def count(n):
    """common::format_count: narrow no-break spaces between thousands from 10 000 up."""
    return f"{n:,}".replace(",", "\u202f") if n >= 10000 else str(n)


def percent(part, whole):
    return f"{part / whole * 100.0:.2f} %" if whole else "–"


def histogram_percentile(hist, p):
    """The schema's percentile: the upper end of the bucket holding rank ceil(p/100 x count),
    at most the max; the rank in exact arithmetic (99.9 % of 1000 samples is rank 999)."""
    if not hist["count"]:
        return 0
    rank = max(1, math.ceil(Fraction(p) * hist["count"] / 100))
    seen = 0
    for index, n in hist["buckets"]:
        seen += n
        if seen >= rank:
            return min(highest_equivalent(index), hist["max_us"])
    return hist["max_us"]


def merged_histogram(entries, field="latency"):
    """Every entry's histogram added bucket by bucket, as the report merges them."""
    buckets, count, total, low, high = {}, 0, 0, None, 0
    for e in entries:
        h = e[field]
        if not h["count"]:
            continue
        for index, n in h["buckets"]:
            buckets[index] = buckets.get(index, 0) + n
        count += h["count"]
        total += h["sum_us"]
        low = h["min_us"] if low is None else min(low, h["min_us"])
        high = max(high, h["max_us"])
    return {"count": count, "sum_us": total, "min_us": low or 0, "max_us": high,
            "buckets": sorted(buckets.items())}


def apdex(entries):
    s = sum(e["apdex"]["satisfied"] for e in entries)
    t = sum(e["apdex"]["tolerating"] for e in entries)
    f = sum(e["apdex"]["frustrated"] for e in entries)
    return (s + t / 2) / (s + t + f) if s + t + f else None


def rated(score):
    """An Apdex cell: the score and FunkLoad's rating letter."""
    if score is None:
        return "–"
    letter = next(l for limit, l in ((0.94, "E"), (0.85, "G"), (0.70, "F"), (0.50, "P"), (0, "U")) if score >= limit)
    return f"{score:.3f} {letter}"


def expected_summary_row(cycle):
    """The summary table's row for a cycle, computed from the results file alone."""
    window = cycle["window_s"]
    pages = cycle["pages"]
    ok = {name: sum(e["ok"] for e in cycle[name]) for name in ("tests", "pages", "requests")}
    all_pages = sum(e["ok"] + e["failures"] + e["errors"] for e in pages)
    h = merged_histogram(pages)
    score = apdex(pages)
    return [str(cycle["cvus"]), three_digits(ok["tests"] / window), three_digits(ok["pages"] / window),
            three_digits(ok["requests"] / window), percent(ok["pages"], all_pages), ms(h["min_us"]),
            ms(h["sum_us"] / h["count"]), ms(histogram_percentile(h, 50)), ms(histogram_percentile(h, 90)),
            ms(histogram_percentile(h, 95)), ms(histogram_percentile(h, 99)), ms(histogram_percentile(h, "99.9")),
            ms(h["max_us"]), rated(score)]


def bench(out, url, cycles="2:4", duration="2"):
    """A real bench of the Shop example: results.json in `out`."""
    run(["run", os.path.join(EXAMPLES, "test_Shop.lua"), "-u", url, "-c", cycles, "-D", duration, "-s", "0.01",
         "--cycle-time", "0", "-m", "0", "-M", "0.05", "-o", out], check=0)
    return os.path.join(out, "results.json")


class BrowserTestCase(TestCase):
    def setUp(self):
        super().setUp()
        self.browser = Browser()

    def tearDown(self):
        self.browser.close()
        super().tearDown()

    def assert_renders_cleanly(self, index, screenshot):
        """Opens the report; no console problem, every chart drawn; leaves a screenshot."""
        self.browser.open(index)
        charts = self.browser.evaluate(CHART_CHECK)
        self.assertGreater(len(charts), 0)
        blank = [c for c in charts if c["drawn"] < 20]
        self.assertEqual(blank, [], "charts that drew no series")
        self.browser.screenshot(os.path.join(self.out, screenshot))
        self.assertEqual(self.browser.problems(), [])
        return charts


def connection_cells(requests):
    """The traffic table's connection cells: opened, connect p50/p95, first byte p50/p95/p99."""
    connect = merged_histogram([r for r in requests if "connect" in r], "connect")
    first = merged_histogram([r for r in requests if "first_byte" in r], "first_byte")
    at = lambda h, p: ms(histogram_percentile(h, p)) if h["count"] else "–"  # noqa: E731
    return [count(connect["count"]), at(connect, 50), at(connect, 95), at(first, 50), at(first, 95), at(first, 99)]


class RunReport(BrowserTestCase):
    def test_real_run_report_draws_every_chart_and_holds_the_results_numbers(self):
        demo = self.start(DemoServer(threads=2))
        results_file = bench(os.path.join(self.out, "run"), demo.url)
        results = read_json(results_file)
        proc = run(["report", "--html", os.path.dirname(results_file)], check=0)
        index = os.path.join(self.out, "run", "index.html")
        self.assertIn(f"HTML report: {index}", proc.stdout)
        self.assertLess(os.path.getsize(index), 5_000_000)

        charts = self.assert_renders_cleanly(index, "report.png")
        captions = {c["caption"] for c in charts}
        for wanted in ("Throughput against concurrency", "Throughput over time", "Failures and errors over time",
                       "Request response time over time (successful requests)"):
            self.assertIn(wanted, captions)
        # Summary, one page per page key, one folded section per request.
        rows = table_rows(self.browser, "#summary-table tbody tr")
        self.assertEqual(len(rows), len(results["cycles"]))
        for row, cycle in zip(rows, results["cycles"]):
            self.assertEqual(row[0].replace("★", "").strip(), f"C{cycle['index'] + 1}")
            self.assertEqual(row[1:], expected_summary_row(cycle), f"cycle {cycle['index']}")
        page_keys = [p["key"] for p in results["cycles"][0]["pages"]]
        headings = self.browser.evaluate(
            "Array.from(document.querySelectorAll('article.page h3')).map(h => h.textContent)")
        self.assertEqual(headings, [f"Page {i + 1} {k}" for i, k in enumerate(page_keys)])
        requests = self.browser.evaluate("document.querySelectorAll('details.request').length")
        self.assertEqual(requests, len({(r["page"], r["key"]) for c in results["cycles"] for r in c["requests"]}))
        # A page's own table: its p95 per cycle, from its histogram.
        page_rows = table_rows(self.browser, "#page-1 table tbody tr")
        for row, cycle in zip(page_rows, results["cycles"]):
            page = cycle["pages"][0]
            self.assertEqual(row[11], ms(histogram_percentile(page["latency"], 95)))
            self.assertEqual(row[3].replace("\u202f", ""), str(page["ok"] + page["failures"] + page["errors"]))
        identity = self.browser.evaluate("document.getElementById('identity').textContent")
        self.assertIn(results["run"]["url"], identity)
        self.assertIn(" ".join(results["run"]["command_line"]), identity)
        # Traffic and what fell outside the windows, per cycle, as the text report has them.
        for row, cycle in zip(table_rows(self.browser, "#traffic-table tbody tr"), results["cycles"]):
            requests = cycle["requests"]
            received = sum(r["bytes_received"] for r in requests)
            outside, abandoned = cycle["outside_window"], cycle.get("abandoned", {})
            self.assertEqual(row[1:], [
                str(cycle["cvus"]), count(sum(r["ok"] + r["failures"] + r["errors"] for r in requests)),
                fmt_bytes(sum(r["bytes_sent"] for r in requests)), fmt_bytes(received),
                fmt_bytes(round(received / cycle["window_s"])) + "/s",
                *connection_cells(requests),
                *[count(outside.get(k, 0)) for k in ("tests", "pages", "requests")],
                *[count(abandoned.get(k, 0)) for k in ("tests", "requests")]], f"cycle {cycle['index']}")
        # Pages and requests per successful test, and units in the headers.
        test_rows = table_rows(self.browser, "#test-1 table tbody tr")
        heads = table_rows(self.browser, "#test-1 table thead tr")[0]
        self.assertEqual(heads[7:9], ["Pages/test", "Requests/test"])
        self.assertEqual(heads[9:17], [f"{name} ms" for name in
                                       ("Min", "Mean", "p50", "p90", "p95", "p99", "p99.9", "Max")])
        for row, cycle in zip(test_rows, results["cycles"]):
            test = cycle["tests"][0]
            self.assertEqual(row[7:9], [f"{test['pages'] / test['ok']:.1f}", f"{test['requests'] / test['ok']:.1f}"])

    def test_charts_are_honest_lines_on_aligned_axes(self):
        """One unit per chart, so no line hides another whose numbers differ; every time
        chart has the same plot area; the distribution curves are the histograms'
        percentiles. Screenshots of the summary's and the timeline's charts."""
        demo = self.start(DemoServer(threads=2))
        results_file = bench(os.path.join(self.out, "run"), demo.url, cycles="2:4:6")
        results = read_json(results_file)
        run(["report", "--html", results_file, "-o", os.path.join(self.out, "html")], check=0)
        self.browser.open(os.path.join(self.out, "html", "index.html"))
        drawn = self.browser.evaluate(CHART_CHECK)
        self.assertEqual([c for c in drawn if c["drawn"] < 20], [], "charts that drew no series")
        charts = self.browser.evaluate(SERIES_CHECK)
        self.assertEqual(len(charts), len(drawn))
        self.assertEqual([c for c in charts if c.get("missing")], [])
        for chart in charts:
            # Every series of a chart on its one y axis.
            self.assertEqual({s["scale"] for s in chart["series"]}, {"y"}, chart["caption"])
            styles = [(s["stroke"], tuple(s["dash"])) for s in chart["series"]]
            self.assertEqual(len(set(styles)), len(styles), f"{chart['caption']}: two lines look the same")
        self.assertEqual([line for c in charts for line in coinciding_lines(c)], [])

        # The summary's rates: requests/s above pages/s (the Shop's pages have several
        # requests), each at its own height on the one axis.
        throughput = next(c for c in charts if c["caption"] == "Throughput against concurrency")
        by_label = {s["label"]: s for s in throughput["series"]}
        for k in range(len(results["cycles"])):
            self.assertGreater(by_label["Requests/s"]["data"][k], by_label["Pages/s"]["data"][k])
            self.assertLess(by_label["Requests/s"]["px"]["y"][k], by_label["Pages/s"]["px"]["y"][k] - 1)

        # Timeline charts line up: the same plot area left and width.
        timeline = [c for c in charts if c["section"] == "timeline"]
        self.assertGreaterEqual(len(timeline), 4)
        self.assertEqual({(c["bbox"]["left"], c["bbox"]["width"]) for c in timeline}, {
            (timeline[0]["bbox"]["left"], timeline[0]["bbox"]["width"])}, [c["bbox"] for c in timeline])
        self.assertTrue(all(c["time"] for c in timeline))

        # The distribution: x on a log scale of 1/(1-p), one line per cycle, each point the
        # merged page histogram's percentile (never an average), in ms on a log axis.
        curves = [c for c in charts if c["caption"] == "Page time distribution per cycle"]
        self.assertEqual(len(curves), 1 + len(results["cycles"][0]["pages"]))
        summary = curves[0]
        self.assertEqual(summary["section"], "summary")
        self.assertEqual((summary["xdistr"], summary["ydistr"]), (3, 3))
        self.assertEqual(len(summary["pct"]), 101)
        self.assertEqual((summary["pct"][0], summary["pct"][-1]), (0, 99.999))
        self.assertEqual(len(summary["series"]), len(results["cycles"]))
        for line, cycle in zip(summary["series"], results["cycles"]):
            self.assertEqual(line["label"], f"C{cycle['index'] + 1} · {cycle['cvus']}")
            h = merged_histogram(cycle["pages"])
            for p, value, x in zip(summary["pct"], line["data"], summary["x"]):
                us = h["min_us"] if p == 0 else histogram_percentile(h, repr(p))
                self.assertAlmostEqual(value, max(us / 1000, 0.001), delta=max(us / 1000, 0.001) * 5e-4, msg=p)
                self.assertAlmostEqual(x, 100 / (100 - p), delta=5e-4 * x)
        # Each page's own curves, coarser.
        self.assertEqual({len(c["pct"]) for c in curves[1:]}, {51})

        for section, name in (("summary", "charts-summary.png"), ("timeline", "charts-timeline.png")):
            top = self.browser.evaluate(f"Math.floor(document.getElementById('{section}').getBoundingClientRect().top"
                                        " + window.scrollY)")
            self.browser.screenshot(os.path.join(self.out, name), top=top, height=2600)
        self.assertEqual(self.browser.problems(), [])

    def test_open_model_report_shows_arrivals_rates_and_service_times(self):
        """An open-model run: charts against the asked rate, the Arrivals table from the
        results' counts, service-time percentiles beside the times from the intended start,
        every chart drawn with distinct lines."""
        demo = self.start(DemoServer(threads=2))
        out = os.path.join(self.out, "open")
        run(["run", os.path.join(EXAMPLES, "test_Shop.lua"), "-u", demo.url, "-r", "20:40", "--max-users", "4",
             "-D", "2", "-s", "0.01", "--cycle-time", "0", "-m", "0", "-M", "0.05", "-o", out], check=0)
        results = read_json(os.path.join(out, "results.json"))
        run(["report", "--html", out], check=0)
        charts = self.assert_renders_cleanly(os.path.join(out, "index.html"), "open-model.png")
        self.assertIn("Throughput against the asked rate", {c["caption"] for c in charts})
        series = self.browser.evaluate(SERIES_CHECK)
        self.assertEqual([c for c in series if c.get("missing")], [])
        throughput = next(c for c in series if c["caption"] == "Throughput against the asked rate")
        self.assertEqual(throughput["x"], [20, 40])
        for chart in series:
            styles = [(s["stroke"], tuple(s["dash"])) for s in chart["series"]]
            self.assertEqual(len(set(styles)), len(styles), f"{chart['caption']}: two lines look the same")
        self.assertEqual([line for c in series for line in coinciding_lines(c)], [])
        times = [c for c in series if c["caption"].endswith("from intended start and service")]
        self.assertGreater(len(times), 0)
        self.assertIn("service p99", [s["label"] for s in times[0]["series"]])

        for row, cycle in zip(table_rows(self.browser, "#arrivals-table tbody tr"), results["cycles"]):
            a = cycle["arrivals"]
            self.assertEqual(row, [
                f"C{cycle['index'] + 1}", f"{a['rate_from']:g}/s", three_digits(a["started"] / cycle["window_s"]) + "/s",
                count(a["due"]), count(a["started"]), count(a["late"]), percent(a["late"], a["due"]),
                count(a["missed"]), percent(a["missed"], a["due"]), ms(a["max_wait_us"]), str(a["peak_users"])])
        rows = table_rows(self.browser, "#summary-table tbody tr")
        self.assertEqual(len(rows), len(results["cycles"]))
        for row, cycle in zip(rows, results["cycles"]):
            service = merged_histogram([p for p in cycle["pages"] if "service" in p], "service")
            self.assertEqual(row[1], f"{cycle['arrivals']['rate_from']:g}/s")
            self.assertEqual(row[14:17], [ms(histogram_percentile(service, p)) for p in (50, 95, 99)])

    def test_report_reads_fine_without_javascript_and_prints(self):
        demo = self.start(DemoServer(threads=2))
        results_file = bench(os.path.join(self.out, "run"), demo.url, cycles="2", duration="1")
        run(["report", "--html", results_file, "-o", os.path.join(self.out, "html")], check=0)
        index = os.path.join(self.out, "html", "index.html")
        self.browser.call("Emulation.setScriptExecutionDisabled", value=True)
        self.browser.open(index)
        rows = table_rows(self.browser, "#summary-table tbody tr")
        self.assertEqual(rows[0][1:], expected_summary_row(read_json(results_file)["cycles"][0]))
        self.assertEqual(self.browser.evaluate("document.querySelectorAll('canvas').length"), 0)
        self.browser.call("Emulation.setScriptExecutionDisabled", value=False)
        pdf = self.browser.call("Page.printToPDF", printBackground=True)
        self.assertGreater(len(base64.b64decode(pdf["data"])), 10_000)
        self.assertEqual(self.browser.problems(), [])


PAYLOAD = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


def poison(results):
    """Puts the payload into every string a results file carries from a server, a test,
    a conf or a node."""
    r = copy.deepcopy(results)
    for key in ("title", "description", "label", "url", "test", "function", "test_file", "conf_file", "host"):
        r["run"][key] = PAYLOAD
    r["run"]["command_line"].append(PAYLOAD)
    r["conf"][PAYLOAD] = {PAYLOAD: PAYLOAD}
    for cycle in r["cycles"]:
        for page in cycle["pages"]:
            page["key"] = PAYLOAD + page["key"]
        for request in cycle["requests"]:
            request["page"] = PAYLOAD + request["page"]
            request["url"] = request["url"] + "?q=" + PAYLOAD
            request["method"] = PAYLOAD
        cycle["errors"].append({
            "kind": "assertion", "verdict": "failure", "page": PAYLOAD, "request": PAYLOAD, "status": 200,
            "message": "response body: " + PAYLOAD, "count": 1,
            "first_epoch_us": cycle["window_start_epoch_us"], "last_epoch_us": cycle["window_start_epoch_us"],
            "examples": [{"message": PAYLOAD, "location": PAYLOAD}]})
    r["nodes"] = [{"node_num": 0, "host": PAYLOAD, "label": PAYLOAD, "status": "complete", "clock_offset_us": 0,
                   "start_skew_us": 0, "requests": 1, "errors": 0, "message": PAYLOAD}]
    t_us = r["cycles"][0]["window_start_epoch_us"]
    r["monitor"] = {"hosts": [{"name": PAYLOAD, "description": PAYLOAD, "source": PAYLOAD, "address": PAYLOAD,
                               "interval_s": 1, "interfaces": [PAYLOAD], "clock_offset_us": 0,
                               "points": [{"t_us": t_us + 500_000, "interval_us": 1_000_000,
                                           "cpu": {"user": 0.1, "system": 0.1, "iowait": 0, "steal": 0, "idle": 0.8},
                                           "tcp": {PAYLOAD: 1}}],
                               "gaps": [{"from_us": t_us + 600_000, "to_us": t_us + 3_000_000, "reason": PAYLOAD}]}],
                    "warnings": [PAYLOAD]}
    return r


class Escaping(BrowserTestCase):
    def test_script_in_body_url_description_and_names_stays_text(self):
        demo = self.start(DemoServer(threads=1))
        results = read_json(bench(os.path.join(self.out, "run"), demo.url, cycles="1", duration="1"))
        poisoned = os.path.join(self.out, "poisoned.json")
        with open(poisoned, "w") as f:
            json.dump(poison(results), f)
        run(["report", "--html", poisoned, "-o", os.path.join(self.out, "html")], check=0)
        self.browser.open(os.path.join(self.out, "html", "index.html"))
        self.browser.evaluate(CHART_CHECK)
        self.assertIsNone(self.browser.evaluate("window.__xss === undefined ? null : window.__xss"))
        # Only the report's own three scripts; no injected element anywhere.
        self.assertEqual(self.browser.evaluate("document.scripts.length"), 3)
        self.assertEqual(self.browser.evaluate("document.querySelectorAll('img').length"), 0)
        self.assertEqual(self.browser.evaluate("document.querySelector('h1').textContent"), PAYLOAD)
        self.assertIn(PAYLOAD, self.browser.evaluate("document.getElementById('description') ? '' : "
                                                     "document.querySelector('.description').textContent"))
        self.assertIn("response body: " + PAYLOAD,
                      self.browser.evaluate("document.getElementById('error-groups').textContent"))
        self.assertIn(PAYLOAD, self.browser.evaluate("document.getElementById('nodes-table').textContent"))
        self.assertEqual(self.browser.problems(), [])
        self.browser.screenshot(os.path.join(self.out, "escaped.png"))


if __name__ == "__main__":
    unittest.main()
