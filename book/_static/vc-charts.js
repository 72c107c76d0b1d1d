/* vc-charts.js: draws valuechain_lib figures with the vendored vega-embed (vega/vega-bundle.js); no network. */
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
  function draw(el, last) {
    if (!el || el.getAttribute("data-vc-state")) return;
    var s = d.getElementById(el.getAttribute("data-spec-id")), spec, t, px = el.clientWidth;
    if (!s) return; // spec not parsed yet
    if (typeof w.vegaEmbed !== "function") { if (last) fail(el, "vegaEmbed missing"); return; }
    el.setAttribute("data-vc-state", "drawing");
    try { spec = JSON.parse(s.textContent); } catch (e) { return fail(el, e); }
    t = spec.title;
    if (t && typeof t === "object" && px && px < 680) { wrap(t, "text", px / 10.5); wrap(t, "subtitle", px / 7.4); }
    w.vegaEmbed(el, spec, { renderer: "svg", actions: false }).then(function () {
      el.setAttribute("data-vc-state", "done");
    }, function (e) { fail(el, e); });
  }
  function run(last) {
    last = last === true;
    var q = w.vcChartQueue = w.vcChartQueue || [], all, i;
    while (q.length) draw(d.getElementById(q.shift()), last);
    all = d.querySelectorAll("div.vc-chart[data-spec-id]");
    for (i = 0; i < all.length; i++) draw(all[i], last);
  }
  w.vcRenderCharts = run;
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", run);
  if (d.readyState !== "complete") w.addEventListener("load", function () { run(true); });
  run();
})(window, document);
