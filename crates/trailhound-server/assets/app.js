"use strict";
// The dashboard: one page per hash route, each drawn from /api/v1 with the session cookie.
// Text from the lake is only ever set as textContent, never as HTML.

const main = document.getElementById("main");
let me = { name: "", role: "viewer", csrf: "" };

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options = {}) {
  const init = { credentials: "same-origin", ...options, headers: { ...(options.headers || {}) } };
  if (init.method && init.method !== "GET") init.headers["X-CSRF-Token"] = me.csrf;
  if (init.json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(init.json);
    delete init.json;
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    window.location.assign("/login");
    throw new Error("not logged in");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.message || `${response.status} ${response.statusText}`);
  }
  return options.raw ? response : response.json();
}

const number = (n) => (n ?? 0).toLocaleString("en-US");
const when = (t) => (t ? String(t).replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, "Z") : "");
const levelBadge = (level) => h("span", { className: `level ${level}` }, level);
const statusPill = (status) => h("span", { className: `status-pill ${status}` }, status);
const failure = (err) => h("p", { className: "error", role: "alert" }, String(err.message || err));
const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString();

function table(columns, rows, onRow, testid) {
  const head = h("tr", {}, columns.map((c) => h("th", {}, c.title)));
  const body = rows.map((row) => {
    const tr = h("tr", { className: onRow ? "clickable" : "" }, columns.map((c) => h("td", { className: c.mono ? "mono" : "" }, c.cell ? c.cell(row) : row[c.key] ?? "")));
    if (onRow) tr.addEventListener("click", () => { tr.parentNode.querySelectorAll("tr.selected").forEach((r) => r.classList.remove("selected")); tr.classList.add("selected"); onRow(row); });
    return tr;
  });
  return h("div", { className: "scroll" }, h("table", { "data-testid": testid }, h("thead", {}, head), h("tbody", {}, body)));
}

async function showEventJson(target, eventId) {
  target.textContent = "";
  target.append(h("h2", {}, "Event ", h("span", { className: "mono" }, eventId)));
  try {
    const response = await api(`/api/v1/events/${encodeURIComponent(eventId)}`, { raw: true });
    const text = await response.text();
    let pretty = text;
    try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* shown as stored */ }
    target.append(h("div", { className: "toolbar" }, h("a", { href: `#/trace?${query({ of: eventId })}`, "data-testid": "trace-event" }, "Trace who is behind it →")),
      h("pre", { className: "json", "data-testid": "event-json" }, pretty));
  } catch (err) {
    target.append(failure(err));
  }
}

