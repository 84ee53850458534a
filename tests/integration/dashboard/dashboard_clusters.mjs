// The dashboard of a daemon with two clusters (see dashboard_browser_test.py):
// the switcher lists both, and each shows its own nodes.
// usage: node dashboard_clusters.mjs CACHE CHROMIUM URL ARTIFACTS NAME=NODES,NAME=NODES
import path from "path";
import { checks, playwright, watchProblems } from "./browser_checks.mjs";

const [cache, executablePath, url, artifacts, clusterList] = process.argv.slice(2);
const { chromium } = playwright(cache);
const check = checks.check.bind(checks);
const clusters = clusterList.split(",").map((c) => {
  const [name, nodes] = c.split("=");
  return { name, nodes: Number(nodes) };
});

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const problems = watchProblems(page);
  await page.goto(url);
  await page.waitForSelector("#cluster-switch:not([hidden])", { timeout: 30000 });
  const options = await page.$$eval("#cluster-switch option", (o) => o.map((x) => x.value));
  check(JSON.stringify(options) === JSON.stringify(clusters.map((c) => c.name)), "the switcher lists both clusters",
    options.join(" "));
  for (const c of clusters) {
    await page.selectOption("#cluster-switch", c.name);
    await page.waitForFunction((want) => document.getElementById("cluster-name").textContent === want.name &&
      document.querySelectorAll("#heatmap tbody tr").length === want.nodes, c, { timeout: 30000 });
    check(true, "cluster " + c.name + " shows its " + c.nodes + " nodes");
    await page.screenshot({ path: path.join(artifacts, "cluster-" + c.name + ".png") });
  }
  check(problems.length === 0, "no page errors or CSP violations", problems.join("; "));
} finally {
  await browser.close();
}
process.exit(checks.failures ? 1 : 0);
