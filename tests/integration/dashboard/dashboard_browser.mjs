// Drives headless Chromium through proxlb's dashboard (see
// dashboard_browser_test.py). usage: node dashboard_browser.mjs CACHE CHROMIUM
// URL TOKEN ARTIFACTS NODE,NODE,...
import path from "path";
import { checks, playwright, watchProblems } from "./browser_checks.mjs";

const [cache, executablePath, url, token, artifacts, nodeList] = process.argv.slice(2);
const { chromium } = playwright(cache);
const check = checks.check.bind(checks);

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  // The refusals this test provokes (401, 403) are logged by the browser as
  // failed loads; anything else (CSP violations, 404s, script errors) counts.
  const problems = watchProblems(page, /status of 40[13] /);
  await page.goto(url);

  // The overview shows every node of the scenario.
  const nodes = nodeList.split(",");
  await page.waitForFunction((n) => document.querySelectorAll("#heatmap tbody tr").length === n, nodes.length,
    { timeout: 30000 });
  const shown = await page.$$eval("#heatmap tbody tr td:first-child", (tds) => tds.map((t) => t.textContent));
  check(nodes.every((n) => shown.includes(n)), "the overview shows every node", shown.join(" "));
  check((await page.textContent("#cluster-name")) === "dashdemo", "the cluster's name is shown");
  check(await page.isHidden("#cluster-switch"), "no cluster switcher with one cluster");
  await page.screenshot({ path: path.join(artifacts, "overview.png") });

  // An action without the token is refused.
  const anonymous = await page.evaluate(async () => (await fetch("api/actions/balance", { method: "POST" })).status);
  check(anonymous === 401, "an action without a token is refused", "HTTP " + anonymous);

  // A login with a wrong token is refused; the right one logs in.
  await page.click('nav button[data-view="plan"]');
  await page.fill("#token", "not-the-token-at-all-1234");
  await page.click('#login-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById("action-result").textContent.startsWith("Login refused"));
  check(await page.isHidden("#action-buttons"), "a wrong token does not log in");
  await page.fill("#token", token);
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector("#action-buttons:not([hidden])");

  // The session cookie without the CSRF header is refused.
  const noCsrf = await page.evaluate(async () => (await fetch("api/actions/balance", { method: "POST" })).status);
  check(noCsrf === 403, "the session cookie without X-CSRF-Token is refused", "HTTP " + noCsrf);

  // Balance now: the progress view follows the migrations as they run.
  await page.click("#action-balance");
  await page.waitForFunction(() => document.getElementById("action-result").textContent.includes("balancing round"));
  check(true, "balance now with the session and its CSRF token is accepted");
  await page.waitForSelector("#progress tbody tr.running", { timeout: 60000 });
  const running = await page.$$eval("#progress tbody tr", (rows) => rows.map((r) => r.className));
  check(running.includes("running"), "the progress view shows a running migration", running.join(" "));
  await page.screenshot({ path: path.join(artifacts, "progress-running.png") });
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("#progress tbody tr")];
    return rows.length > 0 && rows.every((r) => r.className === "done" || r.className === "failed");
  }, null, { timeout: 120000 });
  const finished = await page.$$eval("#progress tbody tr", (rows) => rows.map((r) => r.className));
  check(finished.every((c) => c === "done"), "every migration ends done", finished.join(" "));
  await page.waitForFunction(() => document.getElementById("progress-state").textContent.startsWith("Finished"));
  await page.screenshot({ path: path.join(artifacts, "progress-done.png"), fullPage: true });

  // The overview after the balance: the heat map evened out, two rounds of
  // imbalance history (the screenshot docs/dashboard.png is made of).
  await page.click('nav button[data-view="overview"]');
  await page.waitForSelector("#history-chart canvas", { timeout: 30000 });
  await page.screenshot({ path: path.join(artifacts, "overview-after.png") });
  await page.click('nav button[data-view="plan"]');

  // Hostile guest names are text, nowhere markup.
  const names = await page.$$eval("#progress tbody tr td:nth-child(2)", (tds) => tds.map((t) => t.textContent));
  check(names.some((n) => n.startsWith("<img src=x onerror=") || n.startsWith("<script>") || n.startsWith('">')),
    "hostile guest names are shown as text", names.join(" | "));
  await page.click('nav button[data-view="audit"]');
  await page.waitForFunction(() => document.querySelectorAll("#audit tbody tr").length > 0);
  await page.screenshot({ path: path.join(artifacts, "audit.png") });
  const audited = await page.$$eval("#audit tbody tr td:nth-child(3)", (tds) => tds.map((t) => t.textContent));
  check(audited.some((n) => n.includes("onerror=") || n.includes("<script>")), "the audit log shows the names as text");
  const injected = await page.$$eval("main img, main script, main svg, main b", (e) => e.length);
  check(injected === 0, "no element was injected from a name", injected + " found");
  check((await page.evaluate(() => window.__xss)) === undefined, "no script from a name ran");

  // Capacity: the failover verdict for HA and running guests, a forecast per
  // resource, and a what-if recomputed from the inputs.
  await page.click('nav button[data-view="capacity"]');
  await page.waitForFunction(() => document.querySelectorAll("#failover tbody tr").length === 2, null,
    { timeout: 60000 });
  const verdicts = await page.$$eval("#failover tbody tr td:nth-child(2)", (tds) => tds.map((t) => t.textContent));
  check(verdicts.every((v) => v === "fits" || v === "does not fit"), "the failover verdicts are shown", verdicts.join(" "));
  const forecasts = await page.$$eval("#forecast tbody tr", (rows) => rows.length);
  check(forecasts > 0, "a forecast per resource is shown", forecasts + " rows");
  await page.screenshot({ path: path.join(artifacts, "capacity.png"), fullPage: true });
  await page.fill("#wi-add", "40");
  await page.fill("#wi-memory", "8G");
  await page.selectOption("#wi-remove", "pve3");
  await page.click('#what-if button[type="submit"]');
  await page.waitForFunction(() => document.getElementById("capacity-state").textContent.startsWith("Threshold"));
  await page.waitForFunction(() => [...document.querySelectorAll("#failover tbody tr td:nth-child(2)")]
    .some((td) => td.textContent === "does not fit"), null, { timeout: 60000 });
  check(true, "a what-if (40 guests of 8 GiB, pve3 removed) makes running guests not fit");

  // The page keeps to its Content-Security-Policy and runs without errors.
  check(problems.length === 0, "no page errors or CSP violations", problems.join("; "));
} finally {
  await browser.close();
}
process.exit(checks.failures ? 1 : 0);
