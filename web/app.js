// proxlb's dashboard. Names come from Proxmox VE and are attacker-controlled:
// every value goes into the page through textContent, never innerHTML.
import uPlot from "./uPlot.esm.js";

const $ = (id) => document.getElementById(id);
let cluster = "";
let csrfToken = null;
let historyChart = null;

function withCluster(path) {
  if (!cluster) return path;
  return path + (path.includes("?") ? "&" : "?") + "cluster=" + encodeURIComponent(cluster);
}

async function api(path, options = {}) {
  const response = await fetch(withCluster("api/" + path), { credentials: "same-origin", ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.status + " " + response.statusText);
  return body;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fill(tbody, items, render) {
  tbody.replaceChildren(...items.map((item) => {
    const tr = document.createElement("tr");
    render(tr, item);
    return tr;
  }));
}

const percent = (x) => (x * 100).toFixed(0) + " %";
// Heat levels 0..5 for 0..100 % use (the CSS colours them).
const level = (x) => "heat l" + Math.min(5, Math.max(0, Math.floor(x * 6)));
const when = (unix) => (unix ? new Date(unix * 1000).toLocaleString() : "—");

function renderOverview(o) {
  $("cluster-name").textContent = o.name;
  const s = o.status;
  const state = $("daemon-state");
  state.textContent = s.last_error ? "last round failed" : s.leader === false ? "standby" : "running";
  state.className = "pill " + (s.last_error ? "bad" : "ok");
  $("leadership").textContent = s.leadership || "—";
  $("gate").textContent = s.gate || "";
  $("crs").textContent = s.pve_crs_rebalancing === null ? "—"
    : s.pve_crs_rebalancing ? "rebalancing HA guests itself (proxlb leaves them)" : "not rebalancing";
  $("last-round").textContent = s.last_round ? s.last_round.summary : s.last_error || "none yet";
  $("next-round").textContent = "next: " + when(s.next_round_time);
  const c = o.cluster;
  $("nodes-time").textContent = o.cluster_time ? "as the last round read them, " + when(o.cluster_time) : "";
  $("imbalance").textContent = c ? c.imbalance.toFixed(1) + " %" : "—";
  $("spread").textContent = c ? "spread " + c.spread.toFixed(1) + " points (balanciness " + c.balanciness + ")" : "";
  fill($("heatmap").tBodies[0], c ? c.nodes : [], (tr, n) => {
    tr.dataset.node = n.node;
    cell(tr, n.node);
    cell(tr, n.state);
    cell(tr, n.running + " / " + n.guests);
    const mem = n.maxmem ? n.mem / n.maxmem : 0, disk = n.maxdisk ? n.disk / n.maxdisk : 0;
    cell(tr, percent(mem), level(mem));
    cell(tr, percent(n.cpu), level(n.cpu));
    cell(tr, percent(disk), level(disk));
  });
  renderHistory(o.history);
}

function renderHistory(points) {
  // A line needs two rounds; one alone would give the time axis no scale.
  $("history-empty").hidden = points.length > 1;
  $("history-empty").textContent = points.length === 1 ? "One round so far." : "No round yet.";
  const data = [points.map((p) => p.time), points.map((p) => p.imbalance), points.map((p) => p.spread_before),
    points.map((p) => p.spread_after)];
  if (historyChart) {
    historyChart.setData(data);
    return;
  }
  if (points.length < 2) return;
  historyChart = new uPlot({
    width: Math.min(900, document.body.clientWidth - 40), height: 220,
    series: [{}, { label: "imbalance %", stroke: "#a4262c" }, { label: "spread read (points)", stroke: "#2b6cb0" },
      { label: "spread after the plan", stroke: "#1e7a46", dash: [6, 4] }],
  }, data, $("history-chart"));
}

async function refreshOverview() {
  try {
    renderOverview(await api("overview"));
  } catch (e) {
    $("daemon-state").textContent = "unreachable: " + e.message;
    $("daemon-state").className = "pill bad";
  }
}

async function refreshPlan() {
  const { plan } = await api("plan");
  $("plan-summary").textContent = plan
    ? plan.moves.length + " migration(s) in " + plan.waves + " wave(s); spread " + plan.spread_before.toFixed(1) +
      " → " + plan.spread_after.toFixed(1) + " points"
    : "No plan yet.";
  fill($("plan-moves").tBodies[0], plan ? plan.moves : [], (tr, m) => {
    for (const v of [m.wave, m.vmid, m.name, m.from, m.to, m.reason]) cell(tr, v);
  });
  fill($("plan-nodes").tBodies[0], plan ? plan.nodes : [], (tr, n) => {
    cell(tr, n.node);
    for (const r of ["memory", "cpu", "disk"]) cell(tr, percent(n.before[r]) + " → " + percent(n.after[r]));
  });
}

async function refreshAudit() {
  const { records, audit_log } = await api("audit?lines=200");
  $("audit-empty").textContent = !audit_log ? "The daemon keeps no audit log (service.audit_log is empty)."
    : records.length === 0 ? "No migration yet." : "";
  fill($("audit").tBodies[0], records.reverse(), (tr, r) => {
    for (const v of [r.finished, r.vmid, r.name, r.from, r.to, r.reason, r.result, r.by]) cell(tr, v);
  });
}

const gib = (bytes) => (bytes / 2 ** 30).toFixed(1) + " GiB";
const capacityCharts = [];

function capacityQuery() {
  const q = new URLSearchParams({
    timeframe: $("wi-timeframe").value, failures: $("wi-failures").value, add_guests: $("wi-add").value,
    guest_memory: $("wi-memory").value, guest_cores: $("wi-cores").value,
  });
  if ($("wi-remove").value) q.append("remove_node", $("wi-remove").value);
  if ($("wi-like").value) q.append("add_node_like", $("wi-like").value);
  return q.toString();
}

function nodeOptions(select, names) {
  const keep = select.value;
  select.replaceChildren(select.options[0], ...names.map((n) => {
    const option = document.createElement("option");
    option.value = n;
    option.textContent = n;
    return option;
  }));
  select.value = names.includes(keep) ? keep : "";
}

async function refreshCapacity() {
  $("capacity-state").textContent = "Computing…";
  let c;
  try {
    c = await api("capacity?" + capacityQuery());
  } catch (e) {
    $("capacity-state").textContent = "Not available: " + e.message;
    return;
  }
  $("capacity-state").textContent = "Threshold " + c.threshold + " %, history of the last " + c.timeframe + ".";
  const names = c.scopes.filter((s) => !s.cluster).map((s) => s.name);
  nodeOptions($("wi-remove"), names);
  nodeOptions($("wi-like"), names);
  fill($("failover").tBodies[0], [c.failover.ha, c.failover.running], (tr, f) => {
    cell(tr, f.scope === "ha" ? "HA-managed" : "running");
    cell(tr, f.fits ? "fits" : "does not fit", f.fits ? "" : "bad");
    cell(tr, f.failed.join(", ") + " down");
    cell(tr, f.fits ? "" : gib(f.short_by.memory) + ", " + f.short_by.cpus + " vCPUs");
    cell(tr, f.guests.filter((g) => g.target === null).map((g) => g.vmid + " " + g.name).join(", "));
  });
  const cluster = c.scopes.find((s) => s.cluster);
  fill($("forecast").tBodies[0], cluster ? cluster.resources.filter((r) => r.forecast) : [], (tr, r) => {
    const value = (x) => (x === null ? "—" : r.unit === "bytes" ? gib(x) : x.toFixed(1) + " cores");
    cell(tr, r.resource);
    cell(tr, value(r.now));
    cell(tr, value(r.p99));
    cell(tr, r.forecast.verdict.replace("_", " ") + (r.forecast.detail ? ": " + r.forecast.detail : ""));
    cell(tr, r.forecast.crosses_date
      ? r.forecast.crosses_date + " (" + (r.forecast.earliest_date || "?") + " – " + (r.forecast.latest_date || "?") + ")"
      : r.forecast.above_now ? "already above" : "not within the horizon");
  });
  for (const chart of capacityCharts.splice(0)) chart.destroy();
  const box = $("capacity-charts");
  box.replaceChildren();
  for (const ch of c.charts) {
    // One time axis: history, then the forecast's fitted value and band.
    const times = ch.history.map((p) => p[0]).concat(ch.forecast.map((p) => p[0]));
    const pad = (n) => new Array(n).fill(null);
    const data = [times,
      ch.history.map((p) => p[1] * 100).concat(pad(ch.forecast.length)),
      pad(ch.history.length).concat(ch.forecast.map((p) => p[1] * 100)),
      pad(ch.history.length).concat(ch.forecast.map((p) => p[2] * 100)),
      pad(ch.history.length).concat(ch.forecast.map((p) => p[3] * 100)),
      times.map(() => ch.threshold * 100)];
    const div = document.createElement("div");
    box.appendChild(div);
    capacityCharts.push(new uPlot({
      title: ch.resource + " (% of capacity)", width: 520, height: 220,
      series: [{}, { label: "history", stroke: "#2b6cb0" }, { label: "forecast", stroke: "#a4262c" },
        { label: "low", stroke: "#e0a0a0", dash: [4, 4] }, { label: "high", stroke: "#e0a0a0", dash: [4, 4] },
        { label: "threshold", stroke: "#5b6672", dash: [2, 6] }],
    }, data, div));
  }
  $("capacity-notes").replaceChildren(...c.notes.map((n) => {
    const li = document.createElement("li");
    li.textContent = n;
    return li;
  }));
}

// Live progress: the moves of the running (or last) balance, by vmid.
const moves = new Map();
function renderProgress() {
  fill($("progress").tBodies[0], [...moves.values()], (tr, m) => {
    tr.className = m.state;
    tr.dataset.vmid = m.vmid;
    for (const v of [m.vmid, m.name, m.from, m.to, m.state, m.seconds]) cell(tr, v);
  });
}

function onEvent(type, data) {
  // The stream carries every cluster's events; each names its cluster.
  if (cluster && data.cluster && data.cluster !== cluster) return;
  if (type === "balance_started") {
    moves.clear();
    for (const m of data.moves) moves.set(m.vmid, { ...m, state: "pending", seconds: "" });
    $("progress-state").textContent = "Balancing: plan " + data.plan_id;
  } else if (type === "migration_started") {
    moves.set(data.vmid, { ...(moves.get(data.vmid) || {}), ...data, state: "running", seconds: "" });
  } else if (type === "migration_succeeded" || type === "migration_failed") {
    moves.set(data.vmid, { ...(moves.get(data.vmid) || {}), ...data,
      state: type === "migration_succeeded" ? "done" : "failed", seconds: (data.duration_seconds || 0).toFixed(1) });
  } else if (type === "plan_executed") {
    $("progress-state").textContent = "Finished: " + data.done + " done, " + data.failed + " failed.";
    refreshPlan();
    refreshAudit();
  } else if (type === "round") {
    refreshOverview();
    refreshPlan();
  }
  renderProgress();
}

function listen() {
  const source = new EventSource(withCluster("api/events"));
  for (const type of ["balance_started", "migration_started", "migration_succeeded", "migration_failed",
    "plan_executed", "round"]) {
    source.addEventListener(type, (e) => onEvent(type, JSON.parse(e.data)));
  }
  source.addEventListener("reset", () => moves.clear());
}

async function refreshSession() {
  const s = await api("session");
  csrfToken = s.csrf_token;
  $("login-form").hidden = !s.actions || s.logged_in;
  $("action-buttons").hidden = !s.actions || !s.logged_in;
  if (!s.actions) $("action-result").textContent = "Actions are off (service.dashboard.token_file is not set).";
}

async function post(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  return api(path, { method: "POST", headers, body: JSON.stringify(body || {}) });
}

async function act(what) {
  try {
    $("action-result").textContent = (await post("actions/" + what)).message;
  } catch (e) {
    $("action-result").textContent = "Refused: " + e.message;
  }
}

function showView(name) {
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.view === name);
  for (const v of ["overview", "plan", "capacity", "audit"]) $("view-" + v).hidden = v !== name;
  if (name === "plan") refreshPlan();
  if (name === "capacity") refreshCapacity();
  if (name === "audit") refreshAudit();
}

async function start() {
  const { clusters } = await api("clusters");
  const select = $("cluster-switch");
  select.hidden = clusters.length < 2;
  select.replaceChildren(...clusters.map((c) => {
    const option = document.createElement("option");
    option.value = c.name;
    option.textContent = c.name;
    return option;
  }));
  if (clusters.length > 1) cluster = clusters[0].name;
  select.addEventListener("change", () => {
    cluster = select.value;
    refreshOverview();
  });
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => showView(b.dataset.view));
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      csrfToken = (await post("login", { token: $("token").value })).csrf_token;
      $("token").value = "";
      $("action-result").textContent = "Logged in.";
    } catch (err) {
      $("action-result").textContent = "Login refused: " + err.message;
    }
    refreshSession();
  });
  $("what-if").addEventListener("submit", (e) => {
    e.preventDefault();
    refreshCapacity();
  });
  $("action-plan").addEventListener("click", () => act("plan"));
  $("action-balance").addEventListener("click", () => act("balance"));
  $("logout").addEventListener("click", async () => {
    await post("logout").catch(() => {});
    refreshSession();
  });
  await Promise.all([refreshOverview(), refreshSession()]);
  listen();
  setInterval(refreshOverview, 5000);
}

start();
