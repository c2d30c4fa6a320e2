// Opens a report's HTML file in headless Debian Chromium (no server: the report needs none),
// takes a full-page screenshot, and prints what the Rust test checks: the headings, the
// charts, tables without a caption, and every console error or script failure.
//
// Environment: REPORT (the HTML file), SCREENSHOT (the PNG to write).
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const file = process.env.REPORT;
const shot = process.env.SCREENSHOT;
if (!file || !shot) {
  console.error("set REPORT and SCREENSHOT");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--no-zygote", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"],
});
const problems = [];
const requests = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page: ${error.message}`));
  // A self-contained report fetches nothing but itself.
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  const seen = await page.evaluate(() => ({
    title: document.title,
    lang: document.documentElement.lang,
    h1: [...document.querySelectorAll("h1")].map((h) => h.textContent.trim()),
    h2: [...document.querySelectorAll("h2")].map((h) => h.textContent.trim()),
    h3: document.querySelectorAll("h3").length,
    charts: document.querySelectorAll("svg.chart").length,
    chartsWithoutTitle: [...document.querySelectorAll("svg.chart")].filter((s) => !s.querySelector("title")).length,
    tables: document.querySelectorAll("table").length,
    tablesWithoutCaption: [...document.querySelectorAll("table")].filter((t) => !t.caption).length,
    headerCellsWithoutScope: [...document.querySelectorAll("thead th")].filter((th) => th.scope !== "col").length,
  }));
  await page.emulateMedia({ media: "print" });
  seen.sectionsBreakInPrint = await page.evaluate(() =>
    [...document.querySelectorAll("section.report-section")].every((s) => getComputedStyle(s).breakBefore === "page"));
  await page.emulateMedia({ media: "screen" });
  await page.screenshot({ path: shot, fullPage: true });
  seen.otherRequests = requests.filter((url) => url !== pathToFileURL(file).href);
  seen.problems = problems;
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
