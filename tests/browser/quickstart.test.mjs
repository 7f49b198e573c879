// The README quick start, command for command: curl to POST /sql and wscat on the realtime socket, against the built
// sample server; and the README's REST broadcast curl commands, read from README.md and run by bash. Only the port
// differs (the server runs on a free one instead of 8080).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSampleServer } from "./lib/server.mjs";

const wscat = join(dirname(fileURLToPath(import.meta.url)), "node_modules/.bin/wscat");

const CREATE = `CREATE TABLE orders (
  id SERIAL PRIMARY KEY,
  customer TEXT,
  total NUMERIC(10, 2),
  status TEXT DEFAULT 'pending',
  updated_at TIMESTAMP DEFAULT now()
);
`;
const WRITES = `INSERT INTO orders (customer, total) VALUES ('Alice', 49.99);
UPDATE orders SET status = 'paid', updated_at = now() WHERE id = 1;
DELETE FROM orders WHERE id = 1;
`;
const JOIN = '{"event":"phx_join","topic":"realtime:public:orders","ref":"1","payload":{}}';
const HEARTBEAT = '{"event":"heartbeat","topic":"phoenix","ref":"42","payload":{}}';
const LEAVE = '{"event":"phx_leave","topic":"realtime:public:orders","ref":"99","payload":{}}';

let server;
let wsUrl;
before(async () => {
  server = await startSampleServer();
  wsUrl = server.baseUrl.replace("http://", "ws://") + "/realtime/v1/websocket";
});
after(async () => { await server?.stop(); });

/** curl -s -X POST <base>/sql --data-binary @- <<'SQL' … SQL */
function curlSql(sql) {
  return new Promise((resolve, reject) => {
    const curl = spawn("curl", ["-s", "-X", "POST", `${server.baseUrl}/sql`, "--data-binary", "@-"]);
    let out = "";
    curl.stdout.setEncoding("utf8").on("data", (d) => { out += d; });
    curl.once("error", reject);
    curl.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`curl exited with ${code}`))));
    curl.stdin.end(sql);
  });
}

/** wscat -c <url> -x <frame>…, its stdin held open as a terminal's would be; yields each frame it prints. */
function startWscat(frames, waitSeconds) {
  const args = ["-c", wsUrl, ...frames.flatMap((f) => ["-x", f]), "-w", String(waitSeconds)];
  const child = spawn(wscat, args, { stdio: ["pipe", "pipe", "pipe"] });
  const lines = [];
  let waiter = null;
  let buffered = "";
  child.stdout.setEncoding("utf8").on("data", (d) => {
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) { lines.push(JSON.parse(line)); waiter?.(); }
    }
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    lines,
    exited,
    async waitFor(predicate, what) {
      for (;;) {
        const found = lines.find(predicate);
        if (found) { return found; }
        if (child.exitCode !== null) { throw new Error(`wscat exited before ${what}; it printed ${JSON.stringify(lines)}`); }
        await Promise.race([new Promise((resolve) => { waiter = resolve; }), exited]);
      }
    },
    stop() { child.stdin.end(); child.kill("SIGTERM"); return exited; },
  };
}

