/* vc-charts.js: draws valuechain_lib figures from their compiled Vega (script.vc-vega, rows shared with the
   Vega-Lite spec script.vc-spec) with the book's Vega runtime (vega/vega-runtime.js); no network. */
(function (w, d) {
  "use strict";
  function fail(el, err) {
    el.setAttribute("data-vc-state", "error");
    el.textContent = "The chart could not be drawn; the data can be downloaded below.";
    console.error("vc-charts:", el.id, err);
  }
  function wrap(t, k, n) { // re-wrap title lines to ~n characters (narrow screens)
    var out = [], line = "";
    [].concat(t[k] || []).join(" ").split(/\s+/).forEach(function (x) {
      if (line && (line + " " + x).length > n) { out.push(line); line = x; } else line = line ? line + " " + x : x;
    });
    if (line) t[k] = out.concat(line);
  }
  function draw(el, last) { // a promise that settles when the chart is drawn (or cannot be)
    if (!el || el.getAttribute("data-vc-state")) return null;
    var id = el.getAttribute("data-spec-id"), s = d.getElementById(id), c = d.getElementById(id.replace("vc-spec-", "vc-vega-")),
        rt = w.vegaRuntime, vl, vg, t, px = el.clientWidth;
    if (!s || !c || !rt) { if (last) fail(el, "spec or vega-runtime.js missing"); return null; }
    el.setAttribute("data-vc-state", "drawing");
    try {
      vl = JSON.parse(s.textContent); vg = JSON.parse(c.textContent);
      (vg.data || []).forEach(function (x) {
        if (!x.values && !x.source && !x.url && vl.datasets && vl.datasets[x.name]) x.values = vl.datasets[x.name];
      });
      t = vg.title;
      if (t && typeof t === "object" && px && px < 680) { wrap(t, "text", px / 10.5); wrap(t, "subtitle", px / 7.4); }
      el.classList.add("vega-embed");
      el.innerHTML = "";
      return new rt.View(rt.parse(vg, {}), { renderer: "svg", logLevel: 2 }).tooltip(new rt.Handler().call)
        .initialize(el).runAsync().then(function () { el.setAttribute("data-vc-state", "done"); },
                                        function (e) { fail(el, e); });
    } catch (e) { fail(el, e); return null; }
  }
  var busy = false;
  function run(last) { // one chart at a time, in page order, so the first is drawn before the rest are built
    last = last === true;
    if (busy) return;
    var q = w.vcChartQueue = w.vcChartQueue || [], all = [].slice.call(d.querySelectorAll("div.vc-chart[data-spec-id]"));
    (function next() {
      var el, p = null;
      while (!p && (q.length || all.length)) { el = q.length ? d.getElementById(q.shift()) : all.shift(); p = draw(el, last); }
      if (p) { busy = true; p.then(function () { busy = false; next(); }); } else busy = false;
    })();
  }
  w.vcRenderCharts = run;
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", run);
  if (d.readyState !== "complete") w.addEventListener("load", function () { run(true); });
  run();
})(window, document);
