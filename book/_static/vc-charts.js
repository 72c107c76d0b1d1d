/* vc-charts.js: draw valuechain_lib figures with the vendored vega-embed (vega/vega-bundle.js). No network. */
(function (w, d) {
  "use strict";
  function fail(el, err) {
    el.setAttribute("data-vc-state", "error");
    el.textContent = "The chart could not be drawn; the data can be downloaded below.";
    if (w.console) console.error("vc-charts:", el.id, err);
  }
  function draw(el, last) {
    if (!el || el.getAttribute("data-vc-state")) return;
    var s = d.getElementById(el.getAttribute("data-spec-id"));
    if (!s) return; // spec not parsed yet: drawn on a later call
    if (typeof w.vegaEmbed !== "function") { // bundle not run yet: retry; give up after window load
      if (last) fail(el, "vegaEmbed missing: is vega/vega-bundle.js loaded?");
      return;
    }
    el.setAttribute("data-vc-state", "drawing");
    var spec;
    try { spec = JSON.parse(s.textContent); } catch (e) { return fail(el, e); }
    w.vegaEmbed(el, spec, { renderer: "svg", actions: false }).then(function () {
      el.setAttribute("data-vc-state", "done");
    }, function (e) { fail(el, e); });
  }
  function run(last) {
    last = last === true;
    var q = w.vcChartQueue = w.vcChartQueue || [];
    while (q.length) draw(d.getElementById(q.shift()), last);
    var all = d.querySelectorAll("div.vc-chart[data-spec-id]");
    for (var i = 0; i < all.length; i++) draw(all[i], last);
  }
  w.vcRenderCharts = run;
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", run);
  if (d.readyState !== "complete") w.addEventListener("load", function () { run(true); });
  run();
})(window, document);
