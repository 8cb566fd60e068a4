/* riskmon console charts: small inline-SVG line and stacked-bar charts.
 *
 * Why our own: the console must work with no network at run time and no
 * build step, and it needs only two chart kinds over at most a few hundred
 * points. Text goes in with textContent, never as markup.
 *
 *   RiskCharts.line(el, {t, step, series: [{key, label, color, values, dash}], thresholds: [{value, color, label}],
 *                        include: [values the y axis must show], floor, ceil, format, empty, note})
 *   RiskCharts.bars(el, {t, step, series: [{key, label, color, values}], format, empty})
 *
 * `el` is a <figure> holding an <svg> and a .legend; `t` are epoch seconds.
 * Every drawn mark carries data-series="<key>", so tests can find it.
 */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var HEIGHT = 168, PAD = {left: 44, right: 10, top: 10, bottom: 22}, MIN_SPAN = 120;

  function node(name, attrs, parent) {
    var el = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(el);
    return el;
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function niceStep(span, count) {
    var raw = span / Math.max(1, count), mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    var norm = raw / mag;
    return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  }

  var TIME_STEPS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

  function timeLabel(t, seconds) {
    var d = new Date(t * 1000), two = function (n) { return String(n).padStart(2, "0"); };
    return two(d.getHours()) + ":" + two(d.getMinutes()) + (seconds ? ":" + two(d.getSeconds()) : "");
  }

  function frame(el, opts, yLo, yHi) {
    var svg = el.querySelector("svg");
    clear(svg);
    var width = Math.max(200, Math.floor(svg.getBoundingClientRect().width || el.clientWidth || 320));
    svg.setAttribute("viewBox", "0 0 " + width + " " + HEIGHT);
    svg.setAttribute("height", HEIGHT);
    var t = opts.t || [];
    var t0 = t.length ? t[0] : 0, t1 = t.length ? t[t.length - 1] : 1;
    t0 = Math.min(t0, t1 - MIN_SPAN);  // at least two minutes, so early points sit at the right, at "now"
    var plotW = width - PAD.left - PAD.right, plotH = HEIGHT - PAD.top - PAD.bottom;
    var x = function (v) { return PAD.left + (v - t0) / (t1 - t0) * plotW; };
    var y = function (v) { return PAD.top + (1 - (v - yLo) / (yHi - yLo)) * plotH; };
    var grid = node("g", {"class": "grid"}, svg);
    var step = niceStep(yHi - yLo, 4);
    for (var v = Math.ceil(yLo / step) * step; v <= yHi + 1e-12; v += step) {
      node("line", {x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v)}, grid);
      node("text", {x: PAD.left - 4, y: y(v) + 4, "text-anchor": "end"}, grid).textContent = (opts.format || String)(v);
    }
    var tStep = TIME_STEPS.filter(function (s) { return (t1 - t0) / s <= 4; })[0] || 14400;
    for (var s = Math.ceil(t0 / tStep) * tStep; s <= t1; s += tStep) {
      node("text", {x: x(s), y: HEIGHT - 6, "text-anchor": "middle"}, grid).textContent = timeLabel(s, tStep < 60);
    }
    node("line", {x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: PAD.top + plotH, "class": "axis"}, svg);
    node("line", {x1: PAD.left, x2: width - PAD.right, y1: PAD.top + plotH, y2: PAD.top + plotH, "class": "axis"}, svg);
    return {svg: svg, x: x, y: y, width: width, plotW: plotW, plotH: plotH, t0: t0, t1: t1};
  }

  function legend(el, items, note) {
    var box = el.querySelector(".legend");
    clear(box);
    items.forEach(function (it) {
      var span = document.createElement("span");
      var swatch = document.createElement("i");
      swatch.style.background = it.color;
      if (it.dash) swatch.className = "dash";
      span.appendChild(swatch);
      span.appendChild(document.createTextNode(it.label));
      box.appendChild(span);
    });
    if (note) {
      var em = document.createElement("em");
      em.textContent = note;
      box.appendChild(em);
    }
  }

  function extent(values, extra) {
    var lo = Infinity, hi = -Infinity;
    values.concat(extra).forEach(function (v) {
      if (v !== null && v !== undefined && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    });
    return [lo, hi];
  }

  function line(el, opts) {
    var all = [];
    opts.series.forEach(function (s) { all = all.concat(s.values || []); });
    var th = (opts.thresholds || []).map(function (h) { return h.value; });
    var hasData = all.some(function (v) { return v !== null && v !== undefined && isFinite(v); });
    var ex = extent(all, th.concat(opts.include || []));
    var lo = ex[0], hi = ex[1];
    if (lo === Infinity) { lo = 0; hi = 1; }
    if (hi - lo < 1e-9) { var half = Math.abs(hi) * 0.1 || 0.1; lo -= half; hi += half; }
    var pad = (hi - lo) * 0.08;
    lo -= pad; hi += pad;
    if (opts.floor !== undefined) lo = Math.max(lo, opts.floor);
    if (opts.ceil !== undefined) hi = Math.min(hi, opts.ceil);
    var f = frame(el, opts, lo, hi);
    (opts.thresholds || []).forEach(function (h) {
      var g = node("g", {"class": "threshold"}, f.svg);
      node("line", {x1: PAD.left, x2: f.width - PAD.right, y1: f.y(h.value), y2: f.y(h.value), stroke: h.color}, g);
      node("text", {x: f.width - PAD.right - 2, y: f.y(h.value) - 3, "text-anchor": "end", fill: h.color}, g).textContent = h.label;
    });
    opts.series.forEach(function (s) {
      var d = "", pen = false, lastPoint = null, points = 0;
      (s.values || []).forEach(function (v, i) {
        if (v === null || v === undefined || !isFinite(v)) { pen = false; return; }
        d += (pen ? "L" : "M") + f.x(opts.t[i]).toFixed(1) + " " + f.y(v).toFixed(1);
        pen = true; lastPoint = [opts.t[i], v]; points += 1;
      });
      if (d) node("path", {d: d, stroke: s.color, "class": "line" + (s.dash ? " dash" : ""), "data-series": s.key}, f.svg);
      if (lastPoint) {
        node("circle", {cx: f.x(lastPoint[0]), cy: f.y(lastPoint[1]), r: points === 1 ? 3.5 : 2.5, fill: s.color,
                        "data-series": s.key}, f.svg);
      }
    });
    if (!hasData) {
      node("text", {x: PAD.left + f.plotW / 2, y: PAD.top + f.plotH / 2, "text-anchor": "middle", "class": "nodata"}, f.svg)
        .textContent = opts.empty || "no data yet";
    }
    legend(el, opts.series, hasData ? opts.note : null);
  }

  function bars(el, opts) {
    var t = opts.t || [], totals = t.map(function (_, i) {
      return opts.series.reduce(function (sum, s) { return sum + (s.values[i] || 0); }, 0);
    });
    var hi = Math.max(1, Math.max.apply(null, totals.concat([0])));
    var f = frame(el, opts, 0, hi * 1.1);
    var step = opts.step || 10, bw = Math.max(1.5, Math.min(18, f.plotW * step / (f.t1 - f.t0 + step) * 0.8));
    t.forEach(function (ti, i) {
      var base = 0;
      opts.series.forEach(function (s) {
        var v = s.values[i] || 0;
        if (!v) return;
        var top = f.y(base + v), bottom = f.y(base);
        var rect = node("rect", {x: f.x(ti) - bw / 2, y: top, width: bw, height: Math.max(1, bottom - top), fill: s.color,
                                 "data-series": s.key}, f.svg);
        node("title", {}, rect).textContent = timeLabel(ti, true) + " " + s.label + ": " + v;
        base += v;
      });
    });
    if (!totals.some(function (v) { return v > 0; })) {
      node("text", {x: PAD.left + f.plotW / 2, y: PAD.top + f.plotH / 2, "text-anchor": "middle", "class": "nodata"}, f.svg)
        .textContent = opts.empty || "none";
    }
    legend(el, opts.series, null);
  }

  window.RiskCharts = {line: line, bars: bars};
})();
