// The dashboard: a table's rows kept live by postgres_changes on the browser's native WebSocket (Phoenix vsn 1.0.0
// object frames), the SQL box, and on the same socket the lobby (lobby.js: presence and a broadcast chat line).
import { createLobby } from "./lobby.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const HEARTBEAT_MS = 25000;
const MAX_LOG = 200;
const state = {
  apiKey: params.get("apikey") || localStorage.getItem("helios.apikey") || "",
  keyRequired: false,
  tables: [],
  table: null,
  preferred: params.get("table"),
  columns: [],
  keyColumns: [],
  rows: new Map(),
  ws: null,
  ref: 0,
  joinRef: null,
  topic: null,
  pending: null,
  heartbeat: null,
  retry: null,
  attempts: 0,
  events: 0,
};

function setStatus(kind, text) {
  $("status").dataset.state = kind;
  $("status-text").textContent = text;
}

function headers(extra) {
  const h = Object.assign({}, extra);
  if (state.apiKey) { h.apikey = state.apiKey; h.Authorization = "Bearer " + state.apiKey; }
  return h;
}

async function api(path, init) {
  const response = await fetch(path, Object.assign({}, init, { headers: headers(init && init.headers) }));
  if (response.status === 401) { showKeyBox(); throw new Error("API key required"); }
  return response;
}

function showKeyBox() {
  $("key-box").hidden = false;
  $("apikey").value = state.apiKey;
}

// ---- tables and rows -------------------------------------------------------------------------------------------
async function refreshTables() {
  let tables;
  try {
    tables = await (await api("/api/tables")).json();
  } catch (e) { return; }
  const names = tables.map((t) => t.name);
  if (names.join("\u0000") !== state.tables.map((t) => t.name).join("\u0000")) {
    $("table-select").replaceChildren(...names.map((n) => new Option(n, n)));
  }
  state.tables = tables;
  $("empty").hidden = tables.length > 0;
  if (names.length === 0) { return; }
  // The table asked for (?table= or the last one picked) wins as soon as it exists; until then, the first one.
  const wanted = names.includes(state.preferred) ? state.preferred : (names.includes(state.table) ? state.table : names[0]);
  const info = tables.find((t) => t.name === wanted);
  const signature = (columns) => columns.map((c) => c.name + " " + c.type).join(",");
  if (wanted !== state.table || signature(info.columns) !== signature(state.columns)) {
    selectTable(wanted, false);
  }
  $("table-select").value = state.table;
}

function topicFor(table) { return "realtime:public:" + table; }

function keyOf(record) {
  if (!record) { return null; }
  const cols = state.keyColumns.length ? state.keyColumns : state.columns.map((c) => c.name);
  return JSON.stringify(cols.map((c) => record[c] === undefined ? null : String(record[c])));
}

function selectTable(name, picked) {
  const info = state.tables.find((t) => t.name === name);
  if (!info) { return; }
  state.table = name;
  if (picked) { state.preferred = name; }
  state.columns = info.columns;
  state.keyColumns = info.columns.filter((c) => c.primaryKey).map((c) => c.name);
  state.rows = new Map();
  if (picked) {
    const url = new URL(location.href);
    url.searchParams.set("table", name);
    history.replaceState(null, "", url);
  }
  renderHead();
  renderRows();
  subscribe();
}

async function loadRows() {
  const table = state.table;
  const order = state.keyColumns.length ? "&order=" + state.keyColumns.map((c) => encodeURIComponent(c) + ".asc").join(",") : "";
  const response = await api("/rest/v1/" + encodeURIComponent(table) + "?select=*" + order + "&limit=1000");
  if (!response.ok || table !== state.table) { return; }
  const rows = await response.json();
  state.rows = new Map(rows.map((r) => [keyOf(r), r]));
  renderRows();
}

function renderHead() {
  const tr = document.createElement("tr");
  for (const c of state.columns) {
    const th = document.createElement("th");
    th.textContent = c.name;
    const small = document.createElement("small");
    small.textContent = (c.type || "").toLowerCase() + (c.primaryKey ? " · key" : "");
    th.append(small);
    tr.append(th);
  }
  $("grid-head").replaceChildren(tr);
}