// ---------------------------------------------------------------- overview
const RANGES = [["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["30d", "Last 30 days"], ["", "All time"]];

async function overview(params) {
  const since = params.get("since") ?? "";
  const select = h("select", { "aria-label": "Time range", onchange: (e) => go("overview", { since: e.target.value }) },
    RANGES.map(([value, label]) => h("option", { value, selected: value === since }, label)));
  const chart = h("div", { "data-testid": "timeline" }, h("p", { className: "muted" }, "Loading…"));
  const figures = h("div", { className: "figures", "data-testid": "figures" });
  const lists = {
    principals: h("div"), apis: h("div"), errors: h("div"), regions: h("div"), ips: h("div"), levels: h("div"),
  };
  const recent = h("div");
  // The report for auditors over the same range.
  const report = (format) => `/api/v1/report?${query({ since: since || "all", format })}`;
  main.replaceChildren(
    h("div", { className: "toolbar" }, h("h1", {}, "Overview"), h("span", { className: "spacer" }), select,
      h("a", { className: "button", href: report("html"), target: "_blank", rel: "noopener", "data-testid": "report" }, "Report"),
      h("a", { className: "button", href: report("pdf"), "data-testid": "report-pdf" }, "PDF")),
    h("div", { className: "stack" },
      figures,
      h("div", { className: "card" }, h("h2", {}, "Activity"), chart),
      h("div", { className: "grid three" },
        h("div", { className: "card" }, h("h2", {}, "Top principals"), lists.principals),
        h("div", { className: "card" }, h("h2", {}, "Top APIs"), lists.apis),
        h("div", { className: "card" }, h("h2", {}, "Top errors"), lists.errors),
        h("div", { className: "card" }, h("h2", {}, "Regions"), lists.regions),
        h("div", { className: "card" }, h("h2", {}, "Top source IPs"), lists.ips),
        h("div", { className: "card" }, h("h2", {}, "Findings by level"), lists.levels)),
      h("div", { className: "card" }, h("h2", {}, "Open findings, medium and above"), recent)));
  const filter = { since };
  try {
    const [stats, timeline, summary, open] = await Promise.all([
      api(`/api/v1/stats?${query(filter)}`),
      api(`/api/v1/timeline?${query(filter)}`),
      api("/api/v1/findings/summary"),
      api(`/api/v1/findings?${query({ status: "open", min_level: "medium", limit: 10, since })}`),
    ]);
    const o = stats.overview || {};
    figures.replaceChildren(
      ...[["events", number(o.events)], ["failed calls", number(o.failed_calls)], ["accounts", number(o.accounts)], ["regions", number(o.regions)],
        ["first event", when(o.first_event)], ["last event", when(o.last_event)]]
        .map(([label, value]) => h("div", { className: "card figure" }, h("div", { className: "value" }, value), h("div", { className: "label" }, label))));
    Charts.timeline(chart, timeline, {
      onBucket: (start, end) => go("search", { since: new Date(start).toISOString(), until: new Date(end).toISOString() }),
      onInsight: (id) => go("insight", { id }),
    });
    Charts.bars(lists.principals, stats.top_principals, (r) => r.principal, (r) => r.events, (r) => go("search", { since, user: r.principal }));
    Charts.bars(lists.apis, stats.top_apis, (r) => `${(r.eventSource || "").replace(".amazonaws.com", "")}:${r.eventName}`, (r) => r.events, (r) => go("search", { since, event: r.eventName }));
    Charts.bars(lists.errors, stats.top_errors, (r) => r.errorCode, (r) => r.events, (r) => go("search", { since, error: r.errorCode }));
    Charts.bars(lists.regions, stats.regions, (r) => r.awsRegion, (r) => r.events, (r) => go("search", { since, region: r.awsRegion }));
    Charts.bars(lists.ips, stats.top_source_ips, (r) => r.sourceIPAddress, (r) => r.events, (r) => go("search", { since, ip: r.sourceIPAddress }));
    const order = ["critical", "high", "medium", "low", "informational"];
    const colours = { critical: "#7f1d1d", high: "#dc2626", medium: "#ea580c", low: "#ca8a04", informational: "#64748b" };
    const byLevel = order.map((level) => ({
      level, colour: colours[level],
      count: summary.counts.filter((c) => c.level === level && c.status === "open").reduce((a, c) => a + c.count, 0),
    })).filter((r) => r.count > 0);
    Charts.bars(lists.levels, byLevel, (r) => `${r.level} (open)`, (r) => r.count, (r) => go("findings", { status: "open", min_level: r.level }));
    recent.replaceChildren(open.findings.length
      ? table(findingColumns(), open.findings, (f) => go("finding", { id: f.id }), "open-findings")
      : h("p", { className: "muted" }, "No open findings."));
  } catch (err) {
    chart.replaceChildren(failure(err));
  }
}

// ---------------------------------------------------------------- search
const FILTERS = [["event", "eventName", "Delete*"], ["user", "Principal", "alice or arn:…"], ["source", "eventSource", "iam"], ["ip", "Source IP", "203.0.113.*"],
  ["error", "errorCode", "* for any failure"], ["region", "Region(s)", "us-east-1,eu-west-1"], ["account", "Account(s)", "111122223333"],
  ["since", "Since", "24h or 2024-07-31"], ["until", "Until", "RFC 3339 or age"]];

async function search(params) {
  const inputs = {};
  const form = h("form", { className: "card", "data-testid": "search-form", onsubmit: (e) => {
    e.preventDefault();
    go("search", Object.fromEntries(Object.entries(inputs).map(([k, input]) => [k, input.value.trim()])));
  } },
  h("div", { className: "filters" }, FILTERS.map(([key, label, hint]) => {
    inputs[key] = h("input", { name: key, placeholder: hint, value: params.get(key) ?? "" });
    return h("label", {}, label, inputs[key]);
  })),
  h("div", { className: "toolbar" }, h("button", { type: "submit", className: "primary", "data-testid": "search-submit" }, "Search"),
    h("button", { type: "button", onclick: () => go("search", {}) }, "Clear")));
  const results = h("div", { className: "card" });
  const detail = h("div", { className: "card", "data-testid": "event-detail" }, h("p", { className: "muted" }, "Pick an event to see its original record."));
  main.replaceChildren(h("h1", {}, "Search"), h("div", { className: "stack" }, form, h("div", { className: "split" }, results, detail)));
  const filter = Object.fromEntries(FILTERS.map(([key]) => [key, params.get(key) ?? ""]));
  const offset = Number(params.get("offset") || 0);
  results.append(h("p", { className: "muted" }, "Searching…"));
  try {
    const found = await api(`/api/v1/events?${query({ ...filter, limit: 100, offset })}`);
    const pager = h("div", { className: "toolbar" },
      h("span", { "data-testid": "search-total" }, `${number(found.total)} events`, found.total > 0 ? `, showing ${number(offset + 1)}–${number(offset + found.events.length)} (newest first)` : ""),
      h("span", { className: "spacer" }),
      h("button", { type: "button", disabled: offset === 0, onclick: () => go("search", { ...filter, offset: Math.max(0, offset - 100) }) }, "Newer"),
      h("button", { type: "button", disabled: offset + found.events.length >= found.total, onclick: () => go("search", { ...filter, offset: offset + 100 }) }, "Older"));
    results.replaceChildren(pager, table([
      { title: "eventTime", cell: (r) => when(r.eventTime), mono: true },
      { title: "eventName", key: "eventName" },
      { title: "principal", cell: (r) => h("span", { title: r.principal ?? "" }, Charts.shortName(r.principal ?? "")) },
      { title: "source IP", key: "sourceIPAddress" },
      { title: "error", key: "errorCode" },
      { title: "region", key: "awsRegion" },
    ], found.events, (row) => showEventJson(detail, row.eventID), "search-results"));
  } catch (err) {
    results.replaceChildren(failure(err));
  }
}

// ---------------------------------------------------------------- SQL
// Written as users paste them: CloudTrail Lake's and Athena's SQL run as written.
const EXAMPLES = [
  ["Events per principal", "sql", "SELECT userIdentity.arn, count(*) AS events FROM events GROUP BY 1 ORDER BY 2 DESC LIMIT 20"],
  ["Deletions", "sql", "SELECT eventTime, eventName, userIdentity.arn, requestParameters FROM events WHERE eventName LIKE 'Delete%' ORDER BY eventTime DESC LIMIT 100"],
  ["Console logins without MFA (Athena)", "sql", "SELECT eventtime, useridentity.arn, sourceipaddress FROM cloudtrail_logs WHERE eventname = 'ConsoleLogin' AND json_extract_scalar(additionaleventdata, '$.MFAUsed') = 'No' ORDER BY eventtime DESC"],
  ["Deleted buckets (CloudTrail Lake)", "sql", "SELECT eventTime, userIdentity.arn, element_at(requestParameters, 'bucketName') AS bucket FROM $EDS_ID WHERE eventName = 'DeleteBucket' ORDER BY eventTime DESC"],
  ["Errors per hour (Logs Insights)", "logs-insights", "filter ispresent(errorCode)\n| stats count(*) as errors by bin(1h), errorCode\n| sort errors desc"],
  ["Findings", "sql", "SELECT time, level, ruleTitle, principal, summary FROM findings ORDER BY time DESC LIMIT 50"],
];

function sqlConsole(params) {
  const editor = h("textarea", { className: "sql mono", "data-testid": "sql-editor", spellcheck: "false" }, params.get("sql") || params.get("query") || EXAMPLES[0][2]);
  const language = h("select", { "data-testid": "sql-language", "aria-label": "Query language" },
    h("option", { value: "sql" }, "SQL (CloudTrail Lake, Athena, DataFusion)"),
    h("option", { value: "logs-insights" }, "Logs Insights"));
  if (params.get("language") === "logs-insights") language.value = "logs-insights";
  const output = h("div", { className: "card", "data-testid": "sql-output" });
  const request = (extra) => ({ sql: editor.value, language: language.value, ...extra });
  const run = async () => {
    output.replaceChildren(h("p", { className: "muted" }, "Running…"));
    try {
      const result = await api("/api/v1/query", { method: "POST", json: request({}) });
      const columns = result.columns.map((c) => ({
        title: c.name,
        cell: (row) => { const v = row[c.name]; return v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v); },
      }));
      output.replaceChildren(
        h("p", { className: "muted", "data-testid": "sql-summary" }, `${number(result.rows.length)} rows in ${result.elapsed_ms} ms${result.truncated ? " (cut at the server's row limit)" : ""}`),
        table(columns, result.rows, null, "sql-results"));
    } catch (err) {
      output.replaceChildren(failure(err));
    }
  };
  const download = async () => {
    try {
      const response = await api("/api/v1/query", { method: "POST", json: request({ format: "csv" }), raw: true });
      const url = URL.createObjectURL(await response.blob());
      const link = h("a", { href: url, download: "trailhound-query.csv" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      output.replaceChildren(failure(err));
    }
  };
  editor.addEventListener("keydown", (e) => { if ((e.ctrlKey || e.metaKey) && e.key === "Enter") run(); });
  main.replaceChildren(h("h1", {}, "Query"), h("div", { className: "stack" },
    h("div", { className: "card" },
      h("div", { className: "toolbar" }, h("span", { className: "muted" }, "Examples:"),
        EXAMPLES.map(([label, lang, text]) => h("button", { type: "button", onclick: () => { editor.value = text; language.value = lang; } }, label))),
      editor,
      h("div", { className: "toolbar" },
        language,
        h("button", { type: "button", className: "primary", onclick: run, "data-testid": "sql-run" }, "Run (Ctrl+Enter)"),
        h("button", { type: "button", onclick: download, "data-testid": "sql-csv" }, "Download CSV"),
        h("span", { className: "muted" }, "Read-only: tables events, findings, insights. Queries from CloudTrail Lake ($EDS_ID) and Athena (cloudtrail_logs) run as written."))),
    output));
  if (params.get("sql") || params.get("query")) run();
}

// ---------------------------------------------------------------- findings
function findingColumns() {
  return [
    { title: "time", cell: (f) => when(f.time), mono: true },
    { title: "level", cell: (f) => levelBadge(f.level) },
    { title: "rule", key: "rule_title" },
    { title: "principal", cell: (f) => h("span", { title: f.principal ?? "" }, Charts.shortName(f.principal ?? "")) },
    { title: "status", cell: (f) => statusPill(f.status) },
  ];
}

async function findings(params) {
  const status = params.get("status") ?? "open";
  const minLevel = params.get("min_level") ?? "";
  const statusSelect = h("select", { "aria-label": "Status", onchange: (e) => go("findings", { status: e.target.value, min_level: minLevel }) },
    [["", "any state"], ["open", "open"], ["acknowledged", "acknowledged"], ["resolved", "resolved"], ["suppressed", "suppressed"]].map(([v, l]) => h("option", { value: v, selected: v === status }, l)));
  const levelSelect = h("select", { "aria-label": "Minimum level", onchange: (e) => go("findings", { status, min_level: e.target.value }) },
    [["", "any level"], ["low", "low and up"], ["medium", "medium and up"], ["high", "high and up"], ["critical", "critical"]].map(([v, l]) => h("option", { value: v, selected: v === minLevel }, l)));
  const list = h("div", { className: "card" }, h("p", { className: "muted" }, "Loading…"));
  main.replaceChildren(h("div", { className: "toolbar" }, h("h1", {}, "Findings"), h("span", { className: "spacer" }), statusSelect, levelSelect), list);
  try {
    const found = await api(`/api/v1/findings?${query({ status, min_level: minLevel, limit: 500 })}`);
    list.replaceChildren(h("p", { className: "muted" }, `${number(found.total)} findings`),
      table([...findingColumns(), { title: "summary", key: "summary" }], found.findings, (f) => go("finding", { id: f.id }), "findings-table"));
  } catch (err) {
    list.replaceChildren(failure(err));
  }
}

async function finding(params) {
  const id = params.get("id");
  main.replaceChildren(h("p", { className: "muted" }, "Loading…"));
  let data;
  try {
    data = await api(`/api/v1/findings/${encodeURIComponent(id)}`);
  } catch (err) {
    main.replaceChildren(failure(err));
    return;
  }
  const f = data.finding;
  const detail = h("div", { className: "card", "data-testid": "event-detail" }, h("p", { className: "muted" }, "Pick an event to see its original record."));
  const admin = me.role === "admin";
  const state = h("select", { "aria-label": "New state", "data-testid": "triage-status", disabled: !admin },
    ["open", "acknowledged", "resolved", "suppressed"].map((s) => h("option", { value: s, selected: s === f.status }, s)));
  const note = h("input", { placeholder: "note (why)", "data-testid": "triage-note", disabled: !admin, size: 50 });
  const message = h("span", { "data-testid": "triage-message" });
  const save = h("button", { type: "button", className: "primary", disabled: !admin, "data-testid": "triage-save", onclick: async () => {
    try {
      const updated = await api(`/api/v1/findings/${f.id}/triage`, { method: "POST", json: { status: state.value, note: note.value } });
      message.textContent = `Saved: ${updated.status}`;
      finding(params);
    } catch (err) {
      message.replaceChildren(failure(err));
    }
  } }, "Save");
  main.replaceChildren(
    h("div", { className: "toolbar" }, h("a", { href: "#/findings" }, "← Findings")),
    h("h1", {}, f.rule_title, " ", levelBadge(f.level), " ", h("span", { "data-testid": "finding-status" }, statusPill(f.status))),
    h("div", { className: "stack" },
      h("div", { className: "card" },
        h("p", {}, f.summary),
        h("p", { className: "muted" }, `${when(f.first_time)} – ${when(f.time)} · ${f.event_count} events · ${f.principal ?? ""} · ${f.account ?? ""} ${f.region ?? ""} · rule ${f.rule_id}`),
        f.tags.length ? h("p", { className: "muted" }, `tags: ${f.tags.join(", ")}`) : null,
        data.events.length ? h("p", {}, h("a", { href: `#/trace?${query({ of: data.events[0].eventID })}`, "data-testid": "trace-finding" }, "Trace who is behind it →")) : null,
        h("div", { className: "toolbar" }, h("strong", {}, "Triage:"), state, note, save, message,
          admin ? null : h("span", { className: "muted" }, "(viewers cannot triage; an admin token can)"))),
      data.history.length ? h("div", { className: "card" }, h("h2", {}, "History"),
        table([{ title: "at", cell: (e) => when(e.at) }, { title: "state", cell: (e) => statusPill(e.status) }, { title: "by", key: "by" }, { title: "note", key: "note" }], data.history)) : null,
      h("div", { className: "split" },
        h("div", { className: "card" }, h("h2", {}, "Events"),
          table([{ title: "eventTime", cell: (r) => when(r.eventTime), mono: true }, { title: "eventName", key: "eventName" }, { title: "source IP", key: "sourceIPAddress" }, { title: "error", key: "errorCode" }],
            data.events, (r) => showEventJson(detail, r.eventID), "finding-events")),
        detail)));
}

// ---------------------------------------------------------------- insights
async function insights() {
  const list = h("div", { className: "card" }, h("p", { className: "muted" }, "Loading…"));
  main.replaceChildren(h("h1", {}, "Insights"), list);
  try {
    const found = await api("/api/v1/insights");
    list.replaceChildren(found.insights.length ? table([
      { title: "start", cell: (i) => when(i.start), mono: true },
      { title: "API", cell: (i) => `${(i.eventSource || "").replace(".amazonaws.com", "")}:${i.eventName}` },
      { title: "type", key: "insightType" },
      { title: "error", key: "errorCode" },
      { title: "per minute", cell: (i) => `${Charts.compact(i.insightAverage)} vs ${Charts.compact(i.baselineAverage)}` },
      { title: "minutes", key: "insightDuration" },
      { title: "mostly", key: "principal" },
      { title: "where", cell: (i) => `${i.account} ${i.region}` },
    ], found.insights, (i) => go("insight", { id: i.sharedEventID }), "insights-table")
      : h("p", { className: "muted" }, "No Insights yet. `trailhound insights --since 30d` computes them over history."));
  } catch (err) {
    list.replaceChildren(failure(err));
  }
}

async function insight(params) {
  const id = params.get("id");
  main.replaceChildren(h("p", { className: "muted" }, "Loading…"));
  try {
    const data = await api(`/api/v1/insights/${encodeURIComponent(id)}?context=60`);
    const i = data.insight;
    const chart = h("div", { "data-testid": "insight-chart" });
    main.replaceChildren(
      h("div", { className: "toolbar" }, h("a", { href: "#/insights" }, "← Insights")),
      h("h1", {}, `${i.insightType}: ${(i.eventSource || "").replace(".amazonaws.com", "")}:${i.eventName}`, i.errorCode ? ` failing with ${i.errorCode}` : ""),
      h("div", { className: "stack" },
        h("div", { className: "card" },
          h("p", {}, `${Charts.compact(i.insightAverage)} per minute against a baseline of ${Charts.compact(i.baselineAverage)} per minute, ${when(i.start)} – ${i.end ? when(i.end) : "ongoing"}${i.principal ? `, mostly ${i.principal}` : ""}.`),
          chart,
          h("p", {}, h("a", { href: `#/search?${query({ event: i.eventName, account: i.account, region: i.region, since: i.start, until: i.end })}` }, "The events behind it →"))),
        h("div", { className: "card" }, h("h2", {}, "Records (CloudTrail's Insights format)"),
          h("pre", { className: "json" }, JSON.stringify(data.records, null, 2)))));
    Charts.rate(chart, data.series, data.baselineAverage);
  } catch (err) {
    main.replaceChildren(failure(err));
  }
}

// ---------------------------------------------------------------- status
async function status() {
  const body = h("div", { className: "stack" }, h("p", { className: "muted" }, "Loading…"));
  main.replaceChildren(h("h1", {}, "Status"), body);
  try {
    const [health, integrity, failed, sources] = await Promise.all([
      api("/api/v1/status"), api("/api/v1/integrity"), api("/api/v1/sources?failed=true&limit=100"), api("/api/v1/sources?limit=20"),
    ]);
    const lake = health.lake;
    body.replaceChildren(
      h("div", { className: "card", "data-testid": "health" },
        h("p", {}, h("span", { className: health.healthy ? "healthy" : "unhealthy" }, health.healthy ? "Healthy" : "Unhealthy"),
          ` · ${number(lake.events)} events in ${number(lake.files)} files · newest event ${when(lake.newest_event) || "none"} · ${number(lake.sources_read)} sources read, ${number(lake.sources_failed)} failed`),
        h("p", { className: "muted" }, `Alerts: ${number(health.alerts.sent)} sent, ${number(health.alerts.pending)} waiting, ${number(health.alerts.suppressed)} suppressed`),
        health.alerts.failing_sinks.map((s) => h("p", { className: "error" }, `Sink ${s.sink} failing: ${s.error}`))),
      h("div", { className: "card" }, h("h2", {}, "Followed sources (watch)"), health.followed.length
        ? table([{ title: "source", key: "source" }, { title: "lag (s)", key: "lag_seconds" }, { title: "polled", cell: (c) => when(c.polled_at) }, { title: "objects", key: "objects" }, { title: "error", key: "error" }], health.followed)
        : h("p", { className: "muted" }, "Nothing is followed; `trailhound watch` follows buckets, queues and folders.")),
      h("div", { className: "card", "data-testid": "integrity" }, h("h2", {}, "Integrity checks"), integrity.checks.length
        ? table([{ title: "checked", cell: (c) => when(c.checked_at) }, { title: "location", key: "location" },
          { title: "result", cell: (c) => h("span", { className: c.valid ? "healthy" : "unhealthy" }, c.valid ? "valid" : "INVALID") },
          { title: "digests", cell: (c) => c.report?.counts ? `${c.report.counts.valid_digests} valid, ${c.report.counts.invalid_digests} invalid` : "" },
          { title: "logs", cell: (c) => c.report?.counts ? `${c.report.counts.valid_logs} valid, ${c.report.counts.invalid_logs} invalid` : "" }], integrity.checks)
        : h("p", { className: "muted" }, "No checks recorded; `trailhound validate` records each run here.")),
      h("div", { className: "card" }, h("h2", {}, "Sources that failed"), failed.sources.length
        ? table([{ title: "location", key: "location", mono: true }, { title: "error", key: "error" }, { title: "when", cell: (s) => when(s.ingested_at) }], failed.sources)
        : h("p", { className: "muted" }, "None.")),
      h("div", { className: "card" }, h("h2", {}, "Latest sources"),
        table([{ title: "location", key: "location", mono: true }, { title: "events", key: "events_read" }, { title: "new", key: "events_new" }, { title: "outcome", key: "outcome" }, { title: "when", cell: (s) => when(s.ingested_at) }], sources.sources)));
  } catch (err) {
    body.replaceChildren(failure(err));
  }
}

// ---------------------------------------------------------------- posture
async function posture() {
  const body = h("div", { className: "stack" }, h("p", { className: "muted" }, "Loading…"));
  main.replaceChildren(h("h1", {}, "Posture"), body);
  try {
    const { run } = await api("/api/v1/posture");
    if (!run) {
      body.replaceChildren(h("div", { className: "card" }, h("p", { className: "muted" },
        "No posture run recorded yet: `trailhound posture` checks your trails and records the verdicts here; `trailhound watch --posture-every 1h` keeps them current.")));
      return;
    }
    const order = { fail: 0, unknown: 1, pass: 2, "not-applicable": 3 };
    const checks = [...run.checks].sort((a, b) => order[a.verdict] - order[b.verdict]);
    const count = (v) => run.checks.filter((c) => c.verdict === v).length;
    body.replaceChildren(
      h("div", { className: "card", "data-testid": "posture-summary" },
        h("p", {}, `${count("pass")} passed, `, h("span", { className: count("fail") ? "unhealthy" : "healthy" }, `${count("fail")} failed`),
          `, ${count("unknown")} unknown · account ${run.account || "?"} · checked ${when(run.checked_at)}${run.origin === "lake" ? " · reconstructed from the trail's events in the lake" : ""}`)),
      h("div", { className: "card" }, h("h2", {}, "Checks"),
        table([
          { title: "check", key: "check_id" },
          { title: "verdict", cell: (c) => h("span", { className: c.verdict === "fail" ? "unhealthy" : c.verdict === "pass" ? "healthy" : "muted" }, c.verdict) },
          { title: "severity", key: "severity" },
          { title: "what", key: "title" },
          { title: "resource", key: "resource", mono: true },
          { title: "found", key: "found" },
          { title: "CIS", cell: (c) => c.cis.split(",").filter(Boolean).join("; ") },
          { title: "fix", cell: (c) => c.fix ? h("code", {}, c.fix) : "" },
        ], checks, undefined, "posture-checks")));
  } catch (err) {
    body.replaceChildren(failure(err));
  }
}

// ---------------------------------------------------------------- routing
// ---------------------------------------------------------------- policy
// The least-privilege policy of a principal; with its current policies (the output of
// `aws iam get-account-authorization-details`), which permissions it never used.
async function policyPage(params) {
  const principal = params.get("principal") ?? "";
  const inputs = {
    principal: h("input", { name: "principal", value: principal, placeholder: "arn:aws:iam::111122223333:role/deploy, role/NAME, user/NAME", size: 60 }),
    since: h("select", { name: "since", "aria-label": "Period" },
      [["90d", "Last 90 days"], ["30d", "Last 30 days"], ["7d", "Last 7 days"], ["365d", "Last year"], ["3650d", "Last 10 years"]].map(([v, l]) => h("option", { value: v, selected: v === (params.get("since") ?? "90d") }, l))),
    resources: h("select", { name: "resources", "aria-label": "Resources" },
      [["exact", "Resources the calls named"], ["wildcard", "Actions only (Resource *)"]].map(([v, l]) => h("option", { value: v, selected: v === (params.get("resources") ?? "exact") }, l))),
    attached: h("input", { type: "file", name: "attached", accept: ".json,application/json", "data-testid": "policy-attached" }),
  };
  const out = h("div", { className: "stack", "data-testid": "policy-result" });
  const form = h("form", { className: "card", "data-testid": "policy-form", onsubmit: async (e) => {
    e.preventDefault();
    out.replaceChildren(h("p", { className: "muted" }, "Working out the policy…"));
    const body = { principal: inputs.principal.value.trim(), since: inputs.since.value, resources: inputs.resources.value };
    try {
      const file = inputs.attached.files && inputs.attached.files[0];
      if (file) body.attached = JSON.parse(await file.text());
      show(await api("/api/v1/policy", { method: "POST", json: body }));
    } catch (err) {
      out.replaceChildren(failure(err));
    }
  } },
  h("div", { className: "filters" },
    h("label", {}, "Principal", inputs.principal), h("label", {}, "Period", inputs.since), h("label", {}, "Resources", inputs.resources),
    h("label", {}, "Current policies (get-account-authorization-details JSON, optional)", inputs.attached)),
  h("div", { className: "toolbar" }, h("button", { type: "submit", className: "primary", "data-testid": "policy-submit" }, "Work out the policy")));
  const show = (answer) => {
    const text = answer.policyText;
    const parts = [
      h("div", { className: "card" },
        h("h2", {}, `Policy of ${answer.principal}`),
        h("p", { className: "muted" }, `${number(answer.events)} events, ${answer.actions.length} actions, ${number(answer.policySize)} characters` +
          (answer.policySize > 6144 ? " — more than a managed policy holds (6,144): choose Actions only, or split it" : "")),
        h("pre", { className: "json", "data-testid": "policy-document" }, text),
        h("button", { type: "button", onclick: () => navigator.clipboard && navigator.clipboard.writeText(text) }, "Copy")),
      h("div", { className: "card" }, h("h2", {}, "Actions used"), table([
        { title: "action", key: "action", mono: true },
        { title: "calls", cell: (r) => number(r.count) },
        { title: "first used", cell: (r) => when(r.firstUsed), mono: true },
        { title: "last used", cell: (r) => when(r.lastUsed), mono: true },
        { title: "resources", cell: (r) => r.resources.join(", ") },
      ], answer.actions, null, "policy-actions")),
    ];
    if (answer.denied.length) {
      parts.push(h("div", { className: "card" }, h("h2", {}, "Attempted, not granted"), table([
        { title: "call", cell: (r) => `${r.eventSource.replace(".amazonaws.com", "")}:${r.eventName}`, mono: true },
        { title: "error", key: "errorCode" },
        { title: "calls", cell: (r) => number(r.count) },
        { title: "would need", cell: (r) => r.actions.join(", ") },
      ], answer.denied, null, "policy-denied")));
    }
    if (answer.granted) {
      const unused = answer.granted.filter((g) => g.verdict === "unused");
      const hidden = answer.granted.filter((g) => g.verdict === "not-visible");
      parts.push(h("div", { className: "card" }, h("h2", {}, "Current permissions"),
        h("p", { "data-testid": "policy-granted-summary" }, `${number(answer.granted.length)} granted: ${number(answer.granted.length - unused.length - hidden.length)} used, ` +
          `${number(unused.length)} unused, ${number(hidden.length)} not visible in CloudTrail (data events not logged)`),
        table([
          { title: "unused action", key: "action", mono: true },
          { title: "granted by", cell: (r) => r.by.join(", ") },
        ], unused.slice(0, 500), null, "policy-unused")));
    }
    out.replaceChildren(...parts);
  };
  main.replaceChildren(h("h1", {}, "Least-privilege policy"), h("div", { className: "stack" }, form, out));
  if (principal) form.requestSubmit();
}


// ---------------------------------------------------------------- trace
// Who is behind a key, session or event: the chain from its origin, drawn as an SVG graph
// (one column per role hop); each session links to its events.
const SVG_NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) if (value !== undefined && value !== null) node.setAttribute(key, value);
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function traceGraph(trace) {
  const W = 300, H = 78, GAP_X = 70, GAP_Y = 18, ORIGIN_W = 220;
  const placed = [];
  let row = 0;
  // Depth-first: a node sits at its column, vertically centred on its children.
  const place = (node, depth, parent) => {
    const item = { node, depth, parent, y: 0 };
    placed.push(item);
    const children = node.children || [];
    if (!children.length) { item.y = row++; return item; }
    const kids = children.map((c) => place(c, depth + 1, item));
    item.y = (kids[0].y + kids[kids.length - 1].y) / 2;
    return item;
  };
  const origins = trace.chains.map((chain) => {
    const root = place(chain.root, 1, null);
    return { chain, root };
  });
  const depth = Math.max(1, ...placed.map((p) => p.depth));
  const width = ORIGIN_W + GAP_X + depth * (W + GAP_X);
  const height = Math.max(1, row) * (H + GAP_Y) + GAP_Y;
  const x = (d) => (d === 0 ? 10 : ORIGIN_W + GAP_X + (d - 1) * (W + GAP_X));
  const y = (r) => GAP_Y + r * (H + GAP_Y);
  const root = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "trace", role: "img",
    "aria-label": `Credential chain of ${trace.asked}`, "data-testid": "trace-graph" });
  const edge = (x1, y1, x2, y2, label) => {
    const mid = (x1 + x2) / 2;
    root.append(s("path", { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, class: "trace-edge" }));
    if (label) root.append(s("text", { x: x2 - 6, y: y2 - 6, "text-anchor": "end", class: "trace-edge-label" }, label));
  };
  for (const { chain, root: first } of origins) {
    const oy = y(first.y) + H / 2;
    const g = s("g", { class: `trace-origin ${chain.origin.kind}`, "data-testid": "trace-origin" },
      s("title", {}, chain.origin.detail),
      s("rect", { x: x(0), y: oy - 28, width: ORIGIN_W, height: 56, rx: 28 }),
      s("text", { x: x(0) + ORIGIN_W / 2, y: oy - 4, "text-anchor": "middle", class: "strong" }, chain.origin.kind),
      s("text", { x: x(0) + ORIGIN_W / 2, y: oy + 14, "text-anchor": "middle" }, Charts.shortName(chain.origin.who)));
    root.append(g);
    edge(x(0) + ORIGIN_W, oy, x(1), oy, "");
  }
  for (const item of placed) {
    const { node } = item;
    const nx = x(item.depth), ny = y(item.y);
    if (item.parent) {
      const g = node.granted;
      edge(x(item.parent.depth) + W, y(item.parent.y) + H / 2, nx, ny + H / 2, g ? `${g.method} ${when(g.time)}` : "");
    }
    const usage = node.usage || {};
    const ips = usage.source_ips || [];
    const link = s("a", { href: `#/search?${query({ user: node.principal })}`, class: `trace-node${node.traced ? " traced" : ""}${ips.length > 1 ? " moved" : ""}`,
      "data-testid": "trace-node", "data-principal": node.principal },
      s("title", {}, `${node.principal}${node.access_key_id ? `\n${node.access_key_id}` : ""}\n${(usage.services || []).map((x) => `${x.service} ${x.calls}`).join(", ")}\nfrom ${ips.join(", ")}`),
      s("rect", { x: nx, y: ny, width: W, height: H, rx: 6 }),
      s("text", { x: nx + 10, y: ny + 18, class: "strong" }, Charts.shortName(node.principal)),
      s("text", { x: nx + 10, y: ny + 36, class: "mono" }, node.access_key_id || "(no key)"),
      s("text", { x: nx + 10, y: ny + 54 }, `${number(usage.calls)} calls, ${number(usage.errors)} errors${ips.length ? ` · ${ips.length > 1 ? `${ips.length} addresses` : ips[0]}` : ""}`),
      s("text", { x: nx + 10, y: ny + 70, class: "muted" }, (usage.services || []).slice(0, 4).map((x) => `${x.service.replace(".amazonaws.com", "")} ${x.calls}`).join(", ")));
    root.append(link);
  }
  return root;
}

