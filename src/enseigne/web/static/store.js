// enseigne: the store page's charts (trend with N-1, revenue waterfall), drawn with Plotly
// from the page's JSON block; changing the trend's step fetches that step from the API.
"use strict";

(function () {
  const block = document.getElementById("store-data");
  if (!block || !window.Plotly) return;
  const data = JSON.parse(block.textContent);
  const lang = data.lang === "en" ? "en" : "fr";
  const locale = lang === "en" ? "en-US" : "fr-FR";
  // Plotly's number format: decimal mark then thousands separator, as Babel writes them.
  const separators = lang === "en" ? ".," : ",\u202f";
  const config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  const colours = { current: "#0b5cad", n1: "#5a6474", up: "#1b7f3b", down: "#a4262c", total: "#1d2430" };

  /** A d3 format for a KPI unit (Plotly hover and axis labels). */
  function numberFormat(unit) {
    switch (unit) {
      case "eur": return lang === "en" ? "€%{y:,.2f}" : "%{y:,.2f}\u00a0€";
      case "pct": return "%{y:.1%}";
      case "ratio": return "%{y:.2f}";
      case "points": return "%{y:.1f}";
      default: return "%{y:,.0f}";
    }
  }

  function axisFormat(unit) {
    return { pct: ".0%", ratio: ".2f", eur: ",.0f", points: ".0f" }[unit] || ",.0f";
  }

  function formatDay(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(locale, { timeZone: "UTC" });
  }

  function bucketLabel(bucket, step) {
    return step === "day" ? formatDay(bucket.start) : bucket.label;
  }

  function span(start, end) {
    return start === end ? formatDay(start) : `${formatDay(start)} – ${formatDay(end)}`;
  }

  // ---- trend ---------------------------------------------------------------------------
  const chart = document.getElementById("trend-chart");
  const kpiSelect = document.getElementById("trend-kpi");
  const error = document.getElementById("trend-error");
  const trends = { [data.trend.step]: data.trend };
  let trend = data.trend;

  function drawTrend() {
    const kpi = kpiSelect.value;
    const info = data.kpis[kpi];
    const series = trend.series[kpi];
    const x = trend.buckets.map((b) => bucketLabel(b, trend.step));
    const format = numberFormat(info.unit);
    const traces = [
      {
        name: data.texts.current, x, y: series.value, type: "scatter", mode: "lines+markers",
        line: { color: colours.current, width: 2 }, marker: { size: 4 },
        customdata: trend.buckets.map((b) => span(b.start, b.end)),
        hovertemplate: `%{customdata}<br>${format}<extra>${data.texts.current}</extra>`,
      },
      {
        name: data.texts.n1, x, y: series.n1, type: "scatter", mode: "lines",
        line: { color: colours.n1, width: 2, dash: "dash" },
        customdata: trend.buckets.map((b) => span(b.n1_start, b.n1_end)),
        hovertemplate: `%{customdata}<br>${format}<extra>${data.texts.n1}</extra>`,
      },
    ];
    const layout = {
      separators, margin: { t: 30, r: 20, b: 60, l: 70 }, hovermode: "x unified",
      legend: { orientation: "h", y: 1.12 },
      xaxis: { type: "category", tickangle: -45, automargin: true },
      yaxis: { title: { text: info.label[lang] }, tickformat: axisFormat(info.unit), rangemode: "tozero" },
    };
    window.Plotly.react(chart, traces, layout, config);
    chart.dataset.step = trend.step;
    chart.dataset.kpi = kpi;
  }

  async function setStep(step) {
    error.hidden = true;
    try {
      if (!trends[step]) {
        const query = new URLSearchParams({ step, period: data.period });
        trends[step] = await window.enseigne.getJSON(`${data.trend_url}?${query}`);
      }
      trend = trends[step];
      drawTrend();
    } catch (problem) {
      error.hidden = false;
      throw problem;
    }
  }

  kpiSelect.addEventListener("change", drawTrend);
  document.querySelectorAll('input[name="trend-step"]').forEach((radio) => {
    radio.addEventListener("change", () => { if (radio.checked) setStep(radio.value); });
  });
  drawTrend();

  // ---- revenue waterfall: N-1 revenue, each factor's contribution, the residual, N -------
  const treeChart = document.getElementById("tree-chart");
  const tree = data.tree;
  if (treeChart && tree.decomposable) {
    const labels = [data.texts.tree_n1];
    const values = [tree.total.n1];
    const measures = ["absolute"];
    tree.factors.forEach((f) => {
      labels.push(data.kpis[f.factor].label[lang]);
      values.push(f.contribution);
      measures.push("relative");
    });
    if (tree.residual) {
      labels.push(data.texts.residual);
      values.push(tree.residual.change);
      measures.push("relative");
    }
    labels.push(data.texts.tree_value);
    values.push(null);
    measures.push("total");
    const money = numberFormat("eur");
    window.Plotly.react(treeChart, [{
      type: "waterfall", x: labels, y: values, measure: measures, orientation: "v",
      increasing: { marker: { color: colours.up } },
      decreasing: { marker: { color: colours.down } },
      totals: { marker: { color: colours.total } },
      connector: { line: { color: "#d5dae2" } },
      hovertemplate: `%{x}<br>${money}<extra></extra>`,
    }], {
      separators, showlegend: false, margin: { t: 20, r: 20, b: 80, l: 80 },
      xaxis: { type: "category", automargin: true },
      yaxis: { tickformat: ",.0f" },
    }, config);
  }
})();
