/* benchmaster HTML reports: draws each chart placeholder (<div data-chart="id">) with
   uPlot from the specs in the page's JSON block, lazily as it scrolls into view, and
   makes tables marked "sortable" sortable. Every number is also in the server-rendered
   tables; this script only adds pictures. */
(function () {
  'use strict';

  var source = document.getElementById('bm-data');
  var data = source ? JSON.parse(source.textContent) : {};
  var specs = data.charts || {};
  var columns = data.columns || {};
  var charts = {};

  // Dash patterns (CSS pixels), as html_page.cpp's dash_pattern writes them.
  var DASHED = [7, 4], DOTTED = [2, 3], DASH_DOT = [9, 3, 2, 3];

  // The two charts of every page and request against concurrency, built from one set of
  // columns the report shares between them ({"view": "rate", "columns": "s3"}). One unit
  // per chart: lines meet only where their numbers do, and each has its own dash so that
  // lines with equal numbers still both show. Open-model runs name their x axis (the
  // rate asked) and add the service times' p95 and p99 to the times view.
  var VIEWS = {
    rate: function (c) {
      return {
        xlabel: c.xlabel || 'Concurrent users', ylabel: 'per second', x: c.x, cats: c.cats, points: true, span: true,
        series: [
          { label: 'Successful/s', color: '#2563eb', fill: true, data: c.ok },
          { label: 'Failed/s', color: '#dc2626', dash: DASHED, data: c.failed }
        ]
      };
    },
    times: function (c) {
      return {
        xlabel: c.xlabel || 'Concurrent users', ylabel: 'ms', x: c.x, cats: c.cats, points: true, span: true,
        series: [
          { label: 'p50', color: '#16a34a', data: c.p50 },
          { label: 'p90', color: '#d97706', dash: DASHED, data: c.p90 },
          { label: 'p95', color: '#dc2626', data: c.p95 },
          { label: 'p99', color: '#7c3aed', dash: DASHED, data: c.p99 },
          { label: 'p99.9', color: '#db2777', dash: DOTTED, data: c.p999 },
          { label: 'mean', color: '#64748b', dash: DASH_DOT, data: c.mean },
          { label: 'service p95', color: '#dc2626', dash: DOTTED, data: c.svc95 },
          { label: 'service p99', color: '#7c3aed', dash: DASH_DOT, data: c.svc99 }
        ].filter(function (s) { return s.data; })
      };
    }
  };

  function specFor(id) {
    var spec = specs[id];
    if (spec && spec.view) spec = specs[id] = VIEWS[spec.view](columns[spec.columns]);
    return spec;
  }
  var FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  var GRID = '#eef2f7';
  var AXIS = '#64748b';

  function formatNumber(v) {
    if (v == null || !isFinite(v)) return '–';
    var a = Math.abs(v);
    if (a === 0) return '0';
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + 'k';
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return String(parseFloat(v.toPrecision(2)));  // 0.002, not 0.0020
  }

  function withAlpha(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16 & 255) + ',' + (n >> 8 & 255) + ',' + (n & 255) + ',' + alpha + ')';
  }

  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  var TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    172800, 604800, 2592000, 31536000];
  var WHOLE_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000];
  function dateUtc(seconds) {
    var d = new Date(seconds * 1000);
    return d.getUTCFullYear() + '-' + pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate()) + ' ' +
      pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes());
  }
  function clockUtc(seconds) {
    var d = new Date(seconds * 1000);
    return pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()) + ':' + pad2(d.getUTCSeconds());
  }

  // Shaded x ranges drawn under the series: cycle windows, labelled at the top; alert
  // ranges (band[3] true, e.g. a saturated generator) in red, labelled at the bottom.
  function bandsPlugin(bands) {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
          var left = u.bbox.left, right = u.bbox.left + u.bbox.width;
          var ratio = window.devicePixelRatio || 1;
          ctx.save();
          ctx.font = (11 * ratio) + 'px system-ui, sans-serif';
          ctx.textBaseline = 'top';
          bands.forEach(function (band, i) {
            var x0 = Math.max(left, u.valToPos(band[0], 'x', true));
            var x1 = Math.min(right, u.valToPos(band[1], 'x', true));
            if (!(x1 > x0)) return;
            var alert = band[3] === true;
            ctx.fillStyle = alert ? 'rgba(220,38,38,0.16)' : i % 2 ? 'rgba(79,70,229,0.06)' : 'rgba(79,70,229,0.11)';
            ctx.fillRect(x0, top, x1 - x0, height);
            ctx.fillStyle = alert ? 'rgba(185,28,28,0.9)' : 'rgba(67,56,202,0.85)';
            var y = alert ? top + height - 16 * ratio : top + 4 * ratio;
            if (ctx.measureText(band[2]).width < x1 - x0 - 6 * ratio) ctx.fillText(band[2], x0 + 4 * ratio, y);
          });
          ctx.restore();
        }]
      }
    };
  }

  // Every chart has a y axis of the same size on the left and an empty gutter of the
  // same size on the right, so stacked charts of one width have the same plot area and
  // their time axes line up.
  var LEFT_AXIS = 58, RIGHT_GUTTER = 36, LABEL = 22;

  function axisRange(spec) {
    return function (u, min, max) {
      if (spec.ymax != null) return [0, Math.max(spec.ymax, max || 0) * 1.04];
      if (max == null || !isFinite(max) || max <= 0) return [0, 1];
      return [0, max * 1.08];
    };
  }

  // The distribution chart's x: 1 / (1 - p), labelled with the percentile p.
  function percentLabel(x) {
    if (x == null || !isFinite(x) || x < 1) return '';
    var p = 100 - 100 / x;
    var text = p < 0.00005 ? '0' : p.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
    return text + ' %';
  }

  function scaled(dash) {
    var ratio = window.devicePixelRatio || 1;
    return dash && dash.length ? dash.map(function (d) { return d * ratio; }) : undefined;
  }

  function options(spec, width) {
    var cats = spec.cats, pct = spec.pct;
    var series = [{
      label: spec.xlabel,
      value: function (u, v, si, i) {
        if (v == null) return '–';
        if (cats) return cats[v] != null ? cats[v] : '';
        if (pct) return i != null && pct[i] != null ? pct[i] + ' %' : percentLabel(v);
        return spec.time ? (u.scales.x.max - u.scales.x.min < 86400 ? clockUtc(v) : dateUtc(v)) : formatNumber(v);
      }
    }];
    spec.series.forEach(function (s) {
      series.push({
        label: s.label,
        stroke: s.color,
        width: 2,
        scale: 'y',
        dash: scaled(s.dash === true ? DASHED : s.dash),
        fill: s.fill ? withAlpha(s.color, 0.10) : undefined,
        spanGaps: !!spec.span,
        points: { show: !!spec.points, size: 6, fill: s.color, stroke: s.color },
        value: function (u, v) { return formatNumber(v); }
      });
    });
    var xAxis = {
      space: spec.time ? 90 : 50,
      label: spec.xlabel, labelSize: LABEL, font: FONT, labelFont: FONT, stroke: AXIS,
      grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 }
    };
    var scales = { x: { time: !!spec.time }, y: { range: axisRange(spec) } };
    if (cats) {
      xAxis.splits = function () { return cats.map(function (_, i) { return i; }); };
      xAxis.values = function (u, splits) { return splits.map(function (i) { return cats[i] != null ? cats[i] : ''; }); };
      scales.x.range = function () { return [-0.35, cats.length - 0.65]; };
    } else if (pct) {
      var last = spec.x[spec.x.length - 1] || 10;
      scales.x = { time: false, distr: 3, log: 10, range: function () { return [1, last]; } };
      xAxis.space = 40;
      xAxis.splits = function () {
        var splits = [];
        for (var x = 1; x <= last * 1.0001; x *= 10) splits.push(x);
        return splits;
      };
      xAxis.values = function (u, splits) { return splits.map(percentLabel); };
    } else if (spec.time) {
      xAxis.incrs = TIME_STEPS;  // whole seconds: no repeated labels on short runs
      xAxis.values = function (u, splits) {
        var span = u.scales.x.max - u.scales.x.min;
        return splits.map(span < 86400 ? clockUtc : dateUtc);
      };
    } else if (spec.x.length <= 12) {
      xAxis.splits = function () { return spec.x; };  // a tick at each cycle's users
    } else {
      xAxis.incrs = WHOLE_STEPS;
    }
    if (spec.ylog) scales.y = { distr: 3, log: 10 };
    var axes = [xAxis, {
      scale: 'y', label: spec.ylabel || '', labelSize: LABEL, font: FONT, labelFont: FONT, stroke: AXIS,
      size: LEFT_AXIS, grid: { stroke: GRID, width: 1 }, ticks: { show: false },
      values: function (u, splits) { return splits.map(formatNumber); }
    }, {
      scale: 'y', side: 1, size: RIGHT_GUTTER, label: '', labelSize: 0, stroke: AXIS, font: FONT,
      grid: { show: false }, ticks: { show: false },
      values: function (u, splits) { return splits.map(function () { return ''; }); }
    }];
    return {
      // Epoch seconds on a time axis, shown in UTC like the tables.
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
      width: width,
      height: spec.height || 260,
      series: series,
      axes: axes,
      scales: scales,
      cursor: { drag: { x: !cats && !pct, y: false }, points: { size: 7 } },
      legend: {
        live: true,
        markers: {
          dash: function (u, i) {
            var d = u.series[i].dash;
            return d && d.length ? (d[0] <= 3 * (window.devicePixelRatio || 1) ? 'dotted' : 'dashed') : 'solid';
          }
        }
      },
      plugins: spec.bands ? [bandsPlugin(spec.bands)] : []
    };
  }

  function build(el) {
    var id = el.getAttribute('data-chart');
    var spec = specFor(id);
    if (!spec || charts[id]) return;
    el.textContent = '';
    var width = el.clientWidth || 640;
    var columns = [spec.x].concat(spec.series.map(function (s) { return s.data; }));
    var plot = new uPlot(options(spec, width), columns, el);
    charts[id] = { plot: plot, spec: spec, colors: spec.series.map(function (s) { return s.color; }) };
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var w = el.clientWidth;
        if (w > 0 && Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: plot.height });
      }).observe(el);
    }
  }

  var placeholders = Array.prototype.slice.call(document.querySelectorAll('[data-chart]'));

  function renderAll() {
    placeholders.forEach(build);
    return Object.keys(charts).length;
  }

  if ('IntersectionObserver' in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          build(entry.target);
        }
      });
    }, { rootMargin: '400px 0px' });
    placeholders.forEach(function (el) { observer.observe(el); });
  } else {
    renderAll();
  }

  // Printing shows everything: every chart drawn, every folded request open.
  window.addEventListener('beforeprint', function () {
    Array.prototype.forEach.call(document.querySelectorAll('details'), function (d) { d.open = true; });
    renderAll();
  });

  // ---- Sortable tables: click a header; numbers sort as numbers. ----
  function cellValue(row, index) {
    var cell = row.cells[index];
    var text = cell ? cell.textContent.trim() : '';
    var number = parseFloat(text.replace(/[\u202f\s%+]/g, '').replace(/^−/, '-'));
    return isNaN(number) ? text.toLowerCase() : number;
  }

  function sortBy(table, th, index) {
    var body = table.tBodies[0];
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      var order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === 'number' ? -1 : 1);
      return ascending ? order : -order;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.addEventListener('click', function () { sortBy(table, th, index); });
    });
  });

  // For tests and for people at the console: draw everything now, see what was drawn.
  window.bmReport = { renderAll: renderAll, charts: charts, data: data };
})();
