// steadyml dashboard: draw the page's Plotly figures, then refresh them by polling
// the page's JSON twin (/api/...), without a full reload. No dependencies but plotly.js.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-live");
  var every = parseFloat(body.getAttribute("data-refresh") || "0") * 1000;
  var config = { displaylogo: false, responsive: true };

  function draw(figures) {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var figure = figures[el.getAttribute("data-figure")];
      if (figure) { Plotly.react(el, figure.data, figure.layout, config); }
    });
  }

  function initial() {
    var holder = document.querySelector("script.figures");
    draw(holder ? JSON.parse(holder.textContent || "{}") : {});
  }

  function busy() {
    var active = document.activeElement;
    return document.hidden || (active && /INPUT|SELECT|TEXTAREA/.test(active.tagName) && active.value);
  }

  function poll() {
    if (busy()) { return; }
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (page) {
        document.getElementById("content").innerHTML = page.html;
        draw(page.figures);
        document.getElementById("live").className = "live";
        document.getElementById("live").textContent = "live · " + new Date().toLocaleTimeString();
      })
      .catch(function () { document.getElementById("live").className = "live stale"; });
  }

  initial();
  if (every > 0 && url) { window.setInterval(poll, every); }
})();