async function tracePage(params) {
  const of = params.get("of") || "";
  const since = params.get("since") || "";
  const input = h("input", { name: "of", size: 60, value: of, placeholder: "ASIA…, arn:aws:sts::…:assumed-role/…, or an eventID", "data-testid": "trace-of" });
  const sinceInput = h("input", { name: "since", size: 10, value: since, placeholder: "7d" });
  const form = h("form", { className: "card", "data-testid": "trace-form", onsubmit: (e) => { e.preventDefault(); go("trace", { of: input.value.trim(), since: sinceInput.value.trim() }); } },
    h("div", { className: "filters" }, h("label", {}, "Key, ARN or eventID", input), h("label", {}, "Since", sinceInput)),
    h("div", { className: "toolbar" }, h("button", { type: "submit", className: "primary", "data-testid": "trace-submit" }, "Trace")));
  const out = h("div", { className: "stack", "data-testid": "trace-result" });
  main.replaceChildren(h("h1", {}, "Trace"), h("div", { className: "stack" }, form, out));
  if (!of) {
    out.append(h("p", { className: "muted" }, "Who is behind a session: the chain back to its origin, and every session minted from it. Also reachable from any event or finding."));
    return;
  }
  out.append(h("p", { className: "muted" }, "Tracing…"));
  try {
    const trace = await api(`/api/v1/trace?${query({ of, since })}`);
    out.replaceChildren(
      h("div", { className: "card" },
        trace.chains.map((c) => h("p", { "data-testid": "trace-origin-detail" }, h("strong", {}, "Origin: "), c.origin.detail)),
        trace.truncated ? h("p", { className: "muted" }, "The trace stopped at its session limit; trace a session further down to see the rest.") : null,
        h("div", { className: "scroll" }, traceGraph(trace))));
  } catch (err) {
    out.replaceChildren(failure(err));
  }
}

const PAGES = { overview, search, sql: sqlConsole, findings, finding, insights, insight, posture, policy: policyPage, trace: tracePage, status };

function go(page, params = {}) {
  const q = query(params);
  window.location.hash = `#/${page}${q ? `?${q}` : ""}`;
}

function route() {
  const [path, q] = window.location.hash.replace(/^#\/?/, "").split("?");
  const page = PAGES[path] ? path : "overview";
  const section = { finding: "findings", insight: "insights" }[page] || page;
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === section));
  PAGES[page](new URLSearchParams(q || ""));
}

document.getElementById("logout").addEventListener("click", async () => {
  await api("/logout", { method: "POST" }).catch(() => {});
  window.location.assign("/login");
});

(async () => {
  me = await api("/api/v1/me");
  document.getElementById("who").textContent = `${me.name} (${me.role})`;
  window.addEventListener("hashchange", route);
  route();
})();
