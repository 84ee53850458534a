// What the dashboard's browser scripts share: playwright-core from the npm
// cache, a check that counts failures, and the page problems that count
// (script errors, CSP violations, failed loads other than `allowed`).
import { createRequire } from "module";
import path from "path";

export function playwright(cache) {
  return createRequire(path.join(cache, "node_modules", "index.js"))("playwright-core");
}

export const checks = {
  failures: 0,
  check(ok, what, detail = "") {
    console.log((ok ? "ok: " : "FAIL: ") + what + (detail ? " (" + detail + ")" : ""));
    if (!ok) this.failures++;
  },
};

export function watchProblems(page, allowed = /^$/) {
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && !allowed.test(m.text())) problems.push("console: " + m.text());
  });
  return problems;
}
