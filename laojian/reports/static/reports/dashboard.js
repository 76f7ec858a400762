// Draws the dashboard's charts with ECharts (served from our own host) from the JSON the page
// embeds; each chart has ECharts' own "save as image" button. No inline code: the CSP forbids it.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var saveTitle = data.save_as_image;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var fig = data.figures[el.dataset.chart];
      if (!fig) { return; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      var toolbox = { feature: { saveAsImage: { title: saveTitle, name: fig.title, pixelRatio: 2 } } };
      var option;
      if (el.dataset.kind === "pie") {
        option = {
          tooltip: { trigger: "item" }, toolbox: toolbox,
          series: [{ type: "pie", radius: ["35%", "65%"],
                     data: fig.labels.map(function (label, i) { return { name: label, value: fig.values[i] }; })
                       .filter(function (d) { return d.value > 0; }) }]
        };
      } else {
        option = {
          tooltip: { trigger: "axis" }, toolbox: toolbox, grid: { left: 40, right: 16, top: 32, bottom: 72 },
          xAxis: { type: "category", data: fig.labels, axisLabel: { interval: 0, rotate: 30 } },
          yAxis: { type: "value", minInterval: 1 },
          series: [{ type: "bar", data: fig.values, itemStyle: { color: "#1f5fa8" } }]
        };
      }
      chart.setOption(option);
      el.dataset.drawn = "true";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
