/* The Triage dashboard: draws the data inlined in the page, and, served live, refreshes it. */
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("triage-settings").textContent);
  var data = JSON.parse(document.getElementById("triage-data").textContent);
  var charts = {};
  var palette = ["#58a6ff", "#3fb950", "#d29922", "#f85149", "#bc8cff", "#39c5cf", "#ff7b72", "#a5d6ff"];
  var axis = { axisLine: { lineStyle: { color: "#3b4856" } }, axisLabel: { color: "#8b98a5" },
               splitLine: { lineStyle: { color: "#222c37" } } };

  function el(id) { return document.getElementById(id); }
  function fmt(value, digits) {
    if (value === null || value === undefined) { return "–"; }
    return Number(value).toLocaleString("en", { maximumFractionDigits: digits === undefined ? 0 : digits });
  }
  function pct(value) { return value === null || value === undefined ? "–" : fmt(value * 100, 1) + "%"; }
  function hours(seconds) { return seconds === null || seconds === undefined ? "–" : fmt(seconds / 3600, 1) + " h"; }
  function minutes(seconds) { return seconds === null || seconds === undefined ? "–" : fmt(seconds / 60, 1) + " min"; }
  function text(node, value) { node.textContent = value; return node; }
  function escapeHtml(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  function chart(id, option) {
    var node = el(id);
    var instance = charts[id];
    if (!instance) {
      instance = charts[id] = echarts.init(node, null, { renderer: "svg" });
    }
    option.animation = false;
    option.color = option.color || palette;
    option.textStyle = { color: "#e6edf3" };
    option.grid = Object.assign({ left: 52, right: 20, top: 34, bottom: 30 }, option.grid || {});
    option.tooltip = option.tooltip || { trigger: "axis" };
    if (option.legend) { option.legend = Object.assign({ textStyle: { color: "#c9d1d9" }, top: 0 }, option.legend); }
    instance.setOption(option, true);
    node.dataset.drawn = "1";
  }

  function kpis(d) {
    var s = d.summary;
    var tiles = d.week ? [
      ["Queued at week end", fmt(s.queued)], ["Created", fmt(s.created)], ["Completed", fmt(s.completed)],
      ["Hours of work", fmt(s.hours)], ["AHT", minutes(s.aht_seconds)], ["Pass rate", pct(s.pass_rate)],
      ["Mean score", fmt(s.mean_score, 3)], ["p90 wait", hours(s.wait_p90_seconds)],
      ["Low-quality examples", fmt(s.low_quality)]
    ] : [
      ["Queued", fmt(s.queued)], ["In progress", fmt(s.in_progress)],
      [d.week ? "Completed (week)" : "Completed", fmt(s.completed)],
      ["Hours of work (" + s.window_days + " d)", fmt(s.hours)],
      ["Experts available", fmt(s.available) + " / " + fmt(s.experts)],
      ["AHT", minutes(s.aht_seconds)], ["Pass rate", pct(s.pass_rate)],
      ["Mean score", fmt(s.mean_score, 3)], ["p90 wait", hours(s.wait_p90_seconds)],
      ["Utilization", pct(s.utilization)], ["Low-quality examples", fmt(s.low_quality)]
    ];
    el("kpis").innerHTML = tiles.map(function (t) {
      return '<div class="kpi"><div class="label">' + escapeHtml(t[0]) + '</div><div class="value">' + escapeHtml(t[1]) + "</div></div>";
    }).join("");
  }

  function draw(d) {
    text(el("title"), d.week ? "Weekly report · " + d.workspace + " · " + d.week : "Triage · " + d.workspace);
    var asOf = d.clock ? "log as of " + d.clock.replace("T", " ").slice(0, 16) + " UTC" : "no events yet";
    text(el("meta"), d.week ? d.week_start + " to " + d.week_end + " (UTC) · " + asOf : asOf);
    ["load-card", "staffing-card"].forEach(function (id) { el(id).style.display = d.week ? "none" : ""; });
    el("quality-card").className = d.week ? "card full" : "card wide";
    kpis(d);
    var days = d.days.map(function (x) { return x.day; });
    chart("chart-backlog", {
      legend: { data: ["queued", "in progress"] },
      xAxis: Object.assign({ type: "time" }, axis), yAxis: Object.assign({ type: "value" }, axis),
      series: [
        { name: "queued", type: "line", showSymbol: false, areaStyle: { opacity: 0.25 },
          data: d.backlog.map(function (p) { return [p[0], p[1]]; }) },
        { name: "in progress", type: "line", showSymbol: false,
          data: d.backlog.map(function (p) { return [p[0], p[2]]; }) }
      ]
    });
    chart("chart-throughput", {
      legend: { data: ["created", "completed", "hours"] },
      xAxis: Object.assign({ type: "category", data: days }, axis),
      yAxis: [Object.assign({ type: "value", name: "tasks" }, axis), Object.assign({ type: "value", name: "hours" }, axis, { splitLine: { show: false } })],
      series: [
        { name: "created", type: "bar", data: d.days.map(function (x) { return x.created; }) },
        { name: "completed", type: "bar", data: d.days.map(function (x) { return x.completed; }) },
        { name: "hours", type: "line", yAxisIndex: 1, data: d.days.map(function (x) { return x.hours; }) }
      ]
    });
    chart("chart-wait", {
      legend: { data: ["p50", "p90"] },
      xAxis: Object.assign({ type: "category", data: days }, axis), yAxis: Object.assign({ type: "value", name: "h" }, axis),
      series: [
        { name: "p50", type: "line", data: d.days.map(function (x) { return x.wait_p50_hours; }) },
        { name: "p90", type: "line", data: d.days.map(function (x) { return x.wait_p90_hours; }) }
      ]
    });
    var kinds = Object.keys(d.aht);
    chart("chart-aht", {
      grid: { left: 80 },
      xAxis: Object.assign({ type: "value", name: "min" }, axis),
      yAxis: Object.assign({ type: "category", data: kinds }, axis),
      series: [
        { name: "AHT", type: "bar", data: kinds.map(function (k) {
            var over = d.aht_targets[k] !== undefined && d.aht[k] > d.aht_targets[k];
            return { value: d.aht[k], itemStyle: { color: over ? "#f85149" : "#58a6ff" } };
          }), label: { show: true, position: "right", color: "#c9d1d9" } },
        { name: "objective", type: "scatter", symbol: "rect", symbolSize: [3, 18], itemStyle: { color: "#d29922" },
          data: kinds.map(function (k) { return d.aht_targets[k] === undefined ? null : d.aht_targets[k]; }) }
      ]
    });
    var weeks = d.quality.map(function (w) { return w.week; });
    var categories = {};
    d.quality.forEach(function (w) { Object.keys(w.errors).forEach(function (c) { categories[c] = true; }); });
    var qualitySeries = Object.keys(categories).sort().map(function (c) {
      return { name: c, type: "bar", stack: "errors", barMaxWidth: 90, data: d.quality.map(function (w) { return w.errors[c] || 0; }) };
    });
    qualitySeries.push({ name: "pass rate", type: "line", yAxisIndex: 1, data: d.quality.map(function (w) {
      return w.reviews ? Math.round((1 - w.failed / w.reviews) * 1000) / 10 : null; }) });
    chart("chart-quality", {
      legend: {},
      xAxis: Object.assign({ type: "category", data: weeks }, axis),
      yAxis: [Object.assign({ type: "value", name: "errors" }, axis),
              Object.assign({ type: "value", name: "pass %", min: function (v) { return Math.max(0, Math.floor(v.min / 10) * 10 - 10); }, max: 100 }, axis, { splitLine: { show: false } })],
      series: qualitySeries
    });
    text(el("load-hint"), "assigned hours over weekly hours, ISO week " + (d.utilization_week || "–") + ", " + d.load.length + " experts");
    if (!d.week) { chart("chart-load", {
      grid: { left: 44, bottom: 20 },
      tooltip: { trigger: "axis", formatter: function (items) {
        var row = d.load[items[0].dataIndex];
        return escapeHtml(row.expert) + "<br>" + fmt(row.assigned_hours, 1) + " / " + fmt(row.weekly_hours, 1) + " h (" + pct(row.utilization) + ")";
      } },
      xAxis: Object.assign({ type: "category", data: d.load.map(function (r) { return r.expert; }), axisLabel: { show: false } }, { axisLine: axis.axisLine }),
      yAxis: Object.assign({ type: "value", name: "%" }, axis),
      series: [{ name: "utilization", type: "bar", barCategoryGap: "10%", data: d.load.map(function (r) {
        var value = Math.round(r.utilization * 1000) / 10;
        return { value: value, itemStyle: { color: value > 100 ? "#f85149" : value > 85 ? "#d29922" : "#3fb950" } };
      }) }]
    }); }
    var pools = d.pools.slice(0, 24);
    if (!d.week) chart("chart-staffing", {
      legend: { data: ["capacity", "available", "demand", "gap"] },
      grid: { bottom: 60 },
      xAxis: Object.assign({ type: "category", data: pools.map(function (p) { return p.pool; }) }, axis, { axisLabel: { color: "#8b98a5", rotate: 35 } }),
      yAxis: Object.assign({ type: "value", name: "hours" }, axis),
      series: [
        { name: "capacity", type: "bar", data: pools.map(function (p) { return p.capacity_hours; }) },
        { name: "available", type: "bar", data: pools.map(function (p) { return p.available_hours; }) },
        { name: "demand", type: "bar", data: pools.map(function (p) { return p.demand_hours; }) },
        { name: "gap", type: "line", data: pools.map(function (p) { return p.gap_hours; }), itemStyle: { color: "#f85149" } }
      ]
    });
    objectives(d);
    lowQuality(d);
    steppedGatedOverlapping(d);
  }

  function table(headers, rows) {
    return "<table><tr>" + headers.map(function (h, i) { return "<th" + (i ? ' class="num"' : "") + ">" + escapeHtml(h) + "</th>"; }).join("") + "</tr>" +
      rows.map(function (r) {
        return "<tr>" + r.map(function (c, i) { return "<td" + (i ? ' class="num"' : "") + ">" + escapeHtml(c) + "</td>"; }).join("") + "</tr>";
      }).join("") + "</table>";
  }

  function steppedGatedOverlapping(d) {
    var card = el("v11-card");
    var v = d.v1_1;
    card.style.display = v ? "" : "none";
    if (!v) { return; }
    var parts = [];
    if (v.steps.tasks) {
      parts.push("<div><h3>Requirement steps: " + fmt(v.steps.tasks) + " tasks, " + fmt(v.steps.escalations) + " escalations</h3>" +
        table(["step", "reached", "p50 to reach", "served", "assignments"], v.steps.by_step.map(function (r) {
          return [r.step ? "step " + r.step : "as created", fmt(r.reached), r.step ? minutes(r.time_to_reach.p50_seconds) : "–", fmt(r.served), fmt(r.assignments)];
        })) + "</div>");
    }
    if (v.overlap.tasks) {
      var groups = [];
      ["by_kind", "by_domain"].forEach(function (key) {
        var label = key === "by_kind" ? "kind " : "domain ";
        Object.keys(v.overlap[key]).forEach(function (name) { groups.push([label + name, v.overlap[key][name]]); });
      });
      parts.push("<div><h3>Adaptive overlap: " + fmt(v.overlap.completed) + " completed, mean share " + fmt(v.overlap.mean_share, 3) + "</h3>" +
        table(["", "completed", "mean share", "extensions", "no agreement"], groups.map(function (g) {
          return [g[0], fmt(g[1].completed), fmt(g[1].mean_share, 3), fmt(g[1].extensions), fmt(g[1].without_agreement)];
        })) + "</div>");
    }
    var gates = v.gates;
    parts.push("<div><h3>Quality gates: " + fmt(gates.gated) + " gated tasks queued</h3>" + (gates.gated ?
      table(["domain", "gated queued", "none available", "none qualified"], Object.keys(gates.by_domain).map(function (name) {
        var g = gates.by_domain[name];
        return [name, fmt(g.gated), fmt(g.no_available), fmt(g.no_qualified)];
      })) : '<div class="empty">None queued now.</div>') + "</div>");
    el("v11").innerHTML = parts.join("");
  }

  function objectives(d) {
    var node = el("objectives");
    if (!d.objectives.length) { node.innerHTML = '<div class="empty">No objectives file (triage serve --objectives FILE).</div>'; return; }
    var order = { missed: 0, at_risk: 1, no_data: 2, met: 3 };
    var rows = d.objectives.slice().sort(function (a, b) { return order[a.status] - order[b.status]; });
    function figure(value) { return value === null || value === undefined ? "–" : fmt(value, Math.abs(value) < 10 ? 3 : 0); }
    node.innerHTML = '<table class="objectives"><tr><th>objective</th><th class="num">actual</th><th class="num">target</th><th>status</th></tr>' +
      rows.map(function (r) {
        var scope = r.kind || (r.domain ? r.domain + "/" + r.language : "");
        var target = r.bound === "range" ? figure(r.target_min) + "–" + figure(r.target_max) : (r.bound === "min" ? "≥ " + figure(r.target_min) : "≤ " + figure(r.target_max));
        var arrow = { better: "▲", worse: "▼", steady: "●" }[r.trend] || "";
        var previous = r.previous === null || r.previous === undefined ? "" : " (previous week " + figure(r.previous) + ", " + r.trend + ")";
        return '<tr title="' + escapeHtml(r.rule + previous) + '"><td class="name">' + escapeHtml(r.objective.replace(/_/g, " ")) + (scope ? ' <span class="scope">' + escapeHtml(scope) + "</span>" : "") +
          '</td><td class="num">' + figure(r.actual) + ' <span class="trend ' + (r.trend || "") + '">' + arrow + '</span></td><td class="num">' + escapeHtml(target) +
          '</td><td><span class="status ' + r.status + '">' + r.status.replace("_", " ") + "</span></td></tr>";
      }).join("") + "</table>";
  }

  function lowQuality(d) {
    var node = el("low");
    if (!d.low_quality.length) { node.innerHTML = '<div class="empty">None.</div>'; return; }
    text(el("low-hint"), (d.week ? "this week's " : "the latest ") + d.low_quality.length + " failed or low-scored reviews (refs into the client's store, never content)");
    node.innerHTML = "<table><tr><th>task</th><th>kind</th><th>domain</th><th>language</th><th>score</th><th>passed</th><th>errors</th><th>reviewed</th><th>ref</th></tr>" +
      d.low_quality.slice().reverse().map(function (x) {
        return "<tr><td>" + escapeHtml(x.task) + "</td><td>" + escapeHtml(x.kind) + "</td><td>" + escapeHtml(x.domain) + "</td><td>" + escapeHtml(x.language) +
          '</td><td class="num">' + fmt(x.score, 2) + "</td><td>" + (x.passed ? "yes" : "no") + "</td><td>" + escapeHtml(x.errors.join(", ")) +
          "</td><td>" + escapeHtml(x.at.slice(0, 16).replace("T", " ")) + "</td><td>" + escapeHtml(x.ref || "") + "</td></tr>";
      }).join("") + "</table>";
  }

  function render(d) {
    try {
      draw(d);
      document.body.dataset.drawn = String(Object.keys(charts).length);
    } catch (error) {
      window.__errors.push(String(error && error.stack || error));
      document.body.dataset.errors = window.__errors.join(" | ");
      throw error;
    }
  }

  function refresh() {
    var query = new URLSearchParams(window.location.search);
    var headers = {};
    if (query.get("access_token")) { headers.Authorization = "Bearer " + query.get("access_token"); }
    var workspace = query.get("workspace") || (data && data.workspace);
    var path = workspace ? "api/v1/workspaces/" + encodeURIComponent(workspace) + "/dashboard" : "api/v1/dashboard";
    fetch(path, { headers: headers }).then(function (response) {
      if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
      return response.json();
    }).then(function (fresh) {
      data = fresh;
      render(fresh);
      text(el("live"), "live · refreshed " + new Date().toLocaleTimeString());
    }).catch(function (error) { text(el("live"), "live · refresh failed: " + error.message); });
  }

  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  if (data) { render(data); }
  if (settings.live) {
    refresh();
    window.setInterval(refresh, 10000);
  }
})();