function cell(value) {
  const td = document.createElement("td");
  if (value === null || value === undefined) { td.textContent = "null"; td.className = "null"; }
  else if (typeof value === "object") { td.textContent = JSON.stringify(value); }
  else { td.textContent = String(value); }
  td.title = td.textContent;
  return td;
}

function rowElement(record) {
  const tr = document.createElement("tr");
  tr.dataset.key = keyOf(record);
  for (const c of state.columns) { tr.append(cell(record[c.name])); }
  return tr;
}

function renderRows() {
  const body = $("rows");
  body.replaceChildren(...[...state.rows.values()].map(rowElement));
  $("row-count").textContent = state.rows.size + (state.rows.size === 1 ? " row" : " rows");
}

function findRow(key) {
  return [...$("rows").children].find((tr) => tr.dataset.key === key) || null;
}

function applyChange(change) {
  const { type, record, old_record: old } = change;
  if (type === "INSERT" || type === "UPDATE") {
    const oldKey = keyOf(old) || keyOf(record);
    const key = keyOf(record);
    const existing = findRow(oldKey) || findRow(key);
    const tr = rowElement(record);
    tr.className = existing ? "flash-update" : "flash-insert";
    if (existing) { existing.replaceWith(tr); } else { $("rows").append(tr); }
    state.rows.delete(oldKey);
    state.rows.set(key, record);
  } else if (type === "DELETE") {
    const key = keyOf(old);
    const tr = findRow(key);
    state.rows.delete(key);
    if (tr) {
      tr.className = "removing";
      tr.dataset.key = "";
      setTimeout(() => tr.remove(), 900);
    }
  }
  $("row-count").textContent = state.rows.size + (state.rows.size === 1 ? " row" : " rows");
}

// ---- event log -------------------------------------------------------------------------------------------------
function log(kind, title, body, when) {
  const li = document.createElement("li");
  li.className = kind === "SYSTEM" ? "system" : kind.toLowerCase();
  const top = document.createElement("div");
  top.className = "top";
  const badge = document.createElement("span");
  badge.className = "badge " + kind;
  badge.textContent = kind;
  const time = document.createElement("time");
  const at = when ? new Date(when) : new Date();
  time.textContent = at.toLocaleTimeString([], { hour12: false }) + "." + String(at.getMilliseconds()).padStart(3, "0");
  const label = document.createElement("span");
  label.textContent = title;
  top.append(badge, time, label);
  li.append(top);
  if (body) {
    const pre = document.createElement("pre");
    pre.textContent = body;
    li.append(pre);
  }
  const list = $("log");
  list.prepend(li);
  while (list.children.length > MAX_LOG) { list.lastElementChild.remove(); }
}

// ---- realtime socket -------------------------------------------------------------------------------------------
function nextRef() { state.ref += 1; return String(state.ref); }

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) { state.ws.send(JSON.stringify(message)); }
}

const lobby = createLobby({ send, nextRef });

