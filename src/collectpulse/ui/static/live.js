// Progressive enhancement of the live page: the server renders every number; this
// script keeps them current (Server-Sent Events from api/live/events), draws the
// per-minute charts with the vendored uPlot, and applies the filters without a reload.
"use strict";

(function () {
  const live = document.getElementById("live");
  if (!live) return;

  // The struggling-customers page: re-fetch its list every few seconds.
  if (live.dataset.refresh) {
    setInterval(async () => {
      const response = await fetch(live.dataset.refresh, { headers: { Accept: "text/html" } });
      if (response.ok) live.innerHTML = await response.text();
    }, 3000);
    return;
  }

  const form = document.getElementById("filters");
  const chartsBox = document.getElementById("charts");
  const charts = [];
  let source = null;

  function drawCharts(series) {
    if (typeof uPlot === "undefined" || !chartsBox) return;
    const xs = series.starts;
    if (charts.length !== series.lines.length) {
      charts.splice(0).forEach((c) => c.destroy());
      chartsBox.textContent = "";
      for (const line of series.lines) {
        const figure = document.createElement("figure");
        const caption = document.createElement("figcaption");
        caption.textContent = line.title + " per minute";
        figure.append(caption);
        chartsBox.append(figure);
        const opts = {
          width: 300,
          height: 120,
          legend: { show: false },
          series: [{}, { label: line.title, stroke: "#2563eb", fill: "rgba(37,99,235,0.1)" }],
          axes: [{ space: 60 }, { size: 40 }],
        };
        charts.push(new uPlot(opts, [xs, line.points], figure));
      }
      return;
    }
    series.lines.forEach((line, i) => charts[i].setData([xs, line.points]));
  }

  function query() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) params.set(name, String(value));
    return params.toString();
  }

  function listen() {
    if (source) source.close();
    source = new EventSource("api/live/events?" + query());
    source.addEventListener("model", (event) => {
      const data = JSON.parse(event.data);
      live.innerHTML = data.html;
      drawCharts(data.series);
      document.body.dataset.asOf = event.lastEventId;
      document.body.dataset.stale = "";
    });
    source.addEventListener("unavailable", () => {
      document.body.dataset.stale = "store unavailable";
    });
  }

  if (chartsBox && chartsBox.dataset.series) drawCharts(JSON.parse(chartsBox.dataset.series));
  if (form) {
    form.addEventListener("change", () => {
      history.replaceState(null, "", "?" + query());
      listen();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      history.replaceState(null, "", "?" + query());
      listen();
    });
  }
  if (window.EventSource) listen();
})();
