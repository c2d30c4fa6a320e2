// Drives the dashboard in headless Debian Chromium: log in, read the overview's charts, search
// and open an event's JSON, trace its caller, run SQL (and download it as CSV), acknowledge a finding, open an
// Insight and the status page. Screenshots go to SCREENSHOTS. Any console error (a script
// failure, a Content-Security-Policy refusal) fails the run.
//
// Environment: TRAILHOUND_URL, TRAILHOUND_TOKEN (an admin token), SCREENSHOTS (a folder).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.TRAILHOUND_URL;
const token = process.env.TRAILHOUND_TOKEN;
const shots = process.env.SCREENSHOTS;
if (!base || !token || !shots) {
  console.error("set TRAILHOUND_URL, TRAILHOUND_TOKEN and SCREENSHOTS");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

// A loaded machine (CI builds beside the tests) can make Chromium's first start fail to
// fork its helpers; a start is tried three times before the run is given up.
async function launch() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await chromium.launch({
        executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
        headless: true,
        args: ["--no-sandbox", "--no-zygote", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
      });
    } catch (error) {
      if (attempt >= 3) throw error;
      console.error(`chromium did not start (attempt ${attempt}): ${error.message.split("\n")[0]}`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}
const browser = await launch();
const problems = [];
const report = {};
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  // An answer of 4xx that the page shows (a wrong token, refused SQL) is logged by Chromium as
  // a failed load; anything else at error level is a problem.
  const expected = /Failed to load resource: the server responded with a status of 4\d\d/;
  page.on("console", (message) => {
    if (message.type() === "error" && !expected.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  const shot = async (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const step = async (name, body) => {
    try {
      await body();
    } catch (error) {
      await shot(`${name}-failed`).catch(() => {});
      throw new Error(`${name}: ${error.message}`);
    }
  };

  await step("login", async () => {
    await page.goto(base + "/");
    await page.waitForURL(/\/login$/);
    await page.fill("#token", "th_wrong");
    await page.click("#login-submit");
    await page.locator("#login-error").filter({ hasText: /not known/ }).waitFor();
    await page.fill("#token", token);
    await page.click("#login-submit");
    await page.waitForURL(/#\/overview/);
  });

  await step("overview", async () => {
    await page.locator("[data-testid=timeline] svg rect.events").first().waitFor();
    report.timelineBars = await page.locator("[data-testid=timeline] svg rect.events").count();
    report.principalBars = await page.locator(".card:has(h2:text('Top principals')) .bar").count();
    // A name in two accounts reads as two principals, not one shown twice.
    const labels = await page.locator(".card:has(h2:text('Top principals')) .bar .name").allTextContents();
    report.principalLabels = labels;
    report.principalLabelsDistinct = new Set(labels).size === labels.length;
    report.figures = await page.locator("[data-testid=figures] .figure").count();
    report.openFindings = await page.locator("[data-testid=open-findings] tbody tr").count();
    if (report.timelineBars < 2 || report.principalBars < 1 || report.figures !== 6) {
      throw new Error(`the overview lacks charts: ${JSON.stringify(report)}`);
    }
    await shot("overview");
  });

  await step("report", async () => {
    // The Report button opens the report in a new tab: no script, its own strict policy, and
    // no console error (a refused style would be one).
    const [tab] = await Promise.all([
      page.context().waitForEvent("page"),
      page.click("[data-testid=report]"),
    ]);
    tab.on("console", (message) => {
      if (message.type() === "error") problems.push(`report console: ${message.text()}`);
    });
    await tab.waitForLoadState("load");
    report.reportHeading = await tab.locator("h1").first().textContent();
    report.reportSections = await tab.locator("section.report-section").count();
    report.reportCharts = await tab.locator("svg.chart").count();
    const href = await page.locator("[data-testid=report]").getAttribute("href");
    report.reportPolicy = (await page.evaluate(async (url) =>
      (await fetch(url, { credentials: "same-origin" })).headers.get("content-security-policy"), href)) || "";
    await tab.screenshot({ path: join(shots, "report.png"), fullPage: false });
    await tab.close();
  });

  await step("policy", async () => {
    // The least-privilege policy of the busiest role, from the Policy page.
    const role = report.principalLabels.find((l) => l.startsWith("assumed-role/")).split("/")[1];
    await page.goto(`${base}/#/policy?principal=role/${role}&since=3650d`);
    await page.locator("[data-testid=policy-document]").waitFor();
    const document = JSON.parse(await page.locator("[data-testid=policy-document]").textContent());
    report.policyVersion = document.Version;
    report.policyStatements = document.Statement.length;
    report.policyActions = await page.locator("[data-testid=policy-actions] tbody tr").count();
    await shot("policy");
  });

  await step("search", async () => {
    await page.click("#nav a[data-page=search]");
    await page.fill("[data-testid=search-form] input[name=event]", "Delete*");
    await page.click("[data-testid=search-submit]");
    await page.waitForURL(/event=Delete/);
    const first = page.locator("[data-testid=search-results] tbody tr").first();
    await first.waitFor();
    report.searchRows = await page.locator("[data-testid=search-results] tbody tr").count();
    const names = await page.locator("[data-testid=search-results] tbody tr td:nth-child(2)").allTextContents();
    if (!names.every((name) => name.startsWith("Delete"))) throw new Error(`not all Delete*: ${names}`);
    await first.click();
    const json = page.locator("[data-testid=event-json]");
    await json.waitFor();
    const record = JSON.parse(await json.textContent());
    if (!record.eventID || !record.eventName.startsWith("Delete")) throw new Error("the JSON is not the event's");
    report.eventShown = record.eventID;
    await shot("search");
  });

  await step("trace", async () => {
    // From the event just opened, its caller's chain: an origin, the session drawn as a
    // node that links to the session's events.
    await page.click("[data-testid=trace-event]");
    await page.waitForURL(/#\/trace\?of=/);
    await page.locator("[data-testid=trace-graph]").waitFor();
    report.traceOrigins = await page.locator("[data-testid=trace-origin]").count();
    report.traceNodes = await page.locator("[data-testid=trace-node]").count();
    report.traceTraced = await page.locator("[data-testid=trace-node].traced").count();
    report.traceDetail = await page.locator("[data-testid=trace-origin-detail]").first().textContent();
    await shot("trace");
    const principal = await page.locator("[data-testid=trace-node].traced").first().getAttribute("data-principal");
    await page.locator("[data-testid=trace-node].traced").first().click();
    await page.waitForURL(/#\/search\?user=/);
    await page.locator("[data-testid=search-results] tbody tr").first().waitFor();
    report.traceLinked = decodeURIComponent(page.url().split("user=")[1].replace(/\+/g, " ")) === principal;
  });

  await step("sql", async () => {
    await page.click("#nav a[data-page=sql]");
    await page.fill("[data-testid=sql-editor]", "SELECT eventName, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC LIMIT 5");
    await page.click("[data-testid=sql-run]");
    await page.locator("[data-testid=sql-results] tbody tr").nth(4).waitFor();
    report.sqlRows = await page.locator("[data-testid=sql-results] tbody tr").count();
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=sql-csv]")]);
    report.csv = download.suggestedFilename();
    await shot("sql");
    // A query pasted from Athena runs as written, and a Logs Insights one with its language.
    await page.fill("[data-testid=sql-editor]", "SELECT eventname, count(*) AS n FROM cloudtrail_logs WHERE eventsource = 'cloudtrail.amazonaws.com' GROUP BY 1 ORDER BY 1");
    await page.click("[data-testid=sql-run]");
    await page.locator("[data-testid=sql-results] th").filter({ hasText: /^eventname$/ }).waitFor();
    report.athenaRows = await page.locator("[data-testid=sql-results] tbody tr").count();
    await page.selectOption("[data-testid=sql-language]", "logs-insights");
    await page.fill("[data-testid=sql-editor]", "filter eventSource = \"cloudtrail.amazonaws.com\" | stats count(*) as calls by eventName | sort eventName");
    await page.click("[data-testid=sql-run]");
    await page.locator("[data-testid=sql-results] th").filter({ hasText: /^calls$/ }).waitFor();
    report.insightsRows = await page.locator("[data-testid=sql-results] tbody tr").count();
    await page.selectOption("[data-testid=sql-language]", "sql");
    await page.fill("[data-testid=sql-editor]", "DROP TABLE events");
    await page.click("[data-testid=sql-run]");
    await page.locator("[data-testid=sql-output] .error").filter({ hasText: /read-only/ }).waitFor();
  });

  await step("triage", async () => {
    await page.goto(base + "/#/findings?status=open&min_level=high");
    await page.locator("[data-testid=findings-table] tbody tr").first().click();
    await page.waitForURL(/#\/finding\?id=/);
    await page.selectOption("[data-testid=triage-status]", "acknowledged");
    await page.fill("[data-testid=triage-note]", "checked with the owner");
    await page.click("[data-testid=triage-save]");
    await page.locator("[data-testid=finding-status]").filter({ hasText: "acknowledged" }).waitFor();
    await page.locator("td").filter({ hasText: "checked with the owner" }).waitFor();
    report.triaged = page.url().split("id=")[1];
    await shot("finding");
  });

  await step("insight", async () => {
    await page.click("#nav a[data-page=insights]");
    await page.locator("[data-testid=insights-table] tbody tr").first().click();
    // A horizontal line has no height, so Playwright never calls it visible: attached will do.
    await page.locator("[data-testid=insight-chart] svg line.baseline").waitFor({ state: "attached" });
    await page.locator("[data-testid=insight-chart] svg rect").first().waitFor({ state: "attached" });
    await shot("insight");
  });

  await step("posture", async () => {
    await page.click("#nav a[data-page=posture]");
    await page.locator("[data-testid=posture-summary]").waitFor();
    await page.locator("[data-testid=posture-checks] tbody tr").first().waitFor();
    report.postureRows = await page.locator("[data-testid=posture-checks] tbody tr").count();
    await shot("posture");
  });

  await step("status", async () => {
    await page.click("#nav a[data-page=status]");
    await page.locator("[data-testid=integrity] .healthy").first().waitFor();
    await shot("status");
  });

  await step("logout", async () => {
    await page.click("#logout");
    await page.waitForURL(/\/login$/);
    await page.goto(base + "/");
    await page.waitForURL(/\/login$/);
  });
} finally {
  await browser.close();
}
report.problems = problems;
console.log(JSON.stringify(report));
process.exit(problems.length ? 1 : 0);