test("README steps 2-5: create the table, join with wscat, write with curl, three events arrive in order", { timeout: 60_000 }, async () => {
  assert.equal(await curlSql(CREATE), '{"results":[{"command":"CREATE TABLE"}]}');

  const ws = startWscat([JOIN], 30);
  try {
    const reply = await ws.waitFor((m) => m.event === "phx_reply", "the join reply");
    assert.deepEqual(reply, { topic: "realtime:public:orders", event: "phx_reply", payload: { status: "ok", response: {} }, ref: "1" });

    assert.equal(await curlSql(WRITES),
      '{"results":[{"command":"INSERT","rowCount":1},{"command":"UPDATE","rowCount":1},{"command":"DELETE","rowCount":1}]}');
    await ws.waitFor(() => ws.lines.filter((m) => m.event === "postgres_changes").length === 3, "three postgres_changes");
    const [insert, update, del] = ws.lines.filter((m) => m.event === "postgres_changes").map((m) => m.payload);

    const alice = { id: 1, customer: "Alice", total: "49.99" };
    assert.equal(insert.type, "INSERT");
    assert.equal(insert.table, "orders");
    assert.deepEqual({ ...insert.record, updated_at: undefined }, { ...alice, status: "pending", updated_at: undefined });
    assert.equal(insert.old_record, null);
    assert.match(insert.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    assert.equal(update.type, "UPDATE");
    assert.equal(update.record.status, "paid");
    assert.equal(update.old_record.status, "pending");

    assert.equal(del.type, "DELETE");
    assert.equal(del.record, null);
    assert.deepEqual({ ...del.old_record, updated_at: undefined }, { ...alice, status: "paid", updated_at: undefined });
  } finally {
    await ws.stop();
  }
});

test("README step 6: heartbeat and phx_leave get ok replies", { timeout: 60_000 }, async () => {
  const ws = startWscat([JOIN, HEARTBEAT, LEAVE], 2);
  try {
    const heartbeat = await ws.waitFor((m) => m.ref === "42", "the heartbeat reply");
    assert.deepEqual(heartbeat, { topic: "phoenix", event: "phx_reply", payload: { status: "ok", response: {} }, ref: "42" });
    const leave = await ws.waitFor((m) => m.ref === "99", "the leave reply");
    assert.deepEqual(leave.payload, { status: "ok", response: {} });
  } finally {
    await ws.stop();
  }
});

test("README Broadcast: its curl commands post to the sample's REST broadcast and a joined wscat receives each", { timeout: 60_000 }, async () => {
  // Every curl command of README.md that posts to /realtime/v1/api/broadcast, in a code block (with \ continuations)
  // or inline in backticks.
  const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../README.md"), "utf8").replace(/\\\n\s*/g, "");
  const commands = [...readme.matchAll(/^(curl [^\n`]*\/realtime\/v1\/api\/broadcast[^\n`]*)$|`(curl [^`]*\/realtime\/v1\/api\/broadcast[^`]*)`/gm)]
    .map((m) => (m[1] ?? m[2]).replaceAll("localhost:8080", server.baseUrl.replace("http://", "")));
  assert.ok(commands.length >= 3, `README's broadcast curl commands: ${JSON.stringify(commands)}`);

  const joins = ["room1", "dashboard"].map((topic, i) =>
    JSON.stringify({ event: "phx_join", topic: `realtime:${topic}`, ref: String(i + 1), payload: { config: { broadcast: { self: false } } } }));
  const ws = startWscat(joins, 30);
  try {
    await ws.waitFor(() => ws.lines.filter((m) => m.event === "phx_reply" && m.payload.status === "ok").length === 2, "both join replies");
    for (const [i, command] of commands.entries()) {
      const out = await new Promise((resolve, reject) => {
        // The command as written, its trailing comment dropped, plus options that print only the status.
        const bash = spawn("bash", ["-c", command.replace(/\s+#[^'"]*$/, "") + " -s -o /dev/null -w '%{http_code}'"]);
        let text = "";
        bash.stdout.setEncoding("utf8").on("data", (d) => { text += d; });
        bash.once("error", reject);
        bash.once("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`${command} exited with ${code}`))));
      });
      assert.equal(out, "202", command);
      await ws.waitFor(() => ws.lines.filter((m) => m.event === "broadcast").length === i + 1, `the broadcast of: ${command}`);
    }
    const got = ws.lines.filter((m) => m.event === "broadcast").map((m) => [m.topic, m.payload.event]);
    assert.deepEqual(got.slice(0, 2), [["realtime:room1", "cursor"], ["realtime:room1", "cursor"]]);
    assert.ok(got.some(([topic, event]) => topic === "realtime:dashboard" && event === "chat"), JSON.stringify(got));
  } finally {
    await ws.stop();
  }
});