function subscribe() {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN || !state.table) { return; }
  if (state.topic && state.topic !== topicFor(state.table)) {
    send({ event: "phx_leave", topic: state.topic, ref: nextRef(), payload: {} });
  }
  state.topic = topicFor(state.table);
  state.joinRef = nextRef();
  state.pending = [];
  $("topic").textContent = state.topic;
  send({ event: "phx_join", topic: state.topic, ref: state.joinRef, payload: {} });
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = state.apiKey ? "?apikey=" + encodeURIComponent(state.apiKey) : "";
  setStatus("connecting", state.attempts ? "Reconnecting…" : "Connecting…");
  const ws = new WebSocket(scheme + "://" + location.host + "/realtime/v1/websocket" + query);
  state.ws = ws;
  state.topic = null;
  ws.addEventListener("open", () => {
    state.attempts = 0;
    setStatus("open", "Connected");
    log("SYSTEM", "WebSocket connected");
    clearInterval(state.heartbeat);
    state.heartbeat = setInterval(() => send({ event: "heartbeat", topic: "phoenix", ref: nextRef(), payload: {} }), HEARTBEAT_MS);
    subscribe();
    lobby.join();
  });
  ws.addEventListener("message", (msg) => {
    let m;
    try { m = JSON.parse(msg.data); } catch (e) { return; }
    if (Array.isArray(m)) { m = { join_ref: m[0], ref: m[1], topic: m[2], event: m[3], payload: m[4] }; }
    if (lobby.handle(m)) { return; }
    if (m.event === "phx_reply" && m.ref === state.joinRef && m.topic === state.topic) {
      if (m.payload && m.payload.status === "ok") {
        setStatus("subscribed", "Live · " + state.topic);
        log("SYSTEM", "Joined " + state.topic);
        const joined = state.topic;
        loadRows().then(() => {
          const queued = state.pending || [];
          state.pending = null;
          if (joined === state.topic) { queued.forEach(applyChange); }
        }, () => { state.pending = null; });
      } else {
        log("SYSTEM", "Join refused: " + JSON.stringify(m.payload));
      }
    } else if (m.event === "postgres_changes") {
      const p = m.payload || {};
      const d = p.data || {};
      const change = {
        type: p.type || d.type,
        table: p.table || d.table,
        record: p.record !== undefined ? p.record : (d.record || null),
        old_record: p.old_record !== undefined ? p.old_record : (d.old_record || null),
        commit_timestamp: p.commit_timestamp || d.commit_timestamp,
      };
      state.events += 1;
      $("event-count").textContent = state.events + (state.events === 1 ? " event" : " events");
      const shown = change.type === "DELETE" ? change.old_record : change.record;
      log(change.type, change.table, JSON.stringify(shown), change.commit_timestamp);
      if (change.table !== state.table) { return; }
      if (state.pending) { state.pending.push(change); } else { applyChange(change); }
    } else if (m.event === "system" && m.payload && m.payload.status === "error") {
      log("SYSTEM", "Server: " + m.payload.message);
    }
  });
  ws.addEventListener("close", (event) => {
    clearInterval(state.heartbeat);
    if (state.ws !== ws) { return; }
    lobby.reset();
    state.attempts += 1;
    // Exponential back-off with jitter: 0.5 s, 1 s, 2 s … capped at 15 s.
    const delay = Math.min(15000, 500 * 2 ** (state.attempts - 1)) * (0.8 + Math.random() * 0.4);
    setStatus("closed", "Disconnected · retrying in " + Math.ceil(delay / 1000) + " s");
    log("SYSTEM", "WebSocket closed (" + event.code + "); reconnecting in " + (delay / 1000).toFixed(1) + " s");
    state.retry = setTimeout(connect, delay);
  });
}

// ---- SQL box ---------------------------------------------------------------------------------------------------
async function runSql() {
  const out = $("sql-result");
  out.className = "";
  out.textContent = "Running…";
  try {
    const response = await api("/sql", { method: "POST", headers: { "Content-Type": "text/plain" }, body: $("sql").value });
    const body = await response.json();
    if (!response.ok) {
      out.className = "error";
      out.textContent = body.error + (body.statement ? " (statement " + body.statement + ")" : "");
    } else {
      out.textContent = body.results.map((r) => r.command + (r.rowCount !== undefined ? " " + r.rowCount : "")).join(" · ");
    }
    refreshTables();
  } catch (e) {
    out.className = "error";
    out.textContent = e.message;
  }
}

// ---- wiring ----------------------------------------------------------------------------------------------------
$("table-select").addEventListener("change", (e) => selectTable(e.target.value, true));
$("reload").addEventListener("click", () => { refreshTables(); loadRows(); });
$("clear").addEventListener("click", () => { $("log").replaceChildren(); state.events = 0; $("event-count").textContent = "0 events"; });
$("run").addEventListener("click", runSql);
$("sql").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { runSql(); } });
$("apikey").addEventListener("change", (e) => {
  state.apiKey = e.target.value.trim();
  localStorage.setItem("helios.apikey", state.apiKey);
  // Reconnect now with the new key rather than after the back-off.
  const previous = state.ws;
  state.ws = null;
  if (previous) { previous.close(); }
  clearTimeout(state.retry);
  state.attempts = 0;
  connect();
  refreshTables();
});

(async () => {
  try {
    const info = await (await fetch("/api/info")).json();
    state.keyRequired = info.apiKeyRequired;
    if (info.apiKeyRequired) { showKeyBox(); }
  } catch (e) { /* older server: carry on */ }
  await refreshTables();
  connect();
  // DDL emits no change events, so new tables are discovered by polling the (tiny) catalog.
  setInterval(refreshTables, 3000);
})();
