"""Diff and trend reports of real runs: text on stdout, and HTML opened in headless
Chromium (no console errors, every chart drawn, the numbers of both results files,
warnings when runs are not comparable), with screenshots in the test's output folder."""

import os
import shutil
import unittest

from harness import OUT_DIR, DemoServer, read_json, run
from test_report_html import (BrowserTestCase, bench, histogram_percentile, merged_histogram, ms, table_rows,
                              three_digits)


def pages_per_second(cycle):
    return sum(p["ok"] for p in cycle["pages"]) / cycle["window_s"]


def signed_percent(a, b):
    value = (b - a) / abs(a) * 100.0  # in the order the report computes it
    text = f"{value:.1f} %"
    return "+" + text if value > 0 else text


class DiffAndTrend(BrowserTestCase):
    @classmethod
    def setUpClass(cls):
        """Three real runs shared by the tests: A and B alike, C with other cycles."""
        cls.runs = os.path.join(OUT_DIR, "DiffAndTrend-runs")
        shutil.rmtree(cls.runs, ignore_errors=True)
        demo = DemoServer(threads=2)
        try:
            cls.a, cls.b, cls.c = (os.path.join(cls.runs, name) for name in "ABC")
            bench(cls.a, demo.url, cycles="2:4", duration="2")
            bench(cls.b, demo.url, cycles="2:4", duration="2")
            bench(cls.c, demo.url, cycles="3:4", duration="1")
        finally:
            demo.stop()

    def test_text_diff_shows_both_runs_changes(self):
        proc = run(["report", "--diff", self.a, self.b], check=0)
        self.assertIn("Diff of two runs", proc.stdout)
        self.assertNotIn("WARNING", proc.stdout)
        a, b = read_json(os.path.join(self.a, "results.json")), read_json(os.path.join(self.b, "results.json"))
        for ca, cb in zip(a["cycles"], b["cycles"]):
            rate_a, rate_b = pages_per_second(ca), pages_per_second(cb)
            self.assertRegex(proc.stdout, rf"Pages/s\s+{three_digits(rate_a)}\s+{three_digits(rate_b)}\s")

    def test_text_diff_warns_when_cycles_or_duration_differ(self):
        proc = run(["report", "--diff", self.a, self.c], check=0)
        self.assertIn("WARNING: The runs ran different cycles: A 2:4 users, B 3:4 users.", proc.stdout)
        self.assertIn("WARNING: The cycles lasted differently: A 2 s, B 1 s.", proc.stdout)

    def test_html_diff_renders_numbers_colours_and_warnings(self):
        out = os.path.join(self.out, "diff")
        proc = run(["report", "--diff", self.a, self.c, "--html", "-o", out], check=0)
        index = os.path.join(out, "index.html")
        self.assertIn(index, proc.stdout)
        self.assert_renders_cleanly(index, "diff.png")
        warnings = self.browser.evaluate("document.getElementById('diff-warnings').textContent")
        self.assertIn("different cycles", warnings)
        self.assertIn("lasted differently", warnings)
        # Users 4 ran in both: its p95 row holds both runs' values and the change.
        a, c = read_json(os.path.join(self.a, "results.json")), read_json(os.path.join(self.c, "results.json"))
        ca = next(cy for cy in a["cycles"] if cy["cvus"] == 4)
        cc = next(cy for cy in c["cycles"] if cy["cvus"] == 4)
        p95_a = histogram_percentile(merged_histogram(ca["pages"]), 95)
        p95_c = histogram_percentile(merged_histogram(cc["pages"]), 95)
        row = table_rows(self.browser, '#diff-summary tr[data-users="4"][data-metric="p95"]')[0]
        self.assertEqual(row[2:4], [ms(p95_a), ms(p95_c)])
        self.assertEqual(row[5], signed_percent(p95_a / 1000, p95_c / 1000))
        colour = self.browser.evaluate(
            "document.querySelector('#diff-summary tr[data-users=\"4\"][data-metric=\"p95\"] td:last-child').className")
        change = (p95_c - p95_a) / p95_a
        self.assertEqual(colour, "same" if abs(change) < 0.02 else ("worse" if change > 0 else "better"))
        # Users 2 ran only in A, 3 only in C.
        self.assertEqual(table_rows(self.browser, '#diff-summary tr[data-users="2"][data-metric="p95"]')[0][3], "–")
        self.assertEqual(table_rows(self.browser, '#diff-summary tr[data-users="3"][data-metric="p95"]')[0][2], "–")

    def test_trend_text_and_html(self):
        proc = run(["report", "--trend", self.c, self.a, self.b], check=0)
        self.assertIn("Trend of 3 runs", proc.stdout)
        # By start time, whatever the order given.
        order = [line.split()[1].rstrip(",") for line in proc.stdout.splitlines() if line[:1].isdigit()]
        self.assertEqual(order, [self.a, self.b, self.c])
        out = os.path.join(self.out, "trend")
        run(["report", "--trend", self.c, self.a, self.b, "--html", "-o", out], check=0)
        self.assert_renders_cleanly(os.path.join(out, "index.html"), "trend.png")
        rows = table_rows(self.browser, "#trend-table tbody tr")
        self.assertEqual(len(rows), 6)
        b = read_json(os.path.join(self.b, "results.json"))
        b_rows = table_rows(self.browser, '#trend-table tr[data-run="1"]')
        for row, cycle in zip(b_rows, b["cycles"]):
            self.assertEqual(row[4], str(cycle["cvus"]))
            self.assertEqual(row[5], three_digits(pages_per_second(cycle)))
            self.assertEqual(row[9], ms(histogram_percentile(merged_histogram(cycle["pages"]), 95)))
        series = self.browser.evaluate(
            "window.bmReport.data.charts.c0.series.map(s => [s.label, s.data.map(v => v !== null)])")
        self.assertEqual(series, [["2 users", [True, True, False]], ["3 users", [False, False, True]],
                                  ["4 users", [True, True, True]]])


if __name__ == "__main__":
    unittest.main()
