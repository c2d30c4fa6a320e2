"use strict";
// Charts drawn as SVG from the API's series. Every series is labelled where it is drawn, so
// no chart needs a legend to be read.
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const niceMax = (value) => {
    if (value <= 0) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  };
  const compact = (n) => n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e3 ? (n / 1e3).toFixed(1) + "k"
    : n === 0 ? "0" : n < 1 ? String(Number(n.toPrecision(2))) : String(Math.round(n * 100) / 100);
  const timeLabel = (ms, bucketSeconds) => {
    const d = new Date(ms);
    const iso = d.toISOString();
    return bucketSeconds >= 86400 ? iso.slice(5, 10) : bucketSeconds >= 3600 ? iso.slice(5, 10) + " " + iso.slice(11, 16) : iso.slice(11, 16);
  };

  // Events and errors per bucket as bars, with Insights as labelled dashed lines and findings
  // as dots coloured by level. `options.onBucket(startMs, endMs)` is called on a click.
  function timeline(container, data, options = {}) {
    container.textContent = "";
    const width = 1000, height = 260, left = 52, right = 12, top = 26, bottom = 28;
    const bucketMs = data.bucket_seconds * 1000;
    const points = data.series.map((p) => ({ t: Date.parse(p.time), events: p.events || 0, errors: p.errors || 0 }));
    if (!points.length) {
      container.append(Object.assign(document.createElement("p"), { className: "muted", textContent: "No events in this range." }));
      return;
    }
    const t0 = points[0].t, t1 = points[points.length - 1].t + bucketMs;
    const max = niceMax(Math.max(...points.map((p) => p.events)));
    const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * (width - left - right);
    const y = (v) => top + (1 - v / max) * (height - top - bottom);
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": "Events and errors over time" });
    for (let i = 0; i <= 4; i++) {
      const v = (max / 4) * i;
      root.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid-line" }));
      root.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, compact(v)));
    }
    const barWidth = Math.max(1, x(t0 + bucketMs) - x(t0) - 1);
    for (const p of points) {
      const bar = svg("rect", { x: x(p.t), y: y(p.events), width: barWidth, height: Math.max(0, y(0) - y(p.events)), class: "events" });
      bar.append(svg("title", {}, `${new Date(p.t).toISOString()}: ${p.events} events, ${p.errors} errors`));
      if (options.onBucket) bar.addEventListener("click", () => options.onBucket(p.t, p.t + bucketMs));
      root.append(bar);
      if (p.errors > 0) root.append(svg("rect", { x: x(p.t), y: y(p.errors), width: barWidth, height: Math.max(1, y(0) - y(p.errors)), class: "errors" }));
    }
    const ticks = 6;
    for (let i = 0; i <= ticks; i++) {
      const t = t0 + ((t1 - t0) / ticks) * i;
      root.append(svg("text", { x: x(t), y: height - 8, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle" }, timeLabel(t, data.bucket_seconds)));
    }
    root.append(svg("text", { x: left + 4, y: 14, class: "series-label events-text" }, "■ events"));
    root.append(svg("text", { x: left + 70, y: 14, class: "series-label errors-text" }, "■ failed calls"));
    let labels = 0;
    for (const insight of data.insights || []) {
      const t = Date.parse(insight.time);
      if (t < t0 || t > t1) continue;
      root.append(svg("line", { x1: x(t), x2: x(t), y1: top, y2: y(0), class: "insight-marker" }));
      if (labels++ < 8) {
        // Labels near the right edge go to the line's left, so they are never cut off.
        const right = x(t) > width - 160;
        const label = svg("text", { x: right ? x(t) - 3 : x(t) + 3, y: top + 10 + (labels % 3) * 12, class: "insight-label", "text-anchor": right ? "end" : "start" }, `Insight: ${insight.eventName}`);
        if (options.onInsight) label.addEventListener("click", () => options.onInsight(insight.sharedEventID));
        label.style.cursor = "pointer";
        root.append(label);
      }
    }
    const colours = { critical: "#7f1d1d", high: "#dc2626", medium: "#ea580c", low: "#ca8a04", informational: "#64748b" };
    for (const finding of data.findings || []) {
      const t = Date.parse(finding.time);
      if (!(t >= t0 && t <= t1)) continue;
      const dot = svg("circle", { cx: x(t), cy: top - 6, r: 4, fill: colours[finding.level] || "#64748b", class: "finding-dot" });
      dot.append(svg("title", {}, `${finding.level}: ${finding.title}`));
      root.append(dot);
    }
    container.append(root);
  }

  // One row per value: name, a bar to scale, the count. `onPick(row)` on a click.
  function bars(container, rows, nameOf, countOf, onPick) {
    container.textContent = "";
    if (!rows.length) {
      container.append(Object.assign(document.createElement("p"), { className: "muted", textContent: "None." }));
      return;
    }
    const max = Math.max(...rows.map(countOf), 1);
    const list = document.createElement("div");
    list.className = "bars";
    const labels = distinctLabels(rows.map((row) => nameOf(row) ?? "(none)"));
    rows.forEach((row, index) => {
      const line = document.createElement("div");
      line.className = "bar";
      const name = document.createElement("span");
      name.className = "name";
      const full = nameOf(row) ?? "(none)";
      name.textContent = labels[index];
      name.title = full;
      const track = document.createElement("span");
      track.className = "track";
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.display = "block";
      fill.style.width = `${(countOf(row) / max) * 100}%`;
      if (row.colour) fill.style.background = row.colour;
      track.append(fill);
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = countOf(row).toLocaleString("en-US");
      line.append(name, track, count);
      if (onPick) line.addEventListener("click", () => onPick(row));
      list.append(line);
    });
    container.append(list);
  }

  // An insight's rate per minute, its minutes highlighted, against the baseline average.
  function rate(container, series, baseline) {
    container.textContent = "";
    const width = 1000, height = 240, left = 52, right = 12, top = 24, bottom = 28;
    if (!series.length) return;
    const max = niceMax(Math.max(baseline, ...series.map((p) => p.count)));
    const step = (width - left - right) / series.length;
    const y = (v) => top + (1 - v / max) * (height - top - bottom);
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": "Rate per minute against the baseline" });
    for (let i = 0; i <= 4; i++) {
      const v = (max / 4) * i;
      root.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid-line" }));
      root.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, compact(v)));
    }
    series.forEach((p, i) => {
      const bar = svg("rect", { x: left + i * step, y: y(p.count), width: Math.max(1, step - 1), height: Math.max(0, y(0) - y(p.count)), class: p.insight ? "inside" : "events" });
      bar.append(svg("title", {}, `${p.time}: ${p.count}`));
      root.append(bar);
    });
    root.append(svg("line", { x1: left, x2: width - right, y1: y(baseline), y2: y(baseline), class: "baseline" }));
    root.append(svg("text", { x: width - right - 4, y: y(baseline) - 4, "text-anchor": "end" }, `baseline ${compact(baseline)}/min`));
    root.append(svg("text", { x: left + 4, y: 14, class: "series-label insight-text" }, "■ during the insight"));
    root.append(svg("text", { x: left + 150, y: 14, class: "series-label events-text" }, "■ before and after"));
    const ticks = Math.min(6, series.length - 1);
    for (let i = 0; i <= ticks; i++) {
      const index = Math.round(((series.length - 1) / Math.max(1, ticks)) * i);
      root.append(svg("text", { x: left + index * step, y: height - 8, "text-anchor": "middle" }, series[index].time.slice(11, 16)));
    }
    container.append(root);
  }

  // An ARN's account-wide prefix says little in a list of one account's principals: show
  // what comes after the account (`assumed-role/ops/alice`), the whole ARN on hover.
  // Short names, with the account added where two rows would otherwise read the same
  // (user/deploy-bot in two accounts).
  function distinctLabels(names) {
    const shorts = names.map(shortName);
    const seen = new Map();
    for (const short of shorts) seen.set(short, (seen.get(short) || 0) + 1);
    return names.map((name, i) => {
      const parts = String(name).split(":");
      return seen.get(shorts[i]) > 1 && parts[0] === "arn" && parts[4] ? `${shorts[i]} (${parts[4]})` : shorts[i];
    });
  }

  function shortName(text) {
    const parts = String(text).split(":");
    return parts.length >= 6 && parts[0] === "arn" ? parts.slice(5).join(":") : String(text);
  }

  return { timeline, bars, rate, compact, shortName, distinctLabels };
})();
